"""The Gather tasks' rules as pure functions: object placement, collection, and the bin sensors.

Released code (rllab's ``GatherEnv`` as used by the CPO repository): objects sit on the grid points
2k, k integer in [-activity_range/2, activity_range/2); none closer than robot_object_spacing to the
origin; all distinct; apples first. An object closer than catch_range to the robot is collected.
Each of n_bins sensor bins covers sensor_span / n_bins radians of a fan centred on the heading and
holds 1 - dist / sensor_range of the nearest object of its kind inside it (nearer ones occlude).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

APPLE, BOMB = 0, 1


def grid_points(activity_range: float, robot_object_spacing: float) -> np.ndarray:
    """Every grid point an object may occupy, shape (n, 2), in a fixed order."""
    half = int(activity_range / 2)
    ticks = 2.0 * np.arange(-half, half)
    xs, ys = np.meshgrid(ticks, ticks, indexing="ij")
    points = np.stack([xs.ravel(), ys.ravel()], axis=1)
    far_enough = np.sum(points**2, axis=1) >= robot_object_spacing**2
    return points[far_enough]


class GatherObject(NamedTuple):
    """One apple or bomb: its grid position, its kind, and the slot (mocap body) that draws it."""

    x: float
    y: float
    kind: int
    slot: int


def place_objects(rng: np.random.Generator, n_apples: int, n_bombs: int, activity_range: float,
                  robot_object_spacing: float) -> list[GatherObject]:
    """Distinct grid points for the apples then the bombs (slots 0..n-1 in that order).

    Drawing without replacement from the allowed points is the distribution of the released code's
    rejection loop, without its risk of never ending.
    """
    points = grid_points(activity_range, robot_object_spacing)
    count = n_apples + n_bombs
    if count > len(points):
        raise ValueError(f"{count} objects do not fit on the {len(points)} free grid points of "
                         f"activity_range={activity_range}, robot_object_spacing={robot_object_spacing}")
    chosen = points[rng.choice(len(points), size=count, replace=False)].tolist()
    return [GatherObject(x, y, APPLE if slot < n_apples else BOMB, slot)
            for slot, (x, y) in enumerate(chosen)]


def split_caught(objects: list[GatherObject], robot_x: float, robot_y: float,
                 catch_range: float) -> tuple[list[GatherObject], list[GatherObject]]:
    """(collected, remaining): an object strictly closer than catch_range to the robot is collected."""
    reach = catch_range * catch_range
    got, kept = [], []
    for obj in objects:
        dx, dy = obj.x - robot_x, obj.y - robot_y
        (got if dx * dx + dy * dy < reach else kept).append(obj)
    return got, kept


def sensor_readings(objects: list[GatherObject], robot_x: float, robot_y: float, heading: float,
                    n_bins: int, sensor_range: float, sensor_span: float) -> np.ndarray:
    """Apple bins then bomb bins (2 * n_bins numbers in [0, 1]); 0 where a bin sees nothing.

    A plain loop: with at most a few dozen objects it is several times faster than numpy.
    """
    readings = [0.0] * (2 * n_bins)
    half_span = 0.5 * sensor_span
    bins_per_radian = n_bins / sensor_span
    two_pi = 2.0 * math.pi
    for x, y, kind, _ in objects:
        dx, dy = x - robot_x, y - robot_y
        dist = math.hypot(dx, dy)
        if dist > sensor_range:
            continue
        angle = (math.atan2(dy, dx) - heading + math.pi) % two_pi - math.pi
        if abs(angle) > half_span:
            continue
        slot = kind * n_bins + min(int((angle + half_span) * bins_per_radian), n_bins - 1)
        intensity = 1.0 - dist / sensor_range
        if intensity > readings[slot]:  # noqa: PLR1730 (faster than max): the nearest one occludes
            readings[slot] = intensity
    return np.array(readings)


def walls_xml(activity_range: float) -> str:
    """Four boxes at +-(activity_range + 1), as the released code (they stop the ant)."""
    d = activity_range + 1
    boxes = ((f"0 {-d} 0", f"{d + 0.5} 0.5 1"), (f"0 {d} 0", f"{d + 0.5} 0.5 1"),
             (f"{-d} 0 0", f"0.5 {d + 0.5} 1"), (f"{d} 0 0", f"0.5 {d + 0.5} 1"))
    return "\n".join(
        f'<geom name="wall{i}" type="box" pos="{pos}" size="{size}" rgba="0.8 0.9 0.8 1" '
        f'contype="1" conaffinity="1" condim="3"/>'
        for i, (pos, size) in enumerate(boxes, start=1)
    )


OBJECT_RADIUS = 0.3
HIDDEN_Z = -5.0
COLOURS = {APPLE: "0.1 0.8 0.1 1", BOMB: "0.9 0.1 0.1 1"}


def objects_xml(n_apples: int, n_bombs: int) -> str:
    """One mocap body per object with a non-colliding sphere: green apples, then red bombs."""
    kinds = [APPLE] * n_apples + [BOMB] * n_bombs
    return "\n".join(
        f'<body name="object{i}" mocap="true" pos="0 0 {HIDDEN_Z}">'
        f'<geom type="sphere" size="{OBJECT_RADIUS}" rgba="{COLOURS[kind]}" contype="0" conaffinity="0"/>'
        f"</body>"
        for i, kind in enumerate(kinds)
    )
