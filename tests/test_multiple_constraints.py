"""Several simultaneous constraints: CPO's numeric dual against SLSQP, per-constraint multipliers, a two-cost
task end to end through the CLI and the report."""

import math
from functools import partial

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import bandit_batch, run_cli, run_cli_in_process
from scipy.optimize import minimize
from test_cpo_dual import cpo_step, random_instance

import tasks
from algorithms.core.cpo_multi_constraint_dual import solve_cpo_dual_numeric
from algorithms.core.observation_normalizer import ObservationNormalizer
from algorithms.core.policy import GaussianPolicy
from algorithms.cpo import CPO, accept_cpo_step
from algorithms.lagrangian import Lagrangian
from algorithms.pid_lagrangian import PIDLagrangian
from algorithms.ppo_lagrangian import PPOLagrangian
from algorithms.trpo import TRPO
from safebench.sampler import make_collector


# ----------------------------------------------------------------------------- the dual, m > 1
def random_multi_instance(rng: np.random.Generator, m: int, n: int = 8):
    a = rng.normal(size=(n, n))
    h = a @ a.T + 0.3 * np.eye(n)
    g, B = rng.normal(size=n), rng.normal(size=(m, n))
    delta = float(rng.uniform(0.005, 0.05))
    reach = np.sqrt(2 * delta * np.einsum("ij,jk,ik->i", B, np.linalg.inv(h), B))
    c = rng.uniform(-2.0, 1.2, size=m) * reach  # some violated, some slack, some infeasible combinations
    return h, g, B, c, delta


def multi_step(h, g, B, c, delta):
    """CPO's step from the numeric dual, as CPO.policy_step forms it."""
    h_inv = np.linalg.inv(h)
    q, r, S = g @ h_inv @ g, B @ h_inv @ g, B @ h_inv @ B.T
    solution = solve_cpo_dual_numeric(q, r, S, c, delta)
    if solution.mode == "recovery":
        mu = solution.recovery_weights
        return -h_inv @ B.T @ mu * math.sqrt(2 * delta / (mu @ S @ mu)), solution.mode
    return h_inv @ (g - B.T @ solution.nu) / solution.lam, solution.mode


def generic(objective, jac, h, constraints):
    """SLSQP from a few starts; the best feasible answer."""
    best = None
    rng = np.random.default_rng(0)
    n = h.shape[0]
    for start in [np.zeros(n), *(0.01 * rng.normal(size=(4, n)))]:
        res = minimize(objective, start, jac=jac, method="SLSQP", constraints=constraints,
                       options={"ftol": 1e-14, "maxiter": 2000})
        if all(con["fun"](res.x).min() >= -1e-7 for con in constraints) and (best is None or res.fun < best.fun):
            best = res
    return best


@pytest.mark.parametrize("m", [2, 3])
def test_numeric_dual_matches_slsqp_on_random_instances(m):
    rng = np.random.default_rng(m)
    modes = {"recovery": 0, "violating": 0, "feasible": 0, "unconstrained": 0}
    for _ in range(120):
        h, g, B, c, delta = random_multi_instance(rng, m)
        x, mode = multi_step(h, g, B, c, delta)
        modes[mode] += 1
        assert 0.5 * x @ h @ x <= delta * (1 + 1e-5)
        linear = {"type": "ineq", "fun": lambda y: -(c + B @ y), "jac": lambda y: -B}
        if mode == "recovery":  # no step meets every constraint: the smallest one that does, rescaled
            ref = generic(lambda y: 0.5 * y @ h @ y, lambda y: h @ y, h, [linear])
            assert 0.5 * ref.x @ h @ ref.x > delta  # really out of the trust region's reach
            cosine = (x @ h @ ref.x) / math.sqrt((x @ h @ x) * (ref.x @ h @ ref.x))
            assert cosine > 0.999, cosine
            continue
        ball = {"type": "ineq", "fun": lambda y: np.atleast_1d(delta - 0.5 * y @ h @ y), "jac": lambda y: -h @ y}
        ref = generic(lambda y: -(g @ y), lambda y: -g, h, [ball, linear])
        assert ref is not None
        assert np.all(c + B @ x <= 1e-5 * np.maximum(1.0, np.abs(c)))  # every linearized constraint holds
        assert g @ x == pytest.approx(-ref.fun, rel=1e-4, abs=1e-6)
        np.testing.assert_allclose(x, ref.x, rtol=2e-3, atol=2e-4)
    assert modes["recovery"] >= 5 and modes["violating"] >= 10 and modes["feasible"] + modes["unconstrained"] >= 10, \
        modes


