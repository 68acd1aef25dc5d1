"""Every chapter in _toc.yml executes with small parameters, for each backend it offers;
then, in the same kernel (one backend), the code of every exercise solution."""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbclient
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SMALL = {"DATASET": '"synthetic"', "EPOCHS": "2"}
SOLUTIONS_BACKEND = "torch"
"""The run of a chapter with a ``BACKEND`` that also runs the exercise solutions."""
SOLUTION = re.compile(
    r"^(?P<fence>:{3,})\{solution\}\s+(?P<label>\S+)\n(?P<body>.*?)^(?P=fence)\s*$",
    flags=re.M | re.S,
)
PYTHON = re.compile(r"^```python\n(?P<code>.*?)^```\s*$", flags=re.M | re.S)
NOT_RUN = re.compile(r"^% not run: (?P<why>.+)$", flags=re.M)
"""A MyST comment in a solution whose code is a fragment (a line to put inside a
function of the chapter, say): the reason it cannot run as it stands."""


def _toc_files() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = [toc["root"]]
    for part in toc.get("parts", [toc]):
        names += [entry["file"] for entry in part.get("chapters", [])]
    return [ROOT / f"{name}.md" for name in names]


def _executable(notebook) -> bool:
    """A MyST notebook (with a kernelspec) that has code cells; plain pages are skipped."""
    has_code = any(c.cell_type == "code" for c in notebook.cells)
    return has_code and "kernelspec" in notebook.metadata


def _parameters_cell(notebook):
    cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    return cells[0] if cells else None


def _solutions(path: Path) -> dict[str, str]:
    """A chapter's exercise solutions: label to code (its ``python`` blocks joined), or
    to ``""`` for a solution in prose only or marked ``% not run:``."""
    found = {}
    for match in SOLUTION.finditer(path.read_text("utf-8")):
        body = match["body"]
        code = [block["code"] for block in PYTHON.finditer(body)]
        found[match["label"]] = "" if NOT_RUN.search(body) else "\n".join(code)
    return found


def _prose(body: str) -> str:
    """A solution's text without its code blocks, inline code and MyST comments."""
    body = re.sub(r"^```.*?^```\s*$", "", body, flags=re.M | re.S)
    body = re.sub(r"^%.*$", "", body, flags=re.M)
    return re.sub(r"`[^`]*`", "", body)


def _with_solutions(notebook, path: Path) -> None:
    """Append a code cell per solution with code, tagged with its exercise label."""
    for label, code in _solutions(path).items():
        if code:
            cell = nbformat.v4.new_code_cell(f"# Solution of {label}\n{code}")
            cell.metadata["exercise"] = label
            notebook.cells.append(cell)


def _failed_solution(notebook) -> str | None:
    """The exercise label of the solution cell that raised, if one did."""
    for cell in notebook.cells:
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors and "exercise" in cell.metadata:
            return cell.metadata["exercise"]
    return None


def _cases() -> list:
    cases = []
    for path in _toc_files():
        notebook = jupytext.read(path)
        if not _executable(notebook):
            continue
        cell = _parameters_cell(notebook)
        backends = ["torch", "tf"] if cell is not None and "BACKEND" in cell.source else [None]
        cases += [pytest.param(path, b, id=f"{path.stem}-{b or 'all'}") for b in backends]
    return cases


def test_every_chapter_with_code_has_a_parameters_cell():
    for path in _toc_files():
        notebook = jupytext.read(path)
        if _executable(notebook):
            assert _parameters_cell(notebook) is not None, f"{path.name} has no parameters cell"


def test_every_solution_that_runs_code_states_the_numbers_to_expect():
    silent = []
    for path in _toc_files():
        code = _solutions(path)
        for match in SOLUTION.finditer(path.read_text("utf-8")):
            body = match["body"]
            number = re.search(r"\d", _prose(body)) or "{glue:text}" in body
            if code[match["label"]] and not number:
                silent.append(f"{path.name}: {match['label']}")
    assert not silent, f"solutions that run code but give no number to expect: {silent}"


@pytest.mark.slow
@pytest.mark.parametrize(("path", "backend"), _cases())
def test_chapter_executes_with_small_parameters(path, backend, monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.setenv("RECLEARN_PLAIN_PROGRESS", "1")
    notebook = jupytext.read(path)
    cell = _parameters_cell(notebook)
    values = dict(SMALL, **({"BACKEND": f'"{backend}"'} if backend else {}))
    for name, value in values.items():
        cell.source = re.sub(rf"^{name} = .*$", f"{name} = {value}", cell.source, flags=re.M)
    if backend in (None, SOLUTIONS_BACKEND):
        _with_solutions(notebook, path)
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    except nbclient.exceptions.CellExecutionError as error:
        label = _failed_solution(notebook)
        if label is None:
            raise
        pytest.fail(f"{path.name}: the solution of exercise {label} failed:\n{error}")
