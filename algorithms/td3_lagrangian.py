"""TD3-Lagrangian (Fujimoto et al. 2018 with a Lagrange multiplier; OmniSafe's TD3Lag defaults).

A deterministic actor maximizes (Q_r1 - lambda Q_C) / (1 + lambda), Q_r1 the first reward critic (the TD3
paper's actor update, OmniSafe's TD3Lag); TD3's three pieces over DDPG: twin reward critics (clipped double
Q), target policy smoothing (clipped Gaussian noise on the target action) and delayed actor and target
updates (every ``policy_delay`` critic steps). Both critics bootstrap from the target actor's smoothed
action. Exploration adds Gaussian noise to the actor's action. lambda ascends on the recent episodes'
J_C - d (algorithms/core/off_policy.py).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

from algorithms.core.fused_adam import fused_adam
from algorithms.core.mlp import build_mlp
from algorithms.core.off_policy import OffPolicyLagrangian, soft_update
from algorithms.core.replay_buffer import Transitions


class DeterministicActor(nn.Module):
    """a = tanh(mu(s)) in [-1, 1]."""

    def __init__(self, obs_dim: int, act_dim: int, hidden_sizes: Sequence[int], activation: str,
                 init: str) -> None:
        super().__init__()
        self.net = build_mlp(obs_dim, act_dim, hidden_sizes, activation, init)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(obs))

    @torch.no_grad()
    def mean_action(self, obs: torch.Tensor) -> torch.Tensor:
        """The action itself (evaluation is noise-free)."""
        return self(obs)


def smoothed_target_actions(target_actions: torch.Tensor, noise_std: float, noise_clip: float,
                            generator: torch.Generator) -> torch.Tensor:
    """TD3's target policy smoothing: a' = clip(mu'(s') + clip(N(0, std), -c, c), -1, 1)."""
    noise = (torch.randn(target_actions.shape, generator=generator) * noise_std).clamp(-noise_clip, noise_clip)
    return (target_actions + noise).clamp(-1.0, 1.0)


class TD3Lagrangian(OffPolicyLagrangian):
    """TD3 on the penalized Q; DDPG-Lagrangian is this with one critic, no smoothing and no delay."""

    def __init__(self, obs_dim: int, act_dim: int, cost_limit: float | Sequence[float], seed: int, *,
                 actor_lr: float = 3e-4, exploration_noise: float = 0.1, policy_noise: float = 0.2,
                 policy_noise_clip: float = 0.5, **common) -> None:
        super().__init__(obs_dim, act_dim, cost_limit, seed, **common)
        self.policy = DeterministicActor(obs_dim, act_dim, self.hidden_sizes, self.activation, self.network_init)
        self.target_policy = copy.deepcopy(self.policy)
        self.actor_optimizer = fused_adam(self.policy.parameters(), lr=actor_lr)
        self.exploration_noise, self.policy_noise, self.policy_noise_clip = \
            exploration_noise, policy_noise, policy_noise_clip

    def explore(self, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The actor's action plus N(0, exploration_noise), kept in [-1, 1]."""
        with torch.no_grad():
            actions = self.policy(obs)
            return (actions + self.exploration_noise * torch.randn(actions.shape, generator=generator)).clamp(-1, 1)

    def gradient_step(self, batch: Transitions, multipliers: torch.Tensor, actor_due: bool) -> dict[str, float]:
        with torch.no_grad():
            next_actions = self.target_policy(batch.next_obs)
            if self.policy_noise > 0:
                next_actions = smoothed_target_actions(next_actions, self.policy_noise, self.policy_noise_clip,
                                                       self.generator)
        stats = self.critic_step(batch, next_actions)
        if actor_due:
            stats |= self.actor_step(batch.obs, multipliers)
            self.update_targets()
            soft_update(self.target_policy, self.policy, self.polyak)
        return stats

    def actor_step(self, obs: torch.Tensor, multipliers: torch.Tensor) -> dict[str, float]:
        """Ascend the penalized Q of the actor's own action (the deterministic policy gradient), Q_r from the
        first reward critic only, as the TD3 paper (the min is for the targets)."""
        actions = self.policy(obs)
        loss = self.penalized_loss(self.reward_critic(obs, actions)[0], obs, actions, multipliers).mean()
        self.descend_actor(loss)
        return {"actor_loss": loss.item()}

    def state_dict(self) -> dict:
        return super().state_dict() | copy.deepcopy({"target_policy": self.target_policy.state_dict(),
                                                     "actor_optimizer": self.actor_optimizer.state_dict()})

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.target_policy.load_state_dict(state["target_policy"])
        self.actor_optimizer.load_state_dict(copy.deepcopy(state["actor_optimizer"]))
