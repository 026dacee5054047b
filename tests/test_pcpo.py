"""PCPO's KL projection against a generic constrained solver on random quadratics."""

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from algorithms.pcpo import kl_projection


def solve_projection(H, x, b, c):
    """min 1/2 (y - x)'H(y - x) s.t. c + b.y <= 0, by SLSQP."""
    result = minimize(lambda y: 0.5 * (y - x) @ H @ (y - x), x, jac=lambda y: H @ (y - x), method="SLSQP",
                      constraints=[{"type": "ineq", "fun": lambda y: -(c + b @ y), "jac": lambda y: -b}],
                      options={"ftol": 1e-14, "maxiter": 500})
    assert result.success, result.message
    return result.x


def test_projection_matches_slsqp_on_random_instances():
    rng = np.random.default_rng(0)
    active = 0
    for _ in range(30):
        n = int(rng.integers(2, 7))
        A = rng.normal(size=(n, n))
        H = A @ A.T + 0.1 * np.eye(n)
        x, b = rng.normal(size=n), rng.normal(size=n)
        c = float(rng.normal() * 2)
        y, multiplier = kl_projection(torch.from_numpy(x), torch.from_numpy(b), torch.from_numpy(np.linalg.solve(H, b)),
                                      c)
        expected = solve_projection(H, x, b, c)
        np.testing.assert_allclose(y.numpy(), expected, atol=1e-5)
        assert c + b @ y.numpy() <= 1e-9
        active += multiplier > 0
    assert 5 <= active <= 25  # both cases were exercised


def test_two_step_update_is_the_papers_closed_form():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(4, 4))
    H = A @ A.T + np.eye(4)
    g, b, c, delta = rng.normal(size=4), rng.normal(size=4), 0.3, 0.01
    h_inv_g, h_inv_b = np.linalg.solve(H, g), np.linalg.solve(H, b)
    q, r, s = g @ h_inv_g, g @ h_inv_b, b @ h_inv_b
    reward_step = np.sqrt(2 * delta / q) * h_inv_g
    step, _ = kl_projection(torch.from_numpy(reward_step), torch.from_numpy(b), torch.from_numpy(h_inv_b), c)
    paper = reward_step - max(0.0, (np.sqrt(2 * delta / q) * r + c) / s) * h_inv_b  # Yang et al. 2020, eq. (7)
    np.testing.assert_allclose(step.numpy(), paper, atol=1e-12)


def test_no_cost_gradient_means_no_projection():
    x = torch.tensor([1.0, 2.0])
    y, multiplier = kl_projection(x, torch.zeros(2), torch.zeros(2), c=5.0)
    assert torch.equal(y, x) and multiplier == 0.0


@pytest.mark.parametrize("c", [-1.0, 0.5])
def test_feasible_start_projection_does_not_leave_the_trust_region(c):
    """From a feasible pi_k (c <= 0) the projection is non-expansive in the H metric."""
    rng = np.random.default_rng(2)
    A = rng.normal(size=(3, 3))
    H = A @ A.T + np.eye(3)
    x, b = rng.normal(size=3), rng.normal(size=3)
    y, _ = kl_projection(torch.from_numpy(x), torch.from_numpy(b), torch.from_numpy(np.linalg.solve(H, b)), c)
    y = y.numpy()
    if c <= 0:
        assert y @ H @ y <= x @ H @ x + 1e-12
    assert c + b @ y <= 1e-9
