"""The off-policy update's faster pieces against the plain ones. Bit for bit: each piece alone, and whole
gradient steps of SAC-, TD3- and DDPG-Lagrangian with every piece but Adam's kernel swapped back for its plain
twin. Adam's fused kernel rounds differently from its for-loop: within a few float32 ulps, tested to tolerance."""

import copy

import numpy as np
import pytest
import torch

import algorithms.core.off_policy as off_policy
from algorithms.core.fused_adam import fused_adam
import algorithms.sac_lagrangian as sac_module
import algorithms.td3_lagrangian as td3_module
from algorithms.core.grad_clip import clip_grad_norm_
from algorithms.core.lagrange_multiplier import LagrangeMultiplier
from algorithms.core.mlp import build_mlp
from algorithms.core.replay_buffer import FIELDS, ReplayBuffer, Transitions
from algorithms.ddpg_lagrangian import DDPGLagrangian
from algorithms.sac_lagrangian import SACLagrangian
from algorithms.td3_lagrangian import TD3Lagrangian


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


# ---- the plain twins: the code before the speed-ups ----------------------------------------------------
def plain_soft_update(target, source, tau):
    with torch.no_grad():
        for t, s in zip(target.parameters(), source.parameters(), strict=True):
            t.lerp_(s, tau)


def plain_adam(params, lr):
    return torch.optim.Adam(params, lr=lr)


def plain_lagrange_step(self, violation):
    self.optimizer.zero_grad(set_to_none=True)
    (-self.value * torch.as_tensor(violation, dtype=torch.float32)).sum().backward()
    self.optimizer.step()
    with torch.no_grad():
        self.value.clamp_(0.0, self.upper)
    values = self.value.detach().double().numpy()
    return float(values[0]) if np.ndim(violation) == 0 else values


def random_grads(params, generator, scale):
    for p in params:
        p.grad = torch.randn(p.shape, generator=generator) * scale


# ---- each piece -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("norm", [1e-3, 4.9, 5.0, 50.0])  # within, just within, at (clipped by the 1e-6) and beyond 5
def test_clip_grad_norm_gives_torchs_gradients_and_norm(norm):
    net = build_mlp(5, 3, [16, 16], "relu")
    twin = copy.deepcopy(net)
    random_grads(net.parameters(), torch.Generator().manual_seed(0), 1.0)
    scale = norm / torch.nn.utils.get_total_norm([p.grad for p in net.parameters()])
    for p, q in zip(net.parameters(), twin.parameters()):
        p.grad *= scale
        q.grad = p.grad.clone()
    before = [p.grad.clone() for p in net.parameters()]
    got, expected = clip_grad_norm_(net.parameters(), 5.0), torch.nn.utils.clip_grad_norm_(twin.parameters(), 5.0)
    assert torch.equal(got, expected)
    assert all(torch.equal(p.grad, q.grad) for p, q in zip(net.parameters(), twin.parameters()))
    clipped = not all(torch.equal(p.grad, b) for p, b in zip(net.parameters(), before))
    assert clipped == (norm >= 5.0)


def test_clip_grad_norm_of_a_nan_gradient_is_torchs():
    p, q = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(3))
    p.grad, q.grad = torch.tensor([1.0, float("nan"), 2.0]), torch.tensor([1.0, float("nan"), 2.0])
    assert clip_grad_norm_([p], 1.0).isnan() and torch.nn.utils.clip_grad_norm_([q], 1.0).isnan()
    assert torch.equal(p.grad.isnan(), q.grad.isnan()) and p.grad.isnan().all()


def test_soft_update_is_each_tensors_lerp():
    source, target = build_mlp(5, 1, [16, 16], "relu"), build_mlp(5, 1, [16, 16], "relu")
    twin = copy.deepcopy(target)
    off_policy.soft_update(target, source, 0.005)
    plain_soft_update(twin, source, 0.005)
    assert all(torch.equal(a, b) for a, b in zip(target.parameters(), twin.parameters()))
    with pytest.raises(ValueError, match="one architecture"):
        off_policy.soft_update(target, build_mlp(5, 1, [16], "relu"), 0.005)


