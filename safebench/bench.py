"""``python -m safebench.bench +task=NAME [+algo=cpo] [key=value ...]``: throughput as ratios.

Prints one JSON line per figure: the physics alone on all cores (the raw reference: the task's MuJoCo
model, random controls, ``mj_step`` with the task's frame skip, ``mj_resetData`` when the robot falls,
and no Python env code; see ``RawPhysics``), the harness's sampling rate and its ratio to that
reference, the update's share of an iteration at the configured batch size, and end-to-end training
env-steps/s. For an off-policy algorithm an iteration is one ``train.log_every`` window with its
gradient steps (after the random start, untimed), and it also prints gradient steps/s.
Compare ratios measured in one run, never absolute times.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import gymnasium as gym
import numpy as np
from omegaconf import DictConfig, OmegaConf

from safebench.command_line import add_group_plus, validate_command_line
from safebench.errors import ConfigError, SafebenchError, exit_with
from safebench.run_files import git_commit

if TYPE_CHECKING:
    from safebench.trainer import Components


class RawPhysics:
    """The task's MuJoCo model stepped alone: the true limit of any sampler of this task.

    Random controls, ``mj_step(model, data, nstep=frame_skip)`` per env step, and nothing else: no
    ``env.reset``, ``env.step`` or other Python env code per step. Every 10 steps the torso height is
    read (one number of ``data.qpos``) and a robot outside the task's healthy range is reset with
    ``mj_resetData`` plus the task's initial pose (the ant's ``init_qpos``), as training episodes end
    there: a fallen humanoid's ground contacts make each step twice as slow as an upright one's.
    Kinematic robots (the point, no actuators) are moved by setting qpos, so their physics is
    ``mj_forward``."""

    CHECK_EVERY = 10

    def __init__(self, env: gym.Env) -> None:
        env = env.unwrapped
        self.model, self.data, self.frame_skip = env.model, env.data, int(env.frame_skip)
        robot = getattr(env, "robot", env)  # circle and gather tasks hold a robot, velocity tasks are one
        self.healthy_height: tuple[int, float, float] | None = getattr(robot, "healthy_height", None)
        init_qpos = getattr(robot, "init_qpos", None)
        if init_qpos is None:
            init_qpos = getattr(env, "init_qpos", self.model.qpos0)
        self.init_qpos = np.array(init_qpos, dtype=np.float64)
        self.falls = 0

    def reset(self) -> None:
        import mujoco

        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[:] = self.init_qpos

    def fallen(self) -> bool:
        if self.healthy_height is None:
            return False
        index, low, high = self.healthy_height
        return not low <= self.data.qpos[index] <= high  # NaN fails too

    def run(self, seconds: float, seed: int) -> int:
        """Env steps taken in ``seconds`` of wall time, from the initial pose."""
        import mujoco

        model, data, frame_skip, block = self.model, self.data, self.frame_skip, self.CHECK_EVERY
        rng = np.random.default_rng(seed)
        low, high = model.actuator_ctrlrange.T if model.nu else (np.zeros(0), np.zeros(0))
        self.reset()
        steps, deadline = 0, time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            if model.nu:
                for ctrl in rng.uniform(low, high, size=(block, model.nu)):
                    data.ctrl[:] = ctrl
                    mujoco.mj_step(model, data, nstep=frame_skip)
            else:  # kinematic robots (the point): the physics is forward kinematics
                for _ in range(block):
                    mujoco.mj_forward(model, data)
            steps += block
            if self.fallen():
                self.falls += 1
                self.reset()
        return steps


def raw_physics_worker(env_fn: Callable[[], gym.Env], seconds: float, seed: int) -> int:
    """Env steps of the task's physics alone (``RawPhysics``) in ``seconds``; the env is only built."""
    env = env_fn()
    try:
        return RawPhysics(env).run(seconds, seed)
    finally:
        env.close()


