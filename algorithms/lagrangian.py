"""Primal-dual optimization (PDO), the paper's Lagrangian baseline.

The policy takes a TRPO step on the advantage of reward - lambda * cost; then the multiplier
moves by dual gradient ascent: lambda <- max(0, lambda + lr * (J_C - d)).
"""

from __future__ import annotations

import torch

from algorithms.actor_critic import UpdateData, standardize
from algorithms.trust_region import TrustRegionAlgorithm


class Lagrangian(TrustRegionAlgorithm):
    """TRPO on the Lagrangian, with the multiplier learned by projected dual ascent."""

    def __init__(self, *args, lambda_lr: float = 0.01, lambda_init: float = 0.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lambda_lr = float(lambda_lr)
        self.multiplier = float(lambda_init)

    def policy_advantages(self, data: UpdateData) -> torch.Tensor:
        return standardize(data.reward_advantages - self.multiplier * data.cost_advantages)

    def after_update(self, data: UpdateData) -> dict[str, float]:
        used = self.multiplier
        self.multiplier = max(0.0, self.multiplier + self.lambda_lr * (data.episode_cost - self.cost_limit))
        return {"lagrange_multiplier": used}

    def state_dict(self) -> dict:
        return super().state_dict() | {"multiplier": self.multiplier}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.multiplier = state["multiplier"]
