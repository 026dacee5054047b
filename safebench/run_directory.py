"""What a run directory may hold when a run starts, and what a resume may change (README, 'Resuming')."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from safebench.checkpoint import checkpoint_path, load_checkpoint
from safebench.errors import CheckpointError
from safebench.run_files import CHECKPOINT_FOLDER, CONFIG_FILE, OVERRIDES_FILE, PROGRESS_FILE, SUMMARY_FILE

# keys a resume may change: they cannot change the results (budget, checkpoint cadence, parallelism, logging,
# the run's own switches, the declared hyperparameter ranges)
RESUMABLE_KEYS = ("train.total_steps", "task.total_steps", "train.checkpoint_every", "train.workers",
                  "train.torch_threads", "task.sampler.workers", "logger", "resume", "overwrite", "hydra",
                  "algo.ranges", "task.ranges")


def config_identity(cfg: DictConfig) -> dict[str, Any]:
    """The identity a checkpoint records that its config alone decides (the trainer adds the shapes)."""
    return {"task": cfg.task.name, "algo": cfg.algo.name, "seed": int(cfg.seed),
            "cost_shaping": bool(cfg.algo.get("cost_shaping", False))}


def resolved_config(cfg: DictConfig) -> dict[str, Any]:
    """The run's config as plain values, without Hydra's own section (which only resolves inside a Hydra job)."""
    return OmegaConf.to_container(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), resolve=True)


def holds_a_run(run_dir: Path) -> bool:
    """Whether the directory already holds a run's results (a checkpoint or a progress.csv)."""
    return checkpoint_path(run_dir).is_file() or (Path(run_dir) / PROGRESS_FILE).is_file()


def check_run_dir(cfg: DictConfig, run_dir: Path) -> list[str]:
    """Problems with starting this run in ``run_dir``: an existing run not named by resume/overwrite, or a
    checkpoint that this config may not continue. Writes nothing."""
    resume, overwrite = bool(cfg.resume), bool(cfg.get("overwrite", False))
    if resume and overwrite:
        return ["resume=true and overwrite=true contradict each other: resume continues the run in the directory, "
                "overwrite replaces it; pass one of them"]
    if not resume:
        if holds_a_run(run_dir) and not overwrite:
            return [f"{run_dir} already holds a run (a checkpoint or progress.csv). Pass resume=true to continue it, "
                    f"overwrite=true to replace it, or choose another directory (hydra.run.dir=DIR)"]
        return []
    if not checkpoint_path(run_dir).is_file():
        return [f"resume=true but there is no checkpoint in {run_dir} (expected {checkpoint_path(run_dir)}); "
                f"set hydra.run.dir to the directory of the run to resume"]
    try:
        saved = load_checkpoint(checkpoint_path(run_dir), config_identity(cfg))
    except CheckpointError as error:
        return [str(error).rstrip(".")]
    return resume_differences(saved_config(saved, run_dir), cfg, run_dir)


def saved_config(state: dict[str, Any], run_dir: Path) -> dict[str, Any] | None:
    """The resolved config the checkpoint was written with (older checkpoints: the run's .hydra/config.yaml)."""
    if "config" in state:
        return state["config"]
    path = Path(run_dir) / CONFIG_FILE
    try:
        return OmegaConf.to_container(OmegaConf.load(path), resolve=True) if path.is_file() else None
    except Exception:  # an unreadable or unresolvable old config: the checkpoint's identity check still holds
        return None


def resume_differences(saved: dict[str, Any] | None, cfg: DictConfig, run_dir: Path) -> list[str]:
    """One problem naming every key that differs from the checkpoint's config and may change the results."""
    if saved is None:
        return []
    old, new = flatten(saved), flatten(resolved_config(cfg))
    follows = follows_resumable_keys(cfg)
    chosen = overridden_keys(run_dir)  # a value the run was started with on its command line follows nothing
    followed = {k for k, ref in follows.items() if k in old and old[k] == old.get(ref) and k not in chosen}
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k, "<absent>") != new.get(k, "<absent>")
                     and not is_resumable_key(k) and k not in followed)
    if not changed:
        return []
    details = ", ".join(f"{k} (run: {old.get(k, '<absent>')!r}, now: {new.get(k, '<absent>')!r})" for k in changed)
    return [f"resume=true may not change what decides the results of the run in {run_dir}: {details}. Resume "
            f"with the run's values (a resume may change only {', '.join(RESUMABLE_KEYS[:5])} and logger.*), or "
            f"start a new run in another directory"]


def is_resumable_key(key: str) -> bool:
    """Whether a resume may change this dotted key (it or a section above it is in RESUMABLE_KEYS)."""
    return any(key == allowed or key.startswith(allowed + ".") for allowed in RESUMABLE_KEYS)


def overridden_keys(run_dir: Path) -> set[str]:
    """The keys the run's command line set (its .hydra/overrides.yaml; none when there is no such file)."""
    try:
        return {str(o).lstrip("+~").partition("=")[0] for o in OmegaConf.load(Path(run_dir) / OVERRIDES_FILE)}
    except Exception:  # noqa: BLE001 - no or unreadable file: nothing was chosen that we know of
        return set()


def follows_resumable_keys(cfg: DictConfig) -> dict[str, str]:
    """Keys whose value is a resumable key's, by interpolation (``lr_schedule_steps: ${train.total_steps}``), and
    that key: they change with it, and a resume that extends the budget stretches them (docs/fidelity.md)."""
    unresolved = flatten(OmegaConf.to_container(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]),
                                                resolve=False))
    follows = {}
    for key, value in unresolved.items():
        reference = re.fullmatch(r"\$\{([\w.]+)\}", value) if isinstance(value, str) else None
        if reference and is_resumable_key(reference.group(1)):
            follows[key] = reference.group(1)
    return follows


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1}} -> {'a.b': 1}; lists stay values."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        flat |= flatten(value, f"{prefix}.{key}" if prefix else str(key))
    return flat


def prepare_run_dir(run_dir: Path, overwrite: bool) -> None:
    """Before the first update: no summary.json may outlive the run it described, no temp file of a killed
    write may stay, and overwrite=true removes the replaced run's results."""
    run_dir = Path(run_dir)
    (run_dir / SUMMARY_FILE).unlink(missing_ok=True)
    for folder in (run_dir, run_dir / CHECKPOINT_FOLDER):
        for stale in folder.glob(".*.tmp"):  # run_files.atomic_write_bytes's temp files
            stale.unlink(missing_ok=True)
    if overwrite:
        (run_dir / PROGRESS_FILE).unlink(missing_ok=True)
        checkpoint_path(run_dir).unlink(missing_ok=True)
