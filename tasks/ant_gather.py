"""Ant-Gather: the ant collects 8 apples and avoids 8 bombs in a walled arena; falling ends it."""

from __future__ import annotations

import math

from tasks.gather_task import GatherTask
from tasks.legged_robot import LeggedRobot
from tasks.registry import TaskSpec, register


class AntGather(GatherTask):
    """Observation: qpos (15), qvel (14), torso COM (3), 10 apple bins, 10 bomb bins: 52 numbers.

    As in the released code the reward is the gather reward only (no alive bonus, control or
    contact cost) and a fall gives ``fall_reward`` and ends the episode.
    """

    def __init__(
        self,
        n_apples: int = 8,
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
        fall_reward: float = -10.0,
        timestep: float = 0.02,
        frame_skip: int = 1,
        contact_solimp: str = "0.8 0.8 0.01",
        contact_solref: str = "0.02 1",
        torque_actions: bool = False,
        healthy_z_min: float = 0.2,
        healthy_z_max: float = 1.0,
        reset_noise_scale: float = 0.01,
        reset_velocity_noise_scale: float = 0.1,
        render_mode: str | None = None,
    ) -> None:
        robot = LeggedRobot(
            "ant.xml", frame_skip, alive_bonus=0.0, ctrl_cost_weight=0.0, contact_cost_weight=0.0,
            healthy_z_min=healthy_z_min, healthy_z_max=healthy_z_max,
            reset_noise_scale=reset_noise_scale, reset_velocity_noise_scale=reset_velocity_noise_scale,
            observe_contact_forces=False, timestep=timestep, contact_solimp=contact_solimp,
            contact_solref=contact_solref, torque_actions=torque_actions,
        )
        super().__init__(robot, n_apples, n_bombs, activity_range, robot_object_spacing, catch_range,
                         n_bins, sensor_range, sensor_span, apple_reward, bomb_cost, bomb_reward_penalty,
                         fall_reward, render_mode=render_mode)


register(TaskSpec(
    name="ant_gather", gym_id="safebench/AntGather-v0", entry_point=AntGather, robot="ant",
    horizon=500, cost_limit=0.2, batch_size=100_000, cost_gae_lambda=0.5,
))
