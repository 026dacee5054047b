"""Render one frame of each paper task to docs/frames/<name>.png, headless.

    .venv/bin/python scripts/render_frames.py [--size 400] [--out docs/frames]

Circle tasks: the robot a few steps into a counter-clockwise run, the blue limit panels visible.
Gather tasks: the arena just after reset, green apples and red bombs visible.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tasks

PAPER_TASKS = ("point_circle", "ant_circle", "humanoid_circle", "point_gather", "ant_gather")


def frame(name: str, size: int, seed: int = 0, steps: int = 10) -> np.ndarray:
    """An RGB frame of ``name`` after ``steps`` random actions (a fixed seed: reproducible)."""
    env = tasks.make(name, render_mode="rgb_array")
    unwrapped = env.unwrapped
    unwrapped.width = unwrapped.height = size  # before the first render creates the renderer
    env.reset(seed=seed)
    env.action_space.seed(seed)
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample() * 0.3)
        if terminated or truncated:
            env.reset()
    image = env.render()
    env.close()
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=400)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "frames")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in PAPER_TASKS:
        path = args.out / f"{name}.png"
        iio.imwrite(path, frame(name, args.size))
        print(path)


if __name__ == "__main__":
    main()
