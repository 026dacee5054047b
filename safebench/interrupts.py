"""SIGTERM (what cluster schedulers send) handled like Ctrl-C: the same clean-up, message and resume hint."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class Terminated(KeyboardInterrupt):
    """Raised by SIGTERM; a KeyboardInterrupt so that every clean-up written for Ctrl-C runs for it too."""


def _raise_terminated(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not interrupt the clean-up
    raise Terminated()


def handle_sigterm() -> None:
    """From now on SIGTERM raises Terminated in the main thread."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


def exit_status(interrupt: KeyboardInterrupt) -> int:
    """The shell's convention: 128 + the signal's number."""
    return 128 + (signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT)


def signal_name(interrupt: KeyboardInterrupt) -> str:
    return "SIGTERM" if isinstance(interrupt, Terminated) else "Ctrl-C"


@contextlib.contextmanager
def children_ignore_ctrl_c() -> Iterator[None]:
    """Processes started inside inherit a blocked SIGINT (the parent stops them), so a Ctrl-C while they import
    gives no traceback of theirs. A Ctrl-C or SIGTERM to this process meanwhile is held back until the block
    ends (raised mid-start, it would leave a child without its start-up data): the mask alone cannot, as
    another thread may take the signal for Python's handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    handlers = {sig: signal.signal(sig, lambda signum, frame: received.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        if received:
            raise Terminated() if signal.SIGTERM in received else KeyboardInterrupt()
