"""The task registry: one name per task, also registered as a gymnasium id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
from gymnasium.wrappers import TimeLimit


@dataclass(frozen=True)
class TaskSpec:
    """What a task declares besides its env class: the paper's episode and constraint numbers."""

    name: str
    gym_id: str
    entry_point: Callable[..., gym.Env]
    robot: str
    horizon: int
    cost_limit: float | tuple[float, ...]  # d, or one d_k per constraint of info["costs"]
    batch_size: int
    cost_gae_lambda: float
    cost_names: tuple[str, ...] = ("cost",)  # one per constraint (several: the step info carries "costs")


_TASKS: dict[str, TaskSpec] = {}


def register(spec: TaskSpec) -> None:
    """Add a task under its name and its gymnasium id (called by each task module on import)."""
    _TASKS[spec.name] = spec
    if spec.gym_id not in gym.registry:
        gym.register(id=spec.gym_id, entry_point=spec.entry_point, max_episode_steps=spec.horizon,
                     disable_env_checker=True)


def names() -> list[str]:
    """Every registered task name, sorted."""
    return sorted(_TASKS)


def spec(name: str) -> TaskSpec:
    """The spec of a task; a KeyError lists the known names."""
    if name not in _TASKS:
        raise KeyError(f"unknown task {name!r}; available: {', '.join(names())}")
    return _TASKS[name]


def make(name: str, horizon: int | None = None, render_mode: str | None = None, **overrides) -> gym.Env:
    """Build a task with its time limit (``horizon``, default the paper's) and parameter overrides."""
    task = spec(name)
    env = task.entry_point(render_mode=render_mode, **overrides)
    return TimeLimit(env, max_episode_steps=int(horizon or task.horizon))
