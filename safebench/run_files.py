"""The files a run directory holds, each written atomically (temp file, then rename)."""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

# A run folder's layout, named once (torch-free, so the report and status can read it without loading torch)
PROGRESS_FILE = "progress.csv"
SUMMARY_FILE = "summary.json"
MANIFEST_FILE = "manifest.json"
HYDRA_FOLDER = Path(".hydra")  # as Hydra names it
CONFIG_FILE = HYDRA_FOLDER / "config.yaml"  # the run's config as started
OVERRIDES_FILE = HYDRA_FOLDER / "overrides.yaml"  # its command line's overrides
CHECKPOINT_FOLDER = Path("checkpoints")
LAST_CHECKPOINT = CHECKPOINT_FOLDER / "last.pt"  # written every train.checkpoint_every updates and at the end
TIME_COLUMNS = ("time_s", "sample_time_s", "update_time_s", "steps_per_s", "eval_time_s")


def nearest_existing(path: Path) -> Path:
    """``path`` or its nearest parent that exists: where a file to be written under it will land (its permissions
    and disk)."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` so that ``path`` holds either the old or the new content, never a mix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, default=float) + "\n").encode())


def read_manifest(path: Path) -> dict[str, Any]:
    """A run's manifest.json, which a resume extends; a damaged one is a CheckpointError saying what to do, as
    its record of the commits a run has trained at must not be silently replaced."""
    from safebench.errors import CheckpointError

    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        data = exc
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} cannot be read as the run's manifest ({type(data).__name__}: {data}). "
                              f"Restore it (from git where the run folder is committed, as results/ folders "
                              f"are), or delete it to continue with a new one that no longer lists the commits "
                              f"the run trained at before.")
    return data


class ProgressLog:
    """progress.csv: one row per update. The whole file is rewritten atomically each update
    (it is small), so a crash never leaves a torn last line."""

    def __init__(self, path: Path, rows: list[dict[str, Any]] | None = None) -> None:
        self.path = Path(path)
        self.rows: list[dict[str, Any]] = list(rows or [])

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        buffer = io.StringIO()
        columns = list(dict.fromkeys(key for row in self.rows for key in row))  # a new diagnostic adds a column
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_bytes(self.path, buffer.getvalue().encode())


def git_commit(directory: Path) -> str | None:
    """The commit of the code being run, with a '-dirty' suffix when there are local changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=directory,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def manifest(code_dir: Path) -> dict[str, Any]:
    """Where and with what a run was made: commit, library versions, CPU, start time."""
    import gymnasium
    import mujoco
    import numpy
    import torch

    from safebench.parallelism import usable_cores

    return {
        "git_commit": git_commit(code_dir),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "mujoco": mujoco.__version__,
        "gymnasium": gymnasium.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cores": usable_cores(),  # what train.workers/torch_threads=auto count (a scheduler's CPU set)
        "start_time": datetime.now(timezone.utc).isoformat(),
    }


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux): throughput figures mean little without it."""
    try:
        with open("/proc/cpuinfo") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()
