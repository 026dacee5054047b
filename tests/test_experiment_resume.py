"""A figure's experiment survives interruption: killed mid-way, --resume ends where an uninterrupted one does."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from helpers import REPO

from safebench.run_files import TIME_COLUMNS
from safebench.status import collect, report

TINY = ["+task=point_gather", "+algo=cpo", "seed=0,1", "train.total_steps=20000", "train.batch_size=4000",
        "train.num_envs=4", "train.checkpoint_every=1"]


def reproduce(out, *extra) -> subprocess.Popen:
    env = dict(os.environ, PYTHON=sys.executable, PYTHONWARNINGS="ignore")
    return subprocess.Popen(["bash", "scripts/reproduce_figure.sh", "paper_fig1_point", str(out), *extra], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def curves(out) -> dict[str, pd.DataFrame]:
    return {str(p.relative_to(out)): pd.read_csv(p).drop(columns=list(TIME_COLUMNS), errors="ignore")
            for p in sorted((out / "runs").glob("**/progress.csv"))}


@pytest.mark.slow  # three sweeps and a report: about 1.5 min (python -m pytest -m slow)
def test_interrupted_experiment_resumes_to_the_uninterrupted_result(tmp_path):
    whole = reproduce(tmp_path / "whole", *TINY)
    assert whole.wait(timeout=600) == 0, whole.stdout.read()[-3000:]

    cut = reproduce(tmp_path / "cut", *TINY)
    deadline = time.time() + 300
    while time.time() < deadline:  # kill the whole sweep once some run is half-way
        rows = [len(p.read_text().splitlines()) - 1 for p in (tmp_path / "cut" / "runs").glob("**/progress.csv")]
        if rows and max(rows) >= 2:
            break
        time.sleep(0.2)
    os.killpg(cut.pid, signal.SIGKILL)
    cut.wait(timeout=60)
    halfway = collect(tmp_path / "cut" / "runs")
    assert len(halfway) == 2 and not all(run.complete for run in halfway)
    assert any("runs complete: " in line for line in report(halfway, 1))

    again = reproduce(tmp_path / "cut", "--resume", *TINY)
    output = again.communicate(timeout=600)[0]
    assert again.returncode == 0, output[-3000:]
    assert "runs complete: 2 / 2" in output
    expected, got = curves(tmp_path / "whole"), curves(tmp_path / "cut")
    assert list(got) == list(expected) and len(got) == 2
    for name in expected:
        pd.testing.assert_frame_equal(got[name], expected[name])
    assert (tmp_path / "cut" / "summary.csv").is_file() and (tmp_path / "cut" / "provenance.json").is_file()


def test_a_second_start_into_an_experiment_is_refused(tmp_path):
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "plan.json").write_text('{"runs": []}')
    proc = reproduce(tmp_path, *TINY)
    output = proc.communicate(timeout=120)[0]
    assert proc.returncode == 2 and "--resume" in output
