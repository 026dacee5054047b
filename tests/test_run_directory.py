"""A run directory no mistake can corrupt: refused resumes write nothing, no silent replacement, resume may change
only what cannot change the results, one run per directory (issue 18, points 1-4)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import cli_argv, run_cli, run_cli_in_process

from safebench.checkpoint import checkpoint_path
from safebench.command_line import compose_config
from safebench.run_directory import check_run_dir, prepare_run_dir
from safebench.run_lock import LOCK_FILE, lock_run_dir, release_run_dir

TINY = ["+task=point_circle", "train.batch_size=1000", "train.num_envs=2", "train.total_steps=2000"]
FINISHED = ["+algo=cpo", *TINY, "seed=0"]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A finished tiny CPO seed-0 run (made once; tests work on copies)."""
    root = tmp_path_factory.mktemp("finished")
    result = run_cli(*FINISHED, "train.checkpoint_every=1", f"hydra.run.dir={root / 'run'}", cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    return root / "run"


@pytest.fixture
def run_copy(finished_run, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(finished_run, copy)
    return copy


def snapshot(run_dir: Path) -> dict[str, bytes]:
    """Every file of the directory (but the lock, whose content is the last claimant's PID), by content."""
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted(run_dir.rglob("*"))
            if p.is_file() and p.name != LOCK_FILE}


def refused(result: subprocess.CompletedProcess, *expected: str) -> str:
    message = " ".join(result.stderr.split())
    assert result.returncode == 2, result.stderr[-3000:]
    assert message.startswith("safebench: error:") and "Traceback" not in message, message
    for text in expected:
        assert text in message, (text, message)
    return message


# ---- 1. a refused resume writes nothing ----------------------------------------------------------

@pytest.mark.xdist_group("finished_cpo_run")  # one worker builds the module fixture, once
def test_refused_resume_leaves_the_run_directory_untouched(run_copy, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # refused before Hydra starts: main() in this process
    before = snapshot(run_copy)
    result = run_cli_in_process("+algo=trpo", *TINY, "seed=7", "resume=true", f"hydra.run.dir={run_copy}",
                                capsys=capsys)
    refused(result, "different run", "'cpo'")
    assert snapshot(run_copy) == before  # .hydra/config.yaml, overrides.yaml and cli.log as they were

    checkpoint_path(run_copy).write_bytes(b"this is not a checkpoint")
    before = snapshot(run_copy)
    result = run_cli_in_process(*FINISHED, "resume=true", f"hydra.run.dir={run_copy}", capsys=capsys)
    refused(result, "corrupt")
    assert snapshot(run_copy) == before


# ---- 2. no silent replacement --------------------------------------------------------------------

@pytest.mark.xdist_group("finished_cpo_run")  # one worker builds the module fixture, once
def test_a_directory_holding_a_run_is_refused_without_resume_or_overwrite(run_copy, tmp_path, capsys, monkeypatch):
    before = snapshot(run_copy)
    monkeypatch.chdir(tmp_path)  # refused before Hydra starts: main() in this process says the same
    refused(run_cli_in_process(*FINISHED, f"hydra.run.dir={run_copy}", capsys=capsys), "already holds a run",
            "overwrite=true")
    assert snapshot(run_copy) == before
    (run_copy / "checkpoints" / "last.pt").unlink()  # progress.csv alone is a run too
    assert "already holds a run" in check_run_dir(compose_config(FINISHED), run_copy)[0]
    assert "contradict" in check_run_dir(compose_config([*FINISHED, "resume=true", "overwrite=true"]), run_copy)[0]


@pytest.mark.xdist_group("finished_cpo_run")  # one worker builds the module fixture, once
def test_overwrite_replaces_the_run(run_copy, tmp_path):
    result = run_cli("+algo=cpo", *TINY[:-1], "train.total_steps=1000", "overwrite=true",
                     f"hydra.run.dir={run_copy}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((run_copy / "summary.json").read_text())
    assert summary["epochs"] == 1 and summary["env_steps"] == 1000
    assert len((run_copy / "progress.csv").read_text().splitlines()) == 2


@pytest.mark.xdist_group("finished_cpo_run")  # one worker builds the module fixture, once
def test_a_starting_run_removes_the_old_summary_and_stale_temp_files(run_copy):
    (run_copy / ".progress.csv.abc123.tmp").write_text("epoch,env")  # a SIGKILL during a write
    (run_copy / "checkpoints" / ".last.pt.xyz.tmp").write_bytes(b"half")
    prepare_run_dir(run_copy, overwrite=False)
    assert not (run_copy / "summary.json").exists()
    assert not list(run_copy.rglob("*.tmp"))
    assert (run_copy / "progress.csv").exists() and checkpoint_path(run_copy).exists()  # resume keeps them
    prepare_run_dir(run_copy, overwrite=True)
    assert not (run_copy / "progress.csv").exists() and not checkpoint_path(run_copy).exists()


# ---- 3. what a resume may change -----------------------------------------------------------------

@pytest.mark.parametrize("change, key", [
    ("task.cost_limit=0.5", "task.cost_limit"), ("algo.max_kl=0.05", "algo.max_kl"), ("task.horizon=30", "task.horizon"),
    ("train.normalize_obs=true", "train.normalize_obs"), ("task.params.x_limit=2", "task.params.x_limit")])
@pytest.mark.xdist_group("finished_cpo_run")  # one worker builds the module fixture, once
def test_resume_refuses_a_change_of_what_decides_the_results(finished_run, change, key):
    problems = check_run_dir(compose_config([*FINISHED, "resume=true", change]), finished_run)
    assert len(problems) == 1 and key in problems[0], problems


@pytest.mark.xdist_group("finished_cpo_run")  # one worker builds the module fixture, once
def test_resume_accepts_the_keys_that_cannot_change_the_results(finished_run):
    allowed = ["train.total_steps=5000", "train.checkpoint_every=3", "train.workers=2", "train.torch_threads=1",
               "logger.wandb.mode=offline", "logger.wandb.tags=[a]"]
    assert check_run_dir(compose_config([*FINISHED, "resume=true", *allowed]), finished_run) == []


@pytest.mark.xdist_group("finished_cpo_run")  # one worker builds the module fixture, once
def test_resume_with_another_cost_limit_is_refused_through_the_cli(run_copy, tmp_path, capsys, monkeypatch):
    before = snapshot(run_copy)
    monkeypatch.chdir(tmp_path)
    result = run_cli_in_process(*FINISHED, "task.cost_limit=0.5", "resume=true", f"hydra.run.dir={run_copy}",
                                capsys=capsys)
    refused(result, "task.cost_limit (run: 5.0, now: 0.5)")
    assert snapshot(run_copy) == before


# ---- 4. one run per directory --------------------------------------------------------------------

HOLD_LOCK = ("import sys, time; from safebench.run_lock import lock_run_dir; lock_run_dir(sys.argv[1]); "
             "print('locked', flush=True); time.sleep(120)")


def test_a_locked_directory_is_refused_naming_the_holder_and_a_stale_lock_does_not_block(tmp_path, capsys,
                                                                                         monkeypatch):
    run_dir = tmp_path / "run"
    monkeypatch.chdir(tmp_path)  # refused before Hydra starts: main() in this process
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(run_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = run_cli_in_process(*FINISHED, f"hydra.run.dir={run_dir}", capsys=capsys)
        refused(result, "in use by another safebench run", f"PID {holder.pid}")
        assert not (run_dir / ".hydra").exists()
    finally:
        holder.kill()  # SIGKILL: the kernel releases the flock, the file and its PID stay
        holder.wait()
    assert (run_dir / LOCK_FILE).read_text().strip() == str(holder.pid)
    lock_run_dir(run_dir)  # the stale lock does not block
    release_run_dir(run_dir)


def test_a_second_sweep_into_a_folder_that_a_sweep_is_filling_is_refused(tmp_path, capsys, monkeypatch):
    """reproduce_figure.sh --resume here while it runs elsewhere: refused before Hydra touches any job's directory."""
    sweep_dir = tmp_path / "sweep"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(sweep_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        monkeypatch.chdir(tmp_path)
        result = run_cli_in_process("-m", "+algo=trpo", *TINY, "seed=0,1", f"hydra.sweep.dir={sweep_dir}", capsys=capsys)
        refused(result, "in use by another safebench sweep", f"PID {holder.pid}", "hydra.sweep.dir=")
        assert [path.name for path in sweep_dir.iterdir()] == [LOCK_FILE]
    finally:
        holder.kill()
        holder.wait()


def test_a_job_refused_at_its_run_lock_fails_the_sweep_without_writing_into_that_run(tmp_path):
    """The job's failure is recorded in the sweep's folder: a failed.json in the directory of the run that holds
    the lock would mark that healthy run as failed."""
    sweep_dir = tmp_path / "sweep"
    job_dir = sweep_dir / "job"
    saved = {name: f"# the holder's {name}\n" for name in ("config.yaml", "hydra.yaml", "overrides.yaml")}
    (job_dir / ".hydra").mkdir(parents=True)
    for name, text in saved.items():  # the resume checks, status and report read these: they must stay the holder's
        (job_dir / ".hydra" / name).write_text(text)
    (job_dir / "cli.log").write_text("the holder's log\n")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(job_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = run_cli("-m", "+algo=trpo", *TINY, "seed=0", f"hydra.sweep.dir={sweep_dir}", "hydra.sweep.subdir=job",
                         cwd=tmp_path)
        assert result.returncode == 1, result.stderr[-2000:]
        message = " ".join(result.stderr.split())
        assert f"1 job(s) of the sweep failed: {job_dir}: The run directory {job_dir} is in use" in message, message
        assert "another directory with hydra.sweep.dir=" in message, message
        assert not (job_dir / "failed.json").exists()
        assert {name: (job_dir / ".hydra" / name).read_text() for name in saved} == saved
        assert (job_dir / "cli.log").read_text() == "the holder's log\n"  # the refused job logs beside its failure
        assert "is in use" in (sweep_dir / ".refused" / "job0" / "cli.log").read_text()
    finally:
        holder.kill()
        holder.wait()


def test_a_second_run_into_a_running_directory_exits_2_and_a_killed_run_resumes(tmp_path, capsys, monkeypatch):
    run_dir = tmp_path / "run"
    args = ["+algo=cpo", *TINY[:-1], "train.total_steps=400000", "train.checkpoint_every=1"]
    first = subprocess.Popen(cli_argv(*args, f"hydra.run.dir={run_dir}"), cwd=tmp_path,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not checkpoint_path(run_dir).exists():
            time.sleep(0.05)
        before = (run_dir / ".hydra" / "config.yaml").read_bytes()
        monkeypatch.chdir(tmp_path)  # refused at the lock, before Hydra starts: main() in this process
        second = run_cli_in_process(*args, f"hydra.run.dir={run_dir}", "resume=true", "seed=3", capsys=capsys)
        refused(second, f"PID {first.pid}")
        assert (run_dir / ".hydra" / "config.yaml").read_bytes() == before
    finally:
        first.kill()
        first.wait()
    resumed = run_cli(*args[:-2], "train.total_steps=3000", "train.checkpoint_every=1", "resume=true",
                      f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "complete"


def test_automatic_update_threads_follow_omp_num_threads_where_set(monkeypatch):
    """A scheduler's OMP_NUM_THREADS is the run's share of the machine; without it, every core."""
    from safebench.command_line import compose_config
    from safebench.parallelism import Parallelism, usable_cores

    cfg = compose_config(["+algo=cpo", "+task=point_circle"])
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert Parallelism.from_config(cfg).update_threads == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert Parallelism.from_config(cfg).update_threads == usable_cores()
    monkeypatch.setenv("OMP_NUM_THREADS", "")
    assert Parallelism.from_config(cfg).update_threads == usable_cores()
    cfg.train.torch_threads = 2
    assert Parallelism.from_config(cfg).update_threads == 2


def test_automatic_workers_and_threads_count_the_cores_this_process_may_use(monkeypatch):
    """A SLURM job given 3 cores of a big node (its CPU set) gets 3 workers and threads, not one per core of the node;
    on a single core, sampling stays in-process."""
    from safebench.command_line import compose_config
    from safebench.parallelism import Parallelism

    cfg = compose_config(["+algo=cpo", "+task=point_circle", "train.workers=auto", "train.num_envs=16"])
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {4, 5, 6})
    assert Parallelism.from_config(cfg) == Parallelism(workers=3, update_threads=3)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {7})
    assert Parallelism.from_config(cfg) == Parallelism(workers=0, update_threads=1)


@pytest.mark.parametrize("algo", ["ppo_lagrangian", "focops", "saute"])
def test_a_larger_budget_resumes_the_algorithms_whose_schedule_follows_it(algo, tmp_path):
    """lr_schedule_steps: ${train.total_steps} changes with the budget (README: a resume may extend it); a key set
    apart from the budget still may not change."""
    from safebench.run_directory import resolved_config, resume_differences

    saved = resolved_config(compose_config([f"+algo={algo}", *TINY, "seed=0"]))
    longer = compose_config([f"+algo={algo}", *TINY, "seed=0", "train.total_steps=8000"])
    assert resume_differences(saved, longer, tmp_path) == []
    other = compose_config([f"+algo={algo}", *TINY, "seed=0", "train.total_steps=8000", "algo.lr_schedule_steps=5000"])
    (problem,) = resume_differences(saved, other, tmp_path)
    assert "algo.lr_schedule_steps (run: 2000, now: 5000)" in problem and "train.total_steps (run:" not in problem
    # a run started with its own schedule length does not follow the budget: a resume without it is refused
    pinned = resolved_config(compose_config([f"+algo={algo}", *TINY, "seed=0", "algo.lr_schedule_steps=1500"]))
    (problem,) = resume_differences(pinned, longer, tmp_path)
    assert "algo.lr_schedule_steps (run: 1500, now: 8000)" in problem
    # ... also when the run chose the budget's own value on its command line
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "overrides.yaml").write_text("- algo.lr_schedule_steps=2000\n")
    (problem,) = resume_differences(saved, longer, tmp_path)
    assert "algo.lr_schedule_steps (run: 2000, now: 8000)" in problem


def test_hydra_files_are_written_by_the_job_and_kept_when_nothing_changes(tmp_path):
    """.hydra/ is written once a job may run (hydra.output_subdir is null); the same command again (a sweep's
    resume passing over a finished run) leaves the files alone, a changed one (a larger budget) replaces them."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf, open_dict

    from safebench.cli import save_hydra_files
    from safebench.command_line import compose_config

    def job(*overrides: str):
        cfg = compose_config(["+algo=trpo", "+task=point_circle", *overrides])
        with open_dict(cfg):
            cfg.hydra.overrides.task = ["+algo=trpo", "+task=point_circle", *overrides]
        HydraConfig.instance().set_config(cfg)
        return OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])

    before = HydraConfig.instance().cfg
    try:
        assert compose_config(["+algo=trpo", "+task=point_circle"]).hydra.output_subdir is None  # Hydra writes nothing
        save_hydra_files(job("resume=true"), tmp_path)
        files = tmp_path / ".hydra"
        assert OmegaConf.load(files / "overrides.yaml") == ["+algo=trpo", "+task=point_circle", "resume=true"]
        assert OmegaConf.load(files / "config.yaml").algo.name == "trpo"
        (files / "hydra.yaml").write_text("# as the run left it\n")
        save_hydra_files(job("resume=true"), tmp_path)
        assert (files / "hydra.yaml").read_text() == "# as the run left it\n"
        save_hydra_files(job("resume=true", "train.total_steps=900000"), tmp_path)
        assert OmegaConf.load(files / "hydra.yaml").hydra.overrides.task[-1] == "train.total_steps=900000"
        assert OmegaConf.load(files / "config.yaml").train.total_steps == 900000
    finally:
        HydraConfig.instance().cfg = before
