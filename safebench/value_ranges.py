"""Declared value ranges (an algorithm's or a task's ``ranges:`` block), checked before a run starts.

A range is a short text: ``float > 0``, ``float in (0, 1]``, ``float`` (any finite number), ``int >= 1``,
``int in [1, 100]``, ``bool``, ``one of adam, sgd``, ``list of int >= 1``, and ``null or <range>``.
"""

from __future__ import annotations

import math
import operator
import re
from typing import Any

COMPARISONS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
INTERVAL = re.compile(r"in\s*([\[(])\s*([^,]+),\s*([^\])]+)([\])])$")
RANGES_KEY = "ranges"


class BadRange(ValueError):
    """A declared range that cannot be read (a mistake in a YAML, not in the user's input)."""


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise BadRange(f"{text!r} is not a number") from None


def _is_number(value: Any, kind: str) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    return kind == "float" or isinstance(value, int)


def _within(value: float, condition: str) -> bool:
    """Whether ``value`` meets ``> 0``, ``>= 1``, ``in (0, 1]``... (an empty condition: always)."""
    if not condition:
        return True
    interval = INTERVAL.match(condition)
    if interval:
        left, low, high, right = interval.groups()
        low_ok = value > _number(low) if left == "(" else value >= _number(low)
        high_ok = value < _number(high) if right == ")" else value <= _number(high)
        return low_ok and high_ok
    symbol, _, bound = condition.partition(" ")
    if symbol not in COMPARISONS:
        raise BadRange(f"cannot read the condition {condition!r}")
    return COMPARISONS[symbol](value, _number(bound))


def meets(value: Any, spec: str) -> bool:
    """Whether ``value`` is in the declared range ``spec``; BadRange when ``spec`` cannot be read."""
    spec = " ".join(str(spec).split())
    if spec.startswith("null or "):
        return value is None or meets(value, spec[len("null or "):])
    if spec.startswith("one of "):
        return isinstance(value, str) and value in [c.strip() for c in spec[len("one of "):].split(",")]
    if spec.startswith("list of "):
        return isinstance(value, (list, tuple)) and all(meets(v, spec[len("list of "):]) for v in value)
    kind, _, condition = spec.partition(" ")
    if kind == "bool":
        return isinstance(value, bool)
    if kind not in ("float", "int"):
        raise BadRange(f"unknown type {kind!r} (float, int, bool, one of ..., list of ..., null or ...)")
    return _is_number(value, kind) and _within(float(value), condition)


def range_problems(values: dict[str, Any], ranges: dict[str, str], where: str) -> list[str]:
    """One sentence per value outside its declared range (``where``: e.g. 'algo', the keys' prefix)."""
    problems = []
    for key, spec in ranges.items():
        if key not in values:
            continue
        try:
            ok = meets(values[key], spec)
        except BadRange as error:
            problems.append(f"the declared range of {where}.{key} ({spec!r}) cannot be read: {error}")
            continue
        if not ok:
            problems.append(f"{where}.{key} must be {spec}, got {values[key]!r}")
    return problems
