"""The ant and the humanoid of the paper's tasks, on gymnasium's model files.

Reward terms, observation and termination follow the released code's robots (rllab's ``AntEnv`` and
``SimpleHumanoidEnv``): alive bonus, control cost ``w * sum((a / half_range)^2)``, contact cost
``w * sum(clip(cfrc_ext, -1, 1)^2)``, and the episode ends when the torso height leaves its range.
Optionally the model's timestep and contact softness are set to the released model's, and actions
are joint torques in N m (rllab's motors had gear 1), not gymnasium's controls in [-1, 1] or [-0.4, 0.4].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import gymnasium as gym
import mujoco
import numpy as np

from tasks.gym_assets import add_to_worldbody, asset_xml, set_attributes


class LeggedRobot:
    """A free-floating MuJoCo robot with a ``torso`` root body, stepped with one ``mj_step`` call."""

    def __init__(
        self,
        xml_file: str,
        frame_skip: int,
        alive_bonus: float,
        ctrl_cost_weight: float,
        contact_cost_weight: float,
        healthy_z_min: float,
        healthy_z_max: float,
        reset_noise_scale: float,
        reset_velocity_noise_scale: float,
        observe_contact_forces: bool,
        timestep: float | None = None,
        contact_solimp: str | None = None,
        contact_solref: str | None = None,
        torque_actions: bool = False,
    ) -> None:
        self.xml_file, self.frame_skip = xml_file, int(frame_skip)
        self.alive_bonus, self.ctrl_cost_weight = alive_bonus, ctrl_cost_weight
        self.contact_cost_weight = contact_cost_weight
        self.healthy_z_min, self.healthy_z_max = healthy_z_min, healthy_z_max
        self.reset_noise_scale = reset_noise_scale
        self.reset_velocity_noise_scale = reset_velocity_noise_scale
        self.observe_contact_forces = observe_contact_forces
        self.option = {"timestep": repr(float(timestep))} if timestep is not None else {}
        self.geom_default = {key: value for key, value in (("solimp", contact_solimp), ("solref", contact_solref))
                             if value is not None}
        self.torque_actions = torque_actions

    def model_xml(self, extra_world: str) -> str:
        xml = set_attributes(asset_xml(self.xml_file), "option", self.option)
        xml = set_attributes(xml, "default/geom", self.geom_default)
        return add_to_worldbody(xml, extra_world)

    def attach(self, model: mujoco.MjModel, data: mujoco.MjData) -> None:
        self.model, self.data = model, data
        self.torso = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "torso")
        self.init_qpos = initial_qpos(model)
        self.low, self.high = model.actuator_ctrlrange.T.copy()
        # torque = gear * ctrl: with torque actions the policy acts in N m, as on rllab's gear-1 motors
        self.action_scale = model.actuator_gear[:, 0].copy() if self.torque_actions else np.ones(model.nu)
        self._action_space = gym.spaces.Box((self.low * self.action_scale).astype(np.float32),
                                            (self.high * self.action_scale).astype(np.float32), dtype=np.float32)
        self.inv_half_range = 2.0 / (self.high - self.low)
        self._scaled_ctrl = np.zeros(model.nu)
        self._forces = np.zeros((model.nbody, 6))  # clipped cfrc_ext, reused every step
        # Contact forces (cfrc_ext) are only computed when something reads them.
        self.needs_contact_forces = self.observe_contact_forces or self.contact_cost_weight != 0.0
        self._bind_views()

    def _bind_views(self) -> None:
        """Views into data's fixed buffers, kept for ``advance_many`` (each ``data.x`` builds a new array)."""
        data = self.data
        self._views = (data.ctrl, data.qpos, data.qvel, data.subtree_com[self.torso])
        self._xmat_view = data.xmat[self.torso]  # ``heading`` for ``advance_many(..., heading=True)``

    def __getstate__(self) -> dict:
        """Pickled without the views (a pickle would copy them apart from ``data``); unpickling binds them again."""
        return {key: value for key, value in self.__dict__.items() if key not in ("_views", "_xmat_view")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if "data" in state:
            self._bind_views()

    @property
    def action_space(self) -> gym.spaces.Box:
        return self._action_space

    @property
    def observation_size(self) -> int:
        contact = self.model.nbody * 6 if self.observe_contact_forces else 0
        return self.model.nq + self.model.nv + contact + 3

    def reset(self, rng: np.random.Generator) -> None:
        data = self.data
        data.qpos[:] = self.init_qpos + self.reset_noise_scale * rng.standard_normal(self.model.nq)
        data.qvel[:] = self.reset_velocity_noise_scale * rng.standard_normal(self.model.nv)
        mujoco.mj_forward(self.model, data)

    def advance(self, action: np.ndarray) -> None:
        model, data = self.model, self.data
        np.divide(action, self.action_scale, out=data.ctrl)
        np.minimum(np.maximum(data.ctrl, self.low, out=data.ctrl), self.high, out=data.ctrl)  # np.clip is slower
        mujoco.mj_step(model, data, nstep=self.frame_skip)
        if self.needs_contact_forces:
            mujoco.mj_rnePostConstraint(model, data)
        # mj_step leaves positions one substep old; refresh them so x, y and the COM are current.
        mujoco.mj_kinematics(model, data)
        mujoco.mj_comPos(model, data)

    def observation(self) -> np.ndarray:
        data = self.data
        if self.observe_contact_forces:
            forces = self._clipped_forces().ravel()
            return np.concatenate((data.qpos, data.qvel, forces, data.subtree_com[self.torso]))
        return np.concatenate((data.qpos, data.qvel, data.subtree_com[self.torso]))

    def com_xy(self) -> np.ndarray:
        return self.data.subtree_com[self.torso, :2].copy()

    def heading(self) -> float:
        xmat = self.data.xmat[self.torso]
        return math.atan2(xmat[3], xmat[0])

    @property
    def healthy_height(self) -> tuple[int, float, float]:
        """(qpos index of the torso height, lowest, highest) of a healthy robot: the free joint's z."""
        return 2, self.healthy_z_min, self.healthy_z_max

    def fallen(self) -> bool:
        qvel = self.data.qvel
        healthy = self.healthy_z_min <= self.data.qpos[2] <= self.healthy_z_max  # False for NaN
        return not (healthy and math.isfinite(qvel @ qvel))  # NaN, inf or exploding velocities

    def usual_reward(self) -> float:
        ctrl = np.multiply(self.data.ctrl, self.inv_half_range, out=self._scaled_ctrl)
        reward = self.alive_bonus - self.ctrl_cost_weight * float(ctrl @ ctrl)
        if self.contact_cost_weight:
            forces = self._clipped_forces().ravel()
            reward -= self.contact_cost_weight * float(forces @ forces)
        return reward

    def _clipped_forces(self) -> np.ndarray:
        """cfrc_ext clipped to [-1, 1] (the released code's contact features), in a reused buffer."""
        return np.minimum(np.maximum(self.data.cfrc_ext, -1.0, out=self._forces), 1.0, out=self._forces)


def initial_qpos(model: mujoco.MjModel) -> np.ndarray:
    """The model's ``init_qpos`` numeric if it has one (ant.xml does, as rllab read it), else qpos0."""
    try:
        return np.array(model.numeric("init_qpos").data, dtype=np.float64)
    except KeyError:
        return model.qpos0.copy()


@dataclass
class RobotSteps:
    """One environment step of many copies of a robot, as arrays with a leading robot axis."""

    com_before: np.ndarray  # (n, 2) torso subtree COM before the step
    com_after: np.ndarray  # (n, 2) ... and after it
    usual_reward: np.ndarray  # (n,) alive bonus minus control and contact costs
    observation: np.ndarray  # (n, observation_size)
    fallen: np.ndarray  # (n,) bool
    heading: list[float] | None = None  # torso yaws after the step (``heading()``), if asked for


def advance_many(robots: Sequence[LeggedRobot], actions: np.ndarray, heading: bool = False) -> RobotSteps:
    """``advance`` and the reads that follow it, for many robots of one model at once.

    The sampler's fast path: the numbers are those of the per-robot methods bit for bit (tested),
    with only the MuJoCo calls and the small dot products left in a loop over robots. ``heading``
    adds the torso yaws (gather's sensors), which the circle tasks do not pay for."""
    first, n = robots[0], len(robots)
    ctrl = np.minimum(np.maximum(np.divide(actions, first.action_scale), first.low), first.high)
    contact = first.needs_contact_forces
    nq, nv, nforces = first.model.nq, first.model.nv, first.model.nbody * 6
    before = np.empty((n, 2))
    qpos, qvel, com = np.empty((n, nq)), np.empty((n, nv)), np.empty((n, 3))
    forces = np.empty((n, nforces)) if first.observe_contact_forces else None
    ctrl_sq, force_sq, vel_sq = np.zeros(n), np.zeros(n), np.empty(n)
    yaws = [0.0] * n if heading else None
    for i, robot in enumerate(robots):
        model, data = robot.model, robot.data
        ctrl_view, qpos_view, qvel_view, com_view = robot._views
        before[i] = com_view[:2]
        ctrl_view[:] = ctrl[i]
        mujoco.mj_step(model, data, nstep=robot.frame_skip)
        if contact:
            mujoco.mj_rnePostConstraint(model, data)
        mujoco.mj_kinematics(model, data)
        mujoco.mj_comPos(model, data)
        scaled = np.multiply(ctrl_view, robot.inv_half_range, out=robot._scaled_ctrl)
        ctrl_sq[i] = scaled @ scaled
        if contact:
            clipped = robot._clipped_forces().ravel()
            force_sq[i] = clipped @ clipped
            if forces is not None:
                forces[i] = clipped
        qpos[i], qvel[i], com[i] = qpos_view, qvel_view, com_view
        vel_sq[i] = qvel_view @ qvel_view  # only its finiteness matters (``fallen``)
        if yaws is not None:
            xmat = robot._xmat_view
            yaws[i] = math.atan2(xmat[3], xmat[0])  # ``heading()``'s expression
    after = com[:, :2].copy()
    reward = first.alive_bonus - first.ctrl_cost_weight * ctrl_sq
    if first.contact_cost_weight:
        reward -= first.contact_cost_weight * force_sq
    parts = (qpos, qvel, forces, com) if forces is not None else (qpos, qvel, com)
    z = qpos[:, 2]
    healthy = (first.healthy_z_min <= z) & (z <= first.healthy_z_max) & np.isfinite(vel_sq)
    return RobotSteps(before, after, reward, np.concatenate(parts, axis=1), ~healthy, yaws)
