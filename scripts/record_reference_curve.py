"""Record the band of the pinned reference curve that tests/test_reference_curve.py checks.

    .venv/bin/python scripts/record_reference_curve.py

Runs the short, seeded CPO point_gather configuration below for several seeds through the real
CLI and writes, per update, the mean and standard deviation over seeds of the episode return and
cost to tests/data/reference_point_gather_cpo.csv (with the commit it came from). Rerun it only
when a change to the algorithm or the task is intended, and say so in the commit.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "tests" / "data" / "reference_point_gather_cpo.csv"
SEEDS = range(6)
# a limit just under the initial policy's cost, so that CPO's updates use every case of its dual
OVERRIDES = ["+algo=cpo", "+task=point_gather", "task.cost_limit=0.45", "train.batch_size=3000",
             "train.total_steps=36000", "train.num_envs=8", "train.workers=0", "train.torch_threads=1"]


def run(seed: int, directory: Path) -> pd.DataFrame:
    """One seeded run through the CLI; its progress.csv."""
    run_dir = directory / f"seed{seed}"
    subprocess.run([sys.executable, "-m", "safebench", *OVERRIDES, f"seed={seed}", f"hydra.run.dir={run_dir}"],
                   check=True, cwd=directory, capture_output=True)
    return pd.read_csv(run_dir / "progress.csv")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        runs = pd.concat([run(seed, Path(tmp)).assign(seed=seed) for seed in SEEDS])
    band = runs.groupby("epoch")[["return_mean", "cost_mean"]].agg(["mean", "std"])
    band.columns = [f"{a}_{b}" for a, b in band.columns]
    # how far one seed's whole curve sits from another's: the std over seeds of each seed's average over
    # updates (a seed that runs high runs high at every update, so per-update z-scores do not average out)
    for column in ("return_mean", "cost_mean"):
        band[f"{column}_seed_average_std"] = runs.groupby("seed")[column].mean().std()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w") as f:
        f.write(f"# seeds {list(SEEDS)}; overrides {' '.join(OVERRIDES)}; commit {commit}; "
                f"regenerate: python scripts/record_reference_curve.py\n")
        band.reset_index().to_csv(f, index=False)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
