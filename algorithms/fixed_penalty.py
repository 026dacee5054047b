"""Fixed-penalty TRPO (the paper's Figure 3): TRPO on reward - beta * cost (one beta, or one per constraint)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from algorithms.core.penalized_trust_region import PenalizedTrustRegion


class FixedPenalty(PenalizedTrustRegion):
    """The constraint becomes a fixed price ``beta`` per unit of cost."""

    paper_name = "FPO"  # fixed penalty optimization, the paper's Section 8.3
    label_keys = ("beta",)  # each beta is its own arm

    def __init__(self, *args, beta: float | Sequence[float] = 1.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        betas = np.atleast_1d(np.asarray(beta, dtype=float))
        if len(betas) not in (1, self.num_constraints):
            raise ValueError(f"beta needs one value or one per constraint ({self.num_constraints}), got {len(betas)}")
        self.betas = np.broadcast_to(betas, (self.num_constraints,)).copy()

    def penalty_weights(self) -> np.ndarray:
        return self.betas
