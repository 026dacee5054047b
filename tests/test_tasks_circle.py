"""Ant-Circle and Humanoid-Circle: reward and cost against hand-computed values, termination.

The robot is launched in the air (no contact, zero control), so its centre of mass moves exactly at
the set velocity and the step's reward is the circle reward at a known point plus the alive bonus.
It starts one step before the target point, so it ends the step exactly there.
"""

from __future__ import annotations

import numpy as np
import pytest
from task_helpers import launch

import tasks

# name: (torso height in flight, alive bonus)
FLIGHT = {"ant_circle": (0.9, 0.05), "humanoid_circle": (1.9, 0.2)}


def fly(name: str, xy: tuple[float, float], velocity: tuple[float, float], **overrides):
    """One zero-action step that ends with the torso COM at ``xy`` moving at ``velocity``."""
    env = tasks.make(name, **overrides).unwrapped
    env.reset(seed=0)
    height, _ = FLIGHT[name]
    qpos = env.robot.init_qpos.copy()
    qpos[2] = height
    start = (xy[0] - velocity[0] * env.dt, xy[1] - velocity[1] * env.dt)
    launch(env, qpos, start, velocity)
    return env.step(np.zeros(env.action_space.shape, dtype=np.float32))


# (x, y), (vx, vy), circle reward: -y vx + x vy over 1 + |r - 10|, computed by hand
CASES = [
    ((10.0, 0.0), (0.0, 1.0), 10.0),  # on the radius, with the circle (counter-clockwise)
    ((10.0, 0.0), (0.0, -1.0), -10.0),  # on the radius, against the circle
    ((0.0, 10.0), (-1.0, 0.0), 10.0),  # top of the circle, with it
    ((0.0, 10.0), (1.0, 0.0), -10.0),  # top of the circle, against it
    ((0.0, 4.0), (-2.0, 0.0), 8.0 / 7.0),  # off the radius by 6: 8 / (1 + 6)
    ((-3.1, 0.0), (0.0, 1.0), -3.1 / 7.9),  # off the radius by 6.9, moving clockwise there
    ((0.0, 10.0), (0.0, 1.0), 0.0),  # radial motion earns nothing
]


@pytest.mark.parametrize("name", list(FLIGHT))
@pytest.mark.parametrize(("xy", "velocity", "circle"), CASES)
def test_reward_is_circle_reward_plus_alive_bonus(name, xy, velocity, circle):
    _, reward, terminated, truncated, info = fly(name, xy, velocity)
    _, alive = FLIGHT[name]
    assert reward == pytest.approx(circle + alive, abs=1e-6)
    assert (info["x"], info["y"]) == pytest.approx(xy, abs=1e-9)
    assert not terminated and not truncated


@pytest.mark.parametrize(("name", "x", "cost"), [
    ("ant_circle", 2.9, 0.0), ("ant_circle", 3.1, 1.0), ("ant_circle", -2.9, 0.0), ("ant_circle", -3.1, 1.0),
    ("humanoid_circle", 2.4, 0.0), ("humanoid_circle", 2.6, 1.0), ("humanoid_circle", -2.6, 1.0),
    ("humanoid_circle", 0.0, 0.0),
])
def test_cost_is_one_outside_the_x_limit(name, x, cost):
    assert fly(name, (x, 5.0), (0.0, 1.0))[4]["cost"] == cost


def test_radius_and_limit_are_parameters():
    _, reward, _, _, info = fly("ant_circle", (5.0, 0.0), (0.0, 1.0), circle_radius=5.0, x_limit=6.0)
    assert reward == pytest.approx(5.0 + 0.05, abs=1e-6)
    assert info["cost"] == 0.0


def test_control_cost_uses_the_normalized_action():
    env = tasks.make("humanoid_circle").unwrapped
    env.reset(seed=0)
    env.data.ctrl[:] = 0.2  # half of the humanoid's +-0.4 range
    expected = 0.2 - 0.0005 * 17 * 0.5**2  # alive - weight * sum((a / 0.4)^2), no contact in flight
    qpos = env.robot.init_qpos.copy()
    qpos[2] = 1.9
    env.set_state(qpos, np.zeros(env.model.nv))
    assert env.robot.usual_reward() == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("name", "height", "overrides", "ends"), [
    ("ant_circle", 0.9, {}, False), ("ant_circle", 1.5, {}, True),
    # The ant's torso sphere cannot sink below 0.2 (the floor pushes it back): raise the bound instead.
    ("ant_circle", 0.9, {"healthy_z_min": 0.95}, True),
    ("humanoid_circle", 1.9, {}, False), ("humanoid_circle", 2.5, {}, True), ("humanoid_circle", 0.5, {}, True),
])
def test_terminates_when_the_torso_leaves_its_height_range(name, height, overrides, ends):
    env = tasks.make(name, **overrides).unwrapped
    env.reset(seed=0)
    qpos = env.robot.init_qpos.copy()
    qpos[2] = height
    env.set_state(qpos, np.zeros(env.model.nv))
    _, _, terminated, truncated, _ = env.step(np.zeros(env.action_space.shape, dtype=np.float32))
    assert terminated is ends and truncated is False


@pytest.mark.parametrize(("name", "x_limit"), [("ant_circle", 3.0), ("humanoid_circle", 2.5)])
def test_limit_panels_are_non_colliding_boxes_at_the_limit(name, x_limit):
    model = tasks.make(name).unwrapped.model
    for side, sign in (("neg", -1), ("pos", 1)):
        geom = model.geom(f"limit_panel_{side}")
        assert geom.pos[0] == pytest.approx(sign * x_limit)
        assert geom.contype[0] == 0 and geom.conaffinity[0] == 0
        assert 0.0 < geom.rgba[3] < 1.0  # translucent


def test_ant_observation_is_qpos_qvel_and_torso_com():
    env = tasks.make("ant_circle").unwrapped
    obs, _ = env.reset(seed=3)
    data = env.data
    np.testing.assert_array_equal(obs, np.concatenate([data.qpos, data.qvel, data.subtree_com[1]]))


def test_humanoid_observation_includes_clipped_contact_forces():
    env = tasks.make("humanoid_circle").unwrapped
    env.reset(seed=3)
    for _ in range(40):  # let it land on the floor
        obs, *_ = env.step(np.zeros(17, dtype=np.float32))
    data = env.data
    forces = obs[47:47 + 84]
    np.testing.assert_array_equal(forces, np.clip(data.cfrc_ext, -1, 1).ravel())
    assert np.abs(forces).max() > 0  # the feet touch the floor: contact forces were computed
    np.testing.assert_array_equal(obs[-3:], data.subtree_com[1])
