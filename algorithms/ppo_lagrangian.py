"""PPO-Lagrangian (Ray, Achiam & Amodei 2019; OmniSafe's PPOLag defaults).

PPO on the penalized advantage (A_r - lambda A_C) / (1 + lambda), A_r standardized and A_C only
centred (as OmniSafe: the multiplier's rate and start were tuned for the cost's own scale),
with the multiplier learned by gradient ascent on lambda (J_C - d) before each policy step and
projected onto [0, lambda_max]. With several constraints, one multiplier per constraint.
"""

from __future__ import annotations

import numpy as np
import torch

from algorithms.core.actor_critic import UpdateData, penalize, standardize
from algorithms.core.first_order import FirstOrderAlgorithm
from algorithms.core.lagrange_multiplier import LagrangeMultiplier


def penalized_advantages(reward_adv: torch.Tensor, cost_adv: torch.Tensor, multiplier) -> torch.Tensor:
    """(std(A_r) - sum_k lambda_k centred(A_Ck)) / (1 + sum_k lambda_k): the step stays bounded as lambda grows.

    ``cost_adv`` is (B,) with a float ``multiplier``, or (m, B) with one multiplier per row."""
    if cost_adv.dim() == 1:
        cost_adv, multiplier = cost_adv[None], [multiplier]
    penalized = penalize(standardize(reward_adv), [c - c.mean() for c in cost_adv], multiplier)
    return penalized / (1.0 + sum(float(m) for m in multiplier))


class PenalizedPPO(FirstOrderAlgorithm):
    """PPO-clip on the Lagrangian; subclasses say how the multiplier follows J_C (``next_multiplier``)."""

    def __init__(self, *args, lambda_init: float = 0.001, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.multipliers = np.full(self.num_constraints, float(lambda_init))

    def next_multipliers(self, episode_costs: np.ndarray) -> np.ndarray:
        """The multipliers for this update (one per constraint), from the batch's J_Ck."""
        raise NotImplementedError

    def policy_step(self, data: UpdateData) -> dict[str, float]:
        self.multipliers = self.next_multipliers(data.episode_costs)
        return super().policy_step(data) | self.per_constraint("lagrange_multiplier", self.multipliers)

    def policy_advantages(self, data: UpdateData) -> torch.Tensor:
        return penalized_advantages(data.reward_advantages, data.cost_advantages, self.multipliers)

    def state_dict(self) -> dict:
        return super().state_dict() | {"multipliers": self.multipliers.tolist()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.multipliers = np.array(state["multipliers"], dtype=float)


class PPOLagrangian(PenalizedPPO):
    """The multiplier by (projected) gradient ascent, taken before each policy step as OmniSafe does."""

    def __init__(self, *args, lambda_init: float = 0.001, lambda_lr: float = 0.035, lambda_optimizer: str = "adam",
                 lambda_max: float | None = None, **kwargs) -> None:
        super().__init__(*args, lambda_init=lambda_init, **kwargs)
        self.lagrange = LagrangeMultiplier(lambda_init, lambda_lr, lambda_optimizer, lambda_max,
                                           count=self.num_constraints)

    def next_multipliers(self, episode_costs: np.ndarray) -> np.ndarray:
        return self.lagrange.step(episode_costs - self.cost_limits)

    def state_dict(self) -> dict:
        return super().state_dict() | {"lagrange": self.lagrange.state()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.lagrange.load_state(state["lagrange"])
