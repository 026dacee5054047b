"""Conjugate gradient: solves H x = g using only products H v (H never formed)."""

from __future__ import annotations

from collections.abc import Callable

import torch


def conjugate_gradient(
    matrix_vector_product: Callable[[torch.Tensor], torch.Tensor],
    b: torch.Tensor,
    iterations: int = 10,
    residual_tol: float = 1e-10,
) -> torch.Tensor:
    """Approximate H^-1 b for symmetric positive-definite H in ``iterations`` steps."""
    x = torch.zeros_like(b)
    r = b.clone()
    p = b.clone()
    r_dot = r @ r
    for _ in range(iterations):
        if r_dot < residual_tol:
            break
        hp = matrix_vector_product(p)
        alpha = r_dot / (p @ hp)
        x += alpha * p
        r -= alpha * hp
        new_r_dot = r @ r
        p = r + (new_r_dot / r_dot) * p
        r_dot = new_r_dot
    return x
