"""The assignments grade as they should, through the code path of ``make grade``
(``classroom.grade``: ``otter run`` without Docker, then the gradebook and reports).

The reference and every correct variant get full marks; every planted mistake and every
gaming attempt (patched comparisons, reclearn called through an alias or a wrapper, test
leakage, a hang) loses points on exactly the questions it breaks. Each assignment's
submissions are graded once per module, in one batch (the slow part)."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import time
import zipfile
from functools import partial

import pytest
from classroom_helpers import load_classroom

classroom = load_classroom()
NAMES = classroom.assignment_names()
REFERENCE = "Ada Reference"
"""The roster's name for the folder holding the reference solution."""


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """Assignments built by ``otter assign`` into a fresh folder (a few seconds each)."""
    return tmp_path_factory.mktemp("assignments")


def test_each_assignment_has_planted_mistakes_gaming_attempts_and_correct_variants():
    assert len(NAMES) >= 3, NAMES
    for name in NAMES:
        mistakes = classroom.planted(name)
        variants = classroom.planted(name, "variants")
        assert len(mistakes) >= 3, f"{name} has {len(mistakes)} planted mistakes"
        assert any(m.name.startswith("gaming-") for m in mistakes), f"{name}: no gaming attempt"
        assert variants and all(v.fails == [] for v in variants), f"{name}: no correct variant"
        names = [m.name for m in mistakes + variants]
        assert len(set(names)) == len(names), names


@pytest.mark.parametrize("name", NAMES)
def test_every_question_has_a_public_check_with_a_hint_and_a_hidden_test(name, build):
    dist = classroom.assign(name, build)
    public = {
        p.stem: p.read_text("utf-8") for p in (dist / "student" / "tests").glob("*.py")
    }  # test files, so checks work in a renamed notebook ("-Copy1")
    assert (dist / "student" / "grading_guard.py").is_file()
    with zipfile.ZipFile(classroom.autograder_zip(name, build)) as archive:
        files = archive.namelist()
        graded = {
            n.removeprefix("tests/").removesuffix(".py"): archive.read(n).decode()
            for n in files
            if n.startswith("tests/") and n.endswith(".py")
        }
        environment = archive.read("environment.yml").decode()
    assert "files/grading_guard.py" in files, files
    assert "torch" in environment and "pandas" in environment, environment
    assert set(public) == set(graded), (sorted(public), sorted(graded))
    for question, source in graded.items():
        assert "hidden=False" in public[question] and "failure_message=" in public[question], (
            f"{question}: the public check needs a hint (failure_message)"
        )
        assert "hidden=True" not in public[question], f"{question}: hidden test in the student file"
        assert "hidden=True" in source, f"{question} has no hidden test"
        assert "guard" in source, f"{question}: the tests do not go through grading_guard"


@pytest.mark.parametrize("kind", ["planted", "variants"])
@pytest.mark.parametrize("name", NAMES)
def test_every_planted_mistake_and_variant_applies_to_the_reference(name, kind, build, tmp_path):
    for mistake in classroom.planted(name, kind):
        path = classroom.write_planted(mistake, tmp_path, build)
        assert path.read_text("utf-8") != classroom.reference_notebook(name, build).read_text()


def test_public_checks_run_in_a_renamed_notebook_and_name_the_likely_cause(
    build, tmp_path, monkeypatch
):
    import numpy as np
    import otter

    student = tmp_path / "student"
    shutil.copytree(classroom.assign("ranking-eval", build) / "student", student)
    (student / "ranking-eval.ipynb").rename(student / "ranking-eval-Copy1.ipynb")
    monkeypatch.chdir(student)
    monkeypatch.syspath_prepend(str(student))
    grader = otter.Notebook()

    def ndcg(scores, relevant, k, optimistic=False):
        relevant = np.asarray(relevant, dtype=bool)
        order = np.lexsort((~relevant if optimistic else relevant, -np.asarray(scores)))
        gains = relevant[order][:k]
        dcg = np.sum(gains / np.log(np.arange(2, len(gains) + 2)))  # natural log: correct
        return dcg / np.sum(1 / np.log(np.arange(2, min(relevant.sum(), k) + 2)))

    assert grader.check("q1_ndcg", {"ndcg_at_k": ndcg}).passed_all_public
    failed = repr(grader.check("q1_ndcg", {"ndcg_at_k": partial(ndcg, optimistic=True)}))
    assert "ties are pessimistic" in failed, failed


