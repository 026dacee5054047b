"""How a run shares the machine's cores between env workers and the torch update."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from omegaconf import DictConfig


def _in_multirun() -> bool:
    """True inside a Hydra multirun job, where several runs may share the machine."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
    except Exception:
        return False


def usable_cores() -> int:
    """The cores this process may run on: a scheduler's CPU set (SLURM, taskset, a container's cpuset), not the
    whole machine's, which a job given 4 cores of a 64-core node would otherwise fill with 64 workers and threads."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _thread_limit() -> int | None:
    """OMP_NUM_THREADS when the environment sets it (schedulers and shared machines do): the threads this process
    may use. Threads that outnumber the free cores spin-wait: a tiny run on a busy 2-core machine took 3x the CPU."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


@dataclass(frozen=True)
class Parallelism:
    """Resolved ``train.workers`` and ``train.torch_threads``. "auto" becomes a number: for the workers, one per usable
    core (at most one per env), and none in a multirun job or on a single core (a lone worker would only add a
    process for the learner to wait on); for the threads, every usable core, or OMP_NUM_THREADS where set, or 1 per
    job in a multirun."""

    workers: int
    update_threads: int

    @classmethod
    def from_config(cls, cfg: DictConfig) -> "Parallelism":
        cores = usable_cores()
        shared = _in_multirun()  # parallel jobs: each stays on one core
        workers = cfg.train.workers
        threads = cfg.train.torch_threads
        return cls(
            workers=(0 if shared or cores < 2 else min(cores, int(cfg.train.num_envs))) if workers == "auto" else int(workers),
            update_threads=(1 if shared else _thread_limit() or cores) if threads == "auto" else int(threads),
        )

    @staticmethod
    def configure_torch() -> None:
        """Flush denormal floats to zero: saturated tanh layers produce them, and CPU arithmetic on
        denormals is up to 50x slower (measured: a 100k-step Ant update took 84 s instead of 1.5 s)."""
        torch.set_flush_denormal(True)

    def for_sampling(self) -> None:
        """In-process sampling runs inference on small batches: one thread is fastest (workers use one each)."""
        torch.set_num_threads(1)

    def for_update(self) -> None:
        """The update is the only work while the workers wait: use every thread allowed."""
        torch.set_num_threads(self.update_threads)
