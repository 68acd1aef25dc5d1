"""Every chapter in _toc.yml ends with at least three exercises, each with a solution that
stays hidden until opened (sphinx-exercise, ``:class: dropdown``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOT_CHAPTERS = {"chapters/bibliography", "chapters/teaching", "chapters/faq", "chapters/benchmarks"}
"""Pages in the table of contents that are not teaching chapters."""

DIRECTIVE = re.compile(r"^(?P<fence>:{3,}|`{3,})\{(?P<name>exercise|solution)\}\s*(?P<arg>\S*)")
HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
TITLE = re.compile(r"^:{3,}\{exercise\} \S.* · (easy|medium|hard) · \d+ min$")
"""An exercise title: a name, a difficulty and a time (see chapters/teaching.md)."""


def _chapters() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = []
    for part in toc.get("parts", [toc]):
        names += [entry["file"] for entry in part.get("chapters", [])]
    return [name for name in names if name not in NOT_CHAPTERS]


def _outside_code(text: str) -> list[str]:
    """The lines of a MyST source, with lines inside backtick fences blanked (comments in
    code start with ``#`` too)."""
    out, fence = [], None
    for line in text.splitlines():
        stripped = line.strip()
        if fence is None and stripped.startswith("```") and not DIRECTIVE.match(stripped):
            fence = stripped[: len(stripped) - len(stripped.lstrip("`"))]
            out.append("")
        elif fence is not None:
            if set(stripped) == {"`"} and len(stripped) >= len(fence):
                fence = None
            out.append("")
        else:
            out.append(line)
    return out


def _directives(text: str) -> list[dict]:
    """Exercise and solution directives in order: name, argument, options, heading above."""
    found, heading = [], ""
    lines = _outside_code(text)
    for n, line in enumerate(lines):
        if match := HEADING.match(line):
            heading = match[2].strip()
        if match := DIRECTIVE.match(line):
            options = {}
            for option in lines[n + 1 :]:
                if not option.startswith(":") or option.startswith(":::"):
                    break
                key, _, value = option[1:].partition(":")
                options[key.strip()] = value.strip()
            found.append({"name": match["name"], "arg": match["arg"], "options": options,
                          "heading": heading, "line": n + 1})  # fmt: skip
    return found


def test_the_toc_lists_chapters():
    assert len(_chapters()) >= 3


@pytest.mark.parametrize("chapter", _chapters())
def test_chapter_ends_with_three_exercises_each_with_a_hidden_solution(chapter):
    text = (ROOT / f"{chapter}.md").read_text("utf-8")
    found = _directives(text)
    exercises = [d for d in found if d["name"] == "exercise"]
    solutions = [d for d in found if d["name"] == "solution"]
    assert len(exercises) >= 3, f"{chapter} has {len(exercises)} exercises, needs at least 3"
    labels = [d["options"].get("label") for d in exercises]
    assert all(labels), f"{chapter}: every exercise needs a :label: (line {exercises[0]['line']})"
    solved = {d["arg"] for d in solutions}
    assert set(labels) <= solved, f"{chapter}: exercises without a solution: {set(labels) - solved}"
    for d in solutions:
        assert "dropdown" in d["options"].get("class", ""), (
            f"{chapter} line {d['line']}: a solution must stay hidden until opened "
            "(:class: dropdown)"
        )
    # "ends with": every exercise sits in the Exercises section, after the chapter's content.
    sections = {d["heading"] for d in exercises}
    assert sections == {"Exercises"}, f"{chapter}: exercises found under {sections}"
    headings = [m[2].strip() for m in map(HEADING.match, _outside_code(text)) if m]
    after = headings[headings.index("Exercises") + 1 :]
    assert set(after) <= {"References"}, f"{chapter}: sections after the exercises: {after}"


@pytest.mark.parametrize("chapter", _chapters())
def test_every_exercise_title_gives_a_difficulty_and_a_time(chapter):
    text = (ROOT / f"{chapter}.md").read_text("utf-8")
    heads = [line for line in _outside_code(text) if DIRECTIVE.match(line)]
    bad = [h for h in heads if "{exercise}" in h and not TITLE.match(h)]
    assert not bad, f"{chapter}: titles need 'Name · easy|medium|hard · N min': {bad}"
