"""solve_cpo_dual against a generic constrained solver (SLSQP) and the line-search rules."""

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from algorithms.cpo import accept_cpo_step, solve_cpo_dual


def random_instance(rng: np.random.Generator, n: int = 6):
    m = rng.normal(size=(n, n))
    h = m @ m.T + 0.3 * np.eye(n)
    g, b = rng.normal(size=n), rng.normal(size=n)
    delta = float(rng.uniform(0.005, 0.05))
    h_inv = np.linalg.inv(h)
    s = b @ h_inv @ b
    # spread c over both signs and both sides of the trust region's reach sqrt(2 delta s)
    c = float(rng.uniform(-2.5, 2.5) * math.sqrt(2 * delta * s))
    return h, g, b, c, delta


def cpo_step(h, g, b, c, delta):
    h_inv = np.linalg.inv(h)
    q, r, s = g @ h_inv @ g, g @ h_inv @ b, b @ h_inv @ b
    lam, nu, mode = solve_cpo_dual(q, r, s, c, delta)
    if mode == "recovery":
        return -math.sqrt(2 * delta / s) * h_inv @ b, mode
    return h_inv @ (g - nu * b) / lam, mode


def slsqp(direction, h, delta, extra_constraints=()):
    """Minimize direction @ x over the trust region (and the extra constraints), from several starts."""
    n = h.shape[0]
    constraints = [{"type": "ineq", "fun": lambda x: delta - 0.5 * x @ h @ x, "jac": lambda x: -h @ x}]
    constraints += list(extra_constraints)
    best = None
    rng = np.random.default_rng(0)
    for start in [np.zeros(n), *(0.01 * rng.normal(size=(4, n)))]:
        res = minimize(lambda x: direction @ x, start, jac=lambda x: direction, method="SLSQP", constraints=constraints,
                       options={"ftol": 1e-13, "maxiter": 1000})
        feasible = all(con["fun"](res.x) >= -1e-7 for con in constraints)
        if feasible and (best is None or res.fun < best.fun):
            best = res
    return best


def test_dual_matches_slsqp_on_random_instances_in_every_mode():
    rng = np.random.default_rng(42)
    modes = {"recovery": 0, "violating": 0, "feasible": 0, "unconstrained": 0}
    for _ in range(300):
        h, g, b, c, delta = random_instance(rng)
        x, mode = cpo_step(h, g, b, c, delta)
        modes[mode] += 1
        # the step always lies in the trust region
        assert 0.5 * x @ h @ x <= delta * (1 + 1e-6)
        if mode == "recovery":
            # the problem is infeasible: the step must minimize the cost's linearization instead
            ref = slsqp(b, h, delta)
            assert c + b @ x > 0  # really infeasible: even the best step cannot reach the plane
            assert b @ x == pytest.approx(ref.fun, rel=1e-4, abs=1e-7)
            continue
        lin = {"type": "ineq", "fun": lambda y: -(c + b @ y), "jac": lambda y: -b}
        ref = slsqp(-g, h, delta, [lin])
        assert ref is not None
        assert c + b @ x <= 1e-6 * max(1.0, abs(c))  # linear constraint satisfied
        assert g @ x == pytest.approx(-ref.fun, rel=1e-4, abs=1e-7)  # same optimal value
        np.testing.assert_allclose(x, ref.x, rtol=1e-3, atol=1e-5)
    assert all(count >= 20 for count in modes.values()), modes


def test_nu_formula_sign_convention():
    # g and b aligned (r > 0), current policy violating: the multiplier must push against b
    lam, nu, mode = solve_cpo_dual(q=1.0, r=0.5, s=1.0, c=0.05, delta=0.01)
    assert mode == "violating"
    assert nu == pytest.approx(max(0.0, (lam * 0.05 + 0.5) / 1.0))
    assert nu > 0


def test_whole_trust_region_feasible_gives_trpo_step():
    lam, nu, mode = solve_cpo_dual(q=2.0, r=0.3, s=1.0, c=-1.0, delta=0.01)
    assert mode == "unconstrained" and nu == 0.0
    assert lam == pytest.approx(math.sqrt(2.0 / (2 * 0.01)))  # TRPO's step length


def test_infeasible_problem_is_recovery():
    _, _, mode = solve_cpo_dual(q=1.0, r=0.1, s=1.0, c=1.0, delta=0.01)  # c^2/s = 1 > 2 delta
    assert mode == "recovery"


def test_line_search_acceptance_rules():
    # feasible: reward must improve and cost may rise by at most -c
    assert accept_cpo_step("feasible", c=-0.5, surrogate_gain=0.1, cost_change=0.4)
    assert not accept_cpo_step("feasible", c=-0.5, surrogate_gain=0.1, cost_change=0.6)
    assert not accept_cpo_step("feasible", c=-0.5, surrogate_gain=-0.1, cost_change=0.0)
    # violating (c > 0): cost must not rise; reward need not improve
    assert accept_cpo_step("violating", c=0.5, surrogate_gain=-0.1, cost_change=-0.2)
    assert not accept_cpo_step("violating", c=0.5, surrogate_gain=0.3, cost_change=0.01)
    # recovery: the cost may not rise; a non-increase counts, as the released code's lin <= prev_lin
    assert accept_cpo_step("recovery", c=2.0, surrogate_gain=-1.0, cost_change=-0.01)
    assert accept_cpo_step("recovery", c=2.0, surrogate_gain=1.0, cost_change=0.0)
    assert not accept_cpo_step("recovery", c=2.0, surrogate_gain=1.0, cost_change=1e-6)


def test_dual_stays_finite_when_cg_error_makes_q_minus_r2_over_s_negative():
    # numbers from a real point_circle update: q - r^2/s = -3.6e-4 (Cauchy-Schwarz broken by CG error)
    lam, nu, mode = solve_cpo_dual(q=0.03151, r=11.31, s=4013.0, c=1.359, delta=0.01)
    assert mode == "violating" and math.isfinite(lam) and lam > 0 and math.isfinite(nu) and nu >= 0


def test_steps_outside_the_trust_region_are_scaled_back_onto_it():
    import torch

    from algorithms.cpo import CPO

    algo = CPO(obs_dim=1, act_dim=1, cost_limit=1.0, max_kl=0.01)
    h = torch.diag(torch.tensor([2.0, 0.5, 1.0]))
    step, scale = algo.clip_to_trust_region(torch.tensor([100.0, -50.0, 3.0]), lambda v: h @ v)
    assert 0 < scale < 1 and float(0.5 * step @ h @ step) == pytest.approx(0.01, rel=1e-6)
    inside = torch.tensor([0.01, 0.0, 0.0])
    same, scale = algo.clip_to_trust_region(inside, lambda v: h @ v)
    assert scale == 1.0 and torch.equal(same, inside)
