"""Conjugate gradient, Fisher-vector products, the KL-edge step length and the line search."""

import pytest
import torch

from algorithms.core.conjugate_gradient import conjugate_gradient
from algorithms.core.fisher_vector_product import (
    has_tanh_mlp_mean,
    make_fisher_vector_product,
    make_hessian_vector_product,
    mean_kl,
)
from algorithms.core.kl_edge import kl_edge_scale
from algorithms.core.line_search import backtracking_line_search
from algorithms.core.mlp import flat_params, set_flat_params
from algorithms.core.policy import GaussianPolicy


def test_conjugate_gradient_solves_random_spd_system():
    torch.manual_seed(0)
    n = 30
    m = torch.randn(n, n, dtype=torch.float64)
    h = m @ m.T + 0.5 * torch.eye(n, dtype=torch.float64)
    b = torch.randn(n, dtype=torch.float64)
    x = conjugate_gradient(lambda v: h @ v, b, iterations=200, residual_tol=1e-20)
    torch.testing.assert_close(h @ x, b, rtol=1e-6, atol=1e-8)


def test_conjugate_gradient_ten_iterations_is_exact_in_ten_dimensions():
    torch.manual_seed(1)
    m = torch.randn(10, 10, dtype=torch.float64)
    h = m @ m.T + torch.eye(10, dtype=torch.float64)
    b = torch.randn(10, dtype=torch.float64)
    x = conjugate_gradient(lambda v: h @ v, b, iterations=10)
    torch.testing.assert_close(x, torch.linalg.solve(h, b), rtol=1e-5, atol=1e-6)


def test_fisher_vector_product_equals_explicit_kl_hessian():
    torch.manual_seed(0)
    policy = GaussianPolicy(3, 2, hidden_sizes=(4,), init_log_std=-0.3).double()
    obs = torch.randn(50, 3, dtype=torch.float64)
    theta0 = flat_params(policy).clone()
    with torch.no_grad():
        old_mean, old_log_std = policy.mean_net(obs), policy.log_std.clone()

    def kl_at(theta):
        set_flat_params(policy, theta)
        return mean_kl(policy, obs, old_mean, old_log_std)

    # explicit Hessian by finite differences of autograd gradients (theta enters through set_flat_params)
    n = len(theta0)
    hessian = torch.zeros(n, n, dtype=torch.float64)
    eps = 1e-5
    for i in range(n):
        grads = []
        for sign in (1, -1):
            theta = theta0.clone()
            theta[i] += sign * eps
            set_flat_params(policy, theta)
            kl = mean_kl(policy, obs, old_mean, old_log_std)
            grads.append(torch.cat([g.reshape(-1) for g in torch.autograd.grad(kl, list(policy.parameters()))]))
        hessian[:, i] = (grads[0] - grads[1]) / (2 * eps)
    set_flat_params(policy, theta0)
    damping = 0.1
    fvp = make_fisher_vector_product(policy, obs, damping)
    v = torch.randn(n, dtype=torch.float64)
    torch.testing.assert_close(fvp(v), hessian @ v + damping * v, rtol=1e-4, atol=1e-6)
    assert kl_at(theta0) == 0


def test_fisher_product_of_tanh_policies_equals_the_kl_hessian_product():
    """The J'MJ form used for tanh MLPs against differentiating the mean KL twice (default sizes)."""
    torch.manual_seed(0)
    policy = GaussianPolicy(7, 3, init_log_std=-0.5).double()
    with torch.no_grad():
        policy.log_std.copy_(torch.tensor([-0.5, 0.2, -1.0]))
    obs = torch.randn(300, 7, dtype=torch.float64)
    with torch.no_grad():
        old_mean, old_log_std = policy.mean_net(obs), policy.log_std.clone()
    assert has_tanh_mlp_mean(policy)
    by_form = make_fisher_vector_product(policy, obs, 0.1)
    by_hessian = make_hessian_vector_product(mean_kl(policy, obs, old_mean, old_log_std), policy, 0.1)
    for _ in range(3):
        v = torch.randn(len(flat_params(policy)), dtype=torch.float64)
        torch.testing.assert_close(by_form(v), by_hessian(v), rtol=1e-10, atol=1e-12)


def test_kl_edge_scale_puts_any_direction_on_the_trust_region_edge():
    torch.manual_seed(0)
    a = torch.randn(6, 6, dtype=torch.float64)
    h = a @ a.T + 0.1 * torch.eye(6, dtype=torch.float64)
    for max_kl in (0.01, 0.05):
        for _ in range(3):
            x = torch.randn(6, dtype=torch.float64) * 10 ** float(torch.randint(-3, 3, ()))
            step = kl_edge_scale(float(x @ h @ x), max_kl) * x
            assert float(0.5 * step @ h @ step) == pytest.approx(max_kl, rel=1e-12)


def test_line_search_takes_first_acceptable_fraction_and_reverts_when_none():
    start = torch.zeros(2)
    step = torch.tensor([1.0, 0.0])
    result = backtracking_line_search(start, step, lambda p: float(p[0]) <= 0.5, 0.8, 15)
    assert result.accepted and result.backtracks == 4  # 0.8**4 = 0.41 is the first <= 0.5
    torch.testing.assert_close(result.params, 0.8**4 * step)
    rejected = backtracking_line_search(start, step, lambda p: False, 0.8, 5)
    assert not rejected.accepted and torch.equal(rejected.params, start) and rejected.backtracks == 5


def test_sampling_log_prob_matches_the_distribution():
    torch.manual_seed(0)
    policy = GaussianPolicy(5, 3, init_log_std=-0.4)
    obs = torch.randn(64, 5)
    actions, log_prob = policy.act(obs, torch.Generator().manual_seed(1))
    torch.testing.assert_close(log_prob, policy.distribution(obs).log_prob(actions), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(policy.entropy().detach(), policy.distribution(obs).entropy()[0].detach())
