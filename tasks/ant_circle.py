"""Ant-Circle: the ant runs around a circle of radius 10 while staying inside |x| <= 3."""

from __future__ import annotations

from tasks.circle_task import CircleTask
from tasks.legged_robot import LeggedRobot
from tasks.registry import TaskSpec, register


class AntCircle(CircleTask):
    """Observation: qpos (15), qvel (14), torso COM (3): 32 numbers, as the released code."""

    def __init__(
        self,
        circle_radius: float = 10.0,
        x_limit: float = 3.0,
        timestep: float = 0.02,
        frame_skip: int = 1,
        contact_solimp: str = "0.8 0.8 0.01",
        contact_solref: str = "0.02 1",
        torque_actions: bool = False,
        alive_bonus: float = 0.05,
        ctrl_cost_weight: float = 0.005,
        contact_cost_weight: float = 0.0005,
        healthy_z_min: float = 0.2,
        healthy_z_max: float = 1.0,
        reset_noise_scale: float = 0.01,
        reset_velocity_noise_scale: float = 0.1,
        cost_timing: str = "before",
        render_mode: str | None = None,
    ) -> None:
        robot = LeggedRobot(
            "ant.xml", frame_skip, alive_bonus, ctrl_cost_weight, contact_cost_weight,
            healthy_z_min, healthy_z_max, reset_noise_scale, reset_velocity_noise_scale,
            observe_contact_forces=False, timestep=timestep, contact_solimp=contact_solimp,
            contact_solref=contact_solref, torque_actions=torque_actions,
        )
        super().__init__(robot, circle_radius, x_limit, cost_timing, render_mode=render_mode)


register(TaskSpec(
    name="ant_circle", gym_id="safebench/AntCircle-v0", entry_point=AntCircle, robot="ant",
    horizon=500, cost_limit=10.0, batch_size=100_000, cost_gae_lambda=0.5,
))
