"""The paper tasks' mechanics pinned to the released code's constants (docs/fidelity.md, Tasks).

Each test names the released file it pins: jachiam/cpo (envs/mujoco_safe/mujoco_env_safe.py,
safety_constraints/mujoco.py) and rllab (envs/mujoco/mujoco_env.py, vendor/mujoco_models/ant.xml).
"""

from __future__ import annotations

import numpy as np
import pytest
from task_helpers import launch

import tasks


def episode(env, seed: int) -> tuple[int, bool, bool]:
    """Length and final flags of one zero-action episode."""
    env.reset(seed=seed)
    zero = np.zeros(env.action_space.shape, dtype=np.float32)
    for length in range(1, 10_000):
        _, _, terminated, truncated, _ = env.step(zero)
        if terminated or truncated:
            return length, terminated, truncated
    raise AssertionError("the episode never ended")


# --- Point-Circle episode end: mujoco_env_safe.py:135-136 and 155-158 ----------------------------

def test_point_circle_episodes_end_as_terminals_after_51_to_65_steps():
    env = tasks.make("point_circle")
    ends = [episode(env, seed) for seed in range(400)]
    lengths = [length for length, _, _ in ends]
    # last step = randint(50, 65) in 50..64; done once the step count exceeds it: 51..65 steps
    assert min(lengths) == 51 and max(lengths) == 65
    assert len(set(lengths)) == 15
    assert np.mean(lengths) == pytest.approx(58.0, abs=0.6)
    assert all(terminated for _, terminated, _ in ends)
    assert all(not truncated for length, _, truncated in ends if length < 65)


def test_point_circle_end_is_drawn_from_the_envs_generator():
    env = tasks.make("point_circle")
    assert episode(env, 11) == episode(env, 11)
    assert len({episode(env, seed)[0] for seed in range(20)}) > 5


def test_point_circle_fixed_horizon_is_an_option():
    env = tasks.make("point_circle", random_end=False)
    assert {episode(env, seed) for seed in range(5)} == {(65, False, True)}


# --- Ant physics: rllab vendor/mujoco_models/ant.xml:3 and :9 ------------------------------------

@pytest.mark.parametrize("name", ["ant_circle", "ant_gather"])
def test_ant_has_rllabs_contacts_timestep_and_frame_skip(name):
    env = tasks.make(name).unwrapped
    model = env.model
    np.testing.assert_array_equal(model.geom_solimp[:, :3], np.tile([0.8, 0.8, 0.01], (model.ngeom, 1)))
    np.testing.assert_array_equal(model.geom_solref, np.tile([0.02, 1.0], (model.ngeom, 1)))
    assert model.opt.timestep == 0.02 and env.frame_skip == 1 and env.dt == 0.02
    assert model.opt.integrator == 1  # RK4, as ant.xml


# --- Actions in N m, as on rllab's gear-1 motors (ant.xml:71-78, no normalize wrapper) ------------

@pytest.mark.parametrize("name", ["ant_circle", "ant_gather"])
def test_ant_actions_are_torques_up_to_150(name):
    env = tasks.make(name, torque_actions=True).unwrapped
    np.testing.assert_array_equal(env.action_space.low, -150.0)
    np.testing.assert_array_equal(env.action_space.high, 150.0)
    env.reset(seed=0)
    torque = np.array([1.0, -2.0, 75.0, 0.5, -150.0, 300.0, 0.0, 3.0], dtype=np.float32)
    env.step(torque)
    joint_torque = env.data.actuator_force * env.model.actuator_gear[:, 0]
    np.testing.assert_allclose(joint_torque, np.clip(torque, -150, 150), rtol=1e-6)


def test_humanoid_actions_are_torques_gear_times_control():
    env = tasks.make("humanoid_circle", torque_actions=True).unwrapped
    gear = env.model.actuator_gear[:, 0]
    np.testing.assert_allclose(env.action_space.high, 0.4 * gear)
    env.reset(seed=0)
    torque = np.full(17, 5.0, dtype=np.float32)
    env.step(torque)
    np.testing.assert_allclose(env.data.actuator_force * gear, 5.0, rtol=1e-6)


@pytest.mark.parametrize(("name", "bound"), [("ant_circle", 1.0), ("humanoid_circle", 0.4)])
def test_normalized_controls_are_the_default(name, bound):
    env = tasks.make(name)
    np.testing.assert_allclose(env.action_space.high, bound, rtol=1e-7)


# --- Circle cost: safety_constraints/mujoco.py:17-20 (|obs[:, -3]| >= lim, obs before the action) --

