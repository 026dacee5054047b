"""Critics fitted side by side (one thread each) give exactly the one-thread sequential numbers."""

import numpy as np
import torch

from algorithms.value_critic import ValueCritic, fit_critics


def critics_and_data():
    torch.manual_seed(0)
    critics = [ValueCritic(6, minibatch_size=256, epochs=3) for _ in range(3)]
    obs = torch.randn(3000, 6)
    targets = [obs.sum(1), obs[:, 0] ** 2, torch.randn(3000)]
    return critics, obs, targets


def test_side_by_side_fit_equals_sequential_single_thread_fit():
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)  # sequential: what a multirun job (one thread) does
        sequential, obs, targets = critics_and_data()
        expected = fit_critics(sequential, obs, targets, np.random.default_rng(4))
        torch.set_num_threads(2)  # side by side in two Python threads
        parallel, obs, targets = critics_and_data()
        got = fit_critics(parallel, obs, targets, np.random.default_rng(4))
        assert torch.get_num_threads() == 2  # restored afterwards
    finally:
        torch.set_num_threads(threads)
    assert got == expected
    for a, b in zip(sequential, parallel):
        for p, q in zip(a.parameters(), b.parameters()):
            assert torch.equal(p, q)
    assert expected[0] < 0.5 * float(targets[0].var())  # and they did learn


def test_fit_draws_the_same_orders_as_before():
    """fit(rng) = epoch_orders(rng) then fit_in_order: the random stream is consumed the same way."""
    a, obs, targets = critics_and_data()
    b, _, _ = critics_and_data()
    loss_a = a[0].fit(obs, targets[0], np.random.default_rng(9))
    rng = np.random.default_rng(9)
    loss_b = b[0].fit_in_order(obs, targets[0], [torch.from_numpy(rng.permutation(len(obs))) for _ in range(3)])
    assert loss_a == loss_b
