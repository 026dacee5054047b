"""What a task needs from the robot inside it, so that one task logic serves several robots."""

from __future__ import annotations

from typing import Protocol

import gymnasium as gym
import mujoco
import numpy as np


class Robot(Protocol):
    """A robot: its model text, one environment step of it, and the state a task reads from it.

    ``attach`` is called once the task has compiled the model; every other method reads or writes
    that model's ``MjData``. Positions returned after ``advance`` are those of the new state.
    """

    frame_skip: int
    # (qpos index of the torso height, lowest, highest) of a healthy robot; None: it never falls
    healthy_height: tuple[int, float, float] | None

    def model_xml(self, extra_world: str) -> str:
        """The robot's model with ``extra_world`` (panels, walls, objects) added to its world."""
        ...

    def attach(self, model: mujoco.MjModel, data: mujoco.MjData) -> None:
        """Bind to the compiled model (body ids, initial pose, action bounds)."""
        ...

    @property
    def action_space(self) -> gym.spaces.Box:
        ...

    @property
    def observation_size(self) -> int:
        ...

    def reset(self, rng: np.random.Generator) -> None:
        """Put the robot in its initial pose plus noise drawn from ``rng``."""
        ...

    def advance(self, action: np.ndarray) -> None:
        """Apply ``action`` for one environment step (``frame_skip`` physics steps)."""
        ...

    def observation(self) -> np.ndarray:
        """The robot's own observation (the released code's layout)."""
        ...

    def com_xy(self) -> np.ndarray:
        """Planar position of the torso subtree's centre of mass (a copy)."""
        ...

    def heading(self) -> float:
        """Yaw of the torso in radians (the direction the gather sensors are centred on)."""
        ...

    def fallen(self) -> bool:
        """True when the robot is outside its healthy range (the episode must end)."""
        ...

    def usual_reward(self) -> float:
        """The robot's own reward terms for the last step: alive bonus minus control and contact costs."""
        ...
