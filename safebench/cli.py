"""Command line: ``python -m safebench +algo=NAME +task=NAME [seed=K] [key=value ...] [-m]``.

The command line is composed and checked with Hydra's compose API *before* Hydra creates a run
directory (``safebench.command_line``), so bad input ends with one clear paragraph, exit status 2, and
nothing on disk. This module holds the run's life: claiming and locking its directory, the run, its
failure record, and the sweep's plan and closing report.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import io
import logging
import os
import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from safebench import CONF_DIR
from safebench.checkpoint import checkpoint_path
from safebench.command_line import CheckedCommandLine, add_group_plus, validate_command_line
from safebench.config_validation import validate_config
from safebench.errors import ConfigError, ResourceError, SafebenchError, exit_with
from safebench.experiment_plan import PLAN_FILE, plan_entries, record_plan
from safebench.gl_setup import import_tasks_for_training
from safebench.interrupts import exit_status, handle_sigterm, signal_name
from safebench.run_directory import check_run_dir, holds_a_run
from safebench.run_end import closing_block, sweep_line
from safebench.run_files import CONFIG_FILE, HYDRA_FOLDER, SUMMARY_FILE
from safebench.run_lock import LOCK_FILE, lock_run_dir, release_run_dir
from safebench.sweep_failures import REFUSED_DIR, clear_failure, failure_report, failures_since, record_failure

INFORMATIONAL_FLAGS = {"--help", "-h", "--hydra-help", "--info", "--cfg", "-c", "--shell-completion", "--version",
                       "-sc", "-i", "--resolve"}
log = logging.getLogger("safebench")


def claim_run_dir(cfg: DictConfig, run_dir: Path) -> None:
    """Lock the run directory and check what it holds before Hydra writes anything into it; a refusal leaves
    the directory as it was."""
    missing = [d for d in [run_dir, *run_dir.parents] if not d.exists()]
    lock_run_dir(run_dir)
    problems = check_run_dir(cfg, run_dir)
    if problems:
        release_run_dir(run_dir)
        if missing:  # it was made for the lock: take it away again
            (run_dir / LOCK_FILE).unlink(missing_ok=True)
            for folder in missing:
                folder.rmdir()
        raise ConfigError(f"Invalid configuration: {'; '.join(problems)}.")


def interrupted_message(interrupt: KeyboardInterrupt, run_dir: Path) -> str:
    """What stopped the run and how to continue it; no resume hint when there is nothing to resume."""
    what = f"interrupted ({signal_name(interrupt)})."
    if checkpoint_path(run_dir).is_file():
        return (f"{what} To continue from the last checkpoint (written every train.checkpoint_every updates), run "
                f"the same command with resume=true hydra.run.dir={run_dir}")
    again = " with overwrite=true" if holds_a_run(run_dir) else ""
    return f"{what} No checkpoint was written yet, so there is nothing to resume: run the same command{again} to " \
           f"start over."


def disk_full(error: BaseException) -> OSError | None:
    """The ENOSPC error behind ``error`` (itself, or what it was raised from), if any."""
    while error is not None:
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            return error
        error = error.__cause__ or error.__context__
    return None


def disk_full_error(error: OSError, run_dir: Path) -> ResourceError:
    """One paragraph for a full disk: which path, and that the run resumes."""
    where = error.filename or run_dir
    resume = (f"free some space and run the same command with resume=true hydra.run.dir={run_dir}: the run "
              f"continues from its last checkpoint") if checkpoint_path(run_dir).is_file() else \
        "free some space and run the same command again with overwrite=true (no checkpoint was written yet)"
    return ResourceError(f"The disk is full: writing {where} failed (No space left on device). The run stopped; "
                         f"its files are intact. To continue, {resume}.")


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def run(cfg: DictConfig) -> dict | None:
    """One job: train the configured (algorithm, task, seed) into Hydra's output directory."""
    from safebench.trainer import train

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    in_sweep = HydraConfig.get().mode == RunMode.MULTIRUN
    # a job refused at the lock records its failure in the sweep's folder, not in the directory another run holds
    record_in = Path(HydraConfig.get().sweep.dir) / REFUSED_DIR / f"job{HydraConfig.get().job.num}" if in_sweep else None
    as_started = copy.deepcopy(cfg)  # what .hydra/config.yaml records (the checks below may adjust cfg)
    try:
        lock_run_dir(run_dir, directory_key="hydra.sweep.dir" if in_sweep else None)
        record_in = None
        clear_failure(run_dir)
        if cfg.resume and in_sweep and not checkpoint_path(run_dir).is_file():
            log.warning("resume=true, but %s has no checkpoint yet: this job of the sweep starts from scratch.",
                        run_dir)
            cfg.resume, cfg.overwrite = False, True
        problems = validate_config(cfg) + check_run_dir(cfg, run_dir)
        if problems:
            raise ConfigError(f"Invalid configuration: {'; '.join(problems)}.")
        save_hydra_files(as_started, run_dir)
        summary = train(cfg, run_dir)
        if not in_sweep:
            print(closing_block(cfg, run_dir, summary), flush=True)
        return summary
    except SafebenchError as error:
        fail(error, run_dir, in_sweep, record_in)
    except KeyboardInterrupt as interrupt:
        log.warning("%s", interrupted_message(interrupt, run_dir))
        if in_sweep:
            interrupt.reported = True
            raise  # stops the whole sweep; resume=true continues each job
        sys.exit(exit_status(interrupt))
    except Exception as exc:
        full = disk_full(exc)
        if full is not None:
            fail(disk_full_error(full, run_dir), run_dir, in_sweep)
            return None
        log.exception("the run failed with an unexpected error (a bug: please report it)")
        if not in_sweep:
            raise
        record_failure(run_dir, f"unexpected error (a bug) {type(exc).__name__}: {exc}", record_in)
    finally:
        release_run_dir(run_dir)
    return None


