"""A plain multi-layer perceptron, the body of every policy and critic."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from algorithms.core.simd_tanh import NUMPY_DTYPES, SimdTanh, numpy_tanh

ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": SimdTanh, "relu": nn.ReLU, "elu": nn.ELU, "sigmoid": nn.Sigmoid}


# How the weights start (biases start at 0 in the first two):
#   glorot_uniform: every layer Glorot/Xavier uniform, gain 1 (rllab's lasagne default, the released CPO code);
#   orthogonal: hidden layers orthogonal with gain sqrt(2), the output layer orthogonal with gain 0.01 (the
#   PPO-era convention of OmniSafe and CleanRL: a near-zero initial mean action);
#   kaiming_uniform: torch's nn.Linear default, weights kaiming_uniform(a=sqrt 5) and biases U(+-1/sqrt(fan_in))
#   (OmniSafe's off-policy networks, ``weight_initialization_mode: kaiming_uniform``; the TD3 and SAC authors'
#   code, which keeps torch's default), biases included.
INITIALIZATIONS = ("glorot_uniform", "orthogonal", "kaiming_uniform")


def build_mlp(in_dim: int, out_dim: int, hidden_sizes: Sequence[int], activation: str = "tanh",
              init: str = "orthogonal") -> nn.Sequential:
    """Stack Linear + activation layers, the last one linear, initialised by ``init`` (INITIALIZATIONS)."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
    if init not in INITIALIZATIONS:
        raise ValueError(f"unknown network init {init!r}; choose one of {list(INITIALIZATIONS)}")
    layers: list[nn.Module] = []
    sizes = [in_dim, *hidden_sizes]
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [_initialised_linear(a, b, init, gain=2**0.5), ACTIVATIONS[activation]()]
    layers.append(_initialised_linear(sizes[-1], out_dim, init, gain=0.01))
    return nn.Sequential(*layers)


def _initialised_linear(in_dim: int, out_dim: int, init: str, gain: float) -> nn.Linear:
    """A Linear layer, zero bias but in kaiming_uniform (torch's own); ``gain`` applies to orthogonal only."""
    linear = nn.Linear(in_dim, out_dim)
    if init == "kaiming_uniform":
        return linear  # nn.Linear.reset_parameters drew exactly OmniSafe's kaiming_uniform_(a=sqrt 5) and bias
    if init == "glorot_uniform":
        nn.init.xavier_uniform_(linear.weight)
    else:
        nn.init.orthogonal_(linear.weight, gain=gain)
    nn.init.zeros_(linear.bias)
    return linear


def forward_for_inference(net: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """``net(x)`` without nn.Module's call machinery, the same numbers (tested): the sampler runs a
    small network for every group of environments at every step, where that machinery costs about as
    much as the products (``scripts/compare_fast_paths.py`` measures it). Call it under no_grad."""
    for layer in net:
        if type(layer) is nn.Linear:
            x = F.linear(x, layer.weight, layer.bias)
        elif type(layer) is SimdTanh and x.device.type == "cpu" and x.dtype in NUMPY_DTYPES:
            x = numpy_tanh(x)  # SimdTanh's own kernel, without its autograd and dual-tensor checks
        else:
            x = layer(x)
    return x


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
