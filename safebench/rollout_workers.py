"""Batches collected by worker processes, so that every core steps physics.

Each worker owns a contiguous slice of the environments and a copy of the policy. For a batch, the
learner sends every worker the policy's weights, the normalizer's statistics and the seeds, and
puts the batch's action noise in shared memory; each worker then runs the whole rollout of its
slice (``safebench.rollout.run_rollout``) and writes its steps into the shared batch arrays. There
is no exchange between processes during the rollout, so no core waits for another at every step.
The batch is identical, bit for bit, to the one ``RolloutCollector`` collects in-process.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import traceback
from collections.abc import Callable
from multiprocessing import resource_tracker, shared_memory
from multiprocessing.connection import Connection

import gymnasium as gym
import numpy as np
import torch

from algorithms.core.observation_normalizer import ObservationNormalizer
from algorithms.core.policy import GaussianPolicy
from safebench.errors import ResourceError
from safebench.interrupts import children_ignore_ctrl_c
from safebench.rollout import RolloutRecords, env_slice, run_rollout
from safebench.sampler import RolloutCollector
from safebench.vector_env import SyncVectorEnv

_RETIRED: list[shared_memory.SharedMemory] = []  # blocks closed while a view was alive


class EnvWorkerError(RuntimeError):
    """A rollout failed inside a worker process; the message carries the worker's traceback."""


