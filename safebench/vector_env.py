"""Vectorized environments stepped one after another in the calling process (the rollout
loop's, in-process or in a worker).

The contract: ``reset(seeds) -> obs`` and ``step(actions) -> VectorStep``
with automatic reset of finished episodes inside the same call, so that ``obs`` is always the
observation the policy acts on next and ``final_obs`` keeps what a finished episode ended in.
Costs come as (num_envs, num_costs): ``info["cost"]`` for one constraint, the vector
``info["costs"]`` for a task with several. Rewards come twice: what the algorithm learns from, and the
task's own (``info["task_reward"]`` where the algorithm's wrapper reshaped the reward), which is logged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np


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

    def reset(self, seeds: Sequence[int]) -> np.ndarray:
        for i, (env, seed) in enumerate(zip(self.envs, seeds)):
            self._obs[i] = env.reset(seed=int(seed))[0]
        return self._obs.copy()

    def step(self, actions: np.ndarray) -> VectorStep:
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

    def close(self) -> None:
        for env in self.envs:
            env.close()


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
