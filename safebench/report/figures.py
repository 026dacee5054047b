"""Seaborn figures: learning curves in the layout of the paper's Figure 1, and a final return-vs-cost scatter."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

PANEL_SIZE = (4.0, 3.0)  # inches per panel
CURVE_ROWS = (("return_mean", "Average reward"), ("cost_mean", "Average cost"))
LIMIT_STYLE = {"color": "black", "linestyle": "--", "linewidth": 1.2}


def new_figure(n_rows: int, n_cols: int) -> tuple[Figure, list[list]]:
    """An Agg figure (no pyplot, no global backend switch) with a grid of axes."""
    figure = Figure(figsize=(PANEL_SIZE[0] * n_cols, PANEL_SIZE[1] * n_rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(n_rows, n_cols, squeeze=False)
    return figure, axes.tolist()


def palette(algos: list[str]) -> dict[str, tuple]:
    """One fixed colour per algorithm, the same in every panel and figure."""
    return dict(zip(algos, sns.color_palette("colorblind", n_colors=max(len(algos), 1))))


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
    handles = [Line2D([], [], color=colour, label=algo, **style) for algo, colour in colours.items()]
    handles.append(Line2D([], [], label=limit_label, **LIMIT_STYLE))
    columns = min(len(handles), 2 * len(axes[0]))  # about two entries fit under each panel
    figure.legend(handles=handles, loc="outside lower center", ncols=columns, fontsize="small", frameon=False)


def draw_limits(ax, limits: list[float], vertical: bool) -> None:
    """The cost limit(s) d as dashed lines."""
    for limit in limits:
        (ax.axvline if vertical else ax.axhline)(limit, **LIMIT_STYLE)


def learning_curves(curves: pd.DataFrame, path: Path, seed: int = 0, n_boot: int = 1000,
                    formats: tuple[str, ...] = ("png", "pdf")) -> list[Path]:
    """One column per task, rows reward and cost against env steps; mean and 95% bootstrap band per algorithm."""
    tasks, algos = sorted(curves["task"].unique()), sorted(curves["algo"].unique())
    colours = palette(algos)
    figure, axes = new_figure(len(CURVE_ROWS), len(tasks))
    for col, task in enumerate(tasks):
        data = curves[curves["task"] == task]
        for row, (column, label) in enumerate(CURVE_ROWS):
            ax = axes[row][col]
            sns.lineplot(data=data, x="env_steps", y=column, hue="algo", hue_order=algos, palette=colours,
                         errorbar=("ci", 95), n_boot=n_boot, seed=seed, ax=ax, legend=False)
            if column == "cost_mean":
                draw_limits(ax, sorted(data["cost_limit"].unique()), vertical=False)
            ax.set(title=task if row == 0 else "", xlabel="Environment steps", ylabel=label)
            ax.grid(alpha=0.3)
    shared_legend(figure, axes, colours, "cost limit d")
    return save(figure, path, formats)


def final_scatter(finals: pd.DataFrame, path: Path, formats: tuple[str, ...] = ("png", "pdf")) -> list[Path]:
    """Final return against final cost, one point per seed coloured by algorithm, the limit dashed."""
    tasks, algos = sorted(finals["task"].unique()), sorted(finals["algo"].unique())
    colours = palette(algos)
    figure, axes = new_figure(1, len(tasks))
    for col, task in enumerate(tasks):
        ax, data = axes[0][col], finals[finals["task"] == task]
        sns.scatterplot(data=data, x="final_cost", y="final_return", hue="algo", hue_order=algos, palette=colours,
                        s=60, ax=ax, legend=False)
        draw_limits(ax, sorted(data["cost_limit"].unique()), vertical=True)
        ax.set(title=task, xlabel="Final cost", ylabel="Final return")
        ax.grid(alpha=0.3)
    shared_legend(figure, axes, colours, "cost limit d", points=True)
    return save(figure, path, formats)
