"""Classroom tools: build the Otter assignments, grade submissions, write the student edition.

    python assignments/classroom.py assign                 # _build/assignments/<name>/...
    python assignments/classroom.py grade DIR [--out CSV]  # grades.csv: a row per student
    python assignments/classroom.py student                # _build/student: book and kit
    python assignments/classroom.py planted DIR            # planted mistakes and variants
    python assignments/classroom.py demo DIR               # time grading 40 of them

Everything runs offline and without Docker: ``otter assign`` turns each master notebook
(``assignments/<name>/<name>.md``, a MyST notebook) into an autograder zip and a student
notebook, and ``otter run`` grades one submission in the current Python environment.
The Makefile targets ``assignments``, ``grade`` and ``student`` call this script.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "assignments"
BUILD = ROOT / "_build" / "assignments"
STUDENT = ROOT / "_build" / "student"
GRADE_TIMEOUT_S = 900
"""Longest one submission may take to grade; a slower one scores zero, with the reason.
Each cell and each test has its own, shorter limit, so only a grader fault reaches it."""
CELL_TIMEOUT_S = 120
"""Longest one cell of the student's notebook may run before it is interrupted (the
notebook then runs on, as if the cell had raised an error)."""
CRASH_RETRIES = 2
"""Times a notebook is graded again without the cell that killed its kernel."""
KERNEL_START_ATTEMPTS = 3
KERNEL_START_FAILURES = ("Kernel died before replying", "Kernel didn't respond")
SUPPORT_FILES = ("grading_guard.py", "requirements.txt")
"""Files of ``assignments/`` every assignment ships (its tests import the guard)."""
SIMILARITY_THRESHOLD = 0.9
"""Pairs of submissions whose graded cells are at least this similar are reported."""
UNUSED_SLOW_IMPORT = "rfc3987_syntax"
"""Kept out of Otter's process and each notebook's kernel: jsonschema (imported by
nbformat, which Otter imports) loads it when installed, for a format no notebook uses,
at about 2 s of CPU per process (a third of Otter's start)."""

# The parts of the book a student-edition build needs (sources are copied, then stripped).
BOOK_FILES = ("_config.yml", "_toc.yml", "index.md", "references.bib")
BOOK_DIRS = ("chapters", "reclearn", "_ext", "benchmarks/results")
"""With ``_ext`` (the book's Sphinx extension) and the benchmark tables the landing page shows."""
TEACHER_ONLY = ("chapters/teaching",)
"""Pages left out of the student edition (the teacher's guide)."""


# --- building the assignments ---------------------------------------------------------


def assignment_names() -> list[str]:
    """Every assignment: a folder ``assignments/<name>/`` holding ``<name>.md``."""
    return sorted(p.parent.name for p in SOURCES.glob("*/*.md") if p.stem == p.parent.name)


def master_path(name: str) -> Path:
    """The master notebook (MyST Markdown) of an assignment."""
    path = SOURCES / name / f"{name}.md"
    if not path.is_file():
        raise ValueError(f"no assignment {name!r}: expected {path}; have {assignment_names()}")
    return path


def _otter(
    *args: str, threads: int | None = None, guarded: Path | None = None, **kwargs
) -> subprocess.CompletedProcess:
    """Run the otter command line of this Python environment.

    With ``guarded`` (where to record a cell that kills the kernel), through
    :func:`guarded_otter`: with a time limit per cell.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", RECLEARN_PLAIN_PROGRESS="1")
    if threads:  # several gradings at once: one BLAS/torch thread pool each, not one per core
        env.setdefault("OMP_NUM_THREADS", str(threads))
    command = [sys.executable, "-m", "otter"]
    if guarded:
        env["RECLEARN_CRASHED_CELL"] = str(guarded)
        command = [sys.executable, str(Path(__file__).resolve()), "guarded-otter"]
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        env=env,
        **kwargs,
    )


def assign(name: str, build: Path = BUILD, force: bool = False) -> Path:
    """Run ``otter assign`` on an assignment's master notebook.

    Writes ``<build>/<name>/dist/autograder/`` (reference notebook and autograder zip with
    every test) and ``<build>/<name>/dist/student/`` (notebook without solutions, with the
    public tests only). Skipped when the zip is newer than the master, unless ``force``.

    Returns:
        The ``dist`` folder.
    """
    import jupytext

    master = master_path(name)
    work = build / name
    dist = work / "dist"
    zips = sorted((dist / "autograder").glob("*.zip"))
    sources = [master, *(SOURCES / f for f in SUPPORT_FILES)]
    newest = max(p.stat().st_mtime for p in sources)
    if zips and not force and zips[-1].stat().st_mtime > newest:
        return dist
    shutil.rmtree(work, ignore_errors=True)
    (work / "master").mkdir(parents=True)
    for support in SUPPORT_FILES:
        shutil.copy2(SOURCES / support, work / "master" / support)
    notebook = work / "master" / f"{name}.ipynb"
    jupytext.write(jupytext.read(master), notebook)
    done = _otter("assign", str(notebook), str(dist))
    if done.returncode != 0 or not list((dist / "autograder").glob("*.zip")):
        raise RuntimeError(f"otter assign failed for {name}:\n{done.stdout}\n{done.stderr}")
    _portable_init_cell(dist / "student" / f"{name}.ipynb")
    return dist


def _portable_init_cell(notebook: Path) -> None:
    """Let the student's ``otter.Notebook()`` find the notebook itself, so the public
    checks (in ``tests/``) still run in a renamed copy such as ``mf-sgd-Copy1.ipynb``."""
    content = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in content["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and "otter.Notebook(" in source:
            cell["source"] = re.sub(r"otter\.Notebook\([^)]*\)", "otter.Notebook()", source)
    notebook.write_text(json.dumps(content, indent=1), encoding="utf-8")


def autograder_zip(name: str, build: Path = BUILD) -> Path:
    """The autograder zip of an assignment (built if missing or stale)."""
    return sorted((assign(name, build) / "autograder").glob("*.zip"))[-1]


def reference_notebook(name: str, build: Path = BUILD) -> Path:
    """The reference solution as a notebook (what a perfect student hands in)."""
    return assign(name, build) / "autograder" / f"{name}.ipynb"


# --- grading ----------------------------------------------------------------------------


@dataclass
class Grade:
    """The result of grading one submission."""

    submission: str
    """Path of the notebook, relative to the submissions folder."""
    assignment: str
    student: str = ""
    """Who handed it in: the roster's name, else the student's folder, else the file."""
    scores: dict[str, float] = field(default_factory=dict)
    """Points per question."""
    possible: dict[str, float] = field(default_factory=dict)
    """Maximum points per question."""
    feedback: dict[str, str] = field(default_factory=dict)
    """Otter's message per question: each failed test with its message and hint."""
    seconds: float = 0.0
    error: str = ""

    @property
    def total(self) -> float:
        return float(sum(self.scores.values()))

    @property
    def total_possible(self) -> float:
        return float(sum(self.possible.values()))

    @property
    def failed(self) -> list[str]:
        """Questions that lost points, in question order."""
        return [q for q in self.possible if self.scores.get(q, 0.0) < self.possible[q] - 1e-9]


def assignment_of(notebook: Path) -> str:
    """The assignment a notebook belongs to, from the metadata Otter writes into it."""
    try:
        metadata = json.loads(notebook.read_text(encoding="utf-8")).get("metadata", {})
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{notebook} is not a readable notebook: {error}") from error
    name = (metadata.get("otter") or {}).get("assignment_name")
    if name in assignment_names():
        return name
    by_file = [n for n in assignment_names() if n in notebook.stem]
    if len(by_file) == 1:
        return by_file[0]
    raise ValueError(
        f"cannot tell which assignment {notebook.name} is: its metadata has no "
        f"otter.assignment_name and its file name names none of {assignment_names()}"
    )


def grade_one(
    notebook: Path, name: str | None = None, build: Path = BUILD, threads: int | None = None
) -> Grade:
    """Grade one notebook with ``otter run`` (no container) against every test.

    Each cell runs at most ``CELL_TIMEOUT_S``; each test limits the student's code itself
    (``grading_guard``). A cell that kills the kernel is left out and the notebook graded
    again, so it costs only what depends on that cell. A notebook that cannot be graded at
    all gets zero points for every question and the reason in ``error``.
    """
    name = name or assignment_of(notebook)
    grade = Grade(submission=notebook.name, assignment=name)
    zip_path = autograder_zip(name, build)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reclearn-submission-") as tmp:
        copy = Path(tmp) / notebook.name
        shutil.copy2(notebook, copy)
        tests, grade.error = _run_with_retries(copy, zip_path, threads)
    grade.seconds = time.perf_counter() - start
    for test in tests:
        if test.get("max_score") is None:  # the "Public Tests" summary entry
            continue
        grade.scores[test["name"]] = float(test.get("score") or 0.0)
        grade.possible[test["name"]] = float(test["max_score"])
        grade.feedback[test["name"]] = str(test.get("output") or "").strip()
    if not grade.possible:
        grade.possible = question_points(name, build)
        grade.scores = dict.fromkeys(grade.possible, 0.0)
    grade.possible = _in_question_order(grade.possible)
    return grade


def _run_with_retries(notebook: Path, zip_path: Path, threads: int | None):
    """``otter run``, again after a failed kernel start or without a crashing cell."""
    notes, tests, error = [], [], ""
    for _attempt in range(KERNEL_START_ATTEMPTS + CRASH_RETRIES):
        crashed = notebook.with_suffix(".crashed")
        crashed.unlink(missing_ok=True)
        tests, error = _run_otter(notebook, zip_path, threads, crashed)
        if crashed.is_file() and len(notes) < CRASH_RETRIES:
            notes.append(_drop_cell(notebook, crashed.read_text(encoding="utf-8")))
        elif not any(sign in error for sign in KERNEL_START_FAILURES):
            break  # a kernel that failed to start is the grader's fault: try again
    return tests, "; ".join([*notes, error] if error else notes)


def _drop_cell(notebook: Path, source: str) -> str:
    """Empty the code cell with this source in ``notebook``; returns a note saying so."""
    content = json.loads(notebook.read_text(encoding="utf-8"))
    for number, cell in enumerate(content["cells"], start=1):
        own = "".join(cell["source"]).strip()
        if cell["cell_type"] == "code" and own and own in source:
            cell["source"] = "# left out by the grader: this cell crashed the kernel\n"
            notebook.write_text(json.dumps(content), encoding="utf-8")
            return f"cell {number} crashed the kernel and was left out"
    return "a cell the grader added crashed the kernel"


def _run_otter(
    notebook: Path, zip_path: Path, threads: int | None, crashed: Path
) -> tuple[list[dict], str]:
    """One ``otter run``: the per-test results, and an error message ("" if none)."""
    with tempfile.TemporaryDirectory(prefix="reclearn-grade-") as out:
        try:
            done = _otter(
                "run", "--no-logo", "-a", str(zip_path), "-o", out, str(notebook),
                timeout=GRADE_TIMEOUT_S, threads=threads, guarded=crashed,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return [], f"timed out after {GRADE_TIMEOUT_S} s"
        results = Path(out) / "results.json"
        if not results.is_file():
            return [], f"otter run failed: {done.stderr.strip()[-500:]}"
        return json.loads(results.read_text(encoding="utf-8"))["tests"], ""


def guarded_otter(args: list[str]) -> None:
    """The ``otter`` command line with a time limit per student cell.

    Otter executes the notebook with nbconvert's ``ExecutePreprocessor``; this swaps in a
    subclass that interrupts a student's cell after ``CELL_TIMEOUT_S`` (then goes on, as
    after an error) and, when a cell kills the kernel, writes its source to the file named
    by ``$RECLEARN_CRASHED_CELL``. Cells Otter adds to run the tests have no cell limit:
    every test limits the student's code it calls (``grading_guard.call``). The
    notebook's ``grader.check_all()`` cell is skipped (it would run every test again).
    """
    sys.modules.setdefault(UNUSED_SLOW_IMPORT, None)  # importing it now fails at once
    import nbconvert.preprocessors
    from nbclient.exceptions import DeadKernelError
    from otter.cli import cli
    from traitlets import Bool, Dict, List

    class Guarded(nbconvert.preprocessors.ExecutePreprocessor):
        interrupt_on_timeout = Bool(True)
        extra_arguments = List([f"--IPKernelApp.exec_lines={_KEEP_OUT_OF_KERNEL}"])
        error_on_timeout = Dict(
            {
                "ename": "TimeoutError",
                "evalue": f"stopped after {CELL_TIMEOUT_S} s",
                "traceback": [],
            }
        )

        def preprocess_cell(self, cell, resources, index):
            if _checks_all(cell.source):  # each test runs once: at its check, else last
                return cell, resources
            self.timeout = None if _runs_tests(cell.source) else CELL_TIMEOUT_S
            try:
                return super().preprocess_cell(cell, resources, index)
            except DeadKernelError:
                Path(os.environ["RECLEARN_CRASHED_CELL"]).write_text(cell.source, "utf-8")
                raise

    nbconvert.preprocessors.ExecutePreprocessor = Guarded
    cli.main(args, prog_name="otter")


_KEEP_OUT_OF_KERNEL = f"import sys; sys.modules.setdefault({UNUSED_SLOW_IMPORT!r}, None)"


def _runs_tests(source: str) -> bool:
    """Whether a cell only runs tests (Otter's own cells, or the student's
    ``grader.check(...)`` lines), whose every test limits the code it calls."""
    if "from otter.execute import Checker" in source:
        return True
    lines = [line for line in source.splitlines() if line.strip()]
    check = re.compile(r"\s*\w+(\(\))?\.check(_all)?\(\s*(\"\w+\")?\s*\)\s*$")
    return bool(lines) and all(check.match(line) for line in lines)


def _checks_all(source: str) -> bool:
    """Whether a cell only runs ``grader.check_all()``, which the grader skips: Otter's
    last cell runs every test that no ``grader.check`` ran, so each test runs once."""
    lines = [line for line in source.splitlines() if line.strip()]
    check_all = re.compile(r"\s*\w+(\(\))?\.check_all\(\s*\)\s*$")
    return bool(lines) and all(check_all.match(line) for line in lines)


def question_points(name: str, build: Path = BUILD) -> dict[str, float]:
    """Maximum points per question, read from the reference notebook's test metadata."""
    metadata = json.loads(reference_notebook(name, build).read_text(encoding="utf-8"))["metadata"]
    points = {}
    for question, source in metadata["otter"]["tests"].items():
        match = re.search(r"^points = ([\d.]+)", source, flags=re.M)
        points[question] = float(match.group(1)) if match else 0.0
    return _in_question_order(points)


def _in_question_order(by_question: dict) -> dict:
    """The entries in the order students meet the questions (``q1_...``, ``q2_...``):
    Otter's own order differs between its versions."""

    def number(question: str) -> tuple[int, str]:
        match = re.match(r"q(\d+)", question)
        return (int(match.group(1)) if match else 0, question)

    return dict(sorted(by_question.items(), key=lambda item: number(item[0])))


def submissions_in(folder: Path) -> list[Path]:
    """Every notebook under ``folder`` (checkpoints left out), in name order."""
    return sorted(
        p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and p.is_file()
    )


# --- students, gradebook, feedback ------------------------------------------------------

ROSTER = "roster.csv"
"""Optional file in the submissions folder: columns ``folder`` (a student's folder or
notebook stem), ``name``, and any of ``id``, ``sis_user_id``, ``sis_login_id``,
``section`` (copied into the LMS export)."""
LMS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
"""The identity columns of a Canvas gradebook import, in Canvas's order."""


def read_roster(folder: Path) -> dict[str, dict[str, str]]:
    """The roster of a submissions folder, by ``folder`` key (empty if there is none)."""
    path = folder / ROSTER
    if not path.is_file():
        return {}
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    if rows and not {"folder", "name"} <= set(rows[0]):
        raise ValueError(f"{path} needs the columns folder and name; it has {sorted(rows[0])}")
    return {row["folder"].strip(): row for row in rows}


def student_of(notebook: Path, folder: Path, roster: dict[str, dict[str, str]]) -> str:
    """The student's folder under ``folder`` (``alice/mf-sgd.ipynb``: alice), else the
    notebook's stem; the roster's name for it when the roster has one."""
    relative = notebook.relative_to(folder)
    key = relative.parts[0] if len(relative.parts) > 1 else notebook.stem
    return roster[key]["name"] if key in roster else key


def one_per_student(grades: list[Grade], folder: Path) -> list[Grade]:
    """The latest notebook per student and assignment (by modification time); the others
    are named in its ``error``."""
    latest: dict[tuple[str, str], list[Grade]] = {}
    for g in grades:
        latest.setdefault((g.student, g.assignment), []).append(g)
    kept = []
    for group in latest.values():
        group.sort(key=lambda g: (folder / g.submission).stat().st_mtime)
        *older, last = group
        if older:
            ignored = ", ".join(g.submission for g in older)
            note = f"graded the latest; ignored {ignored}"
            last.error = "; ".join(filter(None, [last.error, note]))
        kept.append(last)
    return sorted(kept, key=lambda g: (g.student, g.assignment))


def write_csv(grades: list[Grade], path: Path) -> None:
    """One row per student; per assignment its questions and total, then notes."""
    columns: dict[str, list[str]] = {}
    for g in grades:
        questions = columns.setdefault(g.assignment, [])
        questions += [q for q in g.possible if q not in questions]
    rows: dict[str, dict[str, str]] = {}
    for g in grades:
        row = rows.setdefault(g.student, {"student": g.student})
        row.update({q: f"{round(g.scores.get(q, 0.0), 3):g}" for q in g.possible})
        row[f"{g.assignment} total"] = f"{round(g.total, 3):g}"
        row[f"{g.assignment} possible"] = f"{g.total_possible:g}"
        notes = {"submissions": g.submission, "failed": " ".join(g.failed)}
        notes.update(seconds=f"{g.seconds:.1f}", error=g.error)
        for key, value in notes.items():
            row[key] = " ".join(filter(None, [row.get(key, ""), value]))
    header = ["student"]
    for name, questions in columns.items():
        header += [*questions, f"{name} total", f"{name} possible"]
    header += ["submissions", "failed", "seconds", "error"]
    _write_rows(path, header, rows.values())


def write_lms(grades: list[Grade], roster: dict[str, dict[str, str]], path: Path) -> None:
    """A Canvas-style gradebook import: identity columns, then one column per assignment."""
    names = sorted({g.assignment for g in grades})
    by_name = {row["name"]: row for row in roster.values()}
    rows: dict[str, dict[str, str]] = {}
    for g in grades:
        person = by_name.get(g.student, {})
        keys = ("id", "sis_user_id", "sis_login_id", "section")
        identity = {"Student": g.student}
        identity.update({c: person.get(k, "") for c, k in zip(LMS_COLUMNS[1:], keys, strict=True)})
        row = rows.setdefault(g.student, identity)
        row[g.assignment] = f"{round(g.total, 3):g}"
    possible = {g.assignment: f"{g.total_possible:g}" for g in grades}
    points_row = {"Student": "Points Possible", **possible}
    _write_rows(path, [*LMS_COLUMNS, *names], [points_row, *rows.values()])


def _write_rows(path: Path, header: list[str], rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, restval="")
        writer.writeheader()
        writer.writerows(rows)


def write_feedback(grades: list[Grade], folder: Path) -> list[Path]:
    """``folder/<student>.md`` per student: every question's points and Otter's message
    (each failed test with its assertion message and hint)."""
    folder.mkdir(parents=True, exist_ok=True)
    by_student: dict[str, list[Grade]] = {}
    for g in grades:
        by_student.setdefault(g.student, []).append(g)
    paths = []
    for student, own in by_student.items():
        lines = [f"# Feedback for {student}", ""]
        for g in own:
            lines += [f"## {g.assignment}: {g.total:g} / {g.total_possible:g}", ""]
            lines += [f"Graded file: `{g.submission}`.", ""]
            if g.error:
                lines += [f"Note from the grader: {g.error}", ""]
            for q, possible in g.possible.items():
                message = g.feedback.get(q) or "no message (the question was not graded)"
                lines += [f"### {q}: {g.scores.get(q, 0.0):g} / {possible:g}", ""]
                lines += ["```text", message, "```", ""]
        path = folder / (re.sub(r"[^\w.-]+", "_", student) + ".md")
        path.write_text("\n".join(lines), encoding="utf-8")
        paths.append(path)
    return paths


# --- similarity -------------------------------------------------------------------------


def graded_code(notebook: Path, template: Path) -> str:
    """The student's own code: code cells not in the handed-out notebook, without comments,
    blank lines and ``grader.check`` calls."""
    given = {_normalise(c) for c in _code_cells(template)}
    own = [_normalise(c) for c in _code_cells(notebook)]
    return "\n".join(c for c in own if c and c not in given)


def _code_cells(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def _normalise(source: str) -> str:
    lines = (line.split("#", 1)[0].rstrip() for line in source.splitlines())
    return "\n".join(line for line in lines if line.strip() and "grader.check" not in line)


def similarity_report(
    grades: list[Grade], folder: Path, path: Path, build: Path = BUILD
) -> list[tuple]:
    """Write the pairs of one assignment's submissions whose own code is near-identical
    (``difflib`` ratio at least ``SIMILARITY_THRESHOLD``), most similar first."""
    import difflib

    pairs = []
    for name in sorted({g.assignment for g in grades}):
        template = assign(name, build) / "student" / f"{name}.ipynb"
        own = [g for g in grades if g.assignment == name]
        code = {g.student: graded_code(folder / g.submission, template) for g in own}
        for a, b in itertools.combinations(sorted(code), 2):
            matcher = difflib.SequenceMatcher(None, code[a], code[b], autojunk=False)
            if matcher.quick_ratio() >= SIMILARITY_THRESHOLD:
                ratio = matcher.ratio()
                if ratio >= SIMILARITY_THRESHOLD:
                    pairs.append((name, a, b, round(ratio, 3)))
    pairs.sort(key=lambda pair: -pair[3])
    header = ["assignment", "student_a", "student_b", "similarity"]
    _write_rows(path, header, [dict(zip(header, pair, strict=True)) for pair in pairs])
    return pairs


# --- grading a folder -------------------------------------------------------------------


def grade(folder: Path, out: Path | None = None, build: Path = BUILD, jobs: int = 1) -> list[Grade]:
    """Grade every notebook in ``folder``; write the gradebook and the reports.

    Writes ``grades.csv`` (default: in ``folder``; one row per student), beside it
    ``grades-lms.csv`` (a Canvas-style import), ``similarity.csv`` and ``feedback/<student>.md``.
    ``jobs`` notebooks are graded at once (each in its own ``otter run`` process).

    Returns:
        One grade per student and assignment.
    """
    folder = Path(folder)
    notebooks = submissions_in(folder)
    if not notebooks:
        raise ValueError(f"no .ipynb files in {folder}")
    roster = read_roster(folder)
    out = Path(out) if out else folder / "grades.csv"
    for name in {_assignment_or_none(n) for n in notebooks} - {None}:
        assign(name, build)  # build each autograder zip once, before any parallel work
    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None

    def one(notebook: Path) -> Grade:
        try:
            result = grade_one(notebook, build=build, threads=threads)
        except ValueError as error:
            result = Grade(submission=notebook.name, assignment="?", error=str(error))
        result.submission = str(notebook.relative_to(folder))
        result.student = student_of(notebook, folder, roster)
        lost = f"; lost points on {', '.join(result.failed)}" if result.failed else ""
        print(f"{result.submission}: {result.assignment} {result.total:g}/"
              f"{result.total_possible:g} in {result.seconds:.0f} s{lost}"
              f"{'; ' + result.error if result.error else ''}", flush=True)  # fmt: skip
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        grades = one_per_student(list(pool.map(one, notebooks)), folder)
    write_csv(grades, out)
    write_lms(grades, roster, out.with_name(f"{out.stem}-lms.csv"))
    write_feedback(grades, out.parent / "feedback")
    graded = [g for g in grades if g.assignment != "?"]
    similarity_report(graded, folder, out.with_name("similarity.csv"), build)
    print(f"wrote {out}, its LMS export, similarity.csv and feedback/")
    return grades


def _assignment_or_none(notebook: Path) -> str | None:
    try:
        return assignment_of(notebook)
    except ValueError:
        return None


# --- planted wrong submissions -----------------------------------------------------------


@dataclass(frozen=True)
class Planted:
    """A typical mistake, planted in the reference solution by string replacement."""

    assignment: str
    name: str
    description: str
    replace: list[tuple[str, str]]
    fails: list[str]
    """The questions this mistake must lose points on (and no others); none for a
    correct variant."""


def planted(name: str, kind: str = "planted") -> list[Planted]:
    """The planted mistakes of an assignment, from ``assignments/<name>/planted.yml``, or
    with ``kind="variants"`` its correct variants (``variants.yml``: full marks)."""
    spec = yaml.safe_load((SOURCES / name / f"{kind}.yml").read_text(encoding="utf-8"))
    return [
        Planted(
            name,
            p["name"],
            p["description"],
            [(r["old"], r["new"]) for r in p["replace"]],
            p.get("fails", []),
        )  # fmt: skip
        for p in spec
    ]


def write_planted(
    mistake: Planted, folder: Path, build: Path = BUILD, path: Path | None = None
) -> Path:
    """Write the reference with one mistake planted as ``path`` (default
    ``<folder>/<assignment>-<name>.ipynb``)."""
    notebook = json.loads(reference_notebook(mistake.assignment, build).read_text("utf-8"))
    for old, new in mistake.replace:
        hits = 0
        for cell in notebook["cells"]:
            source = "".join(cell["source"])
            hits += source.count(old)
            cell["source"] = source.replace(old, new)
        if hits == 0:
            raise ValueError(f"planted mistake {mistake.name!r}: {old!r} not in the reference")
    path = path or folder / f"{mistake.assignment}-{mistake.name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    return path


def demo_class(folder: Path, count: int = 40, build: Path = BUILD) -> list[Path]:
    """Write ``count`` submissions, one folder per student (``student-01/mf-sgd.ipynb``),
    cycling through every assignment's reference, correct variants and planted
    mistakes (gaming attempts and hangs included), to time grading a class.

    Returns:
        The notebooks written.
    """
    pool = [(name, None) for name in assignment_names()]
    for name in assignment_names():
        pool += [(name, p) for p in planted(name, "variants") + planted(name)]
    written = []
    for number, (name, edit) in zip(range(1, count + 1), itertools.cycle(pool)):
        path = folder / f"student-{number:02d}" / f"{name}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        if edit is None:
            shutil.copy2(reference_notebook(name, build), path)
        else:
            write_planted(edit, folder, build, path=path)
        written.append(path)
    return written


def _machine() -> str:
    """The number of CPU cores this process may use and their model."""
    info = Path("/proc/cpuinfo")
    text = info.read_text() if info.is_file() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    cores = len(os.sched_getaffinity(0))
    return f"{cores} cores, {model[1] if model else platform.machine()}"


def _children_cpu_seconds() -> float:
    """CPU time (user and system) of this process's finished child processes."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_demo_class(
    folder: Path, record: Path, count: int = 40, jobs: int = 2, build: Path = BUILD
) -> float:
    """Grade :func:`demo_class`'s submissions, ``jobs`` at once; add a row to ``record``
    (a CSV that the teacher's guide shows) with the wall time, the CPU time of the
    grading processes, the machine and its load before the run.

    Returns:
        The wall time in seconds.
    """
    shutil.rmtree(folder, ignore_errors=True)
    demo_class(folder, count, build)
    for name in assignment_names():
        assign(name, build)  # not timed: built once per course, not per grading
    load = os.getloadavg()[0]
    cpu = _children_cpu_seconds()
    start = time.perf_counter()
    grades = grade(folder, build=build, jobs=jobs)
    seconds = time.perf_counter() - start
    cpu = _children_cpu_seconds() - cpu
    row = {
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "machine": _machine(),
        "load before": f"{load:.1f}",
        "submissions": len(grades),
        "jobs": jobs,
        "minutes": f"{seconds / 60:.1f}",
        "CPU minutes": f"{cpu / 60:.1f}",
        "slowest notebook (s)": f"{max(g.seconds for g in grades):.0f}",
    }
    earlier = list(csv.DictReader(record.open(encoding="utf-8"))) if record.is_file() else []
    _write_rows(record, list(row), [*earlier, row])
    print(f"{len(grades)} graded in {seconds / 60:.1f} min (jobs={jobs}): {record}")
    return seconds


# --- the student edition -------------------------------------------------------------------

_OPEN = re.compile(r"^(?P<indent>\s*)(?P<fence>:{3,}|`{3,})\{(?P<name>solution(?:-start)?)\}")
_OPEN_ANY = re.compile(r"^\s*(?P<fence>:{3,}|`{3,})\{(?P<name>[\w-]+)\}")


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and set(stripped) == {fence[0]} and len(stripped) >= len(fence)


def strip_solutions(text: str) -> str:
    """A MyST source without its sphinx-exercise solutions.

    Removes every ``{solution}`` directive (colon or backtick fence) with its body, and
    every ``{solution-start}`` ... ``{solution-end}`` range, together with a blank line
    that follows. Exercises stay.
    """
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _OPEN.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        gated = match["name"] == "solution-start"
        i = _skip_directive(lines, i, match["fence"])
        if gated:  # skip to the end of the matching solution-end directive
            while i < len(lines):
                end = _OPEN_ANY.match(lines[i])
                i = _skip_directive(lines, i, end["fence"]) if end else i + 1
                if end and end["name"] == "solution-end":
                    break
        if i < len(lines) and not lines[i].strip():
            i += 1
    return "".join(out)


def _skip_directive(lines: list[str], start: int, fence: str) -> int:
    """Index of the line after the directive that opens at ``start``."""
    for j in range(start + 1, len(lines)):
        if _closes(lines[j], fence):
            return j + 1
    raise ValueError(f"directive opened at line {start + 1} with {fence} is never closed")


def copy_stripped_book(destination: Path) -> None:
    """Copy the book's sources to ``destination`` with every solution removed."""
    for name in BOOK_FILES:
        shutil.copy2(ROOT / name, destination / name)
    for name in BOOK_DIRS:
        shutil.copytree(
            ROOT / name, destination / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    for source in (destination / "chapters").glob("*.md"):
        source.write_text(strip_solutions(source.read_text("utf-8")), encoding="utf-8")
    toc = yaml.safe_load((destination / "_toc.yml").read_text("utf-8"))
    for part in toc.get("parts", [toc]):
        part["chapters"] = [c for c in part["chapters"] if c.get("file") not in TEACHER_ONLY]
    (destination / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    for page in TEACHER_ONLY:
        (destination / f"{page}.md").unlink(missing_ok=True)


def build_student_book(out: Path, execute: bool = True, strict: bool = True) -> Path:
    """Build the book without solutions into ``out/html``.

    The sources are copied to a temporary folder and stripped there; the main build's
    execution cache (``_build/.jupyter_cache``) is reused when present, so with a warm cache
    no chapter runs again. Only the HTML is kept (the cache holds unstripped notebooks).
    """
    with tempfile.TemporaryDirectory(prefix="reclearn-student-") as tmp:
        source = Path(tmp)
        copy_stripped_book(source)
        cache = ROOT / "_build" / ".jupyter_cache"
        if execute and cache.is_dir():
            shutil.copytree(cache, source / "_build" / ".jupyter_cache")
        command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(source)]
        if strict:
            command += ["-W", "-n"]
        if not execute:
            config = yaml.safe_load((source / "_config.yml").read_text("utf-8"))
            config["execute"]["execute_notebooks"] = "off"
            (source / "_config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", RECLEARN_PLAIN_PROGRESS="1")
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"student book build failed:\n{done.stdout[-3000:]}{done.stderr}")
        shutil.rmtree(out / "html", ignore_errors=True)
        out.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source / "_build" / "html", out / "html")
    return out / "html"


def copy_student_assignments(out: Path, build: Path = BUILD) -> Path:
    """Copy each assignment's student folder (no solutions, public tests only) to ``out``."""
    target = out / "assignments"
    shutil.rmtree(target, ignore_errors=True)
    for name in assignment_names():
        shutil.copytree(assign(name, build) / "student", target / name)
    return target


PACKAGE_FILES = ("pyproject.toml", "requirements.txt", "reclearn", "data")
"""What ``pip install`` needs to install reclearn with its bundled data, offline."""
HOW_TO = """\
# Recommender-systems course: student kit

- `html/index.html`: the book (exercises without their solutions).
- `assignments/<name>/<name>.ipynb`: the assignments, with the public checks
  (`tests/`) and `grading_guard.py`, which the checks use; keep them beside the notebook.
- `package/`: the `reclearn` package the book and the assignments import, with the
  MovieLens data inside (nothing is downloaded).

Install once (Python 3.11 or newer), in a fresh virtual environment:

    python -m venv .venv && . .venv/bin/activate
    pip install -r package/requirements.txt && pip install "./package[torch]"
    jupyter lab assignments/

Work in the notebook as handed out: fill in every `...`, run each `grader.check(...)`
cell for instant feedback with a hint, and keep the function names and arguments.
Renaming the file (say `mf-sgd-Copy1.ipynb`) is fine: the checks read `tests/`.
Your teacher grades with further, hidden checks: passing every public check is
necessary, not sufficient. Hidden checks time each function (a function that never
returns loses its question), reject code that calls reclearn's own implementation of
what a question asks for, or that redefines numpy's comparison functions (the question
scores 0), and check that experiments never train on the data they are scored on.

Hand in the notebook file itself (`<name>.ipynb`), saved after a full run
(Kernel > Restart and run all), in the way your teacher says: a folder per student or
your name in the file name.
"""


def copy_student_package(out: Path) -> Path:
    """Copy the installable reclearn package (sources, data, pins) to ``out/package``."""
    target = out / "package"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in PACKAGE_FILES:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "downloads")
            shutil.copytree(ROOT / name, target / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, target / name)
    return target


def student_kit(out: Path = STUDENT, build: Path = BUILD) -> Path:
    """The student kit without the book: assignments, package with data, how-to."""
    copy_student_assignments(out, build)
    copy_student_package(out)
    (out / "HOW-TO.md").write_text(HOW_TO, encoding="utf-8")
    return out


def student_edition(out: Path = STUDENT, execute: bool = True, strict: bool = True) -> Path:
    """``make student``: the book without solutions, and the kit (assignments, package
    with the data, how-to) to hand out."""
    build_student_book(out, execute=execute, strict=strict)
    return student_kit(out)


# --- command line ------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_assign = sub.add_parser("assign", help="run otter assign on every master notebook")
    p_assign.add_argument("--force", action="store_true", help="rebuild even if up to date")
    p_grade = sub.add_parser("grade", help="grade every notebook in a folder")
    p_grade.add_argument("submissions", type=Path)
    p_grade.add_argument("--out", type=Path, help="CSV to write (default SUBMISSIONS/grades.csv)")
    p_grade.add_argument("--jobs", type=int, default=1, help="notebooks graded at once (1)")
    p_student = sub.add_parser("student", help="write the student edition to _build/student")
    p_student.add_argument("--out", type=Path, default=STUDENT)
    p_planted = sub.add_parser("planted", help="write the planted wrong submissions to a folder")
    p_planted.add_argument("folder", type=Path)
    p_demo = sub.add_parser("demo", help="time grading a class of planted submissions")
    p_demo.add_argument("folder", type=Path, help="where to write them (emptied first)")
    p_demo.add_argument("--count", type=int, default=40, help="submissions (40)")
    p_demo.add_argument("--jobs", type=int, default=2, help="notebooks graded at once (2)")
    p_demo.add_argument("--record", type=Path, default=SOURCES / "grading-time.csv")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["guarded-otter"]:  # internal: how grade_one runs otter
        guarded_otter(argv[1:])
        return 0
    args = parser.parse_args(argv)

    if args.command == "assign":
        for name in assignment_names():
            print(f"{name}: {assign(name, force=args.force)}")
    elif args.command == "grade":
        grade(args.submissions, args.out, jobs=args.jobs)
    elif args.command == "student":
        out = student_edition(args.out)
        print(f"student edition in {out}: open {out / 'html' / 'index.html'}")
    elif args.command == "planted":
        args.folder.mkdir(parents=True, exist_ok=True)
        for name in assignment_names():
            shutil.copy2(reference_notebook(name), args.folder / f"{name}-reference.ipynb")
            for mistake in planted(name) + planted(name, "variants"):
                print(write_planted(mistake, args.folder))
    elif args.command == "demo":
        time_demo_class(args.folder, args.record, args.count, args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
