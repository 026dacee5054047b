"""IPO (Liu, Ding & Liu, AAAI 2020): Interior-point Policy Optimization, OmniSafe's practical form.

PPO-clip plus a log barrier on the constraint: maximize L_clip + (1/t) log(d - J_C_hat), where
J_C_hat = J_C + (cost surrogate of the new policy). The barrier's gradient at pi_k is
-(1/t) / (d - J_C) times the cost surrogate's, so the step is PPO on the penalized advantage
(A_r - p A_C) / (1 + p) with p = kappa / (d - J_C) (kappa = 1/t): the weight grows as J_C
approaches d. Where the barrier is undefined (J_C >= d) or p would exceed penalty_max, p is
penalty_max (OmniSafe's IPO). With several constraints, one barrier per constraint.
"""

from __future__ import annotations

import numpy as np

from algorithms.core.penalized_ppo import PenalizedPPO


def ipo_penalty(episode_cost: float, cost_limit: float, kappa: float, penalty_max: float) -> float:
    """kappa / (d - J_C): the log barrier's weight on the cost advantage; penalty_max once infeasible."""
    penalty = kappa / (cost_limit - episode_cost + 1e-8)
    return penalty_max if penalty < 0 or penalty > penalty_max else penalty


class IPO(PenalizedPPO):
    """PPO on the penalized advantage, the weight from the barrier instead of a learned multiplier."""

    def __init__(self, *args, kappa: float = 0.01, penalty_max: float = 1.0, **kwargs) -> None:
        super().__init__(*args, lambda_init=0.0, **kwargs)
        self.kappa, self.penalty_max = float(kappa), float(penalty_max)

    def next_multipliers(self, episode_costs: np.ndarray) -> np.ndarray:
        return np.array([ipo_penalty(float(cost), float(limit), self.kappa, self.penalty_max)
                         for cost, limit in zip(episode_costs, self.cost_limits, strict=True)])
