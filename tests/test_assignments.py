"""The assignments grade as they should: the reference gets full marks, every planted
mistake loses points exactly on the questions it breaks, through the code path of
``make grade`` (``classroom.grade``: ``otter run`` without Docker, then a CSV)."""

from __future__ import annotations

import csv
import json
import re
import zipfile

import pytest
from classroom_helpers import load_classroom

classroom = load_classroom()
NAMES = classroom.assignment_names()


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """Assignments built by ``otter assign`` into a fresh folder (a few seconds each)."""
    return tmp_path_factory.mktemp("assignments")


def test_there_are_at_least_three_assignments_each_with_three_planted_mistakes():
    assert len(NAMES) >= 3, NAMES
    for name in NAMES:
        mistakes = classroom.planted(name)
        assert len(mistakes) >= 3, f"{name} has {len(mistakes)} planted mistakes"
        assert len({m.name for m in mistakes}) == len(mistakes)


@pytest.mark.parametrize("name", NAMES)
def test_every_question_has_a_public_check_with_a_hint_and_a_hidden_test(name, build):
    dist = classroom.assign(name, build)
    student = json.loads((dist / "student" / f"{name}.ipynb").read_text("utf-8"))
    public = student["metadata"]["otter"]["tests"]
    with zipfile.ZipFile(classroom.autograder_zip(name, build)) as archive:
        graded = {
            n.removeprefix("tests/").removesuffix(".py"): archive.read(n).decode()
            for n in archive.namelist()
            if n.startswith("tests/") and n.endswith(".py")
        }
    assert set(public) == set(graded), (sorted(public), sorted(graded))
    for question, source in graded.items():
        assert "hidden=False" in public[question] and "failure_message=" in public[question], (
            f"{question}: the public check needs a hint (failure_message)"
        )
        assert "hidden=True" not in public[question], f"{question}: hidden test in the student file"
        assert "hidden=True" in source, f"{question} has no hidden test"


@pytest.mark.parametrize("name", NAMES)
def test_every_planted_mistake_applies_to_the_reference(name, build, tmp_path):
    for mistake in classroom.planted(name):
        path = classroom.write_planted(mistake, tmp_path, build)
        assert path.read_text("utf-8") != classroom.reference_notebook(name, build).read_text()


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_reference_scores_full_marks_and_planted_mistakes_lose_points_where_expected(
    name, build, tmp_path
):
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    reference = submissions / f"{name}-reference.ipynb"
    reference.write_bytes(classroom.reference_notebook(name, build).read_bytes())
    mistakes = {
        classroom.write_planted(m, submissions, build).name: m for m in classroom.planted(name)
    }

    grades = classroom.grade(submissions, tmp_path / "grades.csv", build=build, jobs=2)

    by_file = {g.submission: g for g in grades}
    full = by_file[reference.name]
    assert not full.error, full.error
    assert full.total == full.total_possible > 0 and not full.failed, (full.scores, full.possible)
    for file, mistake in mistakes.items():
        result = by_file[file]
        assert not result.error, result.error
        assert result.total < full.total_possible, f"{mistake.name} scored full marks"
        assert result.failed == mistake.fails, (
            f"{mistake.name}: lost points on {result.failed}, expected {mistake.fails}"
        )
    rows = list(csv.DictReader((tmp_path / "grades.csv").open(encoding="utf-8")))
    assert [r["submission"] for r in rows] == sorted(by_file)
    questions = list(full.possible)
    for row in rows:
        grade = by_file[row["submission"]]
        assert [float(row[q]) for q in questions] == pytest.approx(
            [grade.scores[q] for q in questions], abs=1e-3
        )
        assert row["failed"].split() == grade.failed


@pytest.mark.slow
def test_the_tensorflow_reference_of_the_neumf_assignment_scores_full_marks(build, tmp_path):
    notebook = json.loads(classroom.reference_notebook("neumf", build).read_text("utf-8"))
    torch_cells = [c for c in notebook["cells"] if "torch.nn.Module" in "".join(c["source"])]
    assert len(torch_cells) == 1, "the PyTorch reference should sit in one cell"
    solution = classroom.SOURCES / "neumf" / "solution_tf.py"
    torch_cells[0]["source"] = solution.read_text("utf-8")
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    (submissions / "neumf-tensorflow.ipynb").write_text(json.dumps(notebook), encoding="utf-8")

    (grade,) = classroom.grade(submissions, tmp_path / "grades.csv", build=build)

    assert not grade.error, grade.error
    assert grade.total == grade.total_possible > 0 and not grade.failed, grade.scores


def test_a_notebook_of_no_known_assignment_gets_a_clear_error(tmp_path):
    stray = tmp_path / "homework.ipynb"
    stray.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    with pytest.raises(ValueError, match=re.escape("cannot tell which assignment")):
        classroom.assignment_of(stray)
