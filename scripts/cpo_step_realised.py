"""Does a step that CPO's linear cost model says lowers J_C lower it on fresh episodes? ``PYTHONPATH=. python
scripts/cpo_step_realised.py RUN_DIR [REPEATS]``

From the run's last checkpoint, one batch of the run's size gives the update's data (critics refitted on a
copy, as an update does). From it, four candidate steps:

- ``cpo``: the update CPO would take (dual, line search);
- ``cost``: the pure cost step -sqrt(2 delta / s) H^-1 b, to the KL edge (CPO's recovery step);
- ``cost_mc``: the same step with b from Monte Carlo cost advantages (cost GAE lambda 1: unbiased for
  any cost critic, at more variance) instead of the task's lambda;
- ``reward``: TRPO's step on the reward alone, to the KL edge.

Each step's predicted change of J_C (b . x, b of the task's lambda, and b_mc . x) is printed beside the
realised one: the mean episode cost of REPEATS fresh batches of the moved policy, minus that of REPEATS
fresh batches of the checkpoint's policy (standard errors from the episodes). Written for the Ant-Circle
finding in results/REPRODUCTION.md; nothing in the run directory is changed.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from algorithms.core.fisher_vector_product import mean_kl
from algorithms.core.mlp import flat_params, set_flat_params
from checkpointed_run import load_checkpointed_run  # scripts/, beside this file


def episode_costs(parts, params: torch.Tensor, first_seed: int, repeats: int) -> np.ndarray:
    """Completed episodes' costs of ``repeats`` fresh batches sampled with the policy at ``params``."""
    set_flat_params(parts.algo.policy, params)
    found = []
    for k in range(repeats):
        seeds = [first_seed + 1000 * k + i for i in range(parts.budget.num_envs)]
        found.append(parts.collector.collect(parts.budget.steps_per_env, seeds).episode_cost_column(0))
    return np.concatenate(found)


def cost_gradient(algo, batch, lam: float):
    """(data, b, H^-1 b, hvp) on a copy of ``algo`` whose cost advantages use GAE lambda ``lam``."""
    algo = copy.deepcopy(algo)
    algo.cost_gae_lambda = lam
    data, _ = algo.prepare(batch)
    _, g, b, h_inv_g, h_inv_b, hvp = algo.natural_gradients(data)
    return algo, data, g, b[0], h_inv_g, h_inv_b[0], hvp


def main(run: Path, repeats: int = 2) -> None:
    parts, state = load_checkpointed_run(run)
    start = flat_params(parts.algo.policy).clone()
    delta = parts.algo.max_kl
    print(f"{run}: checkpoint at update {state.epoch}; cost GAE lambda {parts.algo.cost_gae_lambda}", flush=True)
    tick = time.time()
    seeds = [500_000 + i for i in range(parts.budget.num_envs)]
    batch = parts.collector.collect(parts.budget.steps_per_env, seeds)
    algo, data, g, b, h_inv_g, h_inv_b, hvp = cost_gradient(parts.algo, batch, parts.algo.cost_gae_lambda)
    _, _, _, b_mc, _, h_inv_b_mc, hvp_mc = cost_gradient(parts.algo, batch, 1.0)
    print(f"update batch: J_C {float(batch.episode_cost_mean[0]):.2f} ({len(batch.episode_costs)} episodes), "
          f"cos(b, b_mc) {float(b @ b_mc / (b.norm() * b_mc.norm())):+.3f}, |b| {b.norm():.3g}, "
          f"|b_mc| {b_mc.norm():.3g} ({time.time() - tick:.0f} s)", flush=True)

    steps = {}
    mover = copy.deepcopy(algo)
    stats = mover.policy_step(data)
    steps["cpo"] = flat_params(mover.policy) - start
    print(f"cpo: mode {stats['cpo_mode']:.0f}, c {stats['cpo_c']:.2f}, kl {stats['kl']:.4f}", flush=True)
    steps["cost"] = -math.sqrt(2 * delta / float(b @ h_inv_b)) * h_inv_b
    steps["cost_mc"] = -math.sqrt(2 * delta / float(b_mc @ h_inv_b_mc)) * h_inv_b_mc
    steps["reward"] = math.sqrt(2 * delta / float(g @ h_inv_g)) * h_inv_g

    old_mean = algo.policy.distribution(data.obs).mean.detach()
    old_log_std = algo.policy.effective_log_std().detach().clone()
    reference = episode_costs(parts, start, 1_000_000, repeats)
    print(f"checkpoint policy: J_C {reference.mean():.2f} +- {reference.std() / math.sqrt(len(reference)):.2f} "
          f"({len(reference)} episodes)", flush=True)
    for name, step in steps.items():
        set_flat_params(algo.policy, start + step)
        with torch.no_grad():
            kl = float(mean_kl(algo.policy, data.obs, old_mean, old_log_std))
        moved = episode_costs(parts, start + step, 2_000_000, repeats)
        change = moved.mean() - reference.mean()
        se = math.sqrt(moved.var() / len(moved) + reference.var() / len(reference))
        print(f"{name:8s} kl {kl:.4f}: predicted {float(b @ step):+7.2f} (lambda {parts.algo.cost_gae_lambda}), "
              f"{float(b_mc @ step):+7.2f} (Monte Carlo); realised {change:+6.2f} +- {se:.2f}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 2)
