"""The tasks' fast path (``step_many``): every environment of a process in one call, the numbers of
``env.step`` bit for bit, and the sampler's batches unchanged by it."""

from functools import partial

import numpy as np
import pytest
import torch

import tasks
from algorithms.core.observation_normalizer import ObservationNormalizer
from algorithms.core.policy import GaussianPolicy
from algorithms.saute import Saute
from safebench.sampler import make_collector
from safebench.vector_env import SyncVectorEnv
from tasks.legged_robot import advance_many

# small x limits: the robots cross them, so the cost's timing matters
FAST = [("ant_circle", {}), ("ant_circle", {"x_limit": 0.1}),
        ("ant_circle", {"x_limit": 0.1, "cost_timing": "after", "torque_actions": True}),
        ("humanoid_circle", {"x_limit": 0.1}), ("ant_velocity", {}),
        ("ant_velocity", {"velocity_threshold": 0.3, "ctrl_cost_weight": 0.1, "contact_cost_weight": 3e-4})]


def step_both(name: str, params: dict, steps: int, num_envs: int = 6, horizon: int = 40) -> list:
    """Step the same envs through ``step_many`` and through ``env.step`` with the same wide actions;
    the fast path's steps."""
    factory = partial(tasks.make, name, horizon=horizon, **params)
    fast, slow = SyncVectorEnv([factory] * num_envs), SyncVectorEnv([factory] * num_envs)
    slow.steps_many = False
    assert fast.steps_many
    space = fast.envs[0].action_space
    np.testing.assert_array_equal(fast.reset(range(num_envs)), slow.reset(range(num_envs)))
    rng, taken = np.random.default_rng(0), []
    for _ in range(steps):  # wide actions: robots fall, episodes end by termination and by time limit
        actions = np.clip(3 * space.high * rng.standard_normal((num_envs, space.shape[0])), space.low, space.high)
        a, b = fast.step(actions.astype(np.float32)), slow.step(actions.astype(np.float32))
        for field in a.__dataclass_fields__:
            x, y = getattr(a, field), getattr(b, field)
            assert x.dtype == y.dtype, field
            np.testing.assert_array_equal(x, y, err_msg=field)
        for env_a, env_b in zip(fast.envs, slow.envs):
            assert_same_state(env_a.unwrapped, env_b.unwrapped)
        taken.append(a)
    return taken


def assert_same_state(a, b) -> None:
    """What the next step starts from and what a frame would draw: also the same on both paths."""
    for field in ("qpos", "qvel", "mocap_pos", "geom_xpos", "subtree_com"):
        np.testing.assert_array_equal(getattr(a.data, field), getattr(b.data, field), err_msg=field)
    for field in ("objects", "apples", "bombs"):  # gather's episode state
        assert getattr(a, field, None) == getattr(b, field, None), field


@pytest.mark.parametrize(("name", "params"), FAST)
def test_step_many_gives_env_step_bit_for_bit_through_falls_and_time_limits(name, params):
    taken = step_both(name, params, steps=150)
    assert sum(int(step.terminated.sum()) for step in taken) > 0  # some robots fell, so resets were exercised
    assert sum(float(step.costs.sum()) for step in taken) > 0 or "x_limit" not in params


# Objects around the start (spacing 0), a wide catch range: the one at the origin is collected at
# once, those 2 away as the ant drifts (catch range 1.95), several in a step, and a low healthy_z_max
# makes falls frequent; with two objects episodes also end with none left; a healthy_z_min above the
# start makes the ant fall at once, with the object at the origin in reach (a fall collects nothing).
# Then the task as it is: falls, no collection. (params, collects, ends with no object left)
NEAR = {"robot_object_spacing": 0.0, "activity_range": 4.0}
GATHER = [({**NEAR, "catch_range": 1.95, "n_apples": 4, "n_bombs": 4, "healthy_z_max": 0.8}, True, False),
          ({**NEAR, "catch_range": 2.5, "n_apples": 1, "n_bombs": 1, "bomb_reward_penalty": 2.0,
            "torque_actions": True}, True, True),
          ({**NEAR, "catch_range": 1.95, "healthy_z_min": 0.8}, False, False),
          ({}, False, False)]


