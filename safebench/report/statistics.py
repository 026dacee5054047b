"""Small pure estimators for comparing algorithms over seeds; every random one takes a seed."""

from __future__ import annotations

import numpy as np

FINAL_FRACTION = 0.1  # "final" = the updates in the last 10% of env steps (SPEC section 5)


def final_window_mean(values: np.ndarray, env_steps: np.ndarray, fraction: float = FINAL_FRACTION) -> float:
    """Mean of one run's curve over its last ``fraction`` of env steps, so one noisy update does not decide.

    values, env_steps: (n_updates,), env_steps increasing. Updates with env_steps >= (1 - fraction) * the
    last env_steps count (the trainer's summary.json uses the same window); NaNs (updates without a
    finished episode) are ignored. Returns NaN for an empty curve."""
    values, env_steps = np.asarray(values, float), np.asarray(env_steps, float)
    if values.size == 0:
        return float("nan")
    window = values[env_steps >= (1.0 - fraction) * env_steps[-1]]
    window = window[np.isfinite(window)]
    return float(window.mean()) if window.size else float("nan")


def bootstrap_ci(values: np.ndarray, confidence: float = 0.95, n_resamples: int = 10_000,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the mean over seeds: the honest error bar for few seeds.

    values: (n_seeds,), NaNs dropped. Returns (low, high); (v, v) for one seed, (NaN, NaN) for none."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    if values.size == 1:
        return float(values[0]), float(values[0])
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(n_resamples, values.size))].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)


def iqm(values: np.ndarray) -> float:
    """Interquartile mean (rliable, Agarwal et al. 2021): robust to one outlier seed, less noisy than a median.

    values: (n,), NaNs dropped. Sorts and drops floor(n / 4) values at each end, then averages, exactly
    as scipy.stats.trim_mean(values, 0.25), which rliable's aggregate_iqm calls."""
    values = np.sort(np.asarray(values, float)[np.isfinite(values)])
    if values.size == 0:
        return float("nan")
    cut = int(0.25 * values.size)
    return float(values[cut:values.size - cut].mean())


def feasible_fraction(final_costs: np.ndarray, cost_limits: np.ndarray | float) -> float:
    """Fraction of seeds whose final cost is within the limit (<= d): how often the constraint is met.

    final_costs: (n_seeds,); cost_limits: scalar or (n_seeds,). NaN costs count as infeasible."""
    final_costs = np.asarray(final_costs, float)
    if final_costs.size == 0:
        return float("nan")
    return float(np.mean(final_costs <= np.asarray(cost_limits, float)))


def cumulative_violation(violations: np.ndarray) -> float:
    """Total constraint violation during training, sum over episodes of max(0, C_ep - d): the safety cost of learning.

    violations: (n_updates,), each update's sum over its finished episodes (progress.csv 'violation')."""
    return float(np.nansum(np.asarray(violations, float)))


def cost_rate(batch_costs: np.ndarray, batch_steps: np.ndarray) -> float:
    """Total training cost per env step (Ray et al. 2019's cost rate): the average unsafety while learning.

    batch_costs, batch_steps: (n_updates,), each update's summed cost and its env steps."""
    steps = float(np.sum(np.asarray(batch_steps, float)))
    return float(np.sum(np.asarray(batch_costs, float)) / steps) if steps > 0 else float("nan")
