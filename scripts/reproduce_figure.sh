#!/usr/bin/env bash
# Regenerate a committed figure: the sweep (its runs kept under OUT_DIR/runs), the report, provenance.
#
#   scripts/reproduce_figure.sh EXPERIMENT OUT_DIR [--resume] [extra Hydra overrides...]
#   e.g. scripts/reproduce_figure.sh paper_fig1_point results/paper_fig1_point
#        scripts/reproduce_figure.sh paper_fig1_point results/paper_fig1_point --resume   (after an interruption)
#        scripts/reproduce_figure.sh paper_fig1_point /tmp/fig1_smoke +budget=smoke      (minutes)
#        scripts/reproduce_figure.sh paper_fig1_ant results/paper_fig1_ant_circle --resume +task=ant_circle \
#            train.total_steps=35000000       (every run, finished or not, continued to 350 updates)
#
# The experiment's state lives in OUT_DIR/runs: plan.json (every run the sweep makes), and per run its
# resolved config, progress.csv and checkpoint. Commit it as it grows: on any machine, --resume skips
# the finished runs, continues the unfinished ones from their checkpoints and starts the rest;
# `python -m safebench.status OUT_DIR/runs` says how far it is. Jobs run one per core
# (hydra/launcher=joblib). When every run is complete: `python -m safebench.report` into OUT_DIR and
# OUT_DIR/provenance.json (command, commits, seeds, budgets, machine, wall time), paths relative to
# the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  echo "usage: scripts/reproduce_figure.sh EXPERIMENT OUT_DIR [--resume] [overrides...]" >&2
  exit 2
fi
experiment=$1; out=${2%/}; shift 2
resume=false
if [ "${1:-}" = "--resume" ]; then resume=true; shift; fi
python=${PYTHON:-.venv/bin/python}
runs=$out/runs
if [ -e "$runs/plan.json" ] && [ "$resume" = false ]; then
  echo "reproduce_figure: $runs already holds an experiment; add --resume to continue it, or remove it to start over" >&2
  exit 2
fi
overrides=("+experiment=$experiment" "$@")
# the sweep writes runs/plan.json itself, under its lock, before its first job (again on --resume: a larger
# train.total_steps there extends every run, and the plan's totals follow)
command=("$python" -m safebench -m "${overrides[@]}" hydra/launcher=joblib "hydra.sweep.dir=$runs" "resume=$resume")
# a sweep already running here shares the cores with this one: on a 2-core host two experiments side by side
# made 20% fewer env steps per second in all than one at a time (results/REPRODUCTION.md); say so, go on
others=$(pgrep -f -- "-m safebench -m " || true)
if [ -n "$others" ]; then
  echo "reproduce_figure: another sweep is running on this machine (pid $(echo $others | tr ' ' ',')); both share" \
       "its cores, which is slower in all than one experiment after the other" >&2
fi
start=$(date -u +%FT%TZ); t0=$(date +%s)
"${command[@]}"
t1=$(date +%s)
cores=$("$python" -c 'from safebench.parallelism import usable_cores; print(usable_cores())')
"$python" -m safebench.status "$runs" --parallel "$cores"   # the joblib launcher runs one job per core
"$python" - "$runs" <<'PY' || { echo "reproduce_figure: not every run is complete yet; rerun with --resume" >&2; exit 1; }
import sys
from pathlib import Path
from safebench.status import collect
runs = [r for r in collect(Path(sys.argv[1])) if r.planned]  # a stray copy of a job does not block the report
sys.exit(0 if runs and all(r.complete for r in runs) else 1)
PY
"$python" -m safebench.report "$runs" --out "$out"
gzip -f "$out/curves.csv"
"$python" - "$experiment" "$out" "$runs" "$start" "$((t1 - t0))" "$@" <<'PY'
import json, os, platform, sys
from pathlib import Path
from omegaconf import OmegaConf
experiment, out, runs, start, wall, *extra = sys.argv[1:]
configs = [OmegaConf.to_container(OmegaConf.load(p), resolve=True)  # resolved: budgets as numbers
           for p in Path(runs).glob("**/.hydra/config.yaml")]
manifests = [json.loads(p.read_text()) for p in Path(runs).glob("**/manifest.json")]
seconds = 0.0
for path in Path(runs).glob("**/progress.csv"):
    header, *rows = path.read_text().strip().splitlines()
    if rows and "time_s" in header.split(","):
        seconds += float(rows[-1].split(",")[header.split(",").index("time_s")])
tail = "".join(f" {o}" for o in extra)
provenance = {  # every path relative to the repository root
    "reproduce": f"scripts/reproduce_figure.sh {experiment} {out}{tail}",
    "resume": f"scripts/reproduce_figure.sh {experiment} {out} --resume{tail}",
    "status_command": f"python -m safebench.status {runs}",
    "report_command": f"python -m safebench.report {runs} --out {out}",
    "runs_dir": runs,
    # a run resumed at a later commit (one computing the same numbers) lists it under "resumes"
    "commits": sorted({c for m in manifests for c in [m.get("git_commit")] + [r.get("git_commit") for r in m.get("resumes", [])]} - {None}),
    "runs": len(configs),
    "tasks": sorted({c["task"]["name"] for c in configs}),
    "algorithms": sorted({c["algo"]["name"] for c in configs}),
    "seeds": sorted({c["seed"] for c in configs}),
    "budget": sorted({(c["task"]["name"], c["train"]["batch_size"], c["train"]["total_steps"]) for c in configs}),
    "training_time_s_all_runs": round(seconds),
    "last_session": {"start_utc": start, "wall_time_s": int(wall)},
    "machines": sorted({str(m.get("cpu")) for m in manifests}),
    "reported_with": {"cores": os.cpu_count(), "python": platform.python_version()},
}
Path(out, "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
print(f"wrote {out}/provenance.json")
PY
