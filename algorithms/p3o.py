"""P3O (Zhang et al. 2022): Penalized Proximal Policy Optimization, in OmniSafe's form.

PPO's clipped surrogate on the reward plus an exact penalty on each constraint,
    kappa * relu(L_C + J_C - d),
L_C the cost surrogate clipped the pessimistic way (max of the ratio and the clipped ratio times A_C,
so the policy gains nothing by pushing the ratio past 1 +- eps to lower the cost), J_C the batch's
mean episode cost and d the limit. The ReLU makes the penalty exact: it vanishes, with its gradient,
while the batch is feasible with margin, and pushes the cost down with weight kappa under violation.
kappa is fixed. As OmniSafe, both advantages are standardized and J_C - d enters in cost units.
"""

from __future__ import annotations

import numpy as np
import torch

from algorithms.core.actor_critic import UpdateData, standardize
from algorithms.core.first_order import FirstOrderAlgorithm, Minibatch, ppo_clip_loss


def clipped_cost_surrogate(log_ratio: torch.Tensor, cost_adv: torch.Tensor, clip: float) -> torch.Tensor:
    """E[max(r A_C, clip(r, 1-eps, 1+eps) A_C)] per column of cost_adv (B, m): PPO's clip, pessimistic for a cost."""
    ratio = torch.exp(log_ratio)[:, None]
    clipped = torch.clamp(ratio, 1.0 - clip, 1.0 + clip)
    return torch.max(ratio * cost_adv, clipped * cost_adv).mean(0)


def p3o_penalty(log_ratio: torch.Tensor, cost_adv: torch.Tensor, violation: torch.Tensor, kappa: float,
                clip: float) -> torch.Tensor:
    """kappa * sum_k relu(L_Ck + J_Ck - d_k): zero (and flat) while feasible with margin, exact under violation."""
    return kappa * torch.relu(clipped_cost_surrogate(log_ratio, cost_adv, clip) + violation).sum()


class P3O(FirstOrderAlgorithm):
    """The first-order base with PPO's loss plus P3O's ReLU penalty."""

    policy_loss_compiles = False  # its loss reads the batch's J_C - d, a number that moves (not measured)

    def __init__(self, *args, kappa: float = 20.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kappa = float(kappa)

    def policy_step(self, data: UpdateData) -> dict[str, float]:
        violation = data.episode_costs - self.cost_limits
        return super().policy_step(data) | self.per_constraint("p3o_violation", violation)

    def policy_cost_advantages(self, data: UpdateData) -> torch.Tensor:
        """A_Ck standardized per constraint, (B, m), as OmniSafe."""
        return torch.stack([standardize(adv) for adv in data.cost_advantages], dim=1)

    def policy_loss(self, batch: Minibatch) -> torch.Tensor:
        log_ratio = self.policy.distribution(batch.obs).log_prob(batch.actions) - batch.old_log_probs
        violation = torch.as_tensor(np.asarray(batch.episode_costs - batch.cost_limits), dtype=torch.float32)
        return (ppo_clip_loss(log_ratio, batch.advantages, self.clip_ratio)
                + p3o_penalty(log_ratio, batch.cost_advantages, violation, self.kappa, self.clip_ratio))
