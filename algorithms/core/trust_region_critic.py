"""The critic fit of the paper's released code: one natural-gradient step per update on normalized data.

The released CPO experiments fit both value functions with rllab's ``GaussianMLPBaseline``: inputs
and targets normalized by the batch's mean and std, the network's output read as the mean of a
unit-variance Gaussian over the normalized target, and one trust-region step (KL <= 0.01 between the
old and new predictive Gaussians, conjugate gradient on a 20% subsample, backtracking line search)
on its negative log-likelihood. With unit variance the loss is half the mean squared error and the
KL is half the mean squared change of the prediction, so the curvature is the Gauss-Newton matrix.
One step costs a handful of full-batch passes instead of ``ValueCritic``'s epochs of Adam minibatches.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from algorithms.core.conjugate_gradient import conjugate_gradient
from algorithms.core.fisher_vector_product import make_hessian_vector_product
from algorithms.core.kl_edge import kl_edge_scale
from algorithms.core.line_search import backtracking_line_search
from algorithms.core.mlp import flat_grad, flat_params, set_flat_params
from algorithms.core.value_critic import ValueCritic


class TrustRegionCritic(ValueCritic):
    """V(s) fitted by one KL-constrained natural-gradient step per update (rllab's baseline fit)."""

    fits_by_adam = False

    def __init__(self, obs_dim: int, hidden_sizes: Sequence[int] = (64, 32), activation: str = "tanh",
                 max_kl: float = 0.01, subsample: float = 0.2, cg_iters: int = 10, cg_damping: float = 1e-5,
                 backtrack_ratio: float = 0.8, max_backtracks: int = 15) -> None:
        super().__init__(obs_dim, hidden_sizes, activation)
        self.max_kl, self.subsample = max_kl, subsample
        self.cg_iters, self.cg_damping = cg_iters, cg_damping
        self.backtrack_ratio, self.max_backtracks = backtrack_ratio, max_backtracks
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_std", torch.ones(obs_dim))
        self.register_buffer("target_mean", torch.zeros(()))
        self.register_buffer("target_std", torch.ones(()))

    def normalized_prediction(self, obs: torch.Tensor) -> torch.Tensor:
        """The network's output: the predicted target in normalized units."""
        return self.net((obs - self.obs_mean) / self.obs_std).squeeze(-1)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.normalized_prediction(obs) * self.target_std + self.target_mean

    def plan_fit(self, n: int, rng: np.random.Generator) -> torch.Tensor:
        """The subsample on which the curvature is estimated."""
        k = max(1, int(n * self.subsample))
        return torch.from_numpy(rng.choice(n, size=k, replace=False)) if k < n else torch.arange(n)

    def fit_planned(self, obs: torch.Tensor, targets: torch.Tensor, subsample: torch.Tensor) -> float:
        """Renormalize on this batch, then one trust-region step on 1/2 E[(y_n - f(x_n))^2]; returns the MSE."""
        with torch.no_grad():
            self.obs_mean.copy_(obs.mean(0))
            self.obs_std.copy_(obs.std(0, unbiased=False) + 1e-8)
            self.target_mean.copy_(targets.mean())
            self.target_std.copy_(targets.std(unbiased=False) + 1e-8)
            normalized = (targets - self.target_mean) / self.target_std
            old = self.normalized_prediction(obs)
            old_sub = old[subsample]

        def loss() -> torch.Tensor:
            return 0.5 * (self.normalized_prediction(obs) - normalized).pow(2).mean()

        def kl(inputs: torch.Tensor, before: torch.Tensor) -> torch.Tensor:
            return 0.5 * (self.normalized_prediction(inputs) - before).pow(2).mean()

        gradient = flat_grad(loss(), self.net).detach()
        hvp = make_hessian_vector_product(kl(obs[subsample], old_sub), self.net, self.cg_damping)
        direction = conjugate_gradient(hvp, gradient, self.cg_iters)
        scale = kl_edge_scale(float(direction @ hvp(direction)) + 1e-8, self.max_kl)
        with torch.no_grad():
            before = float(loss())

        def accept(candidate: torch.Tensor) -> bool:
            set_flat_params(self.net, candidate)
            with torch.no_grad():
                return float(loss()) < before and float(kl(obs, old)) <= self.max_kl

        result = backtracking_line_search(flat_params(self.net), -scale * direction, accept, self.backtrack_ratio,
                                          self.max_backtracks)
        set_flat_params(self.net, result.params)
        with torch.no_grad():
            return float((self(obs) - targets).pow(2).mean())

    def state(self) -> dict:
        """Weights and the normalization of the last fit, for checkpoints."""
        return {"net": self.net.state_dict(), "normalization": {k: v.clone() for k, v in self.named_buffers()}}

    def load_state(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])
        for name, value in state["normalization"].items():
            getattr(self, name).copy_(value)
