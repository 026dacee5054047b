"""Env-steps/s of OmniSafe's CPO on SafetyAntVelocity-v1: one JSON line (run by compare_omnisafe.sh).

Runs inside the throwaway virtualenv that ``scripts/compare_omnisafe.sh`` makes, never safebench's.
``python omnisafe_throughput.py --epochs 2 --steps-per-epoch 10000 --threads 2 --log-dir DIR``.
The figure is total env steps over the wall time of ``agent.learn()`` (sampling and updates; the agent's
construction excluded), with OmniSafe's own default CPO settings otherwise (1 env, obs normalisation).
"""

from __future__ import annotations

import argparse
import json
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps-per-epoch", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--env-id", default="SafetyAntVelocity-v1")
    parser.add_argument("--log-dir", required=True)
    args = parser.parse_args()

    import omnisafe
    import torch

    total = args.epochs * args.steps_per_epoch
    custom_cfgs = {
        "seed": 0,
        "train_cfgs": {"total_steps": total, "vector_env_nums": 1, "parallel": 1, "device": "cpu",
                       "torch_threads": args.threads},
        "algo_cfgs": {"steps_per_epoch": args.steps_per_epoch},
        "logger_cfgs": {"use_wandb": False, "use_tensorboard": False, "save_model_freq": 10**9,
                        "log_dir": args.log_dir},
    }
    agent = omnisafe.Agent("CPO", args.env_id, custom_cfgs=custom_cfgs)
    start = time.perf_counter()
    agent.learn()
    seconds = time.perf_counter() - start
    print(json.dumps({"figure": "omnisafe_end_to_end_steps_per_s", "value": total / seconds,
                      "algo": "CPO", "env_id": args.env_id, "omnisafe": omnisafe.__version__,
                      "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                      "env_steps": total, "seconds": seconds, "num_envs": 1}), flush=True)


if __name__ == "__main__":
    main()