def test_fused_adam_stays_within_rounding_of_the_for_loop():
    """100 steps at lr 3e-4 move a weight by up to 0.03; the two kernels' weights stay within 1e-6 (measured: 3e-8,
    a few ulps), their moments within float32 rounding."""
    net = build_mlp(11, 1, [64, 64], "relu")
    twin = copy.deepcopy(net)
    fast, plain = fused_adam(net.parameters(), lr=3e-4), plain_adam(twin.parameters(), lr=3e-4)
    assert fast.param_groups[0]["fused"] and not plain.param_groups[0]["fused"]
    generator = torch.Generator().manual_seed(1)
    for _ in range(100):
        random_grads(net.parameters(), generator, 1.0)
        for p, q in zip(net.parameters(), twin.parameters()):
            q.grad = p.grad.clone()
        fast.step()
        plain.step()
    for p, q in zip(net.parameters(), twin.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)
        assert not torch.equal(p, q) or p.numel() < 100  # different kernels (else this test tests nothing)
        for key in ("exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(fast.state[p][key], plain.state[q][key], rtol=1e-5, atol=1e-7)
        assert float(fast.state[p]["step"]) == float(plain.state[q]["step"]) == 100


@pytest.mark.parametrize("optimizer,count,upper", [("adam", 1, None), ("adam", 2, 0.3), ("sgd", 2, None)])
def test_lagrange_step_without_backward_gives_autograds_numbers(optimizer, count, upper):
    fast, plain = (LagrangeMultiplier(0.1, 0.05, optimizer, upper, count=count) for _ in range(2))
    rng = np.random.default_rng(0)
    for _ in range(20):
        violation = rng.normal(size=count) * 3 if count > 1 else float(rng.normal() * 3)
        got, expected = fast.step(violation), plain_lagrange_step(plain, violation)
        np.testing.assert_array_equal(got, expected)
    assert torch.equal(fast.value, plain.value)
    assert str(fast.state()) == str(plain.state())


def test_replay_sample_holds_the_drawn_rows():
    rng = np.random.default_rng(0)
    buffer = ReplayBuffer(50, obs_dim=3, act_dim=2, num_costs=2)
    buffer.add(Transitions(rng.normal(size=(40, 3)), rng.normal(size=(40, 2)), rng.normal(size=40),
                           rng.normal(size=(40, 2)), rng.normal(size=(40, 3)), rng.random(40) < .5, rng.random(40) < .5))
    batch = buffer.sample(64, torch.Generator().manual_seed(3))
    index = torch.randint(40, (64,), generator=torch.Generator().manual_seed(3)).numpy()
    for name in FIELDS:
        expected = buffer.arrays[name][index]
        assert getattr(batch, name).numpy().tobytes() == expected.tobytes() and getattr(batch, name).shape == expected.shape


# ---- whole gradient steps ---------------------------------------------------------------------------------
DEFAULTS = dict(hidden_sizes=[256, 256], activation="relu", critic_hidden_sizes=[256, 256], num_critics=2, gamma=0.99,
                cost_gamma=0.99, polyak=0.005, critic_lr=3e-4, max_grad_norm=40.0, batch_size=256, policy_delay=2,
                lambda_init=0.001, lambda_lr=0.001, lambda_optimizer="adam", lambda_max=None, cost_window=50,
                network_init="kaiming_uniform")
SMALL = DEFAULTS | dict(hidden_sizes=[32], critic_hidden_sizes=[32], batch_size=64, critic_lr=3e-3,
                        max_grad_norm=0.5)  # a small max_grad_norm: the clipping path too


def run(cls, params, constraints, steps=8):
    """Stats of ``steps`` gradient steps on a fixed random buffer, and the algorithm's state after them."""
    if cls is DDPGLagrangian:
        params = params | {"num_critics": 1, "policy_delay": 1}
    algo = cls(obs_dim=9, act_dim=2, cost_limit=[5.0] * constraints, seed=1, **params)
    rng = np.random.default_rng(0)
    n = 2000
    buffer = ReplayBuffer(n, 9, 2, constraints)
    buffer.add(Transitions(rng.normal(size=(n, 9)), rng.uniform(-1, 1, (n, 2)), rng.normal(size=n),
                           (rng.random((n, constraints)) < .3), rng.normal(size=(n, 9)), rng.random(n) < .05,
                           rng.random(n) < .05))
    generator = torch.Generator().manual_seed(2)
    stats = []
    for step in range(steps):
        if step % 3 == 1:
            algo.record_episodes(np.full((2, constraints), 4.0 + step))
        stats.append(algo.update(buffer.sample(algo.batch_size, generator)))
        algo.update_multiplier()  # the harness's schedule at its defaults: one gradient step per update
    return stats, algo.state_dict()


def assert_identical(a, b, path="state"):
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), path
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_identical(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_identical(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


CASES = [(SACLagrangian, DEFAULTS, 1), (TD3Lagrangian, DEFAULTS, 1), (DDPGLagrangian, DEFAULTS, 1),
         (SACLagrangian, SMALL | {"auto_alpha": True}, 2), (TD3Lagrangian, SMALL, 2), (DDPGLagrangian, SMALL, 2)]


def use_plain_pieces(monkeypatch, adam_too: bool) -> None:
    """Per-tensor soft updates, torch's clip_grad_norm_, the multiplier by autograd, the actor's loss
    backpropagated into every network it touches, and (``adam_too``) Adam's for-loop."""
    plain_backward = torch.Tensor.backward
    monkeypatch.setattr(torch.Tensor, "backward", lambda self, gradient=None, retain_graph=None,
                        create_graph=False, inputs=None: plain_backward(self, gradient, retain_graph, create_graph))
    monkeypatch.setattr(LagrangeMultiplier, "step", plain_lagrange_step)
    for module in (off_policy, td3_module):
        monkeypatch.setattr(module, "soft_update", plain_soft_update)
    monkeypatch.setattr(off_policy, "clip_grad_norm_", torch.nn.utils.clip_grad_norm_)  # every clip is there
    for module in (off_policy, sac_module, td3_module):
        if adam_too:
            monkeypatch.setattr(module, "fused_adam", plain_adam)


@pytest.mark.parametrize("cls,params,constraints", CASES)
def test_gradient_steps_give_the_plain_numbers(cls, params, constraints, monkeypatch):
    """Stats, networks, targets, optimizers, multipliers and generators after 8 steps: the same bits as the plain
    update with the same Adam kernel."""
    fast_stats, fast_state = run(cls, params, constraints)
    use_plain_pieces(monkeypatch, adam_too=False)
    plain_stats, plain_state = run(cls, params, constraints)
    assert fast_stats == plain_stats
    assert_identical(fast_state, plain_state)


@pytest.mark.parametrize("cls,params,constraints", CASES)
def test_gradient_steps_stay_close_to_the_plain_update_with_adams_for_loop(cls, params, constraints, monkeypatch):
    """The only change that is not bit for bit, Adam's fused kernel: after 8 steps the losses and every network
    agree with the plain update's (the base commit's numbers) to float32 rounding."""
    fast_stats, fast_state = run(cls, params, constraints)
    use_plain_pieces(monkeypatch, adam_too=True)
    plain_stats, plain_state = run(cls, params, constraints)
    assert fast_state["critic_optimizer"]["param_groups"][0]["fused"]  # each run was the one meant
    assert not plain_state["critic_optimizer"]["param_groups"][0]["fused"]
    for fast, plain in zip(fast_stats, plain_stats, strict=True):
        assert fast.keys() == plain.keys()
        np.testing.assert_allclose([fast[k] for k in fast], [plain[k] for k in fast], rtol=1e-4, atol=1e-6)
    for name in ("policy", "reward_critic", "cost_critics", "target_reward_critic", "target_cost_critics"):
        for key, value in fast_state[name].items():
            torch.testing.assert_close(value, plain_state[name][key], rtol=0, atol=1e-5, msg=f"{name}.{key}")
