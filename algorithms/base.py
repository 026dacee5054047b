"""The contract every algorithm implements, so the harness can train and checkpoint any of them."""

from __future__ import annotations

import abc

from algorithms.policy import GaussianPolicy
from algorithms.rollout_batch import RolloutBatch


class Algorithm(abc.ABC):
    """An on-policy learner: the harness samples with ``policy`` and hands batches to ``update``.

    Constructor arguments are ``obs_dim``, ``act_dim``, ``cost_limit`` and ``seed`` (from the
    harness) plus every key of the algorithm's YAML file except ``name`` and ``_target_``.
    """

    policy: GaussianPolicy

    @abc.abstractmethod
    def update(self, batch: RolloutBatch) -> dict[str, float]:
        """Learn from one batch; return diagnostics, one column each in progress.csv."""

    @abc.abstractmethod
    def state_dict(self) -> dict:
        """Everything needed to resume exactly: networks, optimizers, multipliers, RNG."""

    @abc.abstractmethod
    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned."""
