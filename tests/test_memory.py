"""Memory of a paper batch: a 100k-step ant batch stays under 2 GiB, sampled and updated."""

import json
import subprocess
import sys

import pytest
from helpers import REPO

from safebench.command_line import compose_config
from safebench.memory_estimate import batch_bytes

GiB = 2**30

# One 100k-step ant_circle batch (the paper batch) sampled by the default workers, then one CPO update,
# in a fresh process; the peak RSS of the learner and of the largest worker, in bytes.
MEASURE = """
import json, resource
from safebench.command_line import compose_config
from safebench.seeding import episode_seeds
from safebench.trainer import build_components

cfg = compose_config(["+task=ant_circle", "+algo=cpo", "train.batch_size=100000"])
parts = build_components(cfg)
try:
    batch, _, _, _ = parts.iteration(episode_seeds(0, 1, parts.budget.num_envs))
finally:
    parts.collector.close()
print(json.dumps({"steps": batch.num_steps, "workers": parts.collector.workers,
                  "learner": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "worker": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}))
"""


@pytest.mark.parametrize("task", ["ant_circle", "ant_gather", "ant_velocity"])
def test_the_estimate_covers_a_real_batch_and_a_100k_ant_batch_stays_under_2_gib(task):
    """The refusal of a batch too large for memory rests on this estimate: it must count the arrays a real batch
    holds, with room for the update's copies of them (the measured peak is the slow test below)."""
    import numpy as np

    from safebench.seeding import episode_seeds
    from safebench.trainer import build_components

    cfg = compose_config([f"+task={task}", "+algo=cpo", "train.batch_size=2048", "train.workers=0"])
    parts = build_components(cfg)
    try:
        batch = parts.collector.collect(parts.budget.steps_per_env, episode_seeds(0, 1, parts.budget.num_envs))
    finally:
        parts.collector.close()
    sampled = sum(value.nbytes for value in vars(batch).values() if isinstance(value, np.ndarray))
    estimate = batch_bytes(cfg, cost_count=1) * batch.num_steps // 2048
    assert 2 * sampled <= estimate <= 8 * sampled, (sampled, estimate)
    paper = compose_config([f"+task={task}", "+algo=cpo", "train.batch_size=100000"])
    assert batch_bytes(paper, cost_count=1) < 2 * GiB  # the batch through sampling and the update


@pytest.mark.slow
def test_a_100k_ant_batch_sampled_and_updated_peaks_under_2_gib():
    result = subprocess.run([sys.executable, "-c", MEASURE], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    peak = json.loads(result.stdout.strip().splitlines()[-1])
    assert 100_000 <= peak["steps"] < 100_000 + 64  # whole rows of the task's 64 environments
    # the learner plus every worker at the largest one's peak (shared batch arrays counted in each: an upper bound)
    total = peak["learner"] + max(peak["workers"], 1) * peak["worker"]
    print(f"peak RSS: learner {peak['learner'] / GiB:.2f} GiB, {peak['workers']} workers of at most "
          f"{peak['worker'] / GiB:.2f} GiB: {total / GiB:.2f} GiB")
    assert total < 2 * GiB
