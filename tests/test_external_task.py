"""A stock gymnasium environment as a task, without an env class (tasks/external.py)."""

import inspect

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
from helpers import run_cli

import tasks
from tasks.external import register_gymnasium_task
from tasks.registry import _TASKS


class CostlyCounter(gym.Env):
    """Counts steps; reports its own info["cost"] = 1 on even steps."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(1,))
    action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,))

    def __init__(self, render_mode=None, start: int = 0, report_cost: bool = True):
        self.start, self.report_cost = start, report_cost

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = self.start
        return np.array([self.t], np.float32), {}

    def step(self, action):
        self.t += 1
        info = {"cost": float(self.t % 2 == 0)} if self.report_cost else {}
        return np.array([self.t], np.float32), 1.0, False, False, info


@pytest.fixture
def counter_task():
    if "safebench_test/CostlyCounter-v0" not in gym.registry:
        gym.register("safebench_test/CostlyCounter-v0", entry_point=CostlyCounter, max_episode_steps=5)
    yield register_gymnasium_task("test_counter", "safebench_test/CostlyCounter-v0", horizon=12, cost_limit=1.0,
                                  batch_size=120, cost_gae_lambda=0.97, start=3)
    _TASKS.pop("test_counter", None)


def test_pendulum_speed_cost_is_the_documented_indicator():
    env = tasks.make("pendulum_speed", speed_limit=1.0)
    obs, _ = env.reset(seed=0)
    costs, fast = [], []
    for _ in range(60):
        obs, _, terminated, truncated, info = env.step(np.array([2.0], np.float32))
        costs.append(info["cost"])
        fast.append(float(abs(obs[2]) > 1.0))
    assert costs == fast and 0 < sum(costs) < 60


def test_horizon_replaces_gymnasiums_own_time_limit():
    env = tasks.make("pendulum_speed", horizon=250)  # Pendulum-v1's own limit is 200
    env.reset(seed=0)
    steps, done = 0, False
    while not done:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        steps, done = steps + 1, terminated or truncated
    assert steps == 250


def test_parameters_are_the_make_kwargs_plus_the_cost_params():
    signature = inspect.signature(tasks.spec("pendulum_speed").entry_point)
    assert {k: p.default for k, p in signature.parameters.items()} == {"render_mode": None, "g": 10.0,
                                                                       "speed_limit": 4.0}
    assert tasks.make("pendulum_speed", g=3.0).unwrapped.g == 3.0
    with pytest.raises(TypeError, match="gravity"):
        tasks.make("pendulum_speed", gravity=3.0)


def test_an_environment_reporting_its_own_cost(counter_task):
    env = tasks.make("test_counter")
    obs, _ = env.reset(seed=0)
    assert obs[0] == 3  # start=3 went to the constructor
    seen = []
    for _ in range(12):
        obs, _, _, truncated, info = env.step(np.zeros(1, np.float32))
        seen.append((int(obs[0]), info["cost"]))
    assert seen[:3] == [(4, 1.0), (5, 0.0), (6, 1.0)]
    assert truncated  # the task's horizon (12), not the gym registration's 5


def test_missing_cost_without_cost_fn_is_a_clear_error(counter_task):
    with pytest.raises(TypeError, match="report_cost"):  # not a parameter of this registration
        tasks.make("test_counter", report_cost=False)
    spec = register_gymnasium_task("test_counter_silent", "safebench_test/CostlyCounter-v0", horizon=5, cost_limit=1.0,
                                   batch_size=50, cost_gae_lambda=0.97, report_cost=False)
    try:
        env = tasks.make(spec.name)
        env.reset(seed=0)
        with pytest.raises(KeyError, match="cost_fn"):
            env.step(np.zeros(1, np.float32))
    finally:
        _TASKS.pop(spec.name, None)


def test_discrete_actions_are_refused():
    spec = register_gymnasium_task("test_cartpole", "CartPole-v1", horizon=10, cost_limit=1.0, batch_size=100,
                                   cost_gae_lambda=0.97, cost_fn=lambda *args: 0.0)
    try:
        with pytest.raises(ValueError, match="Box"):
            tasks.make(spec.name)
    finally:
        _TASKS.pop(spec.name, None)


def test_pendulum_speed_trains_through_the_cli(tmp_path):
    result = run_cli("+algo=ppo_lagrangian", "+task=pendulum_speed", "train.total_steps=800", "train.batch_size=400",
                     "train.num_envs=2", "task.params.speed_limit=3.0", f"hydra.run.dir={tmp_path / 'run'}",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    progress = pd.read_csv(tmp_path / "run" / "progress.csv")
    assert list(progress["ep_len_mean"]) == [200.0, 200.0] and list(progress["episodes"]) == [2, 2]
    assert progress["cost_mean"].between(0, 200).all() and (progress["cost_limit"] == 20.0).all()
    assert progress["return_mean"].lt(0).all()  # Pendulum's reward is a cost-to-go, always negative
