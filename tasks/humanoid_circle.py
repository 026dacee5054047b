"""Humanoid-Circle: the humanoid runs around a circle of radius 10 while staying inside |x| <= 2.5."""

from __future__ import annotations

from tasks.circle_task import CircleTask
from tasks.legged_robot import LeggedRobot
from tasks.registry import TaskSpec, register


class HumanoidCircle(CircleTask):
    """Observation: qpos (24), qvel (23), clipped cfrc_ext (14 x 6), torso COM (3): 134 numbers,
    the released code's layout (its simple humanoid also observed clipped contact forces)."""

    def __init__(
        self,
        circle_radius: float = 10.0,
        x_limit: float = 2.5,
        frame_skip: int = 3,
        alive_bonus: float = 0.2,
        ctrl_cost_weight: float = 0.0005,
        contact_cost_weight: float = 0.000005,
        healthy_z_min: float = 0.8,
        healthy_z_max: float = 2.0,
        reset_noise_scale: float = 0.01,
        reset_velocity_noise_scale: float = 0.1,
        torque_actions: bool = False,
        cost_timing: str = "before",
        render_mode: str | None = None,
    ) -> None:
        robot = LeggedRobot(
            "humanoid.xml", frame_skip, alive_bonus, ctrl_cost_weight, contact_cost_weight,
            healthy_z_min, healthy_z_max, reset_noise_scale, reset_velocity_noise_scale,
            observe_contact_forces=True, torque_actions=torque_actions,
        )
        super().__init__(robot, circle_radius, x_limit, cost_timing, render_mode=render_mode)


register(TaskSpec(
    name="humanoid_circle", gym_id="safebench/HumanoidCircle-v0", entry_point=HumanoidCircle,
    robot="humanoid", horizon=1000, cost_limit=10.0, batch_size=50_000, cost_gae_lambda=0.5,
))
