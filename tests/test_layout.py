"""The layout's rules, checked on the source: no import cycle among notifier/, tasks/ and sources/, and Celery
only in tasks/ and the CLI's worker commands (docs/architecture.md)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("notifier", "tasks", "sources")
CELERY_ALLOWED = {"notifier.cli.service"}  # the worker, beat and run commands start Celery
# The outbox's enqueue imports the deliver task when it is called: the one hand-off from notifier to tasks/.
TASKS_ALLOWED = {"notifier.cli.service", "notifier.alerts.outbox"}


def module_files(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """Module name -> file, for every module of the packages (migrations are alembic's, loaded by path)."""
    out = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The modules an import statement names (for `from a import b`: a.b when it is a module, else a)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def _top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported: at module level, in class bodies, under if/try/with
    (TYPE_CHECKING blocks included: a back edge hidden from the interpreter is still a back edge)."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        else:
            pending.extend(ast.iter_child_nodes(node))
    return found


def import_graph(files: dict[str, Path], *, module_level: bool = True) -> dict[str, set[str]]:
    """Module -> the modules of `files` it imports (module-level imports only, unless told otherwise)."""
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        nodes = (
            _top_level_imports(tree)
            if module_level
            else [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        )
        edges = set()
        for node in nodes:
            for target in _targets(node, module, path.name == "__init__.py"):
                if target in files and target != module:
                    edges.add(target)
        graph[module] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycle_among_notifier_tasks_and_sources():
    found = cycles(import_graph(module_files()))
    assert found == [], "import cycles (module-level imports): " + "; ".join(" <-> ".join(c) for c in found)


def test_the_cycle_check_finds_a_cycle_it_is_shown(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("if True:\n    from ..c import thing\n")
    (pkg / "c.py").write_text("class C:\n    from pkg import a\n")
    (pkg / "d.py").write_text("def later():\n    from pkg import a\n")  # a call-time import is no cycle
    (pkg / "e.py").write_text("from pkg import d\n")
    files = module_files(tmp_path, ("pkg",))
    assert cycles(import_graph(files)) == [["pkg.a", "pkg.c", "pkg.sub.b"]]


def _imports_of(module_prefix: str) -> dict[str, list[str]]:
    """Module -> the modules starting with `module_prefix` it imports anywhere (functions included)."""
    out: dict[str, list[str]] = {}
    for module, path in module_files().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        names = [
            t
            for n in ast.walk(tree)
            if isinstance(n, (ast.Import, ast.ImportFrom))
            for t in _targets(n, module, path.name == "__init__.py")
            if t == module_prefix or t.startswith(module_prefix + ".")
        ]
        if names:
            out[module] = names
    return out


def test_celery_is_imported_only_by_tasks_and_the_cli_worker_commands():
    offenders = {
        m: n for m, n in _imports_of("celery").items() if not m.startswith("tasks") and m not in CELERY_ALLOWED
    }
    assert offenders == {}, f"Celery imported outside tasks/ and notifier/cli/service.py: {offenders}"
    reaching = {m: n for m, n in _imports_of("tasks").items() if not m.startswith("tasks") and m not in TASKS_ALLOWED}
    assert reaching == {}, (
        f"modules reaching into tasks/ (Celery) instead of notifier.alerts.outbox.enqueue: {reaching}"
    )


def test_importing_every_notifier_module_but_the_worker_commands_loads_no_celery():
    modules = sorted(m for m in module_files() if m.startswith(("notifier", "sources")) and m not in CELERY_ALLOWED)
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "print(sorted(m for m in sys.modules if m == 'celery' or m.startswith(('celery.', 'tasks'))))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "[]", f"importing notifier loaded Celery: {run.stdout.strip()}"
