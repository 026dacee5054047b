"""The speed-ups that keep the numbers: the tasks' ``step_many`` fast path against ``env.step`` one
environment at a time, and the policy's lean forward against ``nn.Module``'s call, alternated in
one process so that the machine's drift touches both alike. Prints one JSON line per comparison.

    PYTHONPATH=. .venv/bin/python scripts/compare_fast_paths.py [TASK ...]   (default: the three legged tasks)
"""

from __future__ import annotations

import json
import sys
import time
from functools import partial

import torch

import tasks
from algorithms.core.observation_normalizer import ObservationNormalizer
from algorithms.core.policy import GaussianPolicy
from safebench.sampler import RolloutCollector

ENVS, STEPS, ROUNDS = 32, 300, 2


def sampling_rate(task: str, fast: bool) -> float:
    """Env-steps/s of one in-process batch of ENVS x STEPS (one core), with or without the fast path."""
    env_fn = partial(tasks.make, task)
    probe = env_fn()
    obs_dim, act_dim = probe.observation_space.shape[0], probe.action_space.shape[0]
    collector = RolloutCollector(env_fn, ENVS, GaussianPolicy(obs_dim, act_dim), ObservationNormalizer((obs_dim,)),
                                 torch.Generator().manual_seed(0))
    collector.envs.steps_many = fast and collector.envs.steps_many
    collector.collect(50, list(range(ENVS)))  # warm up
    start = time.perf_counter()
    collector.collect(STEPS, list(range(ENVS)))
    return ENVS * STEPS / (time.perf_counter() - start)


def inference_us(lean: bool, calls: int = 20000) -> float:
    """Microseconds per forward of a (64, 32) policy on 8 observations."""
    policy, obs = GaussianPolicy(32, 8), torch.randn(8, 32)
    forward = policy.mean_action if lean else policy.mean_net
    with torch.no_grad():
        start = time.perf_counter()
        for _ in range(calls):
            forward(obs)
    return (time.perf_counter() - start) / calls * 1e6


def main(task_names: list[str]) -> None:
    torch.set_num_threads(1)
    for task in task_names or ["ant_circle", "humanoid_circle", "ant_gather"]:
        fast, each = [], []
        for _ in range(ROUNDS):
            fast.append(sampling_rate(task, True))
            each.append(sampling_rate(task, False))
        print(json.dumps({"comparison": "step_many_over_env_step", "task": task, "fast_steps_per_s": fast,
                          "per_env_steps_per_s": each, "ratio": sum(fast) / sum(each)}), flush=True)
    lean, module = [], []
    for _ in range(ROUNDS):
        lean.append(inference_us(True))
        module.append(inference_us(False))
    print(json.dumps({"comparison": "module_call_over_lean_forward", "lean_us": lean, "module_us": module,
                      "ratio": sum(module) / sum(lean)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
