"""``python -m safebench.status DIR``: how far an experiment is, and how long the rest takes here.

Reads DIR/plan.json (every sweep into DIR adds its jobs to it before it starts; without it the runs found are
the total) and every run directory below DIR: a run is done when its summary.json says complete, and has
done the env steps of its last progress.csv row. The time left comes from the rate each task's runs
reach now (their last ``RECENT_ROWS`` rows: the machine's load as it is, not as it was when a run started),
one run at a time (``--parallel N`` when N run side by side at that rate each); the rate over the runs' whole
history is printed beside it. A figure's
folder (``results/NAME``, whose experiment lies in ``runs/``) is read through the plan below it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from safebench.experiment_plan import PLAN_FILE, identity_overrides, read_plan
from safebench.run_end import duration
from safebench.run_files import CONFIG_FILE, OVERRIDES_FILE, PROGRESS_FILE, SUMMARY_FILE

RECENT_ROWS = 20  # the progress rows (updates or log windows) a run's current rate is measured over


@dataclass
class RunProgress:
    """One planned or found run: who it is, its budget, how far it got and at what rate."""

    task: str
    algo: str
    seed: int
    total_steps: int
    overrides: frozenset[str] = frozenset()  # the job's command-line overrides: its identity within a sweep
    steps_done: int = 0
    seconds: float = 0.0
    recent_steps: int = 0  # env steps and seconds of its last RECENT_ROWS rows: the rate it goes at now
    recent_seconds: float = 0.0
    complete: bool = False
    path: Path | None = None
    planned: bool = True  # False: a run directory the plan does not name (another copy of a job, a stray run)


def read_run(path: Path) -> RunProgress | None:
    """A run directory's identity and progress (None when it is not a readable safebench run)."""
    from omegaconf import OmegaConf

    from safebench.report.run_loading import algo_label

    try:
        cfg = OmegaConf.load(path / CONFIG_FILE)
        overrides_file = path / OVERRIDES_FILE
        overrides = frozenset(identity_overrides(OmegaConf.load(overrides_file))) if overrides_file.is_file() \
            else frozenset()
        run = RunProgress(str(cfg.task.name), algo_label(cfg.algo), int(cfg.seed), int(cfg.train.total_steps),
                          overrides, path=path)
    except Exception:  # noqa: BLE001 - anything unreadable is simply not counted
        return None
    rows = _last_progress_rows(path / PROGRESS_FILE, RECENT_ROWS + 1)
    if rows:
        run.steps_done, run.seconds = _steps_and_seconds(rows[-1])
        first_steps, first_seconds = _steps_and_seconds(rows[0])
        if run.steps_done > first_steps and run.seconds > first_seconds:
            run.recent_steps, run.recent_seconds = run.steps_done - first_steps, run.seconds - first_seconds
    try:
        run.complete = json.loads((path / SUMMARY_FILE).read_text()).get("status") == "complete"
    except (OSError, ValueError, AttributeError):
        run.complete = False
    if run.complete:
        run.steps_done = max(run.steps_done, run.total_steps)
    return run


def _last_progress_rows(path: Path, count: int) -> list[dict[str, str]]:
    """The last ``count`` complete rows of progress.csv, oldest first (a torn last line is ignored)."""
    import csv

    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    complete = [row for row in csv.DictReader(lines) if None not in row.values() and row.get("env_steps")]
    return complete[-count:]


def _steps_and_seconds(row: dict[str, str]) -> tuple[int, float]:
    """A row's env steps and wall seconds; (0, 0.0) for a damaged row: nothing is known of the run's progress."""
    try:
        steps, seconds = float(row["env_steps"]), float(row.get("time_s") or 0.0)
    except ValueError:
        return 0, 0.0
    return (int(steps), seconds) if math.isfinite(steps) and math.isfinite(seconds) and steps >= 0 else (0, 0.0)


def collect(directory: Path) -> list[RunProgress]:
    """The plan's runs matched to the run directories below ``directory``, plus any run not in the plan."""
    from safebench.report.run_loading import find_run_dirs

    found: dict[frozenset[str], list[RunProgress]] = {}  # several directories may hold the same job
    for run in map(read_run, find_run_dirs([directory])):
        if run is not None:
            found.setdefault(run.overrides, []).append(run)
    planned = []
    for entry in read_plan(directory / PLAN_FILE):
        overrides, total = frozenset(identity_overrides(entry["overrides"])), int(entry["total_steps"])
        candidates = found.get(overrides, [])
        if candidates:  # the furthest of them is the plan's run; the others are listed as extra runs
            run = candidates.pop(max(range(len(candidates)),
                                     key=lambda i: (candidates[i].complete, candidates[i].steps_done)))
        else:
            run = RunProgress(entry["task"], entry["algo"], int(entry["seed"]), total, overrides)
        if run.total_steps < total:  # the plan was extended (--resume with a larger train.total_steps)
            run.total_steps, run.complete = total, run.steps_done >= total
        planned.append(run)
    extra = [run for runs in found.values() for run in runs]
    if planned:
        for run in extra:
            run.planned = False
    return planned + extra


