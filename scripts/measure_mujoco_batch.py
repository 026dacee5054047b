"""Whether MuJoCo 4's ``mujoco.batch.Batch`` could replace the legged tasks' ``advance_many`` loop (issue 20).

``Batch`` steps many simulations of one model in one call into C. With ``persistent=True`` and
``stage=mjSTAGE_POS`` it leaves each simulation's position stage (``subtree_com`` included) computed at the
new state, as ``advance_many``'s ``mj_kinematics`` + ``mj_comPos`` do. What it cannot give is the tasks'
``cfrc_ext``: they read ``mj_rnePostConstraint`` after the step, at the RK4 integrator's last stage (as
gymnasium and rllab do), and ``Batch`` runs it only for sensors, inside ``mj_forward``, at the first stage.
This script checks both claims bit for bit against the tasks' own ``advance`` and times the two loops,
alternated in one process. Prints one JSON line per check and per timing round.

    PYTHONPATH=. .venv/bin/python scripts/measure_mujoco_batch.py [TASK]   (ant_circle or humanoid_circle; needs mujoco >= 4)
"""

from __future__ import annotations

import json
import sys
import time

import mujoco
import mujoco.batch
import numpy as np

import tasks
from tasks.circle import limit_panels_xml
from tasks.circle_task import CircleTask
from tasks.gym_assets import compile_model
from tasks.legged_robot import advance_many

POS = mujoco.mjtStage.mjSTAGE_POS.value
STEPS, ENVS, ROUNDS = 300, 64, 3


def with_rne_sensor(task: CircleTask) -> mujoco.MjModel:
    """The circle task's model plus an accelerometer, the sensor that makes mj_forward run mj_rnePostConstraint."""
    world = limit_panels_xml(task.x_limit, half_length=task.circle_radius + 5.0) + '<site name="rne_post"/>'
    xml = task.robot.model_xml(world).replace("</mujoco>", '<sensor><accelerometer site="rne_post"/></sensor></mujoco>')
    return compile_model(xml)


def first_mismatches(name: str, model: mujoco.MjModel, steps: int = STEPS, n: int = 16) -> dict[str, int | None]:
    """The first step at which Batch's qpos, qvel, torso COM and cfrc_ext differ from ``advance``'s (None: never)."""
    envs = [tasks.make(name).unwrapped for _ in range(n)]
    for i, env in enumerate(envs):
        env.reset(seed=i)
    robot = envs[0].robot
    batch = mujoco.batch.Batch(model, nsim=n, nthread=1, persistent=True)
    fields = {key: batch.bind(key) for key in ("qpos", "qvel", "ctrl", "qacc_warmstart", "subtree_com", "cfrc_ext")}
    for i, env in enumerate(envs):
        for key in ("qpos", "qvel", "qacc_warmstart", "ctrl"):
            fields[key][i] = getattr(env.data, key)
    batch.forward(stage=POS)
    rng, first = np.random.default_rng(0), {"qpos": None, "qvel": None, "torso_com": None, "cfrc_ext": None}
    for t in range(steps):
        actions = rng.uniform(-1, 1, (n, robot.model.nu))
        for i, env in enumerate(envs):
            env.robot.advance(actions[i])
        fields["ctrl"][:] = np.minimum(np.maximum(actions, robot.low), robot.high)
        batch.step(nstep=robot.frame_skip, stage=POS)
        for i, env in enumerate(envs):
            pairs = {"qpos": (fields["qpos"][i], env.data.qpos), "qvel": (fields["qvel"][i], env.data.qvel),
                     "torso_com": (fields["subtree_com"][i, robot.torso], env.data.subtree_com[robot.torso]),
                     "cfrc_ext": (fields["cfrc_ext"][i], env.data.cfrc_ext)}
            for key, (got, expected) in pairs.items():
                if first[key] is None and not np.array_equal(got, expected):
                    first[key] = t
    return first


def loop_us(name: str, model: mujoco.MjModel, use_batch: bool, steps: int = 150) -> float:
    """Microseconds per robot-step of ENVS robots with random actions, fallen ones reset, one core."""
    envs = [tasks.make(name).unwrapped for _ in range(ENVS)]
    for i, env in enumerate(envs):
        env.reset(seed=i)
    robot, rng = envs[0].robot, np.random.default_rng(1)
    if use_batch:
        batch = mujoco.batch.Batch(model, nsim=ENVS, nthread=1, persistent=True)
        qpos, qvel, ctrl, com, cfrc = (batch.bind(k) for k in ("qpos", "qvel", "ctrl", "subtree_com", "cfrc_ext"))
        for i, env in enumerate(envs):
            qpos[i], qvel[i] = env.data.qpos, env.data.qvel
        batch.forward(stage=POS)
    start = time.perf_counter()
    for _ in range(steps):
        actions = rng.uniform(-1, 1, (ENVS, robot.model.nu))
        if not use_batch:
            advance_many([env.robot for env in envs], actions)
            for env in envs:
                if env.robot.fallen():
                    env.reset()
            continue
        ctrl[:] = np.minimum(np.maximum(actions, robot.low), robot.high)
        batch.step(nstep=robot.frame_skip, stage=POS)
        np.concatenate((qpos, qvel, com[:, robot.torso]), axis=1)  # what an observation needs
        np.minimum(np.maximum(cfrc, -1.0), 1.0)
        z = qpos[:, 2]
        fallen = np.flatnonzero((z < robot.healthy_z_min) | (z > robot.healthy_z_max))
        if len(fallen):
            batch.reset(fallen, stage=mujoco.mjtStage.mjSTAGE_NONE.value)
            qpos[fallen] = robot.init_qpos
            batch.forward(fallen, stage=POS)
    return (time.perf_counter() - start) / steps / ENVS * 1e6


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "ant_circle"
    task = tasks.make(name).unwrapped
    plain, sensed = task.model, with_rne_sensor(task)
    print(json.dumps({"task": name, "check": "Batch against advance, first mismatching step",
                      "model": "the task's", **first_mismatches(name, plain)}))
    print(json.dumps({"task": name, "check": "Batch against advance, first mismatching step",
                      "model": "with an accelerometer", **first_mismatches(name, sensed)}))
    for _ in range(ROUNDS):
        print(json.dumps({"task": name, "us_per_robot_step": {"advance_many": round(loop_us(name, plain, False), 1),
                                                               "batch": round(loop_us(name, plain, True), 1)}}))


if __name__ == "__main__":
    main()
