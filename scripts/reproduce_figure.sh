#!/usr/bin/env bash
# Regenerate a committed figure from scratch: the sweep, the report, and a provenance file.
#
#   scripts/reproduce_figure.sh EXPERIMENT OUT_DIR [extra Hydra overrides...]
#   e.g. scripts/reproduce_figure.sh paper_fig1_point results/paper_fig1
#        scripts/reproduce_figure.sh paper_fig1_point /tmp/fig1_smoke +budget=smoke   (minutes)
#
# Runs `python -m safebench -m +experiment=EXPERIMENT hydra/launcher=joblib` (one job per core),
# then `python -m safebench.report` into OUT_DIR, and writes OUT_DIR/provenance.json with the exact
# command, commit, seeds and budget (from the resolved configs), machine, and wall time.
set -euo pipefail
experiment=$1; out=$2; shift 2
python=${PYTHON:-.venv/bin/python}
sweep_dir=results_runs/$experiment/$(date +%Y-%m-%d_%H-%M-%S)
command=("$python" -m safebench -m "+experiment=$experiment" hydra/launcher=joblib "hydra.sweep.dir=$sweep_dir" "$@")
start=$(date -u +%FT%TZ); t0=$(date +%s)
"${command[@]}"
t1=$(date +%s)
"$python" -m safebench.report "$sweep_dir" --out "$out"
gzip -f "$out/curves.csv"
"$python" - "$out" "$sweep_dir" "$start" "$((t1 - t0))" "${command[*]}" <<'PY'
import json, os, platform, subprocess, sys
from pathlib import Path
from omegaconf import OmegaConf
out, sweep_dir, start, wall, command = sys.argv[1:6]
configs = [OmegaConf.to_container(OmegaConf.load(p), resolve=True)  # resolved: budgets as numbers
           for p in Path(sweep_dir).glob("**/.hydra/config.yaml")]
commits = sorted({json.loads(p.read_text()).get("git_commit") for p in Path(sweep_dir).glob("**/manifest.json")})
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
provenance = {
    "command": command,
    "report_command": f"python -m safebench.report {sweep_dir} --out {out}",
    "sweep_dir": sweep_dir,
    "commits": commits,
    "runs": len(configs),
    "tasks": sorted({c["task"]["name"] for c in configs}),
    "algorithms": sorted({c["algo"]["name"] for c in configs}),
    "seeds": sorted({c["seed"] for c in configs}),
    "budget": sorted({(c["task"]["name"], c["train"]["batch_size"], c["train"]["total_steps"]) for c in configs}),
    "start_utc": start,
    "sweep_wall_time_s": int(wall),
    "machine": {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version()},
}
Path(out, "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
print(f"wrote {out}/provenance.json")
PY
