"""The student edition leaks no solution: no solution directive or marker, no hidden test,
and none of the reference solutions' distinctive lines, in the book or the notebooks."""

from __future__ import annotations

import html
import re
from pathlib import Path

import jupytext
import pytest
import yaml
from classroom_helpers import ROOT, load_classroom

classroom = load_classroom()
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "{solution", "solution-start", 'class="solution',
           "hidden=True", "_hidden(")  # fmt: skip


def _toc_sources() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = []
    for part in toc.get("parts", [toc]):
        names += [entry["file"] for entry in part.get("chapters", [])]
    return [ROOT / f"{name}.md" for name in names if name not in classroom.TEACHER_ONLY]


def _solution_bodies(text: str) -> list[str]:
    """The text of every {solution} directive of a MyST source."""
    stripped = classroom.strip_solutions(text)
    kept = set(stripped.splitlines())
    return [line for line in text.splitlines() if line not in kept]


def _distinctive(lines, elsewhere: str) -> set[str]:
    """Solution lines long and specific enough to betray a leak (not also used elsewhere)."""
    out = set()
    for line in lines:
        line = " ".join(line.split())
        if len(line) >= 25 and not line.startswith((":::", "```", ":class:", ":label:")):
            if line not in " ".join(elsewhere.split()):
                out.add(line)
    return out


def _reference_lines() -> set[str]:
    """Lines between # BEGIN SOLUTION and # END SOLUTION in every assignment master, and
    the lines of the alternative references (``assignments/*/solution_*.py``) that the
    student notebooks do not already show."""
    extra = [p.read_text("utf-8") for p in sorted(classroom.SOURCES.glob("*/solution_*.py"))]
    alternatives = _distinctive("\n".join(extra).splitlines(), "\n".join(_master_lines(False)))
    return _distinctive(_master_lines(solutions=True), "") | alternatives


def _master_lines(solutions: bool) -> list[str]:
    """The masters' code lines inside (or, with ``solutions=False``, outside) solutions."""
    lines = []
    for name in classroom.assignment_names():
        notebook = jupytext.read(classroom.master_path(name))
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            inside = False
            for line in cell.source.splitlines():
                if "# BEGIN SOLUTION" in line:
                    inside = True
                elif "# END SOLUTION" in line:
                    inside = False
                elif inside == solutions:
                    lines.append(line)
    return lines


def _public_text() -> str:
    """Every chapter without its solutions, the package code that chapters include with
    literalinclude, and the assignments' code outside solutions: what students may see."""
    chapters = [classroom.strip_solutions(p.read_text("utf-8")) for p in _toc_sources()]
    code = [p.read_text("utf-8") for p in sorted((ROOT / "reclearn").rglob("*.py"))]
    return "\n".join(chapters + code + _master_lines(solutions=False))


def _chapter_solution_lines() -> set[str]:
    lines = set()
    for path in _toc_sources():
        lines |= _distinctive(_solution_bodies(path.read_text("utf-8")), _public_text())
    return lines


def _leaks(folder: Path, secrets: set[str]) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix not in {
            ".html",
            ".md",
            ".ipynb",
            ".py",
            ".js",
            ".txt",
        }:
            continue
        raw = path.read_text("utf-8", errors="replace")
        text = raw
        if path.suffix == ".html":
            text = html.unescape(re.sub(r"<[^>]+>", "", raw))
        elif path.suffix == ".ipynb":
            text = raw.encode().decode("unicode_escape", errors="replace")
        flat = " ".join(text.split())
        found += [f"{path}: marker {m!r}" for m in MARKERS if m in raw or m in text]
        found += [f"{path}: solution line {s!r}" for s in secrets if s in flat]
    return found


def test_strip_solutions_removes_colon_backtick_and_gated_solutions_and_keeps_exercises():
    source = (
        "Intro.\n\n:::{exercise}\n:label: ex-a\n\nDo it.\n:::\n\n"
        ":::{solution} ex-a\n:class: dropdown\n\n"
        "```python\nsecret_code()\n```\n\nSecret prose.\n:::\n\n"
        "````{solution} ex-a\n```python\nmore_secret()\n```\n````\n\n"
        "```{solution-start} ex-a\n```\ngated secret\n```{solution-end}\n```\n"
        "Outro.\n"
    )
    stripped = classroom.strip_solutions(source)
    assert "secret" not in stripped.lower() and "{solution" not in stripped
    assert ":::{exercise}\n:label: ex-a\n\nDo it.\n:::" in stripped
    assert stripped.startswith("Intro.") and stripped.endswith("Outro.\n")


def test_strip_solutions_rejects_an_unclosed_solution():
    with pytest.raises(ValueError, match="never closed"):
        classroom.strip_solutions(":::{solution} ex-a\nsecret\n")


def test_every_chapter_source_loses_all_its_solutions_when_stripped():
    secrets = _chapter_solution_lines()
    assert secrets, "no chapter solution found: is the test looking in the right place?"
    for path in _toc_sources():
        stripped = classroom.strip_solutions(path.read_text("utf-8"))
        assert "{solution" not in stripped, path.name
        flat = " ".join(stripped.split())
        assert not [s for s in secrets if s in flat], path.name


def test_the_student_kit_has_notebooks_package_data_and_how_to_but_no_solution(tmp_path):
    build = tmp_path / "assignments-build"
    kit = classroom.student_kit(tmp_path / "student", build)
    out = kit / "assignments"
    assert sorted(p.name for p in out.iterdir()) == classroom.assignment_names()
    for name in classroom.assignment_names():
        assert (out / name / f"{name}.ipynb").is_file() and (out / name / "tests").is_dir()
    assert (kit / "package" / "data" / "ml-latest-small" / "ratings.csv").is_file()
    assert (kit / "package" / "pyproject.toml").is_file() and (kit / "HOW-TO.md").is_file()
    assert not list(kit.rglob("planted.yml")) and not list(kit.rglob("solution_*.py"))
    package = " ".join(p.read_text("utf-8") for p in (kit / "package").rglob("*.py"))
    secrets = {s for s in _reference_lines() if s not in " ".join(package.split())}
    assert len(secrets) > 20
    assert _leaks(kit / "assignments", secrets) == []
    package_leaks = _leaks(kit / "package", secrets)  # the public package: lines only
    assert [leak for leak in package_leaks if ": solution line" in leak] == []


@pytest.mark.slow
def test_the_student_book_contains_no_solution(tmp_path):
    """Build the stripped book (execution off: outputs do not matter for leaks)."""
    html_dir = classroom.build_student_book(tmp_path, execute=False, strict=False)
    assert (html_dir / "index.html").is_file()
    pages = {p.stem for p in (html_dir / "chapters").glob("*.html")}
    assert {p.stem for p in _toc_sources()} <= pages
    exercises = sum(p.read_text("utf-8").count('class="exercise') for p in html_dir.rglob("*.html"))
    assert exercises >= 3, "the exercises themselves must stay"
    public = " ".join(_public_text().split())
    secrets = {s for s in _chapter_solution_lines() | _reference_lines() if s not in public}
    assert _leaks(html_dir, secrets) == []


def test_make_student_output_if_built_contains_no_solution():
    out = ROOT / "_build" / "student"
    if not out.is_dir():
        pytest.skip("run `make student` first to check its output too")
    public = " ".join(_public_text().split())
    secrets = {s for s in _chapter_solution_lines() | _reference_lines() if s not in public}
    assert _leaks(out, secrets) == []
