"""Backtracking line search shared by every trust-region method."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass
class LineSearchResult:
    """Where the search ended: the accepted parameters (or the start), and how it got there."""

    params: torch.Tensor
    accepted: bool
    backtracks: int
    step_fraction: float


def backtracking_line_search(
    start: torch.Tensor,
    full_step: torch.Tensor,
    accept: Callable[[torch.Tensor], bool],
    backtrack_ratio: float = 0.8,
    max_backtracks: int = 15,
) -> LineSearchResult:
    """Try start + ratio^k * full_step for k = 0, 1, ...; keep the first that ``accept`` admits.

    When none is admitted the parameters stay at ``start`` (the update is skipped), as in the
    released CPO code.
    """
    for k in range(max_backtracks):
        fraction = backtrack_ratio**k
        candidate = start + fraction * full_step
        if accept(candidate):
            return LineSearchResult(candidate, True, k, fraction)
    return LineSearchResult(start, False, max_backtracks, 0.0)
