"""PPO-Lagrangian (Ray, Achiam & Amodei 2019; OmniSafe's PPOLag defaults).

PPO on the penalized advantage (A_r - lambda A_C) / (1 + lambda), A_r standardized and A_C only
centred (as OmniSafe: the multiplier's rate and start were tuned for the cost's own scale),
with the multiplier learned by gradient ascent on lambda (J_C - d) before each policy step and
projected onto [0, lambda_max]. With several constraints, one multiplier per constraint.
"""

from __future__ import annotations

import numpy as np

from algorithms.core.lagrange_multiplier import CheckpointedMultipliers, LagrangeMultiplier
from algorithms.core.penalized_ppo import PenalizedPPO


class PPOLagrangian(CheckpointedMultipliers, PenalizedPPO):
    """The multiplier by (projected) gradient ascent, taken before each policy step as OmniSafe does."""

    def __init__(self, *args, lambda_init: float = 0.001, lambda_lr: float = 0.035, lambda_optimizer: str = "adam",
                 lambda_max: float | None = None, **kwargs) -> None:
        super().__init__(*args, lambda_init=lambda_init, **kwargs)
        self.lagrange = LagrangeMultiplier(lambda_init, lambda_lr, lambda_optimizer, lambda_max,
                                           count=self.num_constraints)

    def next_multipliers(self, episode_costs: np.ndarray) -> np.ndarray:
        return self.lagrange.step(episode_costs - self.cost_limits)
