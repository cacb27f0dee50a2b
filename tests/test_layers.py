"""The package's layering, read from its source: imports run one way.

Checked on the code itself (every ``import`` statement, inside functions too,
but not those under ``if TYPE_CHECKING:``, which never run), and
**transitively**: a module may not reach, through any chain of imports, a
layer its own layer may not import. So a new module that breaks a rule fails
here rather than in review.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Dict, Set

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ue_twilio"
FRONT_ENDS = ("cli", "sandbox")
# The shared vocabulary: modules at the top of the package import only each other.
LEAVES = {"_version", "exceptions", "models", "prices", "redact"}
# Each layer (a package) and the layers it may reach, directly or not.
MAY_REACH = {
    "inputs": {"inputs"},
    "output": {"inputs", "output"},
    "ledger": {"inputs", "ledger"},
    "transport": {"inputs", "transport"},
    "engine": {"inputs", "output", "engine"},
    "commands": {"inputs", "output", "engine", "transport", "commands"},
    # phases: everything in the core (the dry run checks the Sender as
    # Test Connection does: commands/preflight.py).
    "phases": {
        "inputs",
        "output",
        "engine",
        "transport",
        "ledger",
        "commands",
        "phases",
    },
}
HTTP = {"requests", "urllib3"}
# Modules that keep the run going and must not know how HTTP is spoken, even
# through another module: they see replies (models.Reply), never the client.
HTTP_FREE = ("engine.dispatcher", "engine.ratelimit", "engine.tracking")


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _runtime_nodes(tree: ast.AST):
    """Every node but those under ``if TYPE_CHECKING:`` (read by mypy only)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.dump(child.test):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def _imports(path: Path) -> Set[str]:
    """Every module of ours or of a third party that ``path`` imports."""
    name = _name(path).split(".") if _name(path) else []
    package = name if path.name == "__init__.py" else name[:-1]
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module)
            found.update("{}.{}".format(node.module, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - (node.level - 1)]
            target = base + (node.module.split(".") if node.module else [])
            found.add(".".join(["ue_twilio"] + target))
            found.update(
                ".".join(["ue_twilio"] + target + [a.name]) for a in node.names
            )
    return {item.strip(".") for item in found}


def _graph() -> Dict[str, Set[str]]:
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _name(path)
        if name.split(".")[0] in FRONT_ENDS or name in ("", "__main__"):
            continue
        graph[name] = _imports(path)
    return graph


GRAPH = _graph()


def _ours(imported: Set[str]) -> Set[str]:
    """Our modules among ``imported`` (``from .models import Reply`` -> models)."""
    names = set()
    for item in imported:
        if item == "ue_twilio" or not item.startswith("ue_twilio."):
            continue
        name = item[len("ue_twilio.") :]
        while name not in GRAPH and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in GRAPH:
            names.add(name)
    return names


def _reach(name: str) -> Set[str]:
    """Every module of ours that importing ``name`` imports, at any depth."""
    seen: Set[str] = set()
    todo = [name]
    while todo:
        for other in _ours(GRAPH[todo.pop()]):
            parent = other.rsplit(".", 1)[0] if "." in other else None
            for item in (other, parent):
                if item and item in GRAPH and item not in seen:
                    seen.add(item)
                    todo.append(item)
    return seen - {name}


def _third_party(name: str) -> Set[str]:
    modules = {name} | _reach(name)
    return {
        item.split(".")[0]
        for module in modules
        for item in GRAPH[module]
        if not item.startswith("ue_twilio")
    }


def _layer(name: str) -> str:
    return "leaf" if name in LEAVES else name.split(".")[0]


def test_the_graph_is_read():
    assert {"models", "phases.task", "transport.client", "engine.dispatcher"} <= set(
        GRAPH
    )
    assert "models" in _ours(GRAPH["engine.dispatcher"])
    assert "transport.client" in _reach("phases.task")
    assert "requests" in _third_party("phases.task")


def test_every_module_is_in_a_layer():
    assert {_layer(name) for name in GRAPH} - {"leaf"} - set(MAY_REACH) == {
        "transport"
    } - set(MAY_REACH)


def test_there_is_no_import_cycle():
    state: Dict[str, int] = {}

    def visit(name, trail):
        if state.get(name) == 1:
            pytest.fail("import cycle: " + " -> ".join(trail + [name]))
        if state.get(name) == 2:
            return
        state[name] = 1
        for other in sorted(_ours(GRAPH.get(name, set()))):
            if other != name and not name.startswith(other + "."):
                visit(other, trail + [name])
        state[name] = 2

    for name in GRAPH:
        visit(name, [])


@pytest.mark.parametrize("name", sorted(n for n in GRAPH if n in LEAVES))
def test_leaves_import_only_leaves(name):
    assert _reach(name) <= LEAVES, name


@pytest.mark.parametrize("name", sorted(n for n in GRAPH if _layer(n) in MAY_REACH))
def test_each_layer_reaches_only_what_it_may(name):
    allowed = MAY_REACH[_layer(name)]
    wrong = sorted(
        o for o in _reach(name) if o not in LEAVES and _layer(o) not in allowed
    )
    assert wrong == [], "{} ({}) reaches {}".format(name, _layer(name), wrong)


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_only_the_transport_speaks_http(name):
    direct = {item.split(".")[0] for item in GRAPH[name]}
    if not name.startswith("transport"):
        assert not direct & HTTP, name


@pytest.mark.parametrize(
    "name",
    sorted(n for n in GRAPH if _layer(n) in ("inputs", "output", "ledger", "engine")),
)
def test_no_layer_below_the_phases_reaches_http(name):
    assert not _third_party(name) & HTTP, name


@pytest.mark.parametrize("name", HTTP_FREE)
def test_the_run_sees_replies_not_the_client(name):
    assert not any(other.startswith("transport") for other in _reach(name))


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_the_core_never_imports_a_front_end(name):
    assert not any(o.split(".")[0] in FRONT_ENDS for o in _reach(name)), name


@pytest.mark.parametrize(
    "module", ["ue_twilio.inputs.config", "ue_twilio.engine.tracking"]
)
def test_reading_the_fields_does_not_import_http(module):
    """A fresh interpreter proves what the static graph says: no requests."""
    code = (
        "import sys, importlib; importlib.import_module({!r}); "
        "print(sorted(m for m in ('requests', 'urllib3') if m in sys.modules))"
    ).format(module)
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(PACKAGE.parent)},
    )
    assert out.stdout.strip() == "[]"


def test_the_readme_table_names_every_module():
    """README's "How it is built" is the map a newcomer reads: no module missing."""
    readme = (PACKAGE.parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme.split("## How it is built", 1)[1].split("\n## ", 1)[0]
    missing = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if not path.name.startswith("_")
        and path.parent.name not in FRONT_ENDS
        and "`{}`".format(path.name) not in table
    ]
    assert missing == []
    for folder in ("transport", "cli", "sandbox", *MAY_REACH):
        assert "`{}/`".format(folder) in table, folder
