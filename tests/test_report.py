"""The comparison report on synthetic run directories whose right answers are known by hand."""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from PIL import Image
from scipy.stats import trim_mean
from helpers import run_module
from synthetic_runs import N_UPDATES, linear_run, write_multi_run, write_run

from safebench.report import statistics as st
from safebench.report.__main__ import main as report_main
from safebench.report.build import make_report
from safebench.report.run_loading import Constraint, load_runs


def report_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return run_module("safebench.report", *map(str, args), cwd=cwd, timeout=120)


# ---- statistics ----------------------------------------------------------------------------------

def test_final_window_mean_averages_the_last_tenth_of_env_steps():
    steps = np.arange(1, 21) * 1000.0
    assert st.final_window_mean(np.arange(1, 21, dtype=float), steps) == pytest.approx(19.0)  # epochs 18,19,20
    values = np.arange(1, 21, dtype=float)
    values[-1] = np.nan  # an update without a finished episode
    assert st.final_window_mean(values, steps) == pytest.approx(18.5)
    assert st.final_window_mean(np.array([3.0, 7.0]), np.array([10.0, 20.0]), fraction=0.6) == pytest.approx(5.0)
    assert np.isnan(st.final_window_mean(np.array([]), np.array([])))


def test_bootstrap_ci_contains_the_mean_shrinks_with_seeds_and_is_seeded():
    rng = np.random.default_rng(123)
    few, many = rng.normal(10.0, 2.0, size=4), rng.normal(10.0, 2.0, size=64)
    low4, high4 = st.bootstrap_ci(few, seed=0)
    low64, high64 = st.bootstrap_ci(many, seed=0)
    assert low4 < few.mean() < high4 and low64 < many.mean() < high64
    assert (high64 - low64) < 0.5 * (high4 - low4)
    assert st.bootstrap_ci(few, seed=0) == (low4, high4)
    assert st.bootstrap_ci(many, seed=1) != (low64, high64)
    assert st.bootstrap_ci(np.array([3.0]), seed=0) == (3.0, 3.0)
    # the percentile interval of the mean of {0, 1}: resampled means are 0, 0.5 or 1
    assert st.bootstrap_ci(np.array([0.0, 1.0]), confidence=0.95, seed=0) == (0.0, 1.0)
    assert st.bootstrap_ci(np.array([0.0, 1.0]), confidence=0.4, seed=0) == (0.5, 0.5)


def test_iqm_drops_the_outer_quartiles():
    assert st.iqm(np.array([100, 0, 3, 50, 1, 10, 2, 0.0])) == pytest.approx(4.0)  # mean of 1, 2, 3, 10
    assert st.iqm(np.array([3, 1, 2, 100, -50.0])) == pytest.approx(2.0)  # drops -50 and 100
    assert st.iqm(np.array([7.0])) == 7.0
    values = np.random.default_rng(0).normal(size=12)
    assert st.iqm(values) == pytest.approx(trim_mean(values, 0.25))  # rliable's definition


def test_feasibility_violation_and_cost_rate_by_hand():
    assert st.feasible_fraction(np.array([4.0, 6.0, 5.0, np.nan]), 5.0) == pytest.approx(0.5)
    assert st.feasible_fraction(np.array([4.0, 6.0]), np.array([3.0, 7.0])) == pytest.approx(0.5)
    assert st.cumulative_violation(np.array([0.0, 2.5, 1.5])) == pytest.approx(4.0)
    assert st.cost_rate(np.array([10.0, 30.0]), np.array([100.0, 100.0])) == pytest.approx(0.2)


# ---- tables ---------------------------------------------------------------------------------------

def make_runs(root):
    """trpo: 3 seeds with known finals; lagrangian: 4 seeds (IQM); fixed_penalty with two betas; ant_circle."""
    for seed, cost in zip(range(3), [4.0, 6.0, 5.0]):  # final returns 19, 38, 57
        linear_run(root, "point_circle", "trpo", seed, slope=seed + 1.0, cost=cost,
                   batch_cost=100.0 * (seed + 1), violation=float(seed))
    for seed, level in enumerate([1.0, 2.0, 3.0, 100.0]):
        write_run(root, "point_circle", "lagrangian", seed, np.full(N_UPDATES, level), np.full(N_UPDATES, 2.0))
    for beta, cost in [(5.0, 8.0), (50.0, 1.0)]:
        linear_run(root, "point_circle", "fixed_penalty", 0, slope=1.0, cost=cost, beta=beta)
    linear_run(root, "ant_circle", "trpo", 0, slope=2.0, cost=30.0, cost_limit=25.0)
    return root


