"""Point-Circle: run counter-clockwise around a circle of radius 15 while staying in |x| <= 2.5."""

from __future__ import annotations

import gymnasium as gym
import mujoco
import numpy as np

from tasks.circle import circle_cost, circle_reward, draw_circle, limit_panels_xml
from tasks.mujoco_task import MujocoTask
from tasks.point_robot import point_move, point_xml
from tasks.registry import TaskSpec, register


class PointCircle(MujocoTask):
    """Observation: qpos (x, y, heading), qvel (zero, kinematic body), torso COM (3): 9 numbers."""

    def __init__(
        self,
        circle_radius: float = 15.0,
        x_limit: float = 2.5,
        arena_size: float = 40.0,
        move_scale: float = 1.0,
        turn_scale: float = 1.0,
        reset_noise_scale: float = 0.01,
        render_mode: str | None = None,
    ) -> None:
        self.circle_radius, self.x_limit = circle_radius, x_limit
        self.arena_size, self.move_scale, self.turn_scale = arena_size, move_scale, turn_scale
        self.reset_noise_scale = reset_noise_scale
        camera = {"distance": 38.0, "elevation": -35.0, "azimuth": 135.0, "lookat": (0, 0, 0)}
        super().__init__(point_xml(limit_panels_xml(x_limit, half_length=arena_size)), frame_skip=1,
                         render_mode=render_mode, camera=camera)
        self._torso = self.body_id("torso")
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(9,), dtype=np.float64)

    def observation(self) -> np.ndarray:
        return np.concatenate([self.data.qpos, self.data.qvel, self.data.subtree_com[self._torso]])

    def decorate_scene(self, scene: mujoco.MjvScene) -> None:
        draw_circle(scene, self.circle_radius)

    def reset_model(self) -> np.ndarray:
        noise = self.np_random.normal(scale=self.reset_noise_scale, size=self.model.nq)
        self.set_state(self.init_qpos + noise, np.zeros(self.model.nv))
        return self.observation()

    def step(self, action):
        action = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        qpos = self.data.qpos.copy()
        dx, dy = point_move(qpos, action, self.move_scale, self.turn_scale, self.arena_size)
        self.data.qpos[:] = qpos
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_comPos(self.model, self.data)
        x, y = float(qpos[0]), float(qpos[1])
        reward = circle_reward(x, y, dx, dy, self.circle_radius)
        cost = circle_cost(x, self.x_limit)
        return self.observation(), reward, False, False, {"cost": cost, "x": x, "y": y}


register(TaskSpec(
    name="point_circle", gym_id="safebench/PointCircle-v0", entry_point=PointCircle, robot="point",
    horizon=65, cost_limit=5.0, batch_size=50_000, cost_gae_lambda=1.0,
))
