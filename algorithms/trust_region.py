"""The trust-region machinery TRPO, CPO and the penalty methods share (Schulman et al. 2015).

Per update: value both critics on the batch, estimate reward and cost advantages by GAE, refit the
critics, then take one natural-gradient step inside the KL ball found by conjugate gradient and a
backtracking line search. Subclasses say only what differs: which advantage the policy ascends
(``policy_advantages``), how the step is chosen (``policy_step``), and what happens after
(``after_update``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from algorithms.advantage_estimation import compute_gae
from algorithms.base import Algorithm
from algorithms.conjugate_gradient import conjugate_gradient
from algorithms.fisher_vector_product import make_fisher_vector_product, mean_kl
from algorithms.line_search import backtracking_line_search
from algorithms.mlp import flat_grad, flat_params, set_flat_params
from algorithms.policy import GaussianPolicy
from algorithms.rollout_batch import RolloutBatch
from algorithms.value_critic import ValueCritic


@dataclass
class UpdateData:
    """A batch flattened to (B, ...) tensors with advantages, ready for the policy step."""

    obs: torch.Tensor
    actions: torch.Tensor
    old_log_probs: torch.Tensor
    reward_advantages: torch.Tensor  # raw GAE advantages of the reward
    cost_advantages: torch.Tensor  # centred only: its scale carries the constraint's magnitude
    episode_cost: float  # J_C(pi_k): mean undiscounted episode cost
    mean_episode_length: float  # T-bar, rescales the cost surrogate to trajectory level


def surrogate(policy: GaussianPolicy, data: UpdateData, advantages: torch.Tensor) -> torch.Tensor:
    """E[pi(a|s) / pi_k(a|s) * A(s, a)], whose gradient at pi_k is the policy gradient."""
    ratio = torch.exp(policy.distribution(data.obs).log_prob(data.actions) - data.old_log_probs)
    return (ratio * advantages).mean()


def standardize(x: torch.Tensor) -> torch.Tensor:
    """Mean 0, std 1: the step size then does not depend on the reward's units."""
    return (x - x.mean()) / (x.std() + 1e-8)


