"""The first-order machinery of the PPO-style methods (PPO-/PID-Lagrangian, FOCOPS, CUP, P3O, IPO, ...).

After the actor-critic preparation, the policy takes Adam steps on ``policy_loss`` over a few epochs
of shuffled minibatches, stopping early once the mean KL to the old policy exceeds ``target_kl``.
Subclasses say only what differs: the advantage the policy ascends (``policy_advantages``), the cost
advantages the loss sees (``policy_cost_advantages``), the loss (``policy_loss``, PPO's clipped
surrogate by default) and what happens around the step. Each ``Minibatch`` carries the batch's
scalars too (J_C, d, T-bar), so a loss needs nothing stashed on ``self``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from algorithms.core.actor_critic import ActorCritic, UpdateData
from algorithms.core.compiled_loss import MODES, CompiledLoss, should_compile
from algorithms.core.fisher_vector_product import mean_kl
from algorithms.core.fused_adam import fused_adam
from algorithms.core.grad_clip import clip_grad_norm_
from algorithms.core.rollout_batch import RolloutBatch


@dataclass
class Minibatch:
    """A slice of the batch, with the old policy's parameters for ratios and per-state KLs, and the
    batch's cost scalars, so that a loss needs no state stashed on the algorithm."""

    obs: torch.Tensor
    actions: torch.Tensor
    old_log_probs: torch.Tensor
    advantages: torch.Tensor  # what ``policy_advantages`` returned for these samples: (B,) or (B, ...)
    old_mean: torch.Tensor
    old_log_std: torch.Tensor
    cost_advantages: torch.Tensor  # what ``policy_cost_advantages`` returned: (B, k) by default, or (B,)
    episode_costs: np.ndarray  # (k,) J_C: the batch's mean undiscounted episode cost per constraint
    cost_limits: np.ndarray  # (k,) d: the limit per constraint
    mean_episode_length: float  # T-bar: scales a per-step cost surrogate to the trajectory's


def ppo_clip_loss(log_ratio: torch.Tensor, advantages: torch.Tensor, clip: float) -> torch.Tensor:
    """-E[min(r A, clip(r, 1-eps, 1+eps) A)]: no incentive to move the ratio beyond 1 +- eps."""
    ratio = torch.exp(log_ratio)
    clipped = torch.clamp(ratio, 1.0 - clip, 1.0 + clip)
    return -torch.min(ratio * advantages, clipped * advantages).mean()


def minibatch_indices(n: int, size: int, rng: np.random.Generator) -> Iterator[torch.Tensor]:
    """One shuffled pass over range(n) in slices of ``size`` (the last one may be shorter)."""
    order = torch.from_numpy(rng.permutation(n))
    for start in range(0, n, size):
        yield order[start : start + size]


