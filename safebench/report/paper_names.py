"""The names the CPO paper (Achiam et al. 2017) gives the configs, shown next to them in legends and tables."""

from __future__ import annotations

import re

PAPER_NAMES = {"cpo": "CPO", "lagrangian": "PDO", "trpo": "TRPO", "fixed_penalty": "FPO"}
_LABEL = re.compile(r"^(?P<name>[^(]+)(\((?P<arms>.*)\))?$")  # fixed_penalty(beta=5), cpo(cost_shaping)


def display_name(label: str) -> str:
    """'PDO (lagrangian)', 'FPO beta=5 (fixed_penalty(beta=5))'; a label the paper does not name is unchanged."""
    match = _LABEL.match(label)
    if match is None or match["name"] not in PAPER_NAMES:
        return label
    arms = match["arms"]
    paper = PAPER_NAMES[match["name"]] + (f" {arms.replace(', ', ' ')}" if arms else "")
    return f"{paper} ({label})"