def test_a_student_is_named_by_folder_or_roster_and_the_latest_notebook_counts(tmp_path):
    (tmp_path / "alice").mkdir()
    old, new = tmp_path / "alice" / "mf-sgd.ipynb", tmp_path / "alice" / "mf-sgd-Copy1.ipynb"
    for path in (old, new, tmp_path / "bob.ipynb"):
        path.write_text("{}")
    os.utime(old, (time.time() - 60, time.time() - 60))
    roster = {"alice": {"folder": "alice", "name": "Alice Liddell"}}
    assert classroom.student_of(new, tmp_path, roster) == "Alice Liddell"
    assert classroom.student_of(tmp_path / "bob.ipynb", tmp_path, roster) == "bob"
    grades = [
        classroom.Grade(submission=f"alice/{p.name}", assignment="mf-sgd", student="Alice")
        for p in (new, old)
    ]
    (kept,) = classroom.one_per_student(grades, tmp_path)
    assert kept.submission == "alice/mf-sgd-Copy1.ipynb" and "alice/mf-sgd.ipynb" in kept.error


def test_a_roster_without_the_needed_columns_gets_a_clear_error(tmp_path):
    (tmp_path / "roster.csv").write_text("login,email\nal,al@example.org\n")
    with pytest.raises(ValueError, match="needs the columns folder and name"):
        classroom.read_roster(tmp_path)


# --- grading a batch: reference, variants, planted mistakes, gaming attempts -------------


def _tensorflow_reference(name: str, build) -> str:
    """The NeuMF reference with its PyTorch cell swapped for ``solution_tf.py``."""
    notebook = json.loads(classroom.reference_notebook(name, build).read_text("utf-8"))
    torch_cells = [c for c in notebook["cells"] if "torch.nn.Module" in "".join(c["source"])]
    assert len(torch_cells) == 1, "the PyTorch reference should sit in one cell"
    torch_cells[0]["source"] = (classroom.SOURCES / name / "solution_tf.py").read_text("utf-8")
    return json.dumps(notebook)


def _packed(edits: list, build, scratch) -> list:
    """Edits merged into as few notebooks as can still tell them apart: correct variants
    all together (full marks for the lot is full marks for each), mistakes together only
    when they break disjoint questions (each question lost is then one mistake's doing)."""
    groups: list[list] = []
    for edit in edits:
        for group in groups:
            broken = {q for other in group for q in other.fails}
            if bool(edit.fails) != bool(group[0].fails) or set(edit.fails) & broken:
                continue
            try:
                classroom.write_planted(_merged(group + [edit]), scratch, build)
            except ValueError:  # one edit's text is gone after another's
                continue
            group.append(edit)
            break
        else:
            groups.append([edit])
    return [_merged(group) for group in groups]


def _merged(group: list):
    """One planted edit doing all of ``group``'s replacements."""
    fails = {q for edit in group for q in edit.fails}
    return classroom.Planted(
        group[0].assignment,
        "+".join(edit.name for edit in group),
        "; ".join(edit.description for edit in group),
        [pair for edit in group for pair in edit.replace],
        sorted(fails, key=lambda q: int(re.match(r"q(\d+)", q).group(1))),
    )


# The two tests that read an assignment's grades run in one pytest-xdist worker
# (make test-slow: --dist loadgroup), so each assignment is graded once.
GRADED = [pytest.param(n, marks=pytest.mark.xdist_group(f"graded-{n}")) for n in NAMES]


@pytest.fixture(scope="module")
def graded(build, tmp_path_factory):
    """``graded(name)``: every edit of an assignment graded once, packed into few notebooks,
    in one folder with one sub-folder per "student" (file names as handed out; the
    reference renamed "-Copy1" and named by the roster)."""
    cache = {}

    def grade(name: str):
        if name in cache:
            return cache[name]
        folder = tmp_path_factory.mktemp(f"submissions-{name}")
        reference = classroom.reference_notebook(name, build).read_bytes()
        (folder / "reference").mkdir()
        (folder / "reference" / f"{name}-Copy1.ipynb").write_bytes(reference)
        expected = {"reference": []}
        edits = classroom.planted(name) + classroom.planted(name, "variants")
        scratch = tmp_path_factory.mktemp(f"scratch-{name}")
        for mistake in _packed(edits, build, scratch):
            path = folder / mistake.name / f"{name}.ipynb"
            classroom.write_planted(mistake, folder, build, path=path)
            expected[mistake.name] = mistake.fails
        if (classroom.SOURCES / name / "solution_tf.py").is_file():
            (folder / "tensorflow").mkdir()
            (folder / "tensorflow" / f"{name}.ipynb").write_text(_tensorflow_reference(name, build))
            expected["tensorflow"] = []
        (folder / "roster.csv").write_text(f"folder,name,id\nreference,{REFERENCE},42\n")
        expected[REFERENCE] = expected.pop("reference")
        start = time.perf_counter()
        grades = classroom.grade(folder, build=build, jobs=2)
        seconds = time.perf_counter() - start
        print(f"{name}: {len(grades)} submissions graded in {seconds:.0f} s (jobs=2)")
        cache[name] = folder, {g.student: g for g in grades}, expected
        return cache[name]

    return grade


