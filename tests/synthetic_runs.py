"""Synthetic run directories with known curves, shaped like the trainer's (for the report's tests)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

STEPS_PER_UPDATE = 1000
N_UPDATES = 20  # the last 10% of env steps are updates 18, 19 and 20 (env_steps >= 18000)


def write_run(root: Path, task: str, algo: str, seed: int, returns, costs, *, cost_limit: float = 5.0,
              beta: float | None = None, batch_cost: float = 100.0, violation: float = 0.0,
              status: str | None = "complete") -> Path:
    """A run directory as the trainer leaves it: .hydra/config.yaml, progress.csv and summary.json.

    returns, costs: (n_updates,) curves; batch_cost and violation: the same value at every update."""
    path = root / task / (algo if beta is None else f"{algo}_beta{beta:g}") / f"seed{seed}"
    algo_cfg = {"name": algo, "_target_": f"algorithms.{algo}.X"} | ({} if beta is None else {"beta": beta})
    (path / ".hydra").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create({"seed": seed, "task": {"name": task, "cost_limit": cost_limit},
                                     "algo": algo_cfg}), path / ".hydra" / "config.yaml")
    n = len(returns)
    epochs = np.arange(1, n + 1)
    pd.DataFrame({
        "epoch": epochs, "env_steps": epochs * STEPS_PER_UPDATE, "return_mean": returns, "return_std": 1.0,
        "cost_mean": costs, "ep_len_mean": 50.0, "episodes": 20, "cost_limit": cost_limit,
        "batch_cost": batch_cost, "batch_steps": STEPS_PER_UPDATE, "violation": violation, "kl": 0.01,
        "entropy": 1.0, "time_s": epochs * 0.5,
    }).to_csv(path / "progress.csv", index=False)
    if status is not None:
        (path / "summary.json").write_text(json.dumps({"status": status}))
    return path


def linear_run(root: Path, task: str, algo: str, seed: int, slope: float, cost: float, **kwargs) -> Path:
    """return_mean = slope * epoch (final window 18..20 -> 19 * slope), cost_mean = ``cost`` throughout."""
    epochs = np.arange(1, N_UPDATES + 1, dtype=float)
    return write_run(root, task, algo, seed, slope * epochs, np.full(N_UPDATES, cost), **kwargs)
