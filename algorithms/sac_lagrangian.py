"""SAC-Lagrangian (Haarnoja et al. 2018 with a Lagrange multiplier; OmniSafe's SACLag defaults).

A tanh-squashed Gaussian actor minimizes (alpha log pi - Q_r + lambda Q_C) / (1 + lambda), the Lagrangian
scaled as a whole (OmniSafe's SACLag), so alpha weighs the entropy against Q_r whatever lambda; twin reward
critics (clipped double Q) and one cost critic per constraint learn from the replay buffer; lambda
ascends on the recent episodes' J_C - d (algorithms/core/off_policy.py). With ``auto_alpha`` the entropy
temperature alpha is tuned so that the policy's entropy tracks ``target_entropy`` (default -act_dim).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from algorithms.core.fused_adam import fused_adam
from algorithms.core.mlp import build_mlp
from algorithms.core.off_policy import OffPolicyLagrangian
from algorithms.core.replay_buffer import Transitions

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0  # OmniSafe's and SpinningUp's clamp of the log std


class SquashedGaussianActor(nn.Module):
    """a = tanh(mu(s) + sigma(s) eps): the actions stay in [-1, 1] and the log-probability is corrected."""

    def __init__(self, obs_dim: int, act_dim: int, hidden_sizes: Sequence[int], activation: str,
                 init: str) -> None:
        super().__init__()
        self.net = build_mlp(obs_dim, 2 * act_dim, hidden_sizes, activation, init)

    def forward(self, obs: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterized sample and its log-probability (the gradient flows through both)."""
        mean, log_std = self.net(obs).chunk(2, dim=-1)
        std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX).exp()
        noise = torch.randn(mean.shape, generator=generator)
        pre_tanh = mean + std * noise
        gaussian_log_prob = (-0.5 * noise.pow(2) - std.log() - 0.5 * math.log(2 * math.pi)).sum(-1)
        # log |d tanh(u)/du| = 2 (log 2 - u - softplus(-2u)), numerically stable
        squash_correction = (2 * (math.log(2) - pre_tanh - F.softplus(-2 * pre_tanh))).sum(-1)
        return torch.tanh(pre_tanh), gaussian_log_prob - squash_correction

    @torch.no_grad()
    def mean_action(self, obs: torch.Tensor) -> torch.Tensor:
        """tanh(mu(s)): the deterministic action of evaluation."""
        return torch.tanh(self.net(obs).chunk(2, dim=-1)[0])


def temperature_loss(log_alpha: torch.Tensor, log_probs: torch.Tensor, target_entropy: float) -> torch.Tensor:
    """-log_alpha (log pi + H_target): alpha rises while the entropy -E[log pi] is below the target, falls above."""
    return -(log_alpha * (log_probs.detach() + target_entropy)).mean()


class SACLagrangian(OffPolicyLagrangian):
    """Soft actor-critic on the penalized Q, with an optional learned entropy temperature."""

    def __init__(self, obs_dim: int, act_dim: int, cost_limit: float | Sequence[float], seed: int, *,
                 actor_lr: float = 3e-4, alpha: float = 0.2, auto_alpha: bool = False,
                 target_entropy: float | None = None, alpha_lr: float = 3e-4, **common) -> None:
        super().__init__(obs_dim, act_dim, cost_limit, seed, **common)
        self.policy = SquashedGaussianActor(obs_dim, act_dim, self.hidden_sizes, self.activation, self.network_init)
        self.actor_optimizer = fused_adam(self.policy.parameters(), lr=actor_lr)
        self.auto_alpha = bool(auto_alpha)
        self.target_entropy = float(-act_dim if target_entropy is None else target_entropy)
        self.log_alpha = nn.Parameter(torch.tensor(math.log(alpha)))
        self.alpha_optimizer = torch.optim.Adam([self.log_alpha], lr=alpha_lr)

    @property
    def alpha(self) -> float:
        return float(self.log_alpha.detach().exp())

    def explore(self, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        with torch.no_grad():
            return self.policy(obs, generator)[0]

    def gradient_step(self, batch: Transitions, multipliers: torch.Tensor, actor_due: bool) -> dict[str, float]:
        with torch.no_grad():
            next_actions, next_log_probs = self.policy(batch.next_obs, self.generator)
        stats = self.critic_step(batch, next_actions, next_entropy_bonus=-self.alpha * next_log_probs)
        if actor_due:
            stats |= self.actor_step(batch.obs, multipliers)
            self.update_targets()
        return stats | {"alpha": self.alpha}

    def actor_step(self, obs: torch.Tensor, multipliers: torch.Tensor) -> dict[str, float]:
        """Descend E[(alpha log pi - min Q_r + lambda Q_C) / (1 + lambda)]; then, with auto_alpha, move alpha
        toward the target entropy."""
        actions, log_probs = self.policy(obs, self.generator)
        q_reward = self.reward_critic(obs, actions).min(0).values - self.alpha * log_probs
        loss = self.penalized_loss(q_reward, obs, actions, multipliers).mean()
        self.descend_actor(loss)
        if self.auto_alpha:
            self.alpha_optimizer.zero_grad(set_to_none=True)
            temperature_loss(self.log_alpha, log_probs, self.target_entropy).backward()
            self.alpha_optimizer.step()
        return {"actor_loss": loss.item(), "entropy": float(-log_probs.detach().mean())}

    def state_dict(self) -> dict:
        return super().state_dict() | {"actor_optimizer": self.actor_optimizer.state_dict(),
                                       "log_alpha": self.log_alpha.detach().clone(),
                                       "alpha_optimizer": self.alpha_optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.actor_optimizer.load_state_dict(state["actor_optimizer"])
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])
        self.alpha_optimizer.load_state_dict(state["alpha_optimizer"])
