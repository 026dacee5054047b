"""The replay buffer of the off-policy algorithms: a ring of transitions, checkpointed compressed."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Transitions:
    """A set of transitions as torch tensors (a minibatch), or as NumPy arrays (what the sampler adds)."""

    obs: torch.Tensor | np.ndarray  # (B, obs_dim)
    actions: torch.Tensor | np.ndarray  # (B, act_dim), in the env's action box
    rewards: torch.Tensor | np.ndarray  # (B,)
    costs: torch.Tensor | np.ndarray  # (B, m), one column per constraint
    next_obs: torch.Tensor | np.ndarray  # (B, obs_dim): the true last observation where an episode ended
    terminated: torch.Tensor | np.ndarray  # (B,) bool: no bootstrap from next_obs
    truncated: torch.Tensor | np.ndarray  # (B,) bool: the time limit ended the episode (bootstrap anyway)


FIELDS = tuple(Transitions.__dataclass_fields__)


def field_layout(obs_dim: int, act_dim: int, num_costs: int) -> dict[str, tuple[tuple[int, ...], type]]:
    """Per-transition shape and dtype of every stored array."""
    return {"obs": ((obs_dim,), np.float32), "actions": ((act_dim,), np.float32), "rewards": ((), np.float32),
            "costs": ((num_costs,), np.float32), "next_obs": ((obs_dim,), np.float32),
            "terminated": ((), np.bool_), "truncated": ((), np.bool_)}


def transition_bytes(obs_dim: int, act_dim: int, num_costs: int) -> int:
    """Bytes one stored transition takes (uncompressed): sizes the disk and memory checks."""
    return sum(int(np.prod(shape)) * np.dtype(dtype).itemsize
               for shape, dtype in field_layout(obs_dim, act_dim, num_costs).values())


class ReplayBuffer:
    """A FIFO ring of ``capacity`` transitions; minibatches are drawn uniformly with a given generator."""

    def __init__(self, capacity: int, obs_dim: int, act_dim: int, num_costs: int = 1) -> None:
        self.capacity = int(capacity)
        self.layout = field_layout(obs_dim, act_dim, num_costs)
        self.arrays = {name: np.zeros((self.capacity, *shape), dtype) for name, (shape, dtype) in self.layout.items()}
        self.position, self.size = 0, 0  # next slot to write, transitions held

    def __len__(self) -> int:
        return self.size

    def add(self, batch: Transitions) -> None:
        """Append a set of transitions (oldest overwritten once full), in the order given."""
        count = len(batch.rewards)
        slots = (self.position + np.arange(count)) % self.capacity
        for name in FIELDS:
            self.arrays[name][slots] = getattr(batch, name)
        self.position = int((self.position + count) % self.capacity)
        self.size = min(self.size + count, self.capacity)

    def sample(self, batch_size: int, generator: torch.Generator) -> Transitions:
        """``batch_size`` transitions drawn uniformly with replacement, as float tensors (flags as bool)."""
        index = torch.randint(self.size, (batch_size,), generator=generator).numpy()
        # np.take: the rows of arrays[name][index], in half the time of fancy indexing
        return Transitions(**{name: torch.from_numpy(np.take(self.arrays[name], index, axis=0)) for name in FIELDS})

    def state(self) -> dict:
        """The filled part, compressed (np.savez_compressed), plus the ring's position."""
        out = io.BytesIO()
        np.savez_compressed(out, **{name: a[: self.size] for name, a in self.arrays.items()})
        return {"capacity": self.capacity, "position": self.position, "size": self.size, "npz": out.getvalue()}

    def load_state(self, state: dict) -> None:
        if state["capacity"] != self.capacity:
            raise ValueError(f"the saved replay buffer holds {state['capacity']} transitions, this one "
                             f"{self.capacity}; resume with the same train.buffer_size")
        with np.load(io.BytesIO(state["npz"])) as saved:
            for name in FIELDS:
                self.arrays[name][: state["size"]] = saved[name]
        self.position, self.size = int(state["position"]), int(state["size"])
