"""Whether one batch fits in memory, estimated before the first step (numpy would fail mid-run otherwise)."""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
from omegaconf import DictConfig, OmegaConf

# bytes per env step: the sampled arrays (float32 observations and actions, float64 rewards and costs, flags)
# and the update's copies of them (flattened tensors, advantages, targets), observations and actions ~4 times
OBS_COPIES, ACT_COPIES, FIXED_BYTES, PER_COST_BYTES = 4, 4, 96, 48


@lru_cache(maxsize=64)
def task_dims(task: str, horizon: int, params_json: str) -> tuple[int, int]:
    """(obs_dim, act_dim) of a task with these parameters, from a throwaway environment."""
    import tasks

    env = tasks.make(task, horizon=horizon, **json.loads(params_json))
    try:
        return int(np.prod(env.observation_space.shape)), int(np.prod(env.action_space.shape))
    finally:
        env.close()


def batch_bytes(cfg: DictConfig, cost_count: int) -> int:
    """Estimated bytes that one batch of ``train.batch_size`` steps takes through sampling and the update."""
    params = OmegaConf.to_container(cfg.task.params, resolve=True) if "params" in cfg.task else {}
    obs_dim, act_dim = task_dims(str(cfg.task.name), int(cfg.task.horizon), json.dumps(params, sort_keys=True))
    per_step = 4 * (OBS_COPIES * obs_dim + ACT_COPIES * act_dim) + FIXED_BYTES + PER_COST_BYTES * cost_count
    return int(cfg.train.batch_size) * per_step


def available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (None where there is no such file)."""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def memory_problems(cfg: DictConfig, cost_count: int) -> list[str]:
    """A refusal when one batch cannot fit in the memory available now."""
    available = available_bytes()
    if available is None:
        return []
    needed = batch_bytes(cfg, cost_count)
    if needed <= available:
        return []
    return [f"train.batch_size={int(cfg.train.batch_size):,} needs about {needed / 2**30:.1f} GiB of memory for one "
            f"batch of {cfg.task.name}, but only {available / 2**30:.1f} GiB are available; lower train.batch_size"]
