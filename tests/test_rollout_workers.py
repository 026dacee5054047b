"""Collecting in worker processes: the in-process batch bit for bit, clean shutdown, clear errors."""

import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from helpers import REPO, failing_point_circle, group_killed_afterwards, point_circle_failing_in_workers

import tasks
from algorithms.core.observation_normalizer import ObservationNormalizer
from algorithms.core.policy import GaussianPolicy
from safebench.errors import ResourceError
from safebench.rollout_workers import EnvWorkerError, ParallelRolloutCollector, SharedArrays
from safebench.sampler import make_collector

FACTORY = partial(tasks.make, "point_circle", horizon=20)
FIELDS = ("obs", "actions", "log_probs", "rewards", "costs", "terminated", "episode_end", "bootstrap_obs",
          "bootstrap_index", "episode_returns", "episode_costs", "episode_lengths")


def collect(workers: int, steps: list[int], num_envs: int = 5):
    """Batches of ``steps`` steps per env (the normalizer on, three envs per forward pass), and the normalizer."""
    torch.manual_seed(0)
    normalizer = ObservationNormalizer((9,), enabled=True)
    collector = make_collector(FACTORY, num_envs, GaussianPolicy(9, 2), normalizer, torch.Generator().manual_seed(3),
                               inference_batch=3, workers=workers)
    try:
        return [collector.collect(T, list(range(11, 11 + num_envs))) for T in steps], normalizer
    finally:
        collector.close()


def assert_same_batches(a, b):
    for batch_a, batch_b in zip(a, b, strict=True):
        for field in FIELDS:
            np.testing.assert_array_equal(getattr(batch_a, field), getattr(batch_b, field), err_msg=field)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_worker_processes_give_exactly_the_in_process_batches(workers):
    steps = [50, 20, 70]  # the shared arrays are reused, then grow
    in_process, normalizer = collect(0, steps)
    parallel, parallel_normalizer = collect(workers, steps)
    assert_same_batches(in_process, parallel)
    np.testing.assert_array_equal(normalizer.mean, parallel_normalizer.mean)
    assert len(in_process[0].episode_returns) == 10 and len(in_process[0].bootstrap_index) == 15


def test_normalizer_statistics_are_fixed_during_a_batch_and_take_it_in_at_its_end():
    def first_batch(normalize: bool):
        torch.manual_seed(0)
        normalizer = ObservationNormalizer((9,), enabled=normalize)
        collector = make_collector(FACTORY, 5, GaussianPolicy(9, 2), normalizer, torch.Generator().manual_seed(3))
        return collector, normalizer, collector.collect(40, list(range(11, 16)))

    _, _, raw = first_batch(normalize=False)
    collector, normalizer, first = first_batch(normalize=True)
    # the whole first batch is normalized with the initial statistics (mean 0, variance 1): the raw observations
    np.testing.assert_allclose(first.obs, raw.obs, atol=1e-5)
    # then the statistics are those of the batch's observations...
    observations = raw.obs.reshape(-1, 9).astype(np.float64)
    np.testing.assert_allclose(normalizer.mean, observations.mean(0), atol=1e-5)
    np.testing.assert_allclose(normalizer.var, observations.var(0), atol=1e-5)
    # ...with which the next batch starts (the same seeds: the same first observations)
    expected = normalizer.normalize(raw.obs[:, 0].astype(np.float64))
    second = collector.collect(40, list(range(11, 16)))
    np.testing.assert_allclose(second.obs[:, 0], expected, atol=1e-4)
    collector.close()


def test_env_error_in_worker_surfaces_with_its_message_and_workers_stop():
    collector = ParallelRolloutCollector(partial(failing_point_circle, 3), 4, GaussianPolicy(9, 2),
                                         ObservationNormalizer((9,), enabled=False), torch.Generator(),
                                         inference_batch=2, workers=2)
    processes = list(collector._processes)
    with pytest.raises(EnvWorkerError, match="simulated physics blow-up"):
        collector.collect(10, [0, 1, 2, 3])
    for process in processes:
        process.join(timeout=5)
        assert not process.is_alive()


def test_env_that_cannot_be_built_in_a_worker_is_a_clear_error():
    with pytest.raises(EnvWorkerError, match="(?s)during its start.*simulated missing asset"):
        ParallelRolloutCollector(point_circle_failing_in_workers, 4, GaussianPolicy(9, 2),
                                 ObservationNormalizer((9,), enabled=False), torch.Generator(), inference_batch=2)


def test_a_collector_whose_rollout_failed_refuses_to_collect_again():
    collector = ParallelRolloutCollector(partial(failing_point_circle, 3), 4, GaussianPolicy(9, 2),
                                         ObservationNormalizer((9,), enabled=False), torch.Generator(),
                                         inference_batch=2, workers=2)
    with pytest.raises(EnvWorkerError):
        collector.collect(10, [0, 1, 2, 3])
    with pytest.raises(EnvWorkerError, match="were stopped"):
        collector.collect(10, [0, 1, 2, 3])


