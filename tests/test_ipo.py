"""IPO's barrier weight: grows as J_C approaches d, saturates at penalty_max once infeasible."""

import numpy as np
import pytest
import torch

from algorithms.core.actor_critic import UpdateData
from algorithms.ipo import IPO, ipo_penalty


def test_weight_is_kappa_over_the_slack_and_grows_towards_the_limit():
    weights = [ipo_penalty(cost, 25.0, kappa=0.01, penalty_max=1.0) for cost in (0.0, 15.0, 24.0, 24.99)]
    assert weights == pytest.approx([0.01 / 25, 0.01 / 10, 0.01 / 1, 0.01 / 0.01], rel=1e-6)
    assert weights == sorted(weights)


def test_weight_saturates_at_penalty_max_near_the_limit_and_when_infeasible():
    assert ipo_penalty(24.999, 25.0, kappa=0.01, penalty_max=1.0) == 1.0  # 0.01 / 0.001 = 10 > cap
    assert ipo_penalty(25.0, 25.0, kappa=0.01, penalty_max=1.0) == 1.0  # on the limit: barrier undefined
    assert ipo_penalty(40.0, 25.0, kappa=0.01, penalty_max=1.0) == 1.0  # infeasible: negative slack
    assert ipo_penalty(40.0, 25.0, kappa=0.01, penalty_max=0.3) == 0.3


def test_update_weighs_the_cost_advantage_by_the_barrier():
    algo = IPO(obs_dim=1, act_dim=1, cost_limit=[10.0, 4.0], seed=0, hidden_sizes=(8,), critic_hidden_sizes=(8,))
    weights = algo.next_multipliers(np.array([8.0, 5.0]))  # slack 2 (feasible), -1 (infeasible)
    np.testing.assert_allclose(weights, [0.01 / 2, 1.0], rtol=1e-6)
    algo.multipliers = weights
    reward_adv = torch.tensor([1.0, -1.0, 0.5, -0.5])
    cost_adv = torch.tensor([[1.0, 0.0, -1.0, 0.0], [0.0, 2.0, 0.0, -2.0]])
    data = UpdateData(torch.zeros(4, 1), torch.zeros(4, 1), torch.zeros(4), reward_adv, cost_adv, np.zeros(2), 1.0)
    std = (reward_adv - reward_adv.mean()) / (reward_adv.std() + 1e-8)
    expected = (std - weights[0] * cost_adv[0] - weights[1] * cost_adv[1]) / (1 + weights.sum())
    assert torch.allclose(algo.policy_advantages(data), expected.float(), atol=1e-6)
