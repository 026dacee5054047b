"""The off-policy update's faster pieces give the numbers of the plain ones, bit for bit: each piece alone, and
whole gradient steps of SAC-, TD3- and DDPG-Lagrangian with every piece swapped back for its plain twin."""

import copy

import numpy as np
import pytest
import torch

import algorithms.core.off_policy as off_policy
import algorithms.sac_lagrangian as sac_module
import algorithms.td3_lagrangian as td3_module
from algorithms.core.grad_clip import clip_grad_norm_
from algorithms.core.lagrange_multiplier import LagrangeMultiplier
from algorithms.core.mlp import build_mlp
from algorithms.core.replay_buffer import FIELDS, ReplayBuffer, Transitions
from algorithms.ddpg_lagrangian import DDPGLagrangian
from algorithms.sac_lagrangian import SACLagrangian
from algorithms.td3_lagrangian import TD3Lagrangian


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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


def test_foreach_adam_gives_the_for_loop_numbers():
    net = build_mlp(11, 1, [64, 64], "relu")
    twin = copy.deepcopy(net)
    fast, plain = off_policy.adam(net.parameters(), lr=3e-4), plain_adam(twin.parameters(), lr=3e-4)
    generator = torch.Generator().manual_seed(1)
    for _ in range(30):
        random_grads(net.parameters(), generator, 1.0)
        for p, q in zip(net.parameters(), twin.parameters()):
            q.grad = p.grad.clone()
        fast.step()
        plain.step()
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), twin.parameters()))
    for p, q in zip(net.parameters(), twin.parameters()):
        assert all(torch.equal(fast.state[p][key], plain.state[q][key]) for key in ("step", "exp_avg", "exp_avg_sq"))


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
                lambda_init=0.001, lambda_lr=0.001, lambda_optimizer="adam", lambda_max=None, cost_window=10)
SMALL = DEFAULTS | dict(hidden_sizes=[32], critic_hidden_sizes=[32], batch_size=64, critic_lr=3e-3,
                        max_grad_norm=0.5)  # a small max_grad_norm: the clipping path too


def run(cls, params, constraints, steps=8):
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
    return stats, algo.state_dict()


def without_foreach_flags(state):
    """The optimizers' param_groups say which implementation ran (foreach); the numbers are what must agree."""
    if isinstance(state, dict):
        return {k: without_foreach_flags(v) for k, v in state.items() if k != "foreach"}
    if isinstance(state, list):
        return [without_foreach_flags(v) for v in state]
    return state


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


@pytest.mark.parametrize("cls,params,constraints", [
    (SACLagrangian, DEFAULTS, 1), (TD3Lagrangian, DEFAULTS, 1), (DDPGLagrangian, DEFAULTS, 1),
    (SACLagrangian, SMALL | {"auto_alpha": True}, 2), (TD3Lagrangian, SMALL, 2), (DDPGLagrangian, SMALL, 2)])
def test_gradient_steps_give_the_plain_numbers(cls, params, constraints, monkeypatch):
    """Stats, networks, targets, optimizers, multipliers and generators after 8 steps: the same bits as the plain
    update (per-tensor soft updates, Adam's for-loop, torch's clip_grad_norm_, the multiplier by autograd, and the
    actor's loss backpropagated into every network it touches)."""
    fast_stats, fast_state = run(cls, params, constraints)
    plain_backward = torch.Tensor.backward
    monkeypatch.setattr(torch.Tensor, "backward", lambda self, gradient=None, retain_graph=None,
                        create_graph=False, inputs=None: plain_backward(self, gradient, retain_graph, create_graph))
    monkeypatch.setattr(LagrangeMultiplier, "step", plain_lagrange_step)
    for module in (off_policy, td3_module):
        monkeypatch.setattr(module, "soft_update", plain_soft_update)
    for module in (off_policy, sac_module, td3_module):
        monkeypatch.setattr(module, "clip_grad_norm_", torch.nn.utils.clip_grad_norm_)
        monkeypatch.setattr(module, "adam", plain_adam)
    plain_stats, plain_state = run(cls, params, constraints)
    assert fast_stats == plain_stats
    assert fast_state["critic_optimizer"]["param_groups"][0]["foreach"] is True  # each run was the one meant
    assert plain_state["critic_optimizer"]["param_groups"][0]["foreach"] is None
    assert_identical(without_foreach_flags(fast_state), without_foreach_flags(plain_state))
