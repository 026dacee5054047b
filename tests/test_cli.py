"""The command line as a user meets it: composition, bad input, a tiny real run, determinism."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from helpers import run_cli, run_cli_in_process

from safebench.command_line import compose_config
from safebench.config_validation import available, validate_config
from safebench.run_files import TIME_COLUMNS

TINY = ["train.total_steps=3000", "train.batch_size=1000", "train.num_envs=2"]


def test_config_composition():
    cfg = compose_config(["+algo=trpo", "+task=point_circle"])
    assert cfg.algo.name == "trpo" and cfg.task.name == "point_circle"
    assert cfg.algo.max_kl == 0.01 and cfg.algo.gamma == 0.995 and list(cfg.algo.hidden_sizes) == [64, 32]
    assert cfg.algo.cost_gae_lambda == cfg.task.cost_gae_lambda == 1.0
    assert cfg.train.batch_size == 50_000 and cfg.task.horizon == 65 and cfg.task.cost_limit == 5.0
    assert validate_config(cfg) == []


@pytest.mark.parametrize("algo", available("algo"))
def test_every_algorithm_and_task_config_composes(algo):
    """One test per algorithm, so that the workers share them; a task with more constraints than the
    algorithm handles is refused with a clear message (e.g. pcpo on a 2-cost task)."""
    from hydra.utils import get_class

    from safebench.constraints import Constraints

    for task in available("task"):
        cfg = compose_config([f"+algo={algo}", f"+task={task}"])
        most = get_class(cfg.algo._target_).max_constraints
        if most is not None and Constraints.from_task(cfg.task).count > most:
            (problem,) = validate_config(cfg)
            assert f"at most {most} constraint" in problem, problem
        else:
            assert validate_config(cfg) == [], (algo, task)


BAD_INPUTS = {
    "missing algo": (["+task=point_circle"], ["+algo=NAME", "cpo", "trpo", "lagrangian", "fixed_penalty"]),
    "missing task": (["+algo=cpo"], ["+task=NAME", "point_circle"]),
    "unknown algo": (["+algo=sac", "+task=point_circle"], ["Unknown algorithm 'sac'", "Available algorithms: cpo, ", "fixed_penalty, "]),
    "unknown task": (["+algo=cpo", "+task=moon_walk"], ["Unknown task 'moon_walk'", "point_circle"]),
    "unknown key": (["+algo=cpo", "+task=point_circle", "train.speed=3"], ["train.speed"]),
    "unknown algo key": (["+algo=cpo", "+task=point_circle", "+algo.temperature=3"], ["temperature"]),
    "unknown task param": (["+algo=cpo", "+task=point_circle", "+task.params.gravity=3"], ["gravity"]),
    "negative limit": (["+algo=cpo", "+task=point_circle", "task.cost_limit=-1"], ["task.cost_limit"]),
    "text limit": (["+algo=cpo", "+task=point_circle", "task.cost_limit=lots"], ["task.cost_limit"]),
    "batch below horizon": (["+algo=cpo", "+task=point_circle", "train.batch_size=10"], ["smaller than one episode"]),
    "zero batch": (["+algo=cpo", "+task=point_circle", "train.batch_size=0"], ["train.batch_size"]),
    "text steps": (["+algo=cpo", "+task=point_circle", "train.total_steps=many"], ["train.total_steps"]),
    "sweep without -m": (["+algo=cpo,trpo", "+task=point_circle"], ["add -m"]),
    "bad wandb mode": (["+algo=cpo", "+task=point_circle", "logger.wandb.mode=loud"], ["logger.wandb.mode"]),
    "negative max_kl": (["+algo=cpo", "+task=point_circle", "algo.max_kl=-1"], ["algo.max_kl must be float > 0"]),
    "text max_kl": (["+algo=trpo", "+task=point_circle", "algo.max_kl=abc"], ["algo.max_kl", "'abc'"]),
    "discount above 1": (["+algo=ppo_lagrangian", "+task=point_circle", "algo.gamma=1.5"], ["algo.gamma"]),
    "negative apples": (["+algo=cpo", "+task=point_gather", "task.params.n_apples=-3"], ["task.params.n_apples"]),
    "batch beyond memory": (["+algo=cpo", "+task=point_circle", "train.batch_size=1000000000000"],
                            ["GiB of memory", "lower train.batch_size"]),
    "resume and overwrite": (["+algo=cpo", "+task=point_circle", "resume=true", "overwrite=true"], ["contradict"]),
    # bool("no") is True: a word for a switch would have replaced the run in the folder
    "word for overwrite": (["+algo=cpo", "+task=point_circle", "overwrite=no"], ["overwrite must be true or false"]),
    "word for normalize_obs": (["+algo=cpo", "+task=point_circle", "train.normalize_obs=maybe"],
                               ["train.normalize_obs must be true or false"]),
    "text eval.every": (["+algo=cpo", "+task=point_circle", "eval.every=abc"], ["eval.every must be an integer"]),
    "negative eval.episodes": (["+algo=cpo", "+task=point_circle", "eval.episodes=-2"], ["eval.episodes"]),
    "dashed flag": (["+algo=cpo", "+task=point_circle", "--resume"], ["Unknown flag(s) --resume", "mean resume=true"]),
    "task refuses a param": (["+algo=cpo", "+task=point_circle", "task.params.cost_timing=whenever"],
                             ["point_circle cannot be built", "cost_timing must be one of"]),
}


def test_a_run_directory_below_a_file_is_named_as_such(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("")
    result = run_cli_in_process("+algo=cpo", "+task=point_circle", f"hydra.run.dir={tmp_path / 'notes.txt' / 'run'}",
                                capsys=capsys)
    assert result.returncode == 2 and "notes.txt is a file" in " ".join(result.stderr.split())


def test_unwritable_run_directory_is_refused_before_anything_starts(tmp_path, capsys, monkeypatch):
    target = "/proc/sys/safebench-run"  # not writable, even for root
    if os.access("/proc/sys", os.W_OK):
        pytest.skip("/proc/sys is writable here")
    monkeypatch.chdir(tmp_path)
    result = run_cli_in_process("+algo=cpo", "+task=point_circle", f"hydra.run.dir={target}", capsys=capsys)
    assert result.returncode == 2 and "cannot be written" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


IN_A_REAL_PROCESS = {"unknown algo", "batch below horizon", "resume and overwrite"}  # the rest: the same main()


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exits_2_with_one_clear_paragraph(case, tmp_path, capsys, monkeypatch):
    args, expected = BAD_INPUTS[case]
    run_dir = tmp_path / "run"
    if case in IN_A_REAL_PROCESS:
        result = run_cli(*args, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    else:
        monkeypatch.chdir(tmp_path)
        result = run_cli_in_process(*args, f"hydra.run.dir={run_dir}", capsys=capsys)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.startswith("safebench: error:")
    message = " ".join(result.stderr.split())
    for text in expected:
        assert text in message, (text, message)
    assert not run_dir.exists() and not (tmp_path / "runs").exists()


def test_resume_without_checkpoint_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli_in_process("+algo=trpo", "+task=point_circle", "resume=true",
                                f"hydra.run.dir={tmp_path / 'nothing'}", capsys=capsys)
    assert result.returncode == 2 and "no checkpoint" in result.stderr and "Traceback" not in result.stderr


def _run(tmp_path, name, *extra, env=None):
    run_dir = tmp_path / name
    result = run_cli("+algo=cpo", "+task=point_circle", *TINY, *extra, f"hydra.run.dir={run_dir}", cwd=tmp_path,
                     env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir, result


def test_tiny_run_writes_the_whole_run_directory(tmp_path):
    run_dir, result = _run(tmp_path, "run", "seed=3", "train.workers=auto")  # a user's default: workers on a multicore machine
    for name in [".hydra/config.yaml", "progress.csv", "summary.json", "manifest.json", "checkpoints/last.pt"]:
        assert (run_dir / name).is_file(), name
    progress = pd.read_csv(run_dir / "progress.csv")
    required = ["epoch", "env_steps", "return_mean", "cost_mean", "ep_len_mean", "cost_limit", "kl", "entropy",
                "time_s", "cpo_mode", "cost_change_predicted", "line_search_backtracks"]
    assert set(required) <= set(progress.columns)
    assert list(progress.epoch) == [1, 2, 3] and list(progress.env_steps) == [1000, 2000, 3000]
    # point_circle episodes end as terminals after 51-65 steps (the released random end)
    assert progress.ep_len_mean.between(51, 65).all() and (progress.cost_limit == 5.0).all()
    assert (progress.kl <= 0.01 + 1e-6).all() and progress.cost_mean.between(0, 65).all()
    assert set(progress.cpo_mode) <= {0, 1, 2, 3}
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["env_steps"] == 3000
    assert summary["final_cost"] == pytest.approx(progress.cost_mean.iloc[-1])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert {"git_commit", "python", "torch", "mujoco", "gymnasium", "cpu", "start_time", "end_time"} <= set(manifest)
    assert "update 3/3" in result.stderr + result.stdout  # one console line per update


@pytest.mark.slow  # 17 s; determinism is also what every exact-resume test checks
def test_same_seed_gives_identical_progress(tmp_path):
    first, _ = _run(tmp_path, "a", "seed=7")
    second, _ = _run(tmp_path, "b", "seed=7", env={"PYTHONHASHSEED": "1"})  # a new interpreter, another hash seed
    other, _ = _run(tmp_path, "c", "seed=8")
    a, b, c = (pd.read_csv(d / "progress.csv").drop(columns=list(TIME_COLUMNS), errors="ignore") for d in (first, second, other))
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_wandb_that_cannot_start_is_a_warning_not_a_crash(tmp_path):
    env = {"HOME": str(tmp_path), "WANDB_API_KEY": "", "WANDB_DIR": str(tmp_path)}  # not logged in
    run_dir, result = _run(tmp_path, "run", "logger.wandb.mode=online", env=env)
    assert "wandb could not start" in result.stderr + result.stdout
    assert len(pd.read_csv(run_dir / "progress.csv")) == 3


def test_every_hyperparameter_needs_a_declared_range():
    """A new algorithm declares its ranges (a ranges: block in its YAML); the harness checks them generically."""
    from omegaconf import open_dict

    for algo in available("algo"):
        cfg = compose_config([f"+algo={algo}", "+task=point_circle"])
        assert "gamma" in cfg.algo.ranges, algo
        with open_dict(cfg):
            del cfg.algo.ranges["gamma"]
        (problem,) = validate_config(cfg)
        assert f"algorithm {algo!r} declares no range for gamma" in problem


@pytest.mark.parametrize("backend", ["bogus", "osmesa"])
def test_training_works_whatever_mujoco_gl_says(tmp_path, backend):
    """Training renders nothing: a MUJOCO_GL that cannot load is a one-line warning naming it, not a traceback."""
    import ctypes.util

    if backend == "osmesa" and ctypes.util.find_library("OSMesa"):
        pytest.skip("libOSMesa is installed here, so MUJOCO_GL=osmesa works")
    env = {"MUJOCO_GL": backend, "PYOPENGL_PLATFORM": backend}  # as mujoco sets it (this process may hold egl)
    run_dir, result = _run(tmp_path, "run", "train.workers=1", env=env)
    assert f"MUJOCO_GL={backend} cannot be used here" in result.stderr and "Traceback" not in result.stderr
    assert len(pd.read_csv(run_dir / "progress.csv")) == 3


def test_a_full_disk_is_one_paragraph_naming_the_path_and_the_resume(tmp_path):
    """ENOSPC while writing progress.csv after a checkpoint: say so, name the file, say how it resumes."""
    code = ("import errno, sys; from safebench import run_files; from safebench.cli import main\n"
            "def full(self, row):\n"
            "    raise OSError(errno.ENOSPC, 'No space left on device', str(self.path))\n"
            "run_files.ProgressLog.append = full\n"
            "main(sys.argv[1:])\n")
    run_dir = tmp_path / "run"
    result = subprocess.run([sys.executable, "-c", code, "+algo=cpo", "+task=point_circle", *TINY,
                             f"hydra.run.dir={run_dir}"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    message = " ".join(result.stderr.split())
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in message and "a bug" not in message
    assert "The disk is full" in message and str(run_dir / "progress.csv") in message
    assert "run the same command again with overwrite=true" in message  # no checkpoint yet


@pytest.mark.parametrize("algo", available("algo"))
def test_an_unknown_key_in_an_algorithm_yaml_is_named_with_the_valid_keys(algo):
    """A typo'd key in conf/algo/<name>.yaml: the algorithm, a did-you-mean and its keys, not a TypeError."""
    from omegaconf import open_dict

    cfg = compose_config([f"+algo={algo}", "+task=point_circle"])
    with open_dict(cfg):
        cfg.algo["gamam"] = 0.99  # as if the YAML said 'gamam: 0.99'
    (problem,) = validate_config(cfg)
    assert f"Unknown key(s) algo.gamam for algorithm {algo!r}" in problem and "Did you mean gamma?" in problem
    assert f"Valid keys of {algo}: " in problem and "gamma," in problem and "TypeError" not in problem
    assert "obs_dim" not in problem  # the harness's own arguments are not the user's keys


@pytest.mark.parametrize("override", ["+algo.lambda_lrr=0.1", "algo.lambda_lrr=0.1"])
def test_an_unknown_algorithm_key_exits_2_like_an_unknown_command_line_key(override, tmp_path, capsys, monkeypatch):
    """With or without '+': the algorithm, a did-you-mean and its keys (not Hydra's advice to add it with '+')."""
    monkeypatch.chdir(tmp_path)
    result = run_cli_in_process("+algo=ppo_lagrangian", "+task=point_circle", override,
                                f"hydra.run.dir={tmp_path / 'run'}", capsys=capsys)
    message = " ".join(result.stderr.split())
    assert result.returncode == 2 and "Traceback" not in message, result.stderr[-3000:]
    assert "algo.lambda_lrr for algorithm 'ppo_lagrangian'" in message and "Did you mean lambda_lr?" in message
    assert "Valid keys of ppo_lagrangian: " in message and "To append to your config" not in message
    assert not (tmp_path / "run").exists()
