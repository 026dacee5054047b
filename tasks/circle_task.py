"""Circle with a physical robot: run counter-clockwise around a circle, stay inside |x| <= x_limit."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from tasks.circle import check_cost_timing, circle_cost, circle_reward, draw_circle, limit_panels_xml
from tasks.legged_robot import LeggedRobot, advance_many
from tasks.many_steps import ManySteps
from tasks.mujoco_task import MujocoTask, StepResult
from tasks.robot import Robot

OBLIQUE = {"distance": 26.0, "elevation": -35.0, "azimuth": 135.0, "lookat": (0.0, 0.0, 0.0)}


class CircleTask(MujocoTask):
    """Reward: circle reward of the torso COM (velocity = COM displacement / dt) plus the robot's
    usual terms; cost 1[|x| >= x_limit] on the COM before the action (``cost_timing="before"``, as
    released) or after it (``"after"``); terminated when the robot falls."""

    def __init__(self, robot: Robot, circle_radius: float, x_limit: float, cost_timing: str = "before",
                 render_mode: str | None = None) -> None:
        self.robot, self.circle_radius, self.x_limit = robot, circle_radius, x_limit
        self.cost_timing = check_cost_timing(cost_timing)
        xml = robot.model_xml(limit_panels_xml(x_limit, half_length=circle_radius + 5.0))
        super().__init__(xml, frame_skip=robot.frame_skip, render_mode=render_mode, camera=OBLIQUE)
        robot.attach(self.model, self.data)
        self.action_space = robot.action_space
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(robot.observation_size,),
                                                dtype=np.float64)

    def decorate_scene(self, scene: mujoco.MjvScene) -> None:
        draw_circle(scene, self.circle_radius)

    def reset_model(self) -> np.ndarray:
        self.robot.reset(self.np_random)
        return self.robot.observation()

    def reset_info(self) -> dict[str, Any]:
        x, y = self.robot.com_xy()
        return {"x": float(x), "y": float(y)}

    def step(self, action: np.ndarray) -> StepResult:
        robot = self.robot
        before = robot.com_xy()
        robot.advance(action)
        after = robot.com_xy()
        x, y = float(after[0]), float(after[1])
        vx, vy = (after - before) / self.dt
        reward = circle_reward(x, y, vx, vy, self.circle_radius) + robot.usual_reward()
        cost = circle_cost(float(before[0]) if self.cost_timing == "before" else x, self.x_limit)
        info = {"cost": cost, "x": x, "y": y}
        return robot.observation(), reward, robot.fallen(), False, info

    @property
    def can_step_many(self) -> bool:
        """The fast path covers the legged robots (ant, humanoid)."""
        return isinstance(self.robot, LeggedRobot)

    @staticmethod
    def step_many(tasks: Sequence[CircleTask], actions: np.ndarray) -> ManySteps:
        """``step`` of many environments of one task at once (``tasks/many_steps.py``)."""
        first = tasks[0]
        robot = advance_many([task.robot for task in tasks], actions)
        x, y = robot.com_after[:, 0], robot.com_after[:, 1]
        vx, vy = ((robot.com_after - robot.com_before) / first.dt).T
        distance = np.array([math.hypot(a, b) for a, b in robot.com_after.tolist()])  # np.hypot rounds differently
        reward = (-y * vx + x * vy) / (1.0 + np.abs(distance - first.circle_radius)) + robot.usual_reward
        cost_x = robot.com_before[:, 0] if first.cost_timing == "before" else x
        cost = (np.abs(cost_x) >= first.x_limit).astype(float)
        return ManySteps(robot.observation, reward, cost, robot.fallen)
