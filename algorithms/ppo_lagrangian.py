"""PPO-Lagrangian (Ray, Achiam & Amodei 2019; OmniSafe's PPOLag defaults).

PPO on the penalized advantage (A_r - lambda A_C) / (1 + lambda), both advantages standardized,
with the multiplier learned by gradient ascent on lambda (J_C - d) before each policy step and
projected onto [0, lambda_max].
"""

from __future__ import annotations

import copy

import torch

from algorithms.actor_critic import UpdateData, standardize
from algorithms.first_order import FirstOrderAlgorithm


class LagrangeMultiplier:
    """lambda >= 0 moved by an optimizer along dL/dlambda = J_C - d, then clipped to [0, upper]."""

    def __init__(self, init: float, lr: float, optimizer: str = "adam", upper: float | None = None) -> None:
        optimizers = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}
        if optimizer not in optimizers:
            raise ValueError(f"lambda_optimizer must be one of {sorted(optimizers)}, got {optimizer!r}")
        self.value = torch.nn.Parameter(torch.tensor(float(init)))
        self.optimizer = optimizers[optimizer]([self.value], lr=lr)
        self.upper = upper

    def step(self, violation: float) -> float:
        """Ascend lambda * violation (violation = J_C - d); return the new lambda."""
        self.optimizer.zero_grad(set_to_none=True)
        (-self.value * violation).backward()
        self.optimizer.step()
        with torch.no_grad():
            self.value.clamp_(0.0, self.upper)
        return float(self.value.detach())

    def state(self) -> dict:
        """A copy: the optimizer's live moment tensors would otherwise be shared with whoever loads it."""
        return copy.deepcopy({"value": float(self.value.detach()), "optimizer": self.optimizer.state_dict()})

    def load_state(self, state: dict) -> None:
        with torch.no_grad():
            self.value.fill_(state["value"])
        self.optimizer.load_state_dict(state["optimizer"])


def penalized_advantages(reward_adv: torch.Tensor, cost_adv: torch.Tensor, multiplier: float) -> torch.Tensor:
    """(std(A_r) - lambda std(A_C)) / (1 + lambda): the step size stays bounded as lambda grows."""
    return (standardize(reward_adv) - multiplier * standardize(cost_adv)) / (1.0 + multiplier)


class PenalizedPPO(FirstOrderAlgorithm):
    """PPO-clip on the Lagrangian; subclasses say how the multiplier follows J_C (``next_multiplier``)."""

    def __init__(self, *args, lambda_init: float = 0.001, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.multiplier = float(lambda_init)

    def next_multiplier(self, episode_cost: float) -> float:
        """The multiplier for this update, from the batch's J_C."""
        raise NotImplementedError

    def policy_step(self, data: UpdateData) -> dict[str, float]:
        self.multiplier = self.next_multiplier(data.episode_cost)
        return super().policy_step(data) | {"lagrange_multiplier": self.multiplier}

    def policy_advantages(self, data: UpdateData) -> torch.Tensor:
        return penalized_advantages(data.reward_advantages, data.cost_advantages, self.multiplier)

    def state_dict(self) -> dict:
        return super().state_dict() | {"multiplier": self.multiplier}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.multiplier = state["multiplier"]


class PPOLagrangian(PenalizedPPO):
    """The multiplier by (projected) gradient ascent, taken before each policy step as OmniSafe does."""

    def __init__(self, *args, lambda_init: float = 0.001, lambda_lr: float = 0.035, lambda_optimizer: str = "adam",
                 lambda_max: float | None = None, **kwargs) -> None:
        super().__init__(*args, lambda_init=lambda_init, **kwargs)
        self.lagrange = LagrangeMultiplier(lambda_init, lambda_lr, lambda_optimizer, lambda_max)

    def next_multiplier(self, episode_cost: float) -> float:
        return self.lagrange.step(episode_cost - self.cost_limit)

    def state_dict(self) -> dict:
        return super().state_dict() | {"lagrange": self.lagrange.state()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.lagrange.load_state(state["lagrange"])
