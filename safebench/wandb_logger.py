"""Optional Weights & Biases logging. Any failure to start or log is a warning, never a crash."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


class WandbLogger:
    """Logs the config once and every progress row; a no-op when ``mode`` is ``disabled``."""

    def __init__(self, cfg: DictConfig, run_dir: Path) -> None:
        self.run = None
        settings = cfg.logger.wandb
        if settings.mode == "disabled":
            return
        try:
            import wandb

            self.run = wandb.init(
                mode=settings.mode,
                project=settings.project,
                entity=settings.entity,
                group=settings.group,
                name=f"{cfg.task.name}/{cfg.algo.name}/seed{cfg.seed}",
                tags=[*settings.tags, f"seed{cfg.seed}", cfg.task.name, cfg.algo.name],
                config=OmegaConf.to_container(cfg, resolve=True),
                dir=str(run_dir),
                resume="allow",
                id=settings.run_id,
                settings=wandb.Settings(init_timeout=60, silent=True),
            )
        except Exception as exc:  # wandb missing, offline, not logged in, unreachable...
            log.warning("wandb could not start (%s: %s); continuing without it.", type(exc).__name__, exc)
            self.run = None

    def log(self, row: dict[str, Any]) -> None:
        if self.run is None:
            return
        try:
            self.run.log(row, step=int(row["env_steps"]))
        except Exception as exc:
            log.warning("wandb logging failed (%s); continuing without it.", exc)
            self.run = None

    def finish(self) -> None:
        if self.run is not None:
            try:
                self.run.finish()
            except Exception as exc:
                log.warning("wandb finish failed (%s).", exc)
