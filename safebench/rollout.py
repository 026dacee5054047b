"""One rollout of a group of environments under a fixed policy: the loop that the in-process sampler
and every worker process run, so that both produce the same steps bit for bit.

Everything random or stateful that the loop needs comes in from outside: the policy's weights, the
standard-normal action noise of the whole batch (drawn by the learner from its generator), and
the observation normalizer's statistics, which stay fixed for the batch. The loop computes actions
for fixed groups of ``inference_batch`` environments, so that the matrix products see the same
shapes however the environments are shared among processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from algorithms.core.observation_normalizer import ObservationNormalizer
from algorithms.core.policy import GaussianPolicy
from safebench.vector_env import SyncVectorEnv


def rollout_fields(num_envs: int, steps: int, obs_dim: int, act_dim: int, num_costs: int,
                   raw_obs: bool) -> dict[str, tuple[tuple[int, ...], type]]:
    """Shape and dtype of every array a batch's rollout reads or writes (env-major, except the noise)."""
    n, T = num_envs, steps
    fields = {
        "noise": ((T, n, act_dim), np.float32),  # step-major: one generator draw per step, as drawn
        "obs": ((n, T, obs_dim), np.float32),  # normalized, what the policy saw
        "actions": ((n, T, act_dim), np.float32),
        "log_probs": ((n, T), np.float32),
        "rewards": ((n, T), np.float64),
        "costs": ((n, T, num_costs), np.float64),
        "terminated": ((n, T), np.bool_),
        "episode_end": ((n, T), np.bool_),
    }
    if raw_obs:  # only the normalizer needs them
        fields["raw_obs"] = ((n, T, obs_dim), np.float64)
    return fields


def env_slice(arrays: dict[str, np.ndarray], lo: int, hi: int) -> dict[str, np.ndarray]:
    """Views of the rows of environments [lo, hi) (the noise is step-major)."""
    return {name: a[:, lo:hi] if name == "noise" else a[lo:hi] for name, a in arrays.items()}


@dataclass
class RolloutRecords:
    """What a rollout reports besides its arrays: finished episodes and bootstrap observations."""

    episode_step: list[int] = field(default_factory=list)  # t at which each episode ended
    episode_env: list[int] = field(default_factory=list)  # its environment (index in the whole batch)
    episode_return: list[float] = field(default_factory=list)
    episode_costs: list[np.ndarray] = field(default_factory=list)
    episode_length: list[int] = field(default_factory=list)
    bootstrap_index: list[int] = field(default_factory=list)  # flat index env * T + t
    bootstrap_obs: list[np.ndarray] = field(default_factory=list)

    def extend(self, other: RolloutRecords) -> None:
        for name in self.__dataclass_fields__:
            getattr(self, name).extend(getattr(other, name))


def run_rollout(envs: SyncVectorEnv, policy: GaussianPolicy, normalizer: ObservationNormalizer,
                seeds: list[int], arrays: dict[str, np.ndarray], first_env: int, inference_batch: int,
                action_low: np.ndarray, action_high: np.ndarray) -> RolloutRecords:
    """Reset ``envs`` with ``seeds`` and step them for the arrays' T steps, filling the arrays.

    ``first_env`` is the index of ``envs[0]`` in the whole batch; episodes cut by the batch end
    are bootstrapped from the observation after the last step."""
    n, T = arrays["rewards"].shape
    raw = envs.reset(seeds)
    current = normalizer.normalize(raw)
    noise = torch.from_numpy(arrays["noise"])
    std = policy.effective_log_std().detach().exp()
    means = torch.empty(noise.shape[1:])
    ep_return, ep_cost, ep_len = np.zeros(n), np.zeros((n, envs.num_costs)), np.zeros(n, np.int64)
    records = RolloutRecords()
    for t in range(T):
        arrays["obs"][:, t] = current
        if "raw_obs" in arrays:
            arrays["raw_obs"][:, t] = raw
        obs = torch.from_numpy(current)
        for lo in range(0, n, inference_batch):
            # a fresh (aligned) copy: small products take paths whose rounding depends on alignment
            means[lo:lo + inference_batch] = policy.mean_action(obs[lo:lo + inference_batch].clone())
        arrays["actions"][:, t] = (means + std * noise[t]).numpy()
        step = envs.step(np.clip(arrays["actions"][:, t], action_low, action_high))
        arrays["rewards"][:, t], arrays["costs"][:, t] = step.rewards, step.costs
        arrays["terminated"][:, t] = step.terminated
        done = step.terminated | step.truncated
        arrays["episode_end"][:, t] = done
        ep_return += step.task_rewards  # the task's return, even where the algorithm's wrapper reshapes the reward
        ep_cost += step.costs
        ep_len += 1
        for i in np.flatnonzero(done):
            records.episode_step.append(t)
            records.episode_env.append(first_env + int(i))
            records.episode_return.append(float(ep_return[i]))
            records.episode_costs.append(ep_cost[i].copy())
            records.episode_length.append(int(ep_len[i]))
            ep_return[i] = ep_cost[i] = ep_len[i] = 0
            if step.truncated[i] and not step.terminated[i]:
                records.bootstrap_index.append((first_env + int(i)) * T + t)
                records.bootstrap_obs.append(normalizer.normalize(step.final_obs[i]))
        raw = step.obs
        current = normalizer.normalize(raw)
    arrays["log_probs"][:] = policy.noise_log_prob(noise).T.numpy()
    for i in np.flatnonzero(~arrays["episode_end"][:, -1]):  # episodes still running when the batch ends
        records.bootstrap_index.append((first_env + int(i)) * T + T - 1)
        records.bootstrap_obs.append(current[i])
    return records
