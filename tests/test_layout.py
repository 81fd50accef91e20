"""The layout shows the design and stays that way: subpackages by concern, small modules, no import cycles,
a pure engine (issue 11)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "freshsales_mapper"
SUBPACKAGES = ("engine", "inputs", "sending", "emulator", "cli")
# What the engine may never reach: network, processes, threads of its own, the UI, pandas.
NOT_FOR_THE_ENGINE = {"socket", "ssl", "http", "requests", "urllib3", "subprocess", "multiprocessing",
                      "concurrent", "threading", "asyncio", "streamlit", "pandas", "os"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imported(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside functions (lazy imports count too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_module_is_over_400_lines():
    files = [*PACKAGE.rglob("*.py"), *(ROOT / "playground").glob("*.py"), ROOT / "app.py"]
    long = {str(f.relative_to(ROOT)): n for f in files if (n := len(f.read_text("utf-8").splitlines())) > 400}
    assert not long


def test_the_package_folder_holds_subpackages_and_a_few_modules():
    assert len(list(PACKAGE.glob("*.py"))) <= 10
    for name in SUBPACKAGES:
        init = PACKAGE / name / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text("utf-8")))
        assert doc and "import" in doc.lower(), f"{name}/__init__.py must say what it owns and what it may import"


def test_no_import_cycles_lazy_imports_included():
    modules = project_modules()
    graph = {name: {m for m in imported(path) if m in modules and m != name} for name, path in modules.items()}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            # a submodule importing its own package's face is how Python packages work, not a cycle
            if node.startswith(nxt + "."):
                continue
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*trail[trail.index(nxt):], nxt]))
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_the_engine_imports_nothing_with_side_effects():
    for path in (PACKAGE / "engine").glob("*.py"):
        roots = {name.split(".")[0] for name in imported(path)}
        assert not roots & NOT_FOR_THE_ENGINE, path.name
        assert not {n for n in imported(path) if n.startswith("freshsales_mapper.")
                    and n.split(".")[1] in ("sending", "emulator", "cli")}, path.name


def test_transform_event_reaches_no_network_process_or_ui_module():
    code = ("import sys; from freshsales_mapper.engine.transform import transform_event; "
            "from freshsales_mapper.engine.resolvers import OfflineResolver; "
            "transform_event({'type': 'identify', 'traits': {'email': 'a@example.com'}}, "
            "{'Config': {'apiKey': 'k', 'domain': 'acme.myfreshworks.com'}}, OfflineResolver()); "
            "import json; print(json.dumps([sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1:])), "
            "sorted({m.split('.')[1] for m in sys.modules if m.startswith('freshsales_mapper.')})]))")
    watched = sorted(NOT_FOR_THE_ENGINE - {"threading", "os"})  # the stdlib itself loads those two
    out = subprocess.run([sys.executable, "-c", code, *watched], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    reached, subpackages = json.loads(out)
    assert reached == []
    # interrupt: the package's first import, a few lines that touch nothing unless argv names the CLI.
    assert set(subpackages) <= {"api", "engine", "inputs", "interrupt"}