def test_numeric_dual_with_one_constraint_gives_the_closed_form_step():
    rng = np.random.default_rng(7)
    for _ in range(100):
        h, g, b, c, delta = random_instance(rng)
        expected, mode = cpo_step(h, g, b, c, delta)
        got, numeric_mode = multi_step(h, g, b[None], np.array([c]), delta)
        assert (numeric_mode == "recovery") == (mode == "recovery")
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_line_search_rule_per_constraint():
    c = np.array([-1.0, 0.5])  # the first has slack 1, the second is violated by 0.5
    assert accept_cpo_step("violating", c, surrogate_gain=-1.0, cost_change=np.array([0.9, -0.6]))
    assert not accept_cpo_step("violating", c, -1.0, np.array([1.1, -0.6]))  # uses more than the slack
    assert not accept_cpo_step("violating", c, 1.0, np.array([0.0, 0.1]))  # the violated one may not rise
    assert accept_cpo_step("recovery", c, -1.0, np.array([0.5, -0.1]))
    assert not accept_cpo_step("recovery", c, -1.0, np.array([1.5, -0.1]))  # spends more than the slack
    assert accept_cpo_step("recovery", c, -1.0, np.array([0.0, 0.0]))  # the violated one may not rise (released)
    assert not accept_cpo_step("recovery", c, -1.0, np.array([0.0, 1e-6]))
    assert not accept_cpo_step("feasible", -np.abs(c), -0.1, np.zeros(2))  # all feasible: reward must improve
    assert accept_cpo_step("feasible", -np.abs(c), 0.1, np.array([0.9, 0.4]))  # within each slack (1, 0.5)


# ----------------------------------------------------------------------------- algorithms on a 2-cost bandit
HORIZON = 10
LIMITS = [5.0, 2.0]


def reward_fn(a):
    return a[..., 0] + a[..., 1]


def cost_fn(a):
    return a**2  # cost k = a_k^2: J_Ck = T (mu_k^2 + sigma_k^2)


def episode_costs(policy) -> np.ndarray:
    with torch.no_grad():
        mu = policy.mean_net(torch.zeros(1, 1))[0].double().numpy()
        sigma = policy.log_std.exp().double().numpy()
    return HORIZON * (mu**2 + sigma**2)


def make(cls, **kwargs):
    return cls(obs_dim=1, act_dim=2, cost_limit=LIMITS, seed=0, hidden_sizes=(8,), critic_hidden_sizes=(8,),
               init_log_std=np.log(0.3), cost_gae_lambda=0.95, critic_epochs=3, **kwargs)


def train(algo, updates):
    generator = torch.Generator().manual_seed(0)
    stats = [algo.update(bandit_batch(algo.policy, 32, HORIZON, generator, reward_fn, cost_fn)) for _ in range(updates)]
    return algo, stats


