"""The velocity family: gymnasium's v5 reward step for step, Safety-Gymnasium v1's cost."""

from __future__ import annotations

import inspect

import gymnasium as gym
import numpy as np
import pytest
from task_helpers import VELOCITY_TASKS

import tasks
from tasks.gym_assets import harmless_notices_dropped

GYMNASIUM = {"half_cheetah_velocity": "HalfCheetah-v5", "hopper_velocity": "Hopper-v5",
             "walker2d_velocity": "Walker2d-v5", "ant_velocity": "Ant-v5", "humanoid_velocity": "Humanoid-v5",
             "swimmer_velocity": "Swimmer-v5"}

# Read from PKU-Alignment/safety-gymnasium, safety_gymnasium/tasks/safe_velocity/safety_*_velocity_v1.py
SAFETY_GYMNASIUM_V1 = {"half_cheetah_velocity": 3.2096, "hopper_velocity": 0.7402, "walker2d_velocity": 2.3415,
                       "ant_velocity": 2.6222, "humanoid_velocity": 1.4149, "swimmer_velocity": 0.2282}


@pytest.mark.parametrize("name", VELOCITY_TASKS)
def test_same_observations_rewards_and_ends_as_gymnasium_v5(name):
    ours = tasks.make(name).unwrapped
    with harmless_notices_dropped():
        theirs = gym.make(GYMNASIUM[name]).unwrapped
    obs, _ = ours.reset(seed=11)
    np.testing.assert_array_equal(obs, theirs.reset(seed=11)[0])
    rng = np.random.default_rng(0)
    for _ in range(100):
        action = rng.uniform(ours.action_space.low, ours.action_space.high).astype(np.float32)
        mine, ref = ours.step(action), theirs.step(action)
        np.testing.assert_allclose(mine[0], ref[0], rtol=0, atol=1e-12)
        assert mine[1] == pytest.approx(ref[1], rel=0, abs=1e-12)
        assert mine[2] == ref[2]
        assert mine[4]["x_velocity"] == pytest.approx(ref[4]["x_velocity"], abs=1e-12)
        if mine[2]:
            break


@pytest.mark.parametrize("name", VELOCITY_TASKS)
def test_thresholds_are_safety_gymnasium_v1s(name):
    default = inspect.signature(tasks.spec(name).entry_point).parameters["velocity_threshold"].default
    assert default == SAFETY_GYMNASIUM_V1[name]


def launch(name: str, lift: float, qvel_index: int, speed: float, lift_index: int = 2) -> dict:
    """Lift the robot off the floor, give one velocity component, take a zero-action step."""
    env = tasks.make(name).unwrapped
    env.reset(seed=0)
    qpos, qvel = env.init_qpos.copy(), np.zeros(env.model.nv)
    qpos[lift_index] += lift
    qvel[qvel_index] = speed
    env.set_state(qpos, qvel)
    return env.step(np.zeros(env.action_space.shape, dtype=np.float32))[4]


# name, lift (qpos index, metres), velocity component, speeds just above / below the threshold
FLIGHTS = [
    ("ant_velocity", 2, 0.2, 1, 2.7, 2.5),  # sideways (y): the planar speed counts
    ("humanoid_velocity", 2, 0.4, 1, 1.5, 1.3),  # sideways (y): the planar speed counts
    ("half_cheetah_velocity", 1, 1.0, 0, 3.3, 3.1),  # forward (x)
    ("hopper_velocity", 1, 0.5, 0, 0.8, 0.7),
    ("walker2d_velocity", 1, 0.5, 0, 2.4, 2.3),
]


@pytest.mark.parametrize(("name", "lift_index", "lift", "component", "above", "below"), FLIGHTS)
def test_cost_is_one_above_the_threshold(name, lift_index, lift, component, above, below):
    fast = launch(name, lift, component, above, lift_index)
    assert fast["speed"] == pytest.approx(above, rel=1e-6)  # in flight the velocity is exactly kept
    assert fast["cost"] == 1.0
    slow = launch(name, lift, component, below, lift_index)
    assert slow["speed"] == pytest.approx(below, rel=1e-6)
    assert slow["cost"] == 0.0


def test_backwards_is_not_fast_for_x_velocity_robots():
    info = launch("half_cheetah_velocity", 1.0, 0, -5.0, lift_index=1)
    assert info["x_velocity"] == pytest.approx(-5.0) and info["cost"] == 0.0


def test_swimmer_cost_counts_x_velocity_only_as_in_v1():
    sideways = launch("swimmer_velocity", 0.0, 1, 1.0)  # planar speed ~1, x velocity ~0
    assert abs(sideways["x_velocity"]) < 0.1 and sideways["cost"] == 0.0
    forward = launch("swimmer_velocity", 0.0, 0, 1.0)
    assert forward["x_velocity"] > 0.5 and forward["cost"] == 1.0
