"""Fisher-vector products from the Hessian of the mean KL divergence (Pearlmutter's trick)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.distributions import Distribution, kl_divergence

from algorithms.mlp import flat_grad
from algorithms.policy import GaussianPolicy


def mean_kl(policy: GaussianPolicy, obs: torch.Tensor, old_mean: torch.Tensor, old_log_std: torch.Tensor,
            distribution: Distribution | None = None) -> torch.Tensor:
    """E_s[KL(pi_old(.|s) || pi(.|s))], the trust-region distance (``distribution``: pi(.|obs), if at hand)."""
    old = torch.distributions.Independent(torch.distributions.Normal(old_mean, old_log_std.exp()), 1)
    return kl_divergence(old, distribution if distribution is not None else policy.distribution(obs)).mean()


def make_fisher_vector_product(
    policy: GaussianPolicy, obs: torch.Tensor, damping: float
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Return v -> (H + damping I) v, H the Hessian of the mean KL at the current parameters.

    The gradient graph of the KL is built once and reused by every product.
    """
    with torch.no_grad():
        old_mean = policy.mean_net(obs)
        old_log_std = policy.log_std.detach().clone()
    return make_hessian_vector_product(mean_kl(policy, obs, old_mean, old_log_std), policy, damping)


def make_hessian_vector_product(kl: torch.Tensor, module: torch.nn.Module,
                                damping: float) -> Callable[[torch.Tensor], torch.Tensor]:
    """v -> (H + damping I) v, H the Hessian of the scalar ``kl`` in ``module``'s parameters (graph built once)."""
    grad_kl = flat_grad(kl, module, create_graph=True)

    def product(v: torch.Tensor) -> torch.Tensor:
        hv = flat_grad(grad_kl @ v, module, retain_graph=True)
        return hv + damping * v

    return product
