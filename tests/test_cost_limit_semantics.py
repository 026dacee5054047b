"""docs/constraints.md, pinned: J_C, violation and T-bar on a batch worked out by hand.

Two environments, 7 steps each. Episodes have scheduled lengths (2, 5, 3, ... from an offset set by
the reset seed), a time limit of 4 and a cost of 1 on every even step of an episode:
- env 0 (seed 0): 2 steps, terminated (cost 1); 4 steps, cut by the time limit (cost 2); 1 step still
  running when the batch ends (cost 1, not a finished episode);
- env 1 (seed 1): 4 steps, time limit (cost 2); 3 steps, terminated (cost 2).
Finished episodes: costs 1, 2, 2, 2 -> J_C = 1.75; lengths 2, 4, 4, 3 -> T-bar = 3.25; with d = 1.5
the violation is 0 + 0.5 + 0.5 + 0.5 = 1.5.
"""

import gymnasium as gym
import numpy as np
import pytest
import torch

from algorithms.core.observation_normalizer import ObservationNormalizer
from algorithms.core.policy import GaussianPolicy
from safebench.constraints import Constraints
from safebench.sampler import RolloutCollector
from safebench.trainer import TrainingState, progress_row


class ScheduledEpisodes(gym.Env):
    """Episodes of scheduled lengths with a cost of 1 on every even step."""

    LENGTHS = (2, 5, 3)
    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episode = seed % 3 if seed is not None else self.episode + 1
        self.t, self.length = 0, self.LENGTHS[self.episode % 3]
        return np.zeros(1, np.float32), {}

    def step(self, action):
        cost = 1.0 if self.t % 2 == 0 else 0.0
        self.t += 1
        return np.zeros(1, np.float32), 0.0, self.t >= self.length, False, {"cost": cost}


def make_env() -> gym.Env:
    return gym.wrappers.TimeLimit(ScheduledEpisodes(), max_episode_steps=4)


@pytest.fixture
def batch():
    policy = GaussianPolicy(1, 1, (4,))
    collector = RolloutCollector(make_env, 2, policy, ObservationNormalizer((1,), enabled=False),
                                 torch.Generator().manual_seed(0), num_costs=1, inference_batch=2)
    try:
        return collector.collect(7, [0, 1])
    finally:
        collector.close()


def test_j_c_is_the_mean_undiscounted_cost_of_finished_episodes(batch):
    assert sorted(batch.episode_costs[:, 0].tolist()) == [1.0, 2.0, 2.0, 2.0]
    assert batch.episode_cost_mean.tolist() == [1.75]  # the cut episode's 1 is not an episode's cost
    assert batch.mean_episode_length == 3.25
    assert batch.terminated.sum() == 2 and (batch.episode_end & ~batch.terminated).sum() == 2


def test_progress_row_logs_the_same_estimate_and_the_violation(batch):
    row = progress_row(TrainingState(epoch=1, env_steps=14), batch, {}, Constraints(("cost",), (1.5,)), 0.1, 0.1)
    assert row["cost_mean"] == 1.75 and row["violation"] == 1.5
    assert row["batch_cost"] == 8.0 and row["batch_steps"] == 14  # every step's cost, the cut one's too
