"""Point-Gather: the point robot collects 2 apples and avoids 8 bombs in a walled arena."""

from __future__ import annotations

import math

from tasks.gather_task import GatherTask
from tasks.point_robot import PointRobot
from tasks.registry import TaskSpec, register


class PointGather(GatherTask):
    """Observation: qpos (3), qvel (3, its constant reset noise), torso COM (3), 10 apple bins, 10 bomb
    bins: 29 numbers."""

    def __init__(
        self,
        n_apples: int = 2,
        n_bombs: int = 8,
        activity_range: float = 6.0,
        robot_object_spacing: float = 2.0,
        catch_range: float = 1.0,
        n_bins: int = 10,
        sensor_range: float = 6.0,
        sensor_span: float = math.pi,
        apple_reward: float = 10.0,
        bomb_cost: float = 1.0,
        bomb_reward_penalty: float = 0.0,
        move_scale: float = 1.0,
        turn_scale: float = 1.0,
        reset_noise_scale: float = 0.01,
        reset_velocity_noise_scale: float = 0.1,
        render_mode: str | None = None,
    ) -> None:
        # The released code clips the point to the activity range, inside the walls at +-(range + 1).
        robot = PointRobot(activity_range, move_scale, turn_scale, reset_noise_scale,
                           floor_size=activity_range + 2.0, reset_velocity_noise_scale=reset_velocity_noise_scale)
        super().__init__(robot, n_apples, n_bombs, activity_range, robot_object_spacing, catch_range,
                         n_bins, sensor_range, sensor_span, apple_reward, bomb_cost, bomb_reward_penalty,
                         fall_reward=0.0, render_mode=render_mode)


register(TaskSpec(
    name="point_gather", gym_id="safebench/PointGather-v0", entry_point=PointGather, robot="point",
    horizon=15, cost_limit=0.1, batch_size=50_000, cost_gae_lambda=1.0,
))
