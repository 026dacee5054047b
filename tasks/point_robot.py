"""The point robot of the paper's Point tasks: a planar body moved kinematically.

Each step: heading += turn_scale * a[1], then the body moves move_scale * a[0] along its heading;
the position is clipped to the arena. As in the released code, the position is set directly
(no dynamics), so MuJoCo's qvel stays zero and the step's velocity is its displacement.
"""

from __future__ import annotations

import math

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
    qpos[2] += turn_scale * float(action[1])
    heading = qpos[2]
    x_old, y_old = qpos[0], qpos[1]
    qpos[0] = np.clip(x_old + math.cos(heading) * move_scale * float(action[0]), -arena, arena)
    qpos[1] = np.clip(y_old + math.sin(heading) * move_scale * float(action[0]), -arena, arena)
    return float(qpos[0] - x_old), float(qpos[1] - y_old)
