"""The optional fast path of a task: one call steps many environments of it at once.

A task class that defines ``step_many(tasks, actions) -> ManySteps`` (and ``can_step_many`` true)
lets the sampler step all the environments of a process in one call instead of one ``env.step``
each (``safebench/vector_env.py``). It must return exactly what the tasks' own ``step`` would, bit
for bit; the per-environment ``step`` stays the reference (rendering, gymnasium users, tests).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ManySteps:
    """What ``step`` returns, for many environments: arrays with a leading environment axis."""

    obs: np.ndarray  # (n, obs_dim)
    rewards: np.ndarray  # (n,)
    costs: np.ndarray  # (n,) the cost of a single-constraint task
    terminated: np.ndarray  # (n,) bool
