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
    """fit(rng) = plan_fit(rng) then fit_planned: the random stream is consumed the same way."""
    a, obs, targets = critics_and_data()
    b, _, _ = critics_and_data()
    loss_a = a[0].fit(obs, targets[0], np.random.default_rng(9))
    rng = np.random.default_rng(9)
    loss_b = b[0].fit_planned(obs, targets[0], [torch.from_numpy(rng.permutation(len(obs))) for _ in range(3)])
    assert loss_a == loss_b


def test_trust_region_critic_improves_within_its_kl_step_each_fit():
    """The released code's fit: each call lowers the error, and moves the normalized prediction by
    at most the KL step (1/2 mean squared change <= max_kl)."""
    from algorithms.trust_region_critic import TrustRegionCritic

    torch.manual_seed(0)
    critic = TrustRegionCritic(6, max_kl=0.01)
    obs = torch.randn(4000, 6) * 3 + 1  # unnormalized inputs
    targets = 50 + 20 * torch.tanh(obs[:, 0] - 1) + 10 * obs[:, 1]  # large offset and scale
    rng = np.random.default_rng(0)
    errors = [critic.fit(obs, targets, rng)]
    for _ in range(30):
        with torch.no_grad():
            before = critic.normalized_prediction(obs)
        errors.append(critic.fit(obs, targets, rng))
        with torch.no_grad():
            moved = 0.5 * (critic.normalized_prediction(obs) - before).pow(2).mean()
        assert float(moved) <= 0.01 + 1e-6
    assert errors[-1] < 0.2 * float(targets.var())  # learned most of the signal
    assert all(b <= a * 1.001 for a, b in zip(errors[1:], errors[2:]))  # never worse, fit after fit
    restored = TrustRegionCritic(6)
    restored.load_state(critic.state())
    assert torch.equal(restored.predict(obs), critic.predict(obs))


def test_trust_region_critic_trains_through_the_cli(tmp_path):
    import pandas as pd
    from helpers import run_cli

    result = run_cli("+algo=cpo", "+task=point_gather", "algo.critic_fit=trust_region", "train.batch_size=3000",
                     "train.total_steps=9000", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    progress = pd.read_csv(tmp_path / "run" / "progress.csv")
    assert len(progress) == 3 and progress["value_loss"].notna().all() and progress["cost_value_loss"].notna().all()
    saved = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=False)
    assert "normalization" in saved["algorithm"]["reward_critic"]  # the trust-region critic was used