@pytest.fixture
def runs_root(tmp_path):
    return make_runs(tmp_path / "runs")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The report of make_runs' directories, made once for the tests that only read it."""
    root = make_runs(tmp_path_factory.mktemp("shared") / "runs")
    make_report([root], root.parent / "report")
    return root.parent / "report"


def summary_row(summary: pd.DataFrame, task: str, algo: str) -> pd.Series:
    rows = summary[(summary["task"] == task) & (summary["algo"] == algo)]
    assert len(rows) == 1, summary[["task", "algo"]]
    return rows.iloc[0]


def test_summary_values_match_hand_computed_means(report):
    summary = pd.read_csv(report / "summary.csv")
    for column in ["task", "algo", "n_seeds", "return_mean", "return_ci_low", "return_ci_high", "cost_mean",
                   "cost_ci_low", "cost_ci_high", "cost_limit", "feasible_fraction", "cost_rate",
                   "cumulative_violation", "return_iqm", "cost_iqm"]:
        assert column in summary.columns
    trpo = summary_row(summary, "point_circle", "trpo")
    assert trpo["n_seeds"] == 3
    assert trpo["return_mean"] == pytest.approx(38.0)  # mean of 19, 38, 57
    assert trpo["return_ci_low"] < 38.0 < trpo["return_ci_high"]
    assert 19.0 <= trpo["return_ci_low"] and trpo["return_ci_high"] <= 57.0
    assert trpo["cost_mean"] == pytest.approx(5.0) and trpo["cost_limit"] == 5.0
    assert trpo["feasible_fraction"] == pytest.approx(2 / 3)  # 4 and 5 are within d = 5, 6 is not
    assert trpo["cost_rate"] == pytest.approx(0.2)  # mean of 0.1, 0.2, 0.3 per step
    assert trpo["cumulative_violation"] == pytest.approx(20.0)  # mean over seeds of 20 updates x 0, 1, 2
    assert np.isnan(trpo["return_iqm"]) and np.isnan(trpo["cost_iqm"])  # fewer than 4 seeds
    lagrangian = summary_row(summary, "point_circle", "lagrangian")
    assert lagrangian["return_mean"] == pytest.approx(26.5)
    assert lagrangian["return_iqm"] == pytest.approx(2.5) and lagrangian["cost_iqm"] == pytest.approx(2.0)
    assert lagrangian["feasible_fraction"] == 1.0
    assert summary_row(summary, "point_circle", "fixed_penalty(beta=5)")["cost_mean"] == pytest.approx(8.0)
    assert summary_row(summary, "point_circle", "fixed_penalty(beta=50)")["feasible_fraction"] == 1.0
    ant = summary_row(summary, "ant_circle", "trpo")
    assert ant["cost_limit"] == 25.0 and ant["feasible_fraction"] == 0.0 and ant["return_mean"] == pytest.approx(38)
    assert len(summary) == 5


def test_ci_shrinks_with_more_seeds(tmp_path):
    rng = np.random.default_rng(7)
    slopes = rng.normal(1.0, 0.3, size=16)
    for n in (4, 16):
        for seed in range(n):
            linear_run(tmp_path / f"n{n}", "point_circle", "trpo", seed, slope=slopes[seed], cost=1.0)
    widths = {}
    for n in (4, 16):
        make_report([tmp_path / f"n{n}"], tmp_path / f"out{n}")
        row = pd.read_csv(tmp_path / f"out{n}" / "summary.csv").iloc[0]
        assert row["return_mean"] == pytest.approx(19 * slopes[:n].mean())
        assert row["return_ci_low"] < row["return_mean"] < row["return_ci_high"]
        widths[n] = row["return_ci_high"] - row["return_ci_low"]
    assert widths[16] < 0.75 * widths[4]


def test_curves_csv_is_tidy_one_row_per_update(report):
    curves = pd.read_csv(report / "curves.csv")
    assert list(curves.columns[:5]) == ["task", "algo", "seed", "epoch", "env_steps"]
    assert len(curves) == 10 * N_UPDATES
    one = curves[(curves["algo"] == "trpo") & (curves["seed"] == 2) & (curves["task"] == "point_circle")]
    assert one["return_mean"].tolist() == pytest.approx(3.0 * np.arange(1, N_UPDATES + 1))
    assert set(curves["cost_limit"]) == {5.0, 25.0}


def test_markdown_and_latex_tables(report):
    markdown = (report / "summary.md").read_text()
    assert "| point_circle | TRPO (trpo) | 3 | 38.00 [" in markdown and "| 2/3 |" in markdown
    latex = (report / "summary.tex").read_text()
    assert r"\begin{tabular}" in latex and r"fixed\_penalty(beta=50)" in latex and r"\toprule" in latex