def point_at(env, qpos_x: float, heading: float = 0.0) -> float:
    """Put the point at (qpos_x, 0) facing ``heading``; return its torso COM x."""
    qpos = np.array([qpos_x, 0.0, heading])
    env.set_state(qpos, env.data.qvel.copy())
    return float(env.data.subtree_com[env.body_id("torso"), 0])


def test_point_cost_reads_the_torso_com_not_qpos():
    env = tasks.make("point_circle").unwrapped
    env.reset(seed=0)
    com_x = point_at(env, 2.48)  # the COM sits 0.043 ahead of qpos, along the heading
    assert com_x > 2.5
    assert env.step(np.zeros(2, dtype=np.float32))[4]["cost"] == 1.0


@pytest.mark.parametrize("timing", ["before", "after"])
def test_point_cost_at_exactly_the_limit_counts(timing):
    probe = tasks.make("point_circle").unwrapped
    probe.reset(seed=0)
    limit = point_at(probe, 1.7)
    env = tasks.make("point_circle", x_limit=limit, cost_timing=timing).unwrapped
    env.reset(seed=0)
    point_at(env, 1.7)
    assert env.step(np.zeros(2, dtype=np.float32))[4]["cost"] == 1.0  # >=, not >
    env = tasks.make("point_circle", x_limit=np.nextafter(limit, np.inf), cost_timing=timing).unwrapped
    env.reset(seed=0)
    point_at(env, 1.7)
    assert env.step(np.zeros(2, dtype=np.float32))[4]["cost"] == 0.0


def test_point_cost_reads_the_state_before_the_action():
    env = tasks.make("point_circle").unwrapped
    env.reset(seed=0)
    point_at(env, 2.0)  # inside; the action carries it to x = 3.04
    forward = np.array([1.0, 0.0], dtype=np.float32)
    _, _, _, _, info = env.step(forward)
    assert info["x"] == pytest.approx(3.0) and info["cost"] == 0.0
    assert env.step(np.zeros(2, dtype=np.float32))[4]["cost"] == 1.0
    env = tasks.make("point_circle", cost_timing="after").unwrapped
    env.reset(seed=0)
    point_at(env, 2.0)
    assert env.step(forward)[4]["cost"] == 1.0


@pytest.mark.parametrize(("timing", "cost"), [("before", 0.0), ("after", 1.0)])
def test_ant_cost_reads_the_state_before_the_action(timing, cost):
    env = tasks.make("ant_circle", cost_timing=timing).unwrapped
    env.reset(seed=0)
    qpos = env.robot.init_qpos.copy()
    qpos[2] = 0.9  # in the air: the COM moves at the set velocity
    launch(env, qpos, (2.95, 5.0), (10.0, 0.0))  # 0.2 m per step: leaves the strip during the step
    _, _, _, _, info = env.step(np.zeros(8, dtype=np.float32))
    assert info["x"] > 3.0
    assert info["cost"] == cost


def test_ant_cost_at_exactly_the_limit_counts():
    probe = tasks.make("ant_circle").unwrapped
    probe.reset(seed=0)
    qpos = probe.robot.init_qpos.copy()
    qpos[2] = 0.9
    launch(probe, qpos, (2.5, 5.0), (0.0, 1.0))
    limit = float(probe.robot.com_xy()[0])
    for x_limit, cost in ((limit, 1.0), (np.nextafter(limit, np.inf), 0.0)):
        env = tasks.make("ant_circle", x_limit=x_limit).unwrapped
        env.reset(seed=0)
        launch(env, qpos, (2.5, 5.0), (0.0, 1.0))
        assert env.step(np.zeros(8, dtype=np.float32))[4]["cost"] == cost


# --- Point qvel: rllab mujoco_env.py:111-114 (qvel = init + 0.1 N(0, 1)); point_env.py:39-49 -------

def test_point_qvel_is_constant_reset_noise():
    env = tasks.make("point_circle").unwrapped
    draws = np.array([env.reset(seed=seed)[0][3:6] for seed in range(300)])
    assert draws.std() == pytest.approx(0.1, rel=0.1) and abs(draws.mean()) < 0.02
    obs, _ = env.reset(seed=4)
    for _ in range(10):
        later, *_ = env.step(np.array([1.0, 0.3], dtype=np.float32))
    np.testing.assert_array_equal(later[3:6], obs[3:6])
    np.testing.assert_array_equal(env.reset(seed=4)[0], obs)


def test_point_gather_qvel_is_constant_reset_noise():
    env = tasks.make("point_gather").unwrapped
    draws = np.array([env.reset(seed=seed)[0][3:6] for seed in range(300)])
    assert draws.std() == pytest.approx(0.1, rel=0.1)
    obs, _ = env.reset(seed=4)
    later, *_ = env.step(np.array([0.5, 0.3], dtype=np.float32))
    np.testing.assert_array_equal(later[3:6], obs[3:6])
