"""Fit same-shaped value critics as one stacked network: one batched op per layer for all.

The reward critic and each cost critic regress on the same observations. Fitted one after the
other, each Adam minibatch step is some fifty small torch ops per critic, and their Python overhead
(and the GIL, when fitted in threads) dominated the update. Stacked, the weights of layer l of all K
critics form one (K, out, in) tensor, a minibatch step runs each layer once as a batched matmul,
and one Adam optimizer moves all the weights. Adam works element by element and every critic keeps
its own minibatch orders, so this is the same algorithm as K separate fits; only the rounding of the
batched matmuls differs. Weights and Adam moments are copied back into the critics after the fit,
so each critic keeps its own state (and checkpoint format). A critic fitted alone is a stack of one:
this is the only implementation of the Adam regression.

For tanh networks (the default) the minibatch gradients are computed without autograd's engine,
whose bookkeeping was about a quarter of each step: the same aten ops that autograd's backward runs, in the
same order, so the gradients are bit for bit autograd's (tested). Other activations use autograd.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from algorithms.core.simd_tanh import SimdTanh

if TYPE_CHECKING:
    from algorithms.core.value_critic import ValueCritic


def _linear_layers(critic: ValueCritic) -> list[nn.Linear]:
    return [m for m in critic.net if isinstance(m, nn.Linear)]


def _adam_settings(critic: ValueCritic) -> dict:
    group = critic.optimizer.param_groups[0]
    return {key: group[key] for key in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize")}


def _adam_steps(critic: ValueCritic) -> float | None:
    """Adam steps the critic has taken (None before its first fit)."""
    state = critic.optimizer.state.get(next(critic.net.parameters()))
    return None if state is None else float(state["step"])


class CriticStack:
    """K critics' weights and Adam moments stacked along a leading axis, for one joint fit."""

    def __init__(self, critics: Sequence[ValueCritic]) -> None:
        self.critics = list(critics)
        first = self.critics[0]
        self.activations = [m for m in first.net if not isinstance(m, nn.Linear)]
        # tanh networks: gradients by autograd's own ops without its engine (``_set_gradients``)
        self.hand_written_backward = all(isinstance(m, SimdTanh) for m in self.activations)
        self.weights: list[torch.Tensor] = []  # (K, out, in) per layer
        self.biases: list[torch.Tensor] = []  # (K, 1, out) per layer
        for layers in zip(*(_linear_layers(c) for c in self.critics), strict=True):
            self.weights.append(torch.stack([layer.weight.detach() for layer in layers]).requires_grad_())
            self.biases.append(torch.stack([layer.bias.detach().unsqueeze(0) for layer in layers]).requires_grad_())
        settings = _adam_settings(first)
        self.optimizer = torch.optim.Adam(self.parameters(), lr=settings["lr"], betas=settings["betas"],
                                          eps=settings["eps"], weight_decay=settings["weight_decay"], fused=True)
        self._load_moments()

    def parameters(self) -> list[torch.Tensor]:
        """In the order of each critic's ``parameters()``: weight, bias of every layer."""
        return [p for pair in zip(self.weights, self.biases, strict=True) for p in pair]

    def _load_moments(self) -> None:
        """Stack the critics' Adam states (if they have taken a step) into the joint optimizer."""
        states = [[c.optimizer.state.get(p) for p in c.net.parameters()] for c in self.critics]
        missing = [state is None for per_critic in states for state in per_critic]
        if all(missing):
            return  # first fit: every critic starts with fresh moments, as the joint optimizer does
        if any(missing):
            raise ValueError("critics fitted together must all have taken Adam steps before, or none of them")
        for i, stacked in enumerate(self.parameters()):
            per_critic = [s[i] for s in states]
            steps = {float(s["step"]) for s in per_critic}
            if len(steps) != 1:
                raise ValueError(f"critics fitted together must have taken the same number of steps, got {steps}")
            self.optimizer.state[stacked] = {
                "step": per_critic[0]["step"].clone(),
                "exp_avg": torch.stack([s["exp_avg"].reshape(stacked.shape[1:]) for s in per_critic]),
                "exp_avg_sq": torch.stack([s["exp_avg_sq"].reshape(stacked.shape[1:]) for s in per_critic]),
            }

    def forward(self, obs: torch.Tensor, inputs: list[torch.Tensor] | None = None) -> torch.Tensor:
        """(K, B, obs_dim) -> (K, B): critic k's values of its own minibatch; ``inputs`` collects each
        layer's input (what the hand-written backward needs)."""
        # build_mlp's layout, Linear (activation Linear)*: ``stackable`` checks every critic has it
        h = obs
        for layer, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            if inputs is not None:
                inputs.append(h)
            h = torch.baddbmm(bias, h, weight.transpose(1, 2))
            if layer < len(self.activations):
                h = self.activations[layer](h)
        return h.squeeze(-1)

    def fit(self, obs: torch.Tensor, targets: Sequence[torch.Tensor], orders: Sequence[list[torch.Tensor]],
            minibatch_size: int) -> None:
        """Adam epochs on each critic's mean squared error; ``orders[k][e]`` is critic k's order in epoch e."""
        stacked_targets = torch.stack(list(targets))
        n = len(obs)
        for epoch_orders in zip(*orders, strict=True):
            order = torch.stack(list(epoch_orders))  # (K, n)
            shuffled_obs, shuffled_targets = obs[order], torch.gather(stacked_targets, 1, order)
            for start in range(0, n, minibatch_size):
                end = start + minibatch_size
                self._set_gradients(shuffled_obs[:, start:end], shuffled_targets[:, start:end])
                self.optimizer.step()
        self._write_back()

    def _set_gradients(self, obs: torch.Tensor, targets: torch.Tensor) -> None:
        """Each critic's gradient of its own mean squared error on its minibatch, into ``.grad``."""
        if not self.hand_written_backward:
            errors = self.forward(obs) - targets
            loss = errors.pow(2).mean(dim=1).sum()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            return
        with torch.no_grad():  # tanh networks: autograd's own backward ops, without the engine's overhead
            inputs: list[torch.Tensor] = []
            errors = self.forward(obs, inputs) - targets
            # backward of errors.pow(2).mean(dim=1).sum(), as PowBackward and MeanBackward compute it
            grad = ((torch.ones((), dtype=errors.dtype) / errors.shape[1]) * (2.0 * errors)).unsqueeze(-1)
            for layer in reversed(range(len(self.weights))):
                weight, bias, h = self.weights[layer], self.biases[layer], inputs[layer]
                bias.grad = grad.sum(1, keepdim=True)
                weight.grad = torch.bmm(h.transpose(1, 2), grad).transpose(1, 2).contiguous()
                if layer > 0:  # through the input of this layer, the output of the previous tanh
                    grad = torch.ops.aten.tanh_backward(torch.bmm(grad, weight), h)

    @torch.no_grad()
    def _write_back(self) -> None:
        """Copy each critic's slice of the weights and Adam moments into the critic."""
        for k, critic in enumerate(self.critics):
            for stacked, own in zip(self.parameters(), critic.net.parameters(), strict=True):
                own.copy_(stacked[k].reshape(own.shape))
                state = self.optimizer.state[stacked]
                critic.optimizer.state[own] = {
                    "step": state["step"].clone(),
                    "exp_avg": state["exp_avg"][k].reshape(own.shape).clone(),
                    "exp_avg_sq": state["exp_avg_sq"][k].reshape(own.shape).clone(),
                }


