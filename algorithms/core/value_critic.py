"""Value critics (reward and cost) fitted by minibatch regression on returns."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from algorithms.core.critic_stack import CriticStack
from algorithms.core.mlp import build_mlp


class ValueCritic(nn.Module):
    """V(s) as an MLP, with its own optimizer so that its state can be checkpointed."""

    fits_by_adam = True  # its fit is Adam minibatch regression, which ``CriticStack`` runs for several at once

    def __init__(
        self,
        obs_dim: int,
        hidden_sizes: Sequence[int] = (64, 32),
        activation: str = "tanh",
        lr: float = 1e-3,
        epochs: int = 5,
        minibatch_size: int = 1024,
    ) -> None:
        super().__init__()
        self.net = build_mlp(obs_dim, 1, hidden_sizes, activation)
        nn.init.orthogonal_(self.net[-1].weight, gain=1.0)
        # holds the Adam settings and moments between fits (and in checkpoints); ``CriticStack`` steps
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=lr)
        self.epochs = epochs
        self.minibatch_size = minibatch_size

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs).squeeze(-1)

    @torch.no_grad()
    def predict(self, obs: torch.Tensor, chunk: int = 65536) -> torch.Tensor:
        """Values for a large batch without building a graph."""
        return torch.cat([self(obs[i : i + chunk]) for i in range(0, len(obs), chunk)])

    def fit(self, obs: torch.Tensor, targets: torch.Tensor, rng: np.random.Generator) -> float:
        """Regress V onto targets for a few epochs of shuffled minibatches; returns the final MSE."""
        return self.fit_planned(obs, targets, self.plan_fit(len(obs), rng))

    def plan_fit(self, n: int, rng: np.random.Generator) -> list[torch.Tensor]:
        """The fit's random choices, drawn up front so that critics can be fitted together: each epoch's order."""
        return [torch.from_numpy(rng.permutation(n)) for _ in range(self.epochs)]

    def fit_planned(self, obs: torch.Tensor, targets: torch.Tensor, orders: list[torch.Tensor]) -> float:
        """``fit`` with its random choices (``plan_fit``) given: a stack of one (see ``critic_stack``)."""
        CriticStack([self]).fit(obs, [targets], [orders], self.minibatch_size)
        return self.mean_squared_error(obs, targets)

    @torch.no_grad()
    def mean_squared_error(self, obs: torch.Tensor, targets: torch.Tensor) -> float:
        """The fit's loss on the whole batch (logged as ``value_loss``)."""
        return float((self.predict(obs) - targets).pow(2).mean())

    def state(self) -> dict:
        """Weights and optimizer moments, for checkpoints."""
        return {"net": self.net.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
