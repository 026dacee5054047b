"""The multi-process sampler: same trajectories as the in-process one, clean shutdown, clear errors."""

import os
import signal
import subprocess
import sys
import time
from functools import partial

import numpy as np
import pytest
import torch
from helpers import REPO, failing_point_circle

import tasks
from algorithms.observation_normalizer import ObservationNormalizer
from algorithms.policy import GaussianPolicy
from safebench.sampler import RolloutCollector
from safebench.subprocess_vector_env import EnvWorkerError, SubprocessVectorEnv
from safebench.vector_env import SyncVectorEnv

FACTORY = partial(tasks.make, "point_circle", horizon=20)


def collect(vec_env, seeds):
    torch.manual_seed(0)
    policy = GaussianPolicy(9, 2)
    collector = RolloutCollector(vec_env, policy, ObservationNormalizer((9,), enabled=True),
                                 torch.Generator().manual_seed(3))
    return [collector.collect(50, seeds) for _ in range(2)]


def test_worker_processes_give_exactly_the_in_process_trajectories():
    seeds = [11, 12, 13, 14, 15]
    sync = SyncVectorEnv([FACTORY] * 5)
    parallel = SubprocessVectorEnv(FACTORY, 5, workers=2)
    try:
        for a, b in zip(collect(sync, seeds), collect(parallel, seeds)):
            for field in ("obs", "actions", "rewards", "costs", "terminated", "episode_end", "bootstrap_obs",
                          "bootstrap_index", "episode_returns", "episode_costs"):
                np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    finally:
        sync.close()
        parallel.close()


def test_env_error_in_worker_surfaces_with_its_message_and_workers_stop():
    vec = SubprocessVectorEnv(partial(failing_point_circle, 3), 4, workers=2)
    processes = list(vec._processes)
    vec.reset([0, 1, 2, 3])
    with pytest.raises(EnvWorkerError, match="simulated physics blow-up"):
        for _ in range(5):
            vec.step(np.zeros((4, 2)))
    for process in processes:
        process.join(timeout=5)
        assert not process.is_alive()


def test_close_stops_every_worker():
    vec = SubprocessVectorEnv(FACTORY, 4, workers=2)
    vec.reset([0, 1, 2, 3])
    vec.step(np.zeros((4, 2)))
    vec.close()
    assert all(not p.is_alive() for p in vec._processes)
    vec.close()  # idempotent


SCRIPT = """
import sys, time, numpy as np
from functools import partial
sys.path.insert(0, {repo!r})
import tasks
from safebench.subprocess_vector_env import SubprocessVectorEnv
if __name__ == "__main__":
    vec = SubprocessVectorEnv(partial(tasks.make, "point_circle"), 4, workers=2)
    vec.reset([0, 1, 2, 3])
    print(" ".join(str(p.pid) for p in vec._processes), flush=True)
    while True:
        vec.step(np.zeros((4, 2)))
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_no_orphan_workers_after_ctrl_c_or_kill(tmp_path, sig):
    script = tmp_path / "sampler.py"
    script.write_text(SCRIPT.format(repo=str(REPO)))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pids = [int(p) for p in parent.stdout.readline().split()]
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    time.sleep(0.3)
    parent.send_signal(sig)
    parent.wait(timeout=20)
    deadline = time.time() + 15
    while time.time() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    leftover = [p for p in pids if _alive(p)]
    for p in leftover:
        os.kill(p, signal.SIGKILL)
    assert not leftover, f"orphan workers after {sig!r}"
