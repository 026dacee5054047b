"""What every on-policy actor-critic here shares: a Gaussian policy, reward and cost critics, GAE.

``ActorCritic.update`` runs, top to bottom: optionally the paper's cost shaping (``cost_shaping``:
the batch's costs become C+), ``prepare`` (value the batch with the current critics, estimate
reward and cost advantages by GAE with their own lambdas, refit the critics), then ``policy_step``
(what makes each algorithm itself), then ``after_update`` (e.g. a multiplier).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch

from algorithms.core.advantage_estimation import compute_gae
from algorithms.core.base import Algorithm
from algorithms.core.cost_shaping import CostShaper
from algorithms.core.critic_stack import fit_critics
from algorithms.core.policy import GaussianPolicy
from algorithms.core.rollout_batch import RolloutBatch
from algorithms.core.trust_region_critic import TrustRegionCritic
from algorithms.core.value_critic import ValueCritic


@dataclass
class UpdateData:
    """A batch flattened to (B, ...) tensors with advantages, ready for the policy step."""

    obs: torch.Tensor
    actions: torch.Tensor
    old_log_probs: torch.Tensor
    reward_advantages: torch.Tensor  # raw GAE advantages of the reward
    cost_advantages: torch.Tensor  # (m, B), one row per constraint, centred only: the scale carries its magnitude
    episode_costs: np.ndarray  # (m,) J_C(pi_k) per constraint: mean undiscounted episode cost
    mean_episode_length: float  # T-bar, rescales the cost surrogate to trajectory level


def surrogate(policy: GaussianPolicy, data: UpdateData, advantages: torch.Tensor,
              log_prob: torch.Tensor | None = None) -> torch.Tensor:
    """E[pi(a|s) / pi_k(a|s) * A(s, a)], whose gradient at pi_k is the policy gradient.

    ``log_prob`` (log pi(a|s) of the batch) saves the policy's forward pass when several surrogates
    are evaluated at the same parameters."""
    if log_prob is None:
        log_prob = policy.distribution(data.obs).log_prob(data.actions)
    ratio = torch.exp(log_prob - data.old_log_probs)
    return (ratio * advantages).mean()


def penalize(advantage: torch.Tensor, cost_advantages: Sequence[torch.Tensor] | torch.Tensor,
             weights: Sequence[float] | np.ndarray) -> torch.Tensor:
    """advantage - sum_k w_k cost_advantages[k]: the Lagrangian's advantage, one weight per constraint."""
    for cost_advantage, weight in zip(cost_advantages, weights, strict=True):
        advantage = advantage - float(weight) * cost_advantage
    return advantage


def standardize(x: torch.Tensor) -> torch.Tensor:
    """Mean 0, std 1: the step size then does not depend on the reward's units."""
    return (x - x.mean()) / (x.std() + 1e-8)


