"""The Circle tasks' reward and cost (paper, Appendix 10.2.1) and their limit panels."""

from __future__ import annotations

import numpy as np


def circle_reward(x: float, y: float, vx: float, vy: float, radius: float) -> float:
    """(-y vx + x vy) / (1 + | sqrt(x^2 + y^2) - radius |): counter-clockwise speed along the circle."""
    return float((-y * vx + x * vy) / (1.0 + abs(np.hypot(x, y) - radius)))


def circle_cost(x: float, x_limit: float) -> float:
    """1 when the robot is outside the safe strip |x| <= x_limit."""
    return float(abs(x) > x_limit)


def limit_panels_xml(x_limit: float, half_length: float = 20.0, height: float = 1.5) -> str:
    """Two translucent, non-colliding boxes at x = +-x_limit (the paper videos' blue panels)."""
    return "\n".join(
        f'<geom name="limit_panel_{side}" type="box" pos="{sign * x_limit} 0 {height / 2}" '
        f'size="0.02 {half_length} {height / 2}" rgba="0.2 0.4 1.0 0.3" contype="0" conaffinity="0" '
        f'group="1"/>'
        for side, sign in (("neg", -1), ("pos", 1))
    )
