"""MuJoCo reads MUJOCO_GL when it is imported: a value that cannot load must not stop training, which renders
nothing, and must give rendering one paragraph of advice instead of an OpenGL traceback."""

from __future__ import annotations

import os
import sys

from safebench.errors import ConfigError

GL_MODULES = ("mujoco", "OpenGL", "tasks")


def _forget_failed_import() -> None:
    for name in [m for m in sys.modules if m.split(".")[0] in GL_MODULES]:
        del sys.modules[name]


def _first_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {(str(error).strip().splitlines() or [''])[0]}"


def import_tasks_for_training() -> None:
    """Import the tasks (and mujoco); when MUJOCO_GL names a backend that cannot load, warn and train with
    rendering off."""
    try:
        import tasks  # noqa: F401
        return
    except Exception as error:
        value = os.environ.get("MUJOCO_GL")
        if not value:
            raise
        _forget_failed_import()
        os.environ["MUJOCO_GL"] = "disable"  # inherited by the environment worker processes too
        os.environ.pop("PYOPENGL_PLATFORM", None)
        try:
            import tasks  # noqa: F401, F811
        except Exception:
            raise error from None  # not the backend's fault: the original error stands
        print(f"safebench: warning: MUJOCO_GL={value} cannot be used here ({_first_line(error)}). Training "
              f"renders nothing, so it goes on with MUJOCO_GL=disable. To render videos, set MUJOCO_GL to a "
              f"backend whose library is installed (egl, osmesa) or unset it.", file=sys.stderr)


def import_tasks_for_rendering() -> None:
    """Import the tasks (and mujoco); a GL backend that cannot load is a ConfigError naming MUJOCO_GL."""
    try:
        import tasks  # noqa: F401
    except Exception as error:
        value = os.environ.get("MUJOCO_GL", "")
        raise ConfigError(f"Cannot render: MuJoCo could not load the OpenGL backend MUJOCO_GL={value!r} "
                          f"({_first_line(error)}). Set MUJOCO_GL=egl or MUJOCO_GL=osmesa with its library "
                          f"installed (e.g. `apt-get install -y libosmesa6`), or unset MUJOCO_GL to let "
                          f"safebench choose.") from None
