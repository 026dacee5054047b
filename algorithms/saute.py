"""Saute RL (Sootla et al., ICML 2022): state augmentation with the remaining safety budget, on PPO.

The environment the policy learns in (``Algorithm.wrap_env``) carries the normalized remaining
budget z as one more observation: z_0 = 1, z_{t+1} = (z_t - c_t / D) / gamma_s, where D is the
cost limit d rescaled to the saute discount gamma_s, D = d (1 - gamma_s^T) / ((1 - gamma_s) T) with T
the task's horizon (OmniSafe's ``safety_budget`` scaling; D = d for gamma_s = 1). While z > 0 the
reward is the task's; once the budget is spent it is ``unsafe_reward``, so the constraint is
enforced by the augmented MDP itself, and the learner is plain PPO without a cost critic or a
multiplier (OmniSafe's PPOSaute). That holds only while a spent budget is worth less than any safe
behaviour: the paper's rule puts ``unsafe_reward`` at or below the task's worst per-step reward
(conf/algo/saute.yaml). The wrapper keeps the task's reward in info["task_reward"], which
is what the harness logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from algorithms.core.first_order import FirstOrderAlgorithm


def saute_budget(cost_limit: float, saute_gamma: float, horizon: int) -> float:
    """D: the undiscounted limit d as a budget of gamma_s-discounted cost over T steps (OmniSafe's scaling)."""
    if saute_gamma == 1.0:
        return float(cost_limit)
    return float(cost_limit) * (1.0 - saute_gamma**horizon) / ((1.0 - saute_gamma) * horizon)


def saute_step(budget_left: float, cost: float, budget: float, saute_gamma: float) -> float:
    """z_{t+1} = (z_t - c_t / D) / gamma_s: the normalized budget left after a step of cost c_t."""
    return (budget_left - cost / budget) / saute_gamma


class SauteWrapper(gym.Wrapper):
    """Appends the normalized remaining budget z to the observation; the reward is ``unsafe_reward`` once z <= 0."""

    def __init__(self, env: gym.Env, budget: float, saute_gamma: float, unsafe_reward: float) -> None:
        super().__init__(env)
        self.budget, self.saute_gamma, self.unsafe_reward = float(budget), float(saute_gamma), float(unsafe_reward)
        space = env.observation_space
        low, high = np.append(space.low, -np.inf), np.append(space.high, np.inf)
        self.observation_space = gym.spaces.Box(low.astype(space.dtype), high.astype(space.dtype), dtype=space.dtype)
        self.budget_left = 1.0

    def _augment(self, obs: np.ndarray) -> np.ndarray:
        return np.append(obs, self.budget_left).astype(self.observation_space.dtype)

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict]:
        obs, info = self.env.reset(**kwargs)
        self.budget_left = 1.0
        return self._augment(obs), info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.budget_left = saute_step(self.budget_left, float(info["cost"]), self.budget, self.saute_gamma)
        shaped = float(reward) if self.budget_left > 0 else self.unsafe_reward  # OmniSafe: z after the step
        return self._augment(obs), shaped, terminated, truncated, info | {"task_reward": float(reward)}


class Saute(FirstOrderAlgorithm):
    """PPO in the budget-augmented environment: no cost critic, no multiplier."""

    uses_cost_critic = False  # the constraint lives in the augmented reward
    max_constraints = 1  # one budget

    def __init__(self, *args, saute_gamma: float = 0.999, unsafe_reward: float = -15.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.saute_gamma, self.unsafe_reward = float(saute_gamma), float(unsafe_reward)  # YAML keys wrap_env reads

    @classmethod
    def wrap_env(cls, env: gym.Env, cost_limit: float | Sequence[float], horizon: int, *, saute_gamma: float = 0.999,
                 unsafe_reward: float = -15.0, **_: Any) -> gym.Env:
        (limit,) = cls.constraint_limits(cost_limit)
        return SauteWrapper(env, saute_budget(limit, saute_gamma, horizon), saute_gamma, unsafe_reward)
