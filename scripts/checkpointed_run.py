"""Shared by the diagnostic scripts: a run's components restored from its last checkpoint, in one process."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf, open_dict

from safebench.trainer import build_components, config_identity, restore


def load_checkpointed_run(run: Path):
    """(components, restored state) of RUN_DIR, sampling in this process on one torch thread; the run is not changed."""
    cfg = OmegaConf.load(run / ".hydra" / "config.yaml")
    with open_dict(cfg):
        cfg.train.workers, cfg.train.torch_threads, cfg.resume = 0, 1, True
    parts = build_components(cfg)
    return parts, restore(run, config_identity(cfg) | parts.identity, parts)
