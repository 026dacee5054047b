"""The training loop: sample a batch, update, log a row, checkpoint; repeat until the budget."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

import tasks
from algorithms.core.base import Algorithm
from algorithms.core.observation_normalizer import ObservationNormalizer
from algorithms.core.policy import GaussianPolicy
from algorithms.core.replay_buffer import ReplayBuffer
from algorithms.core.rollout_batch import RolloutBatch
from safebench.checkpoint import checkpoint_path, load_checkpoint, save_checkpoint
from safebench.constraints import Constraints
from safebench.errors import CheckpointError, NonFiniteError
from safebench.evaluation import Evaluator
from safebench.off_policy import (
    EnvUnits,
    OffPolicySchedule,
    TransitionCollector,
    Window,
    check_buffer_room,
    learns_from_replay,
    run_window,
)
from safebench.parallelism import Parallelism
from safebench.run_directory import config_identity, prepare_run_dir, resolved_config
from safebench.run_end import TimeLeft, duration, job_prefix
from safebench.run_files import (
    MANIFEST_FILE,
    PROGRESS_FILE,
    SUMMARY_FILE,
    ProgressLog,
    atomic_write_json,
    git_commit,
    manifest,
    now_iso,
    read_manifest,
)
from safebench.sampler import RolloutCollector, make_collector
from safebench.seeding import episode_seeds, seed_everything
from safebench.vector_env import probe_spaces
from safebench.wandb_logger import WandbLogger

log = logging.getLogger("safebench")
CODE_DIR = Path(__file__).resolve().parent.parent


@dataclass
class Budget:
    """How the step budget splits into updates."""

    num_envs: int
    steps_per_env: int
    epochs: int

    @classmethod
    def from_config(cls, cfg: DictConfig) -> "Budget":
        num_envs = int(cfg.train.num_envs)
        steps_per_env = math.ceil(int(cfg.train.batch_size) / num_envs)
        epochs = math.ceil(int(cfg.train.total_steps) / (steps_per_env * num_envs))
        return cls(num_envs, steps_per_env, epochs)


@dataclass
class TrainingState:
    """Where the run is; restored from the checkpoint on resume."""

    epoch: int = 0
    env_steps: int = 0
    elapsed_s: float = 0.0
    rows: list[dict[str, Any]] = field(default_factory=list)


def algorithm_params(cfg: DictConfig) -> tuple[str, dict[str, Any]]:
    """``cfg.algo._target_`` and the YAML's hyperparameters (every key but name, _target_ and ranges)."""
    params = OmegaConf.to_container(cfg.algo, resolve=True)
    target = params.pop("_target_")
    params.pop("name")
    params.pop("ranges", None)  # declared value ranges, checked by config_validation: not a hyperparameter
    return target, params


def build_algorithm(cfg: DictConfig, obs_dim: int, act_dim: int) -> Algorithm:
    """Instantiate ``cfg.algo._target_`` with the harness's arguments plus the YAML's hyperparameters."""
    target, params = algorithm_params(cfg)
    cost_limit = Constraints.from_task(cfg.task).algorithm_limit
    return get_class(target)(obs_dim=obs_dim, act_dim=act_dim, cost_limit=cost_limit, seed=int(cfg.seed), **params)


def make_env(task: str, horizon: int, params: dict[str, Any], algorithm: str | None,
             hyperparameters: dict[str, Any], cost_limit: float | list[float], **make_kwargs: Any) -> gym.Env:
    """One environment of the task, wrapped as the algorithm asks (``Algorithm.wrap_env``)."""
    env = tasks.make(task, horizon=horizon, **params, **make_kwargs)
    if algorithm is None:
        return env
    return get_class(algorithm).wrap_env(env, cost_limit, horizon, **hyperparameters)


def env_factory(cfg: DictConfig, **make_kwargs: Any) -> Callable[[], gym.Env]:
    """A picklable zero-argument constructor of one environment of the configured task, as the algorithm sees it."""
    params = OmegaConf.to_container(cfg.task.params, resolve=True) if "params" in cfg.task else {}
    target, hyperparameters = algorithm_params(cfg) if "_target_" in cfg.get("algo", {}) else (None, {})
    return partial(make_env, str(cfg.task.name), int(cfg.task.horizon), params, target, hyperparameters,
                   Constraints.from_task(cfg.task).algorithm_limit, **make_kwargs)


