"""Point-Circle with a speed limit: a task with two simultaneous constraints.

Same robot, reward and position constraint as Point-Circle; a second cost counts the steps on
which the robot moves farther than ``speed_limit`` (its displacement per step), so the policy must
stay in the strip *and* not rush round the circle. ``info["costs"]`` = [position, speed];
``info["cost"]`` is their sum (what a single-constraint tool would see).
"""

from __future__ import annotations

import math

import numpy as np

from tasks.mujoco_task import StepResult
from tasks.point_circle import PointCircle
from tasks.registry import TaskSpec, register


class PointCircleSpeed(PointCircle):
    """Point-Circle whose step info also carries the speed cost 1[|displacement| > speed_limit]."""

    def __init__(
        self,
        circle_radius: float = 15.0,
        x_limit: float = 2.5,
        speed_limit: float = 0.6,
        arena_size: float = 40.0,
        move_scale: float = 1.0,
        turn_scale: float = 1.0,
        reset_noise_scale: float = 0.01,
        reset_velocity_noise_scale: float = 0.1,
        random_end: bool = True,
        end_step_low: int = 50,
        end_step_high: int = 65,
        cost_timing: str = "before",
        render_mode: str | None = None,
    ) -> None:
        self.speed_limit = speed_limit
        super().__init__(circle_radius, x_limit, arena_size, move_scale, turn_scale, reset_noise_scale,
                         reset_velocity_noise_scale, random_end, end_step_low, end_step_high, cost_timing,
                         render_mode)

    def step(self, action: np.ndarray) -> StepResult:
        x0, y0 = float(self.data.qpos[0]), float(self.data.qpos[1])
        obs, reward, terminated, truncated, info = super().step(action)
        speed = math.hypot(info["x"] - x0, info["y"] - y0)
        speed_cost = float(speed > self.speed_limit)
        costs = [info["cost"], speed_cost]
        return obs, reward, terminated, truncated, info | {"costs": costs, "cost": sum(costs), "speed": speed}


register(TaskSpec(
    name="point_circle_speed", gym_id="safebench/PointCircleSpeed-v0", entry_point=PointCircleSpeed, robot="point",
    horizon=65, cost_limit=(5.0, 15.0), cost_names=("position", "speed"), batch_size=50_000, cost_gae_lambda=1.0,
))
