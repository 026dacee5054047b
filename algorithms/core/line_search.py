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
    keep_last: bool = False,
) -> LineSearchResult:
    """Try start + ratio^k * full_step for k = 0, 1, ...; keep the first that ``accept`` admits.

    When none is admitted the parameters return to ``start`` (the update is skipped), or, with
    ``keep_last``, stay at the last point tried: the released CPO code does that in its recovery
    modes, where standing still would leave an infeasible policy where it is.
    """
    candidate = start
    for k in range(max_backtracks):
        fraction = backtrack_ratio**k
        candidate = start + fraction * full_step
        if accept(candidate):
            return LineSearchResult(candidate, True, k, fraction)
    if keep_last and max_backtracks > 0:
        return LineSearchResult(candidate, False, max_backtracks, backtrack_ratio ** (max_backtracks - 1))
    return LineSearchResult(start, False, max_backtracks, 0.0)
