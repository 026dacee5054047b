"""CUP's projection step: its coefficient, and the optimum it fits (lower cost, near the improved policy)."""

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from algorithms.core.actor_critic import UpdateData
from algorithms.core.policy import GaussianPolicy
from algorithms.cup import CUP, cup_coefficient, cup_projection_loss


def test_coefficient_is_the_generalized_advantage_bound():
    assert cup_coefficient(0.99, 0.95) == pytest.approx(5.95)
    assert cup_coefficient(0.995, 0.95) == pytest.approx(10.95)


def test_loss_on_a_hand_example():
    log_ratio = torch.log(torch.tensor([1.0, 2.0]))
    kl = torch.tensor([0.1, 0.3])
    cost_adv = torch.tensor([[1.0, -1.0], [0.5, 2.0]])
    loss = cup_projection_loss(log_ratio, kl, cost_adv, torch.tensor([0.5, 2.0]), coef=3.0)
    expected = ((3.0 * 1.0 * (0.5 - 2.0) + 0.1) + (3.0 * 2.0 * (0.25 + 4.0) + 0.3)) / 2
    assert float(loss) == pytest.approx(expected)


def test_projection_moves_from_the_improved_policy_towards_lower_cost():
    """One state, A_C(a) = a - mu_k (cost rises with the action), pi_imp = N(mu_k + 0.3, sigma^2) the improved
    policy. Minimizing c E_pi_k[ratio A_C] + KL(pi || pi_imp) = c (mu - mu_k) + (mu - mu_imp)^2 / (2 sigma^2)
    gives mu = mu_imp - c sigma^2, sigma unchanged: a shift from pi_imp (not from pi_k) towards lower cost,
    by the multiplier times the coefficient. The actions are pi_k's quantiles (a quadrature of E_pi_k)."""
    torch.manual_seed(0)
    n, nu = 2000, 0.05
    coef = cup_coefficient(0.99, 0.95)
    policy = GaussianPolicy(1, 1, hidden_sizes=(4,))  # starts at pi_imp
    obs = torch.zeros(1, 1)
    with torch.no_grad():
        mu_imp, sigma = float(policy.mean_net(obs)), float(policy.log_std.exp())
        improved = policy.distribution(obs)
        mu_k = mu_imp - 0.3
        old = Normal(mu_k, sigma)
        actions = (mu_k + sigma * Normal(0.0, 1.0).icdf((torch.arange(n) + 0.5) / n))[:, None]
        old_log_probs = old.log_prob(actions[:, 0])
    cost_adv = actions - mu_k  # (n, 1)
    optimizer = torch.optim.Adam(policy.parameters(), lr=0.02)
    for _ in range(300):
        dist = policy.distribution(obs)
        kl = kl_divergence(dist, improved)  # one state: broadcast over the samples
        log_ratio = dist.log_prob(actions) - old_log_probs
        loss = cup_projection_loss(log_ratio, kl, cost_adv, torch.tensor([nu]), coef)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        mu, new_sigma = float(policy.mean_net(obs)), float(policy.log_std.exp())
    assert mu == pytest.approx(mu_imp - coef * nu * sigma**2, abs=0.02)
    assert new_sigma == pytest.approx(sigma, abs=0.02)


def test_the_projection_step_of_the_class_fits_the_same_optimum():
    """CUP.project from pi_imp (the current policy) on the same problem: A_C standardized to (a - mu_k) / sigma,
    the coefficient from the algorithm's gamma and GAE lambda, so mu = mu_imp - coef nu sigma."""
    n, nu = 2000, 0.02
    algo = CUP(obs_dim=1, act_dim=1, cost_limit=5.0, seed=0, hidden_sizes=(4,), critic_hidden_sizes=(4,),
               policy_lr=0.01, update_epochs=20, minibatch_size=500, target_kl=1e9, lambda_init=nu)
    obs = torch.zeros(n, 1)
    with torch.no_grad():
        mu_imp, sigma = float(algo.policy.mean_net(obs[:1])), float(algo.policy.log_std.exp())
        mu_k = mu_imp - 0.3
        actions = (mu_k + sigma * Normal(0.0, 1.0).icdf((torch.arange(n) + 0.5) / n))[:, None]
    data = UpdateData(obs=obs, actions=actions, old_log_probs=Normal(mu_k, sigma).log_prob(actions[:, 0]),
                      reward_advantages=torch.zeros(n), cost_advantages=(actions[:, 0] - mu_k)[None],
                      episode_costs=torch.tensor([10.0]).numpy(), mean_episode_length=100.0)
    stats = algo.project(data)
    with torch.no_grad():
        mu = float(algo.policy.mean_net(obs[:1]))
    coef = cup_coefficient(algo.gamma, algo.gae_lambda)
    assert mu == pytest.approx(mu_imp - coef * nu * sigma, abs=0.03)
    assert stats["cup_projection_epochs"] == 20
