"""CPO on problems whose answer is known: the constrained optimum of a bandit, and the scale of b."""

import numpy as np
import torch
from helpers import bandit_batch

from algorithms.core.mlp import flat_grad, flat_params, set_flat_params
from algorithms.cpo import CPO
from algorithms.trpo import TRPO

HORIZON = 10


def reward_fn(a):
    return a[..., 0]


def cost_fn(a):
    return a[..., 0] ** 2


def expected_episode_cost(policy) -> float:
    """J_C = T E[a^2] = T (mu^2 + sigma^2) exactly, for the constant-observation policy."""
    with torch.no_grad():
        mu = float(policy.mean_net(torch.zeros(1, 1))[0, 0])
        sigma = float(policy.log_std.exp()[0])
    return HORIZON * (mu**2 + sigma**2)


def make(cls, cost_limit, seed=0):
    return cls(obs_dim=1, act_dim=1, cost_limit=cost_limit, seed=seed, hidden_sizes=(8,), critic_hidden_sizes=(8,),
               init_log_std=np.log(0.5), cost_gae_lambda=0.95, critic_epochs=3, max_kl=0.02)


def train(algo, updates, seed=0):
    generator = torch.Generator().manual_seed(seed)
    for _ in range(updates):
        algo.update(bandit_batch(algo.policy, 32, HORIZON, generator, reward_fn, cost_fn))
    return algo


def test_cpo_reaches_constrained_optimum_where_trpo_violates():
    # maximize E[a] s.t. HORIZON * E[a^2] <= 5: the optimum puts mu^2 + sigma^2 on 0.5.
    limit = 5.0
    cpo = train(make(CPO, limit), 40)
    trpo = train(make(TRPO, limit), 40)
    cpo_cost, trpo_cost = expected_episode_cost(cpo.policy), expected_episode_cost(trpo.policy)
    with torch.no_grad():
        mu = float(cpo.policy.mean_net(torch.zeros(1, 1))[0, 0])
        sigma = float(cpo.policy.log_std.exp()[0])
    assert 0.8 * limit <= cpo_cost <= 1.15 * limit, cpo_cost  # on the constraint boundary, not far inside
    assert mu >= 0.9 * np.sqrt(max(limit / HORIZON - sigma**2, 0.0)), (mu, sigma)  # best mean given sigma
    assert trpo_cost > 2 * limit, trpo_cost  # unconstrained: pays no attention to the limit


def test_linearized_cost_change_matches_true_change():
    """c + b.x predicts J_C after a small step; without the T-bar rescaling it is off by ~T."""
    algo = make(CPO, cost_limit=100.0)
    generator = torch.Generator().manual_seed(1)
    for _ in range(3):  # let the cost critic learn the baseline first
        algo.prepare(bandit_batch(algo.policy, 256, HORIZON, generator, reward_fn, cost_fn))
    data, _ = algo.prepare(bandit_batch(algo.policy, 512, HORIZON, generator, reward_fn, cost_fn))
    b = flat_grad(algo.cost_surrogates(data)[0], algo.policy).detach()
    hvp = algo.fisher_product(data)
    from algorithms.core.conjugate_gradient import conjugate_gradient

    direction = conjugate_gradient(hvp, b, 10)
    step = 0.05 * direction / float(torch.sqrt(direction @ hvp(direction)))  # a small step raising cost
    before = expected_episode_cost(algo.policy)
    theta = flat_params(algo.policy)
    set_flat_params(algo.policy, theta + step)
    after = expected_episode_cost(algo.policy)
    predicted, observed = float(b @ step), after - before
    assert observed > 0
    assert abs(predicted - observed) <= 0.25 * observed, (predicted, observed)
