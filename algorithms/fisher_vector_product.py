"""Fisher-vector products from the Hessian of the mean KL divergence (Pearlmutter's trick)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.distributions import Distribution, kl_divergence

from algorithms.mlp import flat_grad
from algorithms.policy import GaussianPolicy
from algorithms.simd_tanh import SimdTanh, numpy_tanh


def mean_kl(policy: GaussianPolicy, obs: torch.Tensor, old_mean: torch.Tensor, old_log_std: torch.Tensor,
            distribution: Distribution | None = None) -> torch.Tensor:
    """E_s[KL(pi_old(.|s) || pi(.|s))], the trust-region distance (``distribution``: pi(.|obs), if at hand)."""
    old = torch.distributions.Independent(torch.distributions.Normal(old_mean, old_log_std.exp()), 1)
    return kl_divergence(old, distribution if distribution is not None else policy.distribution(obs)).mean()


def make_fisher_vector_product(
    policy: GaussianPolicy, obs: torch.Tensor, damping: float
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Return v -> (H + damping I) v, H the Hessian of the mean KL at the current parameters.

    At the current parameters that Hessian is the Fisher matrix J' M J (J the Jacobian of the mean
    action, M = diag(1 / std^2)), plus 2 I on the log standard deviations. For tanh MLPs the product
    is computed in that form, a forward-mode pass for Jv and a backward pass for J'(MJv) through
    activations computed once: a third of the arithmetic of differentiating the KL twice. Other
    networks differentiate the KL twice (the gradient graph built once, reused by every product).
    """
    if is_tanh_mlp(policy.mean_net):
        return _tanh_mlp_fisher_product(policy, obs, damping)
    with torch.no_grad():
        old_mean = policy.mean_net(obs)
        old_log_std = policy.log_std.detach().clone()
    return make_hessian_vector_product(mean_kl(policy, obs, old_mean, old_log_std), policy, damping)


def is_tanh_mlp(net: torch.nn.Module) -> bool:
    """build_mlp's layout with tanh: Linear (SimdTanh Linear)*."""
    layers = list(net) if isinstance(net, torch.nn.Sequential) else []
    return (len(layers) % 2 == 1 and all(isinstance(m, torch.nn.Linear) for m in layers[::2])
            and all(isinstance(m, SimdTanh) for m in layers[1::2]))


def _tanh_mlp_fisher_product(policy: GaussianPolicy, obs: torch.Tensor,
                             damping: float) -> Callable[[torch.Tensor], torch.Tensor]:
    """(J' M J / N + 2 I_logstd + damping I) v for a tanh-MLP mean; parameters in ``policy.parameters()`` order."""
    linears = list(policy.mean_net)[::2]
    with torch.no_grad():
        inputs, h = [], obs  # the input of every Linear layer
        for layer, linear in enumerate(linears):
            inputs.append(h)
            h = torch.nn.functional.linear(h, linear.weight, linear.bias)
            if layer < len(linears) - 1:
                h = numpy_tanh(h)
        precision = torch.exp(-2 * policy.log_std.detach()) / len(obs)  # M / N
    params = list(policy.parameters())
    shapes, sizes = [p.shape for p in params], [p.numel() for p in params]
    # where each parameter's piece of v lies: log_std (registered first), then W, b of every layer
    order = [next(i for i, p in enumerate(params) if p is q)
             for q in [policy.log_std] + [t for linear in linears for t in (linear.weight, linear.bias)]]

    @torch.no_grad()
    def product(v: torch.Tensor) -> torch.Tensor:
        pieces = [piece.view(shape) for piece, shape in zip(torch.split(v, sizes), shapes)]
        log_std_tangent, *layer_tangents = [pieces[i] for i in order]
        # Jv, forward mode: d(out) = dW x + db + W dx, d(tanh) = (1 - tanh^2) d(in)
        tangent = None
        for layer, linear in enumerate(linears):
            weight_t, bias_t = layer_tangents[2 * layer], layer_tangents[2 * layer + 1]
            out = torch.addmm(bias_t, inputs[layer], weight_t.T)
            if tangent is not None:
                out += tangent @ linear.weight.T
            tangent = torch.ops.aten.tanh_backward(out, inputs[layer + 1]) if layer < len(linears) - 1 else out
        # J'(M Jv), backward
        grad = tangent * precision
        grads: list[torch.Tensor] = []
        for layer in reversed(range(len(linears))):
            grads[:0] = [grad.T @ inputs[layer], grad.sum(0)]
            if layer > 0:
                grad = torch.ops.aten.tanh_backward(grad @ linears[layer].weight, inputs[layer])
        by_param = [2.0 * log_std_tangent] + grads  # in ``order``
        hv = torch.cat([by_param[order.index(i)].reshape(-1) for i in range(len(params))])
        return hv + damping * v

    return product


def make_hessian_vector_product(kl: torch.Tensor, module: torch.nn.Module,
                                damping: float) -> Callable[[torch.Tensor], torch.Tensor]:
    """v -> (H + damping I) v, H the Hessian of the scalar ``kl`` in ``module``'s parameters (graph built once)."""
    grad_kl = flat_grad(kl, module, create_graph=True)

    def product(v: torch.Tensor) -> torch.Tensor:
        hv = flat_grad(grad_kl @ v, module, retain_graph=True)
        return hv + damping * v

    return product
