"""The off-policy path of the harness: step the environments continuously, store every transition in a
replay buffer, and call the algorithm's gradient steps on a fixed schedule.

An algorithm takes this path by declaring ``learns_from_replay = True`` (algorithms/core/off_policy.py).
The schedule (``train.*``): the first ``start_steps`` env steps act uniformly at random; from then on,
every ``update_every`` env steps, the algorithm takes ``updates_per_step`` gradient steps on minibatches
drawn from the buffer, then one step of its multiplier; a progress.csv row is written every ``log_every``
env steps from the episodes completed in that window, with the on-policy runs' columns.

The environments step on across windows: the first window starts from seeded resets (``episode_seeds(seed,
0)``, the on-policy batches' scheme), later episodes from each environment's own generator, and an episode
that spans two windows counts in the row of the window where it ends. Exact resume: checkpoints, written at
window ends, hold everything the next window depends on: the buffer (compressed), the networks, optimizers
and multipliers, every generator, and the environments themselves mid-episode (pickled: the MuJoCo state,
the time limit's count, each environment's generator and task state, tested to continue bit for bit).
"""

from __future__ import annotations

import math
import pickle
import shutil
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from omegaconf import DictConfig

from algorithms.core.off_policy import OffPolicyLagrangian
from algorithms.core.replay_buffer import ReplayBuffer, Transitions, transition_bytes
from safebench.errors import CheckpointError, ResourceError
from safebench.parallelism import Parallelism
from safebench.run_files import nearest_existing
from safebench.vector_env import SyncVectorEnv, probe_spaces


def learns_from_replay(algo: Any) -> bool:
    """Whether an algorithm (instance or class) takes the off-policy path."""
    return bool(getattr(algo, "learns_from_replay", False))


DEFAULT_LOG_EVERY = 2000  # OmniSafe's off-policy epoch (update_cycle)


def log_every(cfg: DictConfig) -> int:
    """train.log_every, where ``auto`` is 2000 or one episode in each environment, whichever is more."""
    if cfg.train.log_every == "auto":
        return max(DEFAULT_LOG_EVERY, int(cfg.train.num_envs) * int(cfg.task.horizon))
    return int(cfg.train.log_every)


