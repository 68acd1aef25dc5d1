"""The chapters' code reads well in the built book: cheap checks on the sources.

- No visible cell is only ``glue(...)`` bookkeeping (hide it: ``remove-input``).
- No code line the book shows is wider than 88 characters, neither in a code cell nor
  in the package code a chapter includes with ``literalinclude`` and ``:pyobject:``.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "chapters").glob("*.md")) + [ROOT / "index.md"]
WIDTH = 88
HIDDEN = {"remove-input", "remove-cell", "hide-input"}
INCLUDE = re.compile(r"```\{literalinclude\} (\S+)\n((?::[^\n]*\n)*)")


def is_glue(node: ast.stmt) -> bool:
    """A ``glue(...)`` call, or a loop or branch that only holds such calls."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return isinstance(node.value.func, ast.Name) and node.value.func.id == "glue"
    if isinstance(node, (ast.For, ast.If)):
        return all(is_glue(n) for n in node.body + node.orelse)
    return False


def glue_only_cells(path: Path) -> list[str]:
    """The first line of every visible code cell whose statements are all glue calls."""
    notebook = jupytext.read(path, fmt="md:myst")
    found = []
    for cell in notebook.cells:
        if cell.cell_type != "code" or HIDDEN & set(cell.metadata.get("tags", [])):
            continue
        if only_glue(cell.source):
            found.append(f"{path.name}: {cell.source.splitlines()[0]}")
    return found


def only_glue(source: str) -> bool:
    """True for code whose statements are all glue calls (and not empty)."""
    try:
        body = ast.parse(source).body
    except SyntaxError:  # IPython magics, shell lines
        return False
    return bool(body) and all(is_glue(node) for node in body)


def included_lines(path: Path) -> list[tuple[str, str]]:
    """(where, line) for every line a chapter shows from the package by literalinclude."""
    lines = []
    for target, options in INCLUDE.findall(path.read_text("utf-8")):
        source = (path.parent / target).resolve()
        match = re.search(r":pyobject: (\S+)", options)
        text = source.read_text("utf-8")
        if match:
            text = _pyobject(text, match[1])
        if ":dedent:" in options:
            text = textwrap.dedent(text)
        where = f"{path.name} <- {target}:{match[1] if match else ''}"
        lines += [(where, line) for line in text.splitlines()]
    return lines


def _pyobject(text: str, name: str) -> str:
    """The source of function or class ``name`` (``Class.method`` too), as Sphinx takes."""
    tree = ast.parse(text)
    nodes = tree.body
    for part in name.split("."):
        node = next(n for n in nodes if getattr(n, "name", None) == part)
        nodes = getattr(node, "body", [])
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return "\n".join(text.splitlines()[start - 1 : node.end_lineno])


def test_no_visible_cell_is_only_glue_bookkeeping():
    assert [c for path in PAGES for c in glue_only_cells(path)] == []


def test_no_code_cell_line_is_wider_than_the_column():
    wide = []
    for path in PAGES:
        for cell in jupytext.read(path, fmt="md:myst").cells:
            if cell.cell_type != "code" or "remove-cell" in cell.metadata.get("tags", []):
                continue
            lines = cell.source.splitlines()
            wide += [f"{path.name}: {line}" for line in lines if len(line) > WIDTH]
    assert wide == []


def test_no_included_package_line_is_wider_than_the_column():
    lines = [item for path in PAGES for item in included_lines(path)]
    assert len(lines) > 100, "the chapters include package code"
    wide = [f"{where}: {len(line)}: {line.strip()}" for where, line in lines if len(line) > WIDTH]
    assert wide == [], "\n".join(wide)


@pytest.mark.parametrize(
    ("source", "only_glue"),
    [
        ('glue("a", 1, display=False)\nglue("b", 2)', True),
        ('for k in "ab":\n    glue(k, 1, display=False)', True),
        ('x = 1\nglue("a", x, display=False)', False),
        ("", False),
    ],
)
def test_the_glue_check_tells_bookkeeping_from_computing(tmp_path, source, only_glue):
    page = tmp_path / "page.md"
    page.write_text(f"```{{code-cell}} ipython3\n{source}\n```\n", "utf-8")
    assert bool(glue_only_cells(page)) is only_glue
