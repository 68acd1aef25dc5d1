"""Classroom tools: build the Otter assignments, grade submissions, write the student edition.

    python assignments/classroom.py assign                 # _build/assignments/<name>/...
    python assignments/classroom.py grade DIR [--out CSV]  # one CSV row per notebook in DIR
    python assignments/classroom.py student                # _build/student/{html,assignments}
    python assignments/classroom.py planted DIR            # the planted wrong submissions

Everything runs offline and without Docker: ``otter assign`` turns each master notebook
(``assignments/<name>/<name>.md``, a MyST notebook) into an autograder zip and a student
notebook, and ``otter run`` grades one submission in the current Python environment.
The Makefile targets ``assignments``, ``grade`` and ``student`` call this script.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
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
GRADE_TIMEOUT_S = 600
KERNEL_START_ATTEMPTS = 3
KERNEL_START_FAILURES = ("Kernel died before replying", "Kernel didn't respond")
"""Longest one submission may take to grade; a slower one scores zero, with the reason."""

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


def _otter(*args: str, threads: int | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run the otter command line of this Python environment."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", RECLEARN_PLAIN_PROGRESS="1")
    if threads:  # several gradings at once: one BLAS/torch thread pool each, not one per core
        env.setdefault("OMP_NUM_THREADS", str(threads))
    return subprocess.run(
        [sys.executable, "-m", "otter", *args],
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
    if zips and not force and zips[-1].stat().st_mtime > master.stat().st_mtime:
        return dist
    shutil.rmtree(work, ignore_errors=True)
    (work / "master").mkdir(parents=True)
    notebook = work / "master" / f"{name}.ipynb"
    jupytext.write(jupytext.read(master), notebook)
    done = _otter("assign", str(notebook), str(dist))
    if done.returncode != 0 or not list((dist / "autograder").glob("*.zip")):
        raise RuntimeError(f"otter assign failed for {name}:\n{done.stdout}\n{done.stderr}")
    return dist


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
    assignment: str
    scores: dict[str, float] = field(default_factory=dict)
    """Points per question."""
    possible: dict[str, float] = field(default_factory=dict)
    """Maximum points per question."""
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

    A notebook that cannot be graded at all (unreadable, timed out) gets zero points for
    every question and the reason in ``error``.
    """
    name = name or assignment_of(notebook)
    grade = Grade(submission=notebook.name, assignment=name)
    zip_path = autograder_zip(name, build)
    start = time.perf_counter()
    for _attempt in range(KERNEL_START_ATTEMPTS):
        tests, grade.error = _run_otter(notebook, zip_path, threads)
        if not any(sign in grade.error for sign in KERNEL_START_FAILURES):
            break  # a kernel that failed to start is the grader's fault: try again
    grade.seconds = time.perf_counter() - start
    for test in tests:
        if test.get("max_score") is None:  # the "Public Tests" summary entry
            continue
        grade.scores[test["name"]] = float(test.get("score") or 0.0)
        grade.possible[test["name"]] = float(test["max_score"])
    if not grade.possible:
        grade.possible = question_points(name, build)
        grade.scores = dict.fromkeys(grade.possible, 0.0)
    grade.possible = _in_question_order(grade.possible)
    return grade


def _run_otter(notebook: Path, zip_path: Path, threads: int | None) -> tuple[list[dict], str]:
    """One ``otter run``: the per-test results, and an error message ("" if none)."""
    with tempfile.TemporaryDirectory(prefix="reclearn-grade-") as out:
        try:
            done = _otter(
                "run", "--no-logo", "-a", str(zip_path), "-o", out, str(notebook),
                timeout=GRADE_TIMEOUT_S, threads=threads,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return [], f"timed out after {GRADE_TIMEOUT_S} s"
        results = Path(out) / "results.json"
        if not results.is_file():
            return [], f"otter run failed: {done.stderr.strip()[-500:]}"
        return json.loads(results.read_text(encoding="utf-8"))["tests"], ""


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


def write_csv(grades: list[Grade], path: Path) -> None:
    """One row per submission; one column per question (all assignments), then totals."""
    questions: list[str] = []
    for grade in grades:
        questions += [q for q in grade.possible if q not in questions]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["submission", "assignment", *questions, "total", "possible", "failed",
                         "seconds", "error"])  # fmt: skip
        for g in grades:
            cells = [f"{round(g.scores[q], 3):g}" if q in g.possible else "" for q in questions]
            writer.writerow([g.submission, g.assignment, *cells, f"{round(g.total, 3):g}",
                             f"{g.total_possible:g}", " ".join(g.failed), f"{g.seconds:.1f}",
                             g.error])  # fmt: skip


def grade(folder: Path, out: Path | None = None, build: Path = BUILD, jobs: int = 1) -> list[Grade]:
    """Grade every notebook in ``folder`` and write ``grades.csv`` (default: in ``folder``).

    ``jobs`` notebooks are graded at once (each in its own ``otter run`` process).
    """
    folder = Path(folder)
    notebooks = submissions_in(folder)
    if not notebooks:
        raise ValueError(f"no .ipynb files in {folder}")
    out = Path(out) if out else folder / "grades.csv"
    for name in {_assignment_or_none(n) for n in notebooks} - {None}:
        assign(name, build)  # build each autograder zip once, before any parallel work
    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None

    def one(notebook: Path) -> Grade:
        try:
            result = grade_one(notebook, build=build, threads=threads)
        except ValueError as error:
            result = Grade(submission=notebook.name, assignment="?", error=str(error))
        lost = f"; lost points on {', '.join(result.failed)}" if result.failed else ""
        print(f"{notebook.relative_to(folder)}: {result.assignment} {result.total:g}/"
              f"{result.total_possible:g} in {result.seconds:.0f} s{lost}"
              f"{'; ' + result.error if result.error else ''}", flush=True)  # fmt: skip
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        grades = list(pool.map(one, notebooks))
    write_csv(grades, out)
    print(f"wrote {out}")
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
    """The questions this mistake must lose points on (and no others)."""


def planted(name: str) -> list[Planted]:
    """The planted mistakes of an assignment, from ``assignments/<name>/planted.yml``."""
    spec = yaml.safe_load((SOURCES / name / "planted.yml").read_text(encoding="utf-8"))
    return [
        Planted(
            name,
            p["name"],
            p["description"],
            [(r["old"], r["new"]) for r in p["replace"]],
            p["fails"],
        )  # fmt: skip
        for p in spec
    ]


def write_planted(mistake: Planted, folder: Path, build: Path = BUILD) -> Path:
    """Write the reference with one mistake planted as ``<folder>/<assignment>-<name>.ipynb``."""
    notebook = json.loads(reference_notebook(mistake.assignment, build).read_text("utf-8"))
    for old, new in mistake.replace:
        hits = 0
        for cell in notebook["cells"]:
            source = "".join(cell["source"])
            hits += source.count(old)
            cell["source"] = source.replace(old, new)
        if hits == 0:
            raise ValueError(f"planted mistake {mistake.name!r}: {old!r} not in the reference")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{mistake.assignment}-{mistake.name}.ipynb"
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    return path


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


def student_edition(out: Path = STUDENT, execute: bool = True, strict: bool = True) -> Path:
    """``make student``: the book without solutions and the student assignment notebooks."""
    build_student_book(out, execute=execute, strict=strict)
    copy_student_assignments(out)
    return out


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
            for mistake in planted(name):
                print(write_planted(mistake, args.folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
