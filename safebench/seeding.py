"""Seeds for every source of randomness, derived from the one ``seed`` of a run."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return the generator the sampler draws actions from."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def episode_seeds(seed: int, epoch: int, num_envs: int) -> list[int]:
    """Reset seeds for each environment at the start of an epoch's batch.

    Each batch starts from freshly seeded resets, so a run resumed at an epoch boundary sees the
    same environments as one that never stopped, with no simulator state to save.
    """
    return [int(s) for s in np.random.SeedSequence([seed, epoch]).generate_state(num_envs)]
