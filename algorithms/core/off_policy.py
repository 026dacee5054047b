"""What SAC-, TD3- and DDPG-Lagrangian share: the contract with the harness, Q critics, target networks,
and the multiplier learned from recent episodes' costs.

The harness (``safebench.off_policy``) steps the environments, stores transitions in a ``ReplayBuffer``
and calls ``update(minibatch)`` for each gradient step. Actions live in [-1, 1]^act_dim here; the harness
maps them onto the task's action box.

The constraint. The cost critics estimate the gamma-discounted cost-to-go of per-step costs, so their scale
is not the episodic limit d. The multiplier therefore never compares a critic with d: as OmniSafe's
off-policy Lagrangian methods, it ascends lambda (J_C - d) with J_C the mean undiscounted cost of the last
``cost_window`` completed episodes (OmniSafe's 50-episode ``Metrics/EpCost`` window), once per update after
its gradient steps (``update_multiplier``, called by the harness, as OmniSafe's ``_update``). The critics only
say which actions cost, through the actor's loss (-Q_r + lambda Q_C [+ alpha log pi]) / (1 + lambda).
"""

from __future__ import annotations

import abc
import copy
from collections import deque
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from algorithms.core.base import Algorithm
from algorithms.core.fused_adam import fused_adam
from algorithms.core.grad_clip import clip_grad_norm_
from algorithms.core.lagrange_multiplier import LagrangeMultiplier
from algorithms.core.mlp import build_mlp
from algorithms.core.replay_buffer import Transitions


class QCritics(nn.Module):
    """``count`` independent Q(s, a) networks side by side (2 for clipped double Q, 1 for DDPG)."""

    def __init__(self, obs_dim: int, act_dim: int, hidden_sizes: Sequence[int], activation: str, count: int,
                 init: str) -> None:
        super().__init__()
        self.nets = nn.ModuleList(build_mlp(obs_dim + act_dim, 1, hidden_sizes, activation, init)
                                  for _ in range(count))

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """(count, B) values."""
        x = torch.cat([obs, actions], dim=-1)
        return torch.stack([net(x).squeeze(-1) for net in self.nets])


def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """Polyak averaging: target <- (1 - tau) target + tau source (one foreach call: each tensor's lerp_)."""
    targets, sources = list(target.parameters()), list(source.parameters())
    if len(targets) != len(sources):
        raise ValueError("soft_update needs two networks of one architecture")
    with torch.no_grad():
        torch._foreach_lerp_(targets, sources, tau)


def td_target(rewards: torch.Tensor, next_values: torch.Tensor, terminated: torch.Tensor,
              gamma: float) -> torch.Tensor:
    """r + gamma (1 - terminated) V(s'): a truncated episode still bootstraps from its last observation."""
    return rewards + gamma * (~terminated).float() * next_values


