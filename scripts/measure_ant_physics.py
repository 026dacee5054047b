"""Ant physics settings under random actions: how often the ant 'falls', and whether it stays stable.

Compares gymnasium's ant (timestep 0.01 s, frame skip 2, MuJoCo's default solimp) with rllab's
(timestep 0.02 s, frame skip 1, solimp 0.8 0.8 0.01), under three action distributions, in N m:
uniform full torque (+-150), the released initial policy (raw N(0, 1) torques: rllab's
GaussianMLPPolicy init_std=1, no normalize wrapper) and ours before torque actions (N(0, 1) controls
clipped to [-1, 1], i.e. +-150 N m). Prints one JSON line per (physics, actions). docs/fidelity.md
quotes these numbers; rerun: ``PYTHONPATH=. python scripts/measure_ant_physics.py [episodes]``.
"""

from __future__ import annotations

import json
import sys

import mujoco
import numpy as np

import tasks

PHYSICS = {
    "gymnasium (0.01 s x 2, default solimp)": {"timestep": 0.01, "frame_skip": 2, "contact_solimp": None},
    "gymnasium timestep, rllab solimp": {"timestep": 0.01, "frame_skip": 2},
    "rllab timestep, default solimp": {"timestep": 0.02, "frame_skip": 1, "contact_solimp": None},
    "rllab (0.02 s x 1, solimp .8 .8 .01)": {"timestep": 0.02, "frame_skip": 1},
}


def actions(kind: str, rng: np.random.Generator) -> np.ndarray:
    """One action in N m for the ant's 8 motors."""
    if kind == "uniform full torque":
        return rng.uniform(-150.0, 150.0, 8)
    if kind == "released initial policy N(0,1) N m":
        return rng.standard_normal(8)
    return 150.0 * np.clip(rng.standard_normal(8), -1.0, 1.0)  # "old initial policy N(0,1) ctrl, clipped"


def measure(physics: dict, kind: str, episodes: int, horizon: int = 500) -> dict:
    """Episode ends by cause, mean length, MuJoCo warnings, deepest penetration, fastest joint."""
    env = tasks.make("ant_circle", **physics).unwrapped
    rng = np.random.default_rng(0)
    lengths, high, low, nonfinite, warnings = [], 0, 0, 0, 0
    deepest, fastest = 0.0, 0.0
    for episode in range(episodes):
        env.reset(seed=episode)
        for step in range(1, horizon + 1):
            _, _, terminated, _, _ = env.step(actions(kind, rng).astype(np.float32))
            data = env.data
            if data.ncon:
                deepest = max(deepest, float(-data.contact.dist[:data.ncon].min()))
            if np.all(np.isfinite(data.qvel)):
                fastest = max(fastest, float(np.abs(data.qvel).max()))
            if terminated:
                z = data.qpos[2]
                nonfinite += not np.all(np.isfinite(data.qvel)) or not np.isfinite(z)
                high += bool(z > 1.0)
                low += bool(z < 0.2)
                break
        lengths.append(step)
        warnings += int(sum(w.number for w in env.data.warning))
        mujoco.mj_resetData(env.model, env.data)
    steps = sum(lengths)
    return {"episodes": episodes, "mean_length": round(float(np.mean(lengths)), 1),
            "ended_torso_above_1": high / episodes, "ended_torso_below_0.2": low / episodes,
            "ended_nonfinite": nonfinite / episodes, "steps_ending_above_1": round(high / steps, 5),
            "mujoco_warnings": warnings, "deepest_penetration_m": round(deepest, 4),
            "max_abs_qvel": round(fastest, 1)}


def main(episodes: int = 100) -> None:
    """Every physics setting against every action distribution."""
    kinds = ("uniform full torque", "released initial policy N(0,1) N m", "old initial policy N(0,1) ctrl, clipped")
    for name, physics in PHYSICS.items():
        for kind in kinds:
            print(json.dumps({"physics": name, "actions": kind, **measure(physics, kind, episodes)}), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
