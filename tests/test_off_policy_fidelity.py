"""SAC-, TD3- and DDPG-Lagrangian against OmniSafe, mechanic by mechanic (docs/fidelity.md, "Off-policy
Lagrangian algorithms"): the actor's losses, the critics' targets and clipping, the initialization, the
multiplier's schedule and signal, exploration, bootstrapping and the default configuration."""

import math

import numpy as np
import pytest
import torch
from test_off_policy_algorithms import make
from torch import nn

from algorithms.core.off_policy import td_target
from algorithms.core.replay_buffer import Transitions
from algorithms.ddpg_lagrangian import DDPGLagrangian
from algorithms.sac_lagrangian import SACLagrangian
from algorithms.td3_lagrangian import TD3Lagrangian
from safebench.command_line import compose_config
from safebench.off_policy import StatsMean, TransitionCollector, log_every, run_update

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py

ALL = [SACLagrangian, TD3Lagrangian, DDPGLagrangian]


class Fixed(nn.Module):
    """A stand-in Q network: ``count`` heads, head k returning values[k] + f(a) (no parameters)."""

    def __init__(self, f, values=(0.0,)) -> None:
        super().__init__()
        self.f, self.values = f, values

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return torch.stack([v + self.f(actions) for v in self.values])


def batch(size: int = 64, constraints: int = 1, seed: int = 0) -> Transitions:
    """Random transitions, none terminated, as a minibatch."""
    g = torch.Generator().manual_seed(seed)
    return Transitions(torch.randn(size, 1, generator=g), torch.rand(size, 2, generator=g) * 2 - 1,
                       torch.randn(size, generator=g), torch.rand(size, constraints, generator=g),
                       torch.randn(size, 1, generator=g), torch.zeros(size, dtype=torch.bool),
                       torch.zeros(size, dtype=torch.bool))


def set_output(actor: nn.Module, bias: list[float]) -> None:
    """Make an actor's output layer constant: zero weights, the given bias."""
    with torch.no_grad():
        actor.net[-1].weight.zero_()
        actor.net[-1].bias.copy_(torch.tensor(bias))


def test_default_config_follows_omnisafe():
    """conf/algo_base/off_policy.yaml, conf/algo/*_lagrangian.yaml, train.*: OmniSafe's values (commit 52aaf32)."""
    shared = dict(hidden_sizes=[256, 256], critic_hidden_sizes=[256, 256], activation="relu",
                  network_init="kaiming_uniform", gamma=0.99, cost_gamma=0.99, polyak=0.005, critic_lr=3e-4,
                  max_grad_norm=40.0, batch_size=256, lambda_init=0.001, lambda_lr=0.001, lambda_optimizer="adam",
                  lambda_max=None, cost_window=50, actor_lr=3e-4)
    own = {"sac_lagrangian": dict(num_critics=2, policy_delay=2, alpha=0.2, auto_alpha=False),
           "td3_lagrangian": dict(num_critics=2, policy_delay=2, exploration_noise=0.1, policy_noise=0.2,
                                  policy_noise_clip=0.5),
           "ddpg_lagrangian": dict(num_critics=1, policy_delay=1, exploration_noise=0.1)}
    start = {"sac_lagrangian": 10_000, "td3_lagrangian": 25_000, "ddpg_lagrangian": 25_000}
    for name, values in own.items():
        cfg = compose_config([f"+algo={name}", "+task=point_circle"])
        for key, value in (shared | values).items():
            assert cfg.algo[key] == value, (name, key)
        train = cfg.train
        assert (train.start_steps, train.update_every, train.updates_per_step, train.buffer_size) == \
            (start[name], 1, 1, 1_000_000), name
        assert log_every(cfg) == 2000 and not train.normalize_obs, name
        assert compose_config([f"+algo={name}", "+task=point_circle", "train.start_steps=7"]).train.start_steps == 7


def test_sac_actor_loss_scales_the_whole_lagrangian_entropy_included():
    """(alpha log pi - Q_r + lambda Q_C) / (1 + lambda), OmniSafe SACLag's _loss_pi: with Q_r = 2, Q_C = 1,
    lambda = 3 the loss is (-alpha H - 2 + 3) / 4; dividing only the Qs would leave alpha log pi whole."""
    algo = make(SACLagrangian)
    algo.reward_critic = Fixed(lambda a: 0 * a[:, 0], (2.0, 2.5))
    algo.cost_critics = nn.ModuleList([Fixed(lambda a: 0 * a[:, 0], (1.0,))])
    stats = algo.actor_step(torch.zeros(256, 1), torch.tensor([3.0]))
    assert stats["actor_loss"] == pytest.approx((-0.2 * stats["entropy"] - 2 + 3) / 4, rel=1e-5)