def save_hydra_files(cfg: DictConfig, run_dir: Path) -> None:
    """Write what Hydra saves in .hydra/ (hydra.output_subdir is null in conf/config.yaml), but only once this job
    holds the directory and may run there: a job refused at the lock or by the resume checks must not replace
    the config and overrides of the run that is there (the resume checks, status and report read them)."""
    hydra_cfg = HydraConfig.instance().cfg
    files = {"config.yaml": OmegaConf.to_yaml(cfg), "overrides.yaml": OmegaConf.to_yaml(hydra_cfg.hydra.overrides.task)}
    folder = run_dir / HYDRA_FOLDER
    if all(_read(folder / name) == text for name, text in files.items()):
        return  # the same command again (a sweep's resume passing over a finished run): the files stay as they are
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (files | {"hydra.yaml": OmegaConf.to_yaml(hydra_cfg)}).items():
        (folder / name).write_text(text, encoding="utf-8")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def fail(error: SafebenchError, run_dir: Path, in_sweep: bool, record_in: Path | None = None) -> None:
    """Report a job's failure: exit for a single run; in a sweep the others go on and the sweep lists it."""
    if record_in is not None:
        move_file_logs(run_dir, record_in)
    log.error("%s", error)
    if not in_sweep:
        exit_with(error)
    record_failure(run_dir, str(error), record_in)


def move_file_logs(run_dir: Path, folder: Path) -> None:
    """Send this job's log files (Hydra opened them in its run directory) to ``folder``: a job refused at the lock of
    a directory another process holds must not write its lines into that run's log."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if (isinstance(handler, logging.FileHandler)
                and os.path.realpath(Path(handler.baseFilename).parent) == os.path.realpath(run_dir)):
            folder.mkdir(parents=True, exist_ok=True)
            moved = logging.FileHandler(folder / Path(handler.baseFilename).name, encoding=handler.encoding)
            moved.setLevel(handler.level)
            moved.setFormatter(handler.formatter)
            root.removeHandler(handler)
            handler.close()
            root.addHandler(moved)


def pin_output(argv: list[str], multirun: bool, output: Path) -> list[str]:
    """Fix the directory that was checked and locked (a ${now:...} in its name, from a config or the command
    line, must not move on before Hydra makes it)."""
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    kept = [a for a in argv if not (a.split("=", 1)[0] == key and "${" in a)]
    if any(a.split("=", 1)[0] == key for a in kept):
        return kept
    return [*kept, f"{key}={output}"]


def write_sweep_plan(sweep_dir: Path, checked: CheckedCommandLine) -> None:
    """Add the sweep's jobs to SWEEP_DIR/plan.json, under the sweep lock the caller holds (released on failure)."""
    try:
        record_plan(sweep_dir / PLAN_FILE, checked.overrides, plan_entries(checked.jobs, checked.configs))
    except OSError as error:
        release_run_dir(sweep_dir)
        raise ResourceError(f"Cannot write the sweep's plan {sweep_dir / PLAN_FILE} ({error.strerror or error}). "
                            f"Nothing was run. Free space or fix the folder's permissions, or choose another "
                            f"hydra.sweep.dir, and run the same command again.") from None


