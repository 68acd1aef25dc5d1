"""Every chapter in _toc.yml executes with small parameters, for each backend it offers."""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbclient
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SMALL = {"DATASET": '"synthetic"', "EPOCHS": "2"}


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
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
