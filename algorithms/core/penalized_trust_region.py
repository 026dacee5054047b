"""TRPO on reward - sum_k w_k cost_k, the common form of the fixed-penalty and primal-dual (PDO) baselines.

With ``one_critic`` (the default, the released code's ``pdo_vf_mode=1``) a single critic learns the
penalized signal r - w.c and GAE runs on it with the reward's gamma and lambda; no cost critic is
fitted. Otherwise reward and cost critics are fitted apart and the advantages combined,
A_r - sum_k w_k A_Ck, with each cost's own lambda.
"""

from __future__ import annotations

import numpy as np
import torch

from algorithms.core.actor_critic import UpdateData, penalize, standardize
from algorithms.core.rollout_batch import RolloutBatch
from algorithms.core.trust_region import TrustRegionAlgorithm


class PenalizedTrustRegion(TrustRegionAlgorithm):
    """A trust-region step on the penalized objective; subclasses say what the weights are."""

    def __init__(self, *args, one_critic: bool = True, **kwargs) -> None:
        self.one_critic = bool(one_critic)  # read by ActorCritic.__init__ (fits_cost_critics)
        super().__init__(*args, **kwargs)

    def penalty_weights(self) -> np.ndarray:
        """w_k, one per constraint, in force for this update."""
        raise NotImplementedError

    @property
    def fits_cost_critics(self) -> bool:
        return not self.one_critic

    def critic_rewards(self, batch: RolloutBatch) -> np.ndarray:
        if not self.one_critic:
            return batch.rewards
        penalty = sum(float(w) * batch.cost_column(k) for k, w in enumerate(self.penalty_weights()))
        return batch.rewards - penalty

    def policy_advantages(self, data: UpdateData) -> torch.Tensor:
        if self.one_critic:  # the critic already learned r - w.c
            return standardize(data.reward_advantages)
        return standardize(penalize(data.reward_advantages, data.cost_advantages, self.penalty_weights()))
