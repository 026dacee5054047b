"""Fixed-penalty TRPO (the paper's Figure 3): TRPO on reward - beta * cost."""

from __future__ import annotations

import torch

from algorithms.actor_critic import UpdateData, standardize
from algorithms.trust_region import TrustRegionAlgorithm


class FixedPenalty(TrustRegionAlgorithm):
    """The constraint becomes a fixed price ``beta`` per unit of cost."""

    def __init__(self, *args, beta: float = 1.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.beta = float(beta)

    def policy_advantages(self, data: UpdateData) -> torch.Tensor:
        return standardize(data.reward_advantages - self.beta * data.cost_advantages)
