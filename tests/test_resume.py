"""Reliability: a killed run resumes to the same curve; corrupt checkpoints and NaN are caught."""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from helpers import cli_argv, group_killed_afterwards, run_cli, run_cli_in_process

from safebench.checkpoint import checkpoint_path, load_checkpoint
from safebench.command_line import compose_config
from safebench.errors import NonFiniteError
from safebench.run_files import TIME_COLUMNS

UPDATES = 6
BASE = ["+task=point_circle", "train.batch_size=1000", "train.num_envs=2", f"train.total_steps={UPDATES * 1000}",
        "seed=5"]


def curve(run_dir):
    return pd.read_csv(run_dir / "progress.csv").drop(columns=list(TIME_COLUMNS), errors="ignore")


def kill_after_rows(args, run_dir, rows, cwd):
    """Start a run and SIGKILL it once progress.csv holds ``rows`` rows (mid-way through the next)."""
    process = subprocess.Popen(cli_argv(*args, f"hydra.run.dir={run_dir}"), cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    progress = run_dir / "progress.csv"
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        if progress.exists() and len(progress.read_text().splitlines()) - 1 >= rows:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"


@pytest.mark.parametrize("algo,checkpoint_every,kill_at", [("cpo", 1, 3), pytest.param("lagrangian", 2, 3, marks=pytest.mark.slow),
                                                           pytest.param("cpo", 2, 4, marks=pytest.mark.slow)])
def test_sigkilled_run_resumes_to_the_uninterrupted_curve(tmp_path, algo, checkpoint_every, kill_at):
    from safebench.trainer import train

    args = [f"+algo={algo}", *BASE, f"train.checkpoint_every={checkpoint_every}"]
    reference = tmp_path / "reference"
    train(compose_config(args), reference)  # uninterrupted, in this process: the same numbers as the CLI's
    interrupted = tmp_path / "interrupted"
    kill_after_rows(args, interrupted, kill_at, tmp_path)
    resumed = run_cli(*args, "resume=true", f"hydra.run.dir={interrupted}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resumed from update" in resumed.stderr + resumed.stdout
    pd.testing.assert_frame_equal(curve(interrupted), curve(reference))
    assert len(curve(reference)) == UPDATES
    # the manifest keeps the start's commit and adds where the run continued (a run may span commits)
    first = json.loads((reference / "manifest.json").read_text())
    manifest = json.loads((interrupted / "manifest.json").read_text())
    assert "resumes" not in first and manifest["git_commit"] == first["git_commit"]
    (resume,) = manifest["resumes"]
    assert 1 <= resume["from_update"] <= kill_at and resume["git_commit"] == first["git_commit"]


@pytest.fixture(scope="module")
def trpo_run(tmp_path_factory) -> Path:
    """A finished TRPO run of BASE (trained in this process once; the tests below work on copies)."""
    from safebench.trainer import train

    run_dir = tmp_path_factory.mktemp("trpo") / "run"
    train(compose_config(["+algo=trpo", *BASE[:3], "train.total_steps=2000", BASE[-1]]), run_dir)
    return run_dir


@pytest.mark.xdist_group("finished_trpo_run")  # one worker builds the module fixture, once
def test_corrupt_checkpoint_is_refused(trpo_run, tmp_path, capsys, monkeypatch):
    run_dir = tmp_path / "run"
    shutil.copytree(trpo_run, run_dir)
    checkpoint_path(run_dir).write_bytes(b"this is not a checkpoint")
    monkeypatch.chdir(tmp_path)  # refused before Hydra starts: main() in this process
    result = run_cli_in_process("+algo=trpo", *BASE, "resume=true", f"hydra.run.dir={run_dir}", capsys=capsys)
    assert result.returncode == 2 and "corrupt" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.xdist_group("finished_trpo_run")  # one worker builds the module fixture, once
def test_checkpoint_of_another_algorithm_is_refused(trpo_run, tmp_path, capsys, monkeypatch):
    run_dir = tmp_path / "run"
    shutil.copytree(trpo_run, run_dir)
    monkeypatch.chdir(tmp_path)
    result = run_cli_in_process("+algo=cpo", *BASE, "resume=true", f"hydra.run.dir={run_dir}", capsys=capsys)
    message = " ".join(result.stderr.split())
    assert result.returncode == 2 and "different run" in message and "'trpo'" in message, message


@pytest.mark.xdist_group("finished_trpo_run")  # one worker builds the module fixture, once
def test_damaged_manifest_is_refused_before_training_resumes(trpo_run, tmp_path):
    """The manifest records the commits a run trained at: a resume must not replace a damaged one silently."""
    from safebench.errors import CheckpointError
    from safebench.trainer import train

    run_dir = tmp_path / "run"
    shutil.copytree(trpo_run, run_dir)
    (run_dir / "manifest.json").write_text('{"git_commit": "abc"')
    progress = (run_dir / "progress.csv").read_text()
    with pytest.raises(CheckpointError, match="manifest.*Restore it"):
        train(compose_config(["+algo=trpo", *BASE, "resume=true"]), run_dir)
    assert (run_dir / "progress.csv").read_text() == progress  # nothing trained, nothing half-written


def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    from algorithms.cpo import CPO
    from safebench.trainer import train

    calls = {"n": 0}
    original = CPO.update

    def poisoned(self, batch):
        stats = original(self, batch)
        calls["n"] += 1
        if calls["n"] == 3:
            with torch.no_grad():
                self.policy.log_std.fill_(float("nan"))
        return stats

    monkeypatch.setattr(CPO, "update", poisoned)
    cfg = compose_config(["+algo=cpo", *BASE, "train.checkpoint_every=1"])
    with pytest.raises(NonFiniteError, match=r"parameter 'log_std' at update 3"):
        train(cfg, tmp_path)
    saved = load_checkpoint(checkpoint_path(tmp_path), {"algo": "cpo"})
    assert saved["epoch"] == 2
    assert torch.isfinite(saved["algorithm"]["policy"]["log_std"]).all()


def test_resuming_a_complete_run_leaves_its_manifest_and_curve_alone(tmp_path):
    """A figure's --resume passes over finished runs: their end time and resume record must not move."""
    from safebench.trainer import train

    cfg = compose_config(["+algo=trpo", *BASE[:3], "train.total_steps=2000"])
    train(cfg, tmp_path)
    manifest, progress = (tmp_path / "manifest.json").read_text(), (tmp_path / "progress.csv").read_text()
    cfg.resume = True
    train(cfg, tmp_path)
    assert (tmp_path / "manifest.json").read_text() == manifest
    assert (tmp_path / "progress.csv").read_text() == progress


def descendants_of(pid: int) -> list[int]:
    """Processes below ``pid`` (from /proc): the env workers are forked from multiprocessing's fork server, a child
    of the run's process."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


@pytest.mark.slow  # 27 s; test_sigterm_is_handled_like_ctrl_c and the no-orphan-workers tests run by default
def test_ctrl_c_stops_a_run_with_workers_cleanly_and_it_resumes(tmp_path):
    """SIGINT: exit 130 with a one-line hint instead of a traceback, no worker left, resume works."""
    args = ["+algo=cpo", "+task=point_circle", "train.batch_size=8000", "train.num_envs=8", "train.workers=2",
            "train.total_steps=400000", "train.checkpoint_every=1", "seed=1"]
    run_dir = tmp_path / "run"
    process = subprocess.Popen(cli_argv(*args, f"hydra.run.dir={run_dir}"), cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    with group_killed_afterwards(process):
        progress = run_dir / "progress.csv"
        deadline = time.time() + 120
        while time.time() < deadline and not (progress.exists() and len(progress.read_text().splitlines()) > 2):
            time.sleep(0.05)
        assert '"env_workers": 2' in (run_dir / "manifest.json").read_text()
        workers = descendants_of(process.pid)
        assert len(workers) >= 4  # the two env workers, the fork server they came from, the resource tracker
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
        output = stdout + stderr
        assert process.returncode == 130, output[-2000:]
        assert "Traceback" not in output and f"resume=true hydra.run.dir={run_dir}" in output
        deadline = time.time() + 10
        while time.time() < deadline and any(Path(f"/proc/{pid}").exists() for pid in workers):
            time.sleep(0.1)
        assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "orphan worker processes"
    resumed = run_cli(*args, "train.total_steps=24000", "resume=true", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]


def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    """What cluster schedulers send: exit 143 with one message and the resume command, then resume works."""
    args = ["+algo=cpo", *BASE[:-2], "train.total_steps=400000", "train.checkpoint_every=1", "seed=2"]
    run_dir = tmp_path / "run"
    process = subprocess.Popen(cli_argv(*args, f"hydra.run.dir={run_dir}"), cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    with group_killed_afterwards(process):
        deadline = time.time() + 120
        while time.time() < deadline and not checkpoint_path(run_dir).exists():
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
        output = stdout + stderr
        assert process.returncode == 143, output[-2000:]
        assert "Traceback" not in output and "interrupted (SIGTERM)" in output
        assert f"resume=true hydra.run.dir={run_dir}" in output
    resumed = run_cli(*args[:-3], "train.total_steps=4000", "train.checkpoint_every=1", "seed=2", "resume=true",
                      f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]


def test_ctrl_c_during_start_up_is_one_message_without_a_resume_hint(tmp_path):
    """Ctrl-C (SIGINT to the whole process group) while the env workers start: no traceback of theirs, no hint
    to resume a run that has no checkpoint."""
    args = ["+algo=cpo", "+task=point_circle", "train.batch_size=8000", "train.num_envs=8", "train.workers=2",
            "train.total_steps=400000"]
    run_dir = tmp_path / "run"
    process = subprocess.Popen(cli_argv(*args, f"hydra.run.dir={run_dir}"), cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    with group_killed_afterwards(process):
        deadline = time.time() + 120
        while time.time() < deadline and len(descendants_of(process.pid)) < 3:  # resource tracker, fork server, worker
            time.sleep(0.01)
        workers = descendants_of(process.pid)
        assert not (run_dir / "progress.csv").exists(), "the run got past its start-up"
        os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
        output = stdout + stderr
        assert process.returncode == 130, output[-3000:]
        assert "Traceback" not in output and "KeyboardInterrupt" not in output, output[-3000:]
        assert "nothing to resume" in output and "resume=true" not in output
        deadline = time.time() + 10
        while time.time() < deadline and any(Path(f"/proc/{pid}").exists() for pid in workers):
            time.sleep(0.1)
        assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "orphan worker processes"


def committed_checkpoints() -> list[Path]:
    """One committed checkpoint per algorithm in results/ (each holds only state dicts and strings)."""
    found = {path.parents[2].name: path for path in sorted(Path("results").glob("**/checkpoints/last.pt"))}
    return list(found.values())


@pytest.mark.parametrize("path", committed_checkpoints(), ids=lambda p: p.parents[2].name)
def test_committed_checkpoints_pickle_no_module_path_and_load_after_the_core_move(path):
    """Moving modules to algorithms/core must not break old checkpoints: they name no class, only _target_."""
    import pickletools
    import zipfile

    from omegaconf import OmegaConf

    from safebench.trainer import build_algorithm

    with zipfile.ZipFile(path) as archive:
        pickled = archive.read(next(n for n in archive.namelist() if n.endswith("data.pkl")))
    globals_ = {arg for op, arg, _ in pickletools.genops(pickled) if op.name in ("GLOBAL", "STACK_GLOBAL")}
    assert not [g for g in globals_ if str(g).startswith(("algorithms", "safebench"))]
    state = torch.load(path, map_location="cpu", weights_only=False)
    cfg = OmegaConf.create(state["config"])
    identity = state["identity"]
    algo = build_algorithm(cfg, identity["obs_dim"], identity["act_dim"])
    algo.load_state_dict(state["algorithm"])