def test_close_stops_every_worker_and_frees_the_shared_memory():
    collector = make_collector(FACTORY, 4, GaussianPolicy(9, 2), ObservationNormalizer((9,), enabled=False),
                               torch.Generator(), inference_batch=2, workers=2)
    assert collector.workers == 2
    collector.collect(30, [0, 1, 2, 3])
    block = Path("/dev/shm") / collector._shared.block.name
    assert block.exists()
    collector.close()
    assert all(not p.is_alive() for p in collector._processes)
    assert not block.exists()
    collector.close()  # idempotent


def test_a_view_keeps_its_shared_block_mapped_after_close():
    shared = SharedArrays()
    view = shared.views({"x": ((1000,), np.float64)})["x"]
    name = shared.block.name
    view[:] = 1.0
    shared.close()  # unlinked at once, unmapped only when the view is gone (no segfault on reading it)
    assert view.sum() == 1000.0 and not (Path("/dev/shm") / name).exists()
    del view


def test_a_batch_larger_than_the_free_shared_memory_is_refused_clearly(monkeypatch):
    import safebench.rollout_workers as rollout_workers

    monkeypatch.setattr(rollout_workers.os, "statvfs", lambda folder: SimpleNamespace(f_bavail=16, f_frsize=2**20))
    with pytest.raises(ResourceError, match="needs 24 MiB of shared memory but /dev/shm has 16 MiB free"):
        SharedArrays().views({"x": ((3 * 2**20,), np.float64)})


def test_workers_get_whole_inference_groups():
    collector = make_collector(FACTORY, 5, GaussianPolicy(9, 2), ObservationNormalizer((9,), enabled=False),
                               torch.Generator(), inference_batch=2, workers=8)
    try:
        assert collector._slices == [(0, 2), (2, 4), (4, 5)]
    finally:
        collector.close()


SCRIPT = """
import sys, torch
from functools import partial
sys.path.insert(0, {repo!r})
import tasks
from algorithms.core.observation_normalizer import ObservationNormalizer
from algorithms.core.policy import GaussianPolicy
from safebench.sampler import make_collector
if __name__ == "__main__":
    collector = make_collector(partial(tasks.make, "point_circle"), 4, GaussianPolicy(9, 2),
                               ObservationNormalizer((9,)), torch.Generator(), inference_batch=2, workers=2)
    import multiprocessing.forkserver
    server = multiprocessing.forkserver._forkserver._forkserver_pid  # the workers' parent: it must go too
    print(" ".join(str(pid) for pid in [*(p.pid for p in collector._processes), server]), flush=True)
    while True:
        collector.collect(200, [0, 1, 2, 3])
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
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    with group_killed_afterwards(parent):
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 3 and all(_alive(p) for p in pids)  # two workers and their fork server
        time.sleep(0.5)
        parent.send_signal(sig)
        parent.wait(timeout=20)
        deadline = time.time() + 15
        while time.time() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.1)
        leftover = [p for p in pids if _alive(p)]
        for p in leftover:
            os.kill(p, signal.SIGKILL)
        assert not leftover, f"orphan workers after {sig!r}"
        if sig == signal.SIGINT:
            stderr = parent.stderr.read()
            assert "KeyboardInterrupt" in stderr and "leaked" not in stderr, stderr


BOOM = """
import os
if os.environ.get("BOOM_ON_IMPORT"):
    raise RuntimeError("this module refuses to load in the fork server")

import tasks


def make():
    return tasks.make("point_circle")
"""

BOOM_SCRIPT = """
import os, sys, torch
sys.path.insert(0, {repo!r})
import boom  # imported here first; the fork server, started after the variable is set, fails on it
from algorithms.core.observation_normalizer import ObservationNormalizer
from algorithms.core.policy import GaussianPolicy
from safebench.rollout_workers import EnvWorkerError, ParallelRolloutCollector
if __name__ == "__main__":
    os.environ["BOOM_ON_IMPORT"] = "1"
    try:
        ParallelRolloutCollector(boom.make, 4, GaussianPolicy(9, 2), ObservationNormalizer((9,)), torch.Generator(),
                                 inference_batch=2)
    except EnvWorkerError as error:
        print("EnvWorkerError:", error)
"""


def test_a_fork_server_that_cannot_import_the_env_module_is_a_clear_error(tmp_path):
    """Not an EOFError from multiprocessing's internals: what failed, where to look, and how to do without."""
    (tmp_path / "boom.py").write_text(BOOM)
    (tmp_path / "script.py").write_text(BOOM_SCRIPT.format(repo=str(REPO)))
    result = subprocess.run([sys.executable, "script.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "EnvWorkerError: The env worker processes could not be started" in result.stdout, result.stdout
    assert "(boom)" in result.stdout and "train.workers=0" in result.stdout
