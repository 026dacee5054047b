"""Gather with any robot: collect green apples (+reward), avoid red bombs (+cost), inside four walls."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from tasks.gather import (
    APPLE,
    HIDDEN_Z,
    OBJECT_RADIUS,
    GatherObject,
    objects_xml,
    place_objects,
    sensor_readings,
    split_caught,
    walls_xml,
)
from tasks.legged_robot import LeggedRobot, advance_many
from tasks.many_steps import ManySteps
from tasks.mujoco_task import MujocoTask, StepResult
from tasks.robot import Robot

OVERVIEW = {"distance": 19.0, "elevation": -65.0, "azimuth": 90.0, "lookat": (0.0, -1.0, 0.0)}


class GatherTask(MujocoTask):
    """Observation: the robot's own observation, then n_bins apple bins, then n_bins bomb bins.

    Each step: the robot moves; if it fell, reward ``fall_reward`` and the episode ends; otherwise
    every object within catch_range is collected (apple: +apple_reward; bomb: cost bomb_cost and
    reward -bomb_reward_penalty). The episode ends when no object is left. ``info["apples"]`` and
    ``info["bombs"]`` count the objects collected so far in this episode.
    """

    def __init__(self, robot: Robot, n_apples: int, n_bombs: int, activity_range: float,
                 robot_object_spacing: float, catch_range: float, n_bins: int, sensor_range: float,
                 sensor_span: float, apple_reward: float, bomb_cost: float, bomb_reward_penalty: float,
                 fall_reward: float, render_mode: str | None = None) -> None:
        self.robot = robot
        self.n_apples, self.n_bombs = int(n_apples), int(n_bombs)
        self.activity_range, self.robot_object_spacing = activity_range, robot_object_spacing
        self.catch_range, self.n_bins = catch_range, int(n_bins)
        self.sensor_range, self.sensor_span = sensor_range, sensor_span
        self.apple_reward, self.bomb_cost = apple_reward, bomb_cost
        self.bomb_reward_penalty, self.fall_reward = bomb_reward_penalty, fall_reward
        xml = robot.model_xml(walls_xml(activity_range) + "\n" + objects_xml(self.n_apples, self.n_bombs))
        super().__init__(xml, frame_skip=robot.frame_skip, render_mode=render_mode, camera=OVERVIEW)
        robot.attach(self.model, self.data)
        self.action_space = robot.action_space
        size = robot.observation_size + 2 * self.n_bins
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(size,), dtype=np.float64)
        count = self.n_apples + self.n_bombs
        self._mocap = [int(self.model.body_mocapid[self.body_id(f"object{i}")]) for i in range(count)]
        self.objects: list[GatherObject] = []  # the objects not yet collected
        self.apples = self.bombs = 0

    def observation(self) -> np.ndarray:
        robot = self.robot
        x, y = robot.com_xy().tolist()
        return np.concatenate((robot.observation(), self._readings(x, y, robot.heading())))

    def _readings(self, x: float, y: float, heading: float) -> np.ndarray:
        """The apple and bomb bins seen from (x, y, heading): shared by ``step`` and ``step_many``."""
        return sensor_readings(self.objects, x, y, heading, self.n_bins, self.sensor_range, self.sensor_span)

    def reset_model(self) -> np.ndarray:
        self.robot.reset(self.np_random)
        self.objects = place_objects(self.np_random, self.n_apples, self.n_bombs, self.activity_range,
                                     self.robot_object_spacing)
        self.apples = self.bombs = 0
        for obj in self.objects:
            self.data.mocap_pos[self._mocap[obj.slot]] = (obj.x, obj.y, OBJECT_RADIUS)
        mujoco.mj_kinematics(self.model, self.data)  # place the object geoms for rendering
        return self.observation()

    def reset_info(self) -> dict[str, Any]:
        return {"apples": 0, "bombs": 0}

    def step(self, action: np.ndarray) -> StepResult:
        self.robot.advance(action)
        if self.robot.fallen():
            info = {"cost": 0.0, "apples": self.apples, "bombs": self.bombs}
            return self.observation(), float(self.fall_reward), True, False, info
        x, y = self.robot.com_xy().tolist()
        reward, cost = self._collect(x, y)
        info = {"cost": cost, "apples": self.apples, "bombs": self.bombs}
        return self.observation(), reward, not self.objects, False, info

    def _collect(self, x: float, y: float) -> tuple[float, float]:
        """(reward, cost) of collecting what lies within catch_range of (x, y): one rule for both paths."""
        got, self.objects = split_caught(self.objects, x, y, self.catch_range)
        if not got:
            return 0.0, 0.0
        apples = sum(obj.kind == APPLE for obj in got)
        bombs = len(got) - apples
        self.apples += apples
        self.bombs += bombs
        for obj in got:
            self.data.mocap_pos[self._mocap[obj.slot], 2] = HIDDEN_Z
        mujoco.mj_kinematics(self.model, self.data)  # rare: keep rendered objects current
        reward = self.apple_reward * apples - self.bomb_reward_penalty * bombs
        return float(reward), float(self.bomb_cost * bombs)

    @property
    def can_step_many(self) -> bool:
        """The fast path covers the legged robots (ant); the point robot has no ``advance_many``."""
        return isinstance(self.robot, LeggedRobot)

    @staticmethod
    def step_many(tasks: Sequence[GatherTask], actions: np.ndarray) -> ManySteps:
        """``step`` of many environments of one task at once (``tasks/many_steps.py``).

        The physics in one ``advance_many``; the gather rules per env as in ``step``, read at the COM
        and yaw after the step (hiding collected objects moves no robot body, so ``step`` sees the same)."""
        robot = advance_many([task.robot for task in tasks], actions, heading=True)
        n = len(tasks)
        rewards, costs, terminated = np.zeros(n), np.zeros(n), np.zeros(n, bool)
        readings = []
        steps = zip(tasks, robot.com_after.tolist(), robot.heading, robot.fallen.tolist())
        for i, (task, (x, y), heading, fallen) in enumerate(steps):
            if fallen:
                rewards[i], terminated[i] = float(task.fall_reward), True
            else:
                rewards[i], costs[i] = task._collect(x, y)
                terminated[i] = not task.objects
            readings.append(task._readings(x, y, heading))
        obs = np.concatenate((robot.observation, np.array(readings)), axis=1)
        return ManySteps(obs, rewards, costs, terminated)