@pytest.mark.slow
@pytest.mark.parametrize("name", GRADED)
def test_variants_score_full_marks_and_mistakes_lose_points_on_exactly_their_questions(
    name, graded
):
    _, by_student, expected = graded(name)
    assert sorted(by_student) == sorted(expected)
    full = by_student[REFERENCE]
    assert full.total == full.total_possible > 0 and not full.failed, (full.scores, full.error)
    wrong = []
    for student, fails in expected.items():
        result = by_student[student]
        if result.failed != fails:
            wrong.append(f"{student}: lost points on {result.failed}, expected {fails}")
        if fails and result.total >= full.total_possible:
            wrong.append(f"{student} scored full marks")
    assert not wrong, "\n".join(wrong)


@pytest.mark.slow
@pytest.mark.parametrize("name", GRADED)
def test_the_gradebook_lms_export_feedback_and_similarity_report_are_written(name, graded):
    folder, by_student, _ = graded(name)
    rows = list(csv.DictReader((folder / "grades.csv").open(encoding="utf-8")))
    assert [r["student"] for r in rows] == sorted(by_student), "one row per student"
    for row in rows:
        grade = by_student[row["student"]]
        assert float(row[f"{name} total"]) == pytest.approx(grade.total, abs=1e-3)
        assert row["failed"].split() == grade.failed
    lms = list(csv.DictReader((folder / "grades-lms.csv").open(encoding="utf-8")))
    assert list(lms[0])[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert lms[0]["Student"] == "Points Possible" and len(lms) == len(rows) + 1
    assert any(r["Student"] == REFERENCE and r["ID"] == "42" for r in lms), lms
    for student, grade in by_student.items():
        text = (folder / "feedback" / (re.sub(r"[^\w.-]+", "_", student) + ".md")).read_text()
        assert f"{grade.total:g} / {grade.total_possible:g}" in text
        for question in grade.failed:
            assert grade.feedback[question] and grade.feedback[question] in text, question
    pairs = list(csv.DictReader((folder / "similarity.csv").open(encoding="utf-8")))
    assert pairs and all(float(p["similarity"]) >= classroom.SIMILARITY_THRESHOLD for p in pairs)
    assert any(REFERENCE in (p["student_a"], p["student_b"]) for p in pairs), pairs


def test_a_notebook_of_no_known_assignment_gets_a_clear_error(tmp_path):
    stray = tmp_path / "homework.ipynb"
    stray.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    with pytest.raises(ValueError, match=re.escape("cannot tell which assignment")):
        classroom.assignment_of(stray)


def test_the_demo_class_has_forty_students_across_every_assignment(build, tmp_path):
    notebooks = classroom.demo_class(tmp_path, 40, build)
    assert len({p.parent.name for p in notebooks}) == len(notebooks) == 40
    assert {classroom.assignment_of(p) for p in notebooks} == set(NAMES)


def test_the_teachers_guide_shows_the_measured_time_of_grading_forty_submissions():
    record = classroom.SOURCES / "grading-time.csv"
    rows = list(csv.DictReader(record.open(encoding="utf-8")))
    assert rows and all(int(r["submissions"]) == 40 and int(r["jobs"]) == 2 for r in rows)
    guide = (classroom.ROOT / "chapters" / "teaching.md").read_text("utf-8")
    assert ":file: ../assignments/grading-time.csv" in guide


def test_the_teachers_guide_states_the_time_limits_in_force():
    guide = (classroom.ROOT / "chapters" / "teaching.md").read_text("utf-8")
    assert f"may run {classroom.CELL_TIMEOUT_S} s;" in guide
    assert f"longer than {classroom.GRADE_TIMEOUT_S} s altogether" in guide
    limits = re.findall(
        r"limit=(\d+)", "".join(p.read_text() for p in classroom.SOURCES.glob("*/*.md"))
    )
    for seconds in {int(s) for s in limits} | {20}:  # 20 s: grading_guard.call's default
        assert f"{seconds} s" in guide, f"the guide does not mention the {seconds} s test limit"
