"""CRPO's switch: a TRPO step on the reward when feasible within eta, on minus the cost otherwise."""

import numpy as np
import torch
from helpers import bandit_batch

from algorithms.core.trust_region import TrustRegionAlgorithm
from algorithms.crpo import CRPO, crpo_target


def test_target_is_the_most_violated_constraint_beyond_the_tolerance():
    assert crpo_target(np.array([10.0]), np.array([5.0]), 2.0) == 0
    assert crpo_target(np.array([6.9]), np.array([5.0]), 2.0) is None  # violates d, not d + eta
    assert crpo_target(np.array([6.0, 20.0]), np.array([5.0, 10.0]), 2.0) == 1
    assert crpo_target(np.array([4.0, 11.0]), np.array([5.0, 10.0]), 0.0) == 1


def make(cls, cost_limit):
    return cls(obs_dim=1, act_dim=1, cost_limit=cost_limit, seed=3, hidden_sizes=(8,), critic_hidden_sizes=(8,),
               cost_gae_lambda=0.95, critic_epochs=2)


def step(cls, cost_limit, reward_sign=1.0):
    """One update on a bandit whose reward rises with a and cost 10 a^2 (J_C ~ 100 per 10-step episode)."""
    algo = make(cls, cost_limit)
    generator = torch.Generator().manual_seed(0)
    batch = bandit_batch(algo.policy, 4, 10, generator, lambda a: reward_sign * a[..., 0],
                         lambda a: 10 * a[..., 0] ** 2)
    stats = algo.update(batch)
    return stats, torch.cat([p.detach().flatten() for p in algo.policy.parameters()])


def test_violating_batch_takes_a_cost_step_that_ignores_the_reward():
    stats, params = step(CRPO, cost_limit=5.0)
    _, params_other_reward = step(CRPO, cost_limit=5.0, reward_sign=-1.0)
    assert stats["crpo_cost_step"] == 1.0
    assert stats["line_search_accepted"] == 1.0 and stats["surrogate_cost_change"] < 0
    assert torch.equal(params, params_other_reward)


def test_feasible_batch_takes_the_trpo_step():
    stats, params = step(CRPO, cost_limit=1000.0)
    _, trpo_params = step(TrustRegionAlgorithm, cost_limit=1000.0)  # TRPO's step, with the same critics
    assert stats["crpo_cost_step"] == 0.0
    assert torch.equal(params, trpo_params)
    _, params_other_reward = step(CRPO, cost_limit=1000.0, reward_sign=-1.0)
    assert not torch.equal(params, params_other_reward)