@dataclass
class Components:
    """Everything a run trains with, built from its config (shared by the trainer and the benchmark)."""

    budget: Budget
    parallelism: Parallelism
    generator: torch.Generator
    algo: Algorithm
    normalizer: ObservationNormalizer
    collector: RolloutCollector | TransitionCollector
    constraints: Constraints
    replay: ReplayBuffer | None = None  # off-policy algorithms only (learns_from_replay)
    schedule: OffPolicySchedule | None = None

    @property
    def identity(self) -> dict[str, Any]:
        """What a checkpoint must match to be resumed by this run."""
        identity = {"obs_dim": self.normalizer.mean.shape[0], "act_dim": int(self.collector.low.shape[0]),
                    "num_envs": self.budget.num_envs}
        if self.schedule is None:
            return identity | {"steps_per_env": self.budget.steps_per_env}
        keys = ("log_every", "start_steps", "update_every", "updates_per_step", "buffer_size")
        return identity | {k: getattr(self.schedule, k) for k in keys}

    @property
    def acting_policy(self) -> GaussianPolicy | EnvUnits:
        """What the evaluator acts with: the policy, or an off-policy actor mapped onto the action box."""
        if self.schedule is None:
            return self.algo.policy
        return EnvUnits(self.algo, self.collector.low, self.collector.high)

    def iteration(self, seeds: list[int]) -> tuple[RolloutBatch, dict[str, float], float, float]:
        """Sample one batch and update on it: (batch, diagnostics, sampling seconds, update seconds)."""
        start = time.perf_counter()
        self.parallelism.for_sampling()
        batch = self.collector.collect(self.budget.steps_per_env, seeds)
        sampled = time.perf_counter()
        self.parallelism.for_update()
        stats = self.algo.update(batch)
        return batch, stats, sampled - start, time.perf_counter() - sampled


def build_components(cfg: DictConfig) -> Components:
    """Seed everything, build the algorithm, start the environments (and their workers)."""
    generator = seed_everything(int(cfg.seed))
    budget = Budget.from_config(cfg)
    parallelism = Parallelism.from_config(cfg)
    parallelism.configure_torch()
    constraints = Constraints.from_task(cfg.task)
    env_fn = env_factory(cfg)
    observation_space, action_space = probe_spaces(env_fn)
    obs_dim, act_dim = int(np.prod(observation_space.shape)), int(np.prod(action_space.shape))
    algo = build_algorithm(cfg, obs_dim, act_dim)
    normalizer = ObservationNormalizer((obs_dim,), enabled=bool(cfg.train.normalize_obs))
    if learns_from_replay(algo):
        schedule = OffPolicySchedule.from_config(cfg)
        collector = TransitionCollector(env_fn, budget.num_envs, constraints.count, generator)
        replay = ReplayBuffer(schedule.buffer_size, obs_dim, act_dim, constraints.count)
        log.info("off-policy: %d environments stepped in this process into a replay buffer of %s transitions",
                 budget.num_envs, f"{schedule.buffer_size:,}")
        return Components(budget, parallelism, generator, algo, normalizer, collector, constraints, replay, schedule)
    collector = make_collector(env_fn, budget.num_envs, algo.policy, normalizer, generator, constraints.count,
                               int(cfg.train.inference_batch), parallelism.workers)
    log.info("sampling %d environments in groups of %d by %s", budget.num_envs, collector.inference_batch,
             f"{collector.workers} worker processes" if collector.workers else "this process")
    return Components(budget, parallelism, generator, algo, normalizer, collector, constraints)


