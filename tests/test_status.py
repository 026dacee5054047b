"""An experiment's status: planned runs matched to run directories, also after the budget is extended."""

import json
from pathlib import Path

from omegaconf import OmegaConf

from safebench.experiment_plan import PLAN_FILE, identity_overrides
from safebench.status import collect


def fake_run(runs: Path, seed: int, total_steps: int, steps_done: int, complete: bool, *extra: str) -> Path:
    """A run directory as a sweep leaves it: resolved config, the job's overrides, progress and summary."""
    run_dir = runs / "ant_circle" / "cpo" / f"seed{seed}"
    (run_dir / ".hydra").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create({"task": {"name": "ant_circle", "cost_limit": 10.0}, "algo": {"name": "cpo"},
                                     "seed": seed, "train": {"total_steps": total_steps}}),
                   run_dir / ".hydra" / "config.yaml")
    overrides = ["+experiment=paper_fig1_ant", "+task=ant_circle", "+algo=cpo", f"seed={seed}", *extra]
    OmegaConf.save(OmegaConf.create(overrides), run_dir / ".hydra" / "overrides.yaml")
    (run_dir / "progress.csv").write_text(f"epoch,env_steps,time_s\n1,{steps_done},100.0\n")
    (run_dir / "summary.json").write_text(json.dumps({"status": "complete" if complete else "running"}))
    return run_dir


def write_plan(runs: Path, total_steps: int, *extra: str) -> None:
    entries = [{"task": "ant_circle", "algo": "cpo", "seed": seed, "total_steps": total_steps, "batch_size": 100,
                "overrides": ["+algo=cpo", "+experiment=paper_fig1_ant", "+task=ant_circle", f"seed={seed}", *extra]}
               for seed in (0, 1, 2)]
    (runs / PLAN_FILE).write_text(json.dumps({"overrides": [], "runs": entries}))


def test_identity_leaves_out_what_a_resume_may_change():
    job = ["+algo=cpo", "seed=3", "train.total_steps=35000000", "train.checkpoint_every=5", "resume=true",
           "hydra/launcher=joblib", "hydra.sweep.dir=x", "logger.wandb.mode=offline", "algo.max_kl=0.02"]
    assert identity_overrides(job) == ["+algo=cpo", "algo.max_kl=0.02", "seed=3"]


def test_plan_and_runs_match_and_a_larger_budget_reopens_finished_runs(tmp_path):
    runs = tmp_path / "runs"
    fake_run(runs, 0, 1000, 1000, True)
    fake_run(runs, 1, 1000, 500, False)
    write_plan(runs, 1000)
    found = collect(runs)
    assert [(r.seed, r.complete, r.steps_done, r.total_steps) for r in found] == [
        (0, True, 1000, 1000), (1, False, 500, 1000), (2, False, 0, 1000)]

    # --resume ... train.total_steps=3500: the regenerated plan names the new budget; seed 0's run, finished at
    # the old one, is the same run (not a stray one) and no longer complete
    write_plan(runs, 3500, "train.total_steps=3500")
    found = collect(runs)
    assert [(r.seed, r.complete, r.steps_done, r.total_steps) for r in found] == [
        (0, False, 1000, 3500), (1, False, 500, 3500), (2, False, 0, 3500)]

    # once a job has run at the new budget its own config says 3500, and its overrides carry the new total
    (runs / "ant_circle" / "cpo" / "seed0").rename(tmp_path / "old")
    fake_run(runs, 0, 3500, 3500, True, "train.total_steps=3500")
    assert [(r.seed, r.complete) for r in collect(runs)] == [(0, True), (1, False), (2, False)]


def test_two_directories_of_one_job_are_two_runs_and_the_furthest_is_the_plans(tmp_path):
    """The same command run twice below one folder (or two sweeps in it): neither copy vanishes from the count."""
    runs = tmp_path / "runs"
    first = fake_run(runs / "a", 0, 1000, 1000, True)
    fake_run(runs / "b", 0, 1000, 500, False)
    write_plan(runs, 1000)
    found = collect(runs)
    assert [(r.seed, r.complete, r.steps_done) for r in found] == [(0, True, 1000), (1, False, 0), (2, False, 0),
                                                                    (0, False, 500)]
    assert found[0].path == first


