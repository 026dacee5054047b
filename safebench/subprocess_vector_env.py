"""Vectorized environments stepped by worker processes, so that every core steps physics.

Each worker owns a contiguous slice of the environments (a ``SyncVectorEnv``) and exchanges
actions and results through shared memory; the learner process only runs batched policy
inference between steps. Results are identical to ``SyncVectorEnv`` for the same seeds.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import traceback
from collections.abc import Callable

import gymnasium as gym
import numpy as np

from safebench.vector_env import SyncVectorEnv, VectorStep

_FIELDS = ("obs", "rewards", "costs", "terminated", "truncated", "final_obs")


class EnvWorkerError(RuntimeError):
    """An environment failed inside a worker process; the message carries the worker's traceback."""


def _shared(ctx, shape: tuple[int, ...]) -> tuple[object, np.ndarray]:
    raw = ctx.RawArray("d", int(np.prod(shape)))
    return raw, np.frombuffer(raw, dtype=np.float64).reshape(shape)


def _worker(env_fn, lo: int, hi: int, num_costs: int, raws: dict, shapes: dict, conn) -> None:
    """Serve reset/step/close commands for environments [lo, hi) until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the learner handles Ctrl-C and closes us
    arrays = {k: np.frombuffer(raws[k], dtype=np.float64).reshape(shapes[k]) for k in raws}
    envs = None
    try:
        envs = SyncVectorEnv([env_fn] * (hi - lo), num_costs)
        conn.send(("ready", None))
        while True:
            command, payload = conn.recv()
            if command == "reset":
                arrays["obs"][lo:hi] = envs.reset(payload)
            elif command == "step":
                step = envs.step(arrays["actions"][lo:hi])
                for name in _FIELDS:
                    arrays[name][lo:hi] = getattr(step, name)
            elif command == "close":
                break
            conn.send(("ok", None))
    except (EOFError, KeyboardInterrupt, BrokenPipeError):
        pass  # the learner went away: exit quietly
    except BaseException:
        try:
            conn.send(("error", f"environments {lo}..{hi - 1}:\n{traceback.format_exc()}"))
        except (BrokenPipeError, OSError):
            pass
    finally:
        if envs is not None:
            envs.close()
        conn.close()


class SubprocessVectorEnv:
    """``num_envs`` environments split over ``workers`` processes; same contract as SyncVectorEnv."""

    def __init__(self, env_fn: Callable[[], gym.Env], num_envs: int, workers: int, num_costs: int = 1) -> None:
        ctx = mp.get_context("spawn")
        probe = env_fn()
        self.observation_space, self.action_space = probe.observation_space, probe.action_space
        probe.close()
        self.num_envs, self.num_costs = num_envs, num_costs
        obs_dim = int(np.prod(self.observation_space.shape))
        act_dim = int(np.prod(self.action_space.shape))
        shapes = {"actions": (num_envs, act_dim), "obs": (num_envs, obs_dim), "final_obs": (num_envs, obs_dim),
                  "rewards": (num_envs,), "costs": (num_envs, num_costs), "terminated": (num_envs,),
                  "truncated": (num_envs,)}
        raws, self._arrays = {}, {}
        for name, shape in shapes.items():
            raws[name], self._arrays[name] = _shared(ctx, shape)
        bounds = np.linspace(0, num_envs, workers + 1).astype(int)
        self._slices = list(zip(bounds[:-1], bounds[1:]))
        self._conns, self._processes = [], []
        for lo, hi in self._slices:
            parent, child = ctx.Pipe()
            process = ctx.Process(target=_worker, args=(env_fn, int(lo), int(hi), num_costs, raws, shapes, child),
                                  daemon=True)
            process.start()
            child.close()
            self._conns.append(parent)
            self._processes.append(process)
        self._closed = False
        self._gather("start")

    def _gather(self, what: str) -> None:
        """Wait for every worker's reply; turn a failure into one clear error."""
        errors = []
        for conn, (lo, hi) in zip(self._conns, self._slices):
            try:
                status, message = conn.recv()
            except (EOFError, ConnectionResetError):
                status, message = "error", f"environments {lo}..{hi - 1}: the worker process died"
            if status == "error":
                errors.append(message)
        if errors:
            self.close()
            raise EnvWorkerError(f"An environment failed during {what} in a worker process.\n" + "\n".join(errors))

    def _command(self, command: str, payloads=None) -> None:
        for k, conn in enumerate(self._conns):
            conn.send((command, None if payloads is None else payloads[k]))
        self._gather(command)

    def reset(self, seeds) -> np.ndarray:
        self._command("reset", [list(seeds[lo:hi]) for lo, hi in self._slices])
        return self._arrays["obs"].copy()

    def step(self, actions: np.ndarray) -> VectorStep:
        self._arrays["actions"][:] = actions
        self._command("step")
        a = self._arrays
        return VectorStep(a["obs"].copy(), a["rewards"].copy(), a["costs"].copy(), a["terminated"].astype(bool),
                          a["truncated"].astype(bool), a["final_obs"].copy())

    def close(self) -> None:
        """Stop the workers (politely, then by force); safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for conn in self._conns:
            try:
                conn.send(("close", None))
            except (BrokenPipeError, OSError):
                pass
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
        for conn in self._conns:
            conn.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
