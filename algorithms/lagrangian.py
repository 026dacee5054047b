"""Primal-dual optimization (PDO), the paper's Lagrangian baseline.

The policy takes a TRPO step on the advantage of reward - lambda * cost (by default one critic
learns that signal, as the released code; ``penalized_trust_region``); then the multiplier moves by
dual gradient ascent: lambda <- max(0, lambda + lr * (J_C - d)). With several constraints there is
one multiplier per constraint, each following its own J_Ck - d_k.
"""

from __future__ import annotations

import numpy as np

from algorithms.core.actor_critic import UpdateData
from algorithms.core.lagrange_multiplier import projected_ascent
from algorithms.core.penalized_trust_region import PenalizedTrustRegion


class Lagrangian(PenalizedTrustRegion):
    """TRPO on the Lagrangian, with the multiplier learned by projected dual ascent."""

    paper_name = "PDO"  # primal-dual optimization, the paper's Section 7

    def __init__(self, *args, lambda_lr: float = 0.01, lambda_init: float = 0.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lambda_lr = float(lambda_lr)
        self.multipliers = np.full(self.num_constraints, float(lambda_init))

    def penalty_weights(self) -> np.ndarray:
        return self.multipliers

    def after_update(self, data: UpdateData) -> dict[str, float]:
        used = self.multipliers
        self.multipliers = projected_ascent(used, data.episode_costs - self.cost_limits, self.lambda_lr)
        return self.per_constraint("lagrange_multiplier", used)

    def state_dict(self) -> dict:
        return super().state_dict() | {"multipliers": self.multipliers.tolist()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.multipliers = np.atleast_1d(np.array(state.get("multipliers", state.get("multiplier")), dtype=float))
