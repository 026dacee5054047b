"""The contract every algorithm implements, so the harness can train and checkpoint any of them."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import TYPE_CHECKING

from algorithms.core.policy import GaussianPolicy
from algorithms.core.rollout_batch import RolloutBatch

if TYPE_CHECKING:
    import gymnasium as gym


class Algorithm(abc.ABC):
    """An on-policy learner: the harness samples with ``policy`` and hands batches to ``update``.

    Constructor arguments are ``obs_dim``, ``act_dim``, ``cost_limit`` and ``seed`` (from the
    harness) plus every key of the algorithm's YAML file except ``name`` and ``_target_``.
    ``cost_limit`` is a float, or a list of m floats for a task with m constraints; an algorithm
    that handles only one sets ``max_constraints = 1`` and ``constraint_limits`` refuses more.
    """

    policy: GaussianPolicy
    max_constraints: int | None = None  # None: any number of simultaneous constraints
    # True where an update costs about CPO's (one trust-region step per batch), so that a wall-time estimate may
    # take CPO's bench rate; epochs of minibatch steps can cost far more than the sampling (safebench.wall_time)
    update_costs_like_cpo: bool = False
    # How reports name the algorithm's runs: the name the CPO paper's figures give it (shown next to the config
    # name; None where the paper has none), and the hyperparameters whose values make separate arms of a sweep
    # (fixed_penalty(beta=5) and fixed_penalty(beta=50) are two curves, not one)
    paper_name: str | None = None
    label_keys: tuple[str, ...] = ()

    @classmethod
    def constraint_limits(cls, cost_limit: float | Sequence[float]) -> list[float]:
        """The limits d_1..d_m as a list; a clear error when this algorithm cannot handle m of them."""
        limits = [float(v) for v in cost_limit] if isinstance(cost_limit, Sequence) else [float(cost_limit)]
        if cls.max_constraints is not None and len(limits) > cls.max_constraints:
            raise ValueError(f"{cls.__name__} handles at most {cls.max_constraints} constraint(s) but the task "
                             f"declares {len(limits)}; pick an algorithm that supports several (README, Algorithms)")
        return limits

    @classmethod
    def wrap_env(cls, env: gym.Env, cost_limit: float | Sequence[float], horizon: int, **hyperparameters) -> gym.Env:
        """The environment the algorithm learns in (default: the task's own), so that state augmentation
        or reward reshaping (Saute) needs no harness edit.

        The harness applies it to every environment it builds (training, workers, evaluation, video),
        with the task's limit and horizon and the algorithm's YAML keys, and takes the observation space
        from the result. A wrapper that changes the reward keeps the task's own in ``info["task_reward"]``:
        the logged returns are the task's, the batch's ``rewards`` the wrapper's."""
        return env

    @abc.abstractmethod
    def update(self, batch: RolloutBatch) -> dict[str, float]:
        """Learn from one batch; return diagnostics, one column each in progress.csv."""

    @abc.abstractmethod
    def state_dict(self) -> dict:
        """Everything needed to resume exactly: networks, optimizers, multipliers, RNG."""

    @abc.abstractmethod
    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned."""
