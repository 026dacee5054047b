"""Checks a composed config before any work starts, so bad input never leaves a half-made run."""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from safebench import CONF_DIR
from safebench.constraints import constraint_problems
from safebench.run_files import nearest_existing
from safebench.value_ranges import RANGES_KEY, range_problems

WANDB_MODES = ("disabled", "offline", "online")


def available(group: str) -> list[str]:
    """Names of the configs in a group (``conf/<group>/*.yaml``): the algorithms or the tasks."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def _number(cfg: DictConfig, key: str, *, integer: bool, minimum: float, problems: list[str]) -> float | None:
    value = OmegaConf.select(cfg, key)
    kind = "an integer" if integer else "a number"
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and integer and float(value) != int(value):
        ok = False
    if not ok or value < minimum:
        problems.append(f"{key} must be {kind} >= {minimum:g}, got {value!r}")
        return None
    return value


def validate_config(cfg: DictConfig) -> list[str]:
    """Every problem found in a composed config, as short sentences (empty when fine)."""
    problems: list[str] = []
    for key in ("resume", "overwrite", "train.normalize_obs"):  # bool("no") is True: overwrite=no replaced a run
        if not isinstance(OmegaConf.select(cfg, key, default=False), bool):
            problems.append(f"{key} must be true or false, got {OmegaConf.select(cfg, key)!r}")
    _number(cfg, "seed", integer=True, minimum=0, problems=problems)
    for key in ("eval.every", "eval.episodes"):
        if OmegaConf.select(cfg, key) is not None:
            _number(cfg, key, integer=True, minimum=0, problems=problems)
    problems += constraint_problems(cfg.task)
    horizon = _number(cfg, "task.horizon", integer=True, minimum=1, problems=problems)
    batch = _number(cfg, "train.batch_size", integer=True, minimum=1, problems=problems)
    _number(cfg, "train.total_steps", integer=True, minimum=1, problems=problems)
    num_envs = _number(cfg, "train.num_envs", integer=True, minimum=1, problems=problems)
    for key, minimum in (("train.workers", 0), ("train.torch_threads", 1)):
        if OmegaConf.select(cfg, key) != "auto":
            _number(cfg, key, integer=True, minimum=minimum, problems=problems)
    _number(cfg, "train.checkpoint_every", integer=True, minimum=1, problems=problems)
    _number(cfg, "train.inference_batch", integer=True, minimum=1, problems=problems)
    for key, minimum in (("start_steps", 0), ("update_every", 1), ("updates_per_step", 0), ("log_every", 1),
                         ("buffer_size", 1)):
        if not (key == "log_every" and OmegaConf.select(cfg, "train.log_every") == "auto"):
            _number(cfg, f"train.{key}", integer=True, minimum=minimum, problems=problems)
    if horizon and batch and batch < horizon:
        problems.append(f"train.batch_size ({batch}) is smaller than one episode (task.horizon = {horizon})")
    elif horizon and batch and num_envs and math.ceil(batch / num_envs) < horizon:
        problems.append(f"train.batch_size / train.num_envs = {math.ceil(batch / num_envs)} steps per environment "
                        f"is shorter than one episode (task.horizon = {horizon}); lower train.num_envs")
    if cfg.train.device != "cpu":
        problems.append(f"train.device must be 'cpu' (the only device supported), got {cfg.train.device!r}")
    if cfg.logger.wandb.mode not in WANDB_MODES:
        problems.append(f"logger.wandb.mode must be one of {', '.join(WANDB_MODES)}, got {cfg.logger.wandb.mode!r}")
    if not problems:
        problems += _check_task_params(cfg) + _check_algorithm(cfg)
    if not problems:
        problems += _check_off_policy(cfg, horizon)
    if not problems:
        problems += _task_build_problems(cfg)
    if not problems:
        from safebench.constraints import Constraints
        from safebench.memory_estimate import memory_problems

        problems += memory_problems(cfg, Constraints.from_task(cfg.task).count)
    return problems


def _task_build_problems(cfg: DictConfig) -> list[str]:
    """Build the task once with its parameters: a value its constructor or model refuses is a config problem
    here, not a traceback at the first environment (most task parameters declare no range). The build is the
    memory estimate's, cached per distinct task of a sweep."""
    from safebench.memory_estimate import task_dims

    params = OmegaConf.to_container(cfg.task.params, resolve=True) if "params" in cfg.task else {}
    try:
        task_dims(str(cfg.task.name), int(cfg.task.horizon), json.dumps(params, sort_keys=True))
    except Exception as exc:  # noqa: BLE001 - whatever the task raises, the parameters are the cause
        return [f"task {cfg.task.name} cannot be built with task.params {params} ({type(exc).__name__}: {exc}); "
                f"check the values against conf/task/{cfg.task.name}.yaml"]
    return []


