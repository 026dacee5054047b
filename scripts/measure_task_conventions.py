"""Measured effects of the task conventions that docs/fidelity.md (Tasks) records.

Point-Circle episode length under the released random end vs a fixed horizon; the mean episode
cost when the circle cost reads the state before vs after the action (N(0, 1) actions, the initial
policy's, clipped by the task); the share of initial-policy action components clipped by each
action box. Rerun: ``PYTHONPATH=. python scripts/measure_task_conventions.py [episodes]``.
"""

from __future__ import annotations

import json
import math
import sys

import mujoco
import numpy as np

import tasks
from tasks.circle import circle_reward


def episodes(name: str, count: int, **params) -> tuple[float, float]:
    """Mean episode length and mean episode cost under N(0, 1) actions (seeded)."""
    env = tasks.make(name, **params)
    rng = np.random.default_rng(0)
    lengths, costs = [], []
    for seed in range(count):
        env.reset(seed=seed)
        length, cost, done = 0, 0.0, False
        while not done:
            _, _, terminated, truncated, info = env.step(rng.standard_normal(env.action_space.shape).astype(np.float32))
            length, cost, done = length + 1, cost + info["cost"], terminated or truncated
        lengths.append(length)
        costs.append(cost)
    return float(np.mean(lengths)), float(np.mean(costs))


def clipped_share(bound: np.ndarray) -> float:
    """Share of N(0, 1) samples outside [-bound, bound], averaged over the action components."""
    return float(np.mean([math.erfc(b / math.sqrt(2.0)) for b in np.atleast_1d(bound)]))


def comvel_gap(count: int) -> dict:
    """Circle reward from our finite-difference COM velocity vs rllab's instantaneous subtree COM
    velocity (mjcore.py _compute_subtree), on the ant under uniform full-torque actions."""
    env = tasks.make("ant_circle").unwrapped
    rng = np.random.default_rng(0)
    ours, released = [], []
    for seed in range(count):
        env.reset(seed=seed)
        for _ in range(500):
            before = env.robot.com_xy()
            env.robot.advance(rng.uniform(-150.0, 150.0, 8))
            after = env.robot.com_xy()
            vx, vy = (after - before) / env.dt
            mujoco.mj_forward(env.model, env.data)
            mujoco.mj_subtreeVel(env.model, env.data)
            ivx, ivy = env.data.subtree_linvel[env.robot.torso, :2]
            ours.append(circle_reward(after[0], after[1], vx, vy, 10.0))
            released.append(circle_reward(after[0], after[1], ivx, ivy, 10.0))
            if env.robot.fallen():
                break
    ours, released = np.array(ours), np.array(released)
    return {"steps": len(ours), "mean_abs_reward": round(float(np.abs(released).mean()), 4),
            "mean_abs_gap": round(float(np.abs(ours - released).mean()), 4),
            "correlation": round(float(np.corrcoef(ours, released)[0, 1]), 4)}


def main(count: int = 200) -> None:
    """Print one JSON line per measured convention."""
    for name, params in (("point_circle", {}), ("point_circle", {"random_end": False}),
                         ("point_circle", {"cost_timing": "after"}), ("ant_circle", {}),
                         ("ant_circle", {"cost_timing": "after"})):
        length, cost = episodes(name, count if name == "point_circle" else count // 10, **params)
        print(json.dumps({"task": name, **params, "mean_episode_length": round(length, 2),
                          "mean_episode_cost": round(cost, 3)}))
    for name, params in (("point_circle", {}), ("ant_circle", {"torque_actions": False}), ("ant_circle", {}),
                         ("humanoid_circle", {"torque_actions": False}), ("humanoid_circle", {})):
        bound = tasks.make(name, **params).action_space.high
        print(json.dumps({"task": name, **params, "initial_policy_components_clipped": round(clipped_share(bound), 4)}))
    print(json.dumps({"ant_circle reward velocity, finite difference vs instantaneous": comvel_gap(count // 20)}))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
