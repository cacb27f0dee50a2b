"""Shared constants of the build tests (a module, so tests can import it)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

PY37 = Path("/root/.pyenv/versions/3.7.16/bin/python3.7")
PY313 = Path("/root/.pyenv/versions/3.13.0/bin/python3.13")


def agent_pythons():
    """The agent Pythons we can test on here: 3.7, 3.13 and the dev Python."""
    params = []
    for label, path in (("py37", PY37), ("py313", PY313)):
        marks = (
            ()
            if path.exists()
            else (pytest.mark.skip(reason="{} missing".format(path)),)
        )
        params.append(pytest.param(str(path), id=label, marks=marks))
    params.append(pytest.param(sys.executable, id="venv"))
    return params
