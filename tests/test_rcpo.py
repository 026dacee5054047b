"""RCPO: the one critic learns the penalized reward r - lambda c; lambda rises only under violation."""

import numpy as np
import pytest
import torch
from helpers import bandit_batch

import algorithms.core.actor_critic as actor_critic
from algorithms.rcpo import RCPO, penalized_rewards


def make(lambda_init: float, lambda_lr: float = 0.0, cost_limit: float = 5.0, optimizer: str = "sgd") -> RCPO:
    return RCPO(obs_dim=1, act_dim=1, cost_limit=cost_limit, seed=0, hidden_sizes=(8,), critic_hidden_sizes=(8,),
                gamma=0.9, critic_epochs=1, lambda_init=lambda_init, lambda_lr=lambda_lr, lambda_optimizer=optimizer)


def test_penalized_rewards_on_a_hand_example():
    rewards = np.array([[1.0, 2.0]])
    costs = np.array([[[1.0, 0.0], [2.0, 3.0]]])
    np.testing.assert_allclose(penalized_rewards(rewards, costs, [0.5, 2.0]), [[0.5, 2.0 - 1.0 - 6.0]])


def critic_targets(algo: RCPO, batch, monkeypatch) -> np.ndarray:
    """The regression targets of the reward critic when ``algo`` prepares ``batch``."""
    seen = {}

    def spy(critics, obs, targets, rng):
        seen["targets"] = targets
        return [0.0] * len(critics)

    monkeypatch.setattr(actor_critic, "fit_critics", spy)
    algo.prepare(batch)
    (target,) = seen["targets"]  # no cost critic: only the penalized reward's
    return target.double().numpy()


def test_critic_target_falls_by_lambda_times_the_discounted_cost(monkeypatch):
    horizon = 5
    batch = bandit_batch(make(0.0).policy, 3, horizon, torch.Generator().manual_seed(1), lambda a: a[..., 0],
                         lambda a: (a[..., 0] > 0).astype(float))
    plain, penalized = critic_targets(make(0.0), batch, monkeypatch), critic_targets(make(2.0), batch, monkeypatch)
    costs = batch.costs[..., 0].reshape(-1, horizon)  # whole episodes, each valued 0 after its end
    discounted = np.zeros_like(costs)
    for t in reversed(range(horizon)):
        discounted[:, t] = costs[:, t] + (0.9 * discounted[:, t + 1] if t + 1 < horizon else 0.0)
    assert discounted.max() > 0
    np.testing.assert_allclose(penalized - plain, -2.0 * discounted.reshape(-1), atol=1e-4)


def test_lambda_rises_only_under_violation(monkeypatch):
    algo = make(1.0, lambda_lr=0.1)
    under = bandit_batch(algo.policy, 2, 5, torch.Generator().manual_seed(0), lambda a: a[..., 0],
                         lambda a: np.full(a.shape[:2], 0.2))  # J_C = 1 < 5
    over = bandit_batch(algo.policy, 2, 5, torch.Generator().manual_seed(0), lambda a: a[..., 0],
                        lambda a: np.full(a.shape[:2], 2.0))  # J_C = 10 > 5
    monkeypatch.setattr(actor_critic, "fit_critics", lambda critics, *_: [0.0] * len(critics))
    seen = [algo.prepare(batch)[1]["lagrange_multiplier"] for batch in (over, over, under, under)]
    assert seen[0] > 1.0 and seen[1] > seen[0]  # violation: up
    assert seen[2] < seen[1] and seen[3] < seen[2]  # slack: down
    assert seen == pytest.approx([1.5, 2.0, 1.6, 1.2])  # the paper's rule: lambda + lr (J_C - d)


def test_lambda_is_never_negative(monkeypatch):
    algo = make(0.1, lambda_lr=1.0)
    batch = bandit_batch(algo.policy, 2, 5, torch.Generator().manual_seed(0), lambda a: a[..., 0],
                         lambda a: np.zeros(a.shape[:2]))
    monkeypatch.setattr(actor_critic, "fit_critics", lambda critics, *_: [0.0] * len(critics))
    assert algo.prepare(batch)[1]["lagrange_multiplier"] == 0.0
