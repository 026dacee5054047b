"""The tidy curve table, one 'final' row per run, and the per-(task, algo) summary in CSV, Markdown and LaTeX.

Several constraints. When every run has one constraint the tables are as they always were. As soon as one
loaded run has m > 1 (task.cost_limit a list, progress.csv columns cost_mean_<name>, ...), each
(run, constraint) is one cost series and every table gains a ``constraint`` column (the name; 'cost' for a
run with a scalar limit):

- curves.csv: one row per (update, constraint) of a run; that constraint's cost_mean, cost_limit,
  batch_cost and violation sit under those plain names (the <name>-suffixed columns are gone), and the
  return columns repeat on each constraint's rows (keep one constraint per run before averaging them).
- finals.csv: one row per (run, constraint): final_cost, cost_limit, cumulative_violation and cost_rate
  of that constraint; final_return repeats.
- summary.{csv,md,tex}: one row per (task, algo, constraint, limit) with that constraint's cost mean
  [CI], IQM, limit, feasible fraction (seeds whose final cost of that constraint <= its limit), cost
  rate and cumulative violation; the return figures repeat on each row. Then, for each (task, algo)
  holding a run with m > 1, one row with constraint 'all' over all its runs: feasible_fraction counts
  a seed feasible only if its final cost is within the limit for every one of its constraints (each run
  against its own limits); its cost columns (cost_mean ... cost_limit, cost_rate, cumulative_violation)
  are NaN in summary.csv and '-' in summary.md/.tex. A single-constraint (task, algo) has no 'all' row:
  its one row already says it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from safebench.report import statistics as st
from safebench.report.paper_names import display_name
from safebench.report.run_loading import ALL_CONSTRAINTS, COST_COLUMNS, Constraint, Run

IDENTITY = ["task", "algo", "seed"]
SUMMARY_COLUMNS = ["task", "algo", "n_seeds", "return_mean", "return_ci_low", "return_ci_high", "return_iqm",
                   "cost_mean", "cost_ci_low", "cost_ci_high", "cost_iqm", "cost_limit", "feasible_fraction",
                   "cost_rate", "cumulative_violation",
                   # the deterministic evaluation's finals beside the training ones (NaN for runs without it)
                   "eval_return_mean", "eval_cost_mean", "eval_feasible_fraction"]
CONSTRAINT_SUMMARY_COLUMNS = [*SUMMARY_COLUMNS[:2], "constraint", *SUMMARY_COLUMNS[2:]]
MIN_SEEDS_FOR_IQM = 4
ALL_ROW_BLANKS = ["Cost", "Cost IQM", "Limit", "Cost rate", "Cum. violation"]  # no single cost in an 'all' row
NOTE = ("Final = mean over the updates in the last 10% of env steps of each seed; then mean over seeds "
        "[95% bootstrap CI]. IQM only with 4 or more seeds. Feasible = seeds whose final cost <= limit. "
        "Eval = the same for the deterministic evaluation (mean action, its own episodes), where runs have it. "
        "Cost rate = total training cost / env steps. Cum. violation = sum over training episodes of "
        "max(0, C - d), mean over seeds.")
CONSTRAINT_NOTE = (" Several constraints: one row per constraint, with that constraint's cost, limit, feasibility, "
                   f"cost rate and violation (the return repeats); row '{ALL_CONSTRAINTS}': seeds whose final cost "
                   "is within the limit of every constraint.")


def by_constraint(runs: list[Run]) -> bool:
    """Whether any run has several constraints: then every table splits costs by constraint."""
    return any(len(run.constraints) > 1 for run in runs)


def constraint_progress(run: Run, constraint: Constraint) -> pd.DataFrame:
    """The run's progress with this constraint's cost columns under the plain names (cost_mean, ...), others gone."""
    own = {constraint.column(base): base for base in COST_COLUMNS}
    others = {c.column(base) for c in run.constraints for base in COST_COLUMNS if c != constraint}
    if constraint.suffix:  # plain names in a multi-constraint log would clash with the renamed ones
        others |= set(COST_COLUMNS)
    drop = [column for column in run.progress.columns if column in others - own.keys()]
    return run.progress.drop(columns=drop).rename(columns=own)


def tidy_curves(runs: list[Run]) -> pd.DataFrame:
    """All progress rows of all runs, one row per update (and constraint), led by task, algo, seed (for seaborn)."""
    split = by_constraint(runs)
    frames = []
    for run in runs:
        for constraint in run.constraints:
            frame = constraint_progress(run, constraint)
            frame.insert(0, "task", run.task)
            frame.insert(1, "algo", run.algo)
            frame.insert(2, "seed", run.seed)
            if split:
                frame.insert(3, "constraint", constraint.name)
            frame["cost_limit"] = constraint.limit
            frame["run_dir"] = str(run.path)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*IDENTITY, "env_steps"])


def run_finals(runs: list[Run], fraction: float = st.FINAL_FRACTION) -> pd.DataFrame:
    """One row per run (and constraint): final return and cost, the limit, training-time violation and cost rate."""
    split = by_constraint(runs)
    rows = []
    for run in runs:
        final_return = st.final_window_mean(run.progress["return_mean"].to_numpy(float),
                                            run.progress["env_steps"].to_numpy(float), fraction)
        for constraint in run.constraints:
            p = constraint_progress(run, constraint)
            rows.append({
                "task": run.task, "algo": run.algo, "seed": run.seed,
                **({"constraint": constraint.name} if split else {}), "cost_limit": constraint.limit,
                "final_return": final_return,
                "final_cost": st.final_window_mean(p["cost_mean"].to_numpy(float), p["env_steps"].to_numpy(float),
                                                   fraction),
                "cumulative_violation": (st.cumulative_violation(p["violation"].to_numpy(float))
                                         if "violation" in p else math.nan),
                "cost_rate": (st.cost_rate(p["batch_cost"].to_numpy(float), p["batch_steps"].to_numpy(float))
                              if {"batch_cost", "batch_steps"} <= set(p.columns) else math.nan),
                **evaluation_finals(p, fraction),
                "run_dir": str(run.path),
            })
    return pd.DataFrame(rows)


def evaluation_finals(progress: pd.DataFrame, fraction: float) -> dict[str, float]:
    """The deterministic evaluation's final return and cost (its evaluations in the last ``fraction`` of env
    steps), NaN for a run without evaluation."""
    steps = progress["env_steps"].to_numpy(float)
    figures = {}
    for column, name in (("eval_return_mean", "eval_final_return"), ("eval_cost_mean", "eval_final_cost")):
        figures[name] = (st.final_window_mean(progress[column].to_numpy(float), steps, fraction)
                         if column in progress else math.nan)
    return figures


def return_figures(returns: np.ndarray, confidence: float, n_resamples: int, seed: int) -> dict[str, float]:
    """Seed count and final-return mean [CI] and IQM of one group: shared by cost rows and 'all' rows."""
    return_ci = st.bootstrap_ci(returns, confidence, n_resamples, seed)
    return {
        "n_seeds": len(returns),
        "return_mean": float(np.nanmean(returns)) if np.isfinite(returns).any() else math.nan,
        "return_ci_low": return_ci[0], "return_ci_high": return_ci[1],
        "return_iqm": st.iqm(returns) if len(returns) >= MIN_SEEDS_FOR_IQM else math.nan,
    }


def summarize_group(group: pd.DataFrame, confidence: float, n_resamples: int, seed: int) -> dict[str, float]:
    """The summary figures of one (task, algo, limit) group of runs (or of one constraint's series)."""
    returns, costs = group["final_return"].to_numpy(float), group["final_cost"].to_numpy(float)
    enough = len(group) >= MIN_SEEDS_FOR_IQM
    cost_ci = st.bootstrap_ci(costs, confidence, n_resamples, seed)
    return {
        **return_figures(returns, confidence, n_resamples, seed),
        "cost_mean": float(np.nanmean(costs)) if np.isfinite(costs).any() else math.nan,
        "cost_ci_low": cost_ci[0], "cost_ci_high": cost_ci[1],
        "cost_iqm": st.iqm(costs) if enough else math.nan,
        "feasible_fraction": st.feasible_fraction(costs, group["cost_limit"].to_numpy(float)),
        "cost_rate": float(group["cost_rate"].mean()),
        "cumulative_violation": float(group["cumulative_violation"].mean()),
        **evaluation_summary(group),
    }


def evaluation_summary(group: pd.DataFrame) -> dict[str, float]:
    """Mean over seeds of the evaluation's finals, and the share of seeds whose evaluation cost is within the limit."""
    if "eval_final_return" not in group or not np.isfinite(group["eval_final_return"].to_numpy(float)).any():
        return {"eval_return_mean": math.nan, "eval_cost_mean": math.nan, "eval_feasible_fraction": math.nan}
    costs = group["eval_final_cost"].to_numpy(float)
    return {"eval_return_mean": float(np.nanmean(group["eval_final_return"].to_numpy(float))),
            "eval_cost_mean": float(np.nanmean(costs)),
            "eval_feasible_fraction": st.feasible_fraction(costs, group["cost_limit"].to_numpy(float))}


def summary_table(finals: pd.DataFrame, confidence: float = 0.95, n_resamples: int = 10_000,
                  seed: int = 0) -> pd.DataFrame:
    """One row per (task, algo, cost limit) with SUMMARY_COLUMNS; runs with another limit never mix.

    finals with a ``constraint`` column (some run has m > 1) give constraint_summary_table's rows instead."""
    if "constraint" in finals.columns:
        return constraint_summary_table(finals, confidence, n_resamples, seed)
    rows = []
    for (task, algo, limit), group in finals.groupby(["task", "algo", "cost_limit"], sort=True):
        rows.append({"task": task, "algo": algo, "cost_limit": limit,
                     **summarize_group(group, confidence, n_resamples, seed)})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def constraint_summary_table(finals: pd.DataFrame, confidence: float = 0.95, n_resamples: int = 10_000,
                              seed: int = 0) -> pd.DataFrame:
    """One row per (task, algo, constraint, limit), then an 'all' row per multi-constraint (task, algo)."""
    rows = []
    for (task, algo), pair in finals.groupby(["task", "algo"], sort=True):
        for (name, limit), group in pair.groupby(["constraint", "cost_limit"], sort=False):  # declared order
            rows.append({"task": task, "algo": algo, "constraint": name, "cost_limit": limit,
                         **summarize_group(group, confidence, n_resamples, seed)})
        if pair.groupby("run_dir").size().max() > 1:
            rows.append({"task": task, "algo": algo, "constraint": ALL_CONSTRAINTS,
                         **all_constraints_figures(pair, confidence, n_resamples, seed)})
    return pd.DataFrame(rows, columns=CONSTRAINT_SUMMARY_COLUMNS)


def all_constraints_figures(pair: pd.DataFrame, confidence: float, n_resamples: int, seed: int) -> dict[str, float]:
    """Return figures per run and the fraction of runs within every one of their limits (NaN cost = infeasible)."""
    runs = pair.groupby("run_dir", sort=False)
    within = (pair["final_cost"] <= pair["cost_limit"]).groupby(pair["run_dir"], sort=False).all()
    return {**return_figures(runs["final_return"].first().to_numpy(float), confidence, n_resamples, seed),
            "feasible_fraction": float(within.mean())}


def number_text(x: float) -> str:
    """Compact human formatting: 1234 -> '1234', 12.345 -> '12.35', 0.01234 -> '0.0123', NaN -> '-'."""
    if x is None or not math.isfinite(x):
        return "-"
    if abs(x) >= 100:
        return f"{x:.0f}"
    return f"{x:.2f}" if abs(x) >= 1 else f"{x:#.3g}"


def display_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as strings for people: 'mean [low, high]' cells, feasibility as a count."""
    def with_ci(row: pd.Series, what: str) -> str:
        return (f"{number_text(row[f'{what}_mean'])} [{number_text(row[f'{what}_ci_low'])}, "
                f"{number_text(row[f'{what}_ci_high'])}]")

    display = pd.DataFrame({
        "Task": summary["task"],
        "Algorithm": summary["algo"].map(display_name),
        "Seeds": summary["n_seeds"].astype(int).astype(str),
        "Return": [with_ci(r, "return") for _, r in summary.iterrows()],
        "Return IQM": summary["return_iqm"].map(number_text),
        "Cost": [with_ci(r, "cost") for _, r in summary.iterrows()],
        "Cost IQM": summary["cost_iqm"].map(number_text),
        "Limit": summary["cost_limit"].map(number_text),
        "Feasible": [f"{round(f * n)}/{n}" for f, n in zip(summary["feasible_fraction"], summary["n_seeds"])],
        "Cost rate": summary["cost_rate"].map(number_text),
        "Cum. violation": summary["cumulative_violation"].map(number_text),
    })
    if np.isfinite(summary["eval_return_mean"].to_numpy(float)).any():  # the evaluation beside the training
        display.insert(display.columns.get_loc("Return IQM") + 1, "Eval return",
                       summary["eval_return_mean"].map(number_text))
        display.insert(display.columns.get_loc("Limit") + 1, "Eval cost", summary["eval_cost_mean"].map(number_text))
        display.insert(display.columns.get_loc("Feasible") + 1, "Eval feasible",
                       [f"{round(f * n)}/{n}" if math.isfinite(f) else "-"
                        for f, n in zip(summary["eval_feasible_fraction"], summary["n_seeds"])])
    if "constraint" in summary.columns:
        display.insert(2, "Constraint", summary["constraint"])
        display.loc[summary["constraint"] == ALL_CONSTRAINTS,
                    [c for c in [*ALL_ROW_BLANKS, "Eval cost"] if c in display.columns]] = "-"
    return display


def to_markdown(display: pd.DataFrame, note: str = NOTE) -> str:
    """A GitHub Markdown table (no tabulate dependency), followed by how to read it."""
    cells = [list(display.columns), *display.astype(str).to_numpy().tolist()]
    escape = [[c.replace("|", "\\|") for c in row] for row in cells]
    lines = ["| " + " | ".join(row) + " |" for row in escape]
    lines.insert(1, "|" + "|".join("---" for _ in display.columns) + "|")
    return "# safebench summary\n\n" + "\n".join(lines) + f"\n\n{note}\n"


def to_latex(display: pd.DataFrame, note: str = NOTE) -> str:
    """A booktabs LaTeX table (pandas' Styler, needs jinja2) with the reading note as its caption."""
    caption = note.replace("%", r"\%").replace("<=", r"$\le$")
    text_columns = 3 if "Constraint" in display.columns else 2  # left-aligned: task, algorithm (, constraint)
    body = display.to_latex(index=False, escape=True,
                            column_format="l" * text_columns + "r" * (display.shape[1] - text_columns),
                            caption=caption, label="tab:safebench-summary", position="t")
    return "% needs \\usepackage{booktabs}\n" + body


def write_tables(summary: pd.DataFrame, out: Path) -> dict[str, Path]:
    """summary.csv (raw numbers), summary.md and summary.tex (formatted)."""
    display = display_table(summary)
    note = NOTE + (CONSTRAINT_NOTE if "constraint" in summary.columns else "")
    paths = {"summary.csv": out / "summary.csv", "summary.md": out / "summary.md", "summary.tex": out / "summary.tex"}
    summary.to_csv(paths["summary.csv"], index=False)
    paths["summary.md"].write_text(to_markdown(display, note))
    paths["summary.tex"].write_text(to_latex(display, note))
    return paths
