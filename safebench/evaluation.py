"""Deterministic evaluation: the policy's mean action on environments of its own, every few updates.

Training curves average the *exploring* policy; what a trained policy costs when deployed is its
mean action's. The evaluation environments are separate instances reset from their own seed stream
and the policy acts without noise, so evaluation draws from no generator training uses: a run's
training numbers are bit for bit the same with evaluation on or off, and a resumed run evaluates
the same episodes (the seeds depend only on the run's seed and the update).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch

from algorithms.core.observation_normalizer import ObservationNormalizer
from algorithms.core.policy import GaussianPolicy
from safebench.constraints import Constraints
from safebench.vector_env import SyncVectorEnv

EVAL_STREAM = 0xE7A1  # keeps evaluation seeds apart from the training batches' (safebench.seeding)


def evaluation_seeds(seed: int, epoch: int, episodes: int) -> list[int]:
    """Reset seeds of the evaluation episodes after update ``epoch``: a stream training never draws from."""
    return [int(s) for s in np.random.SeedSequence([seed, epoch, EVAL_STREAM]).generate_state(episodes)]


def evaluation_columns(constraints: Constraints) -> list[str]:
    """The progress.csv columns evaluation fills (NaN in the rows of updates it skips)."""
    costs = [constraints.column("eval_cost_mean", k) for k in range(constraints.count)]
    return ["eval_return_mean", *costs, "eval_ep_len_mean"]


class Evaluator:
    """Runs ``episodes`` episodes side by side, one per environment, with the policy's mean action."""

    def __init__(self, env_fn: Callable[[], gym.Env], episodes: int, constraints: Constraints, seed: int) -> None:
        self.env_fn, self.episodes, self.constraints, self.seed = env_fn, int(episodes), constraints, int(seed)
        self.envs: SyncVectorEnv | None = None  # built at the first evaluation

    def due(self, epoch: int, every: int, last_epoch: int) -> bool:
        """Whether to evaluate after update ``epoch`` (1-based): every ``every`` updates and after the last."""
        return every > 0 and self.episodes > 0 and (epoch % every == 0 or epoch == last_epoch)

    @torch.no_grad()
    def run(self, policy: GaussianPolicy, normalizer: ObservationNormalizer, epoch: int) -> dict[str, float]:
        """Mean return, cost per constraint and length of one episode per environment."""
        if self.envs is None:
            self.envs = SyncVectorEnv([self.env_fn] * self.episodes, self.constraints.count)
        low, high = self.envs.envs[0].action_space.low, self.envs.envs[0].action_space.high
        obs = self.envs.reset(evaluation_seeds(self.seed, epoch, self.episodes))
        returns, lengths = np.zeros(self.episodes), np.zeros(self.episodes, np.int64)
        costs = np.zeros((self.episodes, self.constraints.count))
        running = np.ones(self.episodes, bool)
        while running.any():  # every episode ends: by the task, or at its time limit
            actions = policy.mean_action(torch.from_numpy(normalizer.normalize(obs))).numpy()
            step = self.envs.step(np.clip(actions, low, high))
            returns += np.where(running, step.task_rewards, 0.0)
            costs += np.where(running[:, None], step.costs, 0.0)
            lengths += running
            running &= ~(step.terminated | step.truncated)  # finished ones auto-reset: their steps no longer count
            obs = step.obs
        names = evaluation_columns(self.constraints)
        values = [float(returns.mean()), *(float(c) for c in costs.mean(axis=0)), float(lengths.mean())]
        return dict(zip(names, values))

    def skipped(self) -> dict[str, float]:
        """The evaluation columns of an update that was not evaluated."""
        return dict.fromkeys(evaluation_columns(self.constraints), math.nan)

    def close(self) -> None:
        if self.envs is not None:
            self.envs.close()
