"""Each mechanic the released CPO code (jachiam/cpo) fixes where the paper is silent (docs/fidelity.md)."""

import math

import numpy as np
import pytest
import torch
from helpers import REPO, bandit_batch
from hydra import compose, initialize_config_dir

from algorithms.core.actor_critic import standardize
from algorithms.core.conjugate_gradient import conjugate_gradient
from algorithms.core.cpo_multi_constraint_dual import solve_cpo_dual_numeric
from algorithms.core.line_search import backtracking_line_search
from algorithms.core.mlp import flat_params
from algorithms.core.policy import GaussianPolicy
from algorithms.core.rollout_batch import RolloutBatch
from algorithms.cpo import CPO, dual_coefficients, solve_cpo_dual
from algorithms.fixed_penalty import FixedPenalty
from algorithms.focops import FOCOPS
from algorithms.lagrangian import Lagrangian
from algorithms.ppo_lagrangian import PPOLagrangian


# ----------------------------------------------------------------------------- 1. q, r, S as H-inner products
def ill_conditioned_instance(rng: np.random.Generator, n: int = 60):
    """H with eigenvalues over 8 decades and g, b at cosine about 0.99: where truncated CG errs most."""
    basis, _ = np.linalg.qr(rng.normal(size=(n, n)))
    H = basis @ np.diag(np.logspace(-6, 2, n)) @ basis.T
    g = rng.normal(size=n)
    b = g + 0.14 * np.linalg.norm(g) / math.sqrt(n) * rng.normal(size=n)
    return (torch.from_numpy(H), torch.from_numpy(g), torch.from_numpy(b))


def cg_solutions(H, g, b):
    hvp = lambda v: H @ v  # noqa: E731
    return conjugate_gradient(hvp, g, 10), conjugate_gradient(hvp, b, 10)[None], hvp


def test_dual_coefficients_obey_cauchy_schwarz_and_make_the_step_exact():
    rng = np.random.default_rng(0)
    delta, active = 0.01, 0
    for _ in range(60):
        H, g, b = ill_conditioned_instance(rng)
        v, w, hvp = cg_solutions(H, g, b)
        q, r, S = dual_coefficients(v, w, hvp)
        s = float(S[0, 0])
        assert r[0] ** 2 <= q * s * (1 + 1e-12)
        # put c where the constraint plane cuts the trust region, on either side of it
        c = float(rng.uniform(-0.9, 0.9) * math.sqrt(2 * delta * s))
        lam, nu, mode = solve_cpo_dual(q, float(r[0]), s, c, delta)
        if mode in ("feasible", "violating") and nu > 0:
            active += 1
            x = (v - nu * w[0]) / lam
            assert float(x @ H @ x) == pytest.approx(2 * delta, rel=1e-6)
    assert active >= 20  # the test exercised the case it is about


def test_gradient_dot_products_break_cauchy_schwarz_on_the_same_instances():
    """Why the H-inner products: g.w from truncated CG gives q - r^2/s <= 0 on these instances."""
    rng = np.random.default_rng(0)
    broken = 0
    for _ in range(60):
        H, g, b = ill_conditioned_instance(rng)
        v, w, _ = cg_solutions(H, g, b)
        q, r, s = float(g @ v), float(g @ w[0]), float(b @ w[0])
        broken += q - r * r / s <= 0
    assert broken >= 5


def test_recovery_step_lands_on_the_trust_region_edge():
    rng = np.random.default_rng(1)
    H, g, b = ill_conditioned_instance(rng)
    v, w, hvp = cg_solutions(H, g, b)
    q, r, S = dual_coefficients(v, w, hvp)
    x = -math.sqrt(2 * 0.01 / S[0, 0]) * w[0]
    assert float(x @ H @ x) == pytest.approx(0.02, rel=1e-9)


# ----------------------------------------------------------------------------- 2. line search without an accepted point
def test_line_search_keeps_the_last_point_tried_only_when_asked():
    start, step = torch.zeros(3), torch.ones(3)
    rejected = backtracking_line_search(start, step, lambda p: False, 0.8, 15)
    assert torch.equal(rejected.params, start) and not rejected.accepted
    kept = backtracking_line_search(start, step, lambda p: False, 0.8, 15, keep_last=True)
    assert torch.allclose(kept.params, 0.8**14 * step) and not kept.accepted


