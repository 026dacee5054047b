"""The harness's off-policy path: the update schedule, exact resume with the replay buffer after SIGKILL, the
disk check, config checks, and a run folder that report and status read like any other."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import run_cli, run_cli_in_process, run_module
from test_resume import curve, kill_after_rows

from safebench.checkpoint import checkpoint_path, load_checkpoint
from safebench.command_line import compose_config
from safebench.errors import ResourceError
from safebench.off_policy import OffPolicySchedule

WINDOWS = 6
TINY = ["+task=point_circle", "train.num_envs=2", "train.log_every=300", f"train.total_steps={WINDOWS * 300}",
        "train.start_steps=300", "train.update_every=2", "algo.hidden_sizes=[16]", "algo.critic_hidden_sizes=[16]",
        "algo.batch_size=32", "eval.every=3", "eval.episodes=2", "seed=4"]
ON_POLICY_COLUMNS = ["epoch", "env_steps", "return_mean", "return_std", "cost_mean", "ep_len_mean", "episodes",
                     "cost_limit", "batch_cost", "batch_steps", "violation", "kl", "entropy", "time_s",
                     "sample_time_s", "update_time_s", "steps_per_s"]
OFF_POLICY_COLUMNS = ["gradient_steps", "lagrange_multiplier", "reward_critic_loss", "cost_critic_loss", "actor_loss",
                      "alpha"]  # SAC's; means over the window's gradient steps (the actor's over its own steps)


def test_schedule_random_start_then_updates_every_few_env_steps():
    schedule = OffPolicySchedule(total_steps=1000, log_every=300, start_steps=100, update_every=4,
                                 updates_per_step=3, buffer_size=500, num_envs=2)
    assert (schedule.steps_per_env, schedule.window_steps, schedule.windows) == (150, 300, 4)
    assert schedule.gradient_steps(96, 98) == 0  # random start: no update before 100 env steps
    assert schedule.gradient_steps(98, 100) == 3  # 100 is a multiple of 4: one update of 3 gradient steps
    assert schedule.gradient_steps(100, 102) == 0
    assert sum(schedule.gradient_steps(s, s + 2) for s in range(98, 300, 2)) == 3 * (300 // 4 - 96 // 4)


@pytest.mark.slow  # about 45 s (three runs as subprocesses); the in-process test below checks the same fast
@pytest.mark.parametrize("algo", ["sac_lagrangian", "td3_lagrangian"])
def test_sigkilled_off_policy_run_resumes_to_the_uninterrupted_curve(tmp_path, algo):
    args = [f"+algo={algo}", *TINY, "train.checkpoint_every=2"]
    reference = tmp_path / "reference"
    result = run_cli(*args, f"hydra.run.dir={reference}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    interrupted = tmp_path / "interrupted"
    kill_after_rows(args, interrupted, 3, tmp_path)
    saved = load_checkpoint(checkpoint_path(interrupted), {"algo": algo})
    assert saved["epoch"] == 2 and saved["replay"]["size"] == 600  # the buffer travels with the checkpoint
    resumed = run_cli(*args, "resume=true", f"hydra.run.dir={interrupted}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    expected = curve(reference)
    pd.testing.assert_frame_equal(curve(interrupted), expected)
    assert len(expected) == WINDOWS and list(expected["env_steps"]) == [300 * k for k in range(1, WINDOWS + 1)]
    assert list(expected.columns[:len(ON_POLICY_COLUMNS) - 4]) == ON_POLICY_COLUMNS[:-4]
    assert (expected["gradient_steps"].iloc[1:] == 150).all() and expected["lagrange_multiplier"].notna().all()


def test_resumed_run_continues_the_uninterrupted_curve_in_process(tmp_path):
    """Stop after 2 windows (the checkpoint holds the buffer), resume to 4: the same rows as 4 in one go."""
    from safebench.trainer import train

    args = ["+algo=sac_lagrangian", *TINY, "train.checkpoint_every=1", "eval.every=0", "hydra.job.chdir=false"]
    train(compose_config([*args, "train.total_steps=1200"]), tmp_path / "reference")
    train(compose_config([*args, "train.total_steps=600"]), tmp_path / "resumed")
    train(compose_config([*args, "train.total_steps=1200", "resume=true"]), tmp_path / "resumed")
    expected = curve(tmp_path / "reference")
    pd.testing.assert_frame_equal(curve(tmp_path / "resumed"), expected)
    assert len(expected) == 4 and expected["gradient_steps"].iloc[-1] == 150
    progress = pd.read_csv(tmp_path / "reference" / "progress.csv")  # the on-policy columns, then the update's
    assert set(ON_POLICY_COLUMNS) | set(OFF_POLICY_COLUMNS) <= set(progress.columns), sorted(progress.columns)


def test_checkpoint_without_the_environments_is_refused_with_a_message(tmp_path):
    """A checkpoint of the older format (no environments, so no exact continuation) is a CheckpointError naming
    the way out, not a crash."""
    from safebench.errors import CheckpointError
    from safebench.trainer import train

    args = ["+algo=sac_lagrangian", *TINY, "train.checkpoint_every=1", "eval.every=0", "hydra.job.chdir=false"]
    train(compose_config([*args, "train.total_steps=600"]), tmp_path / "run")
    path = checkpoint_path(tmp_path / "run")
    state = torch.load(path, weights_only=False)
    del state["environments"]
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="older safebench.*manifest.json.*overwrite=true"):
        train(compose_config([*args, "train.total_steps=1200", "resume=true"]), tmp_path / "run")


def test_nan_stops_an_off_policy_run_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    """The on-policy NaN guard, per log window: the parameter and the window are named."""
    from algorithms.core.off_policy import OffPolicyLagrangian
    from safebench.errors import NonFiniteError
    from safebench.trainer import train

    original, calls = OffPolicyLagrangian.update_multiplier, {"n": 0}

    def poisoned(self):
        original(self)
        calls["n"] += 1
        if calls["n"] == 200:  # in window 3: 150 updates a window after the random start (window 1)
            with torch.no_grad():
                next(self.policy.parameters()).fill_(float("nan"))

    monkeypatch.setattr(OffPolicyLagrangian, "update_multiplier", poisoned)
    args = ["+algo=sac_lagrangian", *TINY, "train.checkpoint_every=1", "eval.every=0", "hydra.job.chdir=false"]
    with pytest.raises(NonFiniteError, match=r"NaN or inf in .*the parameter 'net.0.weight'.* at window 3\."):
        train(compose_config(args), tmp_path)
    assert load_checkpoint(checkpoint_path(tmp_path), {"algo": "sac_lagrangian"})["epoch"] == 2


def test_episodes_run_on_across_windows():
    """No episode is cut where a progress.csv row ends: every env step belongs to an episode that either finished
    in one of the windows or is still running (windows of 150 steps per env; episodes of 51-65)."""
    from safebench.off_policy import run_window
    from safebench.seeding import episode_seeds
    from safebench.trainer import build_components

    parts = build_components(compose_config(["+algo=sac_lagrangian", *TINY]))
    try:
        lengths = []
        for window in range(2):
            result = run_window(parts.collector, parts.replay, parts.algo, parts.schedule, window * 300,
                                episode_seeds(4, window, 2), parts.parallelism)
            lengths += list(result.window.episode_lengths)
            running = parts.collector.ep_len.copy()
            assert running.any()  # an episode goes on into the next window
        assert sum(lengths) + running.sum() == 2 * parts.schedule.window_steps
        # the first window's last vector step (transitions 298, 299) is not stored as truncated: no cut there
        assert not parts.replay.arrays["truncated"][298:300].any()
    finally:
        parts.collector.close()


def test_a_buffer_too_large_for_the_free_disk_is_refused_before_training(tmp_path, monkeypatch):
    from safebench import off_policy
    from safebench.trainer import train

    monkeypatch.setattr(off_policy, "free_disk_bytes", lambda directory: 50 * 2**20)  # 50 MiB free
    cfg = compose_config(["+algo=ddpg_lagrangian", *TINY, "train.total_steps=1000000", "train.buffer_size=1000000"])
    with pytest.raises(ResourceError, match=r"train\.buffer_size=1,000,000 .* only 0\.05 GiB are free") as error:
        train(cfg, tmp_path / "run")
    assert "Lower train.buffer_size" in str(error.value)
    assert not (tmp_path / "run" / "progress.csv").exists()
    cfg = compose_config(["+algo=ddpg_lagrangian", *TINY, "train.total_steps=1000000", "train.buffer_size=10000"])
    off_policy.check_buffer_room(OffPolicySchedule.from_config(cfg), tmp_path, 9, 2, 1)  # 10,000 fit: no error


@pytest.mark.parametrize("override,message", [
    ("train.log_every=100", "shorter than one episode"),
    ("train.normalize_obs=true", "raw observations"),
    ("train.update_every=0", "train.update_every must be an integer >= 1"),
    ("train.workers=2", "steps its environments in the learner's process"),
])
def test_off_policy_settings_are_checked_before_the_run(tmp_path, override, message, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # refused before Hydra starts: main() in this process
    result = run_cli_in_process("+algo=sac_lagrangian", *TINY, override, f"hydra.run.dir={tmp_path / 'run'}",
                                capsys=capsys)
    assert result.returncode == 2 and message in " ".join(result.stderr.split()), result.stderr[-2000:]
    assert "Traceback" not in result.stderr


def test_report_and_status_read_an_off_policy_run_in_process(tmp_path, capsys):
    """The fast check: one tiny run written by train(), read by the report's and the status's main()."""
    from omegaconf import OmegaConf

    from safebench.report.__main__ import main as report_main
    from safebench.run_directory import resolved_config
    from safebench.status import main as status_main
    from safebench.trainer import train

    run_dir = tmp_path / "sweep" / "point_circle" / "td3_lagrangian" / "seed4"
    cfg = compose_config(["+algo=td3_lagrangian", *TINY, "train.total_steps=600", "hydra.job.chdir=false"])
    train(cfg, run_dir)
    (run_dir / ".hydra").mkdir()
    OmegaConf.save(OmegaConf.create(resolved_config(cfg)), run_dir / ".hydra" / "config.yaml")  # as Hydra does
    assert report_main([str(tmp_path / "sweep")]) == 0
    summary = (tmp_path / "sweep" / "report" / "summary.md").read_text()
    assert "td3_lagrangian" in summary
    assert "skipped" not in capsys.readouterr().err.lower()
    assert status_main([str(tmp_path / "sweep")]) == 0
    assert "1 / 1" in capsys.readouterr().out
    from safebench.render import build_policy  # the renderer rebuilds the actor on the task's action box

    actor, _ = build_policy(OmegaConf.load(run_dir / ".hydra" / "config.yaml"),
                            load_checkpoint(checkpoint_path(run_dir), {}), obs_dim=9, act_dim=2)
    obs = torch.randn(5, 9)
    assert actor.mean_action(obs).shape == (5, 2) and actor.mean_action(obs).abs().max() <= 1.0
    assert not torch.equal(actor.act(obs, torch.Generator())[0], actor.mean_action(obs))  # exploring


@pytest.mark.slow  # about 60 s on a busy 2-core machine: four runs, report and status as subprocesses
def test_report_and_status_read_an_off_policy_sweep_with_an_on_policy_one(tmp_path):
    sweep = tmp_path / "sweep"
    tiny = [a for a in TINY if not a.startswith("algo.")]  # (a multirun over algorithms takes no algo.* override)
    result = run_cli("-m", "+algo=sac_lagrangian,td3_lagrangian,ddpg_lagrangian", *tiny, "train.total_steps=600",
                     "train.update_every=30", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    result = run_cli("+algo=ppo_lagrangian", "+task=point_circle", "train.num_envs=2", "train.total_steps=600",
                     "train.batch_size=300", "seed=4", f"hydra.run.dir={sweep}/point_circle/ppo_lagrangian/seed4",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = run_module("safebench.report", str(sweep), cwd=tmp_path)
    assert report.returncode == 0, report.stderr[-2000:]
    summary = (sweep / "report" / "summary.md").read_text()
    for algo in ("sac_lagrangian", "td3_lagrangian", "ddpg_lagrangian", "ppo_lagrangian"):
        assert algo in summary
    assert "skipped" not in (report.stdout + report.stderr).lower()
    status = subprocess.run([sys.executable, "-m", "safebench.status", str(sweep)], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert status.returncode == 0, status.stderr[-2000:]
    assert "4 of 4" in status.stdout or "4/4" in status.stdout, status.stdout


@pytest.mark.parametrize("task", ["point_circle", "point_gather"])
def test_off_policy_experiment_jobs_are_valid_with_their_budgets(task):
    from omegaconf import OmegaConf

    from safebench.config_validation import validate_config

    cfg = compose_config(["+experiment=off_policy"])
    assert OmegaConf.to_container(cfg.hydra.sweeper.params) == {
        "+task": "point_circle,point_gather", "seed": "0,1,2",
        "+algo": "cpo,ppo_lagrangian,sac_lagrangian,td3_lagrangian,ddpg_lagrangian"}
    for algo, steps in (("cpo", 5_000_000), ("ppo_lagrangian", 5_000_000), ("sac_lagrangian", 300_000),
                        ("td3_lagrangian", 300_000), ("ddpg_lagrangian", 300_000)):
        job = ["+experiment=off_policy", f"+task={task}", f"+algo={algo}", "seed=0"]
        cfg = compose_config(job)
        assert cfg.train.total_steps == steps and validate_config(cfg) == [], algo
        smoke = compose_config([*job, "+budget=smoke"])
        assert smoke.train.total_steps == 8000 and validate_config(smoke) == [], algo


@pytest.mark.parametrize("task", __import__("tasks").names())
def test_every_task_continues_bit_for_bit_from_the_checkpointed_environments(task):
    """What a checkpoint keeps of the environments (TransitionCollector.state) continues exactly on every task:
    the legged robots' fast path once read views that a pickle copied apart from the simulator."""
    from safebench.constraints import Constraints
    from safebench.off_policy import TransitionCollector
    from safebench.trainer import env_factory

    cfg = compose_config(["+algo=sac_lagrangian", f"+task={task}", "train.num_envs=2"])
    count = Constraints.from_task(cfg.task).count
    live = TransitionCollector(env_factory(cfg), 2, count, torch.Generator())
    restored = TransitionCollector(env_factory(cfg), 2, count, torch.Generator())
    try:
        live.reset([3, 4])
        rng = torch.Generator().manual_seed(0)
        for _ in range(20):
            live.step(torch.rand((2, len(live.low)), generator=rng).numpy() * 2 - 1)
        restored.load_state(live.state())
        for _ in range(60):
            actions = torch.rand((2, len(live.low)), generator=rng).numpy() * 2 - 1
            (a, done_a), (b, done_b) = live.step(actions), restored.step(actions)
            assert repr(done_a) == repr(done_b)  # the episodes that ended: return, costs, length
            for name in ("obs", "rewards", "costs", "next_obs", "terminated", "truncated"):
                assert np.array_equal(getattr(a, name), getattr(b, name)), name
    finally:
        live.close()
        restored.close()
