"""Pendulum-v1 with a speed limit: swing up and balance while |angular velocity| stays <= speed_limit.

An example of ``register_gymnasium_task``: a stock gymnasium environment plus a cost function.
The swing-up needs speed, so the constraint binds: cost 1 per step with |theta_dot| > speed_limit.
"""

from __future__ import annotations

import numpy as np

from tasks.external import register_gymnasium_task


def speed_cost(observation: np.ndarray, action: np.ndarray, reward: float, info: dict, speed_limit: float) -> float:
    """1[|theta_dot| > speed_limit]; Pendulum's observation is (cos theta, sin theta, theta_dot)."""
    return float(abs(observation[2]) > speed_limit)


register_gymnasium_task(
    "pendulum_speed", "Pendulum-v1", horizon=200, cost_limit=20.0, batch_size=4000, cost_gae_lambda=0.97,
    cost_fn=speed_cost, cost_params={"speed_limit": 4.0}, g=10.0,
)
