"""``python -m safebench.wall_time BENCH.jsonl... [--experiment NAME ...] [--seeds TASK=N ...]``.

The wall time a figure's sweep takes on the machine the bench lines were measured on, computed from
``python -m safebench.bench`` output (one or more JSON-lines files, ``-`` for standard input):

    hours(task, algo) = runs x total_steps / end_to_end_steps_per_s / (1 - evaluation_fraction) / 3600

with ``runs`` the seeds of the experiment's sweep (``conf/experiment/NAME.yaml``, or ``--seeds``),
``total_steps`` each job's budget as the sweep composes it (the task's, or the experiment's), and the bench's end-to-end rate of that
task and algorithm at the task's batch (a bench run uses every core for one run; a sweep keeps every
core busy too, one run after another or side by side). A trust-region algorithm without a bench line of
its own takes the task's CPO figure (its line says so): its update, like CPO's, is a small share of an
iteration (``Algorithm.update_costs_like_cpo``). An off-policy one takes its own line on another task if
that task has none; a first-order on-policy one needs its own line for the task.

Prints one JSON line per task and algorithm, then one per experiment and one for the total. The
figures are only as good as the bench lines: measure them on an idle machine.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
from pathlib import Path

from omegaconf import DictConfig

FIGURE_1 = ("paper_fig1_point", "paper_fig1_ant")


@functools.lru_cache(maxsize=None)  # an experiment's jobs do not change within a process
def experiment_jobs(experiment: str) -> dict[tuple[str, str], dict]:
    """(task, arm label) -> {"algo": algo.name, "budgets": [train.total_steps of each job]}, every job of
    ``+experiment=NAME`` composed as the sweep composes it (experiment-level budgets and variants included).

    Jobs that differ only in ``seed=`` are composed once (a composition takes a third of a second on a slow
    core): the seed is a leaf value that selects no config group."""
    from hydra.utils import get_class

    from safebench.command_line import compose_config, sweep_jobs
    from safebench.off_policy import learns_from_replay
    from safebench.report.run_loading import algo_label

    groups: dict[tuple[str, str], dict] = {}
    composed: dict[tuple[str, ...], DictConfig] = {}
    for job in sweep_jobs([f"+experiment={experiment}"], multirun=True, config_name="config"):
        key = tuple(override for override in job if not override.startswith("seed="))
        if key not in composed:
            composed[key] = compose_config(job)
        cfg = composed[key]
        cls = get_class(cfg.algo._target_)
        group = groups.setdefault((str(cfg.task.name), algo_label(cfg.algo)), {
            "algo": str(cfg.algo.name), "budgets": [], "off_policy": learns_from_replay(cls),
            "like_cpo": bool(getattr(cls, "update_costs_like_cpo", False))})
        group["budgets"].append(int(cfg.train.total_steps))
    return groups


def bench_figure(line: str) -> dict:
    """One bench line as a dict; LookupError (exit 2, with what to do) for a cut-off or foreign line."""
    try:
        figure = json.loads(line)
    except ValueError:
        figure = None
    if not isinstance(figure, dict) or not {"task", "algo", "figure"} <= set(figure):
        raise LookupError(f"this line is not a complete line of python -m safebench.bench: {line[:100]!r}. Rerun "
                          f"the bench for its task, or remove the line")
    value = figure.get("value")
    limits = {"end_to_end_steps_per_s": (0.0, math.inf), "evaluation_fraction_of_wall_time": (-1e-9, 1.0)}
    low, high = limits.get(figure["figure"], (-math.inf, math.inf))
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if figure["figure"] in limits and not (number and math.isfinite(value) and low < value < high):
        raise LookupError(f"the bench line's value {value!r} is not a possible {figure['figure']} ({line[:100]!r}). "
                          f"Rerun the bench for its task, or remove the line")
    return figure


def read_rates(lines: list[str]) -> dict[tuple[str, str], dict]:
    """(task, algo) -> {"steps_per_s", "evaluation_fraction", "cores", "commit", "bench_runs"} from
    bench lines; several bench runs of one task and algorithm are averaged."""
    runs: dict[tuple[str, str], dict[str, list]] = {}
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        figure = bench_figure(line)
        entry = runs.setdefault((figure["task"], figure["algo"]), {"rate": [], "eval": [], "cores": set(),
                                                                   "commit": set()})
        if figure["figure"] == "end_to_end_steps_per_s":
            entry["rate"].append(figure["value"])
            entry["commit"].add(figure.get("commit"))
        elif figure["figure"] == "evaluation_fraction_of_wall_time":
            entry["eval"].append(figure["value"])
        elif figure["figure"] == "raw_physics_steps_per_s":
            entry["cores"].add(figure.get("cores"))
    return {key: {"steps_per_s": sum(e["rate"]) / len(e["rate"]),
                  "evaluation_fraction": sum(e["eval"]) / len(e["eval"]) if e["eval"] else 0.0,
                  "cores": sorted(e["cores"], key=str), "commit": sorted(e["commit"], key=str),
                  "bench_runs": len(e["rate"])}
            for key, e in runs.items() if e["rate"]}


def rate_for(rates: dict[tuple[str, str], dict], task: str, algo: str, off_policy: bool,
             like_cpo: bool = False) -> tuple[dict, str]:
    """The bench figures for (task, algo) and whose they are: a trust-region algorithm without a line takes its
    task's CPO figure (sampling dominates both); an off-policy one, whose gradient steps are nearly all of its
    time, its own figure on another task. A first-order one needs its own line: at the point tasks' paper batch
    PPO-Lagrangian's 40 epochs of 64-sample Adam steps took 20 times as long as the sampling."""
    if (task, algo) in rates:
        return rates[task, algo], algo
    if like_cpo and (task, "cpo") in rates:
        return rates[task, "cpo"], "cpo"
    other = sorted(t for t, a in rates if a == algo) if off_policy else []
    if other:
        return rates[other[0], algo], f"{algo} on {other[0]}"
    wanted = f"+task={task} +algo={algo}" + (" (or +algo=cpo)" if like_cpo else "")
    raise LookupError(f"no end_to_end_steps_per_s line for task {task} and {algo}: run python -m safebench.bench "
                     f"{wanted} and pass its output")


