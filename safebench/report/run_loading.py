"""Finds run directories below the given folders and reads the complete ones; the rest are reported, not fatal."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from safebench.constraints import SINGLE_NAME, Constraints, constraint_problems
from safebench.run_directory import is_resumable_key
from safebench.run_files import CONFIG_FILE, OVERRIDES_FILE, PROGRESS_FILE, SUMMARY_FILE

LABEL_FLAGS = ("cost_shaping",)  # switches that name an arm when on, for every algorithm
COST_COLUMNS = ("cost_mean", "cost_limit", "batch_cost", "violation",
                "eval_cost_mean")  # <column>_<name> per constraint when m > 1 (eval_cost_mean: with evaluation on)
MULTI_REQUIRED = ("cost_mean", "batch_cost", "violation")  # per-constraint columns a run with m > 1 must log
SINGLE_COST_NAME = SINGLE_NAME  # the one constraint of a run whose task.cost_limit is a number
ALL_CONSTRAINTS = "all"  # the report's all-constraints summary row, so no constraint may be called that
_OVERRIDE_PARSER = OverridesParser.create()


class SkippedRun(Exception):
    """A run directory that cannot enter the report, with the reason in one phrase."""


@dataclass(frozen=True)
class Constraint:
    """One cost of a run: its name, its limit d and where progress.csv logs it (suffix '' when m = 1)."""

    name: str
    limit: float
    suffix: str = ""

    def column(self, base: str) -> str:
        """This constraint's progress.csv column for ``base`` (cost_mean -> cost_mean_speed when m > 1)."""
        return base + self.suffix


@dataclass(frozen=True)
class Run:
    """One complete run: who it is (task, algorithm label, seed), its constraints (m >= 1) and progress.csv."""

    path: Path
    task: str
    algo: str
    seed: int
    constraints: tuple[Constraint, ...]
    progress: pd.DataFrame


@dataclass
class LoadedRuns:
    """The runs that enter the report and the directories skipped, each with its reason."""

    runs: list[Run] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def algo_label(algo: DictConfig) -> str:
    """algo.name, plus the hyperparameters that make an arm (the class's ``label_keys``: fixed_penalty(beta=5);
    cost shaping: cpo(cost_shaping)), so sweeps stay apart."""
    cls = algorithm_class(algo)
    keys = getattr(cls, "label_keys", ())
    values = [f"{key}={_number_text(algo[key])}" for key in keys if key in algo]
    if getattr(cls, "uses_cost_critic", True):  # cost-blind TRPO ignores cost shaping
        values += [flag for flag in LABEL_FLAGS if algo.get(flag) is True]
    return f"{algo.name}({', '.join(values)})" if values else str(algo.name)


def algorithm_class(algo: DictConfig) -> type | None:
    """The class the config's ``_target_`` names or, where this code cannot load it (a run of another version),
    the class of today's conf/algo/<name>.yaml; None if neither loads."""
    from safebench import CONF_DIR

    targets = [algo.get("_target_")]
    path = CONF_DIR / "algo" / f"{algo.get('name')}.yaml"
    with contextlib.suppress(Exception):
        targets.append(OmegaConf.load(path).get("_target_") if path.is_file() else None)
    for target in filter(None, targets):
        module, _, name = str(target).rpartition(".")
        with contextlib.suppress(Exception):  # ImportError, AttributeError, or anything the module raises
            return getattr(importlib.import_module(module), name)
    return None


def _number_text(value: object) -> str:
    """5.0 -> '5', 0.25 -> '0.25': labels read the same whether the YAML wrote 5 or 5.0."""
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def find_run_dirs(roots: list[Path]) -> list[Path]:
    """Every directory below ``roots`` (or a root itself) holding a Hydra ``.hydra/config.yaml``, sorted."""
    found: set[Path] = set()
    for root in roots:
        root = Path(root)
        candidates = [root / CONFIG_FILE] if (root / CONFIG_FILE).is_file() else []
        found.update(p.parent.parent for p in [*candidates, *root.rglob(str(CONFIG_FILE))])
    return sorted(found)


def read_config(path: Path) -> DictConfig:
    """The run's resolved config, checked for the keys the report needs."""
    try:
        cfg = OmegaConf.load(path / CONFIG_FILE)
        str(cfg.task.name), str(cfg.algo.name), int(cfg.seed), cfg.task.cost_limit
    except (OSError, ValueError, TypeError, AttributeError, yaml.YAMLError,
            OmegaConfBaseException) as exc:  # not a safebench run (UnicodeDecodeError is a ValueError)
        first_line = (str(exc).strip().splitlines() or [""])[0]
        raise SkippedRun(f"unreadable .hydra/config.yaml ({type(exc).__name__}: {first_line})") from None
    return cfg


