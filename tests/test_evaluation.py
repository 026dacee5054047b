"""Deterministic evaluation: its own columns on schedule, and training bit for bit the same with it off."""

import math

import subprocess

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import run_cli, run_module

import tasks
from algorithms.core.observation_normalizer import ObservationNormalizer
from algorithms.core.policy import GaussianPolicy
from safebench.constraints import Constraints
from safebench.evaluation import Evaluator, evaluation_seeds
from safebench.run_files import TIME_COLUMNS

TINY = ["+algo=cpo", "+task=point_gather", "train.total_steps=10000", "train.batch_size=2000", "train.num_envs=4"]
EVAL = ["eval_return_mean", "eval_cost_mean", "eval_ep_len_mean"]


def run_report(*args: str) -> subprocess.CompletedProcess:
    return run_module("safebench.report", *map(str, args))


def test_evaluation_leaves_training_untouched_and_fills_its_columns_on_schedule(tmp_path):
    on = run_cli(*TINY, "eval.every=2", "eval.episodes=3", f"hydra.run.dir={tmp_path / 'on'}", cwd=tmp_path)
    off = run_cli(*TINY, "eval.every=0", f"hydra.run.dir={tmp_path / 'off'}", cwd=tmp_path)
    assert on.returncode == 0 and off.returncode == 0, (on.stderr[-2000:], off.stderr[-2000:])
    with_eval, without = (pd.read_csv(tmp_path / d / "progress.csv") for d in ("on", "off"))
    assert not set(EVAL) & set(without.columns)
    training = [c for c in without.columns if c not in TIME_COLUMNS]
    pd.testing.assert_frame_equal(with_eval[training], without[training])  # bit for bit
    evaluated = with_eval.dropna(subset=["eval_return_mean"]).epoch.tolist()
    assert evaluated == [2, 4, 5]  # every 2 updates, and after the last
    assert (with_eval.loc[with_eval.epoch.isin(evaluated), "eval_ep_len_mean"] == 15).all()  # the gather horizon


def test_evaluation_is_the_mean_action_on_seeded_episodes():
    constraints = Constraints(("cost",), (0.1,))
    env_fn = lambda: tasks.make("point_circle")  # noqa: E731
    policy = GaussianPolicy(9, 2, (8,))
    evaluator = Evaluator(env_fn, 3, constraints, seed=7)
    first = evaluator.run(policy, ObservationNormalizer((9,), enabled=False), epoch=10)
    again = evaluator.run(policy, ObservationNormalizer((9,), enabled=False), epoch=10)
    assert first == again  # no noise, same seeds
    by_hand_returns = []
    for seed in evaluation_seeds(7, 10, 3):  # one episode per seed with the mean action, stepped by hand
        env, total = env_fn(), 0.0
        obs, _ = env.reset(seed=seed)
        done = False
        while not done:
            action = policy.mean_action(torch.from_numpy(np.asarray(obs, np.float32))[None])[0].numpy()
            obs, reward, terminated, truncated, _ = env.step(np.clip(action, -1, 1))
            total, done = total + reward, terminated or truncated
        by_hand_returns.append(total)
    # equal up to float32 rounding (a forward pass over 3 rows rounds unlike one over 1 row)
    assert math.isclose(first["eval_return_mean"], float(np.mean(by_hand_returns)),
                        abs_tol=1e-4 * max(abs(r) for r in by_hand_returns))
    assert evaluation_seeds(7, 10, 3) != evaluation_seeds(7, 20, 3)


@pytest.mark.slow  # 27 s; the report's evaluation columns are also checked on synthetic runs
def test_report_puts_evaluation_beside_training_and_draws_either_curve(tmp_path):
    sweep = run_cli("-m", *TINY, "seed=0,1", "eval.every=2", "eval.episodes=2", f"hydra.sweep.dir={tmp_path / 'on'}",
                    cwd=tmp_path)
    plain = run_cli(*TINY, "eval.every=0", f"hydra.run.dir={tmp_path / 'off'}", cwd=tmp_path)
    assert sweep.returncode == 0 and plain.returncode == 0, (sweep.stderr[-2000:], plain.stderr[-2000:])
    report = run_report(tmp_path / "on", "--out", str(tmp_path / "report"), "--curves", "eval")
    assert report.returncode == 0, report.stderr[-2000:]
    summary = pd.read_csv(tmp_path / "report" / "summary.csv")
    finals = pd.read_csv(tmp_path / "report" / "finals.csv")
    expected = [pd.read_csv(p).dropna(subset=["eval_return_mean"]) for p in sorted((tmp_path / "on").glob("**/progress.csv"))]
    last = [frame[frame.env_steps >= 0.9 * frame.env_steps.iloc[-1]].eval_return_mean.mean() for frame in expected]
    assert sorted(finals.eval_final_return.round(9)) == sorted(round(v, 9) for v in last)
    assert summary.eval_return_mean.iloc[0] == pytest.approx(sum(last) / 2)
    assert "Eval return" in (tmp_path / "report" / "summary.md").read_text()
    refused = run_report(tmp_path / "off", "--out", str(tmp_path / "report2"), "--curves", "eval")
    assert refused.returncode == 2 and "--curves train" in refused.stderr and "Traceback" not in refused.stderr
