"""FOCOPS (Zhang, Vuong & Ross 2020): First Order Constrained Optimization in Policy Space.

The constrained problem in the trust region has a closed-form non-parametric solution,
pi*(a|s) = pi_k(a|s) exp((A(s,a) - nu A_C(s,a)) / lambda) / Z(s); the policy is fitted to it by
first-order steps on E_s[KL(pi_theta || pi*)], which up to constants is the loss
    E[(KL(pi_theta || pi_k)(s) - ratio * (A - nu A_C) / lambda) * 1[KL(s) <= eta]],
the indicator dropping states that already moved more than eta. The cost multiplier nu is updated
before each policy step, nu <- clip(nu + nu_lr (J_C - d), 0, nu_max), and the epochs stop early
once the mean KL exceeds delta (``target_kl``). Both advantages are standardized, as in the
authors' code.
"""

from __future__ import annotations

import torch
from torch.distributions import Independent, Normal, kl_divergence

from algorithms.core.actor_critic import UpdateData, standardize
from algorithms.core.first_order import FirstOrderAlgorithm, Minibatch
from algorithms.core.lagrange_multiplier import projected_ascent


def focops_weights(reward_adv: torch.Tensor, cost_adv: torch.Tensor, nu: float, lam: float) -> torch.Tensor:
    """(A - nu A_C) / lambda: log pi*/pi_k per sample, up to the state's normalizer log Z(s)."""
    return (reward_adv - nu * cost_adv) / lam


def focops_loss(log_ratio: torch.Tensor, kl: torch.Tensor, weights: torch.Tensor, eta: float) -> torch.Tensor:
    """E[(KL(s) - ratio * w) * 1[KL(s) <= eta]], whose minimizer approaches pi* within the KL ball."""
    inside = (kl.detach() <= eta).to(kl.dtype)
    return ((kl - torch.exp(log_ratio) * weights) * inside).mean()


class FOCOPS(FirstOrderAlgorithm):
    """The first-order base with FOCOPS's loss and its nu update."""

    max_constraints = 1  # one multiplier nu in the paper's derivation
    policy_loss_compiles = False  # its loss records the share of kept samples and reads nu, which moves

    def __init__(self, *args, lam: float = 1.5, eta: float = 0.02, nu_init: float = 0.0, nu_lr: float = 0.01,
                 nu_max: float = 2.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lam, self.eta = float(lam), float(eta)
        self.nu_lr, self.nu_max = float(nu_lr), float(nu_max)
        self.nu = float(nu_init)
        self._kept: list[float] = []

    def policy_step(self, data: UpdateData) -> dict[str, float]:
        violation = float(data.episode_costs[0] - self.cost_limits[0])
        self.nu = float(projected_ascent(self.nu, violation, self.nu_lr, self.nu_max))
        self._kept = []
        stats = super().policy_step(data)
        kept = sum(self._kept) / len(self._kept) if self._kept else 1.0
        return stats | {"lagrange_multiplier": self.nu, "focops_inside_fraction": kept}

    def policy_advantages(self, data: UpdateData) -> torch.Tensor:
        """A, standardized as in the authors' code; the loss weighs it with A_C."""
        return standardize(data.reward_advantages)

    def policy_cost_advantages(self, data: UpdateData) -> torch.Tensor:
        """A_C of the one constraint, (B,), standardized as in the authors' code."""
        return standardize(data.cost_advantages[0])

    @torch.no_grad()
    def early_stop_kl(self, data: UpdateData, old_mean: torch.Tensor, old_log_std: torch.Tensor) -> float:
        """KL(pi || pi_k), the direction of the authors' early stop (and of the loss's KL term)."""
        old = Independent(Normal(old_mean, old_log_std.exp()), 1)
        return float(kl_divergence(self.policy.distribution(data.obs), old).mean())

    def policy_loss(self, batch: Minibatch) -> torch.Tensor:
        dist = self.policy.distribution(batch.obs)
        old = Independent(Normal(batch.old_mean, batch.old_log_std.exp()), 1)
        kl = kl_divergence(dist, old)
        self._kept.append(float((kl.detach() <= self.eta).float().mean()))
        weights = focops_weights(batch.advantages, batch.cost_advantages, self.nu, self.lam)
        return focops_loss(dist.log_prob(batch.actions) - batch.old_log_probs, kl, weights, self.eta)

    def state_dict(self) -> dict:
        return super().state_dict() | {"nu": self.nu}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.nu = state["nu"]
