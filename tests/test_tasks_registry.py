"""Every task: registered by name and gymnasium id, configured by its YAML, a well-behaved gymnasium Env."""

from __future__ import annotations

import inspect
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from helpers import REPO
from omegaconf import OmegaConf
from task_helpers import ALL_TASKS, LAYOUT

import tasks

CONFIGS = sorted((REPO / "conf" / "task").glob("*.yaml"))
# check_env's only remarks about our tasks: unbounded observations, as gymnasium's own MuJoCo envs
UNBOUNDED = ("observation space minimum value is -infinity", "observation space maximum value is infinity")
# ... and, for the ant and humanoid tasks, actions in N m (the released code's units), not [-1, 1]
TORQUE_TASKS = {"ant_circle", "ant_gather", "humanoid_circle"}
NOT_NORMALIZED = "we recommend using a symmetric and normalized space"


def test_names_list_the_whole_family():
    assert set(ALL_TASKS) <= set(tasks.names())
    assert tasks.names() == sorted(tasks.names())


def test_every_task_has_a_config_and_every_config_a_task():
    assert {path.stem for path in CONFIGS} == set(tasks.names())


@pytest.mark.parametrize("name", ALL_TASKS)
def test_gymnasium_id_builds_the_task_with_its_horizon(name):
    gym_id, obs_size, act_size = LAYOUT[name]
    env = gym.make(gym_id)
    assert isinstance(env.unwrapped, tasks.spec(name).entry_point)
    assert env.spec.max_episode_steps == tasks.spec(name).horizon
    assert env.observation_space.shape == (obs_size,)
    assert env.action_space.shape == (act_size,)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda path: path.stem)
def test_config_matches_the_task_spec_and_constructor_defaults(path):
    cfg = OmegaConf.to_container(OmegaConf.load(path))
    spec = tasks.spec(cfg["name"])
    assert cfg["name"] == path.stem
    assert (cfg["horizon"], cfg["batch_size"], cfg["cost_gae_lambda"]) == (
        spec.horizon, spec.batch_size, spec.cost_gae_lambda)
    assert np.atleast_1d(cfg["cost_limit"]).tolist() == np.atleast_1d(spec.cost_limit).tolist()
    assert tuple(cfg.get("cost_names", ["cost"])) == spec.cost_names
    assert cfg["total_steps"] >= cfg["batch_size"] and cfg["total_steps"] % cfg["batch_size"] == 0
    defaults = {key: parameter.default for key, parameter in inspect.signature(spec.entry_point).parameters.items()
                if key != "render_mode"}
    assert cfg["params"] == defaults


@pytest.mark.parametrize("name", ALL_TASKS)
def test_passes_gymnasiums_env_checker(name):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(tasks.make(name).unwrapped, skip_render_check=True)
    allowed = UNBOUNDED + ((NOT_NORMALIZED,) if name in TORQUE_TASKS else ())
    remarks = [str(w.message) for w in caught if not any(text in str(w.message) for text in allowed)]
    assert remarks == []


def rollout(name: str, seed: int, steps: int = 40) -> list:
    """Observations, rewards, costs and flags of a seeded run with seeded random actions."""
    env = tasks.make(name)
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    record = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        record.append((obs, reward, info["cost"], terminated, truncated))
        if terminated or truncated:
            record.append(env.reset()[0])
    return record


def same(a: list, b: list) -> bool:
    """Equal records: observations bit for bit, rewards, costs and flags exactly."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, tuple):
            if not (np.array_equal(x[0], y[0]) and x[1:] == y[1:]):
                return False
        elif not np.array_equal(x, y):
            return False
    return True


@pytest.mark.parametrize("name", ALL_TASKS)
def test_deterministic_under_reset_seed(name):
    assert same(rollout(name, seed=5), rollout(name, seed=5))
    assert not np.array_equal(rollout(name, seed=5, steps=0)[0], rollout(name, seed=6, steps=0)[0])


@pytest.mark.parametrize("name", ALL_TASKS)
def test_every_step_reports_cost_and_diagnostics(name):
    diagnostics = {"circle": {"x", "y"}, "gather": {"apples", "bombs"}, "velocity": {"speed", "x_velocity"}}
    kind = next(key for key in diagnostics if key in name)
    env = tasks.make(name)
    env.reset(seed=0)
    for _ in range(20):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert isinstance(info["cost"], float) and info["cost"] >= 0.0
        assert diagnostics[kind] <= set(info)
        assert env.observation_space.contains(obs) and isinstance(reward, float)
        if terminated or truncated:
            env.reset()


@pytest.mark.parametrize("name", ALL_TASKS)
def test_horizon_override_truncates(name):
    env = tasks.make(name, horizon=3)
    env.reset(seed=0)
    zero = np.zeros(env.action_space.shape, dtype=np.float32)
    flags = [env.step(zero)[2:4] for _ in range(3)]
    assert flags == [(False, False), (False, False), (False, True)]


@pytest.mark.parametrize("name", ALL_TASKS)
def test_unknown_parameter_is_rejected(name):
    with pytest.raises(TypeError):
        tasks.make(name, no_such_parameter=1.0)
