"""Checks every assignment test runs around the student's code (shipped with the tests).

A test reloads this module (``guard = importlib.reload(grading_guard)``), so a notebook
that changed it in memory gets the file's version back, then calls the student's function
through :func:`call`. That call

- stops after ``limit`` seconds, so a function that hangs loses its question only;
- fails when numpy's comparison functions were replaced (``np.isclose = ...``): the
  test's comparisons would then prove nothing;
- fails when the function runs code from a file of the reclearn package the question
  forbids (``reclearn/metrics.py`` for NDCG...), however it was reached: through an
  alias, a wrapper or ``reclearn.build``.
"""

from __future__ import annotations

import builtins
import contextlib
import signal
import sys
import types
from pathlib import Path

import numpy as np

COMPARISONS = ("isclose", "allclose", "array_equal", "array_equiv")
"""numpy functions the tests compare with; each must still be numpy's own."""
BUILTINS = ("abs", "all", "any", "float", "int", "len", "isinstance", "set", "sorted")
"""Builtins the tests rely on; each must still be the interpreter's own."""


class TimeLimit(AssertionError):
    """A student's function ran longer than the test allows."""


class Forbidden(AssertionError):
    """A student's function ran code of reclearn that the question forbids."""


def check_untampered() -> None:
    """Fail when numpy's comparisons or the builtins the tests use were replaced.

    Raises:
        AssertionError: naming the replaced function.
    """
    numpy_dir = str(Path(np.__file__).parent)
    for name in COMPARISONS:
        function = getattr(np, name, None)
        inner = getattr(function, "__wrapped__", function)  # numpy's dispatcher wraps it
        code = getattr(inner, "__code__", None)
        own = str(getattr(function, "__module__", "")).startswith("numpy")
        if not own or code is None or not code.co_filename.startswith(numpy_dir):
            raise AssertionError(
                f"np.{name} was replaced by the notebook: the grader's comparisons cannot "
                "be trusted, so this question scores 0. Never redefine numpy functions."
            )
    for name in BUILTINS:
        if not isinstance(getattr(builtins, name), (types.BuiltinFunctionType, type)):
            raise AssertionError(f"the builtin {name} was replaced: this question scores 0")


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise :class:`TimeLimit` in the main thread after ``seconds`` (SIGALRM)."""

    def stop(signum, frame):
        raise TimeLimit(f"stopped after {seconds:g} s: does a loop never end?")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _forbidden_caller(forbidden: tuple[str, ...], allowed: tuple[str, ...], found: list):
    """A ``sys.setprofile`` hook that records calls into forbidden reclearn files."""
    import reclearn

    package = Path(reclearn.__file__).parent
    paths = tuple(str(package / name) for name in forbidden)

    def inside_allowed(frame) -> bool:
        while frame is not None:
            if frame.f_code.co_name in allowed and frame.f_code.co_filename.startswith(paths):
                return True
            frame = frame.f_back
        return False

    def profile(frame, event, arg):
        if event == "call" and not found:
            code = frame.f_code
            if code.co_filename.startswith(paths) and not inside_allowed(frame):
                relative = Path(code.co_filename).relative_to(package.parent)
                found.append(f"{relative}: {code.co_name}")
                raise Forbidden(found[0])  # stops the call (and switches the hook off)

    return profile


def call(function, *args, limit: float = 20.0, forbidden=(), allowed=(), **kwargs):
    """``function(*args, **kwargs)`` under the checks above; returns its result.

    Args:
        function: the student's function (or class, or bound method).
        limit: seconds it may run.
        forbidden: files or folders of the reclearn package it must not run code from,
            relative to the package (``"metrics.py"``, ``"models/"``).
        allowed: names of functions in those files it may call (``"tie_key"``).

    Raises:
        AssertionError: with the reason, when a check fails or the time is up.
    """
    check_untampered()
    found: list[str] = []
    hook = _forbidden_caller(tuple(forbidden), tuple(allowed), found) if forbidden else None
    name = getattr(function, "__name__", "your code")
    previous = sys.getprofile()
    sys.setprofile(hook)
    try:
        with time_limit(limit):
            result = function(*args, **kwargs)
        tampered = hook is not None and sys.getprofile() is not hook
    except Forbidden:
        tampered = False
    finally:
        sys.setprofile(previous)
    if found:  # checked first: the code may have caught the exception
        raise AssertionError(
            f"{name} runs reclearn's own implementation ({found[0]}): write it yourself; "
            "this question scores 0."
        )
    if tampered:
        raise AssertionError(f"{name} switched off the grader's profiler: this question scores 0")
    check_untampered()
    return result
