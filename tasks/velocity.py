"""The velocity-constrained locomotion family (Safety-Gymnasium's Safety*Velocity-v1 tasks).

Reward, observation, termination and reset are gymnasium's v5 locomotion envs at their defaults
(tests/test_tasks_velocity.py checks them step for step against gymnasium), re-implemented on
MujocoTask so that a step is one ``mj_step(nstep=frame_skip)`` call plus a little numpy. The cost is
1[speed > velocity_threshold] with Safety-Gymnasium v1's thresholds and its speed measure: the x
velocity for half_cheetah, hopper, walker2d and swimmer, the planar speed |(vx, vy)| for ant and
humanoid (torso position for the ant, mass centre for the humanoid), by finite difference over dt.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import gymnasium as gym
import mujoco
import numpy as np

from tasks.gym_assets import asset_xml
from tasks.many_steps import ManySteps
from tasks.mujoco_task import MujocoTask, StepResult
from tasks.registry import TaskSpec, register

SIDE_VIEW = {"distance": 5.0, "elevation": -15.0, "azimuth": 90.0, "lookat": (0.0, 0.0, 0.6)}


class VelocityTask(MujocoTask):
    """Shared step: move, measure the velocity of ``position()``, reward, cost 1[speed > threshold]."""

    xml_file: str
    frame_skip: int
    planar_speed = False  # cost on |(vx, vy)| instead of vx
    contact_forces = False  # the reward or observation reads cfrc_ext
    gaussian_velocity_noise = False  # reset qvel noise: scale * N(0, 1) instead of U(-scale, scale)
    # (qpos index of the torso height, lowest, highest) of a healthy robot; None: the robot never falls
    healthy_height: tuple[int, float, float] | None = None

    def __init__(self, velocity_threshold: float, forward_reward_weight: float, ctrl_cost_weight: float,
                 reset_noise_scale: float, render_mode: str | None) -> None:
        self.velocity_threshold = velocity_threshold
        self.forward_reward_weight, self.ctrl_cost_weight = forward_reward_weight, ctrl_cost_weight
        self.reset_noise_scale = reset_noise_scale
        super().__init__(asset_xml(self.xml_file), self.frame_skip, render_mode=render_mode,
                         camera=dict(SIDE_VIEW))
        low, high = self.model.actuator_ctrlrange.T.astype(np.float32)
        self.action_space = gym.spaces.Box(low, high, dtype=np.float32)
        size = self.observation().size
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(size,), dtype=np.float64)

    def position(self) -> np.ndarray:
        """The point whose displacement over a step is the velocity (gymnasium's choice per robot)."""
        return self.data.qpos[0:2].copy()

    def observation(self) -> np.ndarray:
        raise NotImplementedError

    def reward(self, x_velocity: float, action: np.ndarray, healthy: bool) -> float:
        """Forward reward minus control cost (robots with more terms extend it)."""
        return self.forward_reward_weight * x_velocity - self.ctrl_cost_weight * np.sum(np.square(action))

    def healthy(self) -> bool:
        return True

    def reset_model(self) -> np.ndarray:
        scale, rng = self.reset_noise_scale, self.np_random
        qpos = self.init_qpos + rng.uniform(low=-scale, high=scale, size=self.model.nq)
        if self.gaussian_velocity_noise:
            qvel = self.init_qvel + scale * rng.standard_normal(self.model.nv)
        else:
            qvel = self.init_qvel + rng.uniform(low=-scale, high=scale, size=self.model.nv)
        self.set_state(qpos, qvel)
        return self.observation()

    def step(self, action: np.ndarray) -> StepResult:
        model, data = self.model, self.data
        before = self.position()
        data.ctrl[:] = action
        mujoco.mj_step(model, data, nstep=self.frame_skip)
        if self.contact_forces:
            mujoco.mj_rnePostConstraint(model, data)
        velocity = (self.position() - before) / self.dt
        x_velocity = velocity[0]  # numpy float64: the reward's arithmetic then matches gymnasium's exactly
        speed = math.hypot(x_velocity, velocity[1]) if self.planar_speed else float(x_velocity)
        healthy = self.healthy()
        reward = float(self.reward(x_velocity, action, healthy))
        info = {"cost": float(speed > self.velocity_threshold), "speed": speed, "x_velocity": float(x_velocity)}
        return self.observation(), reward, not healthy, False, info

    def render(self) -> np.ndarray | None:
        self._camera_config["lookat"] = (float(self.data.qpos[0]), 0.0, 0.6)
        return super().render()

    can_step_many = False  # the fast path (tasks/many_steps.py) covers the ant, the comparison with OmniSafe


class HalfCheetahVelocity(VelocityTask):
    """Observation: qpos[1:] (8), qvel (9)."""

    xml_file, frame_skip, gaussian_velocity_noise = "half_cheetah.xml", 5, True

    def __init__(self, velocity_threshold: float = 3.2096, forward_reward_weight: float = 1.0,
                 ctrl_cost_weight: float = 0.1, reset_noise_scale: float = 0.1,
                 render_mode: str | None = None) -> None:
        super().__init__(velocity_threshold, forward_reward_weight, ctrl_cost_weight, reset_noise_scale,
                         render_mode)

    def observation(self) -> np.ndarray:
        return np.concatenate((self.data.qpos[1:], self.data.qvel))


class SwimmerVelocity(VelocityTask):
    """Observation: qpos[2:] (3), qvel (5)."""

    xml_file, frame_skip = "swimmer.xml", 4

    def __init__(self, velocity_threshold: float = 0.2282, forward_reward_weight: float = 1.0,
                 ctrl_cost_weight: float = 1e-4, reset_noise_scale: float = 0.1,
                 render_mode: str | None = None) -> None:
        super().__init__(velocity_threshold, forward_reward_weight, ctrl_cost_weight, reset_noise_scale,
                         render_mode)

    def observation(self) -> np.ndarray:
        return np.concatenate((self.data.qpos[2:], self.data.qvel))


class _HealthyWalker(VelocityTask):
    """Hopper and Walker2d: alive bonus while healthy, clipped velocities in the observation."""

    def __init__(self, velocity_threshold: float, forward_reward_weight: float, ctrl_cost_weight: float,
                 healthy_reward: float, reset_noise_scale: float, render_mode: str | None) -> None:
        self.healthy_reward = healthy_reward
        super().__init__(velocity_threshold, forward_reward_weight, ctrl_cost_weight, reset_noise_scale,
                         render_mode)

    def observation(self) -> np.ndarray:
        return np.concatenate((self.data.qpos[1:], np.clip(self.data.qvel, -10.0, 10.0)))

    def reward(self, x_velocity: float, action: np.ndarray, healthy: bool) -> float:
        return super().reward(x_velocity, action, healthy) + healthy * self.healthy_reward


class HopperVelocity(_HealthyWalker):
    """Observation: qpos[1:] (5), clip(qvel, -10, 10) (6)."""

    xml_file, frame_skip = "hopper.xml", 4
    healthy_height = (1, 0.7, math.inf)  # and an upright torso, see healthy()

    def __init__(self, velocity_threshold: float = 0.7402, forward_reward_weight: float = 1.0,
                 ctrl_cost_weight: float = 1e-3, healthy_reward: float = 1.0, reset_noise_scale: float = 5e-3,
                 render_mode: str | None = None) -> None:
        super().__init__(velocity_threshold, forward_reward_weight, ctrl_cost_weight, healthy_reward,
                         reset_noise_scale, render_mode)

    def healthy(self) -> bool:
        qpos, qvel = self.data.qpos, self.data.qvel
        z, angle = qpos[1], qpos[2]
        if not (self.healthy_height[1] < z and -0.2 < angle < 0.2):
            return False
        return bool(np.abs(qpos[2:]).max() < 100.0 and np.abs(qvel).max() < 100.0)  # NaN fails too


class Walker2dVelocity(_HealthyWalker):
    """Observation: qpos[1:] (8), clip(qvel, -10, 10) (9)."""

    xml_file, frame_skip = "walker2d_v5.xml", 4
    healthy_height = (1, 0.8, 2.0)  # and an upright torso, see healthy()

    def __init__(self, velocity_threshold: float = 2.3415, forward_reward_weight: float = 1.0,
                 ctrl_cost_weight: float = 1e-3, healthy_reward: float = 1.0, reset_noise_scale: float = 5e-3,
                 render_mode: str | None = None) -> None:
        super().__init__(velocity_threshold, forward_reward_weight, ctrl_cost_weight, healthy_reward,
                         reset_noise_scale, render_mode)

    def healthy(self) -> bool:
        _, low, high = self.healthy_height
        z, angle = self.data.qpos[1], self.data.qpos[2]
        return bool(low < z < high and -1.0 < angle < 1.0)


class AntVelocity(VelocityTask):
    """Observation: qpos[2:] (13), qvel (14), clip(cfrc_ext[1:], -1, 1) (13 x 6): 105 numbers."""

    xml_file, frame_skip = "ant.xml", 5
    planar_speed = contact_forces = gaussian_velocity_noise = True
    healthy_height = (2, 0.2, 1.0)

    def __init__(self, velocity_threshold: float = 2.6222, forward_reward_weight: float = 1.0,
                 ctrl_cost_weight: float = 0.5, contact_cost_weight: float = 5e-4, healthy_reward: float = 1.0,
                 reset_noise_scale: float = 0.1, render_mode: str | None = None) -> None:
        self.contact_cost_weight, self.healthy_reward = contact_cost_weight, healthy_reward
        super().__init__(velocity_threshold, forward_reward_weight, ctrl_cost_weight, reset_noise_scale,
                         render_mode)

    def position(self) -> np.ndarray:
        return self.data.xpos[1, :2].copy()

    def observation(self) -> np.ndarray:
        forces = np.clip(self.data.cfrc_ext[1:], -1.0, 1.0).ravel()
        return np.concatenate((self.data.qpos[2:], self.data.qvel, forces))

    def healthy(self) -> bool:
        data = self.data
        finite = np.isfinite(data.qpos).all() and np.isfinite(data.qvel).all()
        _, low, high = self.healthy_height
        return bool(finite and low <= data.qpos[2] <= high)

    def reward(self, x_velocity: float, action: np.ndarray, healthy: bool) -> float:
        contact = self.contact_cost_weight * np.sum(np.square(np.clip(self.data.cfrc_ext, -1.0, 1.0)))
        return super().reward(x_velocity, action, healthy) + healthy * self.healthy_reward - contact

    can_step_many = True

    @staticmethod
    def step_many(tasks: Sequence[AntVelocity], actions: np.ndarray) -> ManySteps:
        """``step`` of many ants at once (``tasks/many_steps.py``): the MuJoCo calls and copies in a loop, the
        rest as arrays, in the same operations as ``step`` (tests/test_step_many.py checks it bit for bit)."""
        first, n = tasks[0], len(tasks)
        model, nq, nv = first.model, first.model.nq, first.model.nv
        before, after = np.empty((n, 2)), np.empty((n, 2))
        qpos, qvel, forces = np.empty((n, nq)), np.empty((n, nv)), np.empty((n, model.nbody * 6))
        for i, task in enumerate(tasks):
            data = task.data
            before[i] = data.xpos[1, :2]
            data.ctrl[:] = actions[i]
            mujoco.mj_step(model, data, nstep=first.frame_skip)
            mujoco.mj_rnePostConstraint(model, data)
            after[i], qpos[i], qvel[i], forces[i] = data.xpos[1, :2], data.qpos, data.qvel, data.cfrc_ext.ravel()
        velocity = (after - before) / first.dt
        x_velocity = velocity[:, 0]
        speed = np.array([math.hypot(vx, vy) for vx, vy in velocity.tolist()])
        _, low, high = first.healthy_height
        healthy = np.isfinite(qpos).all(axis=1) & np.isfinite(qvel).all(axis=1) & (low <= qpos[:, 2]) & (qpos[:, 2] <= high)
        clipped = np.clip(forces, -1.0, 1.0)
        reward = (first.forward_reward_weight * x_velocity - first.ctrl_cost_weight * np.sum(np.square(actions), axis=1)
                  + healthy * first.healthy_reward - first.contact_cost_weight * np.sum(np.square(clipped), axis=1))
        obs = np.concatenate((qpos[:, 2:], qvel, clipped[:, 6:]), axis=1)
        return ManySteps(obs, reward, (speed > first.velocity_threshold).astype(float), ~healthy)


class HumanoidVelocity(VelocityTask):
    """Observation: qpos[2:] (22), qvel (23), cinert[1:] (130), cvel[1:] (78), qfrc_actuator[6:] (17),
    cfrc_ext[1:] (78): 348 numbers."""

    xml_file, frame_skip = "humanoid.xml", 5
    planar_speed = contact_forces = True
    healthy_height = (2, 1.0, 2.0)

    def __init__(self, velocity_threshold: float = 1.4149, forward_reward_weight: float = 1.25,
                 ctrl_cost_weight: float = 0.1, contact_cost_weight: float = 5e-7, healthy_reward: float = 5.0,
                 reset_noise_scale: float = 1e-2, render_mode: str | None = None) -> None:
        self.contact_cost_weight, self.healthy_reward = contact_cost_weight, healthy_reward
        super().__init__(velocity_threshold, forward_reward_weight, ctrl_cost_weight, reset_noise_scale,
                         render_mode)
        self._mass = self.model.body_mass.copy()
        self._total_mass = float(self._mass.sum())

    def position(self) -> np.ndarray:
        return (self._mass @ self.data.xipos)[:2] / self._total_mass

    def observation(self) -> np.ndarray:
        data = self.data
        return np.concatenate((data.qpos[2:], data.qvel, data.cinert[1:].ravel(), data.cvel[1:].ravel(),
                               data.qfrc_actuator[6:], data.cfrc_ext[1:].ravel()))

    def healthy(self) -> bool:
        _, low, high = self.healthy_height
        return bool(low < self.data.qpos[2] < high)

    def reward(self, x_velocity: float, action: np.ndarray, healthy: bool) -> float:
        data = self.data
        ctrl_cost = self.ctrl_cost_weight * np.sum(np.square(data.ctrl))
        contact_cost = min(self.contact_cost_weight * np.sum(np.square(data.cfrc_ext)), 10.0)
        return self.forward_reward_weight * x_velocity + healthy * self.healthy_reward - ctrl_cost - contact_cost


for _name, _gym_name, _cls in (
    ("half_cheetah_velocity", "HalfCheetahVelocity", HalfCheetahVelocity),
    ("hopper_velocity", "HopperVelocity", HopperVelocity),
    ("walker2d_velocity", "Walker2dVelocity", Walker2dVelocity),
    ("ant_velocity", "AntVelocity", AntVelocity),
    ("humanoid_velocity", "HumanoidVelocity", HumanoidVelocity),
    ("swimmer_velocity", "SwimmerVelocity", SwimmerVelocity),
):
    register(TaskSpec(
        name=_name, gym_id=f"safebench/{_gym_name}-v0", entry_point=_cls, robot=_name.removesuffix("_velocity"),
        horizon=1000, cost_limit=25.0, batch_size=20_000, cost_gae_lambda=0.95,
    ))
