"""Lagrange multipliers: the paper's projected dual ascent (PDO, FOCOPS), and a multiplier learned by an optimizer
(Adam or SGD), shared by PPO-, CUP- and the off-policy Lagrangians."""

from __future__ import annotations

import copy

import numpy as np
import torch


def projected_ascent(values: float | np.ndarray, violation: float | np.ndarray, lr: float,
                     upper: float | None = None) -> np.ndarray:
    """The paper's dual update (its eq. 16), nu <- max(0, nu + lr (J_C - d)), clipped to ``upper`` where given:
    one step per update, in float64, one multiplier per constraint (a 0-d array for one)."""
    return np.clip(np.asarray(values, dtype=float) + lr * np.asarray(violation, dtype=float), 0.0, upper)


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

    def step(self, violation: float | np.ndarray) -> float | np.ndarray:
        """Ascend lambda . violation (violation = J_C - d, a float or one per multiplier); return the new lambda."""
        self.optimizer.zero_grad(set_to_none=True)
        # d/dlambda of the loss -(lambda . violation), written out: autograd's numbers (-violation in float32),
        # without a backward pass (the off-policy methods take this step once per env step by default)
        self.value.grad = torch.neg(torch.as_tensor(violation, dtype=torch.float32).expand_as(self.value))
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


class CheckpointedMultipliers:
    """Mixin for an algorithm with a learned multiplier (``self.lagrange``) and the values in force
    (``self.multipliers``): both go into the checkpoint, so a resumed run continues exactly."""

    lagrange: LagrangeMultiplier
    multipliers: np.ndarray

    def state_dict(self) -> dict:
        return super().state_dict() | {"lagrange": self.lagrange.state(), "multipliers": self.multipliers.tolist()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.lagrange.load_state(state["lagrange"])
        self.multipliers = np.array(state["multipliers"], dtype=float)