def read_constraints(task: DictConfig) -> tuple[Constraint, ...]:
    """task.cost_limit and task.cost_names -> the run's constraints, read as the trainer reads them, or SkippedRun.

    A scalar limit is the one constraint 'cost'; a list of m limits needs m distinct task.cost_names. With
    m = 1 progress.csv keeps the plain columns (cost_mean, ...); with m > 1 they are cost_mean_<name>, ...."""
    problems = constraint_problems(task)
    if problems:
        raise SkippedRun(problems[0])
    declared = Constraints.from_task(task)
    if declared.count > 1 and ALL_CONSTRAINTS in declared.names:
        raise SkippedRun(f"task.cost_names {list(declared.names)} may not use {ALL_CONSTRAINTS!r} (the report's own)")
    return tuple(Constraint(name, limit, declared.column("", k))
                 for k, (name, limit) in enumerate(zip(declared.names, declared.limits)))


def needed_columns(constraints: tuple[Constraint, ...]) -> set[str]:
    """Columns without which the run cannot be reported: a multi-constraint run must log each cost in full."""
    bases = MULTI_REQUIRED if len(constraints) > 1 else ("cost_mean",)
    return {"env_steps", "return_mean"} | {c.column(base) for c in constraints for base in bases}


def read_progress(path: Path, constraints: tuple[Constraint, ...]) -> pd.DataFrame:
    """progress.csv with at least one update and every column ``constraints`` need, or SkippedRun."""
    file = path / PROGRESS_FILE
    if not file.is_file():
        raise SkippedRun("no progress.csv (crashed before its first update?)")
    try:
        progress = pd.read_csv(file)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise SkippedRun(f"empty or unreadable progress.csv ({type(exc).__name__})") from None
    missing = needed_columns(constraints) - set(progress.columns)
    if progress.empty:
        raise SkippedRun("empty progress.csv")
    if missing:
        declared = (f" (config declares {len(constraints)} constraints: {', '.join(c.name for c in constraints)})"
                    if len(constraints) > 1 else "")
        raise SkippedRun(f"progress.csv lacks {', '.join(sorted(missing))}{declared}")
    not_numbers = sorted(c for c in needed_columns(constraints) if not pd.api.types.is_numeric_dtype(progress[c]))
    if not_numbers:
        raise SkippedRun(f"progress.csv has values that are not numbers in {', '.join(not_numbers)}")
    return progress


