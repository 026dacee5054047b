"""Pytest fixtures shared by the suite (helpers live in tests/helpers.py)."""

from pathlib import Path

import pytest

from helpers import REPO


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def one_torch_thread():
    """As the harness runs off-policy updates: minibatches this small only lose from more threads."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
