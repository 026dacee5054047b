"""The point robot of the paper's Point tasks: a planar body moved kinematically.

Each step: heading += turn_scale * a[1], then the body moves move_scale * a[0] along its heading;
the position is clipped to the arena. As in the released code, the position is set directly
(no dynamics), so MuJoCo's qvel keeps its reset value (rllab's reset noise 0.1 N(0, 1)) all episode
and the step's velocity is its displacement.
"""

from __future__ import annotations

import math

import gymnasium as gym
import mujoco
import numpy as np

POINT_XML = """
<mujoco model="point">
  <compiler angle="degree" coordinate="local" inertiafromgeom="true"/>
  <option integrator="RK4" timestep="0.02"/>
  <visual><global offwidth="640" offheight="640"/></visual>
  <asset>
    <texture builtin="checker" height="100" name="grid" rgb1="0.25 0.25 0.25" rgb2="0.4 0.4 0.4" type="2d" width="100"/>
    <material name="floor" texrepeat="20 20" texture="grid"/>
  </asset>
  <worldbody>
    <light directional="true" pos="0 0 10" dir="0 0 -1" diffuse="0.9 0.9 0.9"/>
    <geom name="floor" type="plane" material="floor" pos="0 0 0" size="{floor} {floor} 0.1" conaffinity="1"/>
    {extra_world}
    <body name="torso" pos="0 0 0">
      <geom name="pointbody" type="sphere" pos="0 0 0.5" size="0.5" rgba="0.9 0.6 0.2 1" contype="0" conaffinity="0"/>
      <geom name="pointarrow" type="box" pos="0.6 0 0.5" size="0.5 0.1 0.1" rgba="0.9 0.6 0.2 1" contype="0" conaffinity="0"/>
      <joint name="ballx" type="slide" axis="1 0 0" pos="0 0 0" limited="false"/>
      <joint name="bally" type="slide" axis="0 1 0" pos="0 0 0" limited="false"/>
      <joint name="rot" type="hinge" axis="0 0 1" pos="0 0 0" limited="false"/>
    </body>
  </worldbody>
</mujoco>
"""


def point_xml(extra_world: str = "", floor_size: float = 40.0) -> str:
    """The point robot's model, with extra world geoms (panels, walls, objects)."""
    return POINT_XML.replace("{extra_world}", extra_world).replace("{floor}", str(floor_size))


def point_move(qpos: np.ndarray, action: np.ndarray, move_scale: float, turn_scale: float,
               arena: float) -> tuple[float, float]:
    """Apply one kinematic step to qpos = (x, y, heading) in place; return the displacement."""
    x_old, y_old, heading = qpos[:3].tolist()
    heading += turn_scale * float(action[1])
    forward = float(action[0])
    x = min(max(x_old + math.cos(heading) * move_scale * forward, -arena), arena)
    y = min(max(y_old + math.sin(heading) * move_scale * forward, -arena), arena)
    qpos[:3] = (x, y, heading)
    return x - x_old, y - y_old


class PointRobot:
    """The point robot as a ``Robot`` for shared task logic (gather): kinematic, never falls."""

    frame_skip = 1
    healthy_height = None  # never falls

    def __init__(self, arena: float, move_scale: float = 1.0, turn_scale: float = 1.0,
                 reset_noise_scale: float = 0.01, floor_size: float = 40.0,
                 reset_velocity_noise_scale: float = 0.0) -> None:
        self.arena, self.move_scale, self.turn_scale = arena, move_scale, turn_scale
        self.reset_noise_scale, self.floor_size = reset_noise_scale, floor_size
        self.reset_velocity_noise_scale = reset_velocity_noise_scale
        self._action_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)

    def model_xml(self, extra_world: str) -> str:
        return point_xml(extra_world, floor_size=self.floor_size)

    def attach(self, model: mujoco.MjModel, data: mujoco.MjData) -> None:
        self.model, self.data = model, data
        self.torso = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "torso")

    @property
    def action_space(self) -> gym.spaces.Box:
        return self._action_space

    @property
    def observation_size(self) -> int:
        return self.model.nq + self.model.nv + 3

    def reset(self, rng: np.random.Generator) -> None:
        self.data.qpos[:] = self.reset_noise_scale * rng.standard_normal(self.model.nq)
        self.data.qvel[:] = self.reset_velocity_noise_scale * rng.standard_normal(self.model.nv)
        self._refresh()

    def advance(self, action: np.ndarray) -> None:
        clipped = (min(max(float(action[0]), -1.0), 1.0), min(max(float(action[1]), -1.0), 1.0))
        point_move(self.data.qpos, clipped, self.move_scale, self.turn_scale, self.arena)
        self._refresh()

    def _refresh(self) -> None:
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_comPos(self.model, self.data)

    def observation(self) -> np.ndarray:
        return np.concatenate((self.data.qpos, self.data.qvel, self.data.subtree_com[self.torso]))

    def com_xy(self) -> np.ndarray:
        return self.data.subtree_com[self.torso, :2].copy()

    def heading(self) -> float:
        return float(self.data.qpos[2])

    def fallen(self) -> bool:
        return False

    def usual_reward(self) -> float:
        return 0.0
