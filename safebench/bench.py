"""``python -m safebench.bench +task=NAME [+algo=cpo] [key=value ...]``: throughput as ratios.

Prints one JSON line per figure: raw MuJoCo physics on all cores, the harness's sampling rate and
its ratio to raw physics, the update's share of an iteration at the configured batch size, and
end-to-end training env-steps/s. For an off-policy algorithm an iteration is one ``train.log_every``
window with its gradient steps (after the random start, untimed), and it also prints gradient steps/s.
Compare ratios measured in one run, never absolute times.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from safebench.cli import add_group_plus, validate_command_line
from safebench.errors import SafebenchError, exit_with
from safebench.run_files import git_commit


def raw_physics_worker(env_fn, seconds: float, seed: int) -> int:
    """Step the task's bare MuJoCo model (random controls, no Python env logic) for ``seconds``.

    A robot that falls is reset (checked every 10 steps), as training episodes end there: a fallen
    humanoid's ground contacts make each step twice as slow as an upright one's."""
    import mujoco

    env = env_fn().unwrapped
    model, data, frame_skip = env.model, env.data, env.frame_skip
    fallen = fall_check(env)
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    low, high = model.actuator_ctrlrange.T if model.nu else (np.zeros(0), np.zeros(0))
    steps, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(10):
            if model.nu:
                data.ctrl[:] = rng.uniform(low, high)
                mujoco.mj_step(model, data, nstep=frame_skip)
            else:  # kinematic robots (the point): the physics is forward kinematics
                mujoco.mj_forward(model, data)
        steps += 10
        if fallen is not None and fallen():
            env.reset(seed=seed + steps)
    env.close()
    return steps


def fall_check(env) -> Callable[[], bool] | None:
    """The task's own test that its robot fell (circle and gather robots, velocity tasks), if it has one."""
    robot = getattr(env, "robot", None)
    if robot is not None:
        return robot.fallen
    if hasattr(env, "healthy"):
        return lambda: not env.healthy()
    return None


def raw_physics_rate(env_fn, seconds: float, cores: int) -> float:
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


def off_policy_rates(cfg: DictConfig, parts) -> dict[str, float]:
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


def evaluation_seconds(cfg: DictConfig, parts) -> float:
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
    from safebench.trainer import env_factory

    cores = int(cfg.bench.cores or os.cpu_count() or 1)
    raw = raw_physics_rate(env_factory(cfg), float(cfg.bench.raw_seconds), cores)
    rates = training_rates(cfg)
    from safebench.parallelism import Parallelism

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


def main(argv: list[str] | None = None) -> None:
    """Compose conf/bench.yaml with the overrides (algorithm cpo unless given) and print the figures."""
    from safebench.cli import _compose

    argv = add_group_plus(list(sys.argv[1:] if argv is None else argv))
    if not any(a.lstrip("+").startswith("algo=") for a in argv):
        argv.append("+algo=cpo")
    try:
        validate_command_line(argv, config_name="bench")
        cfg = _compose(argv, config_name="bench")
    except SafebenchError as error:
        exit_with(error)
    for figure in benchmark(cfg):
        print(json.dumps(figure), flush=True)


if __name__ == "__main__":
    main()
