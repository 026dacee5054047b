"""A sweep's failed jobs: each leaves failed.json in its run directory (a job refused at another process's lock: in
SWEEP_DIR/.refused/job<N>), and the sweep lists them at its end."""

from __future__ import annotations

import json
import time
from pathlib import Path

from safebench.run_files import atomic_write_json, now_iso

FAILED_FILE = "failed.json"


REFUSED_DIR = ".refused"  # in the sweep's folder: jobs refused at a run directory another process holds


def record_failure(run_dir: Path, message: str, record_in: Path | None = None) -> None:
    """Say why this job failed, where the sweep (whatever its launcher's processes) will find it: in its run
    directory, or in ``record_in`` when that directory belongs to another process (its lock was refused)."""
    folder = Path(record_in or run_dir)
    try:
        atomic_write_json(folder / FAILED_FILE, {"error": message, "time": now_iso(), "timestamp": time.time(),
                                                 "run_dir": str(run_dir)})
    except OSError:
        pass  # a full or read-only disk: the job's log still says why


def clear_failure(run_dir: Path) -> None:
    """A job that starts again is no longer failed."""
    (Path(run_dir) / FAILED_FILE).unlink(missing_ok=True)


def failures_since(sweep_dir: Path, start: float) -> list[tuple[Path, str]]:
    """(run directory, error) of every job below ``sweep_dir`` that failed after ``start`` (time.time())."""
    found = []
    for path in sorted(Path(sweep_dir).rglob(FAILED_FILE)):
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if record.get("timestamp", 0) >= start:
            found.append((Path(record.get("run_dir") or path.parent), str(record.get("error", "unknown error"))))
    return found


def failure_report(failures: list[tuple[Path, str]]) -> str:
    """The paragraph a failed sweep ends with."""
    lines = [f"  {path}: {error.splitlines()[0] if error else 'unknown error'}" for path, error in failures]
    return "\n".join([f"safebench: error: {len(failures)} job(s) of the sweep failed:", *lines])
