#!/usr/bin/env bash
# Compare safebench's end-to-end training throughput on ant_velocity with OmniSafe 0.5's CPO on
# SafetyAntVelocity-v1, on this machine, one right after the other. Prints three JSON lines:
#   {"figure": "omnisafe_end_to_end_steps_per_s", ...}   OmniSafe CPO, 1 env, torch threads = cores
#   {"figure": "end_to_end_steps_per_s", ...}            python -m safebench.bench +task=ant_velocity
#   {"figure": "safebench_over_omnisafe", "value": ...}  the ratio of the two
#
# OmniSafe is installed into a throwaway virtualenv (under ${TMPDIR:-/tmp}, removed at exit), never
# into safebench's environment. Run from anywhere; safebench's bench runs with $SAFEBENCH_PYTHON.
#
#   scripts/compare_omnisafe.sh                      # 2 epochs of 20,000 steps each side
#   EPOCHS=1 STEPS_PER_EPOCH=2000 BENCH_ARGS=bench.raw_seconds=1 scripts/compare_omnisafe.sh  # smallest check
#
# Settings (environment variables):
#   EPOCHS, STEPS_PER_EPOCH   OmniSafe's budget (default 2 x 20,000: both libraries' batch for this
#                             task); safebench's bench times the same number of updates of the same
#                             batch (bench.updates=EPOCHS train.batch_size=STEPS_PER_EPOCH)
#   NUM_ENVS                  safebench's environments (default: its 16, fewer for a batch too small
#                             to give each a whole 1,000-step episode); OmniSafe steps 1 env
#   THREADS                   torch threads for OmniSafe and bench cores for safebench (default: nproc)
#   SAFEBENCH_PYTHON          the Python that has safebench installed (default: .venv/bin/python if
#                             present, else python3)
#   OMNISAFE_PYTHON           a Python 3.11 to build the throwaway virtualenv from (default: python3.11)
#   BENCH_ARGS                extra overrides for safebench.bench (e.g. "bench.raw_seconds=5")
#   VENV                      reuse this virtualenv (created and filled if missing; then kept)
#   KEEP_VENV=1               keep the throwaway virtualenv (its path is printed on stderr)
# Both figures depend on the machine and its load: compare them only within one run of this script,
# on an otherwise idle machine.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EPOCHS=${EPOCHS:-2}
STEPS_PER_EPOCH=${STEPS_PER_EPOCH:-20000}
THREADS=${THREADS:-$(nproc)}
EPISODES=$(( STEPS_PER_EPOCH / 1000 ))  # whole 1,000-step episodes per batch
NUM_ENVS=${NUM_ENVS:-$(( EPISODES < 1 ? 1 : (EPISODES > 16 ? 16 : EPISODES) ))}
OMNISAFE_PYTHON=${OMNISAFE_PYTHON:-python3.11}
if [[ -z "${SAFEBENCH_PYTHON:-}" ]]; then
  SAFEBENCH_PYTHON=python3
  if [[ -x "$REPO/.venv/bin/python" ]]; then SAFEBENCH_PYTHON="$REPO/.venv/bin/python"; fi
fi
BENCH_ARGS=${BENCH_ARGS:-}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/compare-omnisafe.XXXXXX")
if [[ -n "${VENV:-}" ]]; then
  KEEP_VENV=1
else
  VENV="$WORK/venv"
