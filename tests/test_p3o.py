"""P3O's exact penalty: flat while the batch is feasible with margin, kappa times the cost gradient under violation."""

import pytest
import torch

from algorithms.p3o import clipped_cost_surrogate, p3o_penalty


def test_cost_surrogate_is_clipped_pessimistically():
    log_ratio = torch.log(torch.tensor([1.5, 0.5, 1.1, 0.7]))
    cost_adv = torch.tensor([[-1.0], [2.0], [1.0], [-2.0]])
    # max(r A, clip(r) A): -1.2 (no credit beyond 1.2), 1.6 (no credit below 0.8), 1.1, -1.4 (unclipped is larger)
    expected = (-1.2 + 1.6 + 1.1 - 1.4) / 4
    assert float(clipped_cost_surrogate(log_ratio, cost_adv, clip=0.2)[0]) == pytest.approx(expected)


def test_penalty_is_zero_and_flat_when_feasible_with_margin():
    log_ratio = torch.tensor([0.05, -0.1, 0.02], requires_grad=True)
    cost_adv = torch.tensor([[1.0], [-0.5], [2.0]])
    penalty = p3o_penalty(log_ratio, cost_adv, torch.tensor([-5.0]), kappa=20.0, clip=0.2)
    penalty.backward()
    assert float(penalty.detach()) == 0.0
    assert torch.count_nonzero(log_ratio.grad) == 0


def test_penalty_under_violation_is_kappa_times_the_cost_surrogate():
    log_ratio = torch.tensor([0.05, -0.1, 0.02], requires_grad=True)
    cost_adv = torch.tensor([[1.0], [-0.5], [2.0]])
    penalty = p3o_penalty(log_ratio, cost_adv, torch.tensor([3.0]), kappa=20.0, clip=0.2)
    penalty.backward()
    ratio = torch.exp(log_ratio.detach())
    assert float(penalty.detach()) == pytest.approx(20.0 * (float((ratio * cost_adv[:, 0]).mean()) + 3.0), rel=1e-6)
    assert torch.allclose(log_ratio.grad, 20.0 * ratio * cost_adv[:, 0] / 3)  # inside the clip: d/dlog r of r A_C / B


def test_penalty_sums_over_constraints_and_only_the_violated_one_pulls():
    log_ratio = torch.zeros(2, requires_grad=True)
    cost_adv = torch.tensor([[1.0, 3.0], [-1.0, -1.0]])
    penalty = p3o_penalty(log_ratio, cost_adv, torch.tensor([-1.0, 2.0]), kappa=2.0, clip=0.2)
    penalty.backward()
    assert float(penalty.detach()) == pytest.approx(2.0 * (1.0 + 2.0))  # first: relu(0 - 1) = 0; second: relu(1 + 2)
    assert torch.allclose(log_ratio.grad, 2.0 * torch.tensor([3.0, -1.0]) / 2)


def _algorithm_and_minibatch(episode_cost: float):
    """A P3O on a 1-d problem, and a minibatch whose policy moved away from the old one (ratios != 1)."""
    import numpy as np

    from algorithms.core.first_order import Minibatch
    from algorithms.p3o import P3O

    algo = P3O(obs_dim=1, act_dim=1, cost_limit=5.0, seed=0, hidden_sizes=(4,), critic_hidden_sizes=(4,), kappa=20.0)
    obs, actions = torch.linspace(-1, 1, 6)[:, None], torch.linspace(-0.5, 0.5, 6)[:, None]
    with torch.no_grad():
        old_log_probs = algo.policy.distribution(obs).log_prob(actions) + torch.tensor([0.1, -0.1, 0.05, 0, -0.05, 0.1])
    batch = Minibatch(obs=obs, actions=actions, old_log_probs=old_log_probs,
                      advantages=torch.tensor([1.0, -1.0, 0.5, 0.2, -0.3, 0.8]),
                      old_mean=torch.zeros(6, 1), old_log_std=torch.zeros(1),
                      cost_advantages=torch.tensor([[0.5], [1.0], [-0.5], [0.3], [0.0], [-1.0]]),
                      episode_costs=np.array([episode_cost]), cost_limits=np.array([5.0]), mean_episode_length=10.0)
    return algo, batch


@pytest.mark.parametrize("episode_cost, penalized", [(9.0, True), (1.0, False)])
def test_the_algorithms_loss_adds_the_penalty_on_its_batchs_violation(episode_cost, penalized):
    """P3O.policy_loss: PPO's loss plus kappa relu(L_C + J_C - d), with J_C - d from the minibatch (4 under violation;
    -4, a margin that no surrogate here reaches, when feasible)."""
    from algorithms.core.first_order import ppo_clip_loss

    algo, batch = _algorithm_and_minibatch(episode_cost)
    log_ratio = algo.policy.distribution(batch.obs).log_prob(batch.actions) - batch.old_log_probs
    plain = ppo_clip_loss(log_ratio, batch.advantages, algo.clip_ratio)
    surrogate = clipped_cost_surrogate(log_ratio, batch.cost_advantages, algo.clip_ratio)
    expected = plain + (20.0 * (surrogate + episode_cost - 5.0).sum() if penalized else 0.0)
    loss = algo.policy_loss(batch).item()
    assert loss == pytest.approx(expected.item(), rel=1e-6)
    assert (loss > plain.item() + 50) == penalized
