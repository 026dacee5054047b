"""The constraints a task declares: one (``cost_limit: 5``) or several (a list of limits plus ``cost_names``).

A single constraint keeps the plain column names of SPEC section 5 (``cost_mean``, ``cost_limit``, ...);
with several, each column is repeated per constraint with its name as suffix (``cost_mean_speed``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from omegaconf import DictConfig, ListConfig, OmegaConf

SINGLE_NAME = "cost"


@dataclass(frozen=True)
class Constraints:
    """Names and limits d_k of a task's constraints, in the order of ``info["costs"]``."""

    names: tuple[str, ...]
    limits: tuple[float, ...]

    @classmethod
    def from_task(cls, task: DictConfig) -> "Constraints":
        """Read ``task.cost_limit`` (a number or a list) and ``task.cost_names`` (needed for a list)."""
        limit = task.cost_limit
        if isinstance(limit, (ListConfig, list, tuple)):
            return cls(tuple(str(n) for n in task.cost_names), tuple(float(v) for v in limit))
        return cls((SINGLE_NAME,), (float(limit),))

    @property
    def count(self) -> int:
        return len(self.limits)

    @property
    def algorithm_limit(self) -> float | list[float]:
        """What an algorithm's ``cost_limit`` argument receives: a float, or a list when there are several."""
        return self.limits[0] if self.count == 1 else list(self.limits)

    def column(self, stem: str, k: int) -> str:
        """progress.csv column of constraint k: ``cost_mean`` alone, ``cost_mean_<name>`` among several."""
        return stem if self.count == 1 else f"{stem}_{self.names[k]}"


def constraint_problems(task: DictConfig) -> list[str]:
    """What is wrong with a task's ``cost_limit`` / ``cost_names`` (empty when fine)."""
    limit = OmegaConf.select(task, "cost_limit")
    limits = list(limit) if isinstance(limit, (ListConfig, list, tuple)) else [limit]
    if not limits or not all(_is_limit(v) for v in limits):
        return [f"task.cost_limit must be a number >= 0 or a non-empty list of them, got {limit!r}"]
    if not isinstance(limit, (ListConfig, list, tuple)):
        return []
    names = OmegaConf.select(task, "cost_names")
    names = list(names) if isinstance(names, (ListConfig, list, tuple)) else None
    if names is None or len(names) != len(limits):
        return [f"task.cost_limit lists {len(limits)} limits, so task.cost_names must list {len(limits)} names "
                f"(one per constraint, in the order of info['costs']); got {OmegaConf.select(task, 'cost_names')!r}"]
    bad = [str(n) for n in names if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", str(n))]
    if bad or len(set(map(str, names))) != len(names):
        return [f"task.cost_names must be distinct identifiers (letters, digits, _), got {list(map(str, names))}"]
    return []


def _is_limit(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0