def make_cpo(**kwargs):
    return CPO(obs_dim=1, act_dim=1, cost_limit=1.0, seed=0, hidden_sizes=(8,), critic_hidden_sizes=(8,),
               critic_epochs=1, **kwargs)


def prepared(algo):
    generator = torch.Generator().manual_seed(0)
    batch = bandit_batch(algo.policy, 8, 10, generator, lambda a: a[..., 0], lambda a: a[..., 0] ** 2)
    data, _ = algo.prepare(batch)
    return data, algo.policy_advantages(data)


def test_cpo_search_stays_at_the_last_finite_point_in_recovery_and_reverts_on_nan():
    algo = make_cpo()
    data, adv = prepared(algo)
    start = flat_params(algo.policy)
    step = 1e-3 * torch.ones_like(start)
    stats = algo.search(data, step, lambda gain, cost: False, adv, keep_last=True)
    assert torch.allclose(flat_params(algo.policy), start + 0.8**14 * step)
    assert stats["line_search_kept_last"] == 1.0 and stats["line_search_accepted"] == 0.0
    algo.search(data, torch.full_like(start, float("nan")), lambda gain, cost: False, adv, keep_last=True)
    assert torch.allclose(flat_params(algo.policy), start + 0.8**14 * step)  # NaN: back to where it was


def test_cpo_keeps_the_last_point_in_recovery_mode():
    algo = make_cpo()
    data, _ = prepared(algo)
    data.episode_costs = np.array([1e6])  # far above the limit: no step can reach it, recovery
    calls = {}
    original = algo.search

    def spy(*args, **kwargs):
        calls.update(kwargs)
        return original(*args, **kwargs)

    algo.search = spy
    stats = algo.policy_step(data)
    assert stats["cpo_mode"] == 0.0 and calls["keep_last"] is True


# ----------------------------------------------------------------------------- 3, 4, 6. c, b, T-bar and critic targets
def hand_batch(costs: np.ndarray, episode_end: np.ndarray, terminated: np.ndarray, cut_rows: list[int]) -> RolloutBatch:
    """A 1-d batch with given per-step costs and episode ends; ``cut_rows`` end in an unfinished episode."""
    n, t = costs.shape
    index = [i * t + t - 1 for i in cut_rows]
    lengths, costs_done = [], []
    for i in range(n):
        start = 0
        for k in np.flatnonzero(episode_end[i]):
            lengths.append(k + 1 - start)
            costs_done.append(costs[i, start : k + 1].sum())
            start = k + 1
    return RolloutBatch(
        obs=np.zeros((n, t, 1), np.float32), actions=np.zeros((n, t, 1), np.float32),
        log_probs=np.zeros((n, t), np.float32), rewards=np.zeros((n, t)), costs=costs[..., None].astype(float),
        terminated=terminated, episode_end=episode_end, bootstrap_index=np.array(index, np.int64),
        bootstrap_obs=np.zeros((len(index), 1), np.float32), episode_returns=np.zeros(len(lengths)),
        episode_costs=np.array(costs_done, float)[:, None], episode_lengths=np.array(lengths),
    )


def test_t_bar_is_the_mean_length_of_completed_episodes():
    end = np.zeros((4, 12), bool)
    end[:, [4, 9]] = True  # two episodes of 5 per row, then 2 steps cut by the batch
    batch = hand_batch(np.zeros((4, 12)), end, np.zeros((4, 12), bool), cut_rows=[0, 1, 2, 3])
    assert batch.mean_episode_length == 5.0  # steps per segment (the old estimate) would say 4


