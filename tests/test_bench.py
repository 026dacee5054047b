"""``python -m safebench.bench``: one JSON line per figure, consistent with each other; clear errors."""

import json
import re
import subprocess

import pytest
from helpers import run_module

FIGURES = {"raw_physics_steps_per_s", "sampling_steps_per_s", "sampling_over_raw_physics",
           "update_fraction_of_iteration", "end_to_end_steps_per_s", "end_to_end_over_raw_physics",
           "learner_peak_rss_mib", "evaluation_fraction_of_wall_time"}


def bench(*args: str) -> subprocess.CompletedProcess:
    return run_module("safebench.bench", *args)


def test_prints_every_figure_once_and_they_agree():
    result = bench("+task=point_circle", "bench.raw_seconds=0.3", "bench.updates=2", "bench.cores=1",
                   "train.batch_size=2000", "train.torch_threads=1")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    figures = {line["figure"]: line for line in lines}
    assert len(lines) == len(FIGURES) and set(figures) == FIGURES
    assert all(line["task"] == "point_circle" and line["algo"] == "cpo" for line in lines)
    assert all(line["value"] > 0 for line in lines)
    value = {name: line["value"] for name, line in figures.items()}
    assert value["sampling_over_raw_physics"] == pytest.approx(value["sampling_steps_per_s"]
                                                               / value["raw_physics_steps_per_s"])
    assert value["end_to_end_over_raw_physics"] == pytest.approx(value["end_to_end_steps_per_s"]
                                                                 / value["raw_physics_steps_per_s"])
    # end to end = sampling slowed down by the update's share of each iteration
    assert 0 < value["update_fraction_of_iteration"] < 1
    assert value["end_to_end_steps_per_s"] == pytest.approx(
        value["sampling_steps_per_s"] * (1 - value["update_fraction_of_iteration"]), rel=1e-6)
    assert figures["update_fraction_of_iteration"]["batch_size"] == 2000
    assert figures["raw_physics_steps_per_s"]["cores"] == 1
    assert 0 < value["evaluation_fraction_of_wall_time"] < 0.5  # one evaluation per eval.every iterations
    assert all(re.fullmatch(r"[0-9a-f]{40}(-dirty)?", line["commit"]) for line in lines)  # the code measured


def test_unknown_task_is_one_clear_message():
    result = bench("+task=no_such_task", "bench.raw_seconds=0.1")
    assert result.returncode == 2
    assert "no_such_task" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def _forbid_env_code(monkeypatch, env) -> None:
    """Make every per-step piece of Python env code raise: the raw reference must be the physics alone."""
    import gymnasium as gym

    def forbidden(*args, **kwargs):
        raise AssertionError("the raw reference ran Python env code")

    for owner in {type(env), type(env.unwrapped), gym.Wrapper}:
        monkeypatch.setattr(owner, "reset", forbidden)
        monkeypatch.setattr(owner, "step", forbidden)
    robot = getattr(env.unwrapped, "robot", None)
    if robot is not None:
        for method in ("reset", "advance", "fallen", "observation"):
            monkeypatch.setattr(type(robot), method, forbidden)


@pytest.mark.parametrize("name", ["ant_circle", "ant_velocity", "point_circle"])
def test_raw_reference_is_the_physics_alone(monkeypatch, name):
    import tasks
    from safebench.bench import raw_physics_worker

    env = tasks.make(name)
    _forbid_env_code(monkeypatch, env)
    steps = raw_physics_worker(lambda: env, 0.2, seed=0)
    assert steps > 0 and steps % 10 == 0


def test_raw_reference_resets_a_fallen_robot_to_the_task_pose(monkeypatch):
    import tasks
    from safebench.bench import RawPhysics

    # a healthy range no ant reaches: every check finds it fallen and resets it
    env = tasks.make("ant_circle", healthy_z_min=5.0, healthy_z_max=6.0)
    _forbid_env_code(monkeypatch, env)
    physics = RawPhysics(env)
    assert physics.healthy_height == (2, 5.0, 6.0)
    # the task's pose: ant.xml's init_qpos numeric (z = 0.55), not the model's qpos0
    assert physics.init_qpos[2] == pytest.approx(0.55) and env.unwrapped.model.qpos0[2] != physics.init_qpos[2]
    steps = physics.run(0.2, seed=0)
    assert steps > 0 and physics.falls == steps // RawPhysics.CHECK_EVERY  # every check found it fallen
    assert (env.unwrapped.data.qpos == physics.init_qpos).all() and not env.unwrapped.data.qvel.any()

    upright = RawPhysics(tasks.make("ant_circle"))
    upright.run(0.2, seed=0)
    assert upright.falls < 5  # random torques rarely topple it within 0.2 s


@pytest.mark.slow  # 6 s; off-policy runs are tested in tests/test_off_policy.py
def test_measures_an_off_policy_algorithm_with_its_update_share():
    result = bench("+task=point_circle", "+algo=sac_lagrangian", "bench.raw_seconds=0.3", "bench.updates=2",
                   "bench.cores=1", "train.num_envs=2", "train.log_every=300", "train.start_steps=300",
                   "train.update_every=4", "algo.hidden_sizes=[32]", "algo.critic_hidden_sizes=[32]")
    assert result.returncode == 0, result.stderr[-2000:]
    figures = {line["figure"]: line for line in map(json.loads, result.stdout.splitlines())}
    assert set(figures) == FIGURES | {"gradient_steps_per_s"} and figures["sampling_steps_per_s"]["algo"] == \
        "sac_lagrangian"
    value = {name: line["value"] for name, line in figures.items()}
    assert 0 < value["update_fraction_of_iteration"] < 1 and value["gradient_steps_per_s"] > 0
    assert value["end_to_end_steps_per_s"] == pytest.approx(
        value["sampling_steps_per_s"] * (1 - value["update_fraction_of_iteration"]), rel=1e-6)
    assert figures["update_fraction_of_iteration"]["batch_size"] == 300


@pytest.mark.parametrize("setting, message", [("bench.cores=abc", "bench.cores must be null"),
                                              ("bench.raw_seconds=0", "bench.raw_seconds must be a number"),
                                              ("bench.updates=0", "bench.updates must be an integer >= 1")])
def test_impossible_bench_settings_are_one_message(capsys, setting, message):
    from safebench.bench import main

    with pytest.raises(SystemExit) as exit_:
        main(["+task=point_circle", setting])
    err = " ".join(capsys.readouterr().err.split())
    assert exit_.value.code == 2 and message in err and "Traceback" not in err
