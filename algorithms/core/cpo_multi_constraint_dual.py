"""CPO's step for m > 1 simultaneous constraints (the paper's appendix 10.1): a small dual solved numerically.

The primal is  max_x g.x  s.t.  c + Bx <= 0 (m rows),  1/2 x'Hx <= delta.  With q = g'H^-1 g,
r = B H^-1 g and S = B H^-1 B', minimizing the Lagrangian over x gives x = H^-1 (g - B'nu) / lambda and
the dual  min_{lambda > 0, nu >= 0}  Q(nu) / (2 lambda) - nu'c + lambda delta,  Q(nu) = q - 2 r'nu + nu'S nu.
Its minimum over lambda is lambda = sqrt(Q(nu) / (2 delta)), which leaves a convex problem in nu >= 0 alone:
    min_{nu >= 0}  sqrt(2 delta Q(nu)) - nu'c
(Q(nu) is the squared H^-1-norm of g - B'nu). Before that, feasibility: the smallest step meeting every
linearized constraint is x = -H^-1 B' mu with mu the solution of  max_{mu >= 0} mu'c - 1/2 mu'S mu; its KL,
1/2 mu'S mu, above delta means no step in the trust region satisfies them all: recovery along that x.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

_EPS = 1e-12


@dataclass(frozen=True)
class MultiConstraintSolution:
    """lambda*, nu* (m,) and mode; in recovery, ``recovery_weights`` mu* (step = -H^-1 B' mu, rescaled)."""

    lam: float
    nu: np.ndarray
    mode: str
    recovery_weights: np.ndarray


def minimum_norm_feasible_weights(S: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, float]:
    """mu* of the smallest step meeting c + Bx <= 0, and that step's KL 1/2 mu'S mu."""
    if np.all(c <= 0):
        return np.zeros_like(c), 0.0
    m = len(c)
    S_reg = S + _EPS * np.trace(S) / m * np.eye(m)  # keeps the problem bounded when S is singular
    result = minimize(lambda mu: 0.5 * mu @ S_reg @ mu - mu @ c, np.maximum(c, 0) / np.maximum(np.diag(S_reg), _EPS),
                      jac=lambda mu: S_reg @ mu - c, method="L-BFGS-B", bounds=[(0, None)] * m,
                      options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 1000})
    mu = np.maximum(result.x, 0)
    # the KL under the same regularised S the weights were found with: with S singular (two violated
    # constraints whose gradients cancel) the weights grow without bound along S's null space, where the
    # plain S would report a KL of 0 for a problem no step can solve; the regularised one reports its size
    return mu, float(0.5 * mu @ S_reg @ mu)


def solve_cpo_dual_numeric(q: float, r: np.ndarray, S: np.ndarray, c: np.ndarray,
                           delta: float) -> MultiConstraintSolution:
    """The CPO dual for any number of constraints (used for m > 1; m = 1 has ``solve_cpo_dual``'s closed form)."""
    r, S, c = np.asarray(r, float), np.asarray(S, float), np.asarray(c, float)
    m = len(c)
    mu, min_kl = minimum_norm_feasible_weights(S, c)
    if min_kl > delta:
        return MultiConstraintSolution(0.0, np.zeros(m), "recovery", mu)

    def quadratic(nu: np.ndarray) -> float:
        return max(q - 2 * r @ nu + nu @ S @ nu, _EPS)

    def dual(nu: np.ndarray) -> tuple[float, np.ndarray]:
        root = np.sqrt(2 * delta * quadratic(nu))
        return root - nu @ c, 2 * delta * (S @ nu - r) / root - c

    start = np.zeros(m)
    result = minimize(dual, start, jac=True, method="L-BFGS-B", bounds=[(0, None)] * m,
                      options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 1000})
    nu = np.maximum(result.x, 0)
    lam = max(float(np.sqrt(quadratic(nu) / (2 * delta))), _EPS)
    if np.any(c > 0):
        mode = "violating"
    else:
        mode = "unconstrained" if np.all(nu <= _EPS) else "feasible"
    return MultiConstraintSolution(lam, nu, mode, np.zeros(m))
