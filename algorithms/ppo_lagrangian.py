"""PPO-Lagrangian (Ray, Achiam & Amodei 2019; OmniSafe's PPOLag defaults).

PPO on the penalized advantage (A_r - lambda A_C) / (1 + lambda), A_r standardized and A_C only
centred (as OmniSafe: the multiplier's rate and start were tuned for the cost's own scale),
with the multiplier learned by gradient ascent on lambda (J_C - d) before each policy step and
projected onto [0, lambda_max]. With several constraints, one multiplier per constraint.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from algorithms.core.actor_critic import UpdateData, penalize, standardize
from algorithms.core.first_order import FirstOrderAlgorithm


class LagrangeMultiplier:
    """lambda >= 0 moved by an optimizer along dL/dlambda = J_C - d, then clipped to [0, upper].

    ``count`` multipliers side by side (one per constraint) when ``step`` gets a vector of violations.
    """

    def __init__(self, init: float, lr: float, optimizer: str = "adam", upper: float | None = None,
                 count: int = 1) -> None:
        optimizers = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}
        if optimizer not in optimizers:
            raise ValueError(f"lambda_optimizer must be one of {sorted(optimizers)}, got {optimizer!r}")
        self.value = torch.nn.Parameter(torch.full((count,), float(init)))
        self.optimizer = optimizers[optimizer]([self.value], lr=lr)
        self.upper = upper

    def step(self, violation) -> float | np.ndarray:
        """Ascend lambda . violation (violation = J_C - d, a float or one per multiplier); return the new lambda."""
        self.optimizer.zero_grad(set_to_none=True)
        (-self.value * torch.as_tensor(violation, dtype=torch.float32)).sum().backward()
        self.optimizer.step()
        with torch.no_grad():
            self.value.clamp_(0.0, self.upper)
        values = self.value.detach().double().numpy()
        return float(values[0]) if np.ndim(violation) == 0 else values

    def state(self) -> dict:
        """A copy: the optimizer's live moment tensors would otherwise be shared with whoever loads it."""
        return copy.deepcopy({"value": self.value.detach().tolist(), "optimizer": self.optimizer.state_dict()})

    def load_state(self, state: dict) -> None:
        with torch.no_grad():
            self.value.copy_(torch.as_tensor(state["value"], dtype=torch.float32))
        self.optimizer.load_state_dict(state["optimizer"])


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
