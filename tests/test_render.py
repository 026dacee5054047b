"""``python -m safebench.render``: a tiny CPO run, replayed headless into an mp4 that decodes."""

import os
import subprocess
import sys

import imageio.v2 as imageio
import pytest
from helpers import run_cli

from tasks.gl_backend import choose_gl_backend


def render_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "safebench.render", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=dict(os.environ, PYTHONWARNINGS="ignore"))


def decoded_frames(path):
    with imageio.get_reader(path) as reader:
        return [frame.shape for frame in reader]


def tiny_trained_run(tmp_path, task: str):
    """Two CPO updates of 10-step episodes: a run directory with a checkpoint to render."""
    run = tmp_path / "run"
    trained = run_cli("+algo=cpo", f"+task={task}", "task.horizon=10", "train.total_steps=20",
                      "train.batch_size=20", "train.num_envs=2", f"hydra.run.dir={run}", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    return run


NEEDS_GL = pytest.mark.skipif(not (choose_gl_backend() or os.environ.get("DISPLAY")),
                              reason="no OpenGL backend for headless MuJoCo rendering: apt-get install -y libosmesa6")


@NEEDS_GL
def test_render_writes_a_playable_mp4_one_frame_per_step(tmp_path):
    run = tiny_trained_run(tmp_path, "point_circle")
    out = tmp_path / "clip.mp4"
    result = render_cli(run, "--out", out, "--episodes", "2", "--deterministic", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "episode 1: return" in result.stdout and str(out) in result.stdout
    frames = decoded_frames(out)
    assert len(frames) == 2 * 10  # two episodes of the overridden horizon
    assert set(frames) == {(480, 480, 3)}  # MujocoTask's default frame size


@pytest.mark.parametrize("case, message", [("no run dir", "not a directory"), ("no checkpoint", "No checkpoint"),
                                           ("damaged config", "cannot be read as the run's config"),
                                           ("not a run's config", "is not a safebench run's config")])
def test_missing_inputs_exit_2_with_one_paragraph(tmp_path, case, message):
    run = tmp_path / "run"
    if case != "no run dir":
        (run / ".hydra").mkdir(parents=True)
        (run / ".hydra" / "config.yaml").write_text({"damaged config": "seed: [0\n",
                                                     "not a run's config": "a: 1\n"}.get(case, "seed: 0\n"))
    if case in ("damaged config", "not a run's config"):
        (run / "checkpoints").mkdir()
        (run / "checkpoints" / "last.pt").write_bytes(b"")
    result = render_cli(run, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("safebench: error:") and "Traceback" not in result.stderr
    assert message in " ".join(result.stderr.split())


def test_a_negative_seed_is_one_message(tmp_path):
    result = render_cli(tmp_path, "--seed", "-1", cwd=tmp_path)
    assert result.returncode == 2 and "--seed must be >= 0" in result.stderr and "Traceback" not in result.stderr


def test_a_checkpoint_of_another_task_is_refused(tmp_path):
    """--checkpoint must come from a run of the same task and algorithm as the run directory's config."""
    (tmp_path / "circle").mkdir(), (tmp_path / "gather").mkdir()
    circle = tiny_trained_run(tmp_path / "circle", "point_circle")
    gather = tiny_trained_run(tmp_path / "gather", "point_gather")
    result = render_cli(circle, "--checkpoint", gather / "checkpoints" / "last.pt", "--out", tmp_path / "x.mp4",
                        cwd=tmp_path)
    message = " ".join(result.stderr.split())
    assert result.returncode == 2 and "belongs to a different run" in message and "point_gather" in message
    assert "Traceback" not in result.stderr and not (tmp_path / "x.mp4").exists()


@pytest.mark.slow  # 11 s; the mp4 test renders a run by default
@NEEDS_GL
def test_render_prints_each_constraints_cost(tmp_path):
    run = tiny_trained_run(tmp_path, "point_circle_speed")
    result = render_cli(run, "--out", tmp_path / "clip.mp4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("episode 0:"))
    assert ", cost position " in line and ", speed " in line


def test_episode_costs_are_named_per_constraint():
    from safebench.render import EpisodeStats

    assert EpisodeStats(1.0, {"cost": 3.0}, 5).describe_costs() == "cost 3.00"
    assert EpisodeStats(1.0, {"position": 3.0, "speed": 12.5}, 5).describe_costs() == "cost position 3.00, speed 12.50"


@pytest.mark.parametrize("case", ["not a video", "under a file", "a directory"])
def test_bad_out_path_is_one_paragraph(tmp_path, case):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me")
    out, expected = {"not a video": (tmp_path / "x.txt", "does not name a video"),
                     "under a file": (a_file / "clip.mp4", "is a file, not a directory"),
                     "a directory": (tmp_path, "is a directory")}[case]
    result = render_cli(tmp_path / "run", "--out", out, cwd=tmp_path)
    message = " ".join(result.stderr.split())
    assert result.returncode == 2 and message.startswith("safebench: error:") and "Traceback" not in message
    assert expected in message and "OpenGL" not in message, message
    assert a_file.read_text() == "keep me"


def test_render_with_an_unusable_mujoco_gl_names_the_variable(tmp_path):
    run = tiny_trained_run(tmp_path, "point_circle")
    env = dict(os.environ, MUJOCO_GL="bogus", PYTHONWARNINGS="ignore")
    result = subprocess.run([sys.executable, "-m", "safebench.render", str(run), "--out", str(tmp_path / "c.mp4")],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    message = " ".join(result.stderr.split())
    assert result.returncode == 2 and "Traceback" not in message, result.stderr[-3000:]
    assert "Cannot render" in message and "MUJOCO_GL='bogus'" in message and "osmesa" in message
    assert not (tmp_path / "c.mp4").exists()
