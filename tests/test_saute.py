"""Saute: the budget observation and the reshaped reward; the harness wraps every environment and logs
the task's own return."""

from functools import partial

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
import torch
from helpers import run_cli

import tasks
from algorithms.core.observation_normalizer import ObservationNormalizer
from algorithms.core.policy import GaussianPolicy
from algorithms.saute import Saute, saute_budget
from safebench.command_line import compose_config
from safebench.constraints import Constraints
from safebench.evaluation import Evaluator
from safebench.sampler import RolloutCollector


class CostlyWalk(gym.Env):
    """Reward 1 and cost 2 every step; episodes of 6 steps."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.full(2, 0.5, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.full(2, 0.5, np.float32), 1.0, self.t >= 6, False, {"cost": 2.0}


def wrapped(cost_limit: float = 5.0, saute_gamma: float = 1.0, unsafe_reward: float = -3.0) -> gym.Env:
    return Saute.wrap_env(CostlyWalk(), cost_limit, 6, saute_gamma=saute_gamma, unsafe_reward=unsafe_reward,
                          policy_lr=1e-3)  # the other YAML keys come along and are ignored


def test_budget_falls_by_cost_over_limit_and_the_reward_is_replaced_once_spent():
    env = wrapped()
    obs, _ = env.reset(seed=0)
    assert env.observation_space.shape == (3,) and obs.tolist() == [0.5, 0.5, 1.0]
    budgets, rewards, task_rewards = [], [], []
    for _ in range(4):
        obs, reward, *_, info = env.step(np.zeros(1))
        budgets.append(float(obs[-1]))
        rewards.append(reward)
        task_rewards.append(info["task_reward"])
    np.testing.assert_allclose(budgets, [1 - 2 / 5, 1 - 4 / 5, 1 - 6 / 5, 1 - 8 / 5], atol=1e-6)
    assert rewards == [1.0, 1.0, -3.0, -3.0] and task_rewards == [1.0] * 4
    assert env.reset(seed=1)[0][-1] == 1.0  # a new episode, a full budget


def test_discounted_budget_is_omnisafes_scaled_limit():
    gamma, limit, horizon = 0.9, 5.0, 6
    budget = limit * (1 - gamma**horizon) / ((1 - gamma) * horizon)
    assert saute_budget(limit, gamma, horizon) == pytest.approx(budget)
    assert saute_budget(limit, 1.0, horizon) == limit
    env = wrapped(saute_gamma=gamma)
    env.reset(seed=0)
    first = env.step(np.zeros(1))[0][-1]
    second = env.step(np.zeros(1))[0][-1]
    assert first == pytest.approx((1 - 2 / budget) / gamma, rel=1e-6)
    assert second == pytest.approx((first - 2 / budget) / gamma, rel=1e-5)


def test_one_budget_only():
    with pytest.raises(ValueError, match="at most 1"):
        Saute.wrap_env(CostlyWalk(), [5.0, 3.0], 6)


def test_sampler_and_evaluation_log_the_task_return_while_the_batch_holds_the_reshaped_reward():
    env_fn = partial(wrapped)
    policy = GaussianPolicy(3, 1, (4,))
    collector = RolloutCollector(env_fn, 2, policy, ObservationNormalizer((3,), enabled=False),
                                 torch.Generator().manual_seed(0), num_costs=1, inference_batch=2)
    try:
        batch = collector.collect(12, [0, 1])
    finally:
        collector.close()
    assert batch.obs.shape == (2, 12, 3)
    np.testing.assert_allclose(batch.rewards[0, :6], [1, 1, -3, -3, -3, -3])  # the learner's reward
    assert batch.episode_returns.tolist() == [6.0] * 4  # the task's
    evaluator = Evaluator(env_fn, 2, Constraints(("cost",), (5.0,)), seed=0)
    try:
        assert evaluator.run(policy, ObservationNormalizer((3,), enabled=False), 1)["eval_return_mean"] == 6.0
    finally:
        evaluator.close()


def test_progress_csv_logs_the_task_return_through_the_cli(tmp_path):
    """A huge unsafe reward on a task whose episodes spend the budget: the log must not see it."""
    result = run_cli("+algo=saute", "+task=point_circle", "algo.unsafe_reward=-1000", "train.total_steps=1000",
                     "train.batch_size=1000", "train.num_envs=2", "eval.episodes=2", f"hydra.run.dir={tmp_path}",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    progress = pd.read_csv(tmp_path / "progress.csv")
    assert (progress["cost_mean"] > 5).all()  # budget spent: the learner's reward held -1000s
    assert progress["return_mean"].abs().max() < 100 and progress["eval_return_mean"].abs().max() < 100
    assert progress["value_loss"].iloc[0] > 1e4  # the critic did learn the reshaped reward


def worst_point_circle_step(radius: float) -> float:
    """The reward of a full-speed clockwise step along the top of the circle: the task's worst per step
    (|reward| <= r * speed / (1 + |r - radius|) <= radius, the speed being at most move_scale 1)."""
    env = tasks.make("point_circle", circle_radius=radius)
    env.reset(seed=0)
    task = env.unwrapped
    qpos = task.data.qpos.copy()
    qpos[:3] = (-0.5, radius, 0.0)  # heading +x at the top: clockwise
    task.set_state(qpos, task.data.qvel.copy())
    try:
        return env.step(np.array([1.0, 0.0]))[1]
    finally:
        env.close()


def test_configured_unsafe_reward_is_no_better_than_any_safe_step_on_the_point_tasks():
    """The paper's rule for -n: a spent budget must be worth less than any safe behaviour, so the unsafe
    reward sits at or below the task's worst per-step reward. OmniSafe's -1 breaks it on Point-Circle
    (worst step about -15), and there the cost rose from 21 to 32 (docs/fidelity.md, Saute)."""
    cfg = compose_config(["+algo=saute", "+task=point_circle"])
    radius = float(cfg.task.params.circle_radius)
    worst = worst_point_circle_step(radius)
    assert -radius <= worst < -0.95 * radius  # the bound is all but reached
    assert cfg.algo.unsafe_reward <= -radius
    gather = compose_config(["+algo=saute", "+task=point_gather"])
    assert float(gather.task.params.bomb_reward_penalty) == 0.0  # Point-Gather's rewards are >= 0
    assert gather.algo.unsafe_reward <= 0.0