def stackable(critics: Sequence[ValueCritic]) -> bool:
    """Adam-fitted critics of one shape, schedule and Adam state (the trust-region fit has its own step)."""
    first = critics[0]
    return all(
        c.fits_by_adam and c.epochs == first.epochs and c.minibatch_size == first.minibatch_size
        and [p.shape for p in c.parameters()] == [p.shape for p in first.parameters()]
        and [type(m) for m in c.net] == [type(m) for m in first.net]
        and _adam_settings(c) == _adam_settings(first) and not _adam_settings(c)["amsgrad"]
        and _adam_steps(c) == _adam_steps(first) for c in critics)


def fit_critics(critics: Sequence[ValueCritic], obs: torch.Tensor, targets: Sequence[torch.Tensor],
                rng: np.random.Generator) -> list[float]:
    """Fit each critic on its targets (stacked when they allow it); returns each one's final MSE.

    The random choices are drawn from ``rng`` critic by critic, as sequential fits would."""
    plans = [critic.plan_fit(len(obs), rng) for critic in critics]
    if not stackable(critics):
        return [c.fit_planned(obs, t, p) for c, t, p in zip(critics, targets, plans, strict=True)]
    CriticStack(critics).fit(obs, targets, plans, critics[0].minibatch_size)
    return [c.mean_squared_error(obs, t) for c, t in zip(critics, targets, strict=True)]
