"""SAC-, TD3- and DDPG-Lagrangian: each one's distinctive piece, the shared critics and multiplier, exact resume."""

import io

import numpy as np
import pytest
import torch

from algorithms.core.replay_buffer import ReplayBuffer, Transitions
from algorithms.ddpg_lagrangian import DDPGLagrangian
from algorithms.sac_lagrangian import SACLagrangian, temperature_loss
from algorithms.td3_lagrangian import TD3Lagrangian, smoothed_target_actions

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


COMMON = dict(hidden_sizes=[32], activation="relu", critic_hidden_sizes=[32], num_critics=2, gamma=0.99,
              cost_gamma=0.99, polyak=0.005, critic_lr=3e-3, max_grad_norm=40.0, batch_size=64, policy_delay=2,
              lambda_init=0.001, lambda_lr=0.01, lambda_optimizer="adam", lambda_max=None, cost_window=10,
              network_init="kaiming_uniform")


def make(cls, **overrides):
    params = COMMON | overrides
    if cls is DDPGLagrangian:
        params |= {"num_critics": 1, "policy_delay": 1}
    return cls(obs_dim=1, act_dim=2, cost_limit=5.0, seed=3, **params)


def bandit_buffer(count: int = 2000, seed: int = 0) -> ReplayBuffer:
    """One-step episodes (terminated), so Q(s, a) is the immediate signal: reward = a_0, cost = 1[a_1 > 0]."""
    rng = np.random.default_rng(seed)
    actions = rng.uniform(-1, 1, (count, 2)).astype(np.float32)
    buffer = ReplayBuffer(count, obs_dim=1, act_dim=2, num_costs=1)
    buffer.add(Transitions(obs=np.zeros((count, 1), np.float32), actions=actions, rewards=actions[:, 0],
                           costs=(actions[:, 1:] > 0).astype(np.float32), next_obs=np.zeros((count, 1), np.float32),
                           terminated=np.ones(count, bool), truncated=np.zeros(count, bool)))
    return buffer


def train(algo, buffer, steps: int, seed: int = 0) -> dict:
    """``steps`` updates of one gradient step each (the harness's defaults), the last one's stats."""
    generator = torch.Generator().manual_seed(seed)
    stats = {}
    for _ in range(steps):
        stats = algo.update(buffer.sample(algo.batch_size, generator))
        algo.update_multiplier()
    return stats


@pytest.mark.parametrize("cls", [SACLagrangian, TD3Lagrangian, DDPGLagrangian])
def test_the_cost_critic_learns_the_cost_and_the_reward_critic_the_reward(cls):
    algo = make(cls)
    train(algo, bandit_buffer(), 300)
    grid = torch.tensor([[-0.8, -0.8], [-0.8, 0.8], [0.8, -0.8], [0.8, 0.8]])
    obs = torch.zeros(4, 1)
    with torch.no_grad():
        q_cost = algo.cost_critics[0](obs, grid)[0].numpy()
        q_reward = algo.reward_critic(obs, grid).min(0).values.numpy()
    np.testing.assert_allclose(q_cost, [0, 1, 0, 1], atol=0.25)  # follows a_1's cost, not a_0's reward
    np.testing.assert_allclose(q_reward, [-0.8, -0.8, 0.8, 0.8], atol=0.25)


@pytest.mark.parametrize("cls", [SACLagrangian, TD3Lagrangian])
def test_the_multiplier_rises_only_under_violation(cls):
    buffer = bandit_buffer()
    violating, safe = make(cls, lambda_optimizer="sgd"), make(cls, lambda_init=0.5, lambda_optimizer="sgd")
    violating.record_episodes(np.full((10, 1), 8.0))  # J_C = 8 > d = 5
    safe.record_episodes(np.full((10, 1), 2.0))  # J_C = 2 < 5
    lambdas_up = [train(violating, buffer, 1)["lagrange_multiplier"] for _ in range(20)]
    lambdas_down = [train(safe, buffer, 1)["lagrange_multiplier"] for _ in range(20)]
    np.testing.assert_allclose(np.diff(lambdas_up), 0.01 * 3, rtol=1e-4)  # lambda += lr (J_C - d)
    assert lambdas_up[0] == pytest.approx(0.001)  # each step uses the lambda in force; it moves after the step
    np.testing.assert_allclose(lambdas_down, np.maximum(0.5 - 0.01 * 3 * np.arange(0, 20), 0), atol=1e-6)
    assert float(safe.lagrange.value.detach()) == 0.0
    safe.record_episodes(np.full((10, 1), 8.0))  # the window (10 episodes) now holds only violations
    train(safe, buffer, 1)
    assert float(safe.lagrange.value.detach()) == pytest.approx(0.03)


def test_no_completed_episode_leaves_the_multiplier_alone():
    algo = make(TD3Lagrangian)
    assert train(algo, bandit_buffer(), 3)["lagrange_multiplier"] == pytest.approx(0.001)


