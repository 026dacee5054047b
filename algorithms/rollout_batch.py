"""The data contract between the sampler (which fills it) and the algorithms (which learn from it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RolloutBatch:
    """One update's worth of experience, env-major: arrays of shape (num_envs, steps_per_env, ...).

    Observations are already normalized (if normalization is on). ``bootstrap_index`` lists the
    flat indices (into num_envs * steps_per_env) of steps whose successor must be valued from
    ``bootstrap_obs`` rather than from the next row element: steps truncated by the time limit and
    the last step of each row when the batch cut an episode short.
    """

    obs: np.ndarray  # (N, T, obs_dim) float32
    actions: np.ndarray  # (N, T, act_dim) float32, as sampled (before clipping to the action box)
    log_probs: np.ndarray  # (N, T) float32, under the policy that collected the batch
    rewards: np.ndarray  # (N, T) float64
    costs: np.ndarray  # (N, T) float64
    terminated: np.ndarray  # (N, T) bool: the episode ended in a terminal state (no bootstrap)
    episode_end: np.ndarray  # (N, T) bool: terminated or truncated after this step
    bootstrap_index: np.ndarray  # (k,) int64 flat indices
    bootstrap_obs: np.ndarray  # (k, obs_dim) float32
    episode_returns: np.ndarray  # (E,) completed episodes only
    episode_costs: np.ndarray  # (E,)
    episode_lengths: np.ndarray  # (E,)

    @property
    def num_steps(self) -> int:
        return int(self.rewards.size)

    @property
    def episode_cost_mean(self) -> float:
        """J_C estimate: mean undiscounted episode cost; falls back to cost rate x mean length."""
        if len(self.episode_costs):
            return float(self.episode_costs.mean())
        return float(self.costs.mean() * self.rewards.shape[1])

    @property
    def mean_episode_length(self) -> float:
        """Average trajectory length T-bar: steps per episode segment in the batch."""
        segments = int(self.episode_end[:, :-1].sum()) + self.episode_end.shape[0]
        return self.num_steps / segments
