"""The first-order base hands each loss the samples' cost advantages and the batch's cost scalars."""

import numpy as np
import torch
from helpers import bandit_batch

from algorithms.core.first_order import FirstOrderAlgorithm, Minibatch


class Recording(FirstOrderAlgorithm):
    """PPO's loss, recording every minibatch it is given."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[Minibatch] = []

    def policy_step(self, data):
        self.data = data
        return super().policy_step(data)

    def policy_loss(self, batch: Minibatch) -> torch.Tensor:
        self.seen.append(batch)
        return super().policy_loss(batch)


def test_minibatch_carries_cost_advantages_and_the_batch_scalars():
    algo = Recording(obs_dim=1, act_dim=1, cost_limit=[5.0, 2.0], seed=0, hidden_sizes=(8,), critic_hidden_sizes=(8,),
                     minibatch_size=16, update_epochs=1, critic_epochs=1)
    generator = torch.Generator().manual_seed(0)
    costs = lambda a: np.stack([a[..., 0] ** 2, np.abs(a[..., 0])], axis=-1)  # noqa: E731
    algo.update(bandit_batch(algo.policy, 2, 10, generator, lambda a: a[..., 0], costs))
    data, first = algo.data, algo.seen[0]
    assert first.cost_advantages.shape == (16, 2)
    np.testing.assert_array_equal(first.episode_costs, data.episode_costs)
    np.testing.assert_array_equal(first.cost_limits, [5.0, 2.0])
    assert first.mean_episode_length == data.mean_episode_length == 10
    every = torch.cat([batch.cost_advantages for batch in algo.seen])
    assert torch.equal(every.sort(dim=0).values, data.cost_advantages.T.sort(dim=0).values)  # each sample once


def test_every_first_order_algorithm_steps_its_policy_with_fused_adam_and_resumes_with_it():
    """Thousands of minibatch steps per update: the fused kernel (algorithms/core/fused_adam.py), kept by a resume."""
    from hydra.utils import get_class

    from safebench.command_line import compose_config
    from safebench.config_validation import available
    from safebench.trainer import build_algorithm

    first_order = []
    for name in available("algo"):
        cfg = compose_config([f"+algo={name}", "+task=point_circle"])
        if issubclass(get_class(cfg.algo._target_), FirstOrderAlgorithm):
            first_order.append(name)
            algo = build_algorithm(cfg, obs_dim=3, act_dim=2)
            assert algo.policy_optimizer.param_groups[0]["fused"], name
            again = build_algorithm(cfg, obs_dim=3, act_dim=2)
            again.policy_optimizer.load_state_dict(algo.policy_optimizer.state_dict())
            assert again.policy_optimizer.param_groups[0]["fused"], name
    assert len(first_order) >= 8
