"""Collects one batch of experience from a vector env with batched policy inference."""

from __future__ import annotations

import numpy as np
import torch

from algorithms.observation_normalizer import ObservationNormalizer
from algorithms.policy import GaussianPolicy
from algorithms.rollout_batch import RolloutBatch


class RolloutCollector:
    """Runs the policy in ``num_envs`` environments for ``steps_per_env`` steps each."""

    def __init__(self, vec_env, policy: GaussianPolicy, normalizer: ObservationNormalizer,
                 generator: torch.Generator) -> None:
        self.vec_env = vec_env
        self.policy = policy
        self.normalizer = normalizer
        self.generator = generator
        self.low = vec_env.action_space.low.astype(np.float32)
        self.high = vec_env.action_space.high.astype(np.float32)

    def collect(self, steps_per_env: int, seeds: list[int]) -> RolloutBatch:
        """Reset every env with ``seeds`` and roll out; episodes cut by the batch end bootstrap."""
        n, T = self.vec_env.num_envs, steps_per_env
        raw = self.vec_env.reset(seeds)
        self.normalizer.update(raw)
        obs_dim, act_dim = raw.shape[1], self.low.shape[0]
        obs = np.zeros((n, T, obs_dim), np.float32)
        actions = np.zeros((n, T, act_dim), np.float32)
        log_probs = np.zeros((n, T), np.float32)
        m = self.vec_env.num_costs
        rewards, costs = np.zeros((n, T)), np.zeros((n, T, m))
        terminated, episode_end = np.zeros((n, T), bool), np.zeros((n, T), bool)
        bootstrap_index: list[int] = []
        bootstrap_obs: list[np.ndarray] = []
        ep_return, ep_cost, ep_len = np.zeros(n), np.zeros((n, m)), np.zeros(n, np.int64)
        done_returns: list[float] = []
        done_costs: list[np.ndarray] = []
        done_lengths: list[int] = []

        current = self.normalizer.normalize(raw)
        for t in range(T):
            obs[:, t] = current
            action, log_prob = self.policy.act(torch.from_numpy(current), self.generator)
            actions[:, t] = action.numpy()
            log_probs[:, t] = log_prob.numpy()
            step = self.vec_env.step(np.clip(actions[:, t], self.low, self.high))
            rewards[:, t], costs[:, t] = step.rewards, step.costs
            terminated[:, t] = step.terminated
            done = step.terminated | step.truncated
            episode_end[:, t] = done
            ep_return += step.rewards
            ep_cost += step.costs
            ep_len += 1
            for i in np.flatnonzero(done):
                done_returns.append(ep_return[i])
                done_costs.append(ep_cost[i].copy())
                done_lengths.append(int(ep_len[i]))
                ep_return[i] = ep_cost[i] = ep_len[i] = 0
                if step.truncated[i] and not step.terminated[i]:
                    bootstrap_index.append(i * T + t)
                    bootstrap_obs.append(self.normalizer.normalize(step.final_obs[i]))
            self.normalizer.update(step.obs)
            current = self.normalizer.normalize(step.obs)
        for i in np.flatnonzero(~episode_end[:, -1]):  # episodes still running when the batch ends
            bootstrap_index.append(i * T + T - 1)
            bootstrap_obs.append(current[i])

        order = np.argsort(bootstrap_index, kind="stable")
        return RolloutBatch(
            obs=obs, actions=actions, log_probs=log_probs, rewards=rewards, costs=costs,
            terminated=terminated, episode_end=episode_end,
            bootstrap_index=np.asarray(bootstrap_index, np.int64)[order],
            bootstrap_obs=np.asarray(bootstrap_obs, np.float32).reshape(-1, obs_dim)[order],
            episode_returns=np.asarray(done_returns), episode_costs=np.asarray(done_costs).reshape(-1, m),
            episode_lengths=np.asarray(done_lengths),
        )
