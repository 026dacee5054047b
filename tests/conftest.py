"""Pytest fixtures shared by the suite (helpers live in tests/helpers.py)."""

import os
import signal
from pathlib import Path

# Every run this suite starts is tiny and shares 2 cores with another test: one torch thread each
# (train.torch_threads=auto follows OMP_NUM_THREADS). Two threads per run made them spin for cores: a tiny
# CLI run beside a busy core took 3x the CPU. Set before torch loads, here and in every subprocess.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402

from helpers import REPO  # noqa: E402


def pytest_configure(config) -> None:
    """A background job of a non-interactive shell ignores SIGINT, and every process it starts inherits that: the
    Ctrl-C tests would then wait on runs that cannot hear them. Give SIGINT back the handler a terminal gives."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session", autouse=True)
def preloaded_fork_server() -> None:
    """Started before any test, so that its modules are the commands' (helpers.fork_server)."""
    from helpers import fork_server

    fork_server()


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