def _check_task_params(cfg: DictConfig) -> list[str]:
    import tasks

    if cfg.task.name not in tasks.names():
        return [f"task.name {cfg.task.name!r} is not a registered task ({', '.join(tasks.names())})"]
    params = OmegaConf.to_container(cfg.task.params, resolve=True) if "params" in cfg.task else {}
    accepted = set(inspect.signature(tasks.spec(cfg.task.name).entry_point).parameters) - {"render_mode"}
    unknown = sorted(set(params) - accepted)
    if unknown:
        return [f"task.params has unknown key(s) {', '.join(unknown)}; {cfg.task.name} accepts: "
                f"{', '.join(sorted(accepted))}"]
    return _constraint_count_problems(cfg) + range_problems(params, _declared_ranges(cfg.task), "task.params")


def _constraint_count_problems(cfg: DictConfig) -> list[str]:
    """A limit per cost the task emits: otherwise the first step would fail deep in the sampler."""
    import tasks
    from safebench.constraints import Constraints

    spec = tasks.spec(cfg.task.name)
    configured, emitted = Constraints.from_task(cfg.task).count, len(spec.cost_names)
    if configured == emitted:
        return []
    how = (f"a single number (the task's default: task.cost_limit={spec.cost_limit:g})" if emitted == 1 else
           f"a list of {emitted} limits with task.cost_names listing {emitted} names")
    return [f"task.cost_limit gives {configured} limit(s), but {cfg.task.name} emits {emitted} cost(s) "
            f"({', '.join(spec.cost_names)}): give one limit per cost, {how}"]


def _declared_ranges(group: DictConfig) -> dict[str, str]:
    """The group's ``ranges:`` block (conf/algo/*.yaml, conf/algo_base/*.yaml, conf/task/*.yaml)."""
    ranges = group.get(RANGES_KEY)
    return OmegaConf.to_container(ranges, resolve=True) if ranges is not None else {}


def _check_algorithm(cfg: DictConfig) -> list[str]:
    """Every hyperparameter within its declared range, then build the algorithm on a 1-d toy problem: catches
    a bad _target_ or an unknown hyperparameter, and a hyperparameter that declares no range."""
    from safebench.trainer import build_algorithm

    ranges = _declared_ranges(cfg.algo)
    values = OmegaConf.to_container(cfg.algo, resolve=True)
    problems = range_problems(values, ranges, "algo") or unknown_algorithm_keys(cfg.algo)
    if problems:
        return problems
    try:
        build_algorithm(cfg, obs_dim=1, act_dim=1)
    except Exception as exc:  # the user's YAML or override is wrong; say what the constructor said
        return [f"algorithm {cfg.algo.name!r} cannot be built from its config ({type(exc).__name__}: {exc})"]
    undeclared = sorted(set(values) - set(ranges) - {"name", "_target_", RANGES_KEY})
    if undeclared:
        return [f"algorithm {cfg.algo.name!r} declares no range for {', '.join(undeclared)}: add each under "
                f"'{RANGES_KEY}:' in its YAML (docs/adding_an_algorithm.md, 'Ranges')"]
    return []


