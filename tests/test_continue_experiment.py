"""scripts/continue_experiment.sh refuses, before it makes a worktree or starts a run, what it cannot continue."""

import json
import subprocess

from helpers import REPO

SCRIPT = REPO / "scripts" / "continue_experiment.sh"


def continue_experiment(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def head() -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()


def test_an_unknown_commit_or_a_folder_without_runs_is_refused(tmp_path):
    result = continue_experiment("not-a-commit", "paper_fig1_point", str(tmp_path))
    assert result.returncode == 2 and "is not a commit of this repository" in result.stderr
    result = continue_experiment(head(), "paper_fig1_point", str(tmp_path))
    assert result.returncode == 2 and "runs does not exist; start the experiment with --new" in result.stderr


def test_new_refuses_a_folder_that_holds_an_experiment_or_lies_outside_the_checkout(tmp_path):
    (tmp_path / "runs").mkdir()
    result = continue_experiment("--new", head(), "paper_fig1_point", str(tmp_path))
    assert result.returncode == 2 and "must lie inside this checkout" in result.stderr
    (tmp_path / "runs" / "plan.json").write_text("{}")
    result = continue_experiment("--new", head(), "paper_fig1_point", str(tmp_path))
    assert result.returncode == 2 and "already holds an experiment; continue it without --new" in result.stderr


def test_a_commit_none_of_the_runs_was_made_or_resumed_at_is_refused(tmp_path):
    """The runs' manifests name their commits (a -dirty suffix is uncommitted run state beside them)."""
    run = tmp_path / "runs" / "point_circle" / "cpo" / "seed0"
    run.mkdir(parents=True)
    other = "0123456" + "0" * 33
    (run / "manifest.json").write_text(json.dumps({"git_commit": f"{other}-dirty", "resumes": [{"git_commit": other}]}))
    result = continue_experiment(head(), "paper_fig1_point", str(tmp_path))
    assert result.returncode == 2
    assert f"no run of {tmp_path}/runs was made or resumed at {head()[:7]}; its runs were at 0123456" in result.stderr
    assert not any(p.name.startswith("safebench-") for p in REPO.parent.iterdir() if p.name.endswith(head()[:7]))
