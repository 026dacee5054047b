"""Gymnasium's bundled MuJoCo robot models, read as text so that tasks can add world geoms to them."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import gymnasium.envs.mujoco
import mujoco

ASSET_DIR = Path(gymnasium.envs.mujoco.__file__).parent / "assets"


@cache
def asset_xml(file_name: str) -> str:
    """The text of one of gymnasium's model files (``ant.xml``, ``humanoid.xml``, ...)."""
    return (ASSET_DIR / file_name).read_text()


def add_to_worldbody(xml: str, extra_world: str) -> str:
    """Insert geoms or bodies at the end of the model's worldbody (one model, no temp files)."""
    if not extra_world:
        return xml
    head, marker, tail = xml.rpartition("</worldbody>")
    if not marker:
        raise ValueError("model XML has no </worldbody>")
    return f"{head}{extra_world}\n  {marker}{tail}"


DEPRECATED_BUT_HARMLESS = ("compiler attribute 'settotalmass' is deprecated",)  # half_cheetah.xml


@contextmanager
def harmless_notices_dropped() -> Iterator[None]:
    """Drop MuJoCo's deprecation notice about gymnasium's own assets (else it is printed and appended
    to a MUJOCO_LOG.TXT in the working directory on every compile); other warnings stay warnings."""
    previous = mujoco.get_mju_user_warning()
    notices: list[str] = []
    mujoco.set_mju_user_warning(notices.append)
    try:
        yield
    finally:
        mujoco.set_mju_user_warning(previous)
        for notice in notices:
            if not notice.startswith(DEPRECATED_BUT_HARMLESS):
                warnings.warn(f"MuJoCo: {notice}", stacklevel=3)


def compile_model(xml: str) -> mujoco.MjModel:
    """Compile a model from its text, quietly where the notice is harmless."""
    with harmless_notices_dropped():
        return mujoco.MjModel.from_xml_string(xml)
