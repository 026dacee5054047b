"""One run per directory: an flock on RUN_DIR/.safebench.lock, released by the kernel when its holder dies."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from safebench.errors import ConfigError

LOCK_FILE = ".safebench.lock"
_held: dict[Path, int] = {}  # run directory -> open descriptor holding its lock (this process)


def lock_run_dir(run_dir: Path, kind: str = "run", directory_key: str | None = None) -> None:
    """Take the directory's lock for the rest of this process (or until release); ConfigError when it is held.
    ``kind`` "sweep": the folder of a whole sweep, which one sweep at a time may fill. ``directory_key``: the
    setting that chooses another directory (default hydra.<kind>.dir)."""
    run_dir = Path(run_dir).absolute()
    if run_dir in _held:
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise ConfigError(f"The {kind} directory {run_dir} is in use by another safebench {kind} (PID {holder}). "
                          f"Wait for it to finish or stop it, or choose another directory with "
                          f"{directory_key or f'hydra.{kind}.dir'}=..."
                          ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    _held[run_dir] = fd


def release_run_dir(run_dir: Path) -> None:
    """Give the lock back (a sweep's jobs run one after another in one process with the basic launcher)."""
    fd = _held.pop(Path(run_dir).absolute(), None)
    if fd is not None:
        os.close(fd)  # closing the only descriptor releases the flock
