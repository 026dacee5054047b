"""Fisher-vector products from the Hessian of the mean KL divergence (Pearlmutter's trick)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.distributions import Distribution, kl_divergence

from algorithms.core.mlp import flat_grad
from algorithms.core.policy import GaussianPolicy
from algorithms.core.simd_tanh import SimdTanh, numpy_tanh

# v -> M v for a matrix M never formed: the Fisher (or Gauss-Newton) products that CG and the dual use
MatrixVectorProduct = Callable[[torch.Tensor], torch.Tensor]


def mean_kl(policy: GaussianPolicy, obs: torch.Tensor, old_mean: torch.Tensor, old_log_std: torch.Tensor,
            distribution: Distribution | None = None) -> torch.Tensor:
    """E_s[KL(pi_old(.|s) || pi(.|s))], the trust-region distance (``distribution``: pi(.|obs), if at hand)."""
    old = torch.distributions.Independent(torch.distributions.Normal(old_mean, old_log_std.exp()), 1)
    return kl_divergence(old, distribution if distribution is not None else policy.distribution(obs)).mean()


def make_fisher_vector_product(
    policy: GaussianPolicy, obs: torch.Tensor, damping: float
) -> MatrixVectorProduct:
    """Return v -> (H + damping I) v, H the Hessian of the mean KL at the current parameters.

    At the current parameters that Hessian is the Fisher matrix J' M J (J the Jacobian of the mean
    action, M = diag(1 / std^2)), plus 2 I on the log standard deviations. For tanh MLPs the product
    is computed in that form, a forward-mode pass for Jv and a backward pass for J'(MJv) through
    activations computed once: a third of the arithmetic of differentiating the KL twice. Other
    networks differentiate the KL twice (the gradient graph built once, reused by every product).
    """
    if has_tanh_mlp_mean(policy) and not policy.std_floor_active():
        return _tanh_mlp_fisher_product(policy, obs, damping)
    with torch.no_grad():
        old_mean = policy.mean_net(obs)
        old_log_std = policy.effective_log_std().detach().clone()
    return make_hessian_vector_product(mean_kl(policy, obs, old_mean, old_log_std), policy, damping)


def has_tanh_mlp_mean(policy: GaussianPolicy) -> bool:
    """True when the trainable parameters are exactly log_std and a tanh MLP's (build_mlp's layout:
    Linear (SimdTanh Linear)*), the form the J'MJ product is written for."""
    layers = list(policy.mean_net) if isinstance(policy.mean_net, torch.nn.Sequential) else []
    if not (len(layers) % 2 == 1 and all(isinstance(m, torch.nn.Linear) for m in layers[::2])
            and all(isinstance(m, SimdTanh) for m in layers[1::2])):
        return False
    expected = [policy.log_std] + [p for linear in layers[::2] for p in (linear.weight, linear.bias)]
    params = list(policy.parameters())
    return (len(params) == len(expected) and {id(p) for p in params} == {id(p) for p in expected}
            and all(p.requires_grad for p in params))


def _tanh_mlp_fisher_product(policy: GaussianPolicy, obs: torch.Tensor,
                             damping: float) -> Callable[[torch.Tensor], torch.Tensor]:
    """(J' M J / N + 2 I_logstd + damping I) v for a tanh-MLP mean, at the parameters of now."""
    linears = list(policy.mean_net)[::2]
    with torch.no_grad():
        weights = [linear.weight.detach().clone() for linear in linears]  # later steps must not leak in
        inputs, h = [], obs  # the input of every Linear layer
        for layer, (weight, linear) in enumerate(zip(weights, linears, strict=True)):
            inputs.append(h)
            h = torch.nn.functional.linear(h, weight, linear.bias)
            if layer < len(linears) - 1:
                h = numpy_tanh(h)
        precision = torch.exp(-2 * policy.log_std.detach()) / len(obs)  # M / N
    params = list(policy.parameters())  # the order of v
    sizes = [p.numel() for p in params]
    position = {id(p): i for i, p in enumerate(params)}
    slots = [(position[id(linear.weight)], position[id(linear.bias)]) for linear in linears]
    log_std_slot = position[id(policy.log_std)]

    @torch.no_grad()
    def product(v: torch.Tensor) -> torch.Tensor:
        pieces = [piece.view(p.shape) for piece, p in zip(torch.split(v, sizes), params, strict=True)]
        # Jv, forward mode: d(out) = dW x + db + W dx, d(tanh) = (1 - tanh^2) d(in)
        tangent = None
        for layer, (weight, (w_slot, b_slot)) in enumerate(zip(weights, slots, strict=True)):
            out = torch.addmm(pieces[b_slot], inputs[layer], pieces[w_slot].T)
            if tangent is not None:
                out += tangent @ weight.T
            tangent = torch.ops.aten.tanh_backward(out, inputs[layer + 1]) if layer < len(linears) - 1 else out
        # J'(M Jv), backward
        grad = tangent * precision
        result = [None] * len(params)
        result[log_std_slot] = 2.0 * pieces[log_std_slot]  # the KL's Hessian in log std is 2 I
        for layer in reversed(range(len(linears))):
            w_slot, b_slot = slots[layer]
            result[w_slot], result[b_slot] = grad.T @ inputs[layer], grad.sum(0)
            if layer > 0:
                grad = torch.ops.aten.tanh_backward(grad @ weights[layer], inputs[layer])
        return torch.cat([r.reshape(-1) for r in result]) + damping * v

    return product


def make_hessian_vector_product(kl: torch.Tensor, module: torch.nn.Module,
                                damping: float) -> MatrixVectorProduct:
    """v -> (H + damping I) v, H the Hessian of the scalar ``kl`` in ``module``'s parameters (graph built once)."""
    grad_kl = flat_grad(kl, module, create_graph=True)

    def product(v: torch.Tensor) -> torch.Tensor:
        hv = flat_grad(grad_kl @ v, module, retain_graph=True)
        return hv + damping * v

    return product
