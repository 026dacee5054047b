"""``python -m safebench.render RUN_DIR [--out FILE.mp4] [--episodes N] [--checkpoint PATH] [--deterministic]``.

Replays a trained policy in its task, headless, and writes an mp4: the run's resolved config says
which task (with its parameters and horizon) and which network; the checkpoint gives the weights
and the observation normalizer. Frames are streamed to the encoder, one per environment step.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from omegaconf import DictConfig, OmegaConf

from safebench.constraints import Constraints
from safebench.errors import ConfigError, SafebenchError, exit_with
from safebench.gl_setup import import_tasks_for_rendering
from safebench.run_files import CONFIG_FILE, LAST_CHECKPOINT, nearest_existing

if TYPE_CHECKING:  # imported where used: `--help` and bad input answer without loading torch
    import gymnasium as gym
    import torch

    from algorithms.core.observation_normalizer import ObservationNormalizer
    from algorithms.core.policy import GaussianPolicy

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi")  # containers imageio's ffmpeg writer makes with libx264


@dataclass
class EpisodeStats:
    """What one replayed episode scored."""

    episode_return: float
    costs: dict[str, float]  # undiscounted episode cost per constraint (one "cost" for a single one)
    length: int

    def describe_costs(self) -> str:
        """``cost 3.00`` for one constraint, ``cost position 3.00, speed 12.00`` for several."""
        if list(self.costs) == ["cost"]:
            return f"cost {self.costs['cost']:.2f}"
        return "cost " + ", ".join(f"{name} {value:.2f}" for name, value in self.costs.items())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m safebench.render",
                                     description="Write an mp4 of a trained policy acting in its task.")
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR",
                        help="a run directory (holds .hydra/ and checkpoints/)")
    parser.add_argument("--out", type=Path, default=None,
                        help="the mp4 to write (default RUN_DIR/videos/<checkpoint>.mp4)")
    parser.add_argument("--episodes", type=int, default=1, help="episodes to record, one after another (default 1)")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="checkpoint file (default RUN_DIR/checkpoints/last.pt)")
    parser.add_argument("--deterministic", action="store_true", help="act with the policy's mean instead of sampling")
    parser.add_argument("--seed", type=int, default=None, help="seed of the first episode (default: the run's seed)")
    args = parser.parse_args(argv)
    if args.seed is not None and args.seed < 0:
        parser.error(f"--seed must be >= 0, got {args.seed}")
    return args


def load_run(run_dir: Path, checkpoint: Path | None) -> tuple[DictConfig, dict]:
    """The run's resolved config and its checkpoint; a ConfigError says what is missing."""
    config = run_dir / CONFIG_FILE
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir} is not a directory. Pass the directory of a finished run, e.g. "
                          f"runs/point_circle/cpo/seed0/<timestamp>.")
    if not config.is_file():
        raise ConfigError(f"{run_dir} holds no .hydra/config.yaml, so it is not a safebench run directory (or its "
                          f"config was deleted). Pass the directory that `python -m safebench` wrote.")
    path = checkpoint if checkpoint is not None else run_dir / LAST_CHECKPOINT
    if not path.is_file():
        raise ConfigError(f"No checkpoint at {path}. A run writes checkpoints/last.pt at its end and every "
                          f"train.checkpoint_every updates; pass another one with --checkpoint PATH.")
    from safebench.checkpoint import load_checkpoint  # imports torch: only once the inputs exist

    try:
        cfg = OmegaConf.load(config)
    except Exception as exc:  # YAML syntax, bad encoding: the file is damaged
        raise ConfigError(f"{config} cannot be read as the run's config ({type(exc).__name__}: {exc}). Restore it "
                          f"(from git, or a copy of the run folder); the checkpoint alone does not say how to "
                          f"build the task and policy.") from None
    if not all(OmegaConf.select(cfg, key) is not None for key in ("task.name", "algo.name", "algo._target_")):
        raise ConfigError(f"{config} is not a safebench run's config (it has no task.name, algo.name or "
                          f"algo._target_). Pass the directory that `python -m safebench` wrote.")
    # the task and algorithm the config builds must be the checkpoint's (another seed's is fine)
    return cfg, load_checkpoint(path, identity={"task": cfg.task.name, "algo": cfg.algo.name})


