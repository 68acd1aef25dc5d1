"""The code the book shows is clean: short lines, no formatter escapes.

``make test`` also runs ruff over the chapters' code cells (tests/chapter_ruff.py); these
checks are the fast part that needs no ruff.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from chapter_ruff import ROOT, chapter_paths, code_cells

MAX_LINE = 88
"""Longest code line the book shows without sideways scrolling at desktop width."""
PYTHON_FENCE = re.compile(r"^(?P<fence>`{3,})(python|ipython3?)\s*$")
LITERALINCLUDE = re.compile(r"^`{3,}\{literalinclude\}\s+(?P<path>\S+)")


def _python_blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Non-executed ```python blocks (solutions): (index of first line, lines)."""
    blocks, n = [], 0
    while n < len(lines):
        match = PYTHON_FENCE.match(lines[n])
        if match is None:
            n += 1
            continue
        end = lines.index(match["fence"], n + 1)
        blocks.append((n + 1, lines[n + 1 : end]))
        n = end + 1
    return blocks


def _shown_code(path: Path) -> list[tuple[int, str]]:
    """Every line of Python a chapter shows, as (line number, text)."""
    lines = path.read_text("utf-8").split("\n")
    blocks = [(c.start, c.source.split("\n")) for c in code_cells(path)]
    blocks += _python_blocks(lines)
    return [(start + i + 1, line) for start, block in blocks for i, line in enumerate(block)]


def _included_files() -> set[Path]:
    """Package files the chapters show with ``literalinclude``."""
    found = set()
    for path in chapter_paths():
        for line in path.read_text("utf-8").split("\n"):
            if match := LITERALINCLUDE.match(line):
                found.add((path.parent / match["path"]).resolve())
    return found


@pytest.mark.parametrize("path", chapter_paths(), ids=lambda p: p.stem)
def test_no_code_line_in_a_chapter_is_longer_than_88_characters(path):
    long = [f"{path.name}:{n} ({len(s)})" for n, s in _shown_code(path) if len(s) > MAX_LINE]
    assert not long, f"code lines over {MAX_LINE} characters: {long}"


def test_the_chapters_show_package_code_with_literalinclude():
    assert any(path.parent.name in {"torch", "tf"} for path in _included_files())


@pytest.mark.parametrize(
    "path",
    chapter_paths() + sorted(_included_files()),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_chapter_or_included_file_turns_the_formatter_off(path):
    lines = path.read_text("utf-8").split("\n")
    found = [n + 1 for n, line in enumerate(lines) if re.search(r"#\s*fmt:\s*(skip|off)", line)]
    assert not found, f"{path.relative_to(ROOT)} turns ruff format off at lines {found}"
