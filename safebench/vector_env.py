"""Vectorized environments stepped one after another in the calling process (the rollout
loop's, in-process or in a worker).

The contract: ``reset(seeds) -> obs`` and ``step(actions) -> VectorStep``
with automatic reset of finished episodes inside the same call, so that ``obs`` is always the
observation the policy acts on next and ``final_obs`` keeps what a finished episode ended in.
Costs come as (num_envs, num_costs): ``info["cost"]`` for one constraint, the vector
``info["costs"]`` for a task with several. Rewards come twice: what the algorithm learns from, and the
task's own (``info["task_reward"]`` where the algorithm's wrapper reshaped the reward), which is logged.

Where the task offers it (``tasks/many_steps.py``) and nothing but the time limit wraps it, all
environments step in one ``step_many`` call: the same numbers, without a Python ``env.step`` each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import TimeLimit


@dataclass
class VectorStep:
    """One step of every environment; arrays have a leading num_envs axis."""

    obs: np.ndarray  # next observations (after auto-reset where an episode ended)
    rewards: np.ndarray  # what the algorithm learns from (a wrapper's reward where ``Algorithm.wrap_env`` reshapes it)
    task_rewards: np.ndarray  # the task's own reward (info["task_reward"] where a wrapper reshaped it): what is logged
    costs: np.ndarray  # (num_envs, num_costs)
    terminated: np.ndarray
    truncated: np.ndarray
    final_obs: np.ndarray  # the last observation of episodes that ended (rows where done)


class SyncVectorEnv:
    """Steps a list of environments one after another in the calling process."""

    def __init__(self, env_fns: Sequence[Callable[[], gym.Env]], num_costs: int = 1) -> None:
        self.envs = [fn() for fn in env_fns]
        self.num_envs, self.num_costs = len(self.envs), num_costs
        obs_dim = int(np.prod(self.envs[0].observation_space.shape))
        self._obs = np.zeros((self.num_envs, obs_dim))
        self._final = np.zeros_like(self._obs)
        self.steps_many = num_costs == 1 and all(can_step_many(env) for env in self.envs)
        if self.steps_many:
            self._tasks = [env.unwrapped for env in self.envs]
            self._horizon = np.array([env.get_wrapper_attr("_max_episode_steps") for env in self.envs])
            self._elapsed = np.zeros(self.num_envs, np.int64)

    def reset(self, seeds: Sequence[int]) -> np.ndarray:
        for i, (env, seed) in enumerate(zip(self.envs, seeds)):
            self._obs[i] = env.reset(seed=int(seed))[0]
        if self.steps_many:
            self._elapsed[:] = 0
        return self._obs.copy()

    def step(self, actions: np.ndarray) -> VectorStep:
        if self.steps_many:
            return self._step_many(actions)
        n = self.num_envs
        rewards, task_rewards, costs = np.zeros(n), np.zeros(n), np.zeros((n, self.num_costs))
        terminated, truncated = np.zeros(n, bool), np.zeros(n, bool)
        for i, env in enumerate(self.envs):
            obs, rewards[i], terminated[i], truncated[i], info = env.step(actions[i])
            costs[i] = step_costs(info, self.num_costs)
            task_rewards[i] = info.get("task_reward", rewards[i])
            if terminated[i] or truncated[i]:
                self._final[i] = obs
                obs = env.reset()[0]
            self._obs[i] = obs
        return VectorStep(self._obs.copy(), rewards, task_rewards, costs, terminated, truncated, self._final.copy())

    def _step_many(self, actions: np.ndarray) -> VectorStep:
        """``step`` through the task's ``step_many``, with the time limit counted here."""
        many = type(self._tasks[0]).step_many(self._tasks, actions)
        self._elapsed += 1
        truncated = self._elapsed >= self._horizon
        self._obs[:] = many.obs
        for i in np.flatnonzero(many.terminated | truncated):
            self._final[i] = many.obs[i]
            self._obs[i] = self.envs[i].reset()[0]
            self._elapsed[i] = 0
        return VectorStep(self._obs.copy(), many.rewards, many.rewards.copy(), many.costs[:, None].copy(),
                          many.terminated, truncated, self._final.copy())

    def close(self) -> None:
        for env in self.envs:
            env.close()


def can_step_many(env: gym.Env) -> bool:
    """True for a task with a ``step_many`` fast path wrapped in nothing but its time limit."""
    return (type(env) is TimeLimit and callable(getattr(env.env, "step_many", None))
            and bool(getattr(env.env, "can_step_many", False)))


def step_costs(info: dict, num_costs: int) -> np.ndarray | float:
    """A step's cost(s): ``info["cost"]`` for one constraint, the vector ``info["costs"]`` for several."""
    if num_costs == 1:
        return info["cost"]
    costs = np.asarray(info["costs"], dtype=float)
    if costs.shape != (num_costs,):
        raise ValueError(f"the task declares {num_costs} constraints but its step info['costs'] has shape "
                         f"{costs.shape}")
    return costs



def probe_spaces(env_fn: Callable[[], gym.Env]) -> tuple[gym.Space, gym.Space]:
    """The observation and action spaces of the task, from a throwaway environment."""
    env = env_fn()
    try:
        return env.observation_space, env.action_space
    finally:
        env.close()
