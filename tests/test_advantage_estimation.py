"""GAE and the segmented discounted sum against hand-computed examples and a plain loop."""

import numpy as np
import pytest

from algorithms.core.advantage_estimation import compute_gae, discounted_cumsum


def test_discounted_cumsum_hand_example():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    ends = np.array([False, True, False, False, True])
    # segments [1, 2] and [3, 4, 5], discount 0.5
    expected = [1 + 0.5 * 2, 2, 3 + 0.5 * 4 + 0.25 * 5, 4 + 0.5 * 5, 5]
    np.testing.assert_allclose(discounted_cumsum(x, 0.5, ends), expected)


@pytest.mark.parametrize("discount", [0.0, 0.5, 0.945, 0.995, 1.0])
def test_discounted_cumsum_matches_loop(discount):
    rng = np.random.default_rng(0)
    x = rng.normal(size=3000)
    ends = rng.random(3000) < 0.01
    expected = np.zeros_like(x)
    running = 0.0
    for t in reversed(range(len(x))):
        if ends[t]:
            running = 0.0
        running = x[t] + discount * running
        expected[t] = running
    np.testing.assert_allclose(discounted_cumsum(x, discount, ends), expected, rtol=1e-9, atol=1e-9)


def test_gae_with_truncated_and_terminated_episodes_by_hand():
    gamma, lam = 0.9, 0.5
    # one env, 4 steps: an episode truncated after step 1 (bootstrap V=10 from its final obs),
    # then an episode that terminates after step 3 (no bootstrap).
    rewards = np.array([[1.0, 2.0, 3.0, 4.0]])
    values = np.array([[0.5, 1.0, 1.5, 2.0]])
    next_values = np.array([[1.0, 10.0, 2.0, 0.0]])  # V(s1), V(final obs), V(s3), terminal
    episode_end = np.array([[False, True, False, True]])
    adv, ret = compute_gae(rewards, values, next_values, episode_end, gamma, lam)
    d = rewards + gamma * next_values - values  # [1.4, 10.0, 3.3, 2.0]
    expected = np.array([[d[0, 0] + gamma * lam * d[0, 1], d[0, 1], d[0, 2] + gamma * lam * d[0, 3], d[0, 3]]])
    np.testing.assert_allclose(adv, expected)
    np.testing.assert_allclose(ret, expected + values)


def test_gae_rows_are_independent_streams():
    rewards = np.ones((2, 3))
    values = np.zeros((2, 3))
    next_values = np.zeros((2, 3))
    adv, _ = compute_gae(rewards, values, next_values, np.zeros((2, 3), bool), 1.0, 1.0)
    np.testing.assert_allclose(adv, [[3, 2, 1], [3, 2, 1]])  # row 0 does not leak into row 1


def test_lambda_one_gives_discounted_returns_with_bootstrap():
    rewards = np.array([[1.0, 1.0, 1.0]])
    values = np.array([[5.0, -3.0, 7.0]])  # arbitrary: cancels out when lambda = 1
    next_values = np.array([[-3.0, 7.0, 2.0]])  # last: bootstrap value 2
    _, ret = compute_gae(rewards, values, next_values, np.zeros((1, 3), bool), 0.5, 1.0)
    np.testing.assert_allclose(ret[0, 0], 1 + 0.5 + 0.25 + 0.125 * 2)
