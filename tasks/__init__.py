"""Constrained MuJoCo tasks: ``tasks.make(name, **overrides)``, ``tasks.names()``.

Every module in this package that calls ``register`` is imported here, so adding a task is one
new file (plus its ``conf/task/<name>.yaml``); nothing else is edited.
"""

from __future__ import annotations

import importlib
import pkgutil

from tasks.gl_backend import choose_gl_backend

choose_gl_backend()

from tasks.registry import TaskSpec, make, names, register, spec  # noqa: E402

_INFRASTRUCTURE = {"gl_backend", "registry", "mujoco_task"}
for _module in pkgutil.iter_modules(__path__):
    if _module.name not in _INFRASTRUCTURE and not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["TaskSpec", "make", "names", "register", "spec"]