@contextmanager
def one_thread() -> Iterator[None]:
    """Small minibatches gain nothing from intra-op threads, and lose 10-25x when cores are busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class FirstOrderAlgorithm(ActorCritic):
    """Minibatch Adam epochs on a policy loss with KL early stopping (Schulman et al. 2017)."""

    policy_loss_compiles = True  # False where policy_loss keeps state or reads numbers that change (FOCOPS)

    def __init__(
        self,
        *args,
        policy_lr: float = 3e-4,
        update_epochs: int = 10,
        minibatch_size: int = 64,
        target_kl: float = 0.02,
        clip_ratio: float = 0.2,
        max_grad_norm: float = 40.0,
        entropy_coef: float = 0.0,
        lr_schedule: str = "constant",
        lr_schedule_steps: int | None = None,
        compile_policy_loss: str = "never",
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        if compile_policy_loss not in MODES:
            raise ValueError(f"compile_policy_loss must be one of {', '.join(MODES)}, got {compile_policy_loss!r}")
        if compile_policy_loss == "always" and not self.policy_loss_compiles:
            raise ValueError(f"{type(self).__name__}'s policy loss cannot be compiled: use compile_policy_loss=never")
        self.compile_policy_loss = compile_policy_loss
        self.loss_function: Callable[[Minibatch], torch.Tensor] | None = None  # decided at the first update
        self.update_epochs, self.minibatch_size = int(update_epochs), int(minibatch_size)
        self.target_kl, self.clip_ratio = float(target_kl), float(clip_ratio)
        self.max_grad_norm, self.entropy_coef = float(max_grad_norm), float(entropy_coef)
        self.policy_optimizer = fused_adam(self.policy.parameters(), lr=policy_lr)  # thousands of steps an update
        if lr_schedule not in ("constant", "linear"):
            raise ValueError(f"lr_schedule must be 'constant' or 'linear', got {lr_schedule!r}")
        if lr_schedule == "linear" and not lr_schedule_steps:
            raise ValueError("lr_schedule=linear needs lr_schedule_steps, the env steps over which the rate falls to 0")
        self.policy_lr, self.lr_schedule = float(policy_lr), lr_schedule
        self.lr_schedule_steps = int(lr_schedule_steps) if lr_schedule_steps else None
        self.env_steps_seen = 0  # before this update; drives the linear schedule

    def scheduled_lr(self) -> float:
        """The policy's rate for this update: constant, or falling linearly to 0 over ``lr_schedule_steps``
        env steps (OmniSafe's ``linear_lr_decay``, the FOCOPS authors' schedule)."""
        if self.lr_schedule == "constant":
            return self.policy_lr
        return self.policy_lr * max(0.0, 1.0 - self.env_steps_seen / self.lr_schedule_steps)

    def update(self, batch: RolloutBatch) -> dict[str, float]:
        for group in self.policy_optimizer.param_groups:
            group["lr"] = self.scheduled_lr()
        stats = super().update(batch) | {"policy_lr": self.policy_optimizer.param_groups[0]["lr"]}
        self.env_steps_seen += batch.num_steps
        return stats

    def early_stop_kl(self, data: UpdateData, old_mean: torch.Tensor, old_log_std: torch.Tensor) -> float:
        """The mean KL the epochs stop on: KL(pi_k || pi), as OmniSafe; FOCOPS's authors use the reverse."""
        return float(mean_kl(self.policy, data.obs, old_mean, old_log_std))

    def policy_cost_advantages(self, data: UpdateData) -> torch.Tensor:
        """The cost advantages the loss sees, (B, k): UpdateData's centred A_Ck, one column per constraint."""
        return data.cost_advantages.T

    def policy_loss(self, batch: Minibatch) -> torch.Tensor:
        """PPO's clipped surrogate; FOCOPS replaces it."""
        log_ratio = self.policy.distribution(batch.obs).log_prob(batch.actions) - batch.old_log_probs
        return ppo_clip_loss(log_ratio, batch.advantages, self.clip_ratio)

    def policy_step(self, data: UpdateData) -> dict[str, float]:
        """Epochs of minibatch steps until the budget or until KL > target_kl after an epoch."""
        self.choose_loss_function(len(data.obs))
        advantages = self.policy_advantages(data).detach()
        cost_advantages = self.policy_cost_advantages(data).detach()
        with torch.no_grad():
            old_mean = self.policy.mean_net(data.obs)
            old_log_std = self.policy.effective_log_std().detach().clone()

        def step(idx: torch.Tensor) -> float:
            return self.minibatch_step(Minibatch(
                data.obs[idx], data.actions[idx], data.old_log_probs[idx], advantages[idx], old_mean[idx],
                old_log_std, cost_advantages[idx], data.episode_costs, self.cost_limits, data.mean_episode_length))

        epochs, kl, losses = self.run_epochs(len(data.obs), step,
                                             lambda: self.early_stop_kl(data, old_mean, old_log_std))
        return {
            "kl": kl,
            "entropy": float(self.policy.entropy().detach()),
            "policy_epochs": float(epochs),
            "policy_loss": float(np.mean(losses)) if losses else 0.0,
        }

    def run_epochs(self, n: int, step: Callable[[torch.Tensor], float],
                   epoch_kl: Callable[[], float]) -> tuple[int, float, list[float]]:
        """Shuffled passes over n samples, ``step(indices)`` per minibatch returning its loss, until
        ``update_epochs`` or until ``epoch_kl()`` exceeds ``target_kl`` after a pass (also CUP's second loop);
        returns (epochs run, last KL, losses)."""
        epochs, kl, losses = 0, 0.0, []
        with one_thread():
            for epochs in range(1, self.update_epochs + 1):
                for idx in minibatch_indices(n, self.minibatch_size, self.rng):
                    losses.append(step(idx))
                with torch.no_grad():
                    kl = epoch_kl()
                if kl > self.target_kl:
                    break
        return epochs, kl, losses

    def choose_loss_function(self, batch_steps: int) -> None:
        """``policy_loss``, or the same compiled (``compile_policy_loss``; ``algorithms/core/compiled_loss.py``)."""
        if self.loss_function is not None:
            return
        compiled = self.policy_loss_compiles and should_compile(self.compile_policy_loss, self.update_epochs,
                                                                batch_steps, self.minibatch_size)
        self.loss_function = CompiledLoss(self.policy_loss) if compiled else self.policy_loss

    def minibatch_step(self, batch: Minibatch) -> float:
        """One Adam step on the loss (minus the entropy bonus)."""
        loss = (self.loss_function or self.policy_loss)(batch)
        if self.entropy_coef:  # a zero weight changes no number (x - 0 H = x, g + 0 = g): skip it and its backward
            loss = loss - self.entropy_coef * self.policy.entropy()
        return self.optimizer_step(loss)

    def optimizer_step(self, loss: torch.Tensor) -> float:
        """One step of the policy's Adam on ``loss``, gradient norm clipped (also for a second loop, as CUP's)."""
        self.policy_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
        self.policy_optimizer.step()
        return float(loss.detach())

    def state_dict(self) -> dict:
        return super().state_dict() | {"policy_optimizer": self.policy_optimizer.state_dict(),
                                       "env_steps_seen": self.env_steps_seen}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.policy_optimizer.load_state_dict(state["policy_optimizer"])
        self.env_steps_seen = int(state.get("env_steps_seen", 0))
