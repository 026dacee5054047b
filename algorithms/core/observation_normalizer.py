"""Running mean/variance observation normalization (optional; off by default as in the paper)."""

from __future__ import annotations

import numpy as np


class ObservationNormalizer:
    """Tracks running statistics with the parallel (Chan et al.) update and standardizes inputs."""

    def __init__(self, shape: tuple[int, ...], enabled: bool = True, clip: float = 10.0, epsilon: float = 1e-8):
        self.enabled = enabled
        self.clip = clip
        self.epsilon = epsilon
        self.mean = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        self.count = epsilon

    def update(self, batch: np.ndarray) -> None:
        """Fold a batch of raw observations, shape (n, *shape), into the statistics."""
        if not self.enabled:
            return
        batch_mean = batch.mean(axis=0)
        batch_var = batch.var(axis=0)
        n = batch.shape[0]
        delta = batch_mean - self.mean
        total = self.count + n
        self.mean = self.mean + delta * n / total
        m2 = self.var * self.count + batch_var * n + delta**2 * self.count * n / total
        self.var = m2 / total
        self.count = total

    def normalize(self, obs: np.ndarray) -> np.ndarray:
        """Standardize and clip; the identity when disabled."""
        if not self.enabled:
            return obs.astype(np.float32, copy=False)
        out = (obs - self.mean) / np.sqrt(self.var + self.epsilon)
        return np.clip(out, -self.clip, self.clip).astype(np.float32)

    def state(self) -> dict:
        return {"mean": self.mean.copy(), "var": self.var.copy(), "count": self.count, "enabled": self.enabled}

    def load_state(self, state: dict) -> None:
        self.mean, self.var, self.count = state["mean"].copy(), state["var"].copy(), state["count"]
