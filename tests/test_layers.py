"""The package's layering, read from its source: imports run one way.

Checked on the code itself (every ``import`` statement), so a new module that
breaks a rule fails here rather than in review.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Set

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ue_twilio"
FRONT_ENDS = ("cli", "sandbox")
# Modules that keep the run going and must not know how HTTP is spoken: they
# see replies (models.Reply), never the client that produced them.
HTTP_FREE = ("dispatcher", "ratelimit", "tracking", "workers", "outcome", "live")


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> Set[str]:
    """Every module of ours or of a third party that ``path`` imports."""
    here = _name(path).split(".") if path.name != "__init__.py" else None
    package = _name(path).split(".")[:-1] if here else _name(path).split(".")
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - (node.level - 1)]
            target = base + (node.module.split(".") if node.module else [])
            if node.module is None:  # from . import a, b
                found.update(
                    ".".join(["ue_twilio"] + base + [a.name]) for a in node.names
                )
            else:
                found.add(".".join(["ue_twilio"] + target))
    return {name.strip(".") for name in found}


def _graph() -> Dict[str, Set[str]]:
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _name(path)
        if name.split(".")[0] in FRONT_ENDS or name == "__main__":
            continue
        graph[name] = _imports(path)
    return graph


GRAPH = _graph()


def _ours(imported: Set[str]) -> Set[str]:
    names = set()
    for item in imported:
        if item.startswith("ue_twilio."):
            name = item[len("ue_twilio.") :]
            while name and name not in GRAPH and "." in name:
                name = name.rsplit(".", 1)[0]  # from .models import Reply
            names.add(name)
    return names


def test_the_graph_is_read():
    assert {"models", "task", "transport.client", "dispatcher"} <= set(GRAPH)
    assert "models" in _ours(GRAPH["dispatcher"])


def test_there_is_no_import_cycle():
    state: Dict[str, int] = {}

    def visit(name, trail):
        if state.get(name) == 1:
            pytest.fail("import cycle: " + " -> ".join(trail + [name]))
        if state.get(name) == 2:
            return
        state[name] = 1
        for other in sorted(_ours(GRAPH.get(name, set()))):
            if other in GRAPH and other != name:
                visit(other, trail + [name])
        state[name] = 2

    for name in GRAPH:
        visit(name, [])


def test_models_import_only_leaves():
    assert _ours(GRAPH["models"]) <= {"exceptions", "prices"}


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_only_the_transport_speaks_http(name):
    third_party = {item.split(".")[0] for item in GRAPH[name]}
    if not name.startswith("transport"):
        assert not third_party & {"requests", "urllib3"}, name


@pytest.mark.parametrize("name", HTTP_FREE)
def test_the_run_sees_replies_not_the_client(name):
    assert not any(other.startswith("transport") for other in _ours(GRAPH[name]))


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_the_core_never_imports_a_front_end(name):
    assert not any(o.split(".")[0] in FRONT_ENDS for o in _ours(GRAPH[name])), name


def test_the_readme_table_names_every_module():
    """README's "How it is built" is the map a newcomer reads: no module missing."""
    readme = (PACKAGE.parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme.split("## How it is built", 1)[1].split("\n## ", 1)[0]
    missing = [
        path.name
        for path in PACKAGE.glob("*.py")
        if not path.name.startswith("_") and "`{}`".format(path.name) not in table
    ]
    assert missing == []
    for folder in ("transport", "cli", "sandbox"):
        assert "`{}/`".format(folder) in table
