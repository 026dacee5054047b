"""PPO on the Lagrangian, the base of the multiplier methods that differ only in how lambda follows J_C.

``PenalizedPPO`` ascends (std A_r - sum_k lambda_k centred A_Ck) / (1 + sum_k lambda_k) with PPO's clipped
surrogate (OmniSafe's form); a subclass says how the multipliers follow the batch's J_C (``next_multipliers``):
by gradient ascent (``algorithms/ppo_lagrangian.py``), a PID controller (``pid_lagrangian.py``), or a log
barrier's weight (``ipo.py``).
"""

from __future__ import annotations

import numpy as np
import torch

from algorithms.core.actor_critic import UpdateData, penalize, standardize
from algorithms.core.first_order import FirstOrderAlgorithm


def penalized_advantages(reward_adv: torch.Tensor, cost_adv: torch.Tensor,
                         multiplier: float | np.ndarray) -> torch.Tensor:
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
