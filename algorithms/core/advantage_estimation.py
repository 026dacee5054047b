"""Generalized advantage estimation (Schulman et al. 2016), written once for rewards and costs.

Arrays are laid out env-major, shape (num_envs, steps_per_env): each row is one environment's
stream of consecutive steps, possibly spanning several episodes.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter


def discounted_cumsum(x: np.ndarray, discount: float, segment_end: np.ndarray) -> np.ndarray:
    """y[t] = sum_{k>=t, same segment} discount^(k-t) x[k], with no Python loop over steps.

    ``x`` and ``segment_end`` have shape (n,); ``segment_end[t]`` is True when a segment ends at t
    (the last element is always treated as an end). A single reverse IIR filter runs over the
    whole array; the part that leaked across each boundary is then subtracted exactly:
    y_full[t] = y[t] + discount^(e+1-t) y_full[e+1], e the segment's end.
    """
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if n == 0:
        return x.copy()
    full = lfilter([1.0], [1.0, -discount], x[::-1])[::-1]
    ends = np.flatnonzero(segment_end)
    if len(ends) == 0 or ends[-1] != n - 1:
        ends = np.append(ends, n - 1)
    t = np.arange(n)
    seg_end = ends[np.searchsorted(ends, t)]  # the end of the segment that holds t
    carry_idx = seg_end + 1
    has_carry = carry_idx < n
    leak = np.zeros(n)
    exponent = (carry_idx - t)[has_carry]
    leak[has_carry] = np.power(discount, exponent) * full[carry_idx[has_carry]]
    return full - leak


def compute_gae(
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    episode_end: np.ndarray,
    gamma: float,
    lam: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Advantages and lambda-returns for one signal (reward or cost).

    All inputs have shape (num_envs, steps_per_env). ``next_values[i, t]`` is the value of the
    state reached after step t: 0 when the episode terminated there, V(final observation) when it
    was truncated by the time limit (or cut by the end of the batch), V(s[t+1]) otherwise.
    ``episode_end`` marks steps after which the next step belongs to a new episode.
    Returns (advantages, returns), both of shape (num_envs, steps_per_env).
    """
    deltas = rewards + gamma * next_values - values
    ends = np.asarray(episode_end, dtype=bool).copy()
    ends[:, -1] = True  # rows are independent streams
    advantages = discounted_cumsum(deltas.reshape(-1), gamma * lam, ends.reshape(-1)).reshape(deltas.shape)
    return advantages, advantages + values
