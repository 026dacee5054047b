"""A plain multi-layer perceptron, the body of every policy and critic."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from algorithms.simd_tanh import SimdTanh

ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": SimdTanh, "relu": nn.ReLU, "elu": nn.ELU, "sigmoid": nn.Sigmoid}


def build_mlp(in_dim: int, out_dim: int, hidden_sizes: Sequence[int], activation: str = "tanh") -> nn.Sequential:
    """Stack Linear + activation layers; the last layer is linear and initialised small."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
    layers: list[nn.Module] = []
    sizes = [in_dim, *hidden_sizes]
    for a, b in zip(sizes[:-1], sizes[1:]):
        linear = nn.Linear(a, b)
        nn.init.orthogonal_(linear.weight, gain=2**0.5)
        nn.init.zeros_(linear.bias)
        layers += [linear, ACTIVATIONS[activation]()]
    head = nn.Linear(sizes[-1], out_dim)
    nn.init.orthogonal_(head.weight, gain=0.01)
    nn.init.zeros_(head.bias)
    layers.append(head)
    return nn.Sequential(*layers)


def flat_params(module: nn.Module) -> torch.Tensor:
    """All trainable parameters as one vector, the space the trust-region maths works in."""
    return torch.cat([p.data.reshape(-1) for p in module.parameters() if p.requires_grad])


def set_flat_params(module: nn.Module, flat: torch.Tensor) -> None:
    """Write a flat parameter vector back into the module."""
    offset = 0
    for p in module.parameters():
        if not p.requires_grad:
            continue
        n = p.numel()
        p.data.copy_(flat[offset : offset + n].view_as(p))
        offset += n


def flat_grad(output: torch.Tensor, module: nn.Module, **kwargs) -> torch.Tensor:
    """Gradient of a scalar with respect to the module's parameters, flattened."""
    params = [p for p in module.parameters() if p.requires_grad]
    grads = torch.autograd.grad(output, params, **kwargs)
    return torch.cat([g.reshape(-1) for g in grads])
