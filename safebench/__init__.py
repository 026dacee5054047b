"""safebench: a benchmark harness for safe (constrained) reinforcement learning.

The harness (this package) reads a Hydra config, builds a task from ``tasks`` and an algorithm from
``algorithms``, samples batches, trains, and writes a run directory; ``safebench.report`` turns
many run directories into tables and figures.
"""

from pathlib import Path

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
