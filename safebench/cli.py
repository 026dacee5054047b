"""Command line: ``python -m safebench +algo=NAME +task=NAME [seed=K] [key=value ...] [-m]``.

The command line is composed and checked with Hydra's compose API *before* Hydra creates a run
directory, so bad input ends with one clear paragraph, exit status 2, and nothing on disk.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from safebench import CONF_DIR
from safebench.checkpoint import checkpoint_path
from safebench.config_validation import available, check_resume, check_writable, validate_config
from safebench.errors import ConfigError, SafebenchError, exit_with

INFORMATIONAL_FLAGS = {"--help", "-h", "--hydra-help", "--info", "--cfg", "-c", "--shell-completion", "--version",
                       "-sc", "-i", "--resolve"}
REQUIRED_GROUPS = {"algo": "algorithm", "task": "task"}
MAX_SWEEP_CHECKS = 256
log = logging.getLogger("safebench")


def add_group_plus(argv: list[str]) -> list[str]:
    """Accept ``algo=cpo`` as well as ``+algo=cpo`` (neither group is in the defaults list)."""
    return [f"+{a}" if a.split("=", 1)[0] in REQUIRED_GROUPS else a for a in argv]


def _parse(overrides: list[str]):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        return OverridesParser.create().parse_overrides(overrides)
    except Exception as exc:
        raise ConfigError(f"The command line could not be parsed: {exc}") from None


def _combinations(overrides: list[str], multirun: bool, config_name: str) -> list[list[str]]:
    """Each job's overrides, as Hydra's basic sweeper will form them (sweeper params included)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    parsed = _parse(overrides)
    sweeps = [o.input_line for o in parsed if o.is_sweep_override()]
    if not multirun:
        if sweeps:
            raise ConfigError(f"{', '.join(sweeps)} asks for several runs: add -m (multirun) to sweep over them.")
        return [overrides]
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    _check_named_choices(overrides)
    params = OmegaConf.select(_compose(fixed, config_name), "hydra.sweeper.params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()] + overrides
    jobs = BasicSweeper.split_arguments(_parse(arguments), None)[0]
    return [list(job) for job in jobs][:MAX_SWEEP_CHECKS]


def _check_named_choices(job: list[str]) -> None:
    """An algorithm or task named on the command line must exist (a short, precise message)."""
    for group, what in REQUIRED_GROUPS.items():
        names = available(group)
        for override in job:
            key, _, value = override.partition("=")
            if key.lstrip("+~") != group:
                continue
            for choice in value.split(","):
                if choice not in names:
                    raise ConfigError(f"Unknown {what} '{choice}'. Available {what}s: {', '.join(names)}.")


def _check_chosen(cfg: DictConfig) -> None:
    """The composed config must hold an algorithm and a task (chosen directly or by an experiment)."""
    for group, what in REQUIRED_GROUPS.items():
        if group not in cfg:
            raise ConfigError(f"No {what} chosen: add +{group}=NAME to the command line. Available {what}s: "
                              f"{', '.join(available(group))}. Example: python -m safebench +algo=cpo "
                              f"+task=point_circle")


def _compose(job: list[str], config_name: str = "config") -> DictConfig:
    from hydra import compose, initialize_config_dir

    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR), job_name="safebench"):
            return compose(config_name, overrides=job, return_hydra_config=True)
    except Exception as exc:
        first_lines = " ".join(str(exc).strip().splitlines()[:3])
        raise ConfigError(f"The overrides {' '.join(job)} do not make a valid config: {first_lines}. Keys must "
                          f"exist in conf/ (see README, 'Configuration'); use +key=value only to add new "
                          f"ones.") from None


def validate_command_line(argv: list[str], config_name: str = "config") -> None:
    """Raise ConfigError describing the first job whose config is invalid."""
    from hydra._internal.utils import get_args_parser

    args = get_args_parser().parse_args(argv)
    for job in _combinations(args.overrides, args.multirun, config_name):
        _check_named_choices(job)
        cfg = _compose(job, config_name)
        _check_chosen(cfg)
        problems = validate_config(cfg)
        output = OmegaConf.select(cfg, "hydra.sweep.dir" if args.multirun else "hydra.run.dir")
        if not problems:
            problems = check_writable(Path(output))
        if not problems and not args.multirun:
            problems = check_resume(cfg, Path(output))
        if problems:
            raise ConfigError(f"Invalid configuration ({' '.join(job)}): {'; '.join(problems)}.")



@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def run(cfg: DictConfig) -> dict | None:
    """One job: train the configured (algorithm, task, seed) into Hydra's output directory."""
    from safebench.trainer import train

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    in_sweep = HydraConfig.get().mode == RunMode.MULTIRUN
    try:
        if cfg.resume and in_sweep and not checkpoint_path(run_dir).is_file():
            log.warning("resume=true, but %s has no checkpoint yet: this job of the sweep starts from scratch.",
                        run_dir)
            cfg.resume = False
        problems = validate_config(cfg) + check_resume(cfg, run_dir)
        if problems:
            raise ConfigError(f"Invalid configuration: {'; '.join(problems)}.")
        return train(cfg, run_dir)
    except SafebenchError as error:
        log.error("%s", error)
        if not in_sweep:
            exit_with(error)
        # in a sweep, one failed job must not cancel the others: it stays incomplete, the report skips it
    except KeyboardInterrupt:
        log.warning("interrupted. To continue from the last checkpoint (written every train.checkpoint_every "
                    "updates), run the same command with resume=true hydra.run.dir=%s", run_dir)
        if in_sweep:
            raise  # stops the whole sweep; resume=true continues each job
        sys.exit(130)
    except Exception:
        log.exception("the run failed with an unexpected error (a bug: please report it)")
        raise
    return None


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m safebench`` and the ``safebench`` console script."""
    argv = add_group_plus(list(sys.argv[1:] if argv is None else argv))
    if not INFORMATIONAL_FLAGS.intersection(argv):
        try:
            validate_command_line(argv)
        except SafebenchError as error:
            exit_with(error)
    sys.argv = [sys.argv[0], *argv]
    run()