HARNESS_ARGUMENTS = {"obs_dim", "act_dim", "cost_limit", "seed"}  # build_algorithm passes these itself
CONFIG_ONLY_KEYS = {"name", "_target_", RANGES_KEY}  # in every algorithm YAML, never passed to the constructor


def constructor_keys(cls: type) -> set[str] | None:
    """The keyword arguments ``cls(...)`` accepts, following ``**kwargs`` up the bases; None if unbounded."""
    keys: set[str] = set()
    for klass in cls.__mro__:
        if klass is object:
            return None  # **kwargs reach object: anything goes as far as we can tell
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        parameters = list(inspect.signature(init).parameters.values())[1:]
        keys |= {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            return keys
    return None


def unknown_algorithm_keys(algo: DictConfig) -> list[str]:
    """A key of the algorithm's YAML (or +algo.key=...) that its constructor does not take: named, with a
    did-you-mean and the valid keys, as an unknown key on the command line is (not a TypeError)."""
    from hydra.utils import get_class

    from safebench.suggestions import did_you_mean

    try:
        accepted = constructor_keys(get_class(algo._target_))
    except Exception:  # a bad _target_: building the algorithm says so
        return []
    if accepted is None:
        return []
    valid = sorted(accepted - HARNESS_ARGUMENTS)
    unknown = sorted(set(algo) - accepted - CONFIG_ONLY_KEYS)
    if not unknown:
        return []
    hints = "".join(did_you_mean(key, valid) for key in unknown)
    return [f"Unknown key(s) {', '.join(f'algo.{k}' for k in unknown)} for algorithm {algo.name!r} "
            f"({algo._target_}, set in conf/algo/{algo.name}.yaml or on the command line).{hints} "
            f"Valid keys of {algo.name}: {', '.join(valid)}"]


def _check_off_policy(cfg: DictConfig, horizon: int) -> list[str]:
    """An off-policy run's windows must hold whole episodes, it samples in-process, and its buffer stores raw
    observations."""
    from hydra.utils import get_class

    from safebench.off_policy import learns_from_replay, log_every

    if not learns_from_replay(get_class(cfg.algo._target_)):
        return []
    problems = []
    per_env = math.ceil(log_every(cfg) / int(cfg.train.num_envs))
    if per_env < horizon:
        problems.append(f"train.log_every / train.num_envs = {per_env} steps per environment is shorter than one "
                        f"episode (task.horizon = {horizon}): a progress.csv row averages the episodes that end in its "
                        f"window, and some would have none; raise train.log_every or lower train.num_envs")
    if str(cfg.train.workers) not in ("auto", "0"):
        problems.append(f"train.workers={cfg.train.workers}: the off-policy algorithm {cfg.algo.name!r} steps its "
                        f"environments in the learner's process (its policy changes after every gradient step, "
                        f"so worker processes would wait on it at every step); leave train.workers at auto or 0")
    if cfg.train.normalize_obs:
        problems.append(f"train.normalize_obs=true is not supported by the off-policy algorithm {cfg.algo.name!r}: "
                        f"its replay buffer holds raw observations; leave it false")
    return problems


MIN_FREE_BYTES = 100 * 2**20  # checkpoints and progress files of a run fit easily in this


def check_writable(directory: Path) -> list[str]:
    """The run directory (or its nearest existing parent) must be writable, with disk space left."""
    import os
    import shutil

    existing = nearest_existing(Path(directory).absolute())
    if not existing.is_dir():
        return [f"the run directory {directory} cannot be made: {existing} is a file; choose another with "
                f"hydra.run.dir=... (or hydra.sweep.dir=... for -m)"]
    if not os.access(existing, os.W_OK | os.X_OK):
        return [f"the run directory {directory} cannot be written ({existing} is not writable); choose another "
                f"with hydra.run.dir=... (or hydra.sweep.dir=... for -m)"]
    free = shutil.disk_usage(existing).free
    if free < MIN_FREE_BYTES:
        return [f"only {free / 2**20:.0f} MiB free on the disk of {directory}; a run needs at least "
                f"{MIN_FREE_BYTES / 2**20:.0f} MiB for its checkpoints and logs"]
    return []
