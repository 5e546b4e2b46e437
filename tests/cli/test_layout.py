"""The CLI's layout holds: every module says what it holds, no import circle (imports inside
functions count), arrows only downward (commands -> views -> mqadmin), and a JSON route query
imports neither rich, httpx nor the server."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

CLI = Path(__file__).resolve().parents[2] / "nsctl" / "cli"


def _module_name(path: Path) -> str:
    parts = path.relative_to(CLI.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(CLI.rglob("*.py"))}


def _is_cli(module: str) -> bool:
    return module == "nsctl.cli" or module.startswith("nsctl.cli.")


def _cli_imports(path: Path) -> set[str]:
    """Every nsctl.cli module `path` imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if _is_cli(node.module):
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    found.add(candidate if candidate in _modules() else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if _is_cli(a.name)}
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _cli_imports(path) - {name} for name, path in modules.items()}


def test_every_module_opens_with_a_docstring():
    for name, path in _modules().items():
        if name.endswith("cli"):  # the package's empty __init__
            continue
        assert ast.get_docstring(ast.parse(path.read_text())), f"{name} has no docstring"


def test_no_import_circle():
    graph = _graph()
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == "open":
                cycle = [*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


@pytest.mark.parametrize(
    ("room", "may_import"),
    [
        ("nsctl.cli.mqadmin", ("nsctl.cli.mqadmin",)),
        ("nsctl.cli.views", ("nsctl.cli.views", "nsctl.cli.mqadmin")),
    ],
)
def test_pure_rooms_import_only_downward(room, may_import):
    for name, imports in _graph().items():
        if name.startswith(room):
            wrong = [i for i in imports if not i.startswith(may_import)]
            assert not wrong, f"{name} imports {wrong}"


def test_the_shared_core_never_imports_a_command_or_a_view():
    for name, imports in _graph().items():
        if name.count(".") == 2 and name not in ("nsctl.cli.main", "nsctl.cli.gendocs"):
            wrong = [i for i in imports if i.startswith(("nsctl.cli.commands", "nsctl.cli.views"))]
            assert not wrong, f"{name} imports {wrong}"


PROBE = """
import sys
sys.argv = ["nsctl", "topicRoute", "-t", "T", "-n", "127.0.0.1:1", "-o", "json", "--retries", "0",
            "--timeout", "0.2"]
from nsctl.cli.main import _run  # run() would end the process here: `-c` is __main__
try:
    _run(sys.argv[1:])
except SystemExit:
    pass
heavy = sorted(m for m in sys.modules
               if m.split(".")[0] in ("rich", "httpx", "asyncio") or m.startswith("nsctl.server"))
print(",".join(heavy))
"""


def test_a_json_route_query_imports_no_rich_httpx_asyncio_or_server():
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "", f"imported: {done.stdout.strip()} ({done.stderr})"
