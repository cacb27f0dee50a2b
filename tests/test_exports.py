"""The front ends use the core only through ``ue_twilio``'s exported names.

(a) Like httpx's tests/test_exported_members.py: every name in ``__all__``
exists, and every public name of the package is in ``__all__``. (b) An ast
check: ``src/extension.py`` and ``src/ue_twilio/cli/`` import nothing of the
core but ``ue_twilio`` itself (and ``ue_twilio.sandbox`` for the demo).
"""

from __future__ import annotations

import ast
import types
from pathlib import Path

import pytest

import ue_twilio

SRC = Path(__file__).resolve().parent.parent / "src"
FRONT_ENDS = [SRC / "extension.py", *sorted((SRC / "ue_twilio" / "cli").glob("*.py"))]
ALLOWED = {"ue_twilio", "ue_twilio.sandbox", "ue_twilio.sandbox.cli"}


def test_every_exported_name_exists():
    for name in ue_twilio.__all__:
        assert getattr(ue_twilio, name) is not None, name


def test_every_public_name_is_exported():
    public = {
        name
        for name, value in vars(ue_twilio).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    public |= set(ue_twilio._LAZY)
    assert sorted(public | {"__version__"}) == sorted(ue_twilio.__all__)


def _imports(path: Path):
    """(line, absolute module) of every import in ``path``."""
    package = "ue_twilio.cli" if path.parent.name == "cli" else ""
    if path.name == "__init__.py":
        package = "ue_twilio.cli"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield node.lineno, module


@pytest.mark.parametrize("path", FRONT_ENDS, ids=lambda p: p.name)
def test_front_ends_import_only_the_package(path):
    core = [
        (line, module)
        for line, module in _imports(path)
        if module.split(".")[0] == "ue_twilio"
        and module not in ALLOWED
        and not module.startswith("ue_twilio.cli")
    ]
    assert core == [], "{} imports the core directly".format(path.name)


def test_the_check_sees_a_direct_import(tmp_path):
    """The check can fail: a relative import of a core module is caught."""
    cli = tmp_path / "cli"
    cli.mkdir()
    bad = cli / "bad.py"
    bad.write_text("from ..phases.task import Task\nfrom .parser import x\n")
    assert list(_imports(bad)) == [
        (1, "ue_twilio.phases.task"),
        (2, "ue_twilio.cli.parser"),
    ]
