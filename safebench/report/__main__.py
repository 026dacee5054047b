"""``python -m safebench.report DIR... [--out DIR]``: tables and figures from every run below DIR."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from safebench.report.run_loading import LoadedRuns
from safebench.run_files import nearest_existing


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The folders to read and where to write; the statistics' knobs default to SPEC section 5."""
    parser = argparse.ArgumentParser(
        prog="python -m safebench.report",
        description="Compare runs: curves.csv, summary.{csv,md,tex}, learning_curves.{png,pdf} and "
                    "final_scatter.{png,pdf} from every run directory below DIR (incomplete runs are skipped).")
    parser.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="folders holding run directories")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: the first DIR/report)")
    parser.add_argument("--confidence", type=float, default=0.95, help="bootstrap CI level (default 0.95)")
    parser.add_argument("--n-resamples", type=int, default=10_000, help="bootstrap resamples (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every bootstrap (default 0)")
    parser.add_argument("--curves", choices=("train", "eval"), default="train",
                        help="learning curves of the training batches (default) or of the deterministic evaluation")
    args = parser.parse_args(argv)
    if not 0 < args.confidence < 1:  # also NaN
        parser.error(f"--confidence is a level between 0 and 1 (e.g. 0.95), got {args.confidence}")
    if args.n_resamples < 1:
        parser.error(f"--n-resamples must be at least 1 (the default is 10000), got {args.n_resamples}")
    if args.seed < 0:
        parser.error(f"--seed must be >= 0, got {args.seed}")
    return args


def warn_skipped(loaded: LoadedRuns) -> None:
    """One warning on stderr listing each skipped run directory and why (a repeated seed among them)."""
    if loaded.skipped:
        lines = [f"  {path}: {reason}" for path, reason in loaded.skipped]
        print(f"safebench.report: warning: skipped {len(lines)} run(s) (incomplete, torn or repeated):", *lines, sep="\n",
              file=sys.stderr)


def out_problem(out: Path) -> str | None:
    """Why the report cannot be written to the folder ``out`` (None when it can)."""
    existing = nearest_existing(out)
    if existing == out and not out.is_dir():
        return f"--out {out} is an existing file; --out names a folder to write the report into (choose another)."
    if not existing.is_dir():
        return f"cannot write the report to {out}: {existing} is a file, not a folder (choose another --out)."
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot write the report to {out}: {existing} is not writable (choose another --out)."
    return None


def main(argv: list[str] | None = None) -> int:
    """Exit status 0 with a report, 1 when no run is complete, 2 for a missing folder."""
    args = parse_args(argv)
    missing = [str(d) for d in args.dirs if not d.is_dir()]
    if missing:
        print(f"safebench.report: error: not a directory: {', '.join(missing)}", file=sys.stderr)
        return 2
    from safebench.report.build import NoRunsError, ReportOptions, make_report  # pandas, seaborn: slow imports
    from safebench.report.figures import NoEvaluationError

    out = args.out if args.out is not None else args.dirs[0] / "report"
    problem = out_problem(out)
    if problem:
        print(f"safebench.report: error: {problem}", file=sys.stderr)
        return 2
    options = ReportOptions(confidence=args.confidence, n_resamples=args.n_resamples, seed=args.seed,
                            curves=args.curves)
    try:
        paths, loaded = make_report(list(args.dirs), out, options)
    except NoEvaluationError as error:  # --curves eval over runs without an evaluation
        print(f"safebench.report: error: {error}", file=sys.stderr)
        return 2
    except NoRunsError as error:
        warn_skipped(error.loaded)
        print(f"safebench.report: error: {error}", file=sys.stderr)
        return 1
    warn_skipped(loaded)
    print(f"Report of {len(loaded.runs)} run(s) written to {out}:")
    for name, path in paths.items():
        print(f"  {name:<22} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