def informational(argv: list[str]) -> bool:
    """True for --help, --cfg, --info and Hydra's other flags that print and exit (in any spelling: -cjob,
    --cfg=job): nothing is checked, locked or written for them."""
    from hydra._internal.utils import get_args_parser

    if INFORMATIONAL_FLAGS.intersection(argv):
        return True
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            args = get_args_parser().parse_args(argv)
    except SystemExit:
        return False  # validate_command_line reports it
    return bool(args.help or args.hydra_help or args.cfg or args.info or args.shell_completion or args.resolve)


def start(argv: list[str]) -> None:
    """Check the command line, claim the run directory, then hand over to Hydra; a failed sweep exits 1."""
    multirun, output = False, None
    if not informational(argv):
        try:
            checked = validate_command_line(argv)
            multirun, output = checked.multirun, checked.output
            if multirun:  # one sweep at a time fills a folder: a second one would resume the jobs the first is running
                lock_run_dir(output, kind="sweep")
                write_sweep_plan(output, checked)
            else:
                claim_run_dir(checked.configs[-1], output)
        except SafebenchError as error:
            exit_with(error)
        argv = pin_output(argv, multirun, output)
    started = time.time()
    sys.argv = [sys.argv[0], *argv]
    try:
        run()
    except KeyboardInterrupt as interrupt:
        if multirun and not getattr(interrupt, "reported", False):  # the launcher's process, its jobs elsewhere
            print(f"safebench: interrupted ({signal_name(interrupt)}): the sweep stopped. Continue it with the same "
                  f"command plus resume=true: each job resumes from its last checkpoint (written every "
                  f"train.checkpoint_every updates), jobs without one start again.", file=sys.stderr)
            interrupt.reported = True
        raise
    finally:
        if multirun and output is not None:
            release_run_dir(output)
    if multirun and output is not None:
        print(sweep_report(output, started), flush=True)
        failures = failures_since(output, started)
        if failures:
            print(failure_report(failures), file=sys.stderr)
            sys.exit(1)


def sweep_report(sweep_dir: Path, started: float) -> str:
    """One line per job this sweep ran (its final figures, or that it failed), then the report command."""
    import json

    from safebench.report.run_loading import find_run_dirs

    lines = [f"Sweep finished: {sweep_dir}"]
    for run_dir in find_run_dirs([sweep_dir]):
        config_file = run_dir / CONFIG_FILE
        if config_file.stat().st_mtime < started:
            continue  # not a job of this invocation
        try:  # a damaged file makes the job's line say so, not the whole sweep end in a traceback
            summary_file = run_dir / SUMMARY_FILE
            summary = json.loads(summary_file.read_text()) if summary_file.is_file() else None
            lines.append(sweep_line(run_dir, summary if isinstance(summary, dict) else None,
                                    OmegaConf.load(config_file)))
        except Exception as exc:
            lines.append(f"  {run_dir}: its summary.json or .hydra/config.yaml cannot be read ({type(exc).__name__})")
    lines.append(f"Next: python -m safebench.report {sweep_dir}   # tables and learning curves over every job")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m safebench`` and the ``safebench`` console script."""
    handle_sigterm()
    try:
        import_tasks_for_training()
        start(add_group_plus(list(sys.argv[1:] if argv is None else argv)))
    except KeyboardInterrupt as interrupt:
        if not getattr(interrupt, "reported", False):
            print(f"safebench: interrupted ({signal_name(interrupt)}) before training started; there is "
                  f"nothing to resume.", file=sys.stderr)
        sys.exit(exit_status(interrupt))
