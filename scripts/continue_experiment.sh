#!/usr/bin/env bash
# Continue a committed experiment at the commit its runs were made at, from this checkout (or, with --new,
# start one there).
#
#   scripts/continue_experiment.sh [--new] COMMIT EXPERIMENT OUT_DIR [overrides...]
#   e.g. scripts/continue_experiment.sh 8313dd7 paper_fig1_ant results/paper_fig1_ant_circle_shaped \
#            +task=ant_circle '+algo=cpo,lagrangian' train.total_steps=35000000
#        scripts/continue_experiment.sh --new 8313dd7 paper_fig1_ant results/paper_fig1_ant_gather +task=ant_gather
#
# An experiment's runs must end at the code they started with (results/REPRODUCTION.md), while its state
# (OUT_DIR/runs) is committed here as it grows. This script does the recipe of REPRODUCTION.md: a detached
# worktree of COMMIT beside this checkout (../safebench-COMMIT, made once), OUT_DIR there replaced by a link to
# this checkout's, and `scripts/reproduce_figure.sh EXPERIMENT OUT_DIR --resume [overrides]` run in it with
# this checkout's virtual environment. It refuses a COMMIT that none of the folder's runs was made or resumed
# at (a typo, or code that would not continue them as they went). --new starts the experiment instead, into
# OUT_DIR/runs of this checkout (made if missing; a folder that already holds runs is refused): the same link,
# and reproduce_figure.sh without --resume; the runs then record COMMIT, and later calls continue them.
set -euo pipefail
cd "$(dirname "$0")/.."
new=false
if [ "${1:-}" = "--new" ]; then new=true; shift; fi
if [ $# -lt 3 ]; then
  echo "usage: scripts/continue_experiment.sh [--new] COMMIT EXPERIMENT OUT_DIR [overrides...]" >&2
  exit 2
fi
commit_arg=$1; experiment=$2; out=${3%/}; shift 3
here=$PWD
python=${PYTHON:-$here/.venv/bin/python}
if ! commit=$(git rev-parse --verify --quiet "$commit_arg^{commit}"); then
  echo "continue_experiment: $commit_arg is not a commit of this repository" >&2
  exit 2
fi
inside_checkout() {
  case $out in
    /*|../*) echo "continue_experiment: OUT_DIR must lie inside this checkout, relative to its root (e.g. results/NAME)" >&2
             exit 2 ;;
  esac
}
if [ "$new" = true ]; then
  if [ -e "$out/runs/plan.json" ]; then
    echo "continue_experiment: $out/runs already holds an experiment; continue it without --new" >&2
    exit 2
  fi
  inside_checkout
  mkdir -p "$out/runs"
elif [ ! -d "$out/runs" ]; then
  echo "continue_experiment: $out/runs does not exist; start the experiment with --new" >&2
  exit 2
fi
[ "$new" = true ] || "$python" - "$out/runs" "$commit" <<'PY' || exit 2
import json, sys
from pathlib import Path
runs, commit = Path(sys.argv[1]), sys.argv[2]
seen = set()
for path in runs.glob("**/manifest.json"):
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        continue
    found = [manifest.get("git_commit")] + [r.get("git_commit") for r in manifest.get("resumes", [])]
    seen |= {c.removesuffix("-dirty") for c in found if c}  # -dirty: uncommitted files beside it (run state)
if seen and commit not in seen:
    print(f"continue_experiment: no run of {runs} was made or resumed at {commit[:7]}; its runs were at "
          f"{', '.join(sorted(c[:7] for c in seen))}. Continue at one of those (REPRODUCTION.md says which).",
          file=sys.stderr)
    sys.exit(1)
PY
inside_checkout
tree=$(dirname "$here")/safebench-${commit:0:7}
if [ ! -d "$tree" ]; then
  git worktree add --detach "$tree" "$commit"
fi
if [ ! -L "$tree/$out" ]; then
  mkdir -p "$(dirname "$tree/$out")"
  rm -rf "${tree:?}/$out"   # that commit's copy of the state, replaced by this checkout's
  ln -s "$here/$out" "$tree/$out"
fi
cd "$tree"
resume=(--resume)
[ "$new" = true ] && resume=()
PYTHON=$python PYTHONPATH=$tree exec scripts/reproduce_figure.sh "$experiment" "$out" "${resume[@]}" "$@"
