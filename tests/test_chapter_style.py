"""The code the book shows is clean: short lines, no formatter escapes.

``make test`` also runs ruff over the chapters' code (tests/chapter_ruff.py); these
checks are the fast part that needs no ruff.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from chapter_ruff import ROOT, chapter_paths, code_cells, python_blocks

MAX_LINE = 88
"""Longest code line the book shows without sideways scrolling at desktop width."""
FORMATTER_OFF = re.compile(r"#\s*fmt:\s*(skip|off)")
LITERALINCLUDE = re.compile(r"^`{3,}\{literalinclude\}\s+(?P<path>\S+)")


def _shown_code(path: Path) -> list[tuple[int, str]]:
    """Every line of Python a chapter shows (code cells, ```python blocks), numbered."""
    shown = []
    for block in code_cells(path) + python_blocks(path):
        lines = block.source.split("\n")
        shown += [(block.start + 1 + i, line) for i, line in enumerate(lines)]
    return shown


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
    shown = _shown_code(path)
    long = [f"{path.name}:{n} ({len(s)})" for n, s in shown if len(s) > MAX_LINE]
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
    found = [n + 1 for n, line in enumerate(lines) if FORMATTER_OFF.search(line)]
    assert not found, f"{path.relative_to(ROOT)} turns ruff format off at lines {found}"
