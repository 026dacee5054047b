"""What a run says when it ends, and what each update line says about the time left.

The closing block gives the run's final return and cost as the report computes them (the mean over
the updates in the last 10% of env steps, summary.json's ``final_*``), whether that meets the limit,
the wall time and the run directory, then the commands people reach for next.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from safebench.constraints import Constraints


def duration(seconds: float) -> str:
    """4m12s, 1h03m, 35s: a duration read at a glance."""
    seconds = max(int(round(seconds)), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class TimeLeft:
    """Time left from the recent rate: the mean wall time of the last ``window`` updates, times those to go."""

    def __init__(self, window: int = 5) -> None:
        self.recent: deque[float] = deque(maxlen=window)

    def update(self, seconds: float, updates_left: int) -> float:
        """Record one update's wall time; return the estimated seconds left."""
        self.recent.append(seconds)
        return sum(self.recent) / len(self.recent) * updates_left


SWEEP_JOBS_VARIABLE = "SAFEBENCH_SWEEP_JOBS"  # set by the command line for a sweep's jobs: how many there are


def job_prefix() -> str:
    """'job 3/18 | ' inside a sweep (Hydra's job number, the total from the command line), else ''."""
    import os

    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        config = HydraConfig.get()
        if config.mode != RunMode.MULTIRUN:
            return ""
        total = os.environ.get(SWEEP_JOBS_VARIABLE)
        return f"job {int(config.job.num) + 1}/{total or '?'} | "
    except (ValueError, AttributeError, TypeError):  # not under Hydra (the benchmark, tests)
        return ""


def constraint_lines(summary: dict[str, Any], constraints: Constraints) -> list[str]:
    """'cost 5.21 against the limit 5: feasible' per constraint, from summary.json's figures."""
    lines = []
    for k, limit in enumerate(constraints.limits):
        cost = summary[constraints.column("final_cost", k)]
        verdict = "within the limit" if cost <= limit else "above the limit"
        name = f" ({constraints.names[k]})" if constraints.count > 1 else ""
        lines.append(f"final cost{name} {cost:.4g} against the limit {limit:g}: {verdict}")
    return lines


def closing_block(cfg: DictConfig, run_dir: Path, summary: dict[str, Any]) -> str:
    """The lines printed when a single run ends."""
    constraints = Constraints.from_task(cfg.task)
    feasible = all(summary[constraints.column("final_cost", k)] <= limit for k, limit in enumerate(constraints.limits))
    what = f"{cfg.task.name} / {cfg.algo.name} / seed {cfg.seed}"
    status = "complete" if summary.get("status") == "complete" else f"{summary.get('status')}"
    from safebench.report.run_loading import algorithm_class

    unit = "log windows" if getattr(algorithm_class(cfg.algo), "learns_from_replay", False) else "updates"
    lines = [
        f"Run {status}: {what}, {summary['epochs']} {unit}, {summary['env_steps']:,} env steps "
        f"in {duration(summary.get('wall_time_s', 0.0))}",
        f"  final return {summary['final_return']:.4g} (mean over the last 10% of env steps, as the report)",
        *(f"  {line}" for line in constraint_lines(summary, constraints)),
        f"  {'feasible' if feasible else 'not feasible'}; run directory: {run_dir}",
        "Next:",
        f"  python -m safebench.report {run_dir}        # tables and learning curves",
        f"  python -m safebench.render {run_dir}        # a video of the trained policy",
        f"  python -m safebench -m +algo={cfg.algo.name} +task={cfg.task.name} seed=0,1,2,3,4   # more seeds, "
        f"then report over the sweep directory",
    ]
    return "\n".join(lines)


def sweep_line(run_dir: Path, summary: dict[str, Any] | None, cfg: DictConfig) -> str:
    """One job of a sweep in one line: who, its final figures (or that it failed), and where."""
    what = f"{cfg.task.name}/{cfg.algo.name}/seed{cfg.seed}"
    if not summary or "final_return" not in summary:
        return f"  {what}: failed or incomplete  {run_dir}"
    constraints = Constraints.from_task(cfg.task)
    costs = ", ".join(f"{summary[constraints.column('final_cost', k)]:.4g}/{limit:g}"
                      for k, limit in enumerate(constraints.limits))
    return f"  {what}: return {summary['final_return']:.4g}, cost {costs}  {run_dir}"