def check_gl_backend(env: gym.Env) -> None:
    """MuJoCo tasks render through OpenGL: refuse clearly when no headless backend exists."""
    from tasks.gl_backend import INSTALL_HINT
    from tasks.mujoco_task import MujocoTask

    if isinstance(env.unwrapped, MujocoTask) and not (os.environ.get("MUJOCO_GL") or os.environ.get("DISPLAY")):
        raise ConfigError(f"Cannot render: {INSTALL_HINT}")


def make_env(cfg: DictConfig) -> gym.Env:
    """The run's task with its horizon and parameters, as its algorithm saw it, rendering rgb_array frames."""
    import tasks
    from safebench.trainer import env_factory

    if cfg.task.name not in tasks.names():
        raise ConfigError(f"The run's task {cfg.task.name!r} is not registered here (available: "
                          f"{', '.join(tasks.names())}).")
    return env_factory(cfg, render_mode="rgb_array")()


def build_policy(cfg: DictConfig, state: dict, obs_dim: int, act_dim: int
                 ) -> tuple[GaussianPolicy | Callable[[torch.Tensor], torch.Tensor], ObservationNormalizer]:
    """The Gaussian policy and observation normalizer the run trained, with their saved state."""
    from algorithms.core.observation_normalizer import ObservationNormalizer
    from algorithms.core.policy import GaussianPolicy

    algorithm = state.get("algorithm", {})
    if _learns_from_replay(cfg):
        return _off_policy_actor(cfg, algorithm, obs_dim, act_dim), ObservationNormalizer((obs_dim,), enabled=False)
    if "policy" not in algorithm:
        raise ConfigError(f"The checkpoint of algorithm {cfg.algo.name!r} holds no 'policy' state dict; only "
                          f"actor-critic algorithms (a GaussianPolicy in state['policy']) can be rendered.")
    policy = GaussianPolicy(obs_dim, act_dim, tuple(cfg.algo.hidden_sizes), str(cfg.algo.activation))
    try:
        policy.load_state_dict(algorithm["policy"])
    except RuntimeError as exc:
        raise ConfigError(f"The checkpoint's policy does not fit the task's spaces (obs {obs_dim}, act {act_dim}) "
                          f"and the config's network: {str(exc).splitlines()[0]}") from None
    saved = state["normalizer"]
    normalizer = ObservationNormalizer((obs_dim,), enabled=bool(saved["enabled"]))
    normalizer.load_state(saved)
    return policy, normalizer


def _learns_from_replay(cfg: DictConfig) -> bool:
    from hydra.utils import get_class

    from safebench.off_policy import learns_from_replay

    try:
        return learns_from_replay(get_class(str(cfg.algo._target_)))
    except Exception:  # an algorithm that no longer exists: the actor-critic path reports it
        return False


def _off_policy_actor(cfg: DictConfig, algorithm: dict, obs_dim: int, act_dim: int):
    """An off-policy algorithm rebuilt from the run's config and checkpoint, acting on the task's action box."""
    import tasks
    from safebench.off_policy import EnvUnits
    from safebench.trainer import build_algorithm

    algo = build_algorithm(cfg, obs_dim, act_dim)
    try:
        algo.load_state_dict(algorithm)
    except (RuntimeError, KeyError) as exc:
        raise ConfigError(f"The checkpoint of {cfg.algo.name!r} does not fit the task's spaces (obs {obs_dim}, act "
                          f"{act_dim}) and the config's networks: {str(exc).splitlines()[0]}") from None
    params = OmegaConf.to_container(cfg.task.params, resolve=True) if "params" in cfg.task else {}
    env = tasks.make(cfg.task.name, horizon=int(cfg.task.horizon), **params)
    try:
        return EnvUnits(algo, env.action_space.low, env.action_space.high)
    finally:
        env.close()