class ActorCritic(Algorithm):
    """Policy + critics + advantage estimation; subclasses implement ``policy_step``."""

    uses_cost_critic = True  # learns from costs at all (False: cost-blind, as TRPO)

    @property
    def fits_cost_critics(self) -> bool:
        """Whether cost critics are fitted (penalty methods with one critic on r - w.c fit none)."""
        return self.uses_cost_critic

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        cost_limit: float,
        seed: int = 0,
        gamma: float = 0.995,
        gae_lambda: float = 0.95,
        cost_gamma: float = 1.0,
        cost_gae_lambda: float = 1.0,
        bootstrap_time_limit: bool = False,
        critic_target_lambda: float = 1.0,
        hidden_sizes: Sequence[int] = (64, 32),
        activation: str = "tanh",
        init_log_std: float = 0.0,
        policy_init: str = "glorot_uniform",
        min_std: float = 1e-6,
        critic_hidden_sizes: Sequence[int] = (64, 32),
        critic_lr: float = 1e-3,
        critic_epochs: int = 5,
        critic_minibatch_size: int = 1024,
        critic_fit: str = "adam",
        critic_max_kl: float = 0.01,
        critic_subsample: float = 0.2,
        cost_shaping: bool = False,
        cost_shaping_horizon: int = 10,
        cost_shaping_coeff: float = 1.0,
        cost_shaping_hidden_sizes: Sequence[int] = (32,),
        cost_shaping_epochs: int = 25,
        cost_shaping_warmup: int = 2,
    ) -> None:
        torch.manual_seed(seed)
        self.cost_limits = np.array(self.constraint_limits(cost_limit))  # d_k, one per constraint
        self.gamma, self.gae_lambda = gamma, gae_lambda
        self.cost_gamma, self.cost_gae_lambda = cost_gamma, cost_gae_lambda
        self.bootstrap_time_limit, self.critic_target_lambda = bool(bootstrap_time_limit), float(critic_target_lambda)
        self.rng = np.random.default_rng(seed)
        self.policy = GaussianPolicy(obs_dim, act_dim, tuple(hidden_sizes), activation, init_log_std, policy_init,
                                     min_std)
        if critic_fit == "adam":
            make_critic = partial(ValueCritic, obs_dim, tuple(critic_hidden_sizes), activation, critic_lr,
                                  critic_epochs, critic_minibatch_size)
        elif critic_fit == "trust_region":  # the released code's baseline fit
            make_critic = partial(TrustRegionCritic, obs_dim, tuple(critic_hidden_sizes), activation,
                                  critic_max_kl, critic_subsample)
        else:
            raise ValueError(f"critic_fit must be 'adam' or 'trust_region', got {critic_fit!r}")
        self.reward_critic = make_critic()
        count = len(self.cost_limits) if self.uses_cost_critic else 0
        self.cost_critics = [make_critic() for _ in range(count if self.fits_cost_critics else 0)]
        # the paper's cost shaping: the constraint is on C+ = C + coeff * Delta (not for cost-blind TRPO)
        self.cost_shaper = CostShaper(obs_dim, count, cost_shaping_horizon, cost_shaping_coeff,
                                      tuple(cost_shaping_hidden_sizes), cost_shaping_epochs,
                                      warmup_fits=cost_shaping_warmup) if cost_shaping and count else None

    @property
    def num_constraints(self) -> int:
        return len(self.cost_limits)

    def per_constraint(self, stem: str, values: Sequence[float] | np.ndarray) -> dict[str, float]:
        """Diagnostics named ``stem`` for one constraint, ``stem_0``, ``stem_1``, ... for several."""
        values = [float(v) for v in values]
        return {stem: values[0]} if len(values) == 1 else {f"{stem}_{k}": v for k, v in enumerate(values)}

    # ----------------------------------------------------------------- the update, top to bottom
    def update(self, batch: RolloutBatch) -> dict[str, float]:
        shaping: dict[str, float] = {}
        if self.cost_shaper is not None:  # everything below then sees C+ as the cost
            batch, loss = self.cost_shaper.shape(batch)
            shaping = {"hazard_loss": loss, **self.per_constraint("shaped_cost_mean", batch.episode_cost_mean)}
        data, stats = self.prepare(batch)
        stats |= shaping
        stats |= self.policy_step(data)
        stats |= self.after_update(data)
        return stats
    def prepare(self, batch: RolloutBatch) -> tuple[UpdateData, dict[str, float]]:
        """Advantages from the current critics, then refit the critics on the new returns."""
        obs = torch.from_numpy(batch.obs.reshape(-1, batch.obs.shape[-1]))
        bootstrap_obs = torch.from_numpy(batch.bootstrap_obs)
        stats: dict[str, float] = {}
        reward_adv, reward_ret = self._advantages(self.reward_critic, obs, bootstrap_obs, batch,
                                                  self.critic_rewards(batch), self.gamma, self.gae_lambda)
        cost_advs, cost_rets = [], []
        for k, critic in enumerate(self.cost_critics):
            cost_adv, cost_ret = self._advantages(critic, obs, bootstrap_obs, batch, batch.cost_column(k),
                                                  self.cost_gamma, self.cost_gae_lambda)
            cost_advs.append(cost_adv - cost_adv.mean())
            cost_rets.append(cost_ret)
        losses = fit_critics([self.reward_critic, *self.cost_critics], obs, [reward_ret, *cost_rets], self.rng)
        stats["value_loss"] = losses[0]
        if self.cost_critics:
            stats |= self.per_constraint("cost_value_loss", losses[1:])
        else:
            cost_advs = [torch.zeros_like(reward_adv)] * self.num_constraints
        data = UpdateData(
            obs=obs,
            actions=torch.from_numpy(batch.actions.reshape(-1, batch.actions.shape[-1])),
            old_log_probs=torch.from_numpy(batch.log_probs.reshape(-1)),
            reward_advantages=reward_adv,
            cost_advantages=torch.stack(cost_advs),
            episode_costs=batch.episode_cost_mean,
            mean_episode_length=batch.mean_episode_length,
        )
        return data, stats

    def _advantages(self, critic: ValueCritic, obs: torch.Tensor, bootstrap_obs: torch.Tensor, batch: RolloutBatch,
                    signal: np.ndarray, gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
        """GAE(gamma, lam) advantages and the critic's regression targets (returns of ``critic_target_lambda``).

        A terminal is worth 0. So is a time-limit end unless ``bootstrap_time_limit``: the released code
        values the end of every path at 0, which for an episodic objective is exact. An episode the batch
        cut short is always valued by the critic: it goes on, only not in this batch.
        """
        shape = signal.shape
        values = critic.predict(obs).double().numpy().reshape(shape)
        next_values = np.zeros(shape)
        next_values[:, :-1] = values[:, 1:]
        if len(bootstrap_obs):
            next_values.reshape(-1)[batch.bootstrap_index] = critic.predict(bootstrap_obs).double().numpy()
        next_values[batch.episode_end if not self.bootstrap_time_limit else batch.terminated] = 0.0
        adv, ret = compute_gae(signal, values, next_values, batch.episode_end, gamma, lam)
        if self.critic_target_lambda != lam:  # e.g. Monte Carlo returns (1.0), as the released code regresses on
            target_adv, _ = compute_gae(signal, values, next_values, batch.episode_end, gamma, self.critic_target_lambda)
            ret = target_adv + values
        return (torch.from_numpy(adv.reshape(-1)).float(), torch.from_numpy(ret.reshape(-1)).float())

    # ----------------------------------------------------------------- hooks for subclasses
    def critic_rewards(self, batch: RolloutBatch) -> np.ndarray:
        """The per-step signal the reward critic learns and GAE turns into ``reward_advantages``."""
        return batch.rewards

    def policy_advantages(self, data: UpdateData) -> torch.Tensor:
        """The advantage the policy ascends (standardized); penalty methods mix in the cost."""
        return standardize(data.reward_advantages)

    def policy_step(self, data: UpdateData) -> dict[str, float]:
        """Move the policy; return diagnostics (at least ``kl`` and ``entropy``)."""
        raise NotImplementedError

    def after_update(self, data: UpdateData) -> dict[str, float]:
        """Runs once the policy moved (e.g. a multiplier update)."""
        return {}

    def cost_surrogates(self, data: UpdateData, log_prob: torch.Tensor | None = None) -> list[torch.Tensor]:
        """T-bar * E[ratio * A_Ck] per constraint: each gradient approximates grad J_Ck at trajectory scale."""
        if log_prob is None:
            log_prob = self.policy.distribution(data.obs).log_prob(data.actions)
        return [data.mean_episode_length * surrogate(self.policy, data, adv, log_prob) for adv in data.cost_advantages]

    # ----------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        state = {
            "policy": self.policy.state_dict(),
            "reward_critic": self.reward_critic.state(),
            "rng": self.rng.bit_generator.state,
        }
        state["cost_critics"] = [critic.state() for critic in self.cost_critics]
        if self.cost_shaper is not None:
            state["cost_shaper"] = self.cost_shaper.state()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        self.reward_critic.load_state(state["reward_critic"])
        # checkpoints from before several constraints were supported hold one "cost_critic" (or none, TRPO)
        saved_critics = state.get("cost_critics", [state["cost_critic"]] if "cost_critic" in state else [])
        for critic, saved in zip(self.cost_critics, saved_critics, strict=True):
            critic.load_state(saved)
        self.rng.bit_generator.state = state["rng"]
        if self.cost_shaper is not None:
            self.cost_shaper.load_state(state["cost_shaper"])