def raw_physics_rate(env_fn: Callable[[], gym.Env], seconds: float, cores: int) -> float:
    """Env-steps/s of bare physics with one process per core."""
    with mp.get_context("spawn").Pool(cores) as pool:
        counts = pool.starmap(raw_physics_worker, [(env_fn, seconds, k) for k in range(cores)])
    return sum(counts) / seconds


def training_rates(cfg: DictConfig) -> dict[str, float]:
    """Time ``bench.updates`` training iterations (sample a batch, update), after one warm-up."""
    from safebench.seeding import episode_seeds
    from safebench.trainer import build_components

    parts = build_components(cfg)
    if parts.schedule is not None:
        return off_policy_rates(cfg, parts)
    try:
        warm_up = min(parts.budget.steps_per_env, 2 * int(cfg.task.horizon))
        parts.algo.update(parts.collector.collect(warm_up, episode_seeds(0, 0, parts.budget.num_envs)))
        sample_s = update_s = 0.0
        steps = 0
        for epoch in range(int(cfg.bench.updates)):
            batch, _, sampling, updating = parts.iteration(episode_seeds(int(cfg.seed), epoch + 1,
                                                                         parts.budget.num_envs))
            sample_s, update_s, steps = sample_s + sampling, update_s + updating, steps + batch.num_steps
        eval_s = evaluation_seconds(cfg, parts)
    finally:
        parts.collector.close()
    iteration_s = (sample_s + update_s) / int(cfg.bench.updates)
    every = int(OmegaConf.select(cfg, "eval.every", default=0))
    return {"workers": parts.collector.workers, "sampling": steps / sample_s,
            "update_fraction": update_s / (sample_s + update_s), "end_to_end": steps / (sample_s + update_s),
            "batch_size": steps / int(cfg.bench.updates),
            # the deterministic evaluation's share of a run's wall time: one evaluation per eval.every iterations
            "eval_fraction": eval_s / (eval_s + every * iteration_s) if every > 0 else 0.0}


def off_policy_rates(cfg: DictConfig, parts: Components) -> dict[str, float]:
    """training_rates for an off-policy algorithm: after the random start (not timed), ``bench.updates`` windows
    of ``train.log_every`` env steps, each with its gradient steps (the update share)."""
    from safebench.off_policy import run_window
    from safebench.seeding import episode_seeds

    schedule, env_steps, window = parts.schedule, 0, 0
    sample_s = update_s = 0.0
    gradient_steps = 0
    try:
        while env_steps < schedule.start_steps:  # fill the buffer with the random start, as a run does
            run_window(parts.collector, parts.replay, parts.algo, schedule, env_steps,
                       episode_seeds(int(cfg.seed), window, schedule.num_envs), parts.parallelism)
            env_steps, window = env_steps + schedule.window_steps, window + 1
        for _ in range(int(cfg.bench.updates)):
            result = run_window(parts.collector, parts.replay, parts.algo, schedule, env_steps,
                                episode_seeds(int(cfg.seed), window, schedule.num_envs), parts.parallelism)
            env_steps, window = env_steps + schedule.window_steps, window + 1
            sample_s, update_s = sample_s + result.sample_s, update_s + result.update_s
            gradient_steps += int(result.stats["gradient_steps"])
        eval_s = evaluation_seconds(cfg, parts)
    finally:
        parts.collector.close()
    steps = schedule.window_steps * int(cfg.bench.updates)
    every = int(OmegaConf.select(cfg, "eval.every", default=0))
    return {"workers": 0, "sampling": steps / sample_s, "update_fraction": update_s / (sample_s + update_s),
            "end_to_end": steps / (sample_s + update_s), "batch_size": schedule.window_steps,
            "gradient_steps_per_s": gradient_steps / max(update_s, 1e-9),
            "eval_fraction": eval_s / (eval_s + every * (sample_s + update_s) / int(cfg.bench.updates))
            if every > 0 else 0.0}


