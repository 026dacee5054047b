"""PCPO (Yang, Rosca, Narasimhan & Ramadge 2020), the KL-projection variant.

Two steps per update instead of CPO's joint problem: a TRPO step on the reward,
x_R = sqrt(2 delta / g'H^-1 g) H^-1 g, then the projection of theta_k + x_R back onto the
linearized constraint set {c + b.x <= 0} in the Fisher metric (``kl_projection``):
    x = x_R - max(0, (c + b.x_R) / (b'H^-1 b)) H^-1 b.
With b the cost-surrogate gradient at trajectory scale and c = J_C(pi_k) - d, as in CPO. A
backtracking line search then guards the nonlinearity: KL <= delta and the cost surrogate rises by
at most max(-c, 0) (falls when pi_k violates).
"""

from __future__ import annotations

import torch

from algorithms.core.actor_critic import UpdateData
from algorithms.core.kl_edge import kl_edge_scale
from algorithms.core.mlp import flat_params
from algorithms.core.trust_region import TrustRegionAlgorithm

_EPS = 1e-12


def kl_projection(step: torch.Tensor, b: torch.Tensor, h_inv_b: torch.Tensor, c: float) -> tuple[torch.Tensor, float]:
    """argmin_y 1/2 (y - step)'H(y - step) s.t. c + b.y <= 0; returns (y, the projection's multiplier)."""
    s = float(b @ h_inv_b)
    if s <= _EPS:  # no usable cost gradient: nothing to project along
        return step, 0.0
    multiplier = max(0.0, (c + float(b @ step)) / s)
    return step - multiplier * h_inv_b, multiplier


class PCPO(TrustRegionAlgorithm):
    """Reward step in the trust region, then the KL projection onto the linearized constraint."""

    max_constraints = 1  # the projection here is onto one half-space

    def policy_step(self, data: UpdateData) -> dict[str, float]:
        advantages, g, b, h_inv_g, h_inv_b, hvp = self.natural_gradients(data)
        b, h_inv_b = b[0], h_inv_b[0]
        q = max(float(h_inv_g @ hvp(h_inv_g)), _EPS)
        reward_step = kl_edge_scale(q, self.max_kl) * h_inv_g
        c = float(data.episode_costs[0] - self.cost_limits[0])
        step, multiplier = kl_projection(reward_step, b, h_inv_b, c)
        start = flat_params(self.policy)
        stats = self.search(data, step, lambda _gain, cost_change: cost_change[0] <= max(-c, 0.0), advantages)
        moved = flat_params(self.policy) - start
        return stats | {
            "pcpo_projection": multiplier,
            "pcpo_c": c,
            "pcpo_q": q,
            "pcpo_r": float(g @ h_inv_b),
            "pcpo_s": float(b @ h_inv_b),
            "cost_change_predicted": float(b @ moved),
        }
