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


def write_multi_run(root: Path, task: str, algo: str, seed: int, returns, costs: dict[str, object], *,
                    cost_limits: dict[str, float], batch_cost: dict[str, float] | None = None,
                    violation: dict[str, float] | None = None, status: str | None = "complete") -> Path:
    """A run of a task with m > 1 constraints: list-valued task.cost_limit plus task.cost_names in the config,
    and cost_mean_<name>, cost_limit_<name>, batch_cost_<name>, violation_<name> in progress.csv.

    returns: (n_updates,); costs: {name: (n_updates,) curve}, in the order of the constraints; batch_cost and
    violation: {name: the same value at every update} (defaults 100 and 0)."""
    names = list(costs)
    path = root / task / algo / f"seed{seed}"
    (path / ".hydra").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create({
        "seed": seed, "algo": {"name": algo, "_target_": f"algorithms.{algo}.X"},
        "task": {"name": task, "cost_limit": [cost_limits[name] for name in names], "cost_names": names},
    }), path / ".hydra" / "config.yaml")
    epochs = np.arange(1, len(returns) + 1)
    columns = {"epoch": epochs, "env_steps": epochs * STEPS_PER_UPDATE, "return_mean": returns, "return_std": 1.0}
    for name in names:
        columns |= {f"cost_mean_{name}": costs[name], f"cost_limit_{name}": cost_limits[name],
                    f"batch_cost_{name}": (batch_cost or {}).get(name, 100.0),
                    f"violation_{name}": (violation or {}).get(name, 0.0)}
    columns |= {"ep_len_mean": 50.0, "episodes": 20, "batch_steps": STEPS_PER_UPDATE, "kl": 0.01, "entropy": 1.0,
                "time_s": epochs * 0.5}
    pd.DataFrame(columns).to_csv(path / "progress.csv", index=False)
    if status is not None:
        (path / "summary.json").write_text(json.dumps({"status": status}))
    return path
