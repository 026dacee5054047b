"""A first-order minibatch step with the policy loss eager and compiled (``algo.compile_policy_loss``), alternated
in one process so that the machine's drift touches both alike. Prints one JSON line per round and the medians.

    PYTHONPATH=. .venv/bin/python scripts/compare_compiled_loss.py [ALGO]   (default ppo_lagrangian, on point_circle)
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import torch

from algorithms.core.compiled_loss import CompiledLoss
from algorithms.core.first_order import Minibatch
from safebench.command_line import compose_config
from safebench.seeding import episode_seeds
from safebench.trainer import build_components

ROUNDS, STEPS = 4, 2000


def main() -> None:
    algo_name = sys.argv[1] if len(sys.argv) > 1 else "ppo_lagrangian"
    cfg = compose_config([f"+algo={algo_name}", "+task=point_circle", "train.workers=0", "train.torch_threads=1",
                          "train.batch_size=4000", "train.num_envs=8"])
    parts = build_components(cfg)
    torch.set_num_threads(1)
    algo = parts.algo
    data, _ = algo.prepare(parts.collector.collect(parts.budget.steps_per_env, episode_seeds(0, 0, 8)))
    idx = torch.arange(algo.minibatch_size)
    with torch.no_grad():
        old_mean = algo.policy.mean_net(data.obs)
    minibatch = Minibatch(data.obs[idx], data.actions[idx], data.old_log_probs[idx],
                          algo.policy_advantages(data).detach()[idx], old_mean[idx],
                          algo.policy.effective_log_std().detach().clone(),
                          algo.policy_cost_advantages(data).detach()[idx], data.episode_costs, algo.cost_limits,
                          data.mean_episode_length)
    functions = {"eager": algo.policy_loss, "compiled": CompiledLoss(algo.policy_loss)}
    start = time.perf_counter()
    algo.loss_function = functions["compiled"]
    algo.minibatch_step(minibatch)
    print(json.dumps({"algo": algo_name, "first_compiled_step_s": round(time.perf_counter() - start, 1)}))
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(ROUNDS):
        for name, function in functions.items():
            algo.loss_function = function
            start = time.perf_counter()
            for _ in range(STEPS):
                algo.minibatch_step(minibatch)
            times[name].append((time.perf_counter() - start) / STEPS * 1e6)
        print(json.dumps({"algo": algo_name, "us_per_minibatch_step": {k: round(v[-1]) for k, v in times.items()}}))
    medians = {name: statistics.median(v) for name, v in times.items()}
    print(json.dumps({"algo": algo_name, "median_us": {k: round(v) for k, v in medians.items()},
                      "speedup": round(medians["eager"] / medians["compiled"], 2)}))


if __name__ == "__main__":
    main()
