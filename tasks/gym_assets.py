"""Gymnasium's bundled MuJoCo robot models, read as text so that tasks can add world geoms to them."""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
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


def set_attributes(xml: str, path: str, attributes: dict[str, str]) -> str:
    """Set attributes on the element at ``path`` (e.g. ``option``, ``default/geom``), creating it if
    absent: how a task brings a gymnasium model back to the released model's physics settings."""
    if not attributes:
        return xml
    root = ET.fromstring(xml)
    element = root
    for tag in path.split("/"):
        child = element.find(tag)
        element = child if child is not None else ET.SubElement(element, tag)
    for key, value in attributes.items():
        element.set(key, value)
    return ET.tostring(root, encoding="unicode")


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
