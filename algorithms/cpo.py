"""Constrained Policy Optimization (Achiam et al. 2017, Algorithm 1).

Each update solves, in the trust region around pi_k,

    max_x  g.x   s.t.   c + b.x <= 0,   1/2 x'Hx <= delta

with g the reward-surrogate gradient, b the cost-surrogate gradient at trajectory scale,
c = J_C(pi_k) - d and H the Fisher matrix, through its two-variable dual (``solve_cpo_dual``).
With several constraints (b and c gain a row each) the dual is solved numerically
(``solve_cpo_dual_numeric``, in ``cpo_multi_constraint_dual``).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from algorithms.core.actor_critic import UpdateData
from algorithms.core.cpo_multi_constraint_dual import solve_cpo_dual_numeric
from algorithms.core.fisher_vector_product import MatrixVectorProduct
from algorithms.core.kl_edge import kl_edge_scale
from algorithms.core.mlp import flat_params
from algorithms.core.trust_region import TrustRegionAlgorithm

# Which case of the dual an update took; logged as the integer ``cpo_mode`` (the released code's
# numbering): 0 infeasible -> recovery step, 1 violating but the constraint plane cuts the trust
# region, 2 feasible and the plane cuts the trust region, 3 the whole trust region is feasible.
CPO_MODES = {"recovery": 0, "violating": 1, "feasible": 2, "unconstrained": 3}

_EPS = 1e-12


def solve_cpo_dual(q: float, r: float, s: float, c: float, delta: float) -> tuple[float, float, str]:
    """Closed-form dual of the CPO step; returns (lambda*, nu*, mode).

    With q = g'H^-1 g, r = g'H^-1 b, s = b'H^-1 b the optimal step is
    x* = (H^-1 g - nu* H^-1 b) / lambda*. The dual to minimize over lambda > 0, nu >= 0 is
    D(lambda, nu) = (q - 2 nu r + nu^2 s) / (2 lambda) - nu c + lambda delta which, after
    minimizing over nu, nu*(lambda) = max(0, (lambda c + r) / s), is piecewise:
      nu > 0:  D_a(lambda) = A / (2 lambda) + lambda B / 2 - r c / s,  A = q - r^2/s, B = 2 delta - c^2/s
      nu = 0:  D_b(lambda) = q / (2 lambda) + lambda delta
    Each piece's minimizer is projected onto the lambda-range where it applies (split at
    lambda_mid = -r / c) and the smaller of the two values wins. In mode "recovery" no step
    satisfies the constraint; (0, 0) is returned and the caller steps along -H^-1 b instead.
    """
    if s <= _EPS:  # no usable cost gradient: the constraint cannot be linearized
        return math.sqrt(q / (2 * delta)), 0.0, "unconstrained"
    B = 2 * delta - c * c / s
    if B < 0:
        if c > 0:
            return 0.0, 0.0, "recovery"
        return math.sqrt(q / (2 * delta)), 0.0, "unconstrained"
    A = max(q - r * r / s, _EPS)

    lam_a, lam_b = math.sqrt(A / max(B, _EPS)), math.sqrt(q / (2 * delta))

    def dual_a(lam: float) -> float:
        return A / (2 * lam) + lam * B / 2 - r * c / s

    def dual_b(lam: float) -> float:
        return q / (2 * lam) + lam * delta

    if c == 0.0:  # nu* > 0 everywhere when r > 0, nowhere otherwise
        lam = lam_a if r > 0 else lam_b
    else:
        lam_mid = -r / c
        # nu* > 0  <=>  lambda c + r > 0: below lam_mid when c < 0, above it when c > 0
        if lam_mid <= 0:
            lam = lam_a if c > 0 else lam_b
        elif c < 0:
            lam_a, lam_b = min(lam_a, lam_mid), max(lam_b, lam_mid)
            lam = lam_a if dual_a(lam_a) <= dual_b(lam_b) else lam_b
        else:
            lam_a, lam_b = max(lam_a, lam_mid), min(lam_b, lam_mid)
            lam = lam_a if dual_a(lam_a) <= dual_b(lam_b) else lam_b
    lam = max(lam, _EPS)
    nu = max(0.0, (lam * c + r) / s)
    return lam, nu, "violating" if c > 0 else "feasible"


def dual_coefficients(h_inv_g: torch.Tensor, h_inv_b: torch.Tensor,
                      hvp: MatrixVectorProduct) -> tuple[float, np.ndarray, np.ndarray]:
    """q, r (m,) and S (m, m) of the dual as H-inner products of the CG solutions v ~ H^-1 g, w_k ~ H^-1 b_k.

    q = v'Hv, r_k = w_k'Hv, S_jk = w_j'Hw_k, as the released code computes them. Then the modelled
    step x = (v - sum_k nu_k w_k) / lambda has exactly x'Hx = (q - 2 nu'r + nu'S nu) / lambda^2, and
    r_k^2 <= q S_kk by Cauchy-Schwarz, however few CG iterations produced v and w (g'H^-1 b from
    truncated solutions has neither property).
    """
    h_v = hvp(h_inv_g)
    h_w = torch.stack([hvp(w) for w in h_inv_b])
    q = float(h_inv_g @ h_v)
    r = (h_inv_b @ h_v).double().numpy()
    S = (h_inv_b @ h_w.T).double().numpy()
    return q, r, (S + S.T) / 2  # symmetric up to rounding; exactly so for the dual's solvers


def accept_cpo_step(mode: str, c: float | np.ndarray, surrogate_gain: float, cost_change: float | np.ndarray) -> bool:
    """Line-search rule (KL is checked by the caller); ``c`` and ``cost_change`` per constraint.

    Each cost surrogate may rise by at most max(-c_k, 0) (so the linearized J_Ck stays <= d_k); in
    recovery no violated one may rise (the released code's non-increase, ``lin <= prev_lin``). The
    reward surrogate must improve only when pi_k is feasible (all c_k <= 0).
    """
    c, cost_change = np.atleast_1d(np.asarray(c, float)), np.atleast_1d(np.asarray(cost_change, float))
    violated = c > 0
    if mode == "recovery":
        return bool(np.all(cost_change[violated] <= 0) and np.all(cost_change[~violated] <= -c[~violated]))
    if np.any(cost_change > np.maximum(-c, 0.0)):
        return False
    return bool(surrogate_gain > 0 or np.any(violated))


class CPO(TrustRegionAlgorithm):
    """CPO: a trust-region step that keeps the linearized constraints satisfied."""

    paper_name = "CPO"

    def policy_step(self, data: UpdateData) -> dict[str, float]:
        advantages, g, b, h_inv_g, h_inv_b, hvp = self.natural_gradients(data)
        q, r, S = dual_coefficients(h_inv_g, h_inv_b, hvp)
        c = data.episode_costs - self.cost_limits
        step, lam, nu, mode = self._dual_step(q, r, S, c, h_inv_g, h_inv_b)
        step, step_scale = self.clip_to_trust_region(step, hvp)  # a guard: 1 (no clip) with H-inner products

        start = flat_params(self.policy)
        stats = self.search(
            data, step, lambda gain, cost_change: accept_cpo_step(mode, c, gain, cost_change), advantages,
            keep_last=mode in ("recovery", "violating"),
        )
        moved = flat_params(self.policy) - start
        return stats | {
            "cpo_mode": float(CPO_MODES[mode]),
            "cpo_lambda": lam,
            **self.per_constraint("cpo_nu", nu),
            "cpo_q": q,
            **self.per_constraint("cpo_r", r),
            **self.per_constraint("cpo_s", np.diag(S)),
            **self.per_constraint("cpo_c", c),
            "cpo_step_scale": step_scale,
            **self.per_constraint("cost_change_predicted", [float(b_k @ moved) for b_k in b]),
        }

    def _dual_step(self, q: float, r: np.ndarray, S: np.ndarray, c: np.ndarray, h_inv_g: torch.Tensor,
                   h_inv_b: torch.Tensor) -> tuple[torch.Tensor, float, np.ndarray, str]:
        """The step x* from the dual: closed form for one constraint, numeric for several."""
        if self.num_constraints == 1:
            lam, nu, mode = solve_cpo_dual(q, float(r[0]), float(S[0, 0]), float(c[0]), self.max_kl)
            if mode == "recovery":
                return -kl_edge_scale(float(S[0, 0]), self.max_kl) * h_inv_b[0], lam, np.array([nu]), mode
            return (h_inv_g - nu * h_inv_b[0]) / lam, lam, np.array([nu]), mode
        solution = solve_cpo_dual_numeric(q, r, S, c, self.max_kl)
        if solution.mode == "recovery":
            return self._recovery_step(solution.recovery_weights, S, h_inv_b), 0.0, solution.nu, solution.mode
        step = (h_inv_g - torch.from_numpy(solution.nu).float() @ h_inv_b) / solution.lam
        return step, solution.lam, solution.nu, solution.mode

    def _recovery_step(self, mu: np.ndarray, S: np.ndarray, h_inv_b: torch.Tensor) -> torch.Tensor:
        """-H^-1 B'mu, the direction of the smallest step meeting every linearized constraint, to the KL edge.

        When no step can meet them all (violated constraints whose gradients cancel) that direction is
        about 0: then no first-order step lowers every violated cost, and the policy stays where it is.
        """
        weights = mu / max(float(np.linalg.norm(mu)), _EPS)  # scale-free: mu can be huge when infeasible
        quad = float(weights @ S @ weights)
        if quad <= 1e-10 * max(float(np.trace(S)), _EPS):
            return torch.zeros_like(h_inv_b[0])
        return -(torch.from_numpy(weights).float() @ h_inv_b) * kl_edge_scale(quad, self.max_kl)
