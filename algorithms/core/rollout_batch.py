"""The data contract between the sampler (which fills it) and the algorithms (which learn from it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RolloutBatch:
    """One update's worth of experience, env-major: arrays of shape (num_envs, steps_per_env, ...).

    Costs carry a last axis of length m, one column per constraint (m = 1 for most tasks).
    Observations are already normalized (if normalization is on). ``bootstrap_index`` lists the
    flat indices (into num_envs * steps_per_env) of steps whose successor must be valued from
    ``bootstrap_obs`` rather than from the next row element: steps truncated by the time limit and
    the last step of each row when the batch cut an episode short.
    """

    obs: np.ndarray  # (N, T, obs_dim) float32
    actions: np.ndarray  # (N, T, act_dim) float32, as sampled (before clipping to the action box)
    log_probs: np.ndarray  # (N, T) float32, under the policy that collected the batch
    rewards: np.ndarray  # (N, T) float64
    costs: np.ndarray  # (N, T, m) float64, one column per constraint
    terminated: np.ndarray  # (N, T) bool: the episode ended in a terminal state (no bootstrap)
    episode_end: np.ndarray  # (N, T) bool: terminated or truncated after this step
    bootstrap_index: np.ndarray  # (k,) int64 flat indices
    bootstrap_obs: np.ndarray  # (k, obs_dim) float32
    episode_returns: np.ndarray  # (E,) completed episodes only
    episode_costs: np.ndarray  # (E, m)
    episode_lengths: np.ndarray  # (E,)

    @property
    def num_steps(self) -> int:
        return int(self.rewards.size)

    @property
    def num_constraints(self) -> int:
        return int(self.costs.shape[-1])

    @property
    def episode_cost_mean(self) -> np.ndarray:
        """J_C estimate per constraint, (m,): mean undiscounted episode cost; else cost rate x row length."""
        if len(self.episode_costs):
            return np.array([self.episode_cost_column(k).mean() for k in range(self.num_constraints)])
        return np.array([self.cost_column(k).mean() * self.rewards.shape[1] for k in range(self.num_constraints)])

    def cost_column(self, k: int) -> np.ndarray:
        """Per-step costs of constraint k, (N, T), contiguous (sums then match the one-constraint code bit for bit)."""
        return np.ascontiguousarray(self.costs[..., k])

    def episode_cost_column(self, k: int) -> np.ndarray:
        """Completed episodes' costs of constraint k, (E,)."""
        return np.ascontiguousarray(self.episode_costs[:, k])

    @property
    def mean_episode_length(self) -> float:
        """T-bar, the trajectory length that scales the cost gradient: the mean length of completed episodes.

        The released code divides the batch's steps by its number of paths, all complete. Here rows can
        end in an episode the batch cut short, which is not a whole trajectory, so only completed
        episodes count. With none completed, steps per segment (cut ones included) is the best there is.
        """
        if len(self.episode_lengths):
            return float(np.mean(self.episode_lengths))
        segments = int(self.episode_end[:, :-1].sum()) + self.episode_end.shape[0]
        return self.num_steps / segments
