"""Headless rgb_array rendering of every task: a real picture, with the tasks' markers in it."""

from __future__ import annotations

import os

import numpy as np
import pytest
from task_helpers import ALL_TASKS

import tasks
from tasks.gl_backend import INSTALL_HINT

pytestmark = pytest.mark.skipif(
    not os.environ.get("MUJOCO_GL") and not os.environ.get("DISPLAY"),
    reason=f"no OpenGL backend for headless rendering: {INSTALL_HINT}",
)


def frame(name: str, **overrides) -> np.ndarray:
    env = tasks.make(name, render_mode="rgb_array", **overrides)
    env.reset(seed=0)
    image = env.render()
    env.close()
    return image


def pixels(image: np.ndarray) -> dict[str, int]:
    """How many pixels are clearly blue (limit panels), green (apples) and red (bombs)."""
    r, g, b = (image[..., i].astype(int) for i in range(3))
    return {"blue": int(((b > r + 40) & (b > g + 15)).sum()),
            "green": int(((g > 1.5 * r) & (g > 1.5 * b) & (g > 60)).sum()),
            "red": int(((r > 2 * g) & (r > 2 * b) & (r > 80)).sum())}


@pytest.mark.parametrize("name", ALL_TASKS)
def test_frame_is_an_rgb_picture(name):
    image = frame(name)
    assert image.shape == (480, 480, 3) and image.dtype == np.uint8
    assert image.std() > 10.0
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 100


@pytest.mark.parametrize("name", ["point_circle", "ant_circle", "humanoid_circle"])
def test_circle_frames_show_the_limit_panels(name):
    assert pixels(frame(name))["blue"] > 200
    assert pixels(frame(name, x_limit=100.0))["blue"] == 0  # panels moved out of view: gone


@pytest.mark.parametrize("name", ["point_gather", "ant_gather"])
def test_gather_frames_show_apples_and_bombs(name):
    counts = pixels(frame(name))
    assert counts["green"] > 100 and counts["red"] > 100
    no_apples = pixels(frame(name, n_apples=0))
    assert no_apples["green"] == 0 and no_apples["red"] > 100


def test_render_without_render_mode_returns_none():
    env = tasks.make("ant_circle")
    env.reset(seed=0)
    assert env.render() is None