# ---- figures --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["learning_curves", "final_scatter"])
def test_figures_are_written_and_not_blank(report, name):
    png, pdf = report / f"{name}.png", report / f"{name}.pdf"
    assert png.stat().st_size > 10_000 and pdf.stat().st_size > 5_000
    assert pdf.read_bytes().startswith(b"%PDF")
    with Image.open(png) as image:
        width, height = image.size
        colours = image.convert("RGB").getcolors(maxcolors=width * height)
    assert width > 500 and height > 300
    assert len(colours) > 10  # lines, bands, text: far from a blank canvas


def test_learning_curves_have_one_column_per_task_and_two_rows(report):
    with Image.open(report / "learning_curves.png") as image:
        width, height = image.size
    assert width > height * 0.9  # two task columns (ant_circle, point_circle) side by side, two rows


# ---- loading and the command line -----------------------------------------------------------------

def test_incomplete_runs_are_listed_and_skipped(runs_root, tmp_path):
    broken = tmp_path / "runs" / "broken"
    partial = write_run(broken, "point_circle", "trpo", 7, np.ones(5), np.ones(5), status="incomplete")
    running = write_run(broken, "point_circle", "trpo", 8, np.ones(5), np.ones(5), status=None)
    no_progress = write_run(broken, "point_circle", "trpo", 9, np.ones(5), np.ones(5))
    (no_progress / "progress.csv").unlink()
    empty = write_run(broken, "point_circle", "trpo", 10, np.ones(5), np.ones(5))
    (empty / "progress.csv").write_text("")
    bad_config = write_run(broken, "point_circle", "trpo", 11, np.ones(5), np.ones(5))
    (bad_config / ".hydra" / "config.yaml").write_text("task: [unclosed\n")
    loaded = load_runs([tmp_path / "runs"])
    assert len(loaded.runs) == 10
    reasons = dict(loaded.skipped)
    assert set(reasons) == {partial, running, no_progress, empty, bad_config}
    assert "incomplete" in reasons[partial] and "no summary.json" in reasons[running]
    assert "no progress.csv" in reasons[no_progress] and "empty" in reasons[empty]
    assert "config.yaml" in reasons[bad_config]

    result = report_cli(tmp_path / "runs", "--out", tmp_path / "report", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "skipped 5 run(s)" in result.stderr
    for path in reasons:
        assert str(path) in result.stderr
    summary = pd.read_csv(tmp_path / "report" / "summary.csv")
    assert summary_row(summary, "point_circle", "trpo")["n_seeds"] == 3
    for name in ["curves.csv", "summary.csv", "summary.md", "summary.tex", "learning_curves.png",
                 "learning_curves.pdf", "final_scatter.png"]:
        assert str(tmp_path / "report" / name) in result.stdout


def test_default_out_is_first_dir_report_and_no_runs_is_an_error(runs_root, tmp_path, capsys):
    assert report_main([str(runs_root), "--n-resamples", "200"]) == 0
    assert (runs_root / "report" / "summary.csv").is_file()
    assert f"written to {runs_root / 'report'}" in capsys.readouterr().out
    empty = tmp_path / "empty"
    write_run(empty, "point_circle", "trpo", 0, [1.0], [1.0], status="incomplete")
    assert report_main([str(empty)]) == 1
    err = capsys.readouterr().err
    assert "no complete run" in err and "skipped 1 run(s)" in err
    assert report_main([str(tmp_path / "missing")]) == 2 and "not a directory" in capsys.readouterr().err


# ---- several constraints --------------------------------------------------------------------------

LIMITS = {"position": 5.0, "speed": 0.5}


def make_multi_runs(root):
    """point_multi (position d=5, speed d=0.5): cpo 3 seeds, lagrangian 2 seeds; plus a one-constraint point_circle.

    cpo finals: return 19, 38, 57; position 4, 6, 5 (10 before the final window); speed 0.6, 0.2, 0.4.
    lagrangian finals: return 10, 20; position 3, 2; speed 0.3, 0.7."""
    epochs = np.arange(1, N_UPDATES + 1, dtype=float)
    for seed, (position, speed) in enumerate([(4.0, 0.6), (6.0, 0.2), (5.0, 0.4)]):
        position_curve = np.where(epochs >= 18, position, 10.0)  # only updates 18..20 are "final"
        write_multi_run(root, "point_multi", "cpo", seed, (seed + 1.0) * epochs,
                        {"position": position_curve, "speed": np.full(N_UPDATES, speed)}, cost_limits=LIMITS,
                        batch_cost={"position": 100.0 * (seed + 1), "speed": 10.0 * (seed + 1)},
                        violation={"position": float(seed), "speed": 0.25 * (seed + 1)})
    for seed, (level, position, speed) in enumerate([(10.0, 3.0, 0.3), (20.0, 2.0, 0.7)]):
        write_multi_run(root, "point_multi", "lagrangian", seed, np.full(N_UPDATES, level),
                        {"position": np.full(N_UPDATES, position), "speed": np.full(N_UPDATES, speed)},
                        cost_limits=LIMITS)
    linear_run(root, "point_circle", "trpo", 0, slope=2.0, cost=4.0)
    return root


@pytest.fixture(scope="module")
def multi_report(tmp_path_factory):
    """The mixed report (one two-constraint task, one single-constraint task), made once."""
    root = make_multi_runs(tmp_path_factory.mktemp("multi") / "runs")
    make_report([root], root.parent / "report")
    return root.parent / "report"


def constraint_row(summary: pd.DataFrame, task: str, algo: str, constraint: str) -> pd.Series:
    rows = summary[(summary["task"] == task) & (summary["algo"] == algo) & (summary["constraint"] == constraint)]
    assert len(rows) == 1, summary[["task", "algo", "constraint"]]
    return rows.iloc[0]


def test_multi_constraint_runs_load_with_named_limits(tmp_path):
    root = make_multi_runs(tmp_path / "runs")
    loaded = load_runs([root])
    assert not loaded.skipped and len(loaded.runs) == 6
    constraints = {(run.task, run.algo, run.seed): run.constraints for run in loaded.runs}
    assert constraints["point_multi", "cpo", 1] == (Constraint("position", 5.0, "_position"),
                                                     Constraint("speed", 0.5, "_speed"))
    assert constraints["point_circle", "trpo", 0] == (Constraint("cost", 5.0),)


def test_multi_constraint_summary_has_per_constraint_and_all_rows(multi_report):
    summary = pd.read_csv(multi_report / "summary.csv")
    assert list(summary.columns[:4]) == ["task", "algo", "constraint", "n_seeds"]
    assert list(zip(summary["task"], summary["algo"], summary["constraint"])) == [
        ("point_circle", "trpo", "cost"),
        ("point_multi", "cpo", "position"), ("point_multi", "cpo", "speed"), ("point_multi", "cpo", "all"),
        ("point_multi", "lagrangian", "position"), ("point_multi", "lagrangian", "speed"),
        ("point_multi", "lagrangian", "all")]

    position = constraint_row(summary, "point_multi", "cpo", "position")
    assert position["n_seeds"] == 3 and position["return_mean"] == pytest.approx(38.0)
    assert position["cost_mean"] == pytest.approx(5.0)  # 4, 6, 5: the 10s before the final window do not count
    assert position["cost_limit"] == 5.0 and position["feasible_fraction"] == pytest.approx(2 / 3)
    assert position["cost_rate"] == pytest.approx(0.2)  # 100, 200, 300 per 1000 steps
    assert position["cumulative_violation"] == pytest.approx(20.0)  # 20 updates x 0, 1, 2
    speed = constraint_row(summary, "point_multi", "cpo", "speed")
    assert speed["return_mean"] == pytest.approx(38.0) and speed["return_ci_low"] == position["return_ci_low"]
    assert speed["cost_mean"] == pytest.approx(0.4) and speed["cost_limit"] == 0.5
    assert speed["cost_ci_low"] < 0.4 < speed["cost_ci_high"] and speed["cost_ci_high"] <= 0.6
    assert speed["feasible_fraction"] == pytest.approx(2 / 3)  # 0.2 and 0.4 within 0.5; 0.6 is not
    assert speed["cost_rate"] == pytest.approx(0.02) and speed["cumulative_violation"] == pytest.approx(10.0)
    every = constraint_row(summary, "point_multi", "cpo", "all")
    assert every["n_seeds"] == 3 and every["return_mean"] == pytest.approx(38.0)
    assert every["feasible_fraction"] == pytest.approx(1 / 3)  # only seed 2 (5 <= 5, 0.4 <= 0.5) meets both
    for column in ["cost_mean", "cost_ci_low", "cost_ci_high", "cost_iqm", "cost_limit", "cost_rate",
                   "cumulative_violation"]:
        assert np.isnan(every[column]), column

    lagrangian = {c: constraint_row(summary, "point_multi", "lagrangian", c) for c in ["position", "speed", "all"]}
    assert lagrangian["position"]["cost_mean"] == pytest.approx(2.5)
    assert lagrangian["position"]["feasible_fraction"] == 1.0
    assert lagrangian["speed"]["cost_mean"] == pytest.approx(0.5)
    assert lagrangian["speed"]["feasible_fraction"] == pytest.approx(0.5)
    assert lagrangian["all"]["feasible_fraction"] == pytest.approx(0.5)
    assert lagrangian["all"]["return_mean"] == pytest.approx(15.0) and lagrangian["all"]["n_seeds"] == 2
    assert lagrangian["speed"]["cost_rate"] == pytest.approx(0.1)
    assert lagrangian["speed"]["cumulative_violation"] == 0.0

    single = constraint_row(summary, "point_circle", "trpo", "cost")
    assert single["return_mean"] == pytest.approx(38.0) and single["cost_mean"] == pytest.approx(4.0)
    assert single["cost_limit"] == 5.0 and single["feasible_fraction"] == 1.0


def test_multi_constraint_finals_and_curves_have_one_series_per_constraint(multi_report):
    finals = pd.read_csv(multi_report / "finals.csv")
    assert list(finals.columns[:5]) == ["task", "algo", "seed", "constraint", "cost_limit"]
    assert len(finals) == 3 * 2 + 2 * 2 + 1
    cpo = finals[(finals["algo"] == "cpo")].set_index(["seed", "constraint"])
    assert cpo.loc[(1, "position"), "final_cost"] == pytest.approx(6.0)
    assert cpo.loc[(0, "speed"), "final_cost"] == pytest.approx(0.6)
    assert cpo.loc[(0, "speed"), "cost_limit"] == 0.5 and cpo.loc[(2, "position"), "cost_limit"] == 5.0
    assert cpo.loc[(2, "speed"), "final_return"] == pytest.approx(57.0)
    assert cpo.loc[(2, "position"), "cumulative_violation"] == pytest.approx(40.0)
    assert finals.loc[finals["task"] == "point_circle", "constraint"].tolist() == ["cost"]

    curves = pd.read_csv(multi_report / "curves.csv")
    assert list(curves.columns[:5]) == ["task", "algo", "seed", "constraint", "epoch"]
    assert len(curves) == (3 * 2 + 2 * 2 + 1) * N_UPDATES
    assert not [c for c in curves.columns if c.endswith(("_position", "_speed"))]
    one = curves[(curves["algo"] == "cpo") & (curves["seed"] == 1) & (curves["constraint"] == "position")]
    assert one["cost_mean"].tolist() == [10.0] * 17 + [6.0] * 3
    assert set(one["cost_limit"]) == {5.0} and set(one["batch_cost"]) == {200.0} and set(one["violation"]) == {1.0}
    speed = curves[(curves["algo"] == "cpo") & (curves["seed"] == 1) & (curves["constraint"] == "speed")]
    assert set(speed["cost_mean"]) == {0.2} and set(speed["cost_limit"]) == {0.5}
    assert speed["return_mean"].tolist() == pytest.approx(2.0 * np.arange(1, N_UPDATES + 1))


def test_multi_constraint_markdown_and_latex(multi_report):
    lines = (multi_report / "summary.md").read_text().splitlines()
    assert lines[2].startswith("| Task | Algorithm | Constraint | Seeds | Return |")
    every = [line for line in lines if line.startswith("| point_multi | CPO (cpo) | all | 3 | 38.00 [")]
    assert len(every) == 1 and every[0].endswith("| - | - | - | - | 1/3 | - | - |"), every
    position = [line for line in lines if line.startswith("| point_multi | CPO (cpo) | position | 3 |")]
    assert len(position) == 1 and position[0].endswith("| 5.00 | 2/3 | 0.200 | 20.00 |"), position
    assert "| point_circle | TRPO (trpo) | cost | 1 |" in "\n".join(lines) and "row 'all'" in lines[-1]
    latex = (multi_report / "summary.tex").read_text()
    assert r"\begin{tabular}{lllrrrrrrrrr}" in latex and "point\\_multi & CPO (cpo) & all & 3" in latex


@pytest.mark.parametrize("name, min_aspect", [("learning_curves", 1.0), ("final_scatter", 0.6)])
def test_multi_constraint_figures_get_a_panel_per_constraint(multi_report, name, min_aspect):
    png, pdf = multi_report / f"{name}.png", multi_report / f"{name}.pdf"
    assert png.stat().st_size > 10_000 and pdf.read_bytes().startswith(b"%PDF")
    with Image.open(png) as image:
        width, height = image.size
        colours = image.convert("RGB").getcolors(maxcolors=width * height)
    assert len(colours) > 10
    # two task columns; rows: reward + 2 costs (curves: 3 rows of 3 in), 2 costs (scatter: 2 rows of 3 in)
    assert height > min_aspect * width


def test_multi_constraint_runs_lacking_a_column_or_names_are_skipped(tmp_path):
    root = tmp_path / "runs"
    curve = np.ones(N_UPDATES)
    good = write_multi_run(root, "point_multi", "cpo", 0, curve, {"position": curve, "speed": curve},
                           cost_limits=LIMITS)
    no_speed = write_multi_run(root, "point_multi", "cpo", 1, curve, {"position": curve, "speed": curve},
                               cost_limits=LIMITS)
    progress = pd.read_csv(no_speed / "progress.csv")
    progress.drop(columns=["cost_mean_speed", "violation_speed"]).to_csv(no_speed / "progress.csv", index=False)
    no_names = write_multi_run(root, "point_multi", "cpo", 2, curve, {"position": curve, "speed": curve},
                               cost_limits=LIMITS)
    config = no_names / ".hydra" / "config.yaml"
    config.write_text(config.read_text().replace("cost_names", "other_key"))
    reserved = write_multi_run(root, "point_multi", "cpo", 3, curve, {"position": curve, "all": curve},
                               cost_limits={"position": 5.0, "all": 1.0})
    loaded = load_runs([root])
    assert [run.path for run in loaded.runs] == [good]
    reasons = dict(loaded.skipped)
    assert reasons[no_speed] == ("progress.csv lacks cost_mean_speed, violation_speed "
                                 "(config declares 2 constraints: position, speed)")
    assert "task.cost_names must list 2 names" in reasons[no_names]
    assert "'all'" in reasons[reserved]


# ---- runs whose files disagree (issue 18, point 6) ----------------------------------------------------

def test_torn_or_inconsistent_progress_and_repeated_seeds_are_skipped_with_a_warning(tmp_path, capsys):
    import json

    root = tmp_path / "runs"
    good = [linear_run(root / "a", "point_circle", "trpo", seed, slope=1.0, cost=1.0) for seed in range(2)]
    for run in good:
        (run / "summary.json").write_text(json.dumps({"status": "complete", "epochs": N_UPDATES,
                                                      "env_steps": N_UPDATES * 1000}))
    torn = linear_run(root / "b", "point_circle", "trpo", 2, slope=1.0, cost=1.0)
    text = (torn / "progress.csv").read_text()
    (torn / "progress.csv").write_text(text[: text.rindex("\n", 0, len(text) - 1) + 12])  # cut mid-line
    short = linear_run(root / "c", "point_circle", "trpo", 3, slope=1.0, cost=1.0)
    (short / "summary.json").write_text(json.dumps({"status": "complete", "epochs": N_UPDATES + 40,
                                                    "env_steps": (N_UPDATES + 40) * 1000}))
    repeated = linear_run(root / "d", "point_circle", "trpo", 0, slope=5.0, cost=1.0)  # seed 0 again

    loaded = load_runs([root])
    reasons = dict(loaded.skipped)
    assert sorted(run.path for run in loaded.runs) == good
    assert "torn progress.csv" in reasons[torn]
    assert f"{N_UPDATES} updates but summary.json says {N_UPDATES + 40}" in reasons[short]
    assert "seed0 again" in reasons[repeated] and str(good[0]) in reasons[repeated]
    assert report_main([str(root), "--n-resamples", "200", "--out", str(tmp_path / "report")]) == 0
    err = capsys.readouterr().err
    for path in (torn, short, repeated):
        assert str(path) in err
    summary = pd.read_csv(tmp_path / "report" / "summary.csv")
    assert summary_row(summary, "point_circle", "trpo")["n_seeds"] == 2


def test_report_out_onto_a_file_is_one_clear_error(runs_root, tmp_path, capsys):
    existing = tmp_path / "summary.txt"
    existing.write_text("keep me")
    assert report_main([str(runs_root), "--out", str(existing)]) == 2
    assert "is an existing file" in capsys.readouterr().err and existing.read_text() == "keep me"
    assert report_main([str(runs_root), "--out", str(existing / "report")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


class KappaSweptAlgorithm:
    """An algorithm the harness has never heard of: its class alone says how its runs are named."""

    label_keys = ("kappa",)
    paper_name = "KSA"
    uses_cost_critic = True


def test_an_algorithms_class_names_its_arms_without_a_harness_edit():
    from safebench.report.run_loading import algo_label

    algo = OmegaConf.create({"name": "kappa_swept", "_target_": "test_report.KappaSweptAlgorithm", "kappa": 3.0,
                             "cost_shaping": True})
    assert algo_label(algo) == "kappa_swept(kappa=3, cost_shaping)"
    # a run whose class this code cannot load keeps its arms through today's conf/algo/<name>.yaml
    old = OmegaConf.create({"name": "fixed_penalty", "_target_": "algorithms.moved_away.FixedPenalty", "beta": 5})
    assert algo_label(old) == "fixed_penalty(beta=5)"


def test_runs_with_undecodable_or_non_numeric_files_are_skipped_not_fatal(tmp_path, capsys):
    root = tmp_path / "runs"
    for seed in (0, 1):
        linear_run(root, "point_circle", "cpo", seed, 1.0, 2.0)
    (linear_run(root, "point_circle", "cpo", 2, 1.0, 2.0) / "progress.csv").write_bytes(b"\xff\xfe\x00\n")
    (linear_run(root, "point_circle", "cpo", 3, 1.0, 2.0) / "summary.json").write_bytes(b"\xff\xfe")
    text = linear_run(root, "point_circle", "cpo", 4, 1.0, 2.0) / "progress.csv"
    text.write_text(text.read_text().replace("\n1,", "\n1x,", 1).replace(",19.0,", ",abc,", 1))
    scalar = linear_run(root, "point_circle", "cpo", 5, 1.0, 2.0) / ".hydra" / "config.yaml"
    scalar.write_text("seed: 5\ntask: {name: point_circle, cost_limit: 5.0}\nalgo: cpo\n")
    assert report_main([str(root), "--n-resamples", "200", "--out", str(tmp_path / "report")]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "skipped 4 run(s)" in err and "Traceback" not in err
    assert "unreadable progress.csv (UnicodeDecodeError)" in err and "unreadable summary.json" in err
    assert "not numbers in return_mean" in err and "unreadable .hydra/config.yaml (AttributeError" in err


@pytest.mark.parametrize("option", [["--confidence", "2"], ["--confidence", "nan"], ["--n-resamples", "0"],
                                    ["--seed", "-1"]])
def test_impossible_statistics_options_are_one_message(tmp_path, capsys, option):
    with pytest.raises(SystemExit) as exit_:
        report_main([str(tmp_path), *option])
    assert exit_.value.code == 2 and option[0] in capsys.readouterr().err


def test_legends_and_tables_give_the_papers_names_next_to_the_config_names():
    from safebench.report.paper_names import display_name

    assert display_name("lagrangian") == "PDO (lagrangian)"
    assert display_name("fixed_penalty(beta=5)") == "FPO beta=5 (fixed_penalty(beta=5))"
    assert display_name("cpo(cost_shaping)") == "CPO cost_shaping (cpo(cost_shaping))"
    assert display_name("ppo_lagrangian") == "ppo_lagrangian"  # not in the paper: unchanged


@pytest.mark.parametrize("count", [3, 10, 14, 20])
def test_every_algorithm_gets_its_own_colour(count):
    from safebench.report.figures import palette

    colours = palette([f"algo{i}" for i in range(count)])
    assert len(set(colours.values())) == count


def _job(run, *overrides):
    """Give a synthetic run the job's command-line overrides (.hydra/overrides.yaml), as a sweep writes them."""
    from omegaconf import OmegaConf

    path = run / ".hydra" / "overrides.yaml"
    OmegaConf.save(OmegaConf.create(list(overrides)), path)
    return run


def test_the_arms_of_any_sweep_stay_apart_and_only_true_repeats_count_once(tmp_path):
    """algo.max_kl=0.01,0.02 or task.cost_limit=5,10: each arm is a row of its own, not seed 0 read twice; the
    budget (a resumable key) and the run's identity name no arm."""
    root = tmp_path / "runs"
    for seed in range(2):
        for kl, slope in (("0.01", 1.0), ("0.02", 2.0)):
            _job(linear_run(root / f"kl{kl}", "point_circle", "cpo", seed, slope=slope, cost=1.0),
                 "+algo=cpo", "+task=point_circle", f"seed={seed}", f"algo.max_kl={kl}", "train.total_steps=20000")
    for limit in (5, 10):
        _job(linear_run(root / f"limit{limit}", "point_gather", "trpo", 0, slope=1.0, cost=1.0, cost_limit=limit),
             "+algo=trpo", "+task=point_gather", "seed=0", f"task.cost_limit={limit}")
    # the same arm at two budgets (one resumed longer), and a run written without overrides.yaml
    _job(linear_run(root / "short", "point_gather", "cpo", 0, slope=1.0, cost=1.0), "seed=0", "train.total_steps=9")
    _job(linear_run(root / "long", "point_gather", "cpo", 1, slope=1.0, cost=1.0), "seed=1", "train.total_steps=99")
    repeated = _job(linear_run(root / "repeat", "point_circle", "cpo", 0, slope=3.0, cost=1.0), "seed=0",
                    "algo.max_kl=0.02")
    # an older run without the setting beside a sweep over it: three arms
    linear_run(root / "plain", "point_circle", "trpo", 0, slope=1.0, cost=1.0)
    for gamma in ("0.9", "0.99"):
        _job(linear_run(root / f"g{gamma}", "point_circle", "trpo", 0, slope=1.0, cost=1.0), f"algo.gamma={gamma}")

    loaded = load_runs([root])
    arms = sorted((run.task, run.algo, run.seed) for run in loaded.runs)
    assert arms == [("point_circle", "cpo(max_kl=0.01)", 0), ("point_circle", "cpo(max_kl=0.01)", 1),
                    ("point_circle", "cpo(max_kl=0.02)", 0), ("point_circle", "cpo(max_kl=0.02)", 1),
                    ("point_circle", "trpo", 0), ("point_circle", "trpo(gamma=0.9)", 0),
                    ("point_circle", "trpo(gamma=0.99)", 0),
                    ("point_gather", "cpo", 0), ("point_gather", "cpo", 1),
                    ("point_gather", "trpo(task.cost_limit=10)", 0), ("point_gather", "trpo(task.cost_limit=5)", 0)]
    assert [(path, "again" in reason) for path, reason in loaded.skipped] == [(repeated, True)]
    assert report_main([str(root), "--n-resamples", "200", "--out", str(tmp_path / "report")]) == 0
    summary = pd.read_csv(tmp_path / "report" / "summary.csv")
    assert summary_row(summary, "point_circle", "cpo(max_kl=0.02)")["n_seeds"] == 2
    assert summary_row(summary, "point_gather", "trpo(task.cost_limit=5)")["cost_limit"] == 5


def test_a_label_that_names_a_setting_is_not_extended_with_it(tmp_path):
    """fixed_penalty(beta=5) already names beta: its sweep's algo.beta override adds nothing; another setting does."""
    from safebench.report.run_loading import arm_labels

    runs = []
    for beta, kl in (("1", "0.01"), ("5", "0.01"), ("5", "0.02")):
        path = _job(linear_run(tmp_path / f"{beta}_{kl}", "point_circle", "fixed_penalty", 0, slope=1.0, cost=1.0,
                               beta=float(beta)), f"algo.beta={beta}", f"algo.max_kl={kl}")
        runs.append((path, "point_circle", f"fixed_penalty(beta={beta})"))
    labels = arm_labels(runs)
    assert [labels[path] for path, _, _ in runs] == ["fixed_penalty(beta=1)", "fixed_penalty(beta=5, max_kl=0.01)",
                                                      "fixed_penalty(beta=5, max_kl=0.02)"]
    # deleting a key is not setting it
    kept = _job(linear_run(tmp_path / "set", "point_circle", "cpo", 0, slope=1.0, cost=1.0), "algo.max_kl=0.5")
    gone = _job(linear_run(tmp_path / "deleted", "point_circle", "cpo", 0, slope=1.0, cost=1.0), "~algo.max_kl=0.5")
    labels = arm_labels([(kept, "point_circle", "cpo"), (gone, "point_circle", "cpo")])
    assert labels[kept] == "cpo(max_kl=0.5)" and labels[gone] == "cpo(max_kl=<deleted 0.5>)"


def test_spellings_of_one_value_are_one_arm(tmp_path):
    """algo.max_kl=0.01 and algo.max_kl=1e-2 are the same setting: one arm beside max_kl=0.02, not two."""
    from safebench.report.run_loading import arm_labels

    runs = []
    for name, kl in (("a", "0.01"), ("b", "1e-2"), ("c", "0.02"), ("d", "0.020")):
        path = _job(linear_run(tmp_path / name, "point_circle", "cpo", 0, slope=1.0, cost=1.0), f"algo.max_kl={kl}")
        runs.append((path, "point_circle", "cpo"))
    labels = arm_labels(runs)
    assert [labels[path] for path, _, _ in runs] == ["cpo(max_kl=0.01)", "cpo(max_kl=0.01)",
                                                      "cpo(max_kl=0.02)", "cpo(max_kl=0.02)"]
    # a single spelling difference alone makes no arm at all
    assert set(arm_labels(runs[:2]).values()) == {"cpo"}


def test_of_two_complete_copies_of_a_run_the_longer_one_is_read(tmp_path):
    """An older copy finished at a shorter budget (say, before the experiment was extended) may sort first: the
    figure is the copy that went further, and the shorter one is listed as skipped."""
    from safebench.report.run_loading import load_runs

    short = write_run(tmp_path / "a_old", "point_circle", "trpo", 0, np.arange(10.0), np.ones(10))
    long = write_run(tmp_path / "b_new", "point_circle", "trpo", 0, np.arange(20.0), np.ones(20))
    loaded = load_runs([tmp_path])
    assert [run.path for run in loaded.runs] == [long] and len(loaded.runs[0].progress) == 20
    assert [path for path, _ in loaded.skipped] == [short] and str(long) in loaded.skipped[0][1]
