"""'Did you mean ...?' for a misspelled task, algorithm, experiment or config key."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' Did you mean ant_gather?' when a close match exists, every equally close one ('cpo or cup'), else ''."""
    choices = list(choices)
    matches = difflib.get_close_matches(word, choices, n=3, cutoff=0.6)
    if not matches:
        return ""
    best = difflib.SequenceMatcher(None, word, matches[0]).ratio()
    tied = [m for m in matches if difflib.SequenceMatcher(None, word, m).ratio() == best]
    return f" Did you mean {' or '.join(sorted(tied))}?"


def config_keys(config: object) -> list[str]:
    """Every dotted key of a config, 'train.total_steps' and so on (interpolations left unresolved)."""
    from omegaconf import OmegaConf

    def walk(node: object, prefix: str) -> list[str]:
        if not isinstance(node, dict):
            return []
        return [k for key, value in node.items() for k in (f"{prefix}{key}", *walk(value, f"{prefix}{key}."))]

    return walk(OmegaConf.to_container(config, resolve=False), "")
