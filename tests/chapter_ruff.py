"""Ruff over the code cells of the book's chapters, reported as chapter file and line.

Jupytext reads each MyST notebook (chapters/*.md, index.md) and writes its code cells to a
temporary .ipynb, so ruff lints them with its notebook rules: a cell may end with an
expression to display, and a setup cell may import after the text above it. The settings
are tests/chapter_ruff.toml (the package's rules at line length 88).

    python tests/chapter_ruff.py check    # ruff check and ruff format --check (make test)
    python tests/chapter_ruff.py format   # ruff check --fix and ruff format, in place

``format`` rewrites the code cells' lines only: prose, cell options and the notebook
header stay byte for byte as they are.
"""

from __future__ import annotations

import difflib
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tests" / "chapter_ruff.toml"
OPENING = re.compile(r"^(?P<fence>`{3,})\{code-cell\}")


@dataclass
class Cell:
    """A code cell's source and where it sits in its chapter (0-based line indices)."""

    start: int
    """Index of the source's first line."""
    end: int
    """Index of the closing fence."""
    source: str


def chapter_paths() -> list[Path]:
    """The MyST sources that may hold code cells: chapters/*.md and index.md."""
    return sorted((ROOT / "chapters").glob("*.md")) + [ROOT / "index.md"]


def _options_end(lines: list[str], first: int) -> int:
    """Index of the first source line, given the line after an opening fence."""
    n = first
    if n < len(lines) and lines[n] == "---":  # YAML options block
        n = lines.index("---", n + 1) + 1
    while n < len(lines) and lines[n].startswith(":"):  # `:key: value` options
        n += 1
    if n > first and n < len(lines) and not lines[n].strip():
        n += 1  # the blank line after the options
    return n


def code_cells(path: Path) -> list[Cell]:
    """The chapter's code cells, in order, each checked against what Jupytext reads.

    Raises:
        ValueError: if a cell found here differs from Jupytext's (so a rewrite would
            land on the wrong lines).
    """
    lines = path.read_text("utf-8").split("\n")
    cells, n = [], 0
    while n < len(lines):
        match = OPENING.match(lines[n])
        if match is None:
            n += 1
            continue
        start = _options_end(lines, n + 1)
        end = lines.index(match["fence"], start)
        cells.append(Cell(start, end, "\n".join(lines[start:end])))
        n = end + 1
    notebook = jupytext.read(path, fmt="md:myst")
    expected = [c.source for c in notebook.cells if c.cell_type == "code"]
    if [c.source for c in cells] != expected:
        raise ValueError(f"{path}: code cells differ from Jupytext's reading")
    return cells


def _write_notebook(cells: list[Cell], path: Path) -> None:
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(c.source) for c in cells],
        metadata={"language_info": {"name": "python"}},
    )
    nbformat.write(notebook, path)


def _read_sources(path: Path) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells]


def _ruff(*args: str | Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "ruff", *map(str, args)]
    command += ["--config", str(CONFIG), "--no-cache"]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT)


def _notebooks(folder: Path) -> dict[Path, tuple[Path, list[Cell]]]:
    """Write every chapter with code cells to ``folder``: notebook -> (chapter, cells)."""
    found = {}
    for path in chapter_paths():
        cells = code_cells(path)
        if cells:
            notebook = folder / f"{path.stem}.ipynb"
            _write_notebook(cells, notebook)
            found[notebook] = (path, cells)
    return found


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def lint_problems(notebooks: dict[Path, tuple[Path, list[Cell]]]) -> list[str]:
    """``ruff check`` messages as ``chapter:line:column: code message``."""
    result = _ruff("check", "--output-format=json", *notebooks)
    if result.returncode not in (0, 1):
        raise RuntimeError(result.stderr)
    problems = []
    for message in json.loads(result.stdout):
        path, cells = notebooks[Path(message["filename"])]
        cell = cells[message["cell"] - 1]
        line = cell.start + message["location"]["row"]
        column = message["location"]["column"]
        code = message["code"] or "syntax"
        problems.append(f"{_name(path)}:{line}:{column}: {code} {message['message']}")
    return problems


def _formatted(notebooks: dict[Path, tuple[Path, list[Cell]]], fix: bool) -> None:
    """Run ruff over the notebooks in place (``ruff check --fix`` first if ``fix``)."""
    if fix:
        _ruff("check", "--fix-only", "--quiet", *notebooks)
    result = _ruff("format", "--quiet", *notebooks)
    if result.returncode != 0:
        raise RuntimeError(result.stderr)


def format_problems(notebooks: dict[Path, tuple[Path, list[Cell]]]) -> list[str]:
    """A diff for each code cell that ``ruff format`` would change."""
    _formatted(notebooks, fix=False)
    problems = []
    for notebook, (path, cells) in notebooks.items():
        for cell, new in zip(cells, _read_sources(notebook), strict=True):
            if new != cell.source:
                old_lines, new_lines = cell.source.split("\n"), new.split("\n")
                diff = difflib.unified_diff(old_lines, new_lines, lineterm="", n=1)
                body = "\n".join(list(diff)[2:])
                where = f"{_name(path)}:{cell.start + 1}"
                problems.append(f"{where}: code cell would be reformatted\n{body}")
    return problems


def rewrite(notebooks: dict[Path, tuple[Path, list[Cell]]]) -> list[Path]:
    """Fix and format the code cells, writing changed chapters back; returns those."""
    _formatted(notebooks, fix=True)
    changed = []
    for notebook, (path, cells) in notebooks.items():
        lines = path.read_text("utf-8").split("\n")
        pairs = zip(cells, _read_sources(notebook), strict=True)
        for cell, new in reversed(list(pairs)):
            lines[cell.start : cell.end] = new.split("\n")
        text = "\n".join(lines)
        if text != path.read_text("utf-8"):
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: list[str]) -> int:
    """``check`` (exit status 1 on any problem) or ``format``."""
    if argv not in (["check"], ["format"]):
        print(__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        notebooks = _notebooks(Path(folder))
        if argv == ["format"]:
            for path in rewrite(notebooks):
                print(f"reformatted {_name(path)}")
            return 0
        problems = lint_problems(notebooks) + format_problems(notebooks)
    print("\n".join(problems) if problems else "chapters: ruff check and format clean")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