def wall_times(rates: dict[tuple[str, str], dict], experiments: list[str],
               seeds: dict[str, int]) -> list[dict]:
    """One dict per (experiment, task, algo), then one per experiment and a total."""
    out, total = [], 0.0
    for experiment in experiments:
        hours_of_experiment = 0.0
        for (task, label), jobs in experiment_jobs(experiment).items():
            algo = jobs["algo"]
            runs = seeds.get(task, len(jobs["budgets"]))
            rate, source = rate_for(rates, task, algo, jobs["off_policy"], jobs["like_cpo"])
            steps = round(runs * sum(jobs["budgets"]) / len(jobs["budgets"]))
            seconds = steps / rate["steps_per_s"] / (1.0 - rate["evaluation_fraction"])
            hours_of_experiment += seconds / 3600
            out.append({"figure": "wall_time_hours", "experiment": experiment, "task": task, "algo": label,
                        "value": seconds / 3600, "runs": runs, "env_steps": steps,
                        "end_to_end_steps_per_s": rate["steps_per_s"], "rate_of_algo": source,
                        "evaluation_fraction": rate["evaluation_fraction"],
                        "bench_runs": rate["bench_runs"], "cores": rate["cores"], "commit": rate["commit"]})
        out.append({"figure": "wall_time_hours", "experiment": experiment, "value": hours_of_experiment})
        total += hours_of_experiment
    out.append({"figure": "wall_time_hours", "experiment": "+".join(experiments), "value": total,
                "days": total / 24})
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m safebench.wall_time", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench_output", nargs="+", help="files of python -m safebench.bench lines ('-': stdin)")
    parser.add_argument("--experiment", action="append", dest="experiments",
                        help=f"conf/experiment name (repeatable; default: Figure 1, {' and '.join(FIGURE_1)})")
    parser.add_argument("--seeds", action="append", default=[], metavar="TASK=N",
                        help="seeds of TASK instead of its experiment's sweep (repeatable)")
    args = parser.parse_args(argv)
    lines: list[str] = []
    for name in args.bench_output:
        try:
            lines += sys.stdin.readlines() if name == "-" else Path(name).read_text().splitlines()
        except OSError as error:
            parser.error(f"cannot read {name}: {error.strerror or error}")
        except UnicodeDecodeError:
            parser.error(f"{name} is not a text file of python -m safebench.bench lines")
    seeds = {}
    for item in args.seeds:
        task, _, count = item.partition("=")
        if not count.isdigit():
            parser.error(f"--seeds wants TASK=N, got {item!r}")
        seeds[task] = int(count)
    from safebench.config_validation import available

    experiments = args.experiments or list(FIGURE_1)
    unknown = [name for name in experiments if name not in available("experiment")]
    if unknown:
        parser.error(f"unknown experiment {', '.join(unknown)}; available: {', '.join(available('experiment'))}")
    try:
        times = wall_times(read_rates(lines), experiments, seeds)
    except LookupError as missing:  # exit status 2 with the bench command to run, like every bad input here
        parser.error(str(missing))
    for line in times:
        print(json.dumps(line))


if __name__ == "__main__":
    main()
