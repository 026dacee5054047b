"""The replay buffer: a FIFO ring, uniform minibatches from a given generator, a compressed exact checkpoint."""

import io

import numpy as np
import torch

from algorithms.core.replay_buffer import ReplayBuffer, Transitions, transition_bytes


def transitions(start: int, count: int, m: int = 2) -> Transitions:
    """Transition i carries the number i in every field, so that slots can be read back."""
    i = np.arange(start, start + count, dtype=np.float32)
    return Transitions(obs=np.repeat(i[:, None], 3, 1), actions=np.repeat(i[:, None], 2, 1), rewards=i,
                       costs=np.repeat(i[:, None], m, 1) * 10, next_obs=np.repeat(i[:, None], 3, 1) + 0.5,
                       terminated=i % 2 == 0, truncated=i % 3 == 0)


def test_ring_overwrites_the_oldest_transitions():
    buffer = ReplayBuffer(5, obs_dim=3, act_dim=2, num_costs=2)
    buffer.add(transitions(0, 3))
    buffer.add(transitions(3, 4))  # 0..6 into 5 slots: 5 and 6 overwrite 0 and 1
    assert len(buffer) == 5 and buffer.position == 2
    assert sorted(buffer.arrays["rewards"].tolist()) == [2, 3, 4, 5, 6]
    np.testing.assert_array_equal(buffer.arrays["costs"][:, 1], buffer.arrays["rewards"] * 10)
    np.testing.assert_array_equal(buffer.arrays["terminated"], buffer.arrays["rewards"] % 2 == 0)


def test_sample_is_uniform_over_the_filled_part_and_reproducible():
    buffer = ReplayBuffer(100, obs_dim=3, act_dim=2, num_costs=2)
    buffer.add(transitions(0, 10))
    batch = buffer.sample(5000, torch.Generator().manual_seed(1))
    assert batch.rewards.max() <= 9 and batch.obs.dtype == torch.float32 and batch.terminated.dtype == torch.bool
    counts = np.bincount(batch.rewards.numpy().astype(int), minlength=10)
    assert counts.min() > 400  # ~500 each
    torch.testing.assert_close(batch.next_obs[:, 0], batch.rewards + 0.5)
    again = buffer.sample(5000, torch.Generator().manual_seed(1))
    assert torch.equal(batch.rewards, again.rewards)


def test_state_round_trips_exactly_and_compressed():
    buffer = ReplayBuffer(1000, obs_dim=3, act_dim=2, num_costs=2)
    buffer.add(transitions(0, 700))
    stream = io.BytesIO()
    torch.save(buffer.state(), stream)  # as a checkpoint holds it
    stream.seek(0)
    state = torch.load(stream, weights_only=False)
    assert len(state["npz"]) < 700 * transition_bytes(3, 2, 2)  # compressed, and only the filled part
    restored = ReplayBuffer(1000, obs_dim=3, act_dim=2, num_costs=2)
    restored.load_state(state)
    assert (restored.position, restored.size) == (700, 700)
    for name, array in buffer.arrays.items():
        np.testing.assert_array_equal(restored.arrays[name], array)
    g1, g2 = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    assert torch.equal(buffer.sample(64, g1).obs, restored.sample(64, g2).obs)