@pytest.mark.parametrize("cls", [TD3Lagrangian, DDPGLagrangian])
def test_deterministic_actors_ascend_the_first_reward_critic(cls):
    """TD3's actor update uses Q_theta1 (the paper; OmniSafe TD3Lag reward_critic(obs, a)[0]), not the min."""
    algo = make(cls)
    heads = (5.0, 1.0) if cls is TD3Lagrangian else (5.0,)
    algo.reward_critic = Fixed(lambda a: 0 * a[:, 0], heads)
    algo.cost_critics = nn.ModuleList([Fixed(lambda a: 0 * a[:, 0], (4.0,))])
    assert algo.actor_step(torch.zeros(8, 1), torch.tensor([1.0]))["actor_loss"] == pytest.approx((-5 + 4) / 2)


@pytest.mark.parametrize("cls", ALL)
def test_both_critics_bootstrap_from_the_same_next_action_each_with_its_discount(cls):
    """SAC: a' ~ pi(s') for both (not the mean action, OmniSafe's cost target); TD3: the target actor's smoothed
    action; DDPG: the target actor's (the paper; OmniSafe bootstraps both from the online actor). Rewards and
    costs 0, the target Qs f(a'): the reward target is 0.99 f(a'), the cost target 0.5 f(a')."""
    algo = make(cls, cost_gamma=0.5)
    if cls is SACLagrangian:
        f = lambda a: (a ** 2).sum(-1)  # noqa: E731  zero at the mean action 0, about 0.79 under pi
        set_output(algo.policy, [0.0, 0.0, 0.0, 0.0])  # mean 0, log std 0
        with torch.no_grad():
            algo.log_alpha.fill_(-60.0)  # no entropy bonus worth counting
    else:
        f = lambda a: a[:, 0]  # noqa: E731
        set_output(algo.policy, [-2.0, 0.0])
        set_output(algo.target_policy, [2.0, 0.0])  # tanh(2) = 0.96, noise clipped at 0.5: a'_0 > 0.46
    algo.target_reward_critic = Fixed(f, (0.0,) * (1 if cls is DDPGLagrangian else 2))
    algo.target_cost_critics = nn.ModuleList([Fixed(f)])
    data = batch()
    data.rewards, data.costs = torch.zeros(64), torch.zeros(64, 1)
    targets, td_targets = [], algo.td_targets
    algo.td_targets = lambda *args: targets.append(td_targets(*args)) or targets[-1]
    algo.gradient_step(data, torch.tensor([0.0]), actor_due=False)
    reward_target, (cost_target,) = targets[0]
    torch.testing.assert_close(cost_target / 0.5, reward_target / 0.99, rtol=1e-5, atol=1e-6)
    if cls is SACLagrangian:
        assert float(cost_target.mean()) / 0.5 > 0.5
    else:
        assert float(reward_target.min()) / 0.99 > 0.45


def test_each_critic_is_clipped_on_its_own():
    """OmniSafe clips the reward critic and the cost critic apart: a huge cost gradient (or reward gradient)
    leaves the other critic's step exactly as it was."""
    data, next_actions = batch(constraints=2), torch.rand(64, 2) * 2 - 1

    def critics_after(rewards_scale: float, costs_scale: float) -> dict:
        algo = make(TD3Lagrangian, max_grad_norm=1.0)
        algo.cost_limits, algo.num_constraints = np.array([5.0, 5.0]), 2
        algo.cost_critics.append(make(TD3Lagrangian).cost_critics[0])
        algo.target_cost_critics.append(make(TD3Lagrangian).target_cost_critics[0])
        algo.critic_optimizer = torch.optim.Adam([*algo.reward_critic.parameters(), *algo.cost_critics.parameters()])
        algo.critic_step(data, next_actions)
        loud = Transitions(**vars(data))
        loud.rewards = data.rewards * rewards_scale
        loud.costs = data.costs * torch.tensor([costs_scale, 1.0])
        algo.critic_step(loud, next_actions)
        return {"reward": [p.detach().clone() for p in algo.reward_critic.parameters()],
                "cost0": [p.detach().clone() for p in algo.cost_critics[0].parameters()],
                "cost1": [p.detach().clone() for p in algo.cost_critics[1].parameters()]}

    quiet, loud_cost, loud_reward = critics_after(1.0, 1.0), critics_after(1.0, 1e6), critics_after(1e6, 1.0)
    same = lambda a, b: all(torch.equal(x, y) for x, y in zip(a, b))  # noqa: E731
    assert same(quiet["reward"], loud_cost["reward"]) and same(quiet["cost1"], loud_cost["cost1"])
    assert not same(quiet["cost0"], loud_cost["cost0"])
    assert same(quiet["cost0"], loud_reward["cost0"]) and same(quiet["cost1"], loud_reward["cost1"])
    assert not same(quiet["reward"], loud_reward["reward"])