def evaluation_seconds(cfg: DictConfig, parts: Components) -> float:
    """Wall time of one deterministic evaluation at the run's settings (eval.episodes), as the trainer runs it."""
    from safebench.evaluation import Evaluator
    from safebench.trainer import env_factory

    episodes = int(OmegaConf.select(cfg, "eval.episodes", default=0))
    if episodes <= 0 or int(OmegaConf.select(cfg, "eval.every", default=0)) <= 0:
        return 0.0
    evaluator = Evaluator(env_factory(cfg), episodes, parts.constraints, int(cfg.seed))
    try:
        start = time.perf_counter()
        parts.parallelism.for_sampling()
        evaluator.run(parts.acting_policy, parts.normalizer, epoch=1)
        return time.perf_counter() - start
    finally:
        evaluator.close()


def benchmark(cfg: DictConfig) -> list[dict]:
    """All figures for one task, as dicts ready to print as JSON lines."""
    from safebench.parallelism import Parallelism, usable_cores
    from safebench.trainer import env_factory

    cores = int(cfg.bench.cores or usable_cores())
    raw = raw_physics_rate(env_factory(cfg), float(cfg.bench.raw_seconds), cores)
    rates = training_rates(cfg)

    parallelism = Parallelism.from_config(cfg)
    common = {"task": cfg.task.name, "algo": cfg.algo.name, "num_envs": int(cfg.train.num_envs),
              "workers": rates["workers"], "update_threads": parallelism.update_threads,
              "commit": git_commit(Path(__file__).resolve().parent.parent)}
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [
        common | {"figure": "raw_physics_steps_per_s", "value": raw, "cores": cores},
        common | {"figure": "sampling_steps_per_s", "value": rates["sampling"]},
        common | {"figure": "sampling_over_raw_physics", "value": rates["sampling"] / raw},
        common | {"figure": "update_fraction_of_iteration", "value": rates["update_fraction"],
                  "batch_size": rates["batch_size"]},
        common | {"figure": "end_to_end_steps_per_s", "value": rates["end_to_end"]},
        common | {"figure": "end_to_end_over_raw_physics", "value": rates["end_to_end"] / raw},
        common | {"figure": "evaluation_fraction_of_wall_time", "value": rates["eval_fraction"],
                  "eval_every": int(OmegaConf.select(cfg, "eval.every", default=0)),
                  "eval_episodes": int(OmegaConf.select(cfg, "eval.episodes", default=0))},
        common | {"figure": "learner_peak_rss_mib", "value": peak_rss_mib},
    ] + ([common | {"figure": "gradient_steps_per_s", "value": rates["gradient_steps_per_s"],
                    "batch_size": rates["batch_size"]}] if "gradient_steps_per_s" in rates else [])


def bench_problems(cfg: DictConfig) -> list[str]:
    """What is wrong with the bench's own keys (the run's are checked as for training)."""
    def whole(value: object, low: int) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= low

    seconds, cores, updates = cfg.bench.raw_seconds, cfg.bench.cores, cfg.bench.updates
    problems = []
    if not (isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and 0 < seconds < float("inf")):
        problems.append(f"bench.raw_seconds must be a number of seconds > 0, got {seconds!r}")
    if not (cores is None or whole(cores, 1)):
        problems.append(f"bench.cores must be null (every core) or an integer >= 1, got {cores!r}")
    if not whole(updates, 1):
        problems.append(f"bench.updates must be an integer >= 1, got {updates!r}")
    return problems


def main(argv: list[str] | None = None) -> None:
    """Compose conf/bench.yaml with the overrides (algorithm cpo unless given) and print the figures."""
    from safebench.command_line import compose_config

    argv = add_group_plus(list(sys.argv[1:] if argv is None else argv))
    if not any(a.lstrip("+").startswith("algo=") for a in argv):
        argv.append("+algo=cpo")
    try:
        validate_command_line(argv, config_name="bench")
        cfg = compose_config(argv, config_name="bench")
        problems = bench_problems(cfg)
        if problems:
            raise ConfigError(f"Invalid bench settings: {'; '.join(problems)} (defaults in conf/bench.yaml).")
    except SafebenchError as error:
        exit_with(error)
    for figure in benchmark(cfg):
        print(json.dumps(figure), flush=True)


if __name__ == "__main__":
    main()
