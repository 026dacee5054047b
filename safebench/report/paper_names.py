"""The names the CPO paper (Achiam et al. 2017) gives the configs, shown next to them in legends and tables.

Each algorithm class says its own (``paper_name``, ``algorithms/core/base.py``), found through its
``conf/algo/<name>.yaml``, so a new algorithm needs no edit here."""

from __future__ import annotations

import re
from functools import lru_cache

from omegaconf import OmegaConf

_LABEL = re.compile(r"^(?P<name>[^(]+)(\((?P<arms>.*)\))?$")  # fixed_penalty(beta=5), cpo(cost_shaping)


@lru_cache(maxsize=None)
def paper_name(algo_name: str) -> str | None:
    """The paper's name of the algorithm configured as ``algo_name``, or None."""
    from safebench.report.run_loading import algorithm_class

    return getattr(algorithm_class(OmegaConf.create({"name": algo_name})), "paper_name", None)


def display_name(label: str) -> str:
    """'PDO (lagrangian)', 'FPO beta=5 (fixed_penalty(beta=5))'; a label the paper does not name is unchanged."""
    match = _LABEL.match(label)
    name = paper_name(match["name"]) if match is not None else None
    if name is None:
        return label
    arms = match["arms"]
    paper = name + (f" {arms.replace(', ', ' ')}" if arms else "")
    return f"{paper} ({label})"
