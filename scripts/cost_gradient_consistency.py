"""How much of CPO's predicted cost change survives on a held-out batch? ``PYTHONPATH=. python
scripts/cost_gradient_consistency.py RUN_DIR [BATCHES]``

Loads the run's last checkpoint and, for BATCHES independent batches of the run's size sampled by that one
policy (without updating it), computes CPO's reward and cost gradients g and b (the cost surrogate at
trajectory scale) and their natural directions H^-1 g, H^-1 b on each batch's own critics' advantages,
as an update would. It prints, per pair of batches, the cosines of g, b and of their natural directions,
and the held-out share of the cost step's linear effect: b_j . H_i^-1 b_i / b_i . H_i^-1 b_i, what batch j's
gradient says of the cost change of a step that batch i's model says lowers the cost by one unit. Nothing
in the run directory is changed (the critics are refitted on copies). Written for the Ant-Circle finding in
results/REPRODUCTION.md (CPO predicts a cost drop of about c each update and the next batch shows none).
"""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path

import torch

from checkpointed_run import load_checkpointed_run  # scripts/, beside this file


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(a @ b / (a.norm() * b.norm()))


def main(run: Path, count: int = 3) -> None:
    parts, state = load_checkpointed_run(run)
    print(f"{run}: checkpoint at update {state.epoch}", flush=True)
    found = []
    for k in range(count):
        algo = copy.deepcopy(parts.algo)  # each batch's critics are fitted on a copy, as an update would
        start = time.time()
        seeds = [10_000 * (k + 1) + i for i in range(parts.budget.num_envs)]
        batch = parts.collector.collect(parts.budget.steps_per_env, seeds)
        data, _ = algo.prepare(batch)
        _, g, b, h_inv_g, h_inv_b, _ = algo.natural_gradients(data)
        found.append((g, b[0], h_inv_g, h_inv_b[0]))
        print(f"batch {k}: J_C {float(batch.episode_cost_mean[0]):.2f}, |g| {g.norm():.3g}, |b| {b[0].norm():.3g}, "
              f"s = b.H^-1 b {float(b[0] @ h_inv_b[0]):.4g} ({time.time() - start:.0f} s)", flush=True)
    for i in range(count):
        for j in range(i + 1, count):
            (gi, bi, hgi, hbi), (gj, bj, hgj, hbj) = found[i], found[j]
            print(f"batches {i},{j}: cos(b) {cosine(bi, bj):+.3f}, cos(H^-1 b) {cosine(hbi, hbj):+.3f}, "
                  f"cos(g) {cosine(gi, gj):+.3f}, cos(H^-1 g) {cosine(hgi, hgj):+.3f}; held-out share of the cost "
                  f"step's effect {float(bj @ hbi) / float(bi @ hbi):+.3f} and {float(bi @ hbj) / float(bj @ hbj):+.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 3)
