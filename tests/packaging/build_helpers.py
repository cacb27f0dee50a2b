"""Where the build tests find the agent Pythons (a module, so tests can import it).

Agents bundle Python 3.7 (7.2-era) to 3.11 (7.7); customers may point an
agent at any Python 3.7-3.13.  The archive is run on every one of them that
pyenv holds (``$PYENV_ROOT/versions/3.N.*``).  Under ``CI=true`` a missing one
is a test failure; on a developer's machine it is skipped with its reason.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Optional

import pytest

AGENT_MINORS = tuple(range(7, 14))  # Python 3.7 ... 3.13
PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / (
    "versions"
)
_RELEASE = re.compile(r"^3\.(\d+)\.(\d+)$")


def find_python(minor: int) -> Optional[Path]:
    """The newest pyenv CPython 3.<minor>.x interpreter, or None."""
    found = []
    for folder in PYENV_VERSIONS.glob("3.{}.*".format(minor)):
        match = _RELEASE.match(folder.name)
        python = folder / "bin" / "python3.{}".format(minor)
        if match and python.exists():
            found.append((int(match.group(2)), python))
    return max(found)[1] if found else None


def require_python(minor: int) -> str:
    """Path of Python 3.<minor>; fails under CI=true, else skips, when absent."""
    python = find_python(minor)
    if python is not None:
        return str(python)
    reason = "no Python 3.{} under {}".format(minor, PYENV_VERSIONS)
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + " (CI=true: every agent Python 3.7-3.13 is required)")
    pytest.skip(reason)


def every_agent_python():
    """Parameters 3.7 ... 3.13 (resolve each with :func:`require_python`)."""
    return [pytest.param(minor, id="py3{}".format(minor)) for minor in AGENT_MINORS]


def agent_pythons():
    """The oldest and newest agent Python plus the dev one, for the deep tests."""
    params = []
    for minor in (AGENT_MINORS[0], AGENT_MINORS[-1]):
        python = find_python(minor)
        marks = (
            () if python else (pytest.mark.skip(reason="no Python 3.{}".format(minor)),)
        )
        params.append(pytest.param(str(python), id="py3{}".format(minor), marks=marks))
    params.append(pytest.param(sys.executable, id="venv"))
    return params