def test_the_actor_avoids_cost_once_the_multiplier_is_large():
    """The penalty reaches the actor: with lambda large, a_1 (costly when > 0) is driven negative."""
    algo = make(TD3Lagrangian, lambda_init=3.0, lambda_lr=0.0, actor_lr=0.01)
    train(algo, bandit_buffer(), 300)
    action = algo.policy.mean_action(torch.zeros(1, 1))[0]
    assert action[0] > 0.5 and action[1] < 0  # reward still sought on a_0, cost avoided on a_1


def test_temperature_loss_moves_alpha_toward_the_target_entropy():
    for log_prob, direction in ((3.0, +1), (1.0, -1)):  # entropy -3 below the target -2: alpha rises; -1: falls
        log_alpha = torch.nn.Parameter(torch.tensor(0.0))
        temperature_loss(log_alpha, torch.full((8,), log_prob), target_entropy=-2.0).backward()
        assert np.sign(-log_alpha.grad.item()) == direction


def test_sac_auto_alpha_tunes_the_temperature_and_fixed_alpha_stays():
    buffer = bandit_buffer()
    fixed, tuned = make(SACLagrangian), make(SACLagrangian, auto_alpha=True, alpha_lr=0.05, target_entropy=-2.0)
    stats_fixed, stats_tuned = train(fixed, buffer, 60), train(tuned, buffer, 60)
    assert stats_fixed["alpha"] == pytest.approx(0.2)
    # a fresh policy's entropy (near 2-d unit Gaussian, squashed: about 1.5) is above the target -2: alpha falls
    assert stats_tuned["entropy"] > -2.0 and stats_tuned["alpha"] < 0.2 * 0.5


def test_target_policy_smoothing_adds_clipped_noise_within_the_action_box():
    target = torch.tensor([[0.0, 0.9], [-0.3, -0.95]]).repeat(500, 1)
    smoothed = smoothed_target_actions(target, noise_std=10.0, noise_clip=0.5, generator=torch.Generator())
    noise = smoothed - target
    assert smoothed.abs().max() <= 1.0
    assert noise[:, 0].abs().max() <= 0.5 and noise[:, 0].abs().min() > 0  # clipped, and there
    assert (noise[:, 0].abs() == 0.5).float().mean() > 0.9  # std 10: almost every draw is clipped
    assert smoothed[:, 1].max() == 1.0  # 0.9 + up to 0.5, kept inside the box


def test_td3_updates_the_actor_and_targets_every_second_step_ddpg_every_step():
    buffer = bandit_buffer()
    for cls, changes in ((TD3Lagrangian, [False, True, False, True]), (DDPGLagrangian, [True] * 4)):
        algo = make(cls)
        moved = []
        for step in range(4):
            actor, target = [p.clone() for p in algo.policy.parameters()], [p.clone() for p in
                                                                             algo.target_policy.parameters()]
            stats = train(algo, buffer, 1, seed=step)
            moved.append(not all(torch.equal(a, b) for a, b in zip(actor, algo.policy.parameters())))
            assert moved[-1] == (not all(torch.equal(a, b) for a, b in zip(target, algo.target_policy.parameters())))
            assert ("actor_loss" in stats) == moved[-1]
        assert moved == changes, cls.__name__


def test_td3_target_actions_are_smoothed_ddpg_ones_are_not():
    """The critic's target uses noisy target actions in TD3: same nets, other targets, other critic losses."""
    buffer = bandit_buffer()
    buffer.arrays["terminated"][:] = False  # bootstrap, so the target action matters
    td3 = make(TD3Lagrangian, num_critics=1, policy_delay=1)
    quiet = make(TD3Lagrangian, num_critics=1, policy_delay=1, policy_noise=0.0)
    a, b = train(td3, buffer, 1), train(quiet, buffer, 1)
    assert a["reward_critic_loss"] != b["reward_critic_loss"]
    ddpg = make(DDPGLagrangian)
    assert train(ddpg, buffer, 1)["reward_critic_loss"] == pytest.approx(b["reward_critic_loss"], rel=1e-6)


def test_ddpg_refuses_twin_critics():
    with pytest.raises(ValueError, match="td3_lagrangian"):
        DDPGLagrangian(obs_dim=1, act_dim=2, cost_limit=5.0, seed=0, **(COMMON | {"num_critics": 2}))


def saved(state):
    stream = io.BytesIO()
    torch.save(state, stream)
    stream.seek(0)
    return torch.load(stream, weights_only=False)


@pytest.mark.parametrize("cls,extra", [(SACLagrangian, {"auto_alpha": True}), (TD3Lagrangian, {}),
                                       (DDPGLagrangian, {})])
def test_resume_from_state_dict_continues_exactly(cls, extra):
    buffer = bandit_buffer()
    algo = make(cls, **extra)
    algo.record_episodes(np.full((3, 1), 7.0))
    train(algo, buffer, 5)
    state = saved(algo.state_dict())
    expected = train(algo, buffer, 5, seed=9)
    resumed = make(cls, **extra)
    resumed.load_state_dict(state)
    got = train(resumed, buffer, 5, seed=9)
    assert got == expected
    for a, b in zip(algo.policy.parameters(), resumed.policy.parameters()):
        assert torch.equal(a, b)
