"""The architecture of docs/ARCHITECTURE.md, kept true: layers, purity, daemons as plugins, size.

Read from the source (AST), not from documentation: an import that runs backwards, a private
name borrowed from another package, a cycle, a daemon named outside labctl/daemons, or a
function grown past 80 lines fails here with the place to look.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PKG = REPO / "labctl"

# Lowest first. A package may import the ones before it, never one after it (docs/ARCHITECTURE.md).
LAYERS = ["errors", "resources", "console", "policy", "daemons", "model", "plan", "render", "importers", "runtime",
          "automation", "lifecycle", "scenarios", "report", "exercises", "classroom", "pytest_plugin", "completion", "cli"]
# report renders scenario results: it may read their records, never the code that runs a lab.
REPORT_MAY_READ = {"labctl.scenarios", "labctl.scenarios.outcome", "labctl.scenarios.events",
                   "labctl.scenarios.spec", "labctl.scenarios.fault_plan", "labctl.scenarios.judge"}
PURE = ["labctl.policy", "labctl.daemons", "labctl.model", "labctl.plan", "labctl.render", "labctl.importers",
        "labctl.report.results", "labctl.report.lg", "labctl.scenarios.judge", "labctl.scenarios.fault_plan",
        "labctl.scenarios.rs_policy.cases", "labctl.scenarios.rs_policy.judge", "labctl.exercises.schema",
        "labctl.exercises.load", "labctl.exercises.evaluate", "labctl.exercises.report", "labctl.exercises.state",
        "labctl.classroom.roster", "labctl.classroom.scoreboard"]
MAX_FUNCTION_LINES = 80


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "labctl"


def imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, imported names) of every labctl import outside `if TYPE_CHECKING`."""
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                   for n in ast.walk(node)}
    out = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "labctl":
            names = [a.name for a in node.names]
            if node.module == "labctl":  # from labctl import daemons
                out += [(node.lineno, f"labctl.{n}", []) for n in names if n != "__version__"]
            else:
                out.append((node.lineno, node.module, names))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name, []) for a in node.names if a.name.startswith("labctl.")]
    return out


def test_every_package_has_a_layer():
    missing = {package(m) for m in modules()} - set(LAYERS) - {"labctl"}
    assert not missing, f"add {sorted(missing)} to LAYERS here and to docs/ARCHITECTURE.md"


def test_no_import_runs_backwards():
    wrong = []
    for module, path in modules().items():
        src = package(module)
        if src == "labctl":
            continue
        for line, target, _ in imports(path):
            dst = package(target)
            if dst != src and dst in LAYERS and LAYERS.index(dst) > LAYERS.index(src):
                wrong.append(f"{path.relative_to(REPO)}:{line} {src} imports {target} (a higher layer)")
            if src == "report" and dst == "scenarios" and target not in REPORT_MAY_READ:
                wrong.append(f"{path.relative_to(REPO)}:{line} report imports {target}, which runs labs")
    assert not wrong, "\n".join(wrong)


def test_no_private_name_from_another_package():
    wrong = []
    for module, path in modules().items():
        for line, target, names in imports(path):
            if package(target) != package(module):
                wrong += [f"{path.relative_to(REPO)}:{line} imports {target}.{n}" for n in names if n.startswith("_")]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle_between_modules():
    known = modules()
    graph = {m: {t for _, t, _ in imports(p) if t in known and t != m} for m, p in known.items()}
    for m, path in known.items():  # `from labctl.x import y` may name a module y of package x
        for _, target, names in imports(path):
            graph[m] |= {f"{target}.{n}" for n in names if f"{target}.{n}" in known}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                return stack[stack.index(t):] + [t]
            if t not in state:
                found = visit(t)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            cycle = visit(m)
            assert cycle is None, " -> ".join(cycle)


def test_pure_packages_load_no_docker_nornir_or_paramiko():
    code = ("import sys\n" + "".join(f"import {m}\n" for m in PURE)
            + "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('docker', 'nornir', 'paramiko'))\n"
            + "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout.strip()
    assert out == "", f"importing the pure packages loaded: {out}"


@pytest.mark.parametrize("library,owner", [("docker", "runtime"), ("nornir", "automation"), ("paramiko", "automation")])
def test_only_one_package_talks_to_docker_or_routers(library, owner):
    wrong = []
    for module, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] in (library, f"nornir_{library}") for n in names) and package(module) != owner:
                wrong.append(f"{path.relative_to(REPO)}:{node.lineno} imports {names[0]}")
    assert not wrong, "\n".join(wrong)


def test_no_daemon_is_named_outside_its_module():
    """Callers ask labctl.daemons.get(name); nobody compares a node's daemon with a name."""
    pattern = re.compile(r"""(==|!=|\bin)\s*\(?\s*["'](frr|bird|bird3|openbgpd)["']""")
    wrong = []
    for module, path in modules().items():
        if module.startswith("labctl.daemons"):
            continue
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            if pattern.search(line):
                wrong.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert not wrong, "\n".join(wrong)


def test_no_function_over_80_lines():
    wrong = []
    for module, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    wrong.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}: {length} lines")
    assert not wrong, "\n".join(wrong)
