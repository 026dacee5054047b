"""Gaussian MLP policy with a state-independent log standard deviation (as in the paper)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.distributions import Independent, Normal

from algorithms.core.mlp import build_mlp, forward_for_inference

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class GaussianPolicy(nn.Module):
    """pi(a|s) = N(mu_theta(s), diag(exp(log_std))^2)."""

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        hidden_sizes: Sequence[int] = (64, 32),
        activation: str = "tanh",
        init_log_std: float = 0.0,
        init: str = "orthogonal",
        min_std: float = 0.0,
    ) -> None:
        super().__init__()
        self.mean_net = build_mlp(obs_dim, act_dim, hidden_sizes, activation, init)
        self.log_std = nn.Parameter(torch.full((act_dim,), float(init_log_std)))
        # rllab's floor on the std (1e-6 in the released code): log std below log(min_std) acts as log(min_std)
        self.min_log_std = math.log(min_std) if min_std > 0 else -math.inf

    def effective_log_std(self) -> torch.Tensor:
        """log std as the distribution uses it: the parameter, floored at log(min_std)."""
        if self.min_log_std == -math.inf:
            return self.log_std
        return torch.clamp(self.log_std, min=self.min_log_std)

    def std_floor_active(self) -> bool:
        """Whether the floor binds anywhere (then the log std has no gradient where it does)."""
        return bool((self.log_std.detach() < self.min_log_std).any())

    def distribution(self, obs: torch.Tensor) -> Independent:
        """The action distribution for a batch of observations."""
        # no argument validation: a line-search candidate with a collapsed std must give a non-finite
        # KL (and be rejected), not an exception
        return Independent(Normal(self.mean_net(obs), self.effective_log_std().exp(), validate_args=False), 1,
                           validate_args=False)

    @torch.no_grad()
    def act(self, obs: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample actions for a batch of observations; returns (actions, log-probabilities)."""
        mean = self.mean_net(obs)
        noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype)
        return mean + self.effective_log_std().exp() * noise, self.noise_log_prob(noise)

    @torch.no_grad()
    def noise_log_prob(self, noise: torch.Tensor) -> torch.Tensor:
        """log pi(mean + std * noise | s) for standard-normal ``noise``: it does not depend on s."""
        # log N(a; mean, std) written out: Normal() costs more, and the sampler has the noise
        return -(0.5 * noise.pow(2) + self.effective_log_std() + _HALF_LOG_2PI).sum(-1)

    @torch.no_grad()
    def mean_action(self, obs: torch.Tensor) -> torch.Tensor:
        """The deterministic action (videos; the sampler adds the noise itself)."""
        return forward_for_inference(self.mean_net, obs)

    def entropy(self) -> torch.Tensor:
        """Entropy of the action distribution (the same in every state)."""
        return (0.5 + _HALF_LOG_2PI + self.effective_log_std()).sum()