def test_cpo_with_two_constraints_ends_on_both_boundaries_where_trpo_violates_both():
    # maximize E[a0 + a1] s.t. T E[a0^2] <= 5 and T E[a1^2] <= 2: both constraints are active at the optimum
    cpo, stats = train(make(CPO, max_kl=0.02), 40)
    trpo, _ = train(make(TRPO, max_kl=0.02), 40)
    costs = episode_costs(cpo.policy)
    assert np.all(costs >= 0.75 * np.array(LIMITS)) and np.all(costs <= 1.15 * np.array(LIMITS)), costs
    assert np.all(episode_costs(trpo.policy) > 2 * np.array(LIMITS)), episode_costs(trpo.policy)
    assert {"cpo_nu_0", "cpo_nu_1", "cpo_c_0", "cpo_c_1", "cost_value_loss_1"} <= set(stats[-1])
    assert any(s["cpo_nu_0"] > 0 and s["cpo_nu_1"] > 0 for s in stats)  # both multipliers were active


@pytest.mark.parametrize("cls", [Lagrangian, PPOLagrangian, PIDLagrangian])
def test_lagrangian_methods_keep_one_multiplier_per_constraint(cls):
    # the initial policy costs T (0 + 0.09) = 0.9 on each: under the limit 2.0 first; then tighten one limit
    algo = cls(obs_dim=1, act_dim=2, cost_limit=[0.1, 50.0], seed=0, hidden_sizes=(8,), critic_hidden_sizes=(8,),
               init_log_std=np.log(0.3), **({"lambda_lr": 0.5} if cls is Lagrangian else {}))
    _, stats = train(algo, 4)
    first, second = [s["lagrange_multiplier_0"] for s in stats], [s["lagrange_multiplier_1"] for s in stats]
    assert first[-1] > first[0] and first[-1] > 0.01  # violated (0.9 > 0.1): its multiplier grows
    assert second[-1] <= second[0] + 1e-9  # slack (0.9 < 50): its multiplier does not
    assert len(algo.multipliers) == 2


def test_single_constraint_algorithms_refuse_several():
    from algorithms.focops import FOCOPS
    from algorithms.pcpo import PCPO

    for cls in (PCPO, FOCOPS):
        with pytest.raises(ValueError, match="at most 1 constraint"):
            cls(obs_dim=1, act_dim=1, cost_limit=[1.0, 2.0])


# ----------------------------------------------------------------------------- the two-cost task
def test_point_circle_speed_reports_position_and_speed_costs():
    env = tasks.make("point_circle_speed")
    env.reset(seed=0)
    _, _, _, _, fast = env.step(np.array([1.0, 0.0], np.float32))  # full throttle: displacement 1 > 0.6
    _, _, _, _, slow = env.step(np.array([0.3, 0.0], np.float32))
    assert fast["costs"][1] == 1.0 and slow["costs"][1] == 0.0
    assert fast["speed"] == pytest.approx(1.0, abs=0.02) and slow["speed"] == pytest.approx(0.3, abs=0.02)
    assert fast["cost"] == sum(fast["costs"])
    env.close()


def test_worker_processes_carry_every_cost_column():
    factory = partial(tasks.make, "point_circle_speed", horizon=20)
    batches = []
    for workers in (0, 2):
        torch.manual_seed(0)
        collector = make_collector(factory, 4, GaussianPolicy(9, 2), ObservationNormalizer((9,)),
                                   torch.Generator().manual_seed(1), num_costs=2, inference_batch=2, workers=workers)
        try:
            batches.append(collector.collect(50, [1, 2, 3, 4]))
        finally:
            collector.close()
    a, b = batches
    assert a.costs.shape == (4, 50, 2) and a.episode_costs.shape == (8, 2)
    assert a.costs[..., 1].sum() > 0  # random actions do exceed the speed limit
    np.testing.assert_array_equal(a.costs, b.costs)
    np.testing.assert_array_equal(a.episode_costs, b.episode_costs)


