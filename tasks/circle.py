"""The Circle tasks' reward and cost (paper, Appendix 10.2.1) and their limit panels."""

from __future__ import annotations

import itertools
import math

import mujoco
import numpy as np


def circle_reward(x: float, y: float, vx: float, vy: float, radius: float) -> float:
    """(-y vx + x vy) / (1 + | sqrt(x^2 + y^2) - radius |): counter-clockwise speed along the circle."""
    return float((-y * vx + x * vy) / (1.0 + abs(math.hypot(x, y) - radius)))


COST_TIMINGS = ("before", "after")


def circle_cost(x: float, x_limit: float) -> float:
    """1 when |x| >= x_limit: the released constraint's comparison (safety_constraints/mujoco.py)."""
    return float(abs(x) >= x_limit)


def check_cost_timing(cost_timing: str) -> str:
    """The cost reads the state before the action ("before", as released) or after it ("after")."""
    if cost_timing not in COST_TIMINGS:
        raise ValueError(f"cost_timing must be one of {COST_TIMINGS}, got {cost_timing!r}")
    return cost_timing


def limit_panels_xml(x_limit: float, half_length: float = 20.0, height: float = 1.5) -> str:
    """Two translucent, non-colliding boxes at x = +-x_limit (the paper videos' blue panels)."""
    return "\n".join(
        f'<geom name="limit_panel_{side}" type="box" pos="{sign * x_limit} 0 {height / 2}" '
        f'size="0.02 {half_length} {height / 2}" rgba="0.2 0.4 1.0 0.3" contype="0" conaffinity="0" '
        f'group="1"/>'
        for side, sign in (("neg", -1), ("pos", 1))
    )


def draw_circle(scene: mujoco.MjvScene, radius: float, segments: int = 90, width: float = 0.06) -> None:
    """Draw the target circle on the floor of a rendered frame (a ring of thin capsules)."""
    angles = np.linspace(0.0, 2.0 * math.pi, segments + 1)
    points = np.stack([radius * np.cos(angles), radius * np.sin(angles), np.full_like(angles, 0.02)], axis=1)
    rgba = np.array([1.0, 0.85, 0.1, 0.9], dtype=np.float32)
    for start, end in itertools.pairwise(points):
        if scene.ngeom >= scene.maxgeom:
            return
        geom = scene.geoms[scene.ngeom]
        mujoco.mjv_initGeom(geom, mujoco.mjtGeom.mjGEOM_CAPSULE, np.zeros(3), np.zeros(3), np.zeros(9), rgba)
        mujoco.mjv_connector(geom, mujoco.mjtGeom.mjGEOM_CAPSULE, width, start, end)
        scene.ngeom += 1