class ConstantCritic:
    def __init__(self, value: float) -> None:
        self.value = value

    def predict(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.full((len(obs),), self.value)


@pytest.mark.parametrize("bootstrap_time_limit", [False, True])
def test_cost_targets_are_undiscounted_monte_carlo_and_a_time_limit_is_worth_zero(bootstrap_time_limit):
    costs = np.array([[1.0, 0.0, 1.0, 1.0, 0.0, 1.0]])
    end = np.array([[False, False, True, False, False, False]])  # time limit after step 2; then cut by the batch
    batch = hand_batch(costs, end, np.zeros_like(end), cut_rows=[0])
    algo = make_cpo(bootstrap_time_limit=bootstrap_time_limit)
    assert algo.cost_gamma == 1.0 and algo.critic_target_lambda == 1.0  # the released defaults
    obs = torch.zeros(6, 1)
    adv, targets = algo._advantages(ConstantCritic(7.0), obs, torch.zeros(1, 1), batch, costs, algo.cost_gamma,
                                    algo.cost_gae_lambda)
    tail = 7.0 if bootstrap_time_limit else 0.0
    # the first episode's cost-to-go, undiscounted; the cut episode goes on, so its end is valued (7)
    np.testing.assert_allclose(targets.numpy(), [2 + tail, 1 + tail, 1 + tail, 2 + 7, 1 + 7, 1 + 7], rtol=1e-6)


def test_default_config_follows_the_released_code():
    with initialize_config_dir(str(REPO / "conf"), version_base=None):
        cfg = compose("config", overrides=["+algo=cpo", "+task=point_gather"])
    algo = cfg.algo
    assert algo.cg_damping == 1e-5 and algo.cost_gamma == 1.0 and algo.bootstrap_time_limit is False
    assert algo.critic_target_lambda == 1.0 and algo.policy_init == "glorot_uniform" and algo.min_std == 1e-6


# the paper's Appendix 10.3.2 table: failure-prediction horizon T, predictor SGD steps per update, alpha;
# Point-Gather: no cost shaping (Sec. 8.1: "due to that environment's short time horizon")
PAPER_COST_SHAPING = {"point_circle": (5, 25, 1.0), "ant_circle": (20, 25, 1.0), "humanoid_circle": (20, 25, 1.0),
                      "ant_gather": (20, 10, 0.01), "point_gather": None}


@pytest.mark.parametrize("task", sorted(PAPER_COST_SHAPING))
def test_cost_shaping_settings_follow_the_papers_table(task):
    with initialize_config_dir(str(REPO / "conf"), version_base=None):
        cfg = compose("config", overrides=["+algo=cpo", f"+task={task}"])
    paper = PAPER_COST_SHAPING[task]
    assert cfg.task.cost_shaping.in_paper is (paper is not None)
    assert cfg.algo.cost_shaping is False  # off unless asked for (Figure 1's experiments ask)
    if paper is not None:
        algo = cfg.algo
        assert (algo.cost_shaping_horizon, algo.cost_shaping_epochs, algo.cost_shaping_coeff) == paper
        assert list(algo.cost_shaping_hidden_sizes) == [32]  # one hidden layer of 32 units, sigmoid output


# ----------------------------------------------------------------------------- 6. initialisation
def test_policy_starts_as_rllab_glorot_uniform_with_unit_std_and_a_std_floor():
    torch.manual_seed(0)
    policy = GaussianPolicy(40, 8, (64, 32), init="glorot_uniform", min_std=1e-6)
    linears = list(policy.mean_net)[::2]
    for linear in linears:
        fan_out, fan_in = linear.weight.shape
        bound = math.sqrt(6 / (fan_in + fan_out))
        assert linear.weight.abs().max() <= bound and linear.weight.abs().max() > 0.9 * bound
        assert float(linear.weight.detach().std()) == pytest.approx(bound / math.sqrt(3), rel=0.1)  # uniform, not orthogonal
        assert torch.count_nonzero(linear.bias) == 0
    assert torch.equal(policy.log_std.detach(), torch.zeros(8))
    with torch.no_grad():
        policy.log_std.fill_(-30.0)
    assert torch.allclose(policy.distribution(torch.zeros(1, 40)).stddev, torch.full((1, 8), 1e-6))


# ----------------------------------------------------------------------------- 6. PDO and fixed penalty: one critic
@pytest.mark.parametrize("cls,kwargs", [(Lagrangian, {"lambda_init": 2.0}), (FixedPenalty, {"beta": 2.0})])
def test_penalty_methods_fit_one_critic_to_reward_minus_weighted_cost(cls, kwargs):
    algo = cls(obs_dim=1, act_dim=1, cost_limit=1.0, seed=0, hidden_sizes=(8,), critic_hidden_sizes=(8,), **kwargs)
    assert algo.cost_critics == []  # released pdo_vf_mode=1: no cost critic
    generator = torch.Generator().manual_seed(0)
    batch = bandit_batch(algo.policy, 4, 10, generator, lambda a: a[..., 0], lambda a: a[..., 0] ** 2)
    np.testing.assert_allclose(algo.critic_rewards(batch), batch.rewards - 2.0 * batch.costs[..., 0])
    data, _ = algo.prepare(batch)
    assert torch.allclose(algo.policy_advantages(data), standardize(data.reward_advantages))
    two = cls(obs_dim=1, act_dim=1, cost_limit=1.0, seed=0, hidden_sizes=(8,), critic_hidden_sizes=(8,),
              one_critic=False, **kwargs)
    assert len(two.cost_critics) == 1 and np.array_equal(two.critic_rewards(batch), batch.rewards)


# ----------------------------------------------------------------------------- 7. the modern baselines
def test_first_order_learning_rate_falls_linearly_over_the_budget():
    algo = PPOLagrangian(obs_dim=1, act_dim=1, cost_limit=1.0, seed=0, hidden_sizes=(8,), critic_hidden_sizes=(8,),
                         update_epochs=1, lr_schedule="linear", lr_schedule_steps=2560, policy_lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    rates = []
    for _ in range(3):
        batch = bandit_batch(algo.policy, 4, 40, generator, lambda a: a[..., 0], lambda a: a[..., 0] ** 2)
        rates.append(algo.update(batch)["policy_lr"])  # 4 envs x 160 steps per batch
    assert rates == pytest.approx([1e-3, 0.75e-3, 0.5e-3])
    restored = PPOLagrangian(obs_dim=1, act_dim=1, cost_limit=1.0, seed=0, hidden_sizes=(8,), critic_hidden_sizes=(8,),
                             lr_schedule="linear", lr_schedule_steps=2560, policy_lr=1e-3)
    restored.load_state_dict(algo.state_dict())
    assert restored.scheduled_lr() == pytest.approx(0.25e-3)


def test_focops_stops_on_the_kl_of_the_new_policy_from_the_old():
    algo = FOCOPS(obs_dim=2, act_dim=2, cost_limit=1.0, seed=0, hidden_sizes=(8,), critic_hidden_sizes=(8,))
    obs = torch.randn(50, 2)
    with torch.no_grad():
        old_mean, old_log_std = algo.policy.mean_net(obs), algo.policy.log_std.clone()
        algo.policy.log_std.add_(torch.tensor([0.5, -0.7]))
    with torch.no_grad():
        new = algo.policy.distribution(obs)
    old = torch.distributions.Independent(torch.distributions.Normal(old_mean, old_log_std.exp()), 1)
    data = type("Data", (), {"obs": obs})()
    got = algo.early_stop_kl(data, old_mean, old_log_std)
    assert got == pytest.approx(float(torch.distributions.kl_divergence(new, old).mean()), rel=1e-6)
    assert got != pytest.approx(float(torch.distributions.kl_divergence(old, new).mean()), rel=1e-2)


# ----------------------------------------------------------------------------- 8. constraints that cannot all be met
def test_opposite_violated_constraints_are_detected_as_infeasible():
    b = np.array([1.0, 0.5, -0.2])
    H_inv = np.diag([1.0, 2.0, 0.5])
    B = np.stack([b, -b])
    g = np.array([0.3, -0.1, 0.7])
    q, r, S = float(g @ H_inv @ g), B @ H_inv @ g, B @ H_inv @ B.T
    solution = solve_cpo_dual_numeric(q, r, S, np.array([0.2, 0.3]), 0.01)
    assert solution.mode == "recovery"
    assert np.all(np.isfinite(solution.nu)) and np.all(solution.nu < 1e3)


def test_cpo_takes_no_step_when_violated_constraints_cancel():
    algo = CPO(obs_dim=1, act_dim=1, cost_limit=[1.0, 1.0], seed=0, hidden_sizes=(4,), critic_hidden_sizes=(4,))
    w = torch.randn(1, 13, dtype=torch.float32)
    S = np.array([[2.0, -2.0], [-2.0, 2.0]])
    step = algo._recovery_step(np.array([1e11, 1e11]), S, torch.cat([w, -w]))
    assert torch.count_nonzero(step) == 0
