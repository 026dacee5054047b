"""The command line composed and checked before Hydra creates anything: its jobs, their configs, their folders.

``python -m safebench`` (``safebench.cli``), the bench, the wall-time estimate and the experiment plan
all read a command line the same way: expand the sweep as Hydra's basic sweeper will
(``sweep_jobs``), compose each job's config with Hydra's compose API (``compose_config``), and check
it (``checked_configs``), so that bad input ends with one clear paragraph before any run starts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from safebench import CONF_DIR
from safebench.config_validation import available, check_writable, validate_config
from safebench.errors import ConfigError
from safebench.run_end import SWEEP_JOBS_VARIABLE
from safebench.suggestions import config_keys, did_you_mean

REQUIRED_GROUPS = {"algo": "algorithm", "task": "task"}


def add_group_plus(argv: list[str]) -> list[str]:
    """Accept ``algo=cpo`` as well as ``+algo=cpo`` (neither group is in the defaults list)."""
    return [f"+{a}" if a.split("=", 1)[0] in REQUIRED_GROUPS else a for a in argv]


def parse_overrides(overrides: list[str]) -> list:
    """Hydra's parsed overrides; ConfigError, not a parser traceback, for a malformed one."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        return OverridesParser.create().parse_overrides(overrides)
    except Exception as exc:
        raise ConfigError(f"The command line could not be parsed: {exc}") from None


def sweep_jobs(overrides: list[str], multirun: bool, config_name: str) -> list[list[str]]:
    """Each job's overrides, as Hydra's basic sweeper will form them (sweeper params included)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    parsed = parse_overrides(overrides)
    sweeps = [o.input_line for o in parsed if o.is_sweep_override()]
    if not multirun:
        if sweeps:
            raise ConfigError(f"{', '.join(sweeps)} asks for several runs: add -m (multirun) to sweep over them.")
        return [overrides]
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    check_named_choices(overrides)
    params = OmegaConf.select(compose_config(fixed, config_name), "hydra.sweeper.params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()] + overrides
    jobs = BasicSweeper.split_arguments(parse_overrides(arguments), None)[0]
    return [list(job) for job in jobs]


NAMED_GROUPS = {**REQUIRED_GROUPS, "experiment": "experiment", "budget": "budget", "algo_variant": "algorithm variant"}


def check_named_choices(job: list[str]) -> None:
    """An algorithm, task or experiment named on the command line must exist (a short, precise message)."""
    for group, what in NAMED_GROUPS.items():
        names = available(group)
        for override in job:
            key, _, value = override.partition("=")
            if key.lstrip("+~") != group:
                continue
            for choice in value.split(","):
                if choice not in names:
                    raise ConfigError(f"Unknown {what} '{choice}'.{did_you_mean(choice, names)} Available "
                                      f"{what}s: {', '.join(names)}.")


def check_chosen(cfg: DictConfig) -> None:
    """The composed config must hold an algorithm and a task (chosen directly or by an experiment)."""
    for group, what in REQUIRED_GROUPS.items():
        if group not in cfg:
            raise ConfigError(f"No {what} chosen: add +{group}=NAME to the command line. Available {what}s: "
                              f"{', '.join(available(group))}. Example: python -m safebench +algo=cpo "
                              f"+task=point_circle")


def compose_config(job: list[str], config_name: str = "config") -> DictConfig:
    """One job's config, Hydra's own included, as the run will see it; ConfigError with a hint where it fails."""
    from hydra import compose, initialize_config_dir

    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR), job_name="safebench"):
            return compose(config_name, overrides=job, return_hydra_config=True)
    except Exception as exc:
        algorithm_key = _unknown_algorithm_key(str(exc), job, config_name)
        if algorithm_key:
            raise ConfigError(algorithm_key) from None
        first_lines = " ".join(str(exc).strip().splitlines()[:3])
        raise ConfigError(f"The overrides {' '.join(job)} do not make a valid config: {first_lines}."
                          f"{_suggest_key(str(exc), job, config_name)} Keys must exist in conf/ (see README, "
                          f"'Configuration'); use +key=value only to add new ones.") from None


def _unknown_algorithm_key(message: str, job: list[str], config_name: str) -> str | None:
    """algo.lambda_lrr=0.1 on the command line: the same paragraph as a typo in the algorithm's YAML (the algorithm,
    a did-you-mean, its valid keys), not Hydra's advice to add it with '+', which the algorithm would refuse."""
    import re

    from omegaconf import open_dict

    from safebench.config_validation import unknown_algorithm_keys

    found = re.search(r"Could not override '(algo\.[^'.]+)'", message)
    if not found:
        return None
    rest = [o for o in job if o.partition("=")[0].lstrip("+~") != found.group(1)]
    try:
        cfg = compose_config(rest, config_name)
    except ConfigError:
        return None
    if "algo" not in cfg:
        return None
    with open_dict(cfg):
        cfg.algo[found.group(1).removeprefix("algo.")] = None
    problems = unknown_algorithm_keys(cfg.algo)
    return problems[0] if problems else None