def check_complete(path: Path) -> dict:
    """A run counts only when summary.json says it reached its budget; partial curves would bias 'final'."""
    file = path / SUMMARY_FILE
    if not file.is_file():
        raise SkippedRun("no summary.json (still running, or crashed)")
    try:
        summary = json.loads(file.read_text())
        status = summary.get("status")
    except (ValueError, AttributeError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise SkippedRun("unreadable summary.json") from None
    if status != "complete":
        raise SkippedRun(f"summary.json status is {status!r}, not 'complete'")
    return summary


def check_rows(path: Path) -> None:
    """Every line of progress.csv has the header's number of fields: a cut file (a copy stopped mid-line, a
    full disk) must not enter the report with wrong finals."""
    try:
        with open(path / PROGRESS_FILE, newline="") as file:
            lines = list(csv.reader(file))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SkippedRun(f"unreadable progress.csv ({type(exc).__name__})") from None
    width = len(lines[0]) if lines else 0
    torn = [n + 1 for n, line in enumerate(lines) if len(line) != width]
    if torn or not (path / PROGRESS_FILE).read_bytes().endswith(b"\n"):
        raise SkippedRun(f"torn progress.csv (line {torn[0] if torn else len(lines)} is cut short)")


def check_against_summary(progress: pd.DataFrame, summary: dict) -> None:
    """progress.csv must hold the updates summary.json counts: epochs 1..n, ending at its env steps."""
    epochs, steps = summary.get("epochs"), summary.get("env_steps")
    if not all(value is None or (isinstance(value, int) and not isinstance(value, bool)) for value in (epochs, steps)):
        raise SkippedRun(f"summary.json's epochs and env_steps are not whole numbers ({epochs!r}, {steps!r})")
    if "epoch" in progress and list(progress["epoch"]) != list(range(1, len(progress) + 1)):
        raise SkippedRun("progress.csv epochs are not 1, 2, ... (rows missing or repeated)")
    if epochs is not None and len(progress) != epochs:
        raise SkippedRun(f"progress.csv has {len(progress)} updates but summary.json says {epochs}")
    if steps is not None and progress["env_steps"].iloc[-1] != steps:
        raise SkippedRun(f"progress.csv ends at {progress['env_steps'].iloc[-1]} env steps but summary.json says "
                         f"{steps}")


def load_run(path: Path) -> Run:
    """Read one run directory, or raise SkippedRun saying why it cannot be used."""
    cfg = read_config(path)
    constraints = read_constraints(cfg.task)
    progress = read_progress(path, constraints)
    check_rows(path)
    check_against_summary(progress, check_complete(path))
    return Run(path=path, task=str(cfg.task.name), algo=algo_label(cfg.algo), seed=int(cfg.seed),
               constraints=constraints, progress=progress)


def load_runs(roots: list[Path]) -> LoadedRuns:
    """Every run below ``roots``: complete ones loaded (the arms of a sweep apart), the others listed with their reason."""
    loaded = LoadedRuns()
    for path in find_run_dirs(roots):
        try:
            loaded.runs.append(load_run(path))
        except SkippedRun as reason:
            loaded.skipped.append((path, str(reason)))
    labels = arm_labels([(run.path, run.task, run.algo) for run in loaded.runs])
    copies: dict[tuple, list[Run]] = {}  # one seed is one sample, however many directories hold it
    for run in loaded.runs:
        run = dataclasses.replace(run, algo=labels[run.path])
        copies.setdefault((run.task, run.algo, run.seed, tuple(c.limit for c in run.constraints)), []).append(run)
    loaded.runs = []
    for runs in copies.values():
        # the copy that went furthest (an experiment extended to a larger budget), the first found among equals
        kept = max(runs, key=lambda run: int(run.progress["env_steps"].iloc[-1]))
        loaded.runs.append(kept)
        loaded.skipped += [(run.path, f"{run.task}/{run.algo}/seed{run.seed} again (read from {kept.path}, which "
                                      f"went as far or further); counted once") for run in runs if run is not kept]
    return loaded


# overrides that never name an arm: the run's identity (task, algorithm, seed, and the experiment, budget or
# variant that chose them) and what a resume may change (safebench.run_directory.RESUMABLE_KEYS)
IDENTITY_GROUPS = ("task", "algo", "algo_variant", "seed", "experiment", "budget")


def arm_labels(runs: list[tuple[Path, str, str]]) -> dict[Path, str]:
    """Each run's label: its algorithm label, plus the command-line settings in which it differs from the other
    runs of that algorithm on that task (``cpo(max_kl=0.02)``, ``cpo(task.cost_limit=5)``), read from each job's
    ``.hydra/overrides.yaml``, so the arms of any sweep stay apart. A setting that some runs lack differs too."""
    groups: dict[tuple[str, str], list[Path]] = {}
    for path, task, label in runs:
        groups.setdefault((task, label), []).append(path)
    labels = {}
    for (_, label), paths in groups.items():
        settings = {path: arm_settings(path, label) for path in sorted(paths)}
        keys = sorted({key for values in settings.values() for key in values})
        spelling: dict[tuple[str, object], str] = {}  # one text per value: 0.01 and 1e-2 are one arm
        for values in settings.values():
            for key, text in values.items():
                spelling.setdefault((key, _typed_value(key, text)), text)
        differing = [key for key in keys
                     if len({_typed_value(key, settings[path].get(key)) for path in paths}) > 1]
        for path in paths:
            shown = [f"{key.removeprefix('algo.')}={spelling[key, _typed_value(key, settings[path][key])]}"
                     for key in differing if key in settings[path]]
            labels[path] = _with_settings(label, shown)
    return labels


def _typed_value(key: str, text: str | None) -> object:
    """An override's value as Hydra reads it (1e-2 -> 0.01), hashable, so that spellings of one value compare equal."""
    if text is None or text.startswith("<deleted"):
        return text
    try:
        value = _OVERRIDE_PARSER.parse_override(f"{key}={text}").value()
    except Exception:  # noqa: BLE001 - an override Hydra cannot parse compares as typed
        return text
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    try:
        hash(value)
    except TypeError:
        return text
    return (isinstance(value, bool), value)  # 1 and 1.0 are one value; true and 1 are not


def arm_settings(path: Path, label: str) -> dict[str, str]:
    """The job's overrides that could make an arm, key -> value as typed (none without an overrides.yaml)."""
    try:
        overrides = [str(o) for o in OmegaConf.load(path / OVERRIDES_FILE)]
    except (OSError, ValueError, TypeError, yaml.YAMLError, OmegaConfBaseException):
        return {}
    named = _named_settings(label)
    settings = {}
    for override in overrides:
        key, _, value = override.lstrip("+~").partition("=")
        if key in IDENTITY_GROUPS or is_resumable_key(key.replace("/", ".")) or key.removeprefix("algo.") in named:
            continue
        settings[key] = f"<deleted {value}>".replace(" >", ">") if override.startswith("~") else value
    return settings


def _named_settings(label: str) -> set[str]:
    """The settings an algorithm label names already: fixed_penalty(beta=5) -> {beta}, cpo(cost_shaping) -> {...}."""
    inside = label[label.index("(") + 1:-1] if label.endswith(")") and "(" in label else ""
    return {part.strip().partition("=")[0] for part in inside.split(",") if part.strip()}


def _with_settings(label: str, settings: list[str]) -> str:
    """cpo + [max_kl=0.02] -> cpo(max_kl=0.02); fixed_penalty(beta=5) + [...] -> fixed_penalty(beta=5, ...)."""
    if not settings:
        return label
    if label.endswith(")"):
        return f"{label[:-1]}, {', '.join(settings)})"
    return f"{label}({', '.join(settings)})"