@pytest.mark.parametrize("cls", ALL)
def test_networks_start_as_omnisafe_kaiming_uniform(cls):
    """Every Linear layer: weights and biases U(+-1/sqrt(fan_in)) (torch's default, OmniSafe's kaiming_uniform
    with a = sqrt 5), not orthogonal with zero biases."""
    algo = make(cls, hidden_sizes=[64, 64], critic_hidden_sizes=[64, 64])
    layers = [m for net in (algo.policy, algo.reward_critic, algo.cost_critics) for m in net.modules()
              if isinstance(m, nn.Linear)]
    assert len(layers) == 3 * (1 + algo.reward_critic.nets.__len__() + 1)
    for linear in layers:
        bound = 1 / math.sqrt(linear.in_features)
        assert linear.weight.abs().max() <= bound and linear.bias.abs().max() <= bound
        assert linear.bias.abs().min() > 0
        if linear.weight.numel() >= 4096:
            assert float(linear.weight.detach().std()) == pytest.approx(bound / math.sqrt(3), rel=0.1)


class Recorder:
    """A stand-in algorithm that records what the harness calls."""

    batch_size = 4

    def __init__(self) -> None:
        self.calls: list[str] = []

    def update(self, minibatch) -> dict[str, float]:
        self.calls.append("gradient step")
        return {}

    def update_multiplier(self) -> None:
        self.calls.append("multiplier")


class Buffer:
    def sample(self, size, generator):
        return None


def test_the_multiplier_steps_once_per_update_after_its_gradient_steps():
    """OmniSafe's _update: update_iters gradient steps, then one Lagrange step; no update, no step."""
    algo = Recorder()
    run_update(algo, Buffer(), 3, torch.Generator(), StatsMean())
    assert algo.calls == ["gradient step"] * 3 + ["multiplier"]
    run_update(algo, Buffer(), 0, torch.Generator(), StatsMean())
    assert len(algo.calls) == 4


def test_the_multiplier_follows_the_mean_cost_of_the_last_cost_window_episodes():
    """J_C: the undiscounted costs of the last cost_window completed episodes (OmniSafe's Metrics/EpCost window),
    compared with d = 5: plain ascent with rate 1 moves lambda by their mean minus d."""
    algo = make(TD3Lagrangian, cost_window=3, lambda_init=10.0, lambda_lr=1.0, lambda_optimizer="sgd")
    algo.record_episodes(np.array([[100.0], [100.0], [0.0], [3.0], [6.0]]))  # the window holds 0, 3, 6: mean 3
    algo.update_multiplier()
    assert float(algo.lagrange.value.detach()) == pytest.approx(10.0 + (3.0 - 5.0))


def test_td_targets_bootstrap_through_truncation_not_termination():
    """r + gamma (1 - terminated) Q(s', a'): a time limit or the window's cut still bootstraps; a terminal, also
    one that is truncated at the same step (gymnasium: the episode did end), does not (OmniSafe stores
    done = terminated and not truncated)."""
    terminated = torch.tensor([False, True, True, False])
    target = td_target(torch.ones(4), torch.full((4,), 10.0), terminated, 0.9)
    torch.testing.assert_close(target, torch.tensor([10.0, 1.0, 1.0, 10.0]))


@pytest.mark.parametrize("cls", [TD3Lagrangian, DDPGLagrangian])
def test_deterministic_actors_explore_with_gaussian_noise_in_the_box(cls):
    """OmniSafe's MLPActor.predict(deterministic=False): clamp(mu(s) + N(0, exploration_noise), -1, 1)."""
    algo = make(cls)
    set_output(algo.policy, [0.0, 2.5])  # actions 0 and tanh(2.5) = 0.987 at every state
    actions = algo.explore(torch.zeros(20000, 1), torch.Generator().manual_seed(0))
    assert float(actions[:, 0].std()) == pytest.approx(0.1, rel=0.05) and abs(float(actions[:, 0].mean())) < 0.005
    assert float(actions[:, 1].max()) == 1.0 and (actions[:, 1] == 1.0).float().mean() > 0.4  # clamped at the box


def test_the_random_start_acts_uniformly_in_the_box():
    """OmniSafe's rollout with use_rand_action: U(-1, 1) per action component, whatever the algorithm."""
    collector = object.__new__(TransitionCollector)
    collector.num_envs, collector.low, collector.generator = 5000, np.zeros(2), torch.Generator().manual_seed(0)
    actions = collector.actions(algo=None, random=True)
    assert actions.shape == (5000, 2) and actions.min() >= -1 and actions.max() <= 1
    np.testing.assert_allclose(actions.std(0), 1 / math.sqrt(3), rtol=0.03)
    np.testing.assert_allclose(actions.mean(0), 0, atol=0.03)