def _suggest_key(message: str, job: list[str], config_name: str) -> str:
    """' Did you mean train.total_steps?' for an override of a key that does not exist, else ''."""
    import re

    found = re.search(r"Could not override '([^']+)'", message)
    if not found:
        return ""
    rest = [o for o in job if o.partition("=")[0].lstrip("+~") != found.group(1)]
    try:
        keys = config_keys(compose_config(rest, config_name))
    except ConfigError:
        return ""
    return did_you_mean(found.group(1), [k for k in keys if not k.startswith("hydra")])


class CheckedCommandLine(NamedTuple):
    """A command line that passed every check: what ``safebench.cli`` needs to start its run or sweep."""

    multirun: bool
    output: Path  # the run directory, or the sweep's folder
    overrides: list[str]  # as given, sweeps not expanded
    jobs: list[list[str]]  # each job's overrides
    configs: list[DictConfig]  # each job's composed config


def validate_command_line(argv: list[str], config_name: str = "config") -> CheckedCommandLine:
    """Raise ConfigError describing the first job whose config is invalid; else every job, composed."""
    from hydra._internal.utils import get_args_parser

    args, unknown = get_args_parser().parse_known_args(argv)
    if unknown:  # e.g. --resume: settings are overrides without dashes
        meant = " ".join(f"{a.lstrip('-').partition('=')[0]}={a.partition('=')[2] or 'true'}" for a in unknown)
        raise ConfigError(f"Unknown flag(s) {' '.join(unknown)}. Settings are Hydra overrides, without dashes: "
                          f"did you mean {meant}? (python -m safebench --help lists the flags Hydra takes)")
    jobs = sweep_jobs(args.overrides, args.multirun, config_name)
    if args.multirun:  # each job's update lines say 'job i/N'
        os.environ[SWEEP_JOBS_VARIABLE] = str(len(jobs))
    key = "hydra.sweep.dir" if args.multirun else "hydra.run.dir"
    configs = checked_configs(jobs, config_name, output_key=key)
    if args.multirun:
        check_distinct_directories(jobs, configs)
    return CheckedCommandLine(args.multirun, Path(OmegaConf.select(configs[-1], key)), args.overrides, jobs, configs)


def checked_configs(jobs: list[list[str]], config_name: str = "config", output_key: str | None = None
                    ) -> list[DictConfig]:
    """Each job's config, composed once it names choices that exist; ConfigError for the first job without an
    algorithm and a task, with an invalid value, or (with ``output_key``) whose output folder cannot be written.
    Composing is ~50 ms a job; each job checks its own config again when it runs."""
    configs = []
    for job in jobs:
        check_named_choices(job)
        cfg = compose_config(job, config_name)
        check_chosen(cfg)
        problems = validate_config(cfg)
        if not problems and output_key is not None:
            problems = check_writable(Path(OmegaConf.select(cfg, output_key)))
        if problems:
            raise ConfigError(f"Invalid configuration ({' '.join(job)}): {'; '.join(problems)}.")
        configs.append(cfg)
    return configs


def job_subdir(cfg: DictConfig) -> str:
    """The folder Hydra will give this job of a sweep below hydra.sweep.dir (hydra.sweep.subdir resolved as the
    launcher resolves it: with the job's override_dirname)."""
    hydra_config = HydraConfig.instance()
    before = hydra_config.cfg
    try:
        hydra_config.set_config(cfg)
        return os.path.normpath(str(OmegaConf.select(cfg, "hydra.sweep.subdir")))
    finally:
        hydra_config.cfg = before  # Hydra sets its own when the sweep starts


def check_distinct_directories(jobs: list[list[str]], configs: list[DictConfig]) -> None:
    """Jobs that Hydra would put in one run directory (they differ only in keys left out of directory names: a
    budget, the parallelism, logging) must not start: the second would resume or refuse the first's run."""
    seen: dict[str, list[str]] = {}
    for job, cfg in zip(jobs, configs):
        subdir = job_subdir(cfg)
        if subdir in seen:
            apart = sorted(set(job) ^ set(seen[subdir]))
            if not apart:
                raise ConfigError(f"The sweep holds the same job twice ({' '.join(job)}): list each value once.")
            raise ConfigError(f"Two jobs of this sweep differ only in {', '.join(apart)}, which are left out of "
                              f"run directory names (hydra.sweep.subdir: {subdir}), so they would write into one "
                              f"directory. Run them as separate sweeps with their own hydra.sweep.dir.")
        seen[subdir] = job