@pytest.mark.parametrize(("params", "collects", "ends_empty"), GATHER)
def test_ant_gather_step_many_gives_env_step_bit_for_bit_through_collections_and_falls(params, collects,
                                                                                        ends_empty):
    taken = step_both("ant_gather", params, steps=150)
    rewards, costs = np.array([step.rewards for step in taken]), np.array([step.costs[:, 0] for step in taken])
    terminated = np.array([step.terminated for step in taken])
    assert (rewards == -10.0).any()  # falls
    collected = (rewards > 0) | (costs > 0)
    assert (rewards > 0).any() == (costs > 0).any() == collects  # apples and bombs collected
    if collects:
        ended = np.array([step.terminated | step.truncated for step in taken])
        first_steps = np.vstack((np.ones((1, 6), bool), ended[:-1]))
        assert (collected & ~first_steps).any()  # also later in an episode
    assert (terminated & (rewards != -10.0)).any() == ends_empty  # an episode ended with no object left


def test_advance_many_gives_the_heading_of_heading_bit_for_bit_at_any_yaw():
    """Gather's sensors turn with the yaw; the ant barely turns in a test episode, so set yaws all around."""
    envs, rng = [tasks.make("ant_gather").unwrapped for _ in range(8)], np.random.default_rng(0)
    for seed, env in enumerate(envs):
        env.reset(seed=seed)
        yaw, qpos = rng.uniform(-np.pi, np.pi), env.data.qpos.copy()
        qpos[3:7] = (np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2))
        env.set_state(qpos, env.data.qvel.copy())
    robots = [env.robot for env in envs]
    assert advance_many(robots, np.zeros((8, 8))).heading is None  # the circle tasks do not pay for it
    for _ in range(20):
        steps = advance_many(robots, rng.uniform(-1.0, 1.0, (8, 8)), heading=True)
        assert steps.heading == [robot.heading() for robot in robots]


def test_step_many_is_taken_only_where_it_is_exactly_the_task():
    assert SyncVectorEnv([partial(tasks.make, "ant_circle")]).steps_many
    assert not SyncVectorEnv([partial(tasks.make, "point_circle")]).steps_many  # no fast path there
    assert SyncVectorEnv([partial(tasks.make, "ant_gather")]).steps_many
    assert not SyncVectorEnv([partial(tasks.make, "point_gather")]).steps_many  # the point robot: per env
    assert SyncVectorEnv([partial(tasks.make, "ant_velocity")]).steps_many
    assert not SyncVectorEnv([partial(tasks.make, "hopper_velocity")]).steps_many  # the other velocity robots: per env
    # an algorithm's wrapper (Saute's state augmentation) sits between: the per-env path
    saute = partial(lambda: Saute.wrap_env(tasks.make("ant_circle"), 10.0, 500))
    assert not SyncVectorEnv([saute]).steps_many


def collect(fast: bool, workers: int, name: str, params: dict):
    """One batch (episodes end by the time limit and by falls), with or without the fast path."""
    torch.manual_seed(0)
    factory = partial(tasks.make, name, horizon=30, **params)
    obs_dim = factory().observation_space.shape[0]
    collector = make_collector(factory, 6, GaussianPolicy(obs_dim, 8), ObservationNormalizer((obs_dim,)),
                               torch.Generator().manual_seed(1), inference_batch=3, workers=workers)
    try:
        if not fast:
            collector.envs.steps_many = False
        return collector.collect(70, list(range(6)))
    finally:
        collector.close()


@pytest.mark.parametrize(("workers", "name", "params"), [
    (workers, name, params) for name, params in (("ant_circle", {}), ("ant_gather", GATHER[0][0])) for workers in (0, 2)
] + [(0, "ant_velocity", {"velocity_threshold": 0.3})])  # the workers build the same envs: one task covers them
def test_sampler_batches_are_the_same_with_and_without_the_fast_path(workers, name, params):
    fast = collect(True, workers, name, params)  # workers build their own (fast) envs
    reference = collect(False, 0, name, params)
    for field in ("obs", "actions", "log_probs", "rewards", "costs", "terminated", "episode_end",
                  "episode_returns", "episode_costs", "episode_lengths", "bootstrap_index", "bootstrap_obs"):
        np.testing.assert_array_equal(getattr(fast, field), getattr(reference, field), err_msg=field)
    assert name != "ant_gather" or (fast.costs > 0).any() and (fast.rewards > 0).any()  # bombs and apples
