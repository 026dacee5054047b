"""The trust-region machinery TRPO, CPO and the penalty methods share (Schulman et al. 2015).

After the actor-critic preparation, one natural-gradient step inside the KL ball: conjugate
gradient on Fisher-vector products gives the direction, a backtracking line search the length.
Subclasses say only what differs: which advantage the policy ascends (``policy_advantages``), how
the step is chosen (``policy_step``), and what happens after (``after_update``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch.distributions import Distribution

from algorithms.core.actor_critic import ActorCritic, UpdateData, surrogate
from algorithms.core.conjugate_gradient import conjugate_gradient
from algorithms.core.fisher_vector_product import MatrixVectorProduct, make_fisher_vector_product, mean_kl
from algorithms.core.kl_edge import kl_edge_scale
from algorithms.core.line_search import backtracking_line_search
from algorithms.core.mlp import flat_grad, flat_params, set_flat_params

# The line search's acceptance rule: improves(gain, cost_changes) with gain the change of the reward surrogate and
# cost_changes the (m,) changes of the cost surrogates, one per constraint (KL is checked by ``search`` itself)
StepRule = Callable[[float, np.ndarray], bool]


class TrustRegionAlgorithm(ActorCritic):
    """TRPO-style update with a cost critic; the base of every trust-region method here."""

    update_costs_like_cpo = True  # one conjugate-gradient step and line search per batch

    def __init__(
        self,
        *args,
        max_kl: float = 0.01,
        cg_iters: int = 10,
        cg_damping: float = 1e-5,
        backtrack_ratio: float = 0.8,
        max_backtracks: int = 15,
        fvp_subsample: float = 0.2,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_kl = max_kl
        self.cg_iters, self.cg_damping = cg_iters, cg_damping
        self.backtrack_ratio, self.max_backtracks = backtrack_ratio, max_backtracks
        self.fvp_subsample = fvp_subsample

    def policy_step(self, data: UpdateData) -> dict[str, float]:
        """One TRPO step on ``policy_advantages``: max g.x s.t. 1/2 x'Hx <= max_kl."""
        advantages = self.policy_advantages(data)
        g = self.gradient(data, advantages)
        hvp = self.fisher_product(data)
        direction = conjugate_gradient(hvp, g, self.cg_iters)
        shs = float(direction @ hvp(direction))
        full_step = kl_edge_scale(max(shs, 1e-12), self.max_kl) * direction
        return self.search(data, full_step, lambda gain, _cost: gain > 0, advantages)

    # ----------------------------------------------------------------- shared building blocks
    def gradient(self, data: UpdateData, advantages: torch.Tensor) -> torch.Tensor:
        """Gradient of the surrogate E[ratio * A] at the current policy."""
        return flat_grad(surrogate(self.policy, data, advantages), self.policy).detach()

    def fisher_product(self, data: UpdateData) -> MatrixVectorProduct:
        """(H + damping I) v on a random subsample of the batch (the paper's code used 20%)."""
        n = len(data.obs)
        k = max(1, int(n * self.fvp_subsample))
        idx = torch.from_numpy(self.rng.choice(n, size=k, replace=False)) if k < n else slice(None)
        return make_fisher_vector_product(self.policy, data.obs[idx], self.cg_damping)

    def natural_gradients(self, data: UpdateData) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
                                                           torch.Tensor, MatrixVectorProduct]:
        """Reward and cost gradients g, b_k and their natural directions H^-1 g, H^-1 b_k (CPO, PCPO).

        Returns (advantages, g, b, h_inv_g, h_inv_b, hvp); b and h_inv_b are (m, n), one row per
        constraint, b at trajectory scale.
        """
        advantages = self.policy_advantages(data)
        log_prob = self.policy.distribution(data.obs).log_prob(data.actions)  # one forward pass for all m + 1
        outputs = [surrogate(self.policy, data, advantages, log_prob), *self.cost_surrogates(data, log_prob)]
        grads = [flat_grad(out, self.policy, retain_graph=k < len(outputs) - 1).detach()
                 for k, out in enumerate(outputs)]
        g, b = grads[0], torch.stack(grads[1:])
        hvp = self.fisher_product(data)
        h_inv_g = conjugate_gradient(hvp, g, self.cg_iters)
        h_inv_b = torch.stack([conjugate_gradient(hvp, b_k, self.cg_iters) for b_k in b])
        return advantages, g, b, h_inv_g, h_inv_b, hvp

    def clip_to_trust_region(self, step: torch.Tensor, hvp: MatrixVectorProduct) -> tuple[torch.Tensor, float]:
        """Scale a step back onto the ball 1/2 x'Hx <= max_kl if it lies outside.

        Exact dual solutions never do; but with 10 CG iterations, q - r^2/s can come out <= 0 when g
        and b are nearly parallel, the dual's lambda then collapses towards 0 and dividing by it
        blows the approximation error up (seen on point_circle: a step of norm ~1e5).
        """
        quad = float(step @ hvp(step))
        if not math.isfinite(quad) or quad <= 2 * self.max_kl:
            return step, 1.0
        scale = kl_edge_scale(quad, self.max_kl)
        return step * scale, scale

    def search(self, data: UpdateData, full_step: torch.Tensor, improves: StepRule, advantages: torch.Tensor,
               keep_last: bool = False) -> dict[str, float]:
        """Backtrack along ``full_step`` until KL <= max_kl and ``improves(gain, cost_changes)``.

        ``gain`` is the change of the reward surrogate, ``cost_changes`` the (m,) array of changes of
        the cost surrogates, one per constraint. Each point costs one forward pass of the policy.
        When no point is accepted the policy returns to the start, or with ``keep_last`` (CPO's
        recovery modes, as the released code) stays at the last point tried unless it is not finite.
        """
        start = flat_params(self.policy)
        with torch.no_grad():
            distribution = self.policy.distribution(data.obs)
            old_mean, old_log_std = distribution.mean, self.policy.effective_log_std().detach().clone()
            first = self._evaluate(data, advantages, old_mean, old_log_std, distribution)
        evaluated = [first]

        def accept(candidate: torch.Tensor) -> bool:
            set_flat_params(self.policy, candidate)
            with torch.no_grad():
                kl, surr, cost = self._evaluate(data, advantages, old_mean, old_log_std)
            evaluated.append((kl, surr, cost))
            return bool(np.isfinite(surr) and kl <= self.max_kl and improves(surr - first[1], cost - first[2]))

        result = backtracking_line_search(start, full_step, accept, self.backtrack_ratio, self.max_backtracks,
                                          keep_last)
        kept = not result.accepted and keep_last and len(evaluated) > 1 and np.all(np.isfinite(
            [evaluated[-1][0], evaluated[-1][1], *np.atleast_1d(evaluated[-1][2])]))  # the released check_nan
        params = result.params if (result.accepted or kept) else start
        set_flat_params(self.policy, params)
        kl, _, cost = evaluated[-1] if (result.accepted or kept) else first  # an accepted point is the last tried
        return {
            "kl": kl,
            "line_search_backtracks": float(result.backtracks),
            "line_search_accepted": float(result.accepted),
            "line_search_kept_last": float(kept),
            **self.per_constraint("surrogate_cost_change", cost - first[2]),
            "entropy": float(self.policy.entropy().detach()),
        }

    def _evaluate(self, data: UpdateData, advantages: torch.Tensor, old_mean: torch.Tensor, old_log_std: torch.Tensor,
                  distribution: Distribution | None = None) -> tuple[float, float, np.ndarray]:
        """KL to pi_k, reward surrogate and cost surrogates at the current parameters, from one forward pass."""
        distribution = distribution if distribution is not None else self.policy.distribution(data.obs)
        log_prob = distribution.log_prob(data.actions)
        kl = float(mean_kl(self.policy, data.obs, old_mean, old_log_std, distribution))
        surr = float(surrogate(self.policy, data, advantages, log_prob))
        if not self.cost_critics:  # TRPO: the cost advantages are zero, and so is every change of them
            return kl, surr, np.zeros(self.num_constraints)
        return kl, surr, np.array([float(cost) for cost in self.cost_surrogates(data, log_prob)])
