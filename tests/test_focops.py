"""FOCOPS's per-sample weights and loss: a hand example, and the optimum it fits."""

import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from algorithms.core.policy import GaussianPolicy
from algorithms.core.lagrange_multiplier import projected_ascent
from algorithms.focops import focops_loss, focops_weights


def test_weights_on_a_hand_example():
    w = focops_weights(torch.tensor([1.0, -0.5, 2.0]), torch.tensor([0.5, 1.0, -1.0]), nu=2.0, lam=1.5)
    assert torch.allclose(w, torch.tensor([0.0, -2.5 / 1.5, 4.0 / 1.5]))


def test_loss_on_a_hand_example_drops_states_beyond_eta():
    log_ratio = torch.log(torch.tensor([1.0, 2.0, 0.5, 1.0]))
    kl = torch.tensor([0.01, 0.0, 0.015, 0.5])  # the last state moved too far: out of the loss
    weights = torch.tensor([1.0, 0.5, -2.0, 10.0])
    loss = focops_loss(log_ratio, kl, weights, eta=0.02)
    expected = ((0.01 - 1.0) + (0.0 - 1.0) + (0.015 + 1.0) + 0.0) / 4
    assert float(loss) == pytest.approx(expected)


def test_loss_gradient_is_the_weighted_likelihood_ratio():
    log_ratio = torch.tensor([0.1, -0.2], requires_grad=True)
    weights = torch.tensor([1.0, -3.0])
    focops_loss(log_ratio, torch.zeros(2), weights, eta=0.02).backward()
    assert torch.allclose(log_ratio.grad, -torch.exp(log_ratio.detach()) * weights / 2)


def test_minimizing_the_loss_recovers_the_optimal_nonparametric_policy():
    """With A(a) = a - mu_k and nu = 0, pi* = pi_k exp(A / lambda) / Z = N(mu_k + 1 / lambda, sigma_k^2).

    One state; the actions are the quantiles of pi_k (a quadrature of E_pi_k), so that the fitted
    policy's error is the method's, not the sampling's."""
    torch.manual_seed(0)
    lam, n = 1.5, 2000
    policy = GaussianPolicy(1, 1, hidden_sizes=(4,))
    obs = torch.zeros(1, 1)
    with torch.no_grad():
        old = policy.distribution(obs)
        mu_k, sigma_k = float(policy.mean_net(obs)), float(policy.log_std.exp())
        actions = mu_k + sigma_k * Normal(0.0, 1.0).icdf((torch.arange(n) + 0.5) / n)[:, None]
        old_log_probs = old.log_prob(actions)
    weights = focops_weights(actions[:, 0] - mu_k, torch.zeros(n), nu=0.0, lam=lam)
    optimizer = torch.optim.Adam(policy.parameters(), lr=0.03)
    for _ in range(250):
        dist = policy.distribution(obs)
        kl = kl_divergence(dist, old)  # one state: broadcast over the samples
        loss = focops_loss(dist.log_prob(actions) - old_log_probs, kl, weights, eta=math.inf)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        mu, sigma = float(policy.mean_net(obs)), float(policy.log_std.exp())
    assert mu - mu_k == pytest.approx(1 / lam, abs=0.01)
    assert sigma == pytest.approx(sigma_k, abs=0.01)


def test_nu_update_is_projected_ascent():
    assert projected_ascent(0.5, 10.0, lr=0.01, upper=2.0) == pytest.approx(0.6)
    assert projected_ascent(0.05, -10.0, lr=0.01, upper=2.0) == 0.0
    assert projected_ascent(1.99, 10.0, lr=0.01, upper=2.0) == 2.0