fi
cleanup() {
  if [[ "${KEEP_VENV:-0}" == 1 ]]; then
    echo "compare_omnisafe: kept $WORK (logs) and the virtualenv $VENV" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# --- OmniSafe 0.5.0 in a throwaway virtualenv -------------------------------------------------------
# safebench's own packages (tasks, algorithms) must not shadow anything in OmniSafe's environment
VENV_PYTHON=(env -u PYTHONPATH "$VENV/bin/python")
if ! "${VENV_PYTHON[@]}" -c "import omnisafe, safety_gymnasium" >/dev/null 2>&1; then
  echo "compare_omnisafe: installing OmniSafe 0.5.0 into $VENV (log: $WORK/install.log)" >&2
  "$OMNISAFE_PYTHON" -m venv "$VENV"
  PIP=("${VENV_PYTHON[@]}" -m pip install --quiet --disable-pip-version-check)
  # The pins that everything else is installed next to (repeated in each call so pip keeps them):
  # torch 2.13.0 (the CPU wheel where one is on disk; a plain "torch" could pull a multi-GB CUDA build),
  # and the versions safety-gymnasium 1.0.0 requires.
  PINS=(torch==2.13.0 numpy==1.26.4 gymnasium==0.28.1 mujoco==2.3.3)
  {
    "${PIP[@]}" "${PINS[@]}"
    # Without their dependencies: they would pull the unpinned torch, pygame 2.1.0 (no wheel for
    # Python 3.11) and linters.
    "${PIP[@]}" --no-deps omnisafe==0.5.0 safety-gymnasium==1.0.0 gymnasium-robotics==1.2.2
    # What the two import at module level (found by importing until nothing was missing):
    # omnisafe: pyyaml rich moviepy (gymnasium.utils.save_video) matplotlib wandb tensorboard gdown
    # pandas seaborn; safety-gymnasium: xmltodict imageio, and gymnasium-robotics (its multi-agent
    # tasks) which needs pettingzoo and jinja2.
    "${PIP[@]}" "${PINS[@]}" pyyaml xmltodict typing-extensions imageio rich moviepy==1.0.3 matplotlib \
      wandb tensorboard gdown pandas==2.0.3 seaborn pettingzoo jinja2
  } >"$WORK/install.log" 2>&1 || { tail -n 30 "$WORK/install.log" >&2; exit 1; }
  # Patch safety-gymnasium 1.0.0 so that it imports on Python 3.11, whose dataclasses reject an
  # unhashable default (ValueError: mutable default <class 'numpy.ndarray'> for field color is not
  # allowed): its geoms declare `color: np.array = COLOR['name']`. The patch turns each into
  # `field(default_factory=lambda: COLOR['name'])`, the same array as before, and adds `field` to the
  # file's dataclasses import where it is missing. Nothing else is changed.
  "${VENV_PYTHON[@]}" - <<'PATCH'
import importlib.util
import pathlib
import re

root = pathlib.Path(importlib.util.find_spec("safety_gymnasium").submodule_search_locations[0])
for path in sorted(root.rglob("*.py")):
    text = path.read_text()
    new = re.sub(r"^(\s+color: np\.array = )(COLOR\['\w+'\])$", r"\1field(default_factory=lambda: \2)", text,
                 flags=re.M)
    if new != text:
        new = re.sub(r"^from dataclasses import dataclass$", "from dataclasses import dataclass, field", new,
                     flags=re.M)
        path.write_text(new)
PATCH
  "${VENV_PYTHON[@]}" -c "import omnisafe, safety_gymnasium" >>"$WORK/install.log" 2>&1 \
    || { tail -n 30 "$WORK/install.log" >&2; echo "compare_omnisafe: OmniSafe does not import" >&2; exit 1; }
fi

# --- OmniSafe's CPO, then safebench's bench, within minutes of each other ---------------------------
echo "compare_omnisafe: OmniSafe CPO on SafetyAntVelocity-v1, $EPOCHS x $STEPS_PER_EPOCH steps, $THREADS threads" >&2
(cd "$WORK" && "${VENV_PYTHON[@]}" "$REPO/scripts/omnisafe_throughput.py" --epochs "$EPOCHS" \
   --steps-per-epoch "$STEPS_PER_EPOCH" --threads "$THREADS" --log-dir "$WORK/omnisafe_runs") \
  >"$WORK/omnisafe.log" 2>&1 || { tail -n 30 "$WORK/omnisafe.log" >&2; exit 1; }
OMNISAFE_LINE=$(grep '^{"figure": "omnisafe_end_to_end_steps_per_s"' "$WORK/omnisafe.log")

echo "compare_omnisafe: safebench bench on ant_velocity, $EPOCHS x $STEPS_PER_EPOCH steps, $NUM_ENVS envs" >&2
# shellcheck disable=SC2086  # BENCH_ARGS is a list of overrides
(cd "$REPO" && "$SAFEBENCH_PYTHON" -m safebench.bench +task=ant_velocity +algo=cpo bench.updates="$EPOCHS" \
   train.batch_size="$STEPS_PER_EPOCH" train.num_envs="$NUM_ENVS" bench.cores="$THREADS" \
   train.torch_threads="$THREADS" $BENCH_ARGS) \
  >"$WORK/bench.log" 2>"$WORK/bench.err" || { tail -n 30 "$WORK/bench.err" >&2; exit 1; }
SAFEBENCH_LINE=$(grep '"figure": "end_to_end_steps_per_s"' "$WORK/bench.log")

echo "$OMNISAFE_LINE"
echo "$SAFEBENCH_LINE"
"$SAFEBENCH_PYTHON" - "$OMNISAFE_LINE" "$SAFEBENCH_LINE" <<'RATIO'
import json
import sys

omnisafe, safebench = (json.loads(line) for line in sys.argv[1:3])
print(json.dumps({"figure": "safebench_over_omnisafe", "value": safebench["value"] / omnisafe["value"],
                  "safebench_steps_per_s": safebench["value"], "omnisafe_steps_per_s": omnisafe["value"],
                  "task": "ant_velocity", "env_id": omnisafe["env_id"], "algo": "CPO"}))
RATIO
