"""The training loop: sample a batch, update, log a row, checkpoint; repeat until the budget."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

import tasks
from algorithms.core.base import Algorithm
from algorithms.core.observation_normalizer import ObservationNormalizer
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
    WindowResult,
    check_buffer_room,
    learns_from_replay,
    run_window,
)
from safebench.parallelism import Parallelism
from safebench.run_directory import config_identity, prepare_run_dir, resolved_config
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
from safebench.run_end import TimeLeft, duration, job_prefix
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
             hyperparameters: dict[str, Any], cost_limit, **make_kwargs: Any):
    """One environment of the task, wrapped as the algorithm asks (``Algorithm.wrap_env``)."""
    env = tasks.make(task, horizon=horizon, **params, **make_kwargs)
    if algorithm is None:
        return env
    return get_class(algorithm).wrap_env(env, cost_limit, horizon, **hyperparameters)


def env_factory(cfg: DictConfig, **make_kwargs: Any):
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
    def acting_policy(self):
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
            run_loop = loop if parts.schedule is None else off_policy_loop
            run_loop(cfg, run_dir, parts, state, identity, progress, wandb, evaluator)
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
    """The epochs still to run, from ``state.epoch`` to the budget."""
    checkpoint_every, epochs = int(cfg.train.checkpoint_every), parts.budget.epochs
    eval_every = int(OmegaConf.select(cfg, "eval.every", default=0))
    time_left = TimeLeft()
    for epoch in range(state.epoch, epochs):
        seeds = episode_seeds(int(cfg.seed), epoch, parts.budget.num_envs)
        batch, stats, sample_s, update_s = parts.iteration(seeds)
        check_finite(epoch, batch, stats, parts.algo)
        state.epoch, state.env_steps = epoch + 1, state.env_steps + batch.num_steps
        evaluation, eval_s = evaluate(evaluator, parts, state.epoch, eval_every, epochs)
        state.elapsed_s += sample_s + update_s + eval_s
        row = progress_row(state, batch, stats, parts.constraints, sample_s, update_s, evaluation, eval_s)
        progress.append(row)
        wandb.log(row)
        costs = ", ".join(f"{row[c.column('cost_mean', k)]:.2f} (limit {c.limits[k]:g})"
                          for c in [parts.constraints] for k in range(c.count))
        left = time_left.update(sample_s + update_s, epochs - state.epoch)
        log.info("%supdate %d/%d | steps %s | %.0f steps/s | return %.2f | cost %s | elapsed %s, left ~%s",
                 job_prefix(), epoch + 1, epochs, f"{state.env_steps:,}", row["steps_per_s"], row["return_mean"],
                 costs, duration(state.elapsed_s), duration(left))
        if state.epoch % checkpoint_every == 0 or state.epoch == epochs:
            checkpoint(cfg, run_dir, parts, state, identity, progress)


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


def off_policy_loop(cfg: DictConfig, run_dir: Path, parts: Components, state: TrainingState,
                    identity: dict[str, Any], progress: ProgressLog, wandb: WandbLogger, evaluator: Evaluator) -> None:
    """The ``log_every`` windows still to run (safebench/off_policy.py): collect and update, log a row, checkpoint."""
    schedule, checkpoint_every = parts.schedule, int(cfg.train.checkpoint_every)
    eval_every, windows = int(OmegaConf.select(cfg, "eval.every", default=0)), parts.schedule.windows
    time_left = TimeLeft()
    for window in range(state.epoch, windows):
        seeds = episode_seeds(int(cfg.seed), window, parts.budget.num_envs)
        result = run_window(parts.collector, parts.replay, parts.algo, schedule, state.env_steps, seeds,
                            parts.parallelism)
        check_window_finite(window, result, parts.algo)
        state.epoch, state.env_steps = window + 1, state.env_steps + result.window.num_steps
        evaluation, eval_s = evaluate(evaluator, parts, state.epoch, eval_every, windows)
        state.elapsed_s += result.sample_s + result.update_s + eval_s
        row = progress_row(state, result.window, result.stats, parts.constraints, result.sample_s, result.update_s,
                           evaluation, eval_s)
        progress.append(row)
        wandb.log(row)
        left = time_left.update(result.sample_s + result.update_s, windows - state.epoch)
        log.info("%swindow %d/%d | steps %s | %.0f steps/s | %d gradient steps | return %.2f | cost %.2f (limit %g) "
                 "| elapsed %s, left ~%s", job_prefix(), state.epoch, windows, f"{state.env_steps:,}",
                 row["steps_per_s"], row.get("gradient_steps", 0), row["return_mean"],
                 row[parts.constraints.column("cost_mean", 0)], parts.constraints.limits[0],
                 duration(state.elapsed_s), duration(left))
        if state.epoch % checkpoint_every == 0 or state.epoch == windows:
            checkpoint(cfg, run_dir, parts, state, identity, progress)


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


def check_finite(epoch: int, batch: RolloutBatch, stats: dict[str, float], algo: Algorithm) -> None:
    """Stop on NaN/inf anywhere the run could silently go wrong; nothing is checkpointed."""
    problems = []
    if not np.isfinite(batch.obs).all():
        problems.append("an observation")
    if not (np.isfinite(batch.rewards).all() and np.isfinite(batch.costs).all()):
        problems.append("a reward or cost")
    problems += [f"the diagnostic '{k}'" for k, v in stats.items() if not math.isfinite(v)]
    problems += [f"the parameter '{name}'" for name, p in algo.policy.named_parameters()
                 if not torch.isfinite(p).all()]
    if problems:
        raise NonFiniteError(f"Training produced NaN or inf in {', '.join(problems)} at update {epoch + 1}. "
                             f"The run stopped; its last good checkpoint is left intact. Common causes: a too "
                             f"large step size (algo.max_kl), an unstable task parameter, or a bug in a new "
                             f"algorithm.")


def check_window_finite(window: int, result: WindowResult, algo: Algorithm) -> None:
    """check_finite for an off-policy window: costs, diagnostics and every network parameter."""
    problems = [] if np.isfinite(result.window.costs).all() else ["a cost"]
    problems += [f"the diagnostic '{k}'" for k, v in result.stats.items() if not math.isfinite(v)]
    problems += [f"the parameter '{name}'" for name, p in algo.policy.named_parameters() if not torch.isfinite(p).all()]
    if problems:
        raise NonFiniteError(f"Training produced NaN or inf in {', '.join(problems)} in window {window + 1}. The run "
                             f"stopped; its last good checkpoint is left intact. Common causes: too large learning "
                             f"rates (algo.actor_lr, algo.critic_lr) or a bug in a new algorithm.")


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
