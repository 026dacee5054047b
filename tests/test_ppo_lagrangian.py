"""PPO-Lagrangian's distinctive pieces: the multiplier's projected ascent and the clipped surrogate."""

import pytest
import torch

from algorithms.core.first_order import ppo_clip_loss
from algorithms.core.lagrange_multiplier import LagrangeMultiplier
from algorithms.core.penalized_ppo import penalized_advantages


def test_sgd_multiplier_ascends_on_violation_and_is_clipped_at_zero_and_max():
    lam = LagrangeMultiplier(init=0.5, lr=0.1, optimizer="sgd", upper=1.0)
    assert lam.step(2.0) == pytest.approx(0.7)  # 0.5 + 0.1 * 2
    assert lam.step(-10.0) == 0.0  # 0.7 - 1.0 < 0: projected onto 0
    assert lam.step(3.0) == pytest.approx(0.3)
    assert lam.step(100.0) == 1.0  # 0.3 + 10 > upper


def test_adam_multiplier_steps_by_lr_then_keeps_momentum():
    lam = LagrangeMultiplier(init=0.001, lr=0.035, optimizer="adam")
    assert lam.step(30.0) == pytest.approx(0.036)  # Adam's first step is lr * sign(gradient)
    # second step by hand: gradients of -lambda * v are -30 then +30
    m = 0.9 * (0.1 * -30.0) + 0.1 * 30.0
    v = 0.999 * (0.001 * 900.0) + 0.001 * 900.0
    expected = 0.036 - 0.035 * (m / (1 - 0.9**2)) / ((v / (1 - 0.999**2)) ** 0.5 + 1e-8)
    assert lam.step(-30.0) == pytest.approx(expected, rel=1e-5)
    assert 0.034 < expected < 0.0345  # momentum: one opposite violation barely lowers lambda


def test_multiplier_state_round_trip():
    lam = LagrangeMultiplier(init=0.2, lr=0.05, optimizer="adam")
    lam.step(4.0)
    restored = LagrangeMultiplier(init=0.0, lr=0.05, optimizer="adam")
    restored.load_state(lam.state())
    first, second = restored.step(-1.0), lam.step(-1.0)
    assert first == pytest.approx(second)
    assert first > 0.25  # Adam's momentum from the violation still pushes lambda up


def test_unknown_multiplier_optimizer_is_refused():
    with pytest.raises(ValueError, match="lambda_optimizer"):
        LagrangeMultiplier(0.0, 0.1, optimizer="rmsprop")


def test_ppo_clip_loss_on_a_hand_example():
    ratio = torch.tensor([1.5, 0.5, 1.1, 0.7])
    adv = torch.tensor([2.0, 1.0, -1.0, -3.0])
    # min(r A, clip(r) A): 1.2*2 = 2.4 (clipped), 0.5*1 = 0.5, 1.1*-1 = -1.1, 0.8*-3 = -2.4 (clipped)
    loss = ppo_clip_loss(torch.log(ratio), adv, clip=0.2)
    assert float(loss) == pytest.approx(-(2.4 + 0.5 - 1.1 - 2.4) / 4)


def test_penalized_advantages_shrink_towards_minus_cost_as_lambda_grows():
    reward = torch.tensor([1.0, 2.0, 3.0, 4.0])
    cost = torch.tensor([4.0, 1.0, 0.0, -1.0])
    std_r = (reward - reward.mean()) / reward.std()
    centred_c = cost - cost.mean()  # only centred, as OmniSafe: the cost keeps its own scale (std 2.2 here)
    assert torch.allclose(penalized_advantages(reward, cost, 0.0), std_r, atol=1e-6)
    assert torch.allclose(penalized_advantages(reward, cost, 1.0), (std_r - centred_c) / 2, atol=1e-6)
    assert torch.allclose(penalized_advantages(reward, cost, 1e6), -centred_c, atol=1e-5)
