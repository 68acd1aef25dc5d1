"""Ruff over the Python the book's chapters show, reported as chapter file and line.

Jupytext reads each MyST notebook (chapters/*.md, index.md); its code cells go to a
temporary .ipynb, so ruff lints them with its notebook rules: a cell may end with an
expression to display, and a setup cell may import after the text above it. The
```python blocks the chapters show without running them (solutions) go to a second
notebook, which is formatted too but only style-checked (E, W): they are fragments
that use names from the chapter. The settings are tests/chapter_ruff.toml (the
package's rules at line length 88).

    python tests/chapter_ruff.py check    # ruff check, ruff format --check (make test)
    python tests/chapter_ruff.py format   # ruff check --fix, ruff format, in place

``format`` rewrites the lines of code only: prose, cell options and the notebook
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
CODE_CELL = re.compile(r"^(?P<fence>`{3,})\{code-cell\}")
PYTHON_BLOCK = re.compile(r"^(?P<fence>`{3,})python\s*$")
FRAGMENT_RULES = "E,W"
"""The rules for ```python blocks: style only, since they use the chapter's names."""


@dataclass
class Block:
    """A fenced piece of code and where it sits in its chapter (0-based indices)."""

    start: int
    """Index of the code's first line."""
    end: int
    """Index of the closing fence."""
    source: str


Found = dict[Path, tuple[Path, list[Block]]]
"""Temporary notebook -> (chapter, the blocks that are its cells)."""


def chapter_paths() -> list[Path]:
    """The MyST sources that may show code: chapters/*.md and index.md."""
    return sorted((ROOT / "chapters").glob("*.md")) + [ROOT / "index.md"]


def _options_end(lines: list[str], first: int) -> int:
    """Index of a code cell's first source line, given the line after its fence."""
    n = first
    if n < len(lines) and lines[n] == "---":  # YAML options block
        n = lines.index("---", n + 1) + 1
    while n < len(lines) and lines[n].startswith(":"):  # `:key: value` options
        n += 1
    if n > first and n < len(lines) and not lines[n].strip():
        n += 1  # the blank line after the options
    return n


def _fenced(path: Path, opening: re.Pattern, options: bool) -> list[Block]:
    lines = path.read_text("utf-8").split("\n")
    blocks, n = [], 0
    while n < len(lines):
        match = opening.match(lines[n])
        if match is None:
            n += 1
            continue
        start = _options_end(lines, n + 1) if options else n + 1
        end = lines.index(match["fence"], start)
        blocks.append(Block(start, end, "\n".join(lines[start:end])))
        n = end + 1
    return blocks


def code_cells(path: Path) -> list[Block]:
    """The chapter's code cells, in order, each checked against what Jupytext reads.

    Raises:
        ValueError: if a cell found here differs from Jupytext's (so a rewrite would
            land on the wrong lines).
    """
    cells = _fenced(path, CODE_CELL, options=True)
    notebook = jupytext.read(path, fmt="md:myst")
    expected = [c.source for c in notebook.cells if c.cell_type == "code"]
    if [c.source for c in cells] != expected:
        raise ValueError(f"{path}: code cells differ from Jupytext's reading")
    return cells


def python_blocks(path: Path) -> list[Block]:
    """The ```python blocks the chapter shows without running them."""
    return _fenced(path, PYTHON_BLOCK, options=False)


def _write_notebook(blocks: list[Block], path: Path) -> None:
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(b.source) for b in blocks],
        metadata={"language_info": {"name": "python"}},
    )
    nbformat.write(notebook, path)


def _read_sources(path: Path) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells]


def _notebooks(folder: Path) -> tuple[Found, Found]:
    """Write each chapter's code cells and ```python blocks as notebooks to ``folder``.

    Returns:
        The code-cell notebooks and the ```python-block notebooks.
    """
    cells, fragments = {}, {}
    for path in chapter_paths():
        for found, kind, blocks in (
            (cells, "cells", code_cells(path)),
            (fragments, "blocks", python_blocks(path)),
        ):
            if blocks:
                notebook = folder / f"{path.stem}.{kind}.ipynb"
                _write_notebook(blocks, notebook)
                found[notebook] = (path, blocks)
    return cells, fragments


def _ruff(*args: str | Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "ruff", *map(str, args)]
    command += ["--config", str(CONFIG), "--no-cache"]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT)


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def lint_problems(notebooks: Found, *options: str) -> list[str]:
    """``ruff check`` messages as ``chapter:line:column: code message``."""
    if not notebooks:
        return []
    result = _ruff("check", "--output-format=json", *options, *notebooks)
    if result.returncode not in (0, 1):
        raise RuntimeError(result.stderr)
    problems = []
    for message in json.loads(result.stdout):
        path, blocks = notebooks[Path(message["filename"])]
        line = blocks[message["cell"] - 1].start + message["location"]["row"]
        column = message["location"]["column"]
        code = message["code"] or "syntax"
        problems.append(f"{_name(path)}:{line}:{column}: {code} {message['message']}")
    return problems


def _format(notebooks: Found, *options: str) -> None:
    """Run ``ruff format`` over the notebooks in place."""
    result = _ruff("format", "--quiet", *options, *notebooks)
    if result.returncode != 0:
        raise RuntimeError(result.stderr)


def format_problems(notebooks: Found) -> list[str]:
    """A diff for each block that ``ruff format`` would change."""
    _format(notebooks)
    problems = []
    for notebook, (path, blocks) in notebooks.items():
        for block, new in zip(blocks, _read_sources(notebook), strict=True):
            if new != block.source:
                old_lines, new_lines = block.source.split("\n"), new.split("\n")
                diff = difflib.unified_diff(old_lines, new_lines, lineterm="", n=1)
                body = "\n".join(list(diff)[2:])
                where = f"{_name(path)}:{block.start + 1}"
                problems.append(f"{where}: code would be reformatted\n{body}")
    return problems


def rewrite(cells: Found, fragments: Found) -> list[Path]:
    """Fix and format the code in place; returns the chapters that changed."""
    _ruff("check", "--fix-only", "--quiet", *cells)
    _ruff("check", "--fix-only", "--quiet", "--select", FRAGMENT_RULES, *fragments)
    _format({**cells, **fragments})
    edits: dict[Path, list[tuple[Block, str]]] = {}
    for notebook, (path, blocks) in {**cells, **fragments}.items():
        formatted = _read_sources(notebook)
        edits.setdefault(path, []).extend(zip(blocks, formatted, strict=True))
    changed = []
    for path, pairs in edits.items():
        old = path.read_text("utf-8")
        lines = old.split("\n")
        for block, new in sorted(pairs, key=lambda pair: -pair[0].start):
            lines[block.start : block.end] = new.split("\n")
        if (text := "\n".join(lines)) != old:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: list[str]) -> int:
    """``check`` (exit status 1 on any problem) or ``format``."""
    if argv not in (["check"], ["format"]):
        print(__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        cells, fragments = _notebooks(Path(folder))
        if argv == ["format"]:
            for path in rewrite(cells, fragments):
                print(f"reformatted {_name(path)}")
            return 0
        problems = lint_problems(cells)
        problems += lint_problems(fragments, "--select", FRAGMENT_RULES)
        problems += format_problems({**cells, **fragments})
    print("\n".join(problems) if problems else "chapters: ruff check and format clean")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