@dataclass
class OffPolicySchedule:
    """When to act randomly, when to update and when to log, in env steps (summed over environments)."""

    total_steps: int
    log_every: int
    start_steps: int
    update_every: int
    updates_per_step: int
    buffer_size: int
    num_envs: int

    @classmethod
    def from_config(cls, cfg: DictConfig) -> "OffPolicySchedule":
        t = cfg.train
        return cls(int(t.total_steps), log_every(cfg), int(t.start_steps), int(t.update_every),
                   int(t.updates_per_step), int(t.buffer_size), int(t.num_envs))

    @property
    def windows(self) -> int:
        """progress.csv rows of the whole run (the 'epochs' of summary.json)."""
        return math.ceil(self.total_steps / self.window_steps)

    @property
    def steps_per_env(self) -> int:
        """Vector steps of one window."""
        return math.ceil(self.log_every / self.num_envs)

    @property
    def window_steps(self) -> int:
        return self.steps_per_env * self.num_envs

    def gradient_steps(self, before: int, after: int) -> int:
        """Gradient steps due when the env-step count goes from ``before`` to ``after``."""
        if after < self.start_steps:
            return 0
        return (after // self.update_every - before // self.update_every) * self.updates_per_step


@dataclass
class Window:
    """What one ``log_every`` window collected, shaped as ``trainer.progress_row`` reads a batch."""

    episode_returns: np.ndarray  # (E,) completed episodes, in the order they ended
    episode_costs: np.ndarray  # (E, m)
    episode_lengths: np.ndarray  # (E,)
    costs: np.ndarray  # (steps, m) every step's cost
    num_steps: int

    def episode_cost_column(self, k: int) -> np.ndarray:
        return np.ascontiguousarray(self.episode_costs[:, k])

    def cost_column(self, k: int) -> np.ndarray:
        return np.ascontiguousarray(self.costs[:, k])


class TransitionCollector:
    """Steps ``num_envs`` environments of this process one vector step at a time, in [-1, 1] action units."""

    workers = 0  # in-process only: the policy changes after every gradient step

    def __init__(self, env_fn: Callable[[], gym.Env], num_envs: int, num_costs: int,
                 generator: torch.Generator) -> None:
        _, action_space = probe_spaces(env_fn)
        self.low, self.high = action_space.low.astype(np.float32), action_space.high.astype(np.float32)
        self.inference_batch, self.num_costs, self.generator = num_envs, num_costs, generator
        self.envs = SyncVectorEnv([env_fn] * num_envs, num_costs)
        self.num_envs = num_envs

        self.started = False  # the first window resets the environments; later ones step on

    def reset(self, seeds: list[int]) -> None:
        """Start the run: seeded resets, no episode running."""
        self.obs = self.envs.reset(seeds).astype(np.float32)
        self.ep_return, self.ep_len = np.zeros(self.num_envs), np.zeros(self.num_envs, np.int64)
        self.ep_cost = np.zeros((self.num_envs, self.num_costs))
        self.started = True

    def state(self) -> dict:
        """The environments mid-episode (pickled and compressed: each holds its MuJoCo model, mostly zeros) and the
        running episodes' sums, for the checkpoint."""
        envs = zlib.compress(pickle.dumps(self.envs, protocol=pickle.HIGHEST_PROTOCOL), level=1)
        return {"envs": envs, "obs": self.obs.copy(), "ep_return": self.ep_return.copy(), "ep_len": self.ep_len.copy(),
                "ep_cost": self.ep_cost.copy()}

    def load_state(self, state: dict) -> None:
        """Continue from ``state``: the checkpoint's environments replace the freshly built ones (CheckpointError
        when this code cannot rebuild them, e.g. a checkpoint of a commit whose tasks differ)."""
        try:
            blob = state["envs"]
            envs = pickle.loads(blob if blob[:1] == b"\x80" else zlib.decompress(blob))  # uncompressed before 07e9f4f
        except Exception as exc:  # noqa: BLE001 - whatever unpickling raises, the checkpoint cannot be continued
            raise CheckpointError(f"the checkpoint's environments cannot be rebuilt by this code ({type(exc).__name__}: "
                                  f"{exc}); resume at the commit in the run's manifest.json") from None
        self.envs.close()
        self.envs = envs
        self.obs, self.ep_return = state["obs"], state["ep_return"]
        self.ep_len, self.ep_cost = state["ep_len"], state["ep_cost"]
        self.started = True

    def actions(self, algo: OffPolicyLagrangian, random: bool) -> np.ndarray:
        """Uniform in [-1, 1] during the random start, else the algorithm's exploration."""
        if random:
            return (torch.rand((self.num_envs, len(self.low)), generator=self.generator) * 2 - 1).numpy()
        return algo.explore(torch.from_numpy(self.obs), self.generator).numpy().astype(np.float32)

    def step(self, actions: np.ndarray) -> tuple[Transitions, list[tuple[float, np.ndarray, int]]]:
        """One vector step: its transitions and the episodes that finished in it."""
        env_actions = self.low + (actions + 1) * 0.5 * (self.high - self.low)
        step = self.envs.step(np.clip(env_actions, self.low, self.high))
        done = step.terminated | step.truncated
        next_obs = np.where(done[:, None], step.final_obs, step.obs).astype(np.float32)
        batch = Transitions(self.obs, actions.astype(np.float32), step.rewards.astype(np.float32),
                            step.costs.astype(np.float32), next_obs, step.terminated.copy(), step.truncated.copy())
        self.ep_return += step.rewards
        self.ep_cost += step.costs
        self.ep_len += 1
        finished = []
        for i in np.flatnonzero(done):
            finished.append((float(self.ep_return[i]), self.ep_cost[i].copy(), int(self.ep_len[i])))
            self.ep_return[i] = self.ep_cost[i] = self.ep_len[i] = 0
        self.obs = step.obs.astype(np.float32)
        return batch, finished

    def close(self) -> None:
        self.envs.close()


@dataclass
class WindowResult:
    window: Window
    stats: dict[str, float]
    sample_s: float
    update_s: float


def run_window(collector: TransitionCollector, buffer: ReplayBuffer, algo: OffPolicyLagrangian,
               schedule: OffPolicySchedule, env_steps: int, seeds: list[int], parallelism: Parallelism) -> WindowResult:
    """Collect one window, updating on schedule; ``env_steps`` is the count before it, ``seeds`` reset the
    environments of the run's first window.

    Acting and learning both run on one torch thread: a gradient step on a minibatch of 256 is too small
    to gain from more, and on a busy machine more threads made it 20 times slower (measured)."""
    sample_s = update_s = 0.0
    parallelism.for_sampling()
    if not collector.started:
        collector.reset(seeds)
    episodes: list[tuple[float, np.ndarray, int]] = []
    costs, stats = [], StatsMean()
    for t in range(schedule.steps_per_env):
        start = time.perf_counter()
        actions = collector.actions(algo, random=env_steps < schedule.start_steps)
        batch, finished = collector.step(actions)
        buffer.add(batch)
        costs.append(batch.costs)
        episodes += finished
        if finished:
            algo.record_episodes(np.array([c for _, c, _ in finished]))
        before, env_steps = env_steps, env_steps + collector.num_envs
        sampled = time.perf_counter()
        due = schedule.gradient_steps(before, env_steps) if len(buffer) >= algo.batch_size else 0
        run_update(algo, buffer, due, collector.generator, stats)
        sample_s, update_s = sample_s + sampled - start, update_s + time.perf_counter() - sampled
    m = collector.num_costs
    window = Window(np.array([r for r, _, _ in episodes]), np.array([c for _, c, _ in episodes]).reshape(-1, m),
                    np.array([n for _, _, n in episodes]), np.concatenate(costs).astype(np.float64),
                    schedule.window_steps)
    return WindowResult(window, stats.means(), sample_s, update_s)


def run_update(algo: OffPolicyLagrangian, buffer: ReplayBuffer, gradient_steps: int, generator: torch.Generator,
               stats: "StatsMean") -> None:
    """One update: its gradient steps on fresh minibatches, then one multiplier step (OmniSafe's ``_update``:
    ``update_iters`` steps, then the Lagrange step); nothing when no gradient step is due."""
    if gradient_steps == 0:
        return
    for _ in range(gradient_steps):
        stats.add(algo.update(buffer.sample(algo.batch_size, generator)))
    algo.update_multiplier()


class StatsMean:
    """The mean of each diagnostic over the gradient steps that reported it, plus their count."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.steps = 0

    def add(self, stats: dict[str, float]) -> None:
        self.steps += 1
        for key, value in stats.items():
            self.sums[key] = self.sums.get(key, 0.0) + float(value)
            self.counts[key] = self.counts.get(key, 0) + 1

    def means(self) -> dict[str, float]:
        return {key: total / self.counts[key] for key, total in self.sums.items()} | {"gradient_steps": self.steps}


class EnvUnits:
    """An off-policy algorithm's actor seen from the evaluator and the renderer: actions mapped from [-1, 1]
    onto the action box."""

    def __init__(self, algo: OffPolicyLagrangian, low: np.ndarray, high: np.ndarray) -> None:
        self.algo = algo
        self.low, self.high = torch.as_tensor(low, dtype=torch.float32), torch.as_tensor(high, dtype=torch.float32)

    def _to_box(self, actions: torch.Tensor) -> torch.Tensor:
        return self.low + (actions + 1) * 0.5 * (self.high - self.low)

    def mean_action(self, obs: torch.Tensor) -> torch.Tensor:
        """The deterministic action (evaluation, ``render --deterministic``)."""
        return self._to_box(self.algo.policy.mean_action(obs.float()))

    def act(self, obs: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, None]:
        """The exploring action (the renderer's default); no log-probability."""
        return self._to_box(self.algo.explore(obs.float(), generator)), None


def free_disk_bytes(directory: Path) -> int:
    """Free bytes on the disk that holds ``directory`` (or its nearest existing parent)."""
    return shutil.disk_usage(nearest_existing(Path(directory).absolute())).free


def buffer_checkpoint_bytes(schedule: OffPolicySchedule, obs_dim: int, act_dim: int, num_costs: int) -> int:
    """Bytes the largest checkpoint's buffer can take, uncompressed (random observations barely compress)."""
    return min(schedule.buffer_size, schedule.total_steps) * transition_bytes(obs_dim, act_dim, num_costs)


def check_buffer_room(schedule: OffPolicySchedule, run_dir: Path, obs_dim: int, act_dim: int, num_costs: int) -> None:
    """Refuse, before training starts, a buffer whose checkpoint the disk cannot hold twice (the atomic write
    keeps the previous checkpoint until the new one is complete)."""
    needed = 2 * buffer_checkpoint_bytes(schedule, obs_dim, act_dim, num_costs)
    free = free_disk_bytes(run_dir)
    if needed > free:
        raise ResourceError(
            f"The replay buffer of train.buffer_size={schedule.buffer_size:,} transitions "
            f"({transition_bytes(obs_dim, act_dim, num_costs)} bytes each) needs up to {needed / 2**30:.2f} GiB "
            f"on the disk of {run_dir} for its checkpoints (the previous checkpoint stays until the new one is "
            f"written), but only {free / 2**30:.2f} GiB are free. Lower train.buffer_size, free some space, "
            f"or choose another run directory with hydra.run.dir=...")