def train(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """Train one (task, algorithm, seed) run into ``run_dir``; returns the summary."""
    parts = build_components(cfg)
    try:
        identity = config_identity(cfg) | parts.identity
        state = TrainingState()
        if parts.schedule is not None:
            check_buffer_room(parts.schedule, run_dir, int(parts.normalizer.mean.shape[0]),
                              int(parts.collector.low.shape[0]), parts.constraints.count)
        if cfg.resume:
            state = restore(run_dir, identity, parts)
            log.info("resumed from update %d (%d env steps)", state.epoch, state.env_steps)
        trained_from = state.epoch
        prepare_run_dir(run_dir, overwrite=bool(cfg.get("overwrite", False)) and not cfg.resume)
        if not cfg.resume or not (run_dir / MANIFEST_FILE).exists():
            atomic_write_json(run_dir / MANIFEST_FILE, manifest(CODE_DIR) | {
                "env_workers": parts.collector.workers, "update_threads": parts.parallelism.update_threads})
        elif 0 < state.epoch < planned_epochs(parts):  # a complete run "resumed" (a sweep's --resume) trains nothing
            record_resume(run_dir, state.epoch)
        progress = ProgressLog(run_dir / PROGRESS_FILE, state.rows)
        progress.flush()
        wandb = WandbLogger(cfg, run_dir)
        evaluator = Evaluator(env_factory(cfg), int(OmegaConf.select(cfg, "eval.episodes", default=0)),
                              parts.constraints, int(cfg.seed))
        try:
            loop(cfg, run_dir, parts, state, identity, progress, wandb, evaluator)
        finally:
            evaluator.close()
            wandb.finish()
    finally:
        parts.collector.close()
    summary = summarize(progress.rows, parts.constraints, planned_epochs(parts))
    atomic_write_json(run_dir / SUMMARY_FILE, summary)
    if trained_from < planned_epochs(parts):
        finish_manifest(run_dir)
    return summary


def planned_epochs(parts: Components) -> int:
    """Updates (on-policy) or log windows (off-policy) the budget asks for."""
    return parts.budget.epochs if parts.schedule is None else parts.schedule.windows


def loop(cfg: DictConfig, run_dir: Path, parts: Components, state: TrainingState, identity: dict[str, Any],
         progress: ProgressLog, wandb: WandbLogger, evaluator: Evaluator) -> None:
    """The epochs still to run, from ``state.epoch`` to the budget: on-policy updates, or off-policy log windows
    (safebench/off_policy.py). Each is checked for NaN, logged as a progress row, and checkpointed on schedule."""
    checkpoint_every, epochs = int(cfg.train.checkpoint_every), planned_epochs(parts)
    eval_every = int(OmegaConf.select(cfg, "eval.every", default=0))
    unit = "update" if parts.schedule is None else "window"
    time_left = TimeLeft()
    for epoch in range(state.epoch, epochs):
        seeds = episode_seeds(int(cfg.seed), epoch, parts.budget.num_envs)
        batch, stats, sample_s, update_s = one_epoch(parts, state.env_steps, seeds)
        check_finite(f"{unit} {epoch + 1}", batch, stats, parts.algo)
        state.epoch, state.env_steps = epoch + 1, state.env_steps + batch.num_steps
        evaluation, eval_s = evaluate(evaluator, parts, state.epoch, eval_every, epochs)
        state.elapsed_s += sample_s + update_s + eval_s
        row = progress_row(state, batch, stats, parts.constraints, sample_s, update_s, evaluation, eval_s)
        progress.append(row)
        wandb.log(row)
        left = time_left.update(sample_s + update_s, epochs - state.epoch)
        log.info("%s", progress_line(f"{unit} {state.epoch}/{epochs}", row, parts.constraints, state, left))
        if state.epoch % checkpoint_every == 0 or state.epoch == epochs:
            checkpoint(cfg, run_dir, parts, state, identity, progress)


def one_epoch(parts: Components, env_steps: int,
              seeds: list[int]) -> tuple[RolloutBatch | Window, dict[str, float], float, float]:
    """Sample and learn for one epoch: (its data, diagnostics, sampling seconds, update seconds)."""
    if parts.schedule is None:
        return parts.iteration(seeds)
    result = run_window(parts.collector, parts.replay, parts.algo, parts.schedule, env_steps, seeds,
                        parts.parallelism)
    return result.window, result.stats, result.sample_s, result.update_s


def progress_line(where: str, row: dict[str, Any], constraints: Constraints, state: TrainingState,
                  left: float) -> str:
    """The console's line per epoch: progress, speed, return and each constraint's cost against its limit."""
    costs = ", ".join(f"{row[constraints.column('cost_mean', k)]:.2f} (limit {constraints.limits[k]:g})"
                      for k in range(constraints.count))
    gradient_steps = f" | {row['gradient_steps']:.0f} gradient steps" if "gradient_steps" in row else ""
    return (f"{job_prefix()}{where} | steps {state.env_steps:,} | {row['steps_per_s']:.0f} steps/s{gradient_steps} "
            f"| return {row['return_mean']:.2f} | cost {costs} | elapsed {duration(state.elapsed_s)}, "
            f"left ~{duration(left)}")


def checkpoint(cfg: DictConfig, run_dir: Path, parts: Components, state: TrainingState, identity: dict[str, Any],
               progress: ProgressLog) -> None:
    """Everything the next update depends on, written atomically (with the replay buffer, off-policy)."""
    contents = {
        "identity": identity, "epoch": state.epoch, "env_steps": state.env_steps,
        "elapsed_s": state.elapsed_s, "rows": progress.rows, "algorithm": parts.algo.state_dict(),
        "normalizer": parts.normalizer.state(), "generator": parts.generator.get_state(),
        "config": resolved_config(cfg),
    }
    if parts.replay is not None:
        contents["replay"] = parts.replay.state()
        contents["environments"] = parts.collector.state()  # off-policy: episodes run on across windows
    save_checkpoint(run_dir, contents)


def evaluate(evaluator: Evaluator, parts: Components, epoch: int, every: int,
             epochs: int) -> tuple[dict[str, float] | None, float]:
    """The evaluation columns after update ``epoch`` (NaN when it is not due; None when evaluation is off)."""
    if every <= 0 or evaluator.episodes <= 0:
        return None, 0.0
    if not evaluator.due(epoch, every, epochs):
        return evaluator.skipped(), 0.0
    start = time.perf_counter()
    parts.parallelism.for_sampling()
    figures = evaluator.run(parts.acting_policy, parts.normalizer, epoch)
    return figures, time.perf_counter() - start


def restore(run_dir: Path, identity: dict[str, Any], parts: Components) -> TrainingState:
    """Load the last checkpoint into the live objects; progress rows after it are dropped."""
    saved = load_checkpoint(checkpoint_path(run_dir), identity)
    parts.algo.load_state_dict(saved["algorithm"])
    parts.normalizer.load_state(saved["normalizer"])
    parts.generator.set_state(saved["generator"])
    if parts.replay is not None:
        parts.replay.load_state(saved["replay"])
        if "environments" not in saved:
            raise CheckpointError(f"{checkpoint_path(run_dir)} was written by an older safebench whose off-policy "
                                  f"windows restarted the environments, so this one cannot continue it exactly; "
                                  f"resume it at the commit in its manifest.json, or start over with overwrite=true")
        parts.collector.load_state(saved["environments"])
    return TrainingState(saved["epoch"], saved["env_steps"], saved["elapsed_s"], list(saved["rows"]))


def check_finite(where: str, batch: RolloutBatch | Window, stats: dict[str, float], algo: Algorithm) -> None:
    """Stop on NaN/inf anywhere the run could silently go wrong (observations and rewards where the epoch's data
    keeps them, costs, diagnostics, the policy); nothing is checkpointed."""
    problems = []
    if hasattr(batch, "obs") and not np.isfinite(batch.obs).all():
        problems.append("an observation")
    if hasattr(batch, "rewards") and not np.isfinite(batch.rewards).all():
        problems.append("a reward")
    if not np.isfinite(batch.costs).all():
        problems.append("a cost")
    problems += [f"the diagnostic '{k}'" for k, v in stats.items() if not math.isfinite(v)]
    problems += [f"the parameter '{name}'" for name, p in algo.policy.named_parameters()
                 if not torch.isfinite(p).all()]
    if problems:
        raise NonFiniteError(f"Training produced NaN or inf in {', '.join(problems)} at {where}. The run stopped; "
                             f"its last good checkpoint is left intact. Common causes: too large a step (algo.max_kl; "
                             f"off-policy, the learning rates algo.actor_lr and algo.critic_lr), an unstable task "
                             f"parameter, or a bug in a new algorithm.")


def progress_row(state: TrainingState, batch: RolloutBatch, stats: dict[str, float], constraints: Constraints,
                 sample_s: float, update_s: float, evaluation: dict[str, float] | None = None,
                 eval_s: float = 0.0) -> dict[str, Any]:
    """One progress.csv row: the columns of SPEC section 5 (per constraint when there are several), then the
    algorithm's diagnostics, then the deterministic evaluation's (when it is on)."""
    has_episodes = len(batch.episode_returns) > 0
    row: dict[str, Any] = {
        "epoch": state.epoch,
        "env_steps": state.env_steps,
        "return_mean": float(batch.episode_returns.mean()) if has_episodes else math.nan,
        "return_std": float(batch.episode_returns.std()) if has_episodes else math.nan,
    }
    for k, limit in enumerate(constraints.limits):
        row[constraints.column("cost_mean", k)] = float(batch.episode_cost_column(k).mean()) if has_episodes \
            else math.nan
    row |= {"ep_len_mean": float(batch.episode_lengths.mean()) if has_episodes else math.nan,
            "episodes": len(batch.episode_returns)}
    for k, limit in enumerate(constraints.limits):
        row[constraints.column("cost_limit", k)] = limit
        row[constraints.column("batch_cost", k)] = float(batch.cost_column(k).sum())
    row["batch_steps"] = batch.num_steps
    for k, limit in enumerate(constraints.limits):
        row[constraints.column("violation", k)] = float(np.maximum(batch.episode_cost_column(k) - limit, 0).sum())
    row |= {"kl": stats.pop("kl", math.nan), "entropy": stats.pop("entropy", math.nan)}
    row |= dict(sorted(stats.items()))
    row |= evaluation or {}
    row |= {"time_s": state.elapsed_s, "sample_time_s": sample_s, "update_time_s": update_s,
            "steps_per_s": batch.num_steps / max(sample_s + update_s, 1e-9)}
    if evaluation is not None:
        row["eval_time_s"] = eval_s
    return row


def summarize(rows: list[dict[str, Any]], constraints: Constraints, epochs: int) -> dict[str, Any]:
    """Final figures: 'final' averages the updates in the last 10% of env steps."""
    if not rows:
        return {"status": "empty"}
    total = rows[-1]["env_steps"]
    final = [r for r in rows if r["env_steps"] >= 0.9 * total] or rows[-1:]
    summary = {
        "status": "complete" if rows[-1]["epoch"] >= epochs else "incomplete",
        "epochs": rows[-1]["epoch"],
        "env_steps": total,
        "final_return": float(np.nanmean([r["return_mean"] for r in final])),
        "best_return": float(np.nanmax([r["return_mean"] for r in rows])),
    }
    for k, limit in enumerate(constraints.limits):
        column = partial(constraints.column, k=k)
        summary |= {
            column("final_cost"): float(np.nanmean([r[column("cost_mean")] for r in final])),
            column("cost_limit"): limit,
            column("cumulative_violation"): float(sum(r[column("violation")] for r in rows)),
            column("cost_rate"): float(sum(r[column("batch_cost")] for r in rows) / total),
        }
    return summary | {"wall_time_s": float(rows[-1]["time_s"])}


def record_resume(run_dir: Path, epoch: int) -> None:
    """Note in the manifest the update a run resumed from and the commit it continued at: one run may
    span several commits (which must compute the same numbers), and its provenance must say so."""
    path = run_dir / MANIFEST_FILE
    data = read_manifest(path)
    resume = {"from_update": epoch, "git_commit": git_commit(CODE_DIR), "time": now_iso()}
    atomic_write_json(path, data | {"resumes": [*data.get("resumes", []), resume]})


def finish_manifest(run_dir: Path) -> None:
    path = run_dir / MANIFEST_FILE
    data = read_manifest(path) if path.exists() else {}
    atomic_write_json(path, data | {"end_time": now_iso()})
