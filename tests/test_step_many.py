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

# small x limits: the robots cross them, so the cost's timing matters
FAST = [("ant_circle", {}), ("ant_circle", {"x_limit": 0.1}),
        ("ant_circle", {"x_limit": 0.1, "cost_timing": "after", "torque_actions": True}),
        ("humanoid_circle", {"x_limit": 0.1})]


def step_both(name: str, params: dict, steps: int, num_envs: int = 6, horizon: int = 40):
    """Step the same envs through ``step_many`` and through ``env.step`` with the same wide actions."""
    factory = partial(tasks.make, name, horizon=horizon, **params)
    fast, slow = SyncVectorEnv([factory] * num_envs), SyncVectorEnv([factory] * num_envs)
    slow.steps_many = False
    assert fast.steps_many
    space = fast.envs[0].action_space
    np.testing.assert_array_equal(fast.reset(range(num_envs)), slow.reset(range(num_envs)))
    rng, ended, costs = np.random.default_rng(0), 0, 0.0
    for _ in range(steps):  # wide actions: robots fall, episodes end by termination and by time limit
        actions = np.clip(3 * space.high * rng.standard_normal((num_envs, space.shape[0])), space.low, space.high)
        a, b = fast.step(actions.astype(np.float32)), slow.step(actions.astype(np.float32))
        for field in a.__dataclass_fields__:
            x, y = getattr(a, field), getattr(b, field)
            assert x.dtype == y.dtype, field
            np.testing.assert_array_equal(x, y, err_msg=field)
        ended, costs = ended + int(a.terminated.sum()), costs + float(a.costs.sum())
    return ended, costs


@pytest.mark.parametrize(("name", "params"), FAST)
def test_step_many_gives_env_step_bit_for_bit_through_falls_and_time_limits(name, params):
    ended, costs = step_both(name, params, steps=150)
    assert ended > 0  # some robots fell, so resets were exercised
    assert costs > 0 or "x_limit" not in params


def test_step_many_is_taken_only_where_it_is_exactly_the_task():
    assert SyncVectorEnv([partial(tasks.make, "ant_circle")]).steps_many
    assert not SyncVectorEnv([partial(tasks.make, "point_circle")]).steps_many  # no fast path there
    assert not SyncVectorEnv([partial(tasks.make, "ant_gather")]).steps_many
    # an algorithm's wrapper (Saute's state augmentation) sits between: the per-env path
    saute = partial(lambda: Saute.wrap_env(tasks.make("ant_circle"), 10.0, 500))
    assert not SyncVectorEnv([saute]).steps_many


def collect(fast: bool, workers: int):
    """One ant_circle batch (episodes end by the time limit and by falls), with or without the fast path."""
    torch.manual_seed(0)
    collector = make_collector(partial(tasks.make, "ant_circle", horizon=30), 6, GaussianPolicy(32, 8),
                               ObservationNormalizer((32,)), torch.Generator().manual_seed(1),
                               inference_batch=3, workers=workers)
    try:
        if not fast:
            collector.envs.steps_many = False
        return collector.collect(70, list(range(6)))
    finally:
        collector.close()


@pytest.mark.parametrize("workers", [0, 2])
def test_sampler_batches_are_the_same_with_and_without_the_fast_path(workers):
    fast, reference = collect(True, workers), collect(False, 0)  # workers build their own (fast) envs
    for field in ("obs", "actions", "log_probs", "rewards", "costs", "terminated", "episode_end",
                  "episode_returns", "episode_costs", "episode_lengths", "bootstrap_index", "bootstrap_obs"):
        np.testing.assert_array_equal(getattr(fast, field), getattr(reference, field), err_msg=field)