def rates(runs: list[RunProgress], recent: bool = False) -> dict[str, float]:
    """Env steps per second of each task's runs (all its runs pooled): over their whole history, or ``recent``:
    over the last rows of its unfinished runs (the rate they go at now; no entry for a task with none)."""
    if recent:
        pairs = [(run.task, run.recent_steps, run.recent_seconds) for run in runs
                 if run.recent_seconds > 0 and not run.complete]
    else:
        pairs = [(run.task, run.steps_done, run.seconds) for run in runs if run.seconds > 0 and run.steps_done > 0]
    pooled: dict[str, list[float]] = {}
    for task, steps, seconds in pairs:
        total = pooled.setdefault(task, [0.0, 0.0])
        total[0], total[1] = total[0] + steps, total[1] + seconds
    return {task: steps / seconds for task, (steps, seconds) in pooled.items()}


def report(runs: list[RunProgress], parallel: int) -> list[str]:
    """The lines ``status`` prints: totals, time left, and one line per task."""
    done = sum(r.complete for r in runs)
    steps, total = sum(min(r.steps_done, r.total_steps) for r in runs), sum(r.total_steps for r in runs)
    overall, recent = rates(runs), rates(runs, recent=True)
    measured = overall | recent  # the rate now where known
    lines = [f"runs complete: {done} / {len(runs)}",
             f"env steps: {steps:,} / {total:,} ({100 * steps / max(total, 1):.1f}%)"]
    unknown = set()
    for task in sorted({r.task for r in runs}):
        mine = [r for r in runs if r.task == task]
        remaining = sum(max(r.total_steps - r.steps_done, 0) for r in mine if not r.complete)
        rate = measured.get(task)
        if remaining and rate is None:
            unknown.add(task)
        rate_text = f"{rate:,.0f} steps/s per run" if rate else "no rate measured yet"
        if task in recent and abs(recent[task] - overall[task]) > 0.05 * overall[task]:
            rate_text += f" now ({overall[task]:,.0f} over the runs' whole history)"
        lines.append(f"  {task}: {sum(r.complete for r in mine)}/{len(mine)} runs complete, "
                     f"{remaining:,} steps left, {rate_text}")
    seconds = [max(r.total_steps - r.steps_done, 0) / measured[r.task]
               for r in runs if not r.complete and r.task in measured]
    estimate = f"time left on this machine: about {duration(makespan(seconds, parallel))}"
    estimate += f" with {parallel} run(s) at a time" if parallel > 1 else ", one run at a time"
    if unknown:
        estimate += f" (plus {', '.join(sorted(unknown))}, whose rate is not known yet)"
    return lines + [estimate]


def run_lines(runs: list[RunProgress]) -> list[str]:
    """One line per run that has started and not finished (``--runs``): how far it is, and its rate over its last
    rows (running now or when it last ran: the files do not say which)."""
    lines = []
    for run in runs:
        if run.complete or run.steps_done == 0:
            continue
        rate = f", lately {run.recent_steps / run.recent_seconds:,.0f} steps/s" if run.recent_seconds > 0 else ""
        extra = "" if run.planned else " (not in the plan)"
        lines.append(f"  unfinished: {run.task} {run.algo} seed {run.seed}{extra}: {run.steps_done:,} / "
                     f"{run.total_steps:,} steps ({100 * run.steps_done / max(run.total_steps, 1):.0f}%){rate}")
    return lines


def makespan(seconds: list[float], parallel: int) -> float:
    """When the last of these runs ends if ``parallel`` go at a time, each next one starting as a slot frees up (in
    order, as the launchers take jobs): near the end fewer runs than slots are left, and the longest one decides."""
    import heapq

    slots = [0.0] * max(parallel, 1)
    for length in seconds:
        heapq.heappush(slots, heapq.heappop(slots) + length)
    return max(slots)


def experiment_folder(directory: Path) -> Path:
    """``directory``, or the one folder just below it that holds a plan (a figure's folder keeps its experiment in
    ``runs/``): without the plan, runs would count against the budgets they started with, not an extended one."""
    if (directory / PLAN_FILE).is_file():
        return directory
    below = sorted(directory.glob(f"*/{PLAN_FILE}"))
    return below[0].parent if len(below) == 1 else directory


def main(argv: list[str] | None = None) -> int:
    """Exit status 0 with the status printed, 2 when DIR is not a directory."""
    parser = argparse.ArgumentParser(prog="python -m safebench.status",
                                     description="Progress and time left of an experiment (a sweep directory).")
    parser.add_argument("dir", type=Path, help="the experiment's folder (holding plan.json and the run directories)")
    parser.add_argument("--parallel", type=int, default=1, help="runs that go side by side (default 1)")
    parser.add_argument("--runs", action="store_true", help="also list each started, unfinished run")
    args = parser.parse_args(argv)
    if args.parallel < 1:
        parser.error(f"--parallel is the number of runs that go at a time, at least 1; got {args.parallel}")
    if not args.dir.is_dir():
        print(f"safebench.status: error: not a directory: {args.dir}", file=sys.stderr)
        return 2
    from safebench.errors import SafebenchError

    folder = experiment_folder(args.dir)
    if folder != args.dir:
        print(f"reading {folder}: the experiment whose plan.json lies below {args.dir}")
    try:
        runs = collect(folder)
    except SafebenchError as error:
        print(f"safebench.status: error: {error}", file=sys.stderr)
        return 2
    if not runs:
        print(f"safebench.status: no plan.json and no run directory in {args.dir}", file=sys.stderr)
        return 1
    print("\n".join(report(runs, args.parallel) + (run_lines(runs) if args.runs else [])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