def test_a_torn_plan_is_one_message_and_exit_2(tmp_path, capsys):
    from safebench.status import main

    runs = tmp_path / "runs"
    fake_run(runs, 0, 1000, 1000, True)
    (runs / PLAN_FILE).write_text('{"overrides": [], "runs": [{"task": "ant_ci')
    assert main([str(runs)]) == 2
    err = capsys.readouterr().err
    assert "not a readable experiment plan" in err and "--resume" in err and "Traceback" not in err


def test_damaged_progress_counts_nothing_and_impossible_plans_or_options_are_refused(tmp_path, capsys):
    import pytest

    from safebench.status import main

    runs = tmp_path / "runs"
    damaged = {0: b"epoch,env_steps,time_s\n1,x,abc\n", 1: b"epoch,env_steps,time_s\n1,inf,nan\n",
               2: b"\xff\xfe\x00binary\n"}
    for seed, content in damaged.items():
        (fake_run(runs, seed, 1000, 0, False) / "progress.csv").write_bytes(content)
    assert main([str(runs)]) == 0
    assert "env steps: 0 / 3,000" in capsys.readouterr().out  # nothing known done, no traceback
    for total in ("1e400", "-5"):
        (runs / PLAN_FILE).write_text('{"overrides": [], "runs": [{"task": "ant_circle", "algo": "cpo", "seed": 0, '
                                      f'"total_steps": {total}, "overrides": []}}]}}')
        assert main([str(runs)]) == 2 and "not a readable experiment plan" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main([str(runs), "--parallel", "0"])
    assert exit_.value.code == 2 and "--parallel" in capsys.readouterr().err


def test_a_plan_path_that_is_a_directory_is_one_message_and_leaves_no_lock(tmp_path, capsys):
    from safebench.experiment_plan import main

    assert main([str(tmp_path), "+experiment=paper_fig1_point"]) == 2
    assert "it is a directory" in capsys.readouterr().err and list(tmp_path.iterdir()) == []


def test_a_sweep_the_cli_would_refuse_writes_no_plan(tmp_path, capsys):
    """reproduce_figure.sh writes the plan first: a bad value must not leave a plan that blocks the corrected command."""
    from safebench.experiment_plan import main

    plan = tmp_path / "runs" / PLAN_FILE
    assert main([str(plan), "+experiment=paper_fig1_point", "train.batch_size=10"]) == 2
    assert "batch_size" in capsys.readouterr().err and not plan.exists()
    assert main([str(plan), "+algo=trpo", "+task=point_circle", "train.total_steps=4000,8000"]) == 2
    assert "would write into one directory" in " ".join(capsys.readouterr().err.split()) and not plan.exists()
    # no algorithm chosen, an unknown task, a folder that cannot be made: the command line's messages, exit 2
    for overrides, words in ((["+task=point_circle"], "No algorithm chosen"), (["+algo=cpo", "+task=point_circel"],
                             "Unknown task 'point_circel'")):
        assert main([str(plan), *overrides]) == 2
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err and not plan.exists()
    (tmp_path / "file").write_text("")
    assert main([str(tmp_path / "file" / PLAN_FILE), "+algo=cpo", "+task=point_circle"]) == 2
    assert "cannot write the plan" in capsys.readouterr().err


def test_a_plan_counts_every_job_of_a_large_sweep():
    from safebench.command_line import sweep_jobs

    jobs = sweep_jobs(["+algo=cpo,trpo", "+task=point_circle", "seed=range(0,200)"], True, "config")
    assert len(jobs) == 400 and len({tuple(job) for job in jobs}) == 400


