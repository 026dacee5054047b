"""Errors a user can cause, each shown as one paragraph with a non-zero exit and no traceback."""

from __future__ import annotations

import sys
import textwrap


class SafebenchError(Exception):
    """A problem with the user's input or environment; ``exit_code`` 2 for bad input."""

    exit_code = 2


class ConfigError(SafebenchError):
    """The configuration or command line is invalid."""


class CheckpointError(SafebenchError):
    """A checkpoint is missing, corrupt, or belongs to a different run."""


class ResourceError(SafebenchError):
    """The machine lacks something the run needs (room in shared memory)."""


class NonFiniteError(SafebenchError):
    """Training produced NaN or inf; the last good checkpoint is left intact."""

    exit_code = 3


def exit_with(error: SafebenchError) -> None:
    """Print the error as a wrapped paragraph on stderr and exit with its code."""
    text = textwrap.fill(str(error), width=100, break_long_words=False, break_on_hyphens=False)
    print(f"safebench: error: {text}", file=sys.stderr)
    sys.exit(error.exit_code)
