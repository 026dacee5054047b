"""``clip_grad_norm_`` with torch's numbers, without its pass over the gradients when nothing is clipped.

torch.nn.utils.clip_grad_norm_ always multiplies every gradient by min(1, max_norm / (norm + 1e-6)), so that
no device has to report the norm back before the multiply. On the CPU that report is free, and when the norm
is within max_norm (the usual case with max_norm 40) the factor is exactly 1.0 and the multiply changes
nothing: here it is skipped. The gradients and the returned norm are torch's, bit for bit (tested).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn


def clip_grad_norm_(parameters: Iterable[torch.Tensor], max_norm: float) -> torch.Tensor:
    """torch.nn.utils.clip_grad_norm_(parameters, max_norm) (2-norm over all gradients); returns the norm."""
    parameters = list(parameters)
    total_norm = nn.utils.get_total_norm([p.grad for p in parameters if p.grad is not None])
    if not float(max_norm / (total_norm + 1e-6)) >= 1.0:  # torch's factor, below 1 (or NaN): clip
        nn.utils.clip_grads_with_norm_(parameters, max_norm, total_norm)
    return total_norm