class OffPolicyLagrangian(Algorithm):
    """The harness's side of an off-policy algorithm, plus the critics and the multiplier every one here uses.

    Subclasses build ``self.policy`` (an actor with ``mean_action``), implement ``explore`` and
    ``gradient_step``; ``update`` takes one gradient step, ``update_multiplier`` (the harness, once per update)
    moves the multiplier."""

    learns_from_replay = True  # the harness collects into a replay buffer and calls update per gradient step

    def __init__(self, obs_dim: int, act_dim: int, cost_limit: float | Sequence[float], seed: int, *,
                 hidden_sizes: Sequence[int], activation: str, critic_hidden_sizes: Sequence[int],
                 num_critics: int, gamma: float, cost_gamma: float, polyak: float, critic_lr: float,
                 max_grad_norm: float, batch_size: int, policy_delay: int, lambda_init: float, lambda_lr: float,
                 lambda_optimizer: str, lambda_max: float | None, cost_window: int, network_init: str) -> None:
        self.cost_limits = np.array(self.constraint_limits(cost_limit))
        self.obs_dim, self.act_dim, self.num_constraints = obs_dim, act_dim, len(self.cost_limits)
        self.gamma, self.cost_gamma, self.polyak = gamma, cost_gamma, polyak
        self.max_grad_norm, self.batch_size, self.policy_delay = max_grad_norm, int(batch_size), int(policy_delay)
        self.hidden_sizes, self.activation, self.network_init = tuple(hidden_sizes), activation, network_init
        self.generator = torch.Generator().manual_seed(int(seed))  # the update's own noise
        torch.manual_seed(int(seed))  # network initialization
        self.reward_critic = QCritics(obs_dim, act_dim, critic_hidden_sizes, activation, num_critics, network_init)
        self.cost_critics = nn.ModuleList(  # one Q_C network per constraint, as OmniSafe's cost critic
            QCritics(obs_dim, act_dim, critic_hidden_sizes, activation, 1, network_init)
            for _ in range(self.num_constraints))
        self.target_reward_critic = copy.deepcopy(self.reward_critic)
        self.target_cost_critics = copy.deepcopy(self.cost_critics)
        critic_params = [*self.reward_critic.parameters(), *self.cost_critics.parameters()]
        self.critic_optimizer = fused_adam(critic_params, lr=critic_lr)
        self.lagrange = LagrangeMultiplier(lambda_init, lambda_lr, lambda_optimizer, lambda_max,
                                           count=self.num_constraints)
        self.recent_costs: deque[np.ndarray] = deque(maxlen=int(cost_window))
        self.steps = 0  # gradient steps taken

    # ---- the contract with the harness -------------------------------------------------------------
    @abc.abstractmethod
    def explore(self, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Exploration actions in [-1, 1] for a batch of observations, noise from ``generator``."""

    @abc.abstractmethod
    def gradient_step(self, batch: Transitions, multipliers: torch.Tensor, actor_due: bool) -> dict[str, float]:
        """One step of the critics and, when ``actor_due``, of the actor and the targets, on a minibatch."""

    def record_episodes(self, episode_costs: np.ndarray) -> None:
        """Completed episodes' undiscounted costs, (E, m), in the order they ended: J_C's window."""
        self.recent_costs.extend(np.asarray(episode_costs, dtype=float).reshape(-1, self.num_constraints))

    def update(self, batch: Transitions) -> dict[str, float]:
        """One gradient step with the multiplier in force: the critics, and every ``policy_delay`` steps the
        actor and the target networks (OmniSafe's order)."""
        multipliers = self.lagrange.value.detach().clone()
        self.steps += 1
        stats = self.gradient_step(batch, multipliers, actor_due=self.steps % self.policy_delay == 0)
        return stats | self.multiplier_stats()

    def update_multiplier(self) -> None:
        """Ascend lambda on the recent episodes' J_C - d, once per update after its gradient steps (OmniSafe's
        ``_update``); without a completed episode there is no J_C and lambda stays."""
        if self.recent_costs:
            self.lagrange.step(np.mean(self.recent_costs, axis=0) - self.cost_limits)

    def multiplier_stats(self) -> dict[str, float]:
        values = self.lagrange.value.detach().double().numpy()
        if self.num_constraints == 1:
            return {"lagrange_multiplier": float(values[0])}
        return {f"lagrange_multiplier_{k}": float(v) for k, v in enumerate(values)}

    # ---- shared pieces of the gradient step --------------------------------------------------------
    def td_targets(self, batch: Transitions, next_actions: torch.Tensor,
                   next_entropy_bonus: torch.Tensor | float = 0.0) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The reward target (clipped double Q: the min over the target critics, plus SAC's entropy bonus) and
        one cost target per constraint, both from the same next action: each critic evaluates the policy the
        actor's loss uses it for (OmniSafe's cost critic takes the online actor's mean action instead)."""
        with torch.no_grad():
            next_q = self.target_reward_critic(batch.next_obs, next_actions).min(0).values + next_entropy_bonus
            reward_target = td_target(batch.rewards, next_q, batch.terminated, self.gamma)
            cost_targets = [td_target(batch.costs[:, k], critic(batch.next_obs, next_actions).max(0).values,
                                      batch.terminated, self.cost_gamma)
                            for k, critic in enumerate(self.target_cost_critics)]
        return reward_target, cost_targets

    def critic_step(self, batch: Transitions, next_actions: torch.Tensor,
                    next_entropy_bonus: torch.Tensor | float = 0.0) -> dict[str, float]:
        """Regress every Q on its TD target; each critic's gradient clipped on its own, as OmniSafe's separate
        critic optimizers (one fused Adam here: Adam is per parameter, so only the clipping could couple them)."""
        reward_target, cost_targets = self.td_targets(batch, next_actions, next_entropy_bonus)
        reward_loss = (self.reward_critic(batch.obs, batch.actions) - reward_target).pow(2).mean(1).sum()
        cost_loss = sum((critic(batch.obs, batch.actions) - target).pow(2).mean(1).sum()
                        for critic, target in zip(self.cost_critics, cost_targets, strict=True))
        self.critic_optimizer.zero_grad(set_to_none=True)
        (reward_loss + cost_loss).backward()
        for critic in (self.reward_critic, *self.cost_critics):
            clip_grad_norm_(critic.parameters(), self.max_grad_norm)
        self.critic_optimizer.step()
        return {"reward_critic_loss": reward_loss.item(), "cost_critic_loss": cost_loss.item()}

    def penalized_loss(self, q_reward: torch.Tensor, obs: torch.Tensor, actions: torch.Tensor,
                       multipliers: torch.Tensor) -> torch.Tensor:
        """(-q_reward + sum_k lambda_k Q_Ck) / (1 + sum_k lambda_k), per sample: the actor's loss, with SAC's
        alpha log pi inside q_reward's term so that the whole Lagrangian is scaled (OmniSafe's ``_loss_pi``)."""
        q_costs = torch.stack([critic(obs, actions).max(0).values for critic in self.cost_critics])
        return (-q_reward + (multipliers[:, None] * q_costs).sum(0)) / (1 + multipliers.sum())

    def descend_actor(self, loss: torch.Tensor) -> None:
        """One clipped step of ``self.actor_optimizer`` on ``loss``; the backward pass fills only the actor's
        gradients (the critics' weights are in the graph but not trained here)."""
        self.actor_optimizer.zero_grad(set_to_none=True)
        loss.backward(inputs=list(self.policy.parameters()))
        clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
        self.actor_optimizer.step()

    def update_targets(self) -> None:
        soft_update(self.target_reward_critic, self.reward_critic, self.polyak)
        soft_update(self.target_cost_critics, self.cost_critics, self.polyak)

    # ---- checkpoints ------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return copy.deepcopy({
            "policy": self.policy.state_dict(), "reward_critic": self.reward_critic.state_dict(),
            "cost_critics": self.cost_critics.state_dict(),
            "target_reward_critic": self.target_reward_critic.state_dict(),
            "target_cost_critics": self.target_cost_critics.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(), "lagrange": self.lagrange.state(),
            "recent_costs": [c.tolist() for c in self.recent_costs], "steps": self.steps,
            "generator": self.generator.get_state(),
        })

    def load_state_dict(self, state: dict) -> None:
        state = copy.deepcopy(state)
        for name in ("policy", "reward_critic", "cost_critics", "target_reward_critic", "target_cost_critics",
                     "critic_optimizer"):
            getattr(self, name).load_state_dict(state[name])
        self.lagrange.load_state(state["lagrange"])
        self.recent_costs.clear()
        self.recent_costs.extend(np.array(c) for c in state["recent_costs"])
        self.steps = int(state["steps"])
        self.generator.set_state(state["generator"])
