"""Pytest fixtures shared by the suite (helpers live in tests/helpers.py)."""

from pathlib import Path

import pytest

from helpers import REPO


@pytest.fixture
def repo() -> Path:
    return REPO
