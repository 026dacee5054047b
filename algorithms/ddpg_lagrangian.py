"""DDPG-Lagrangian (Lillicrap et al. 2016 with a Lagrange multiplier; OmniSafe's DDPGLag defaults).

DDPG is TD3 without its three additions: one reward critic, the target actor's action as is (no
smoothing noise) and an actor step after every critic step. So this file only fixes those settings;
the networks, the exploration noise, the cost critic and the multiplier are TD3-Lagrangian's.
"""

from __future__ import annotations

from collections.abc import Sequence

from algorithms.td3_lagrangian import TD3Lagrangian


class DDPGLagrangian(TD3Lagrangian):
    """Deterministic policy gradient on the penalized Q, one critic, no delay, no target smoothing."""

    def __init__(self, obs_dim: int, act_dim: int, cost_limit: float | Sequence[float], seed: int, *,
                 num_critics: int = 1, policy_delay: int = 1, **common) -> None:
        if num_critics != 1 or policy_delay != 1:
            raise ValueError("DDPG-Lagrangian has one critic and no policy delay (num_critics=1, policy_delay=1); "
                             "for twin critics or a delay use td3_lagrangian")
        super().__init__(obs_dim, act_dim, cost_limit, seed, num_critics=1, policy_delay=1, policy_noise=0.0,
                         policy_noise_clip=0.0, **common)