class TrustRegionAlgorithm(Algorithm):
    """TRPO-style update with a cost critic; the base of every trust-region method here."""

    uses_cost_critic = True

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        cost_limit: float,
        seed: int = 0,
        gamma: float = 0.995,
        gae_lambda: float = 0.95,
        cost_gamma: float = 0.995,
        cost_gae_lambda: float = 1.0,
        max_kl: float = 0.01,
        cg_iters: int = 10,
        cg_damping: float = 0.1,
        backtrack_ratio: float = 0.8,
        max_backtracks: int = 15,
        fvp_subsample: float = 0.2,
        hidden_sizes: Sequence[int] = (64, 32),
        activation: str = "tanh",
        init_log_std: float = 0.0,
        critic_hidden_sizes: Sequence[int] = (64, 32),
        critic_lr: float = 1e-3,
        critic_epochs: int = 5,
        critic_minibatch_size: int = 1024,
    ) -> None:
        torch.manual_seed(seed)
        self.cost_limit = float(cost_limit)
        self.gamma, self.gae_lambda = gamma, gae_lambda
        self.cost_gamma, self.cost_gae_lambda = cost_gamma, cost_gae_lambda
        self.max_kl = max_kl
        self.cg_iters, self.cg_damping = cg_iters, cg_damping
        self.backtrack_ratio, self.max_backtracks = backtrack_ratio, max_backtracks
        self.fvp_subsample = fvp_subsample
        self.rng = np.random.default_rng(seed)
        self.policy = GaussianPolicy(obs_dim, act_dim, tuple(hidden_sizes), activation, init_log_std)
        critic_args = dict(hidden_sizes=tuple(critic_hidden_sizes), activation=activation, lr=critic_lr,
                           epochs=critic_epochs, minibatch_size=critic_minibatch_size)
        self.reward_critic = ValueCritic(obs_dim, **critic_args)
        self.cost_critic = ValueCritic(obs_dim, **critic_args) if self.uses_cost_critic else None

    # ----------------------------------------------------------------- the update, top to bottom
    def update(self, batch: RolloutBatch) -> dict[str, float]:
        data, stats = self.prepare(batch)
        stats |= self.policy_step(data)
        stats |= self.after_update(data)
        return stats

    def prepare(self, batch: RolloutBatch) -> tuple[UpdateData, dict[str, float]]:
        """Advantages from the current critics, then refit the critics on the new returns."""
        obs = torch.from_numpy(batch.obs.reshape(-1, batch.obs.shape[-1]))
        bootstrap_obs = torch.from_numpy(batch.bootstrap_obs)
        stats: dict[str, float] = {}
        reward_adv, reward_ret = self._advantages(self.reward_critic, obs, bootstrap_obs, batch, batch.rewards,
                                                  self.gamma, self.gae_lambda)
        stats["value_loss"] = self.reward_critic.fit(obs, reward_ret, self.rng)
        if self.cost_critic is not None:
            cost_adv, cost_ret = self._advantages(self.cost_critic, obs, bootstrap_obs, batch, batch.costs,
                                                  self.cost_gamma, self.cost_gae_lambda)
            stats["cost_value_loss"] = self.cost_critic.fit(obs, cost_ret, self.rng)
        else:
            cost_adv = torch.zeros_like(reward_adv)
        data = UpdateData(
            obs=obs,
            actions=torch.from_numpy(batch.actions.reshape(-1, batch.actions.shape[-1])),
            old_log_probs=torch.from_numpy(batch.log_probs.reshape(-1)),
            reward_advantages=reward_adv,
            cost_advantages=cost_adv - cost_adv.mean(),
            episode_cost=batch.episode_cost_mean,
            mean_episode_length=batch.mean_episode_length,
        )
        return data, stats

    @staticmethod
    def _advantages(critic, obs, bootstrap_obs, batch, signal, gamma, lam) -> tuple[torch.Tensor, torch.Tensor]:
        shape = signal.shape
        values = critic.predict(obs).double().numpy().reshape(shape)
        next_values = np.zeros(shape)
        next_values[:, :-1] = values[:, 1:]
        if len(bootstrap_obs):
            next_values.reshape(-1)[batch.bootstrap_index] = critic.predict(bootstrap_obs).double().numpy()
        next_values[batch.terminated] = 0.0
        adv, ret = compute_gae(signal, values, next_values, batch.episode_end, gamma, lam)
        return (torch.from_numpy(adv.reshape(-1)).float(), torch.from_numpy(ret.reshape(-1)).float())

    # ----------------------------------------------------------------- hooks for subclasses
    def policy_advantages(self, data: UpdateData) -> torch.Tensor:
        """The advantage the policy ascends (standardized); penalty methods mix in the cost."""
        return standardize(data.reward_advantages)

    def policy_step(self, data: UpdateData) -> dict[str, float]:
        """One TRPO step on ``policy_advantages``: max g.x s.t. 1/2 x'Hx <= max_kl."""
        advantages = self.policy_advantages(data)
        g = self.gradient(data, advantages)
        hvp = self.fisher_product(data)
        direction = conjugate_gradient(hvp, g, self.cg_iters)
        shs = float(direction @ hvp(direction))
        full_step = np.sqrt(2 * self.max_kl / max(shs, 1e-12)) * direction
        with torch.no_grad():
            before = float(surrogate(self.policy, data, advantages))
        return self.search(data, full_step, lambda surr, _cost: surr > before, advantages)

    def after_update(self, data: UpdateData) -> dict[str, float]:
        """Runs once the policy moved (e.g. a multiplier update)."""
        return {}

    # ----------------------------------------------------------------- shared building blocks
    def gradient(self, data: UpdateData, advantages: torch.Tensor) -> torch.Tensor:
        """Gradient of the surrogate E[ratio * A] at the current policy."""
        return flat_grad(surrogate(self.policy, data, advantages), self.policy).detach()

    def fisher_product(self, data: UpdateData):
        """(H + damping I) v on a random subsample of the batch (the paper's code used 20%)."""
        n = len(data.obs)
        k = max(1, int(n * self.fvp_subsample))
        idx = torch.from_numpy(self.rng.choice(n, size=k, replace=False)) if k < n else slice(None)
        return make_fisher_vector_product(self.policy, data.obs[idx], self.cg_damping)

    def cost_surrogate(self, data: UpdateData) -> torch.Tensor:
        """T-bar * E[ratio * A_C]: its gradient approximates grad J_C at trajectory scale."""
        return data.mean_episode_length * surrogate(self.policy, data, data.cost_advantages)

    def search(self, data: UpdateData, full_step: torch.Tensor, improves, advantages: torch.Tensor) -> dict[str, float]:
        """Backtrack along ``full_step`` until KL <= max_kl and ``improves(surr, cost_surr)``."""
        start = flat_params(self.policy)
        with torch.no_grad():
            old_mean = self.policy.mean_net(data.obs)
            old_log_std = self.policy.log_std.detach().clone()
            cost_before = float(self.cost_surrogate(data))

        def accept(candidate: torch.Tensor) -> bool:
            set_flat_params(self.policy, candidate)
            with torch.no_grad():
                kl = float(mean_kl(self.policy, data.obs, old_mean, old_log_std))
                surr = float(surrogate(self.policy, data, advantages))
                cost = float(self.cost_surrogate(data)) - cost_before
            return bool(np.isfinite(surr) and kl <= self.max_kl and improves(surr, cost))

        result = backtracking_line_search(start, full_step, accept, self.backtrack_ratio, self.max_backtracks)
        set_flat_params(self.policy, result.params)
        with torch.no_grad():
            kl = float(mean_kl(self.policy, data.obs, old_mean, old_log_std))
            cost_change = float(self.cost_surrogate(data)) - cost_before
        return {
            "kl": kl,
            "line_search_backtracks": float(result.backtracks),
            "line_search_accepted": float(result.accepted),
            "surrogate_cost_change": cost_change,
            "entropy": float(self.policy.entropy().detach()),
        }

    # ----------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        state = {
            "policy": self.policy.state_dict(),
            "reward_critic": self.reward_critic.state(),
            "rng": self.rng.bit_generator.state,
        }
        if self.cost_critic is not None:
            state["cost_critic"] = self.cost_critic.state()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        self.reward_critic.load_state(state["reward_critic"])
        if self.cost_critic is not None:
            self.cost_critic.load_state(state["cost_critic"])
        self.rng.bit_generator.state = state["rng"]