def test_the_plan_of_a_running_sweep_is_not_rewritten(tmp_path, capsys):
    """reproduce_figure.sh --resume started while the sweep runs: refused before it rewrites that sweep's plan."""
    import subprocess
    import sys

    from safebench.experiment_plan import main

    runs = tmp_path / "runs"
    runs.mkdir()
    write_plan(runs, 1000)
    before = (runs / PLAN_FILE).read_text()
    hold = ("import sys, time; from safebench.run_lock import lock_run_dir; lock_run_dir(sys.argv[1], kind='sweep'); "
            "print('locked', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", hold, str(runs)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert main([str(runs / PLAN_FILE), "+experiment=paper_fig1_point", "train.total_steps=10000000"]) == 2
        assert "in use by another safebench sweep" in capsys.readouterr().err
        assert (runs / PLAN_FILE).read_text() == before
    finally:
        holder.kill()
        holder.wait()


def test_a_stray_copy_of_a_job_is_listed_but_not_planned(tmp_path):
    runs = tmp_path / "runs"
    fake_run(runs / "a", 0, 1000, 1000, True)
    fake_run(runs / "b", 0, 1000, 500, False)
    write_plan(runs, 1000)
    assert [(r.seed, r.planned) for r in collect(runs)] == [(0, True), (1, True), (2, True), (0, False)]


def test_time_left_counts_the_runs_that_can_go_side_by_side():
    """Two runs left on 16 cores take as long as the longer of them, not 2/16 of their sum; six equal runs on
    two cores take three runs' time."""
    from safebench.status import RunProgress, makespan, report

    assert makespan([100.0, 300.0], 16) == 300.0
    assert makespan([50.0] * 6, 2) == 150.0
    assert makespan([300.0, 100.0, 100.0, 100.0], 2) == 300.0  # the others share the second slot
    assert makespan([], 4) == 0.0

    def run(seed: int, done: int, complete: bool) -> RunProgress:  # 10 steps/s, measured from the finished run
        return RunProgress("ant_circle", "cpo", seed, 36_000, steps_done=done, seconds=done / 10, complete=complete)

    runs = [run(0, 36_000, True), run(1, 0, False), run(2, 0, False)]  # two runs of one hour each left
    assert report(runs, 16)[-1] == "time left on this machine: about 1h00m with 16 run(s) at a time"
    assert report(runs, 1)[-1] == "time left on this machine: about 2h00m, one run at a time"


def test_time_left_uses_the_rate_the_unfinished_runs_go_at_now(tmp_path):
    """A run that went at 10 steps/s while the machine was shared and at 40 since (its last 20 rows) is
    expected to go on at 40: the time left follows the machine's load now; the whole history's rate is shown."""
    from safebench.status import RECENT_ROWS, report

    runs = tmp_path / "runs"
    run_dir = fake_run(runs, 0, 200_000, 0, False)
    rows, steps, seconds = ["epoch,env_steps,time_s"], 0, 0.0
    for epoch in range(1, 51):
        steps += 1000
        seconds += 100.0 if epoch <= 50 - RECENT_ROWS else 25.0  # 10 steps/s, then 40 steps/s
        rows.append(f"{epoch},{steps},{seconds}")
    (run_dir / "progress.csv").write_text("\n".join(rows) + "\n")
    lines = report(collect(runs), 1)
    assert lines[-2] == ("  ant_circle: 0/1 runs complete, 150,000 steps left, 40 steps/s per run now "
                         "(14 over the runs' whole history)")
    assert lines[-1] == "time left on this machine: about 1h02m, one run at a time"  # 150,000 steps at 40/s
    fake_run(tmp_path / "done", 0, 50_000, 50_000, True)  # a finished run has no rate "now": its history's
    assert report(collect(tmp_path / "done"), 1)[-2].endswith("steps left, 500 steps/s per run")
    from safebench.status import run_lines

    assert run_lines(collect(runs)) == ["  unfinished: ant_circle cpo seed 0: 50,000 / 200,000 steps (25%), lately 40 "
                                        "steps/s"]
    assert run_lines(collect(tmp_path / "done")) == []  # finished runs are not listed


def test_every_sweep_plans_its_jobs_under_its_lock_and_a_later_sweep_adds_to_the_plan(tmp_path, monkeypatch):
    """The plan is written by the sweep that holds the folder (no second command can rewrite it between the
    plan and the sweep); a resume of some jobs with a larger budget updates those and keeps the others."""
    from safebench import cli, run_lock
    from safebench.run_end import SWEEP_JOBS_VARIABLE

    runs = tmp_path / "runs"
    monkeypatch.setenv(SWEEP_JOBS_VARIABLE, "0")  # restored after the test
    seen = []

    def jobs_start():  # in place of Hydra's launcher: what the jobs would find when they start
        seen.append((runs.absolute() in run_lock._held, json.loads((runs / PLAN_FILE).read_text())["runs"]))

    monkeypatch.setattr(cli, "run", jobs_start)
    cli.start(["-m", "+algo=cpo,trpo", "+task=point_circle", "seed=0,1", "train.total_steps=4000",
               f"hydra.sweep.dir={runs}"])
    locked, plan = seen[-1]
    assert locked and sorted((e["algo"], e["seed"], e["total_steps"]) for e in plan) == [
        ("cpo", 0, 4000), ("cpo", 1, 4000), ("trpo", 0, 4000), ("trpo", 1, 4000)]

    cli.start(["-m", "+algo=cpo", "+task=point_circle", "seed=1", "train.total_steps=8000", "resume=true",
               f"hydra.sweep.dir={runs}"])
    assert sorted((e["algo"], e["seed"], e["total_steps"]) for e in seen[-1][1]) == [
        ("cpo", 0, 4000), ("cpo", 1, 8000), ("trpo", 0, 4000), ("trpo", 1, 4000)]
    assert [(r.algo, r.seed, r.total_steps) for r in collect(runs)] == [
        ("cpo", 0, 4000), ("cpo", 1, 8000), ("trpo", 0, 4000), ("trpo", 1, 4000)]
    assert not run_lock._held  # released when the sweep ended

    # Hydra's print-and-exit flags, in any spelling, plan nothing
    (runs / PLAN_FILE).unlink()
    for flag in (["--cfg=job"], ["-cjob"], ["--info=config"]):
        monkeypatch.setattr(cli, "run", lambda: None)
        cli.start(["-m", *flag, "+algo=cpo", "+task=point_circle", f"hydra.sweep.dir={runs}"])
        assert not (runs / PLAN_FILE).exists()


def test_a_plan_that_cannot_be_written_is_one_message_and_releases_the_sweep_lock(tmp_path, monkeypatch, capsys):
    from helpers import run_cli_in_process

    from safebench import run_lock

    runs = tmp_path / "runs"
    (runs / PLAN_FILE).mkdir(parents=True)  # a folder where the plan goes
    monkeypatch.chdir(tmp_path)
    result = run_cli_in_process("-m", "+algo=cpo", "+task=point_circle", f"hydra.sweep.dir={runs}", capsys=capsys)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert f"Cannot write the sweep's plan {runs / PLAN_FILE}" in " ".join(result.stderr.split())
    assert not run_lock._held


def test_a_figure_folder_is_read_through_the_plan_of_its_runs_folder(tmp_path, capsys):
    """reproduce_figure.sh keeps the experiment in FIGURE/runs: status FIGURE must count the extended budget of
    runs/plan.json, not each run's first one (it said 3 of 3 complete here, against 0 of 3)."""
    from safebench.status import main

    runs = tmp_path / "figure" / "runs"
    for seed in (0, 1, 2):
        fake_run(runs, seed, 1000, 1000, True)
    write_plan(runs, 3500, "train.total_steps=3500")
    assert main([str(tmp_path / "figure")]) == 0
    printed = capsys.readouterr().out
    assert f"reading {runs}" in printed and "runs complete: 0 / 3" in printed
    assert "env steps: 3,000 / 10,500" in printed
