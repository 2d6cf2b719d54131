"""The structure SPEC §12 asks for, measured on the tree: modules of one concern under 500 lines, routes that
import no other route module, services that never reach into the web layer, a `create_app` that reads as a table
of contents, no markup in Python strings, and a README layout block that names what is there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.support import ROOT

APP = ROOT / "app"
MODULES = sorted(p for p in APP.rglob("*.py") if "migrations" not in p.parts)
LINES_MAX = 500
CREATE_APP_MAX = 60
# An HTML element in a string literal (an opening or closing tag).
MARKUP = re.compile(
    r"</?(a|p|div|span|script|style|li|ul|ol|br|b|i|em|strong|code|pre|form|input|button|img|svg)[\s>/]"
)


def imported(path: Path) -> set[str]:
    """Every module `path` imports (absolute names; `from app import x` counts as `app.x` and `app`)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", MODULES, ids=relative)
def test_a_module_stays_under_500_lines(path):
    assert len(path.read_text().splitlines()) <= LINES_MAX


def test_no_route_module_imports_another():
    for path in (APP / "routes").glob("*.py"):
        if path.name == "__init__.py":
            continue
        routes = {name for name in imported(path) if name.startswith("app.routes")}
        assert routes <= {"app.routes", "app.routes._common"} | {
            f"app.routes._common.{n}" for n in _public_names(APP / "routes" / "_common.py")
        }, f"{relative(path)} imports {sorted(routes)}"


def _public_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
    names |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    return names


def test_the_private_route_helpers_hold_no_handler():
    source = (APP / "routes" / "_common.py").read_text()
    assert not re.search(r"^@(get|post|put|patch|delete|route)\(", source, re.M)


def test_services_import_nothing_from_the_web_layer():
    for path in (APP / "services").rglob("*.py"):
        names = imported(path)
        bad = {n for n in names if n.startswith(("app.web", "app.routes", "app.wiring")) or n == "app.create_app"}
        assert not bad, f"{relative(path)} imports {sorted(bad)}"


def test_create_app_reads_as_a_table_of_contents():
    tree = ast.parse((APP / "__init__.py").read_text())
    (create_app,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "create_app"]
    assert create_app.end_lineno is not None
    assert create_app.end_lineno - create_app.lineno + 1 <= CREATE_APP_MAX
    called = {n.func.id for n in ast.walk(create_app) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert "configure_logging" not in called and "bind_tables" not in called  # no process-wide effect


def test_no_markup_in_python_strings():
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and MARKUP.search(node.value):
                # Docstrings may name an element; a string that holds one is markup outside the templates.
                assert node.value.lstrip().startswith(tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ`(")), (
                    f"{relative(path)}:{node.lineno} holds markup: {node.value[:60]!r}"
                )


def readme_layout() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    return [line for line in block.splitlines() if line.strip()]


def test_the_readme_layout_names_only_what_exists():
    for line in readme_layout():
        if line.startswith(" "):
            continue  # a continuation line
        names = line.split("   ")[0].strip()
        first = names.split(",")[0].strip()
        folder = Path(first).parent if first.endswith(".py") else None
        for name in (part.strip() for part in names.split(",")):
            path = ROOT / name if "/" in name or folder is None else ROOT / folder / name
            assert path.exists(), f"README layout names {name}, which does not exist"


def test_the_readme_layout_names_every_part_of_the_app():
    named = " ".join(readme_layout())
    for path in sorted(APP.iterdir()):
        if path.name.startswith(("_", ".")) and path.name != "__init__.py":
            continue
        label = path.name + ("/" if path.is_dir() else "")
        assert label in named or f"app/{label}" in named, f"README layout does not mention app/{label}"
