"""An experiment's plan: every run a sweep will make, written before it starts, so progress has a total.

Every sweep (``python -m safebench -m ...``) writes SWEEP_DIR/plan.json while it holds the folder's sweep lock,
before its first job: one entry per job (task, algorithm label, seed, budget), merged with the entries of
earlier sweeps into the same folder. ``python -m safebench.status`` reads it beside the run directories.
``python -m safebench.experiment_plan OUT.json OVERRIDE...`` writes the same plan without running anything.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

PLAN_FILE = "plan.json"


def plan_runs(overrides: list[str]) -> list[dict]:
    """One entry per job of ``python -m safebench -m OVERRIDES``: who it is and how many env steps it needs.
    ConfigError for a job the sweep would refuse, so that no plan is written for a sweep that cannot start."""
    from safebench.command_line import add_group_plus, check_distinct_directories, checked_configs, sweep_jobs

    jobs = sweep_jobs(add_group_plus(overrides), multirun=True, config_name="config")
    configs = checked_configs(jobs)  # the checks the command line makes (safebench.command_line.validate_command_line)
    check_distinct_directories(jobs, configs)
    return plan_entries(jobs, configs)


def plan_entries(jobs: list[list[str]], configs: list[DictConfig]) -> list[dict]:
    """One plan entry per composed job."""
    from safebench.report.run_loading import algo_label

    return [{
        "task": str(cfg.task.name),
        "algo": algo_label(cfg.algo),
        "seed": int(cfg.seed),
        "total_steps": int(OmegaConf.select(cfg, "train.total_steps")),
        "batch_size": int(OmegaConf.select(cfg, "train.batch_size")),
        "overrides": identity_overrides(job),
    } for job, cfg in zip(jobs, configs)]


def identity_overrides(overrides: list[str]) -> list[str]:
    """The overrides that say which run a job is: not the keys a resume may change (budget, checkpoint
    cadence, parallelism, logging, ``resume``, Hydra's own settings), so that a job continued with a larger
    ``train.total_steps`` is still the same run of the plan."""
    from safebench.run_directory import is_resumable_key

    def changeable(override: str) -> bool:
        key = override.lstrip("+~").split("=")[0]
        return is_resumable_key(key.replace("/", "."))  # hydra/launcher=joblib is Hydra's own setting

    return sorted(o for o in overrides if not changeable(o))


def write_plan(path: Path, overrides: list[str]) -> list[dict]:
    """Add the jobs of ``overrides`` to the plan at ``path`` (JSON) and return their entries."""
    from safebench.run_lock import lock_run_dir, release_run_dir

    entries = plan_runs(overrides)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_run_dir(path.parent, kind="sweep")  # a sweep filling the folder keeps its plan (ConfigError)
    try:
        record_plan(path, overrides, entries)
    finally:
        release_run_dir(path.parent)
    return entries


def record_plan(path: Path, overrides: list[str], entries: list[dict]) -> None:
    """Merge ``entries`` into the plan at ``path``, by the caller that holds its folder's sweep lock: a job already
    planned takes its new budget in place, the others are added; runs planned by earlier sweeps stay planned
    (a resume of a few seeds must not shrink the experiment's total). An unreadable plan is replaced, with a
    warning. To drop planned runs (a mistaken sweep into the folder), delete plan.json and run the experiment's
    command again with --resume: it plans exactly its own jobs."""
    from safebench.errors import ConfigError
    from safebench.run_files import atomic_write_json

    try:
        merged = {tuple(identity_overrides(entry["overrides"])): entry for entry in read_plan(path)}
    except ConfigError as error:
        print(f"safebench: warning: {error} It is replaced by this sweep's jobs.", file=sys.stderr)
        merged = {}
    merged.update({tuple(identity_overrides(entry["overrides"])): entry for entry in entries})
    atomic_write_json(path, {"overrides": overrides, "runs": list(merged.values())})


def read_plan(path: Path) -> list[dict]:
    """The entries of a plan file (an empty list when there is none); ConfigError for one that cannot be read."""
    from safebench.errors import ConfigError

    if not path.is_file():
        return []
    try:
        runs = json.loads(path.read_text())["runs"]
        entries = [dict(entry, task=str(entry["task"]), algo=str(entry["algo"]), seed=int(entry["seed"]),
                        total_steps=int(entry["total_steps"]), overrides=[str(o) for o in entry["overrides"]])
                   for entry in runs]
        if any(entry["total_steps"] < 1 or entry["seed"] < 0 for entry in entries):
            raise ValueError("a run with total_steps < 1 or a negative seed")
        return entries
    except (OSError, ValueError, KeyError, TypeError, OverflowError) as exc:
        raise ConfigError(f"{path} is not a readable experiment plan ({type(exc).__name__}: {exc}). Write it again "
                          f"with the experiment's command: scripts/reproduce_figure.sh EXPERIMENT DIR --resume "
                          f"[overrides], which rewrites it before continuing.") from None


def main(argv: list[str] | None = None) -> int:
    """Exit status 0 with the plan written, 2 when the overrides are not a valid sweep."""
    from safebench.errors import SafebenchError

    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: python -m safebench.experiment_plan OUT.json OVERRIDE...", file=sys.stderr)
        return 2
    from safebench.run_files import nearest_existing

    out = Path(args[0])
    if out.is_dir() or not nearest_existing(out.parent).is_dir():
        print(f"safebench.experiment_plan: error: cannot write the plan {out}: "
              f"{'it is a directory' if out.is_dir() else f'{nearest_existing(out.parent)} is a file'}; name a "
              f"file such as runs/plan.json.", file=sys.stderr)
        return 2
    try:
        entries = write_plan(Path(args[0]), args[1:])
    except SafebenchError as error:
        print(f"safebench.experiment_plan: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"safebench.experiment_plan: error: cannot write the plan {args[0]} ({error.strerror or error}).",
              file=sys.stderr)
        return 2
    print(f"planned {len(entries)} run(s) in {args[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
