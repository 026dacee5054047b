"""CUP (Yang et al. 2022): Constrained Update Projection, in OmniSafe's form.

Two first-order steps per update. (i) Improvement: PPO-clip on the standardized reward advantage,
from pi_k to pi_imp. (ii) Projection: Adam epochs from pi_imp on
    E[nu * (1 - gamma lambda) / (1 - gamma) * ratio * A_C + KL(pi || pi_imp)(s)],
ratio = pi / pi_k, which moves the policy towards lower cost advantages while staying near pi_imp;
the coefficient is the paper's generalized-advantage bound (gamma, lambda: the reward GAE's, as
OmniSafe). The multiplier nu is a Lagrange multiplier learned by (Adam) ascent on J_C - d before
each update and clipped to [0, lambda_max]. A_C is standardized, as OmniSafe.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.distributions import Independent, Normal, kl_divergence

from algorithms.core.actor_critic import UpdateData, standardize
from algorithms.core.first_order import FirstOrderAlgorithm
from algorithms.core.fisher_vector_product import mean_kl
from algorithms.core.lagrange_multiplier import CheckpointedMultipliers, LagrangeMultiplier


def cup_coefficient(gamma: float, gae_lambda: float) -> float:
    """(1 - gamma lambda) / (1 - gamma): the scale of the cost term in CUP's bound."""
    return (1.0 - gamma * gae_lambda) / (1.0 - gamma)


def cup_projection_loss(log_ratio: torch.Tensor, kl: torch.Tensor, cost_adv: torch.Tensor,
                        multipliers: torch.Tensor, coef: float) -> torch.Tensor:
    """E[coef * ratio * sum_k nu_k A_Ck + KL(pi || pi_imp)]: lower cost, near the improved policy."""
    return (coef * torch.exp(log_ratio) * (cost_adv * multipliers).sum(-1) + kl).mean()


class CUP(CheckpointedMultipliers, FirstOrderAlgorithm):
    """PPO's improvement step, then CUP's projection step with a learned multiplier."""

    def __init__(self, *args, lambda_init: float = 0.001, lambda_lr: float = 0.035, lambda_optimizer: str = "adam",
                 lambda_max: float | None = 2.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lagrange = LagrangeMultiplier(lambda_init, lambda_lr, lambda_optimizer, lambda_max,
                                           count=self.num_constraints)
        self.multipliers = np.full(self.num_constraints, float(lambda_init))

    def policy_step(self, data: UpdateData) -> dict[str, float]:
        self.multipliers = self.lagrange.step(data.episode_costs - self.cost_limits)
        with torch.no_grad():
            old_mean, old_log_std = self.policy.mean_net(data.obs), self.policy.effective_log_std().detach().clone()
        improvement = super().policy_step(data)
        projection = self.project(data)
        with torch.no_grad():
            kl = float(mean_kl(self.policy, data.obs, old_mean, old_log_std))
        return improvement | projection | {"kl": kl, "cup_improvement_kl": improvement["kl"],
                                           "entropy": float(self.policy.entropy().detach()),
                                           **self.per_constraint("lagrange_multiplier", self.multipliers)}

    def project(self, data: UpdateData) -> dict[str, float]:
        """Epochs of Adam steps on the projection loss from pi_imp, until KL(pi_imp || pi) > target_kl."""
        cost_adv = torch.stack([standardize(adv) for adv in data.cost_advantages], dim=1)  # (B, m)
        multipliers = torch.as_tensor(self.multipliers, dtype=torch.float32)
        coef = cup_coefficient(self.gamma, self.gae_lambda)
        with torch.no_grad():
            imp_mean, imp_log_std = self.policy.mean_net(data.obs), self.policy.effective_log_std().detach().clone()

        def step(idx: torch.Tensor) -> float:
            dist = self.policy.distribution(data.obs[idx])
            kl_s = kl_divergence(dist, Independent(Normal(imp_mean[idx], imp_log_std.exp()), 1))
            log_ratio = dist.log_prob(data.actions[idx]) - data.old_log_probs[idx]
            return self.optimizer_step(cup_projection_loss(log_ratio, kl_s, cost_adv[idx], multipliers, coef))

        epochs, kl, losses = self.run_epochs(len(data.obs), step,
                                             lambda: float(mean_kl(self.policy, data.obs, imp_mean, imp_log_std)))
        return {"cup_projection_epochs": float(epochs), "cup_projection_kl": kl,
                "cup_projection_loss": float(np.mean(losses)) if losses else 0.0}
