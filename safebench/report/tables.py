"""The tidy curve table, one 'final' row per run, and the per-(task, algo) summary in CSV, Markdown and LaTeX."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from safebench.report import statistics as st
from safebench.report.run_loading import Run

IDENTITY = ["task", "algo", "seed"]
SUMMARY_COLUMNS = ["task", "algo", "n_seeds", "return_mean", "return_ci_low", "return_ci_high", "return_iqm",
                   "cost_mean", "cost_ci_low", "cost_ci_high", "cost_iqm", "cost_limit", "feasible_fraction",
                   "cost_rate", "cumulative_violation"]
MIN_SEEDS_FOR_IQM = 4
NOTE = ("Final = mean over the updates in the last 10% of env steps of each seed; then mean over seeds "
        "[95% bootstrap CI]. IQM only with 4 or more seeds. Feasible = seeds whose final cost <= limit. "
        "Cost rate = total training cost / env steps. Cum. violation = sum over training episodes of "
        "max(0, C - d), mean over seeds.")


def tidy_curves(runs: list[Run]) -> pd.DataFrame:
    """All progress rows of all runs, one row per update, led by task, algo, seed (for seaborn and pandas)."""
    frames = []
    for run in runs:
        frame = run.progress.copy()
        frame.insert(0, "task", run.task)
        frame.insert(1, "algo", run.algo)
        frame.insert(2, "seed", run.seed)
        frame["cost_limit"] = run.cost_limit
        frame["run_dir"] = str(run.path)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*IDENTITY, "env_steps"])


def run_finals(runs: list[Run], fraction: float = st.FINAL_FRACTION) -> pd.DataFrame:
    """One row per run: final return and cost, the limit, and its training-time violation and cost rate."""
    rows = []
    for run in runs:
        p = run.progress
        steps = p["env_steps"].to_numpy(float)
        rows.append({
            "task": run.task, "algo": run.algo, "seed": run.seed, "cost_limit": run.cost_limit,
            "final_return": st.final_window_mean(p["return_mean"].to_numpy(float), steps, fraction),
            "final_cost": st.final_window_mean(p["cost_mean"].to_numpy(float), steps, fraction),
            "cumulative_violation": (st.cumulative_violation(p["violation"].to_numpy(float))
                                     if "violation" in p else math.nan),
            "cost_rate": (st.cost_rate(p["batch_cost"].to_numpy(float), p["batch_steps"].to_numpy(float))
                          if {"batch_cost", "batch_steps"} <= set(p.columns) else math.nan),
            "run_dir": str(run.path),
        })
    return pd.DataFrame(rows)


def summarize_group(group: pd.DataFrame, confidence: float, n_resamples: int, seed: int) -> dict[str, float]:
    """The summary figures of one (task, algo, limit) group of runs."""
    returns, costs = group["final_return"].to_numpy(float), group["final_cost"].to_numpy(float)
    enough = len(group) >= MIN_SEEDS_FOR_IQM
    return_ci = st.bootstrap_ci(returns, confidence, n_resamples, seed)
    cost_ci = st.bootstrap_ci(costs, confidence, n_resamples, seed)
    return {
        "n_seeds": len(group),
        "return_mean": float(np.nanmean(returns)) if np.isfinite(returns).any() else math.nan,
        "return_ci_low": return_ci[0], "return_ci_high": return_ci[1],
        "return_iqm": st.iqm(returns) if enough else math.nan,
        "cost_mean": float(np.nanmean(costs)) if np.isfinite(costs).any() else math.nan,
        "cost_ci_low": cost_ci[0], "cost_ci_high": cost_ci[1],
        "cost_iqm": st.iqm(costs) if enough else math.nan,
        "feasible_fraction": st.feasible_fraction(costs, group["cost_limit"].to_numpy(float)),
        "cost_rate": float(group["cost_rate"].mean()),
        "cumulative_violation": float(group["cumulative_violation"].mean()),
    }


def summary_table(finals: pd.DataFrame, confidence: float = 0.95, n_resamples: int = 10_000,
                  seed: int = 0) -> pd.DataFrame:
    """One row per (task, algo, cost limit) with SUMMARY_COLUMNS; runs with another limit never mix."""
    rows = []
    for (task, algo, limit), group in finals.groupby(["task", "algo", "cost_limit"], sort=True):
        rows.append({"task": task, "algo": algo, "cost_limit": limit,
                     **summarize_group(group, confidence, n_resamples, seed)})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


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

    return pd.DataFrame({
        "Task": summary["task"],
        "Algorithm": summary["algo"],
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


def to_markdown(display: pd.DataFrame) -> str:
    """A GitHub Markdown table (no tabulate dependency), followed by how to read it."""
    cells = [list(display.columns), *display.astype(str).to_numpy().tolist()]
    escape = [[c.replace("|", "\\|") for c in row] for row in cells]
    lines = ["| " + " | ".join(row) + " |" for row in escape]
    lines.insert(1, "|" + "|".join("---" for _ in display.columns) + "|")
    return "# safebench summary\n\n" + "\n".join(lines) + f"\n\n{NOTE}\n"


def to_latex(display: pd.DataFrame) -> str:
    """A booktabs LaTeX table (pandas' Styler, needs jinja2) with the reading note as its caption."""
    caption = NOTE.replace("%", r"\%").replace("<=", r"$\le$")
    body = display.to_latex(index=False, escape=True, column_format="ll" + "r" * (display.shape[1] - 2),
                            caption=caption, label="tab:safebench-summary", position="t")
    return "% needs \\usepackage{booktabs}\n" + body


def write_tables(summary: pd.DataFrame, out: Path) -> dict[str, Path]:
    """summary.csv (raw numbers), summary.md and summary.tex (formatted)."""
    display = display_table(summary)
    paths = {"summary.csv": out / "summary.csv", "summary.md": out / "summary.md", "summary.tex": out / "summary.tex"}
    summary.to_csv(paths["summary.csv"], index=False)
    paths["summary.md"].write_text(to_markdown(display))
    paths["summary.tex"].write_text(to_latex(display))
    return paths
