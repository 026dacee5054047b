"""TRPO (Schulman et al. 2015): the unconstrained baseline; it ignores the cost entirely."""

from __future__ import annotations

from algorithms.core.trust_region import TrustRegionAlgorithm


class TRPO(TrustRegionAlgorithm):
    """Maximize the reward surrogate inside the KL trust region; no cost critic is fitted."""

    uses_cost_critic = False
    paper_name = "TRPO"
