"""Critic fitting: stacked Adam fits equal separate fits; the released code's trust-region fit."""

import copy

import numpy as np
import pytest
import torch

from algorithms.core.critic_stack import CriticStack, fit_critics, stackable
from algorithms.core.value_critic import ValueCritic


def critics_and_data():
    torch.manual_seed(0)
    critics = [ValueCritic(6, minibatch_size=256, epochs=3) for _ in range(3)]
    obs = torch.randn(3000, 6)
    targets = [obs.sum(1), obs[:, 0] ** 2, torch.randn(3000)]
    return critics, obs, targets


def reference_fit(critic: ValueCritic, optimizer: torch.optim.Optimizer, obs, targets, orders) -> None:
    """Adam minibatch regression written plainly, one critic at a time: what the stack must equal."""
    for order in orders:
        for start in range(0, len(obs), critic.minibatch_size):
            batch = order[start : start + critic.minibatch_size]
            loss = (critic(obs[batch]) - targets[batch]).pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def test_stacked_fit_equals_plain_separate_fits_up_to_rounding():
    """Three fits in a row (Adam moments carried over): weights, moments and losses match a plain
    per-critic Adam loop drawing the same orders, to float rounding."""
    stacked, obs, targets = critics_and_data()
    separate = copy.deepcopy(stacked)
    optimizers = [torch.optim.Adam(c.net.parameters(), lr=1e-3, foreach=False) for c in separate]
    assert stackable(stacked)
    for fit in range(3):
        rng_a, rng_b = np.random.default_rng(fit), np.random.default_rng(fit)
        got = fit_critics(stacked, obs, targets, rng_a)
        for critic, optimizer, target in zip(separate, optimizers, targets):
            reference_fit(critic, optimizer, obs, target, critic.plan_fit(len(obs), rng_b))
        expected = [c.mean_squared_error(obs, t) for c, t in zip(separate, targets)]
        np.testing.assert_allclose(got, expected, rtol=1e-5)
        assert rng_a.random() == rng_b.random()  # the same draws were consumed
    for a, b, optimizer in zip(stacked, separate, optimizers):
        for p, q in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-6)
            state_a, state_b = a.optimizer.state[p], optimizer.state[q]
            assert float(state_a["step"]) == float(state_b["step"]) == 3 * 3 * 12  # fits x epochs x minibatches
            torch.testing.assert_close(state_a["exp_avg"], state_b["exp_avg"], rtol=1e-4, atol=1e-8)
            torch.testing.assert_close(state_a["exp_avg_sq"], state_b["exp_avg_sq"], rtol=1e-4, atol=1e-9)
    assert got[0] < 0.1 * float(targets[0].var())  # and they did learn


@pytest.mark.parametrize("minibatch", [256, 1000])
def test_hand_written_backward_of_tanh_critics_is_autograd_bit_for_bit(minibatch):
    """The stack's backward for tanh networks runs autograd's own ops: the same gradients, exactly."""
    critics, obs, targets = critics_and_data()
    stack = CriticStack(critics)
    assert stack.hand_written_backward
    by_hand, by_autograd = {}, {}
    for minibatch_obs, minibatch_targets in [(obs[:minibatch], targets), (obs[minibatch:minibatch + 77], targets)]:
        x = minibatch_obs.unsqueeze(0).expand(3, -1, -1)
        y = torch.stack([t[:len(minibatch_obs)] for t in minibatch_targets])
        for mode, out in ((True, by_hand), (False, by_autograd)):
            stack.hand_written_backward = mode
            stack._set_gradients(x, y)
            out[len(minibatch_obs)] = [p.grad.clone() for p in stack.parameters()]
    for n in by_hand:
        for a, b in zip(by_hand[n], by_autograd[n], strict=True):
            assert torch.equal(a, b)
            assert a.abs().sum() > 0


def test_hand_written_backward_is_autograd_bit_for_bit_in_float64_too():
    critics, obs, targets = critics_and_data()
    stack = CriticStack([c.double() for c in critics])
    x, y = obs.double()[:300].unsqueeze(0).expand(3, -1, -1), torch.stack([t.double()[:300] for t in targets])
    grads = {}
    for mode in (True, False):
        stack.hand_written_backward = mode
        stack._set_gradients(x, y)
        grads[mode] = [p.grad.clone() for p in stack.parameters()]
    assert all(a.dtype == torch.float64 and torch.equal(a, b) for a, b in zip(grads[True], grads[False]))


def test_critics_with_other_activations_are_stacked_through_autograd():
    torch.manual_seed(0)
    critics = [ValueCritic(6, activation="relu", minibatch_size=256, epochs=2) for _ in range(2)]
    obs = torch.randn(1000, 6)
    before = [float((c.predict(obs) - obs.sum(1)).pow(2).mean()) for c in critics]
    assert not CriticStack(critics).hand_written_backward
    after = fit_critics(critics, obs, [obs.sum(1)] * 2, np.random.default_rng(0))
    assert all(a < 0.9 * b for a, b in zip(after, before))


def test_critics_with_different_adam_histories_are_fitted_one_by_one():
    critics, obs, targets = critics_and_data()
    critics[0].fit(obs, targets[0], np.random.default_rng(0))  # a warm start for one critic only
    assert not stackable(critics)
    losses = fit_critics(critics, obs, targets, np.random.default_rng(1))  # no error: one after another
    assert all(np.isfinite(losses))
    assert float(critics[0].optimizer.state[next(critics[0].parameters())]["step"]) == 2 * 3 * 12


def test_stacked_fit_is_used_only_for_same_shaped_adam_critics():
    from algorithms.core.trust_region_critic import TrustRegionCritic

    critics, obs, targets = critics_and_data()
    assert stackable(critics[:1])  # a critic fitted alone is a stack of one
    assert not stackable([critics[0], ValueCritic(6, hidden_sizes=(8,), minibatch_size=256, epochs=3)])
    assert not stackable([critics[0], ValueCritic(6, minibatch_size=128, epochs=3)])
    assert not stackable([critics[0], ValueCritic(6, activation="relu", minibatch_size=256, epochs=3)])
    assert not stackable([critics[0], ValueCritic(6, lr=0.1, minibatch_size=256, epochs=3)])
    assert not stackable([TrustRegionCritic(6), TrustRegionCritic(6)])
    mixed = [critics[0], TrustRegionCritic(6)]
    losses = fit_critics(mixed, obs, targets[:2], np.random.default_rng(0))  # one after another
    assert len(losses) == 2 and all(np.isfinite(losses))


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
    from algorithms.core.trust_region_critic import TrustRegionCritic

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


@pytest.mark.slow  # 15 s; its fit is tested in-process
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
