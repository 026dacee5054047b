"""Collects one batch of experience: noise drawn up front, the rollout loop, the batch assembled.

``RolloutCollector`` runs the loop in this process (the simple path: one environment, debugging,
jobs of a multirun). ``safebench.rollout_workers.ParallelRolloutCollector`` runs the same loop in
worker processes, each with its own copy of the policy, and gives the same batch bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch

from algorithms.core.observation_normalizer import ObservationNormalizer
from algorithms.core.policy import GaussianPolicy
from algorithms.core.rollout_batch import RolloutBatch
from safebench.rollout import RolloutRecords, rollout_fields, run_rollout
from safebench.vector_env import SyncVectorEnv, probe_spaces


class RolloutCollector:
    """Runs the policy in ``num_envs`` environments of this process for ``steps_per_env`` steps each.

    The observation normalizer's statistics stay fixed during a batch and take in the batch's
    observations at its end (so that workers need not agree on them at every step)."""

    def __init__(self, env_fn: Callable[[], gym.Env], num_envs: int, policy: GaussianPolicy,
                 normalizer: ObservationNormalizer, generator: torch.Generator, num_costs: int = 1,
                 inference_batch: int = 8) -> None:
        self.observation_space, self.action_space = probe_spaces(env_fn)
        self.num_envs, self.num_costs, self.inference_batch = num_envs, num_costs, int(inference_batch)
        self.policy, self.normalizer, self.generator = policy, normalizer, generator
        self.low = self.action_space.low.astype(np.float32)
        self.high = self.action_space.high.astype(np.float32)
        self._start(env_fn)

    def _start(self, env_fn: Callable[[], gym.Env]) -> None:
        self.envs = SyncVectorEnv([env_fn] * self.num_envs, self.num_costs)

    @property
    def workers(self) -> int:
        """Worker processes collecting (0: this process)."""
        return 0

    def collect(self, steps_per_env: int, seeds: list[int]) -> RolloutBatch:
        """Reset every env with ``seeds`` and roll out; episodes cut by the batch end bootstrap."""
        obs_dim = int(np.prod(self.observation_space.shape))
        fields = rollout_fields(self.num_envs, steps_per_env, obs_dim, self.low.shape[0], self.num_costs,
                                raw_obs=self.normalizer.enabled)
        arrays = self._buffers(fields)
        for t in range(steps_per_env):  # one draw per step, in the order a step-by-step sampler draws them
            arrays["noise"][t] = torch.randn(arrays["noise"].shape[1:], generator=self.generator).numpy()
        records = self._run(arrays, list(seeds))
        if self.normalizer.enabled:
            self.normalizer.update(arrays["raw_obs"].reshape(-1, obs_dim))
        return assemble_batch(arrays, records, obs_dim, copy=self.reuses_buffers)

    reuses_buffers = False  # the workers' collector reuses one shared block: its batches must be copied out

    def _buffers(self, fields: dict) -> dict[str, np.ndarray]:
        """Arrays for one batch (the workers' collector puts them in shared memory)."""
        return {name: np.zeros(shape, dtype) for name, (shape, dtype) in fields.items()}

    def _run(self, arrays: dict[str, np.ndarray], seeds: list[int]) -> RolloutRecords:
        return run_rollout(self.envs, self.policy, self.normalizer, seeds, arrays, 0, self.inference_batch,
                           self.low, self.high)

    def close(self) -> None:
        self.envs.close()


def assemble_batch(arrays: dict[str, np.ndarray], records: RolloutRecords, obs_dim: int,
                   copy: bool = True) -> RolloutBatch:
    """The batch (its arrays copied out of ``arrays`` if they will be reused), episodes in the order
    they ended (step, then environment)."""
    episodes = np.lexsort((records.episode_env, records.episode_step))
    bootstraps = np.argsort(records.bootstrap_index, kind="stable")
    m = arrays["costs"].shape[-1]
    own = {name: a.copy() if copy else a for name, a in arrays.items()
           if name in ("obs", "actions", "log_probs", "rewards", "costs", "terminated", "episode_end")}
    return RolloutBatch(
        **own,
        bootstrap_index=np.asarray(records.bootstrap_index, np.int64)[bootstraps],
        bootstrap_obs=np.asarray(records.bootstrap_obs, np.float32).reshape(-1, obs_dim)[bootstraps],
        episode_returns=np.asarray(records.episode_return)[episodes],
        episode_costs=np.asarray(records.episode_costs).reshape(-1, m)[episodes],
        episode_lengths=np.asarray(records.episode_length)[episodes],
    )


def make_collector(env_fn: Callable[[], gym.Env], num_envs: int, policy: GaussianPolicy,
                   normalizer: ObservationNormalizer, generator: torch.Generator, num_costs: int = 1,
                   inference_batch: int = 8, workers: int = 0) -> RolloutCollector:
    """``workers`` = 0: collect in this process; > 0: in that many worker processes, at most one per
    group of ``inference_batch`` environments (a single group is collected in this process)."""
    if workers > 0 and num_envs > inference_batch:
        from safebench.rollout_workers import ParallelRolloutCollector

        return ParallelRolloutCollector(env_fn, num_envs, policy, normalizer, generator, num_costs,
                                        inference_batch, workers)
    return RolloutCollector(env_fn, num_envs, policy, normalizer, generator, num_costs, inference_batch)
