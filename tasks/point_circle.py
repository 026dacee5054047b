"""Point-Circle: run counter-clockwise around a circle of radius 15 while staying in |x| <= 2.5."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from tasks.circle import check_cost_timing, circle_cost, circle_reward, draw_circle, limit_panels_xml
from tasks.mujoco_task import MujocoTask, StepResult
from tasks.point_robot import point_move, point_xml
from tasks.registry import TaskSpec, register


class PointCircle(MujocoTask):
    """Observation: qpos (x, y, heading), qvel (its reset noise, kinematic body), torso COM (3): 9.

    As released: the reward reads qpos and the step's displacement; the cost reads the torso COM
    (observation[-3]) before the action; the episode ends as a terminal after a step count drawn
    at reset, 1 + randint(end_step_low, end_step_high) (``random_end=False``: only the horizon ends it).
    """

    def __init__(
        self,
        circle_radius: float = 15.0,
        x_limit: float = 2.5,
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
        self.circle_radius, self.x_limit = circle_radius, x_limit
        self.arena_size, self.move_scale, self.turn_scale = arena_size, move_scale, turn_scale
        self.reset_noise_scale, self.reset_velocity_noise_scale = reset_noise_scale, reset_velocity_noise_scale
        self.end_step_range = check_end_range(end_step_low, end_step_high) if random_end else None
        self.cost_timing = check_cost_timing(cost_timing)
        self._step_count, self._last_step = 0, None
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
        qpos_noise = self.np_random.normal(scale=self.reset_noise_scale, size=self.model.nq)
        qvel = self.np_random.normal(scale=self.reset_velocity_noise_scale, size=self.model.nv)
        self.set_state(self.init_qpos + qpos_noise, qvel)  # qvel stays: the body is moved by setting qpos
        self._step_count = 0
        if self.end_step_range is not None:  # the released np.random.randint(low, high): high excluded
            self._last_step = int(self.np_random.integers(*self.end_step_range))
        return self.observation()

    def reset_info(self) -> dict[str, Any]:
        return {"x": float(self.data.qpos[0]), "y": float(self.data.qpos[1])}

    def step(self, action: np.ndarray) -> StepResult:
        action = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        com_x_before = float(self.data.subtree_com[self._torso, 0])
        qpos = self.data.qpos.copy()
        dx, dy = point_move(qpos, action, self.move_scale, self.turn_scale, self.arena_size)
        self.data.qpos[:] = qpos
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_comPos(self.model, self.data)
        x, y = float(qpos[0]), float(qpos[1])
        reward = circle_reward(x, y, dx, dy, self.circle_radius)
        cost_x = com_x_before if self.cost_timing == "before" else float(self.data.subtree_com[self._torso, 0])
        self._step_count += 1
        terminated = self._last_step is not None and self._step_count > self._last_step
        return self.observation(), reward, terminated, False, {"cost": circle_cost(cost_x, self.x_limit),
                                                                "x": x, "y": y}


def check_end_range(low: int, high: int) -> tuple[int, int]:
    """[low, high): the released ``max_path_length_range``, from which the last step index is drawn."""
    if not 0 <= low < high:
        raise ValueError(f"need 0 <= end_step_low < end_step_high, got {low}, {high}")
    return int(low), int(high)


register(TaskSpec(
    name="point_circle", gym_id="safebench/PointCircle-v0", entry_point=PointCircle, robot="point",
    horizon=65, cost_limit=5.0, batch_size=50_000, cost_gae_lambda=1.0,
))
