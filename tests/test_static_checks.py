"""Static checks over the code: names that would fail only when their line runs, found before it does."""

import subprocess
import sys

from helpers import REPO


def test_ruff_rules_find_nothing():
    """ruff's rules of pyproject.toml: pyflakes (undefined names, unused imports and variables) in every package,
    test and script; type hints on every argument and public result in the packages."""
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", "safebench",
                             "algorithms", "tasks", "tests", "scripts"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
