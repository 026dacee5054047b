"""``python -m safebench ARGS`` (or another module of the package) in a fresh process that starts with safebench's
heavy modules already imported.

A test's command runs in a child forked from a multiprocessing fork server that imported torch (with
``torch._dynamo``, which the first optimizer call imports), scipy.signal, mujoco, the tasks and the algorithms once:
about 5 s of imports that every ``python -m safebench`` subprocess of the suite paid again. The child is still its own
process (own working directory, environment, file descriptors, exit status, atexit handlers), so a run behaves as
from a shell. ``helpers.run_cli`` uses it unless the test sets environment variables that take effect at import
(MUJOCO_GL) or the sweep has a launcher of its own (joblib's workers hang in a forked child): those start a real
interpreter. ``helpers.run_module`` runs the other modules (report, bench) the same way.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import runpy
import sys
import threading
import traceback
import warnings


# what a training run imports, by the fork server before it forks any child (an ImportError is skipped there, any
# other error ends it); ``tasks`` (and mujoco with it) only when MUJOCO_GL is unset: a value that cannot load is the
# CLI's to handle (safebench.gl_setup), in the child
PRELOAD = ["torch._dynamo", "scipy.signal", "safebench.cli", "algorithms.core.trust_region", "algorithms.core.first_order",
           "algorithms.cpo", "safebench.report.build", "safebench.report.figures"]
PRELOAD_WITH_GL = ["tasks", "safebench.trainer"]


def preload() -> list[str]:
    """The modules the fork server imports, given this process's environment."""
    return PRELOAD + ([] if os.environ.get("MUJOCO_GL") else PRELOAD_WITH_GL)


def run_module(module: str, args: list[str], cwd: str, env: dict[str, str], stdout_path: str, stderr_path: str
               ) -> None:
    """The child: ``python -m MODULE ARGS`` in ``cwd`` with ``env``, its output in the two files."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    warnings.simplefilter("ignore")  # PYTHONWARNINGS=ignore, as run_cli's subprocesses get it
    for fd, path in ((1, stdout_path), (2, stderr_path)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    sys.argv = [module, *args]
    code = 0
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exit_:
        code = exit_.code or 0
        if not isinstance(code, int):  # sys.exit("message"): printed, status 1
            print(code, file=sys.stderr)
            code = 1
    except BaseException:  # noqa: BLE001  (what the interpreter would print and exit with)
        traceback.print_exc()
        code = 1
    # multiprocessing ends its children with os._exit: first what an interpreter does at exit
    threading._shutdown()  # wait for non-daemon threads
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    ctypes.CDLL(None).fflush(None)  # C-level buffers (MuJoCo, torch)
    os._exit(code)
