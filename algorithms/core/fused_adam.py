"""Adam with torch's fused kernel, for optimizers that take thousands of small steps per update.

The default for-loop Adam runs some ten elementwise ops per tensor per step; for the suite's small networks
that Python and dispatch overhead dominates (the off-policy critics' step was about a tenth of a gradient step,
a first-order policy's Adam step about a quarter of a minibatch step). The fused kernel makes one pass over each
tensor: the same update, rounded differently, within a few float32 ulps of the for-loop's (tested to tolerance).
The critics' Adam (``CriticStack``) was fused already; the trust-region policies take no Adam step.

A run resumed from a checkpoint written before the first-order policies used it (6eaba11) keeps the for-loop:
``load_state_dict`` restores the saved ``fused`` setting, so its numbers continue as they would have.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


def fused_adam(params: Iterable[torch.Tensor], lr: float) -> torch.optim.Adam:
    """torch.optim.Adam(params, lr) with ``fused=True``."""
    return torch.optim.Adam(params, lr=lr, fused=True)
