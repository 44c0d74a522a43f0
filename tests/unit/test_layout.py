"""The house plan, checked: which package may import which, and no import cycles.

Read from the source with ``ast`` (nothing is imported), so a lazy import inside a
function counts as much as one at the top: it still ties the two modules together.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "protocol", "faces", "edge", "hub", "dashboard", "smartschool")
# Who may import whom. smartschool is the entry point: it may import everything and
# nothing may import it. edge and hub are peers deployed apart: what both must agree on
# is in protocol (the wire) or faces (the face library).
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset({"core"}),
    "protocol": frozenset({"core", "protocol"}),
    # the encoding's size is part of the wire contract (the gate sync carries encodings)
    "faces": frozenset({"core", "protocol", "faces"}),
    "edge": frozenset({"core", "protocol", "faces", "edge"}),
    "hub": frozenset({"core", "protocol", "faces", "hub"}),
    "dashboard": frozenset({"core", "protocol", "hub", "dashboard"}),
    "smartschool": frozenset(PACKAGES),
}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool,
                     known: frozenset[str]) -> set[str]:
    """The modules of ``known`` that ``source`` imports. ``from pkg import name`` counts
    as importing ``pkg.name`` when that is a module, else ``pkg``."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names = [f"{target}.{alias.name}" if f"{target}.{alias.name}" in known
                     else target for alias in node.names]
        else:
            continue
        for name in names:
            # `import a.b.c` names a.b.c; keep the longest prefix that is one of ours
            ours = name
            while ours and ours not in known:
                ours = ours.rpartition(".")[0]
            if ours and ours != module:
                found.add(ours)
    return found


def import_graph(root: Path, packages: Iterable[str]) -> dict[str, set[str]]:
    files = {module_name(p, root): p for pkg in packages for p in (root / pkg).rglob("*.py")}
    known = frozenset(files)
    return {
        mod: imported_modules(path.read_text(encoding="utf-8"), mod,
                              path.name == "__init__.py", known)
        for mod, path in files.items()
    }


def layer_violations(graph: Mapping[str, set[str]],
                     allowed: Mapping[str, frozenset[str]]) -> list[str]:
    problems = []
    for mod, targets in sorted(graph.items()):
        top = mod.split(".")[0]
        for target in sorted(targets):
            if target.split(".")[0] not in allowed[top]:
                problems.append(f"{mod} imports {target}")
    return problems


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


# -- the checker itself can fail ---------------------------------------------------------

@pytest.mark.parametrize(("graph", "expected"), [
    ({"a": {"b"}, "b": set()}, []),
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}}, [["a", "b"], ["c", "d"]]),
])
def test_cycles_are_found(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(graph) == expected


@pytest.mark.parametrize(("graph", "expected"), [
    ({"hub.x": {"protocol.y"}}, []),
    ({"hub.x": {"edge.y"}}, ["hub.x imports edge.y"]),
    ({"edge.x": {"hub.y"}}, ["edge.x imports hub.y"]),
    ({"dashboard.x": {"smartschool.cli"}}, ["dashboard.x imports smartschool.cli"]),
    ({"core.x": {"protocol.y"}}, ["core.x imports protocol.y"]),
    ({"smartschool.cli": {"hub.x", "edge.y", "dashboard.z"}}, []),
])
def test_layer_rules_are_applied(graph: dict[str, set[str]], expected: list[str]) -> None:
    assert layer_violations(graph, ALLOWED) == expected


def test_imports_are_read_as_python_resolves_them() -> None:
    known = frozenset({"hub", "hub.read", "hub.read.queries", "edge", "edge.link"})
    source = (
        "from hub.read import queries\n"
        "def lazy():\n"
        "    import edge.link\n"
        "from . import read\n"
    )
    assert imported_modules(source, "hub.api", False, known) == {
        "hub.read.queries", "edge.link", "hub.read"}


# -- the repository --------------------------------------------------------------------

@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    built = import_graph(ROOT, PACKAGES)
    assert len(built) > 150, "the packages were not found: is ROOT right?"
    return built


def test_each_package_imports_only_what_its_layer_allows(graph: dict[str, set[str]]) -> None:
    assert layer_violations(graph, ALLOWED) == []


def test_dashboard_pages_read_through_the_data_layer(graph: dict[str, set[str]]) -> None:
    """Pages reach the hub only through dashboard.data, so every read and every write the
    dashboard makes is found in one place and applies the API's rules. (Builders take the
    hub's row models as their input types: pure, no reads.)"""
    reaching = sorted(f"{mod} imports {target}" for mod, targets in graph.items()
                      if mod.startswith("dashboard.pages")
                      for target in targets if target.split(".")[0] == "hub")
    assert reaching == []


def test_no_import_cycles(graph: dict[str, set[str]]) -> None:
    assert cycles(graph) == []


def test_every_command_group_lives_under_smartschool_cli() -> None:
    """Typer apps are the entry point's: a library package defines none."""
    apps = []
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            if "typer.Typer(" in path.read_text(encoding="utf-8"):
                apps.append(path.relative_to(ROOT).as_posix())
    assert apps, "no typer app found at all"
    assert [a for a in apps if not a.startswith("smartschool/cli/")] == []


def test_command_modules_run_no_sql() -> None:
    """Command modules parse, call the package that owns the work, and print."""
    offenders = []
    for path in sorted((ROOT / "smartschool" / "cli").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in {"execute", "executemany", "copy"}):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


def test_the_cli_names_the_retention_tables_the_hub_keeps() -> None:
    """`assets retention --help` must not need psycopg, so the CLI names the tables
    itself; they must stay the hub's."""
    from hub.equipment.partitions import RETENTION_TABLES as HUB_TABLES
    from smartschool.cli.assets import RETENTION_TABLES

    assert RETENTION_TABLES == HUB_TABLES