class SharedArrays:
    """Named arrays laid out in one shared-memory block, which grows when a batch needs more."""

    def __init__(self) -> None:
        self.block: shared_memory.SharedMemory | None = None
        self.layout: tuple = ()  # what a worker needs to find the arrays: (block name, fields)

    def views(self, fields: dict) -> dict[str, np.ndarray]:
        """Arrays for ``fields`` (name -> (shape, dtype)); ``layout`` then describes them."""
        layout, offset = [], 0
        for name, (shape, dtype) in fields.items():
            layout.append((name, offset, shape, np.dtype(dtype).str))
            offset += -(-int(np.prod(shape)) * np.dtype(dtype).itemsize // 64) * 64  # 64-byte aligned
        if self.block is None or self.block.size < offset:
            self.close()
            _check_room(offset)
            self.block = shared_memory.SharedMemory(create=True, size=max(offset, 64))
        self.layout = (self.block.name, tuple(layout))
        return attach_views(self.block, layout)

    def close(self) -> None:
        if self.block is not None:
            _close_block(self.block)
            self.block.unlink()
            self.block = None


def _check_room(size: int, folder: str = "/dev/shm") -> None:
    """Refuse a batch that the shared-memory file system cannot hold (a worker would die of SIGBUS)."""
    try:
        stats = os.statvfs(folder)
    except OSError:
        return  # no such file system here: let the OS decide
    free = stats.f_bavail * stats.f_frsize
    if size > free:
        raise ResourceError(
            f"The batch needs {size / 2**20:.0f} MiB of shared memory but {folder} has {free / 2**20:.0f} MiB free "
            "(a container's default is 64 MiB). Give it more (docker run --shm-size=1g), or lower "
            "train.batch_size, or sample in-process with train.workers=0.")


def attach_views(block: shared_memory.SharedMemory, layout: list | tuple) -> dict[str, np.ndarray]:
    """NumPy views of the block; each holds a buffer export, so the block cannot close under it."""
    return {name: np.frombuffer(block.buf, dtype, int(np.prod(shape)), offset).reshape(shape)
            for name, offset, shape, dtype in layout}


def _worker(env_fn: Callable[[], gym.Env], lo: int, hi: int, num_costs: int, policy: GaussianPolicy,
            inference_batch: int, action_bounds: tuple[np.ndarray, np.ndarray], conn: Connection) -> None:
    """Collect the rollouts of environments [lo, hi) until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the learner handles Ctrl-C and closes us
    torch.set_num_threads(1)  # one process per core already
    torch.set_flush_denormal(True)  # as the learner (Parallelism.configure_torch)
    envs, block = None, None
    try:
        envs = SyncVectorEnv([env_fn] * (hi - lo), num_costs)
        conn.send(("ready", None))
        while True:
            command, payload = conn.recv()
            if command == "close":
                break
            params, normalizer, seeds, (name, layout) = payload
            if block is None or block.name != name:
                block = _reattach(block, name)
            torch.nn.utils.vector_to_parameters(torch.from_numpy(params), policy.parameters())
            arrays = env_slice(attach_views(block, layout), lo, hi)
            records = run_rollout(envs, policy, normalizer, seeds, arrays, lo, inference_batch, *action_bounds)
            del arrays  # no view may outlive the block
            conn.send(("ok", records))
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
        _close_block(block)
        conn.close()


def _worker_context(env_fn: Callable[[], gym.Env]) -> mp.context.BaseContext:
    """Workers forked from multiprocessing's fork server, which imports torch, the sampler and the environment's
    module once: a spawned worker imported them itself, seconds of CPU each. The server is started (by the first
    worker's start) inside ``children_ignore_ctrl_c``, so it and every worker forked from it keep SIGINT blocked
    until ``_worker`` ignores it, as spawned workers did (a server that other code started first keeps its own
    mask; the tests start theirs under the same block). A Ctrl-C meanwhile waits until the server has imported
    them (seconds). It lives as long as this process and serves later collectors too, with the modules of its
    first start. Off Linux the workers spawn: macOS forks badly once its system libraries are loaded, Windows
    has no fork server."""
    if not sys.platform.startswith("linux"):
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    env_module = _module_of(env_fn)
    ctx.set_forkserver_preload([__name__, *([env_module] if env_module else [])])
    return ctx


def _module_of(env_fn: Callable[[], gym.Env]) -> str | None:
    """The module that defines ``env_fn`` (a partial's function), which unpickling it in a worker imports."""
    return getattr(getattr(env_fn, "func", env_fn), "__module__", None)


def _reattach(block: shared_memory.SharedMemory | None, name: str) -> shared_memory.SharedMemory:
    """Open the learner's (new) block; the learner alone unlinks it."""
    _close_block(block)
    return shared_memory.SharedMemory(name=name)


def _close_block(block: shared_memory.SharedMemory | None) -> None:
    """Unmap the block, or, while a view of it is alive (held by a traceback, say), leave it mapped
    until the process exits (kept in ``_RETIRED``, so that its ``__del__`` does not complain)."""
    if block is not None:
        try:
            block.close()
        except BufferError:
            _RETIRED.append(block)


class ParallelRolloutCollector(RolloutCollector):
    """``RolloutCollector`` with the environments split over ``workers`` processes."""

    def __init__(self, env_fn: Callable[[], gym.Env], num_envs: int, policy: GaussianPolicy,
                 normalizer: ObservationNormalizer, generator: torch.Generator, num_costs: int = 1,
                 inference_batch: int = 8, workers: int = 2) -> None:
        self.requested_workers = workers
        super().__init__(env_fn, num_envs, policy, normalizer, generator, num_costs, inference_batch)

    def _start(self, env_fn: Callable[[], gym.Env]) -> None:
        """One worker per slice of whole inference groups (a group is never split between two)."""
        groups = -(-self.num_envs // self.inference_batch)
        bounds = np.linspace(0, groups, min(self.requested_workers, groups) + 1).astype(int) * self.inference_batch
        self._slices = [(int(lo), int(min(hi, self.num_envs))) for lo, hi in zip(bounds[:-1], bounds[1:])]
        self._shared = SharedArrays()
        self._conns, self._processes, self._closed, self._busy = [], [], False, False
        ctx = _worker_context(env_fn)
        resource_tracker.ensure_running()  # now: starting it unblocks SIGINT, which must stay blocked below
        for lo, hi in self._slices:
            parent, child = ctx.Pipe()
            process = ctx.Process(target=_worker, daemon=True, args=(
                env_fn, lo, hi, self.num_costs, self.policy, self.inference_batch, (self.low, self.high), child))
            try:
                with children_ignore_ctrl_c():
                    process.start()
            except (EOFError, ConnectionError) as error:  # the fork server is gone: one of its imports failed
                self.close()
                raise EnvWorkerError(
                    f"The env worker processes could not be started: the fork server that forks them exited "
                    f"({type(error).__name__}: {error}) while importing the sampler and the environment's module "
                    f"({_module_of(env_fn)}). Import that module in a plain python to see why, or sample in this "
                    f"process with train.workers=0.") from error
            child.close()
            self._conns.append(parent)
            self._processes.append(process)
        self._gather("its start")

    @property
    def workers(self) -> int:
        return len(self._processes)

    reuses_buffers = True

    def _buffers(self, fields: dict) -> dict[str, np.ndarray]:
        return self._shared.views(fields)

    def _run(self, arrays: dict[str, np.ndarray], seeds: list[int]) -> RolloutRecords:
        if self._closed:
            raise EnvWorkerError("This collector's worker processes were stopped (it was closed, or a rollout "
                                 "failed or was interrupted); build a new one.")
        params = torch.nn.utils.parameters_to_vector(self.policy.parameters()).detach().numpy()
        self._busy = True
        try:
            for conn, (lo, hi) in zip(self._conns, self._slices):
                conn.send(("collect", (params, self.normalizer, seeds[lo:hi], self._shared.layout)))
            replies = self._gather("a rollout")
        except BaseException as error:  # interrupted, or a worker gone: their replies must not meet a later batch
            self.close()
            if isinstance(error, (BrokenPipeError, ConnectionResetError)):
                raise EnvWorkerError(f"A worker process died before a rollout: {error}") from error
            raise
        self._busy = False
        records = RolloutRecords()
        for part in replies:
            records.extend(part)
        return records

    def _gather(self, what: str) -> list:
        """Every worker's reply, in slice order; a failure anywhere becomes one clear error."""
        replies, errors = [], []
        for conn, (lo, hi) in zip(self._conns, self._slices):
            try:
                status, payload = conn.recv()
            except (EOFError, ConnectionResetError):
                process = self._processes[len(replies) + len(errors)]
                process.join(timeout=1)
                hint = " (SIGBUS: shared memory ran out)" if process.exitcode == -signal.SIGBUS else ""
                status, payload = "error", (f"environments {lo}..{hi - 1}: the worker process died "
                                            f"with exit code {process.exitcode}{hint}")
            (errors if status == "error" else replies).append(payload)
        if errors:
            self._busy = False
            self.close()
            raise EnvWorkerError(f"A worker process failed during {what}.\n" + "\n".join(errors))
        return replies

    def close(self) -> None:
        """Stop the workers (politely, or at once if interrupted mid-rollout); safe to call twice."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        for conn in self._conns:
            try:
                conn.send(("close", None))
            except (BrokenPipeError, OSError):
                pass
        for process in self._processes:
            if self._busy:  # Ctrl-C during a rollout: the workers would finish the whole batch first
                process.terminate()
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
        for conn in self._conns:
            conn.close()
        self._shared.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

