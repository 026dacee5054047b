"""Cost shaping (paper Section 6.3): constrain C+ = C + coeff * Delta(s) instead of C.

Delta(s) is a learned probability of incurring cost within the next ``horizon`` steps. It makes a
sparse cost dense and builds a factor of safety into the constraint, which absorbs part of CPO's
approximation error. As in the released code (its ``ParameterizedBonusSafetyConstraint``): a small
sigmoid MLP regresses (mean squared error, full-batch Adam) the targets clip(c_t + ... + c_{t+h-1},
0, 1) within an episode; each batch is shaped with the model as it stands, then the model is fitted
on that batch; the bonus is 0 until the model has been fitted ``warmup_fits`` times. Three details
differ from the released code: the cost critics then regress C+ returns (its experiments fitted
their safety baseline to C), the fit has no early stop, and the weights start orthogonal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch

from algorithms.core.mlp import build_mlp
from algorithms.core.rollout_batch import RolloutBatch


def hazard_targets(costs: np.ndarray, episode_end: np.ndarray, horizon: int) -> np.ndarray:
    """(N, T, m) targets clip(sum of the costs of steps t..t+horizon-1 of the same episode, 0, 1)."""
    n, steps = episode_end.shape
    targets = np.zeros_like(costs, dtype=np.float64)
    same_episode = np.ones((n, steps), bool)  # step t + j still belongs to step t's episode
    for j in range(min(horizon, steps)):
        if j:
            same_episode[:, :steps - j] &= ~episode_end[:, j - 1:steps - 1]
            same_episode[:, steps - j:] = False
        targets[:, :steps - j] += np.where(same_episode[:, :steps - j, None], costs[:, j:], 0.0)
    return np.clip(targets, 0.0, 1.0)


def completed_episode_sums(values: np.ndarray, episode_end: np.ndarray) -> np.ndarray:
    """(E, m) sums of per-step ``values`` (N, T, m) over each completed episode, in the batch's episode
    order (by the step it ended at, then by environment); every row starts a fresh episode."""
    totals = np.cumsum(values, axis=1)
    envs, steps = np.nonzero(episode_end)  # by environment, then step
    if len(envs) == 0:
        return np.zeros((0, values.shape[-1]))
    first_of_row = np.r_[True, envs[1:] != envs[:-1]]
    before = np.where(first_of_row[:, None], 0.0, totals[envs, np.r_[0, steps[:-1]]])
    sums = totals[envs, steps] - before
    return sums[np.lexsort((envs, steps))].reshape(-1, values.shape[-1])


class CostShaper:
    """Delta(s), one output per constraint, with its optimizer and fit count (checkpointed)."""

    def __init__(self, obs_dim: int, num_constraints: int, horizon: int = 10, coeff: float = 1.0,
                 hidden_sizes: Sequence[int] = (32,), epochs: int = 25, lr: float = 1e-3,
                 warmup_fits: int = 2) -> None:
        self.model = torch.nn.Sequential(build_mlp(obs_dim, num_constraints, hidden_sizes, "sigmoid"),
                                         torch.nn.Sigmoid())
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.horizon, self.coeff = int(horizon), float(coeff)
        self.epochs, self.warmup_fits = int(epochs), int(warmup_fits)
        self.fits = 0

    @torch.no_grad()
    def bonus(self, obs: torch.Tensor) -> torch.Tensor:
        """coeff * Delta(s) for a (B, obs_dim) batch, (B, m); zeros while the model is still warming up."""
        if self.fits < self.warmup_fits:
            return torch.zeros(len(obs), self.model[0][-1].out_features)
        return self.coeff * self.model(obs)

    def fit(self, obs: torch.Tensor, targets: torch.Tensor) -> float:
        """Full-batch Adam on the mean squared error; returns the loss after the fit."""
        for _ in range(self.epochs):
            loss = (self.model(obs) - targets).pow(2).mean()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        self.fits += 1
        with torch.no_grad():
            return float((self.model(obs) - targets).pow(2).mean())

    def shape(self, batch: RolloutBatch) -> tuple[RolloutBatch, float]:
        """The batch with C+ as its costs (per step and per completed episode), then Delta fitted on
        it; returns (shaped batch, loss of the fit)."""
        n, steps, obs_dim = batch.obs.shape
        obs = torch.from_numpy(batch.obs.reshape(-1, obs_dim))
        bonus = self.bonus(obs).double().numpy().reshape(n, steps, -1)
        shaped = dataclasses.replace(
            batch, costs=batch.costs + bonus,
            episode_costs=batch.episode_costs + completed_episode_sums(bonus, batch.episode_end))
        targets = hazard_targets(batch.costs, batch.episode_end, self.horizon)
        return shaped, self.fit(obs, torch.from_numpy(targets.reshape(-1, targets.shape[-1])).float())

    def state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "fits": self.fits}

    def load_state(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.fits = int(state["fits"])
