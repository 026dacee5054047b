"""How much of the cost change each CPO update predicts shows up in the next batch, from a run's progress.csv.

Each update logs the change its step predicts for the constrained cost (``cost_change_predicted``, b.x for the
step taken, at trajectory scale) and the dual's case (``cpo_mode``: 0 recovery, 1 violating, 2 feasible,
3 unconstrained); the next row's batch gives the change that happened. With cost shaping the constrained
cost is C+ (``shaped_cost_mean``), else C (``cost_mean``). Prints one line per block of updates: the mode
most often taken, c = J - d, the mean predicted and realised change, and the KL. No simulation: it reads files.

    PYTHONPATH=. .venv/bin/python scripts/cpo_predicted_vs_realised.py RUN_DIR [--block 25]
    e.g. results/paper_fig1_ant_circle_shaped/runs/ant_circle/cpo/seed0
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def blocks(progress: pd.DataFrame, block: int) -> pd.DataFrame:
    """Per block of ``block`` updates: mode, c, predicted and realised change of the constrained cost, KL."""
    cost = "shaped_cost_mean" if progress.get("shaped_cost_mean", pd.Series(dtype=float)).notna().any() \
        else "cost_mean"
    frame = progress.assign(realised=progress[cost].shift(-1) - progress[cost], block=(progress.epoch - 1) // block)
    return frame.groupby("block").agg(
        last_update=("epoch", "max"), mode=("cpo_mode", lambda m: int(m.mode().iloc[0])), c=("cpo_c", "mean"),
        predicted=("cost_change_predicted", "mean"), realised=("realised", "mean"), kl=("kl", "mean"),
        constrained_cost=(cost, "mean")).rename(columns={"constrained_cost": cost})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a CPO run directory (holding progress.csv)")
    parser.add_argument("--block", type=int, default=25, help="updates per line (default 25)")
    args = parser.parse_args(argv)
    path = args.run_dir / "progress.csv"
    try:
        progress = pd.read_csv(path)
    except (OSError, pd.errors.ParserError) as error:
        print(f"cpo_predicted_vs_realised: cannot read {path}: {error}", file=sys.stderr)
        return 2
    missing = {"epoch", "cpo_mode", "cpo_c", "cost_change_predicted", "kl", "cost_mean"} - set(progress.columns)
    if missing or args.block < 1:
        print(f"cpo_predicted_vs_realised: {path} is not a CPO run's progress (no {', '.join(sorted(missing))})"
              if missing else "cpo_predicted_vs_realised: --block must be at least 1", file=sys.stderr)
        return 2
    print(blocks(progress, args.block).round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