def record(env: gym.Env, policy: GaussianPolicy | Callable[[torch.Tensor], torch.Tensor],
           normalizer: ObservationNormalizer, episodes: int, seed: int, deterministic: bool,
           write_frame: Callable[[np.ndarray], None],
           cost_names: tuple[str, ...] = ("cost",)) -> list[EpisodeStats]:
    """Run ``episodes`` episodes, handing each step's frame to ``write_frame``."""
    import torch

    from safebench.vector_env import step_costs

    generator = torch.Generator().manual_seed(seed)
    low, high = env.action_space.low, env.action_space.high
    stats = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        total, costs, length, done = 0.0, np.zeros(len(cost_names)), 0, False
        while not done:
            x = torch.from_numpy(normalizer.normalize(np.asarray(obs)[None]))
            action = policy.mean_action(x) if deterministic else policy.act(x, generator)[0]
            obs, reward, terminated, truncated, info = env.step(np.clip(action[0].numpy(), low, high))
            write_frame(env.render())
            total, length = total + float(info.get("task_reward", reward)), length + 1
            costs += step_costs(info, len(cost_names))
            done = terminated or truncated
        stats.append(EpisodeStats(total, dict(zip(cost_names, map(float, costs), strict=True)), length))
    return stats


def default_video_path(run_dir: Path, checkpoint: Path | None, deterministic: bool) -> Path:
    """RUN_DIR/videos/<checkpoint name>[_deterministic].mp4, so videos of several checkpoints coexist."""
    name = (checkpoint.stem if checkpoint else LAST_CHECKPOINT.stem) + ("_deterministic" if deterministic else "")
    return run_dir / "videos" / f"{name}.mp4"


def check_video_path(out: Path) -> None:
    """--out must name a video file that can be made: a known suffix, under a directory, not a directory."""
    if out.is_dir():
        raise ConfigError(f"--out {out} is a directory; name the video file to write, e.g. --out {out / 'run.mp4'}.")
    if out.suffix.lower() not in VIDEO_SUFFIXES:
        raise ConfigError(f"--out {out} does not name a video: use one of {', '.join(VIDEO_SUFFIXES)} (e.g. "
                          f"--out {out.with_suffix('.mp4')}).")
    existing = nearest_existing(out.parent)
    if not existing.is_dir():
        raise ConfigError(f"Cannot write --out {out}: {existing} is a file, not a directory. Choose a path under "
                          f"a directory.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"Cannot write --out {out}: {existing} is not writable. Choose another path.")


def render_run(run_dir: Path, out: Path | None = None, episodes: int = 1, checkpoint: Path | None = None,
               deterministic: bool = False, seed: int | None = None) -> tuple[Path, list[EpisodeStats]]:
    """Write the video of a run; returns its path and the episodes' figures."""
    import imageio.v2 as imageio

    if episodes < 1:
        raise ConfigError(f"--episodes must be at least 1, got {episodes}.")
    out = out if out is not None else default_video_path(run_dir, checkpoint, deterministic)
    check_video_path(out)
    cfg, state = load_run(run_dir, checkpoint)
    cost_names = Constraints.from_task(cfg.task).names
    import_tasks_for_rendering()
    env = make_env(cfg)
    try:
        check_gl_backend(env)
        obs_dim = int(np.prod(env.observation_space.shape))
        act_dim = int(np.prod(env.action_space.shape))
        policy, normalizer = build_policy(cfg, state, obs_dim, act_dim)
        out.parent.mkdir(parents=True, exist_ok=True)
        fps = int(env.metadata.get("render_fps") or 30)
        with imageio.get_writer(out, fps=fps, codec="libx264", macro_block_size=2, quality=7) as writer:
            stats = record(env, policy, normalizer, episodes, int(cfg.seed if seed is None else seed), deterministic,
                           writer.append_data, cost_names)
    except SafebenchError:
        raise
    except Exception as exc:  # a GL or encoder failure: say what it was, without a traceback
        from tasks.gl_backend import INSTALL_HINT

        out.unlink(missing_ok=True)  # a half-written video would look like a result

        raise ConfigError(f"Rendering failed ({type(exc).__name__}: {str(exc).strip().splitlines()[0]}). If "
                          f"this is an OpenGL error: {INSTALL_HINT}") from None
    finally:
        env.close()
    return out, stats


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        out, stats = render_run(args.run_dir, args.out, args.episodes, args.checkpoint, args.deterministic, args.seed)
    except SafebenchError as error:
        exit_with(error)
    for i, s in enumerate(stats):
        print(f"episode {i}: return {s.episode_return:.2f}, {s.describe_costs()}, length {s.length}")
    print(f"video written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