TINY = ["+task=point_circle_speed", "seed=0", "train.total_steps=2000", "train.batch_size=1000", "train.num_envs=2"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("multi")
    result = run_cli("-m", "+algo=cpo,lagrangian,ppo_lagrangian,pid_lagrangian,trpo", *TINY,
                     f"hydra.sweep.dir={root}", cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    return root


@pytest.mark.xdist_group("two_cost_sweep")  # one worker builds the module fixture, once
@pytest.mark.parametrize("algo", ["cpo", "lagrangian", "ppo_lagrangian", "pid_lagrangian", "trpo"])
def test_two_cost_task_trains_through_the_cli_with_per_constraint_columns(sweep, algo):
    (path,) = (sweep / "point_circle_speed" / algo).rglob("progress.csv")
    progress = pd.read_csv(path)
    for stem in ("cost_mean", "cost_limit", "batch_cost", "violation"):
        assert {f"{stem}_position", f"{stem}_speed"} <= set(progress.columns)
        assert stem not in progress.columns
    assert (progress["cost_limit_position"] == 5.0).all() and (progress["cost_limit_speed"] == 15.0).all()
    assert progress[["cost_mean_position", "cost_mean_speed"]].notna().all().all()
    assert (progress["batch_cost_speed"] > 0).all()  # random early policies do speed
    if algo == "cpo":
        assert {"cpo_nu_0", "cpo_nu_1", "cpo_c_0", "cpo_c_1"} <= set(progress.columns)
        c = progress["cost_mean_speed"] - 15.0
        np.testing.assert_allclose(progress["cpo_c_1"], c, atol=1e-9)
    if "lagrang" in algo:
        assert {"lagrange_multiplier_0", "lagrange_multiplier_1"} <= set(progress.columns)


@pytest.mark.xdist_group("two_cost_sweep")  # one worker builds the module fixture, once
def test_report_of_the_two_cost_sweep_has_a_row_per_constraint(sweep, tmp_path):
    from safebench.report.build import make_report

    make_report([sweep], tmp_path / "report")
    summary = pd.read_csv(tmp_path / "report" / "summary.csv")
    cpo = summary[summary["algo"] == "cpo"].set_index("constraint")
    assert set(cpo.index) == {"position", "speed", "all"}
    assert cpo.loc["speed", "cost_limit"] == 15.0 and cpo.loc["position", "cost_limit"] == 5.0


def test_single_constraint_algorithm_on_the_two_cost_task_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # refused before Hydra starts: main() in this process
    result = run_cli_in_process("+algo=pcpo", *TINY, f"hydra.run.dir={tmp_path / 'run'}", capsys=capsys)
    assert result.returncode == 2
    message = " ".join(result.stderr.split())  # the paragraph's line breaks move with the overrides it quotes
    assert "at most 1 constraint" in message and "Traceback" not in message
    assert not (tmp_path / "run").exists()


def test_mismatched_cost_names_are_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli_in_process("+algo=cpo", *TINY, "task.cost_names=[position]", f"hydra.run.dir={tmp_path / 'run'}",
                                capsys=capsys)
    assert result.returncode == 2 and "task.cost_names must list 2 names" in result.stderr


@pytest.mark.parametrize("task, limits", [("point_circle", ["task.cost_limit=[5,15]", "+task.cost_names=[a,b]"]),
                                          ("point_circle_speed", ["task.cost_limit=5"])])
def test_a_limit_count_unlike_the_tasks_costs_is_a_clear_error(tmp_path, capsys, monkeypatch, task, limits):
    """Refused before the run starts (it used to fail at the first step with KeyError: 'costs')."""
    monkeypatch.chdir(tmp_path)
    result = run_cli_in_process("+algo=cpo", f"+task={task}", "train.total_steps=2000", *limits,
                                f"hydra.run.dir={tmp_path / 'run'}", capsys=capsys)
    message = " ".join(result.stderr.split())
    assert result.returncode == 2 and "give one limit per cost" in message and "Traceback" not in message
    assert f"but {task} emits {1 if task == 'point_circle' else 2} cost(s)" in message
    assert not (tmp_path / "run").exists()
