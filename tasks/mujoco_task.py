"""Base class of every safebench MuJoCo task: a gymnasium Env that also reports a cost."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from tasks.gym_assets import compile_model

# What every task's ``step`` returns: gymnasium's (observation, reward, terminated, truncated, info), with
# the step's constraint cost in info["cost"]
StepResult = tuple[np.ndarray, float, bool, bool, dict[str, Any]]


class MujocoTask(gym.Env):
    """Builds the model from an XML string, steps it, and renders ``rgb_array`` frames offscreen.

    Subclasses implement ``step`` and ``reset_model`` and put ``cost`` (a float >= 0) in every
    step's ``info``. Rendering is created lazily so that training never touches OpenGL.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(
        self,
        xml: str,
        frame_skip: int,
        render_mode: str | None = None,
        width: int = 480,
        height: int = 480,
        camera: dict[str, Any] | None = None,
    ) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.model = compile_model(xml)
        self.model.vis.global_.offwidth = max(self.model.vis.global_.offwidth, width)
        self.model.vis.global_.offheight = max(self.model.vis.global_.offheight, height)
        self.data = mujoco.MjData(self.model)
        self.frame_skip = frame_skip
        self.init_qpos = self.data.qpos.copy()
        self.init_qvel = self.data.qvel.copy()
        self.render_mode = render_mode
        self.width, self.height = width, height
        self._camera_config = camera or {"distance": 20.0, "elevation": -60.0, "azimuth": 90.0, "lookat": (0, 0, 0)}
        self._renderer: mujoco.Renderer | None = None
        self.metadata = dict(self.metadata, render_fps=int(round(1.0 / self.dt)))

    @property
    def dt(self) -> float:
        """Simulated seconds per environment step."""
        return float(self.model.opt.timestep * self.frame_skip)

    def body_id(self, name: str) -> int:
        return mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, name)

    def set_state(self, qpos: np.ndarray, qvel: np.ndarray) -> None:
        """Write the joint state and recompute derived quantities (positions, COM)."""
        self.data.qpos[:] = qpos
        self.data.qvel[:] = qvel
        mujoco.mj_forward(self.model, self.data)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        mujoco.mj_resetData(self.model, self.data)
        return self.reset_model(), self.reset_info()

    def reset_model(self) -> np.ndarray:
        raise NotImplementedError

    def reset_info(self) -> dict[str, Any]:
        return {}

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, self.height, self.width)
        camera = mujoco.MjvCamera()
        mujoco.mjv_defaultFreeCamera(self.model, camera)
        for key, value in self._camera_config.items():
            if key == "lookat":
                camera.lookat[:] = value
            else:
                setattr(camera, key, value)
        self._renderer.update_scene(self.data, camera=camera)
        self.decorate_scene(self._renderer.scene)
        return self._renderer.render()

    def decorate_scene(self, scene: mujoco.MjvScene) -> None:
        """Add drawing-only geoms to a frame (target circles...): they never enter the physics."""

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
