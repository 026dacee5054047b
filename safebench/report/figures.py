"""Seaborn figures: learning curves in the layout of the paper's Figure 1, and a final return-vs-cost scatter.

With several constraints (a ``constraint`` column in curves and finals) each task's column gets one cost
panel per constraint, in declared order, with that constraint's limit dashed; tasks with fewer constraints
leave their lower panels empty. Single-constraint reports draw exactly one cost panel per task.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from safebench.report.paper_names import display_name
from safebench.report.run_loading import SINGLE_COST_NAME

PANEL_SIZE = (4.0, 3.0)  # inches per panel
LIMIT_STYLE = {"color": "black", "linestyle": "--", "linewidth": 1.2}


def new_figure(n_rows: int, n_cols: int) -> tuple[Figure, list[list]]:
    """An Agg figure (no pyplot, no global backend switch) with a grid of axes."""
    figure = Figure(figsize=(PANEL_SIZE[0] * n_cols, PANEL_SIZE[1] * n_rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(n_rows, n_cols, squeeze=False)
    return figure, axes.tolist()


def palette(algos: list[str]) -> dict[str, tuple]:
    """One fixed colour per algorithm, the same in every panel and figure, and no two alike: the
    colour-blind palette has 10 colours (it repeats beyond), so more algorithms take tab20's 20."""
    name = "colorblind" if len(algos) <= 10 else "tab20"
    return dict(zip(algos, sns.color_palette(name, n_colors=max(len(algos), 1))))


def save(figure: Figure, path: Path, formats: tuple[str, ...]) -> list[Path]:
    """Write the figure once per format next to each other (path's suffix is replaced)."""
    written = []
    for suffix in formats:
        target = path.with_suffix(f".{suffix}")
        figure.savefig(target, dpi=150)
        written.append(target)
    return written


def shared_legend(figure: Figure, axes: list[list], colours: dict[str, tuple], limit_label: str,
                  points: bool = False) -> None:
    """One legend below all panels (algorithms and the dashed limit) instead of one covering a panel's data."""
    for ax in (a for row in axes for a in row):
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    style = {"marker": "o", "linestyle": ""} if points else {"linewidth": 2}
    handles = [Line2D([], [], color=colour, label=display_name(algo), **style) for algo, colour in colours.items()]
    handles.append(Line2D([], [], label=limit_label, **LIMIT_STYLE))
    columns = min(len(handles), 2 * len(axes[0]))  # about two entries fit under each panel
    figure.legend(handles=handles, loc="outside lower center", ncols=columns, fontsize="small", frameon=False)


def draw_limits(ax: Axes, limits: list[float], vertical: bool) -> None:
    """The cost limit(s) d as dashed lines."""
    for limit in limits:
        (ax.axvline if vertical else ax.axhline)(limit, **LIMIT_STYLE)


def cost_panels(data: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """One task's cost series as (constraint name, its rows): one per constraint, or all rows when there is one."""
    if "constraint" not in data.columns:
        return [(SINGLE_COST_NAME, data)]
    return [(name, data[data["constraint"] == name]) for name in data["constraint"].unique()]


def one_row_per_update(curves: pd.DataFrame) -> pd.DataFrame:
    """Each run's first constraint's rows only: return columns repeat per constraint and would narrow the band."""
    if "constraint" not in curves.columns:
        return curves
    return curves[curves["constraint"] == curves.groupby("run_dir", sort=False)["constraint"].transform("first")]


def cost_label(name: str, text: str) -> str:
    """'Average cost' for the single constraint, 'Average cost (speed)' for a named one."""
    return text if name == SINGLE_COST_NAME else f"{text} ({name})"


def hide_unused(axes: list[list], col: int, used_rows: int) -> None:
    """Blank the panels below a task that has fewer constraints than the figure has cost rows."""
    for row in range(used_rows, len(axes)):
        axes[row][col].set_axis_off()


class NoEvaluationError(ValueError):
    """The evaluation's curves were asked for, but no run logged an evaluation."""


def evaluation_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """The deterministic evaluation's rows of the curves, its return and cost under the training columns' names."""
    if "eval_return_mean" not in curves or curves["eval_return_mean"].isna().all():
        raise NoEvaluationError("no run below the given folders logged a deterministic evaluation (eval.every was 0, or "
                         "the runs predate it): draw the training curves instead (--curves train)")
    evaluated = curves.dropna(subset=["eval_return_mean"])
    return evaluated.assign(return_mean=evaluated["eval_return_mean"], cost_mean=evaluated["eval_cost_mean"])


def learning_curves(curves: pd.DataFrame, path: Path, seed: int = 0, n_boot: int = 1000,
                    formats: tuple[str, ...] = ("png", "pdf"), which: str = "train") -> list[Path]:
    """One column per task, rows reward and each cost against env steps; mean and 95% bootstrap band per algorithm.

    ``which``: "train" (the exploring policy's episodes of each batch) or "eval" (the deterministic evaluation)."""
    if which == "eval":
        curves = evaluation_curves(curves)
    tasks, algos = sorted(curves["task"].unique()), sorted(curves["algo"].unique())
    colours = palette(algos)
    panels = {task: cost_panels(curves[curves["task"] == task]) for task in tasks}
    figure, axes = new_figure(1 + max(map(len, panels.values())), len(tasks))
    for col, task in enumerate(tasks):
        prefix = "Evaluation: average" if which == "eval" else "Average"
        rows = [("return_mean", f"{prefix} reward", one_row_per_update(curves[curves["task"] == task]), None)]
        rows += [("cost_mean", cost_label(name, f"{prefix} cost"), data, data["cost_limit"])
                 for name, data in panels[task]]
        for row, (column, label, data, limits) in enumerate(rows):
            ax = axes[row][col]
            sns.lineplot(data=data, x="env_steps", y=column, hue="algo", hue_order=algos, palette=colours,
                         errorbar=("ci", 95), n_boot=n_boot, seed=seed, ax=ax, legend=False)
            if limits is not None:
                draw_limits(ax, sorted(limits.unique()), vertical=False)
            ax.set(title=task if row == 0 else "", xlabel="Environment steps", ylabel=label)
            ax.grid(alpha=0.3)
        hide_unused(axes, col, len(rows))
    shared_legend(figure, axes, colours, "cost limit d")
    return save(figure, path, formats)


def final_scatter(finals: pd.DataFrame, path: Path, formats: tuple[str, ...] = ("png", "pdf")) -> list[Path]:
    """Final return against final cost (one row of panels per constraint), a point per seed, the limit dashed."""
    tasks, algos = sorted(finals["task"].unique()), sorted(finals["algo"].unique())
    colours = palette(algos)
    panels = {task: cost_panels(finals[finals["task"] == task]) for task in tasks}
    figure, axes = new_figure(max(map(len, panels.values())), len(tasks))
    for col, task in enumerate(tasks):
        for row, (name, data) in enumerate(panels[task]):
            ax = axes[row][col]
            sns.scatterplot(data=data, x="final_cost", y="final_return", hue="algo", hue_order=algos,
                            palette=colours, s=60, ax=ax, legend=False)
            draw_limits(ax, sorted(data["cost_limit"].unique()), vertical=True)
            ax.set(title=task if row == 0 else "", xlabel=cost_label(name, "Final cost"), ylabel="Final return")
            ax.grid(alpha=0.3)
        hide_unused(axes, col, len(panels[task]))
    shared_legend(figure, axes, colours, "cost limit d", points=True)
    return save(figure, path, formats)
