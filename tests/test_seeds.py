"""Named random streams: unique, documented, stable, and the only way to seed a draw."""

import ast
import re
from pathlib import Path

import numpy as np
import pytest

import reclearn
from reclearn.seeds import Stream, rng

PACKAGE = Path(reclearn.__file__).parent
LITERAL_STREAM = re.compile(r"default_rng\(\s*\[")


def test_stream_values_are_unique():
    values = [stream.value for stream in Stream]
    assert len(values) == len(set(values))


def test_stream_numbers_are_the_ones_every_stored_result_was_drawn_with():
    assert {stream.name: stream.value for stream in Stream} == {
        "WEIGHTS": 0,
        "BATCH_ORDER": 1,
        "VALIDATION": 2,
        "NEGATIVES": 3,
        "WARM_NEGATIVES": 4,
        "COLD_ITEMS": 5,
        "COLD_USERS": 6,
        "BOOTSTRAP": 7,
        "PAIRED_BOOTSTRAP": 8,
        "PERMUTATION": 9,
        "DELETION": 10,
        "THINNING": 11,
        "SEQUENCE_NEGATIVES": 12,
        "CANDIDATES": 99,
    }


def test_every_stream_has_a_docstring_saying_who_draws_from_it():
    tree = ast.parse((PACKAGE / "seeds.py").read_text(encoding="utf-8"))
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    (body,) = [n.body for n in classes if n.name == "Stream"]
    documented = {
        statement.targets[0].id
        for statement, following in zip(body, body[1:], strict=False)
        if isinstance(statement, ast.Assign)
        and isinstance(following, ast.Expr)
        and isinstance(following.value, ast.Constant)
        and isinstance(following.value.value, str)
        and following.value.value.strip()
    }
    assert documented == set(Stream.__members__)


@pytest.mark.parametrize("stream", list(Stream), ids=lambda s: s.name)
def test_a_named_stream_draws_what_its_number_drew_before(stream):
    expected = np.random.default_rng([7, stream.value]).random(4)
    assert np.array_equal(rng(7, stream).random(4), expected)


def _modules() -> list:
    """Every module but seeds.py."""
    paths = sorted(PACKAGE.rglob("*.py"))
    return [
        pytest.param(path, id=path.relative_to(PACKAGE).as_posix())
        for path in paths
        if path.name != "seeds.py"
    ]


@pytest.mark.parametrize("path", _modules())
def test_no_module_but_seeds_calls_default_rng_with_a_literal_list(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    offending = [n for n, line in enumerate(lines, 1) if LITERAL_STREAM.search(line)]
    assert offending == [], f"use seeds.rng(seed, Stream.NAME), not lines {offending}"
