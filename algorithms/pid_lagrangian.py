"""PID-Lagrangian (Stooke, Achiam & Abbeel 2020, Algorithm 2 with the EMA smoothing of their code).

The multiplier is the output of a PID controller on the constraint violation instead of an
integral alone (which is all gradient ascent is): the proportional and derivative terms react to
J_C before the integral winds up, which damps the cost oscillations of plain Lagrangian methods.
    delta = J_C - d;  I <- max(0, I + Ki delta);  P <- EMA_p(delta);  C <- EMA_d(J_C)
    lambda = max(0, Kp P + I + Kd max(0, C - C_{d_delay updates ago}))
The policy step is PPO-Lagrangian's (``PenalizedPPO``); OmniSafe's CPPOPID defaults. With several
constraints, one independent controller per constraint.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from algorithms.core.actor_critic import UpdateData
from algorithms.core.penalized_ppo import PenalizedPPO


@dataclass(frozen=True)
class PIDGains:
    """The controller's tuning."""

    kp: float
    ki: float
    kd: float
    d_delay: int = 1  # the derivative compares with the smoothed cost this many updates ago
    p_ema_alpha: float = 0.0  # weight of the past in the EMA of the proportional error
    d_ema_alpha: float = 0.0  # weight of the past in the EMA of the cost for the derivative
    lambda_max: float | None = None


@dataclass(frozen=True)
class PIDState:
    """What the controller remembers between updates."""

    integral: float = 0.0
    smoothed_delta: float = 0.0
    smoothed_cost: float = 0.0
    cost_history: tuple[float, ...] = (0.0,)  # smoothed costs of the last d_delay updates, oldest first


def pid_update(state: PIDState, episode_cost: float, cost_limit: float, gains: PIDGains) -> tuple[PIDState, float]:
    """One controller step: the new state and the multiplier for this update."""
    delta = episode_cost - cost_limit
    integral = max(0.0, state.integral + gains.ki * delta)
    smoothed_delta = gains.p_ema_alpha * state.smoothed_delta + (1 - gains.p_ema_alpha) * delta
    smoothed_cost = gains.d_ema_alpha * state.smoothed_cost + (1 - gains.d_ema_alpha) * episode_cost
    derivative = max(0.0, smoothed_cost - state.cost_history[0])
    multiplier = max(0.0, gains.kp * smoothed_delta + integral + gains.kd * derivative)
    if gains.lambda_max is not None:
        multiplier = min(multiplier, gains.lambda_max)
    history = (*state.cost_history, smoothed_cost)[-max(1, gains.d_delay):]
    return replace(state, integral=integral, smoothed_delta=smoothed_delta, smoothed_cost=smoothed_cost,
                   cost_history=history), multiplier


class PIDLagrangian(PenalizedPPO):
    """PPO on the Lagrangian with the multiplier from ``pid_update``."""

    def __init__(self, *args, pid_kp: float = 0.1, pid_ki: float = 0.01, pid_kd: float = 0.01, pid_d_delay: int = 10,
                 pid_delta_p_ema_alpha: float = 0.95, pid_delta_d_ema_alpha: float = 0.95,
                 lambda_init: float = 0.001, lambda_max: float | None = None, **kwargs) -> None:
        super().__init__(*args, lambda_init=lambda_init, **kwargs)
        self.gains = PIDGains(pid_kp, pid_ki, pid_kd, int(pid_d_delay), pid_delta_p_ema_alpha, pid_delta_d_ema_alpha,
                              lambda_max)
        self.pids = [PIDState(integral=float(lambda_init)) for _ in range(self.num_constraints)]

    def next_multipliers(self, episode_costs: np.ndarray) -> np.ndarray:
        steps = [pid_update(pid, float(cost), float(limit), self.gains)
                 for pid, cost, limit in zip(self.pids, episode_costs, self.cost_limits, strict=True)]
        self.pids = [pid for pid, _ in steps]
        return np.array([multiplier for _, multiplier in steps])

    def policy_step(self, data: UpdateData) -> dict[str, float]:
        stats = super().policy_step(data)  # updates self.pids first
        return (stats | self.per_constraint("pid_integral", [pid.integral for pid in self.pids])
                | self.per_constraint("pid_proportional", [pid.smoothed_delta for pid in self.pids])
                | self.per_constraint("pid_smoothed_cost", [pid.smoothed_cost for pid in self.pids]))

    def state_dict(self) -> dict:
        return super().state_dict() | {"pids": [
            {"integral": pid.integral, "smoothed_delta": pid.smoothed_delta, "smoothed_cost": pid.smoothed_cost,
             "cost_history": list(pid.cost_history)} for pid in self.pids]}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.pids = [PIDState(saved["integral"], saved["smoothed_delta"], saved["smoothed_cost"],
                              tuple(saved["cost_history"])) for saved in state["pids"]]
