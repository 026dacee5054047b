"""Steps/s of each task against raw ``mujoco.mj_step(model, data, nstep=frame_skip)`` on the same
model, the same actions and the same episode starts, so the ratio is the task's Python overhead.

    .venv/bin/python scripts/task_step_rates.py                 # every MuJoCo task, 10000 steps, best of 5
    .venv/bin/python scripts/task_step_rates.py ant_circle --steps 50000

The point tasks move their body kinematically and never call mj_step: their "raw" column is only
a reference. One JSON line per task.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import mujoco
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tasks
from tasks.mujoco_task import MujocoTask


def episode_starts(env, actions: np.ndarray, seed: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Step index -> (qpos, qvel) of every episode start of one untimed pass."""
    data = env.unwrapped.data
    env.reset(seed=seed)
    starts = {0: (data.qpos.copy(), data.qvel.copy())}
    for k, action in enumerate(actions):
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
            starts[k + 1] = (data.qpos.copy(), data.qvel.copy())
    return starts


def task_rate(env, actions: np.ndarray, seed: int) -> float:
    """Env steps per second through the task (with its TimeLimit wrapper, as the harness builds it)."""
    env.reset(seed=seed)
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return len(actions) / (time.perf_counter() - start)


def raw_rate(model: mujoco.MjModel, frame_skip: int, actions: np.ndarray, starts: dict) -> float:
    """mj_step calls per second replaying the same actions from the same episode starts."""
    data = mujoco.MjData(model)
    actuated = model.nu > 0
    start = time.perf_counter()
    for k, action in enumerate(actions):
        if k in starts:  # as the task's reset: clear the data (solver warm start too), then the state
            mujoco.mj_resetData(model, data)
            data.qpos[:], data.qvel[:] = starts[k]
        if actuated:
            data.ctrl[:] = action
        mujoco.mj_step(model, data, nstep=frame_skip)
    return len(actions) / (time.perf_counter() - start)


def measure(name: str, steps: int, repeats: int, seed: int = 0) -> dict:
    """Best of ``repeats`` for the task and for raw physics, and their ratio."""
    env = tasks.make(name)
    space = env.action_space
    actions = np.random.default_rng(seed).uniform(space.low, space.high, (steps, *space.shape)).astype(np.float32)
    starts = episode_starts(env, actions, seed)
    unwrapped = env.unwrapped
    task = raw = 0.0
    for _ in range(repeats):  # interleaved, best of each: robust to other load on the machine
        task = max(task, task_rate(env, actions, seed))
        raw = max(raw, raw_rate(unwrapped.model, unwrapped.frame_skip, actions, starts))
    return {"task": name, "frame_skip": unwrapped.frame_skip, "task_steps_per_s": round(task),
            "raw_mj_step_per_s": round(raw), "ratio": round(task / raw, 3), "episodes": len(starts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="tasks to measure (default: all)")
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for name in args.names or [name for name in tasks.names() if is_mujoco_task(name)]:
        print(json.dumps(measure(name, args.steps, args.repeats)), flush=True)


def is_mujoco_task(name: str) -> bool:
    """Tasks built on MujocoTask (wrapped external gymnasium envs have no single model to compare with)."""
    return isinstance(tasks.make(name).unwrapped, MujocoTask)


if __name__ == "__main__":
    main()
