"""PID-Lagrangian's controller on hand-computed sequences."""

import pytest

from algorithms.pid_lagrangian import PIDGains, PIDState, pid_update


def run(costs, limit, gains, state=None):
    state = state or PIDState()
    out = []
    for cost in costs:
        state, lam = pid_update(state, cost, limit, gains)
        out.append(lam)
    return state, out


def test_plain_pid_without_smoothing():
    # Kp delta + I + Kd max(0, J - J_prev), I <- max(0, I + Ki delta), J_prev starting at 0
    gains = PIDGains(kp=1.0, ki=0.5, kd=2.0, d_delay=1)
    state, lams = run([14.0, 16.0, 9.0, 5.0], limit=10.0, gains=gains)
    # 4 + 2 + 2*14 | 6 + 5 + 2*2 | -1 + 4.5 + 0 | max(0, -5 + 2 + 0)
    assert lams == pytest.approx([34.0, 15.0, 3.5, 0.0])
    assert state.integral == pytest.approx(2.0)


def test_ema_smoothing_and_derivative_delay():
    gains = PIDGains(kp=1.0, ki=0.0, kd=1.0, d_delay=2, p_ema_alpha=0.5, d_ema_alpha=0.5)
    state, lams = run([4.0, 4.0, 4.0], limit=0.0, gains=gains)
    # P: 2, 3, 3.5; smoothed cost C: 2, 3, 3.5; D = C - C two updates ago (0, 0, 2): 2, 3, 1.5
    assert lams == pytest.approx([4.0, 6.0, 5.0])
    assert state.cost_history == pytest.approx((3.0, 3.5))


def test_integral_does_not_wind_below_zero_and_lambda_is_capped():
    gains = PIDGains(kp=0.0, ki=1.0, kd=0.0, lambda_max=3.0)
    state, lams = run([0.0, 0.0, 12.0, 20.0], limit=5.0, gains=gains)
    assert lams == pytest.approx([0.0, 0.0, 3.0, 3.0])  # I: 0, 0, 7, 22; lambda capped at 3
    assert state.integral == pytest.approx(22.0)


def test_derivative_ignores_falling_cost():
    gains = PIDGains(kp=0.0, ki=0.0, kd=10.0)
    _, lams = run([8.0, 3.0, 4.0], limit=100.0, gains=gains)
    assert lams == pytest.approx([80.0, 0.0, 10.0])
