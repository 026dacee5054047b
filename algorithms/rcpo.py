"""RCPO (Tessler, Mankowitz & Mannor, ICLR 2019): Reward Constrained Policy Optimization.

The penalty enters the reward itself: one critic learns the per-step penalized reward
r - lambda . c (the paper's "discounted penalty" folded into the return), GAE runs on it and PPO
ascends its standardized advantage. The multiplier moves on a slower timescale, once per update
before the step, by the paper's projected ascent lambda <- max(0, lambda + lr (J_C - d))
(``LagrangeMultiplier`` with SGD; ``lambda_optimizer=adam`` is OmniSafe's, whose momentum can keep
lambda rising for an update or two after the violation ends).
The policy learner is PPO, as in the paper's MuJoCo experiments (OmniSafe's RCPO takes natural
gradient steps on (A_r - lambda A_C) / (1 + lambda) with two critics; the trust-region variant on
the penalized reward is this suite's ``lagrangian``).
"""

from __future__ import annotations

import numpy as np

from algorithms.core.actor_critic import UpdateData
from algorithms.core.first_order import FirstOrderAlgorithm
from algorithms.core.lagrange_multiplier import CheckpointedMultipliers, LagrangeMultiplier
from algorithms.core.rollout_batch import RolloutBatch


def penalized_rewards(rewards: np.ndarray, costs: np.ndarray, multipliers: np.ndarray) -> np.ndarray:
    """r - sum_k lambda_k c_k per step, (N, T): the signal RCPO's one critic learns."""
    return rewards - costs @ np.asarray(multipliers, dtype=float)


class RCPO(CheckpointedMultipliers, FirstOrderAlgorithm):
    """PPO on the penalized reward's advantage; the multiplier by projected ascent before each update."""

    def __init__(self, *args, lambda_init: float = 0.001, lambda_lr: float = 0.035, lambda_optimizer: str = "sgd",
                 lambda_max: float | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lagrange = LagrangeMultiplier(lambda_init, lambda_lr, lambda_optimizer, lambda_max,
                                           count=self.num_constraints)
        self.multipliers = np.full(self.num_constraints, float(lambda_init))

    @property
    def fits_cost_critics(self) -> bool:
        return False  # one critic, on r - lambda . c

    def prepare(self, batch: RolloutBatch) -> tuple[UpdateData, dict[str, float]]:
        """Move lambda on this batch's J_C first, so that the critic and GAE see the penalty in force."""
        self.multipliers = np.atleast_1d(self.lagrange.step(batch.episode_cost_mean - self.cost_limits))
        data, stats = super().prepare(batch)
        return data, stats | self.per_constraint("lagrange_multiplier", self.multipliers)

    def critic_rewards(self, batch: RolloutBatch) -> np.ndarray:
        return penalized_rewards(batch.rewards, batch.costs, self.multipliers)
