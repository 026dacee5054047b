"""What a new user sees: the closing block of a run and a sweep, the time left, --help, and typo suggestions."""

import re

from helpers import run_cli, run_cli_in_process

from safebench.report.run_loading import load_run
from safebench.report.tables import run_finals
from safebench.run_end import TimeLeft, duration

TINY = ["+algo=cpo", "+task=point_gather", "train.total_steps=12000", "train.batch_size=2000", "train.num_envs=4"]


def test_a_run_ends_with_the_reports_final_figures_and_the_next_commands(tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli(*TINY, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    finals = run_finals([load_run(run_dir)]).iloc[0]
    shown_return = float(re.search(r"final return (\S+)", out).group(1))
    shown_cost = float(re.search(r"final cost (\S+) against the limit 0.1", out).group(1))
    assert abs(shown_return - finals.final_return) <= 5e-4 * max(1, abs(finals.final_return))
    assert abs(shown_cost - finals.final_cost) <= 5e-4 * max(1, abs(finals.final_cost))
    assert ("not feasible" in out) == (finals.final_cost > 0.1)
    assert f"run directory: {run_dir}" in out
    for command in (f"python -m safebench.report {run_dir}", f"python -m safebench.render {run_dir}",
                    "python -m safebench -m +algo=cpo +task=point_gather seed=0,1,2,3,4"):
        assert command in out


def test_update_lines_show_elapsed_and_a_falling_time_left_and_sweeps_number_their_jobs(tmp_path):
    result = run_cli("-m", *TINY, "seed=0,1", f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in (result.stdout + result.stderr).splitlines() if "| update " in line]
    assert len(lines) == 12
    assert all(re.search(r"elapsed \S+, left ~\S+", line) for line in lines)
    assert sum("job 1/2 |" in line for line in lines) == 6 and sum("job 2/2 |" in line for line in lines) == 6
    first_job = [line for line in lines if "job 1/2" in line]
    assert first_job[-1].endswith("left ~0s")
    assert "Sweep finished:" in result.stdout and f"python -m safebench.report {tmp_path / 'sweep'}" in result.stdout
    assert result.stdout.count("point_gather/cpo/seed") == 2


def test_time_left_follows_the_recent_rate():
    estimate = TimeLeft(window=2)
    assert estimate.update(10.0, 5) == 50.0
    assert estimate.update(20.0, 4) == 60.0  # mean of 10 and 20, times 4
    assert estimate.update(30.0, 0) == 0.0
    assert (duration(35), duration(252), duration(3780)) == ("35s", "4m12s", "1h03m")


def test_help_reads_like_safebench_and_typos_get_a_suggestion(tmp_path, capsys, monkeypatch):
    help_text = run_cli("--help", cwd=tmp_path).stdout
    assert "powered by Hydra" not in help_text and "safebench" in help_text.splitlines()[0]
    for command in ("python -m safebench +algo=cpo", "python -m safebench -m", "python -m safebench.report"):
        assert command in help_text
    monkeypatch.chdir(tmp_path)  # the typos are refused before Hydra starts: main() in this process
    typo = run_cli_in_process("+algo=cpo", "+task=ant_gater", capsys=capsys)
    assert typo.returncode == 2 and "Did you mean ant_gather?" in typo.stderr
    algo = run_cli_in_process("+algo=cp", "+task=ant_gather", capsys=capsys)
    assert "Did you mean cpo or cup?" in algo.stderr  # equally close: both named
    key = run_cli_in_process("+algo=cpo", "+task=ant_gather", "train.total_step=5", capsys=capsys)
    assert key.returncode == 2 and "Did you mean train.total_steps?" in " ".join(key.stderr.split())
    experiment = run_cli_in_process("-m", "+experiment=paper_fig1_pont", capsys=capsys)
    assert "Did you mean paper_fig1_point?" in " ".join(experiment.stderr.split())
    assert "Traceback" not in typo.stderr + key.stderr + experiment.stderr
