"""CRPO (Xu, Liang & Lan 2021): Constraint-Rectified Policy Optimization, on the trust-region base.

Each update takes one TRPO step (natural gradient, then the backtracking line search) on a single
objective: the reward while every J_Ck <= d_k + eta (eta the tolerance, OmniSafe's ``distance``),
otherwise the cost of the most violated constraint (ascent on -A_C). No multiplier: the constraint
rectifies the objective. As OmniSafe, the advantage ascended is standardized; ``crpo_cost_step`` logs
which objective was used (1: a cost step).
"""

from __future__ import annotations

import numpy as np
import torch

from algorithms.core.actor_critic import UpdateData, standardize
from algorithms.core.trust_region import TrustRegionAlgorithm


def crpo_target(episode_costs: np.ndarray, cost_limits: np.ndarray, tolerance: float) -> int | None:
    """The constraint to minimize this update (the most violated beyond d + eta), or None: the reward's turn."""
    excess = np.asarray(episode_costs) - np.asarray(cost_limits) - tolerance
    return int(np.argmax(excess)) if np.max(excess) > 0 else None


class CRPO(TrustRegionAlgorithm):
    """TRPO on the reward when feasible within eta, on minus the violated cost otherwise."""

    def __init__(self, *args, crpo_tolerance: float = 0.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.tolerance = float(crpo_tolerance)

    def policy_step(self, data: UpdateData) -> dict[str, float]:
        target = crpo_target(data.episode_costs, self.cost_limits, self.tolerance)
        return super().policy_step(data) | {"crpo_cost_step": float(target is not None)}

    def policy_advantages(self, data: UpdateData) -> torch.Tensor:
        """std(A_r) when feasible within eta, else -std(A_Ck) of the most violated constraint k."""
        target = crpo_target(data.episode_costs, self.cost_limits, self.tolerance)
        return standardize(data.reward_advantages) if target is None else -standardize(data.cost_advantages[target])
