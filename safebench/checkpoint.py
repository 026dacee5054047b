"""Checkpoints: everything needed to continue a run exactly where it stopped."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from safebench.errors import CheckpointError
from safebench.run_files import LAST_CHECKPOINT, atomic_write_bytes

FORMAT_VERSION = 1


def checkpoint_path(run_dir: Path) -> Path:
    return Path(run_dir) / LAST_CHECKPOINT


def save_checkpoint(run_dir: Path, state: dict[str, Any]) -> Path:
    """Serialize then rename into place, so the previous checkpoint survives a crash mid-write."""
    buffer = io.BytesIO()
    torch.save({"format_version": FORMAT_VERSION, **state}, buffer)
    path = checkpoint_path(run_dir)
    atomic_write_bytes(path, buffer.getvalue())
    return path


# identity keys added after checkpoints were first written, with the value older checkpoints had
IDENTITY_DEFAULTS = {"cost_shaping": False}


def load_checkpoint(path: Path, identity: dict[str, Any]) -> dict[str, Any]:
    """Load and check that the checkpoint belongs to a run like this one (task, algo, shapes)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {path}: there is nothing to resume. Start the run without "
                              f"resume=true, or point hydra.run.dir at the directory of the run to resume.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # any unpickling failure means the file is unusable
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(exc).__name__}: {exc}). If it is a "
                              f"run's checkpoints/last.pt, it is corrupt: restore it from a backup, or delete it to "
                              f"start the run over; otherwise name the run's checkpoints/last.pt.") from None
    if not isinstance(state, dict) or state.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"The checkpoint {path} is not a safebench checkpoint of format {FORMAT_VERSION}.")
    saved = IDENTITY_DEFAULTS | state.get("identity", {})
    mismatched = {k: (saved.get(k), v) for k, v in identity.items() if saved.get(k) != v}
    if mismatched:
        details = "; ".join(f"{k}: checkpoint has {a!r}, this run has {b!r}" for k, (a, b) in mismatched.items())
        raise CheckpointError(f"The checkpoint {path} belongs to a different run ({details}). Resume with the "
                              f"same task, algorithm, seed and settings, or use a fresh run directory.")
    return state
