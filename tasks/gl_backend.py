"""Pick a headless OpenGL backend for MuJoCo rendering before anything imports OpenGL."""

from __future__ import annotations

import ctypes.util
import os

INSTALL_HINT = (
    "No OpenGL backend for headless rendering was found. Install one, e.g. "
    "`apt-get install -y libosmesa6` (software, always works) or `libegl1` with a Mesa/NVIDIA driver, "
    "or set MUJOCO_GL yourself."
)


def choose_gl_backend() -> str | None:
    """Set MUJOCO_GL / PYOPENGL_PLATFORM to egl or osmesa unless the user chose; return the choice."""
    if os.environ.get("MUJOCO_GL"):
        return os.environ["MUJOCO_GL"]
    if os.environ.get("DISPLAY"):
        return None  # an X server: let MuJoCo use GLFW
    for backend, library in (("egl", "EGL"), ("osmesa", "OSMesa")):
        if ctypes.util.find_library(library):
            os.environ["MUJOCO_GL"] = backend
            os.environ.setdefault("PYOPENGL_PLATFORM", backend)
            return backend
    return None
