"""Shared by the task tests: the task family, and placing a robot's centre of mass in flight."""

from __future__ import annotations

import numpy as np

PAPER_TASKS = ["point_circle", "ant_circle", "humanoid_circle", "point_gather", "ant_gather"]
VELOCITY_TASKS = ["half_cheetah_velocity", "hopper_velocity", "walker2d_velocity", "ant_velocity",
                  "humanoid_velocity", "swimmer_velocity"]
MULTI_CONSTRAINT_TASKS = ["point_circle_speed"]
ALL_TASKS = PAPER_TASKS + VELOCITY_TASKS + MULTI_CONSTRAINT_TASKS

# name: (gymnasium id, observation size, action size), as documented in tasks/README.md
LAYOUT = {
    "point_circle": ("safebench/PointCircle-v0", 9, 2),
    "ant_circle": ("safebench/AntCircle-v0", 32, 8),
    "humanoid_circle": ("safebench/HumanoidCircle-v0", 134, 17),
    "point_gather": ("safebench/PointGather-v0", 29, 2),
    "ant_gather": ("safebench/AntGather-v0", 52, 8),
    "half_cheetah_velocity": ("safebench/HalfCheetahVelocity-v0", 17, 6),
    "hopper_velocity": ("safebench/HopperVelocity-v0", 11, 3),
    "walker2d_velocity": ("safebench/Walker2dVelocity-v0", 17, 6),
    "ant_velocity": ("safebench/AntVelocity-v0", 105, 8),
    "humanoid_velocity": ("safebench/HumanoidVelocity-v0", 348, 17),
    "swimmer_velocity": ("safebench/SwimmerVelocity-v0", 8, 2),
    "point_circle_speed": ("safebench/PointCircleSpeed-v0", 9, 2),
}


def launch(env, qpos: np.ndarray, xy: tuple[float, float], velocity: tuple[float, float]) -> None:
    """Put a free-floating robot's torso COM at ``xy`` moving rigidly at ``velocity`` (no spin)."""
    qvel = np.zeros(env.model.nv)
    qvel[:2] = velocity
    env.set_state(qpos, qvel)
    qpos = qpos.copy()
    qpos[:2] += np.asarray(xy) - env.robot.com_xy()
    env.set_state(qpos, qvel)
