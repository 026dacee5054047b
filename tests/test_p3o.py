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
