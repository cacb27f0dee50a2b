"""Fixtures for the build tests: the package is built once per session."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
for _path in (SCRIPTS, REPO / "tests" / "support"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import build_package  # noqa: E402


@pytest.fixture(scope="session")
def built_package(tmp_path_factory) -> Path:
    """dist/unv_tmplt_twilio-<version>.zip, built by scripts/build_package.py."""
    return build_package.build(
        tmp_path_factory.mktemp("dist"), build_package.DEFAULT_WHEELS
    )


@pytest.fixture(scope="session")
def extension_archive(built_package, tmp_path_factory) -> Path:
    """The inner extension_archive.zip, taken out of the package but not extracted."""
    target = tmp_path_factory.mktemp("archive") / "extension_archive.zip"
    with zipfile.ZipFile(built_package) as package:
        target.write_bytes(package.read("extension_archive.zip"))
    return target


@pytest.fixture(scope="session")
def extracted_archive(extension_archive, tmp_path_factory) -> Path:
    """The extension archive extracted to a folder, as an agent may run it."""
    target = tmp_path_factory.mktemp("extracted") / "ue-twilio"
    with zipfile.ZipFile(extension_archive) as archive:
        archive.extractall(target)
    return target
