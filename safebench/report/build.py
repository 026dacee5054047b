"""Runs the whole report: load runs, write curves.csv, the summary tables and the figures into one folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from safebench.report import tables
from safebench.report.run_loading import LoadedRuns, load_runs


@dataclass(frozen=True)
class ReportOptions:
    """Knobs of the statistics; the defaults are SPEC section 5's (95% CI, seeded)."""

    confidence: float = 0.95
    n_resamples: int = 10_000
    seed: int = 0
    final_fraction: float = 0.1
    curves: str = "train"  # the learning-curve figure: "train" or "eval" (the deterministic evaluation)


class NoRunsError(Exception):
    """No complete run below the given directories: nothing to report (``loaded`` says what was skipped)."""

    def __init__(self, message: str, loaded: LoadedRuns) -> None:
        super().__init__(message)
        self.loaded = loaded


def make_report(roots: list[Path], out: Path,
                options: ReportOptions = ReportOptions()) -> tuple[dict[str, Path], LoadedRuns]:
    """Write every output into ``out``; returns {name: path} and what was loaded or skipped."""
    loaded = load_runs(roots)
    if not loaded.runs:
        raise NoRunsError(f"no complete run found below {', '.join(map(str, roots))} "
                          f"({len(loaded.skipped)} incomplete run directories)", loaded)
    from safebench.report import figures  # matplotlib and seaborn: only once there is something to draw

    out.mkdir(parents=True, exist_ok=True)
    curves = tables.tidy_curves(loaded.runs)
    finals = tables.run_finals(loaded.runs, options.final_fraction)
    summary = tables.summary_table(finals, options.confidence, options.n_resamples, options.seed)
    paths = {"curves.csv": out / "curves.csv", "finals.csv": out / "finals.csv"}
    curves.to_csv(paths["curves.csv"], index=False)
    finals.to_csv(paths["finals.csv"], index=False)
    paths |= tables.write_tables(summary, out)
    for written in figures.learning_curves(curves, out / "learning_curves.png", seed=options.seed,
                                           which=options.curves):
        paths[written.name] = written
    for written in figures.final_scatter(finals, out / "final_scatter.png"):
        paths[written.name] = written
    return paths, loaded
