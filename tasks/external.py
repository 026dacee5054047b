"""Any gymnasium environment as a safebench task, without writing an env class.

``register_gymnasium_task`` wraps ``gymnasium.make(env_id)`` so that every step's ``info`` holds
``cost``: the environment's own ``info["cost"]``, or ``cost_fn(observation, action, reward, info,
**cost_params)`` when one is given. The task's parameters (``task.params`` in its YAML) are the
``gymnasium.make`` keyword arguments plus the cost function's parameters, with their defaults.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import TimeLimit

from tasks.registry import TaskSpec, register

CostFn = Callable[..., float]


class CostFromFunction(gym.Wrapper):
    """Puts ``cost_fn(observation, action, reward, info, **cost_params)`` into ``info["cost"]``."""

    def __init__(self, env: gym.Env, cost_fn: CostFn, cost_params: dict[str, Any]) -> None:
        super().__init__(env)
        self.cost_fn, self.cost_params = cost_fn, cost_params

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        info = dict(info, cost=float(self.cost_fn(obs, action, reward, info, **self.cost_params)))
        return obs, reward, terminated, truncated, info


class RequireCost(gym.Wrapper):
    """Checks that the environment reports ``info["cost"]`` itself; says what to do when it does not."""

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if "cost" not in info:
            raise KeyError(f"{self.env.spec.id if self.env.spec else self.env} does not put 'cost' in its step "
                           f"info; register it with cost_fn=... (see docs/adding_a_task.md)")
        return obs, reward, terminated, truncated, info


def _without_time_limit(env: gym.Env) -> gym.Env:
    """Drop gymnasium's own TimeLimit: ``tasks.make`` applies the task's horizon instead."""
    return env.env if isinstance(env, TimeLimit) else env


def _check_spaces(env_id: str, env: gym.Env) -> None:
    """The policies here are Gaussian on flat vectors: continuous actions, flat observations."""
    if not isinstance(env.action_space, gym.spaces.Box) or not isinstance(env.observation_space, gym.spaces.Box):
        raise ValueError(f"{env_id}: safebench needs Box observation and action spaces, got "
                         f"{env.observation_space} and {env.action_space}")
    if not np.all(np.isfinite(env.action_space.low)) or not np.all(np.isfinite(env.action_space.high)):
        raise ValueError(f"{env_id}: the action space must be bounded (actions are clipped to it)")


def gymnasium_entry_point(env_id: str, cost_fn: CostFn | None = None, cost_params: dict[str, Any] | None = None,
                          **env_kwargs: Any) -> Callable[..., gym.Env]:
    """A constructor ``(render_mode=None, **params) -> Env`` whose signature lists every parameter.

    The explicit signature is what the harness checks ``task.params`` against.
    """
    cost_params = dict(cost_params or {})
    clash = sorted(set(cost_params) & set(env_kwargs))
    if clash:
        raise ValueError(f"{env_id}: cost parameter(s) {', '.join(clash)} clash with environment arguments")

    def make_env(render_mode: str | None = None, **params: Any) -> gym.Env:
        unknown = sorted(set(params) - set(env_kwargs) - set(cost_params))
        if unknown:
            raise TypeError(f"{env_id}: unknown parameter(s) {', '.join(unknown)}")
        make_kwargs = {k: params.get(k, v) for k, v in env_kwargs.items()}
        env = _without_time_limit(gym.make(env_id, render_mode=render_mode, disable_env_checker=True,
                                           **make_kwargs))
        _check_spaces(env_id, env)
        if cost_fn is None:
            return RequireCost(env)
        return CostFromFunction(env, cost_fn, {k: params.get(k, v) for k, v in cost_params.items()})

    parameters = [inspect.Parameter("render_mode", inspect.Parameter.KEYWORD_ONLY, default=None)]
    parameters += [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v)
                   for k, v in {**env_kwargs, **cost_params}.items()]
    make_env.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    make_env.__name__ = f"make_{env_id}"
    return make_env


def register_gymnasium_task(
    name: str,
    env_id: str,
    horizon: int,
    cost_limit: float,
    batch_size: int,
    cost_gae_lambda: float,
    cost_fn: CostFn | None = None,
    cost_params: dict[str, Any] | None = None,
    robot: str = "external",
    **env_kwargs: Any,
) -> TaskSpec:
    """Register ``gymnasium.make(env_id, **env_kwargs)`` as the task ``name`` (gym id ``safebench/<Name>-v0``)."""
    gym_id = "safebench/" + "".join(part.capitalize() for part in name.split("_")) + "-v0"
    spec = TaskSpec(name=name, gym_id=gym_id, robot=robot, horizon=int(horizon),
                    cost_limit=float(cost_limit), batch_size=int(batch_size), cost_gae_lambda=float(cost_gae_lambda),
                    entry_point=gymnasium_entry_point(env_id, cost_fn, cost_params, **env_kwargs))
    register(spec)
    return spec
