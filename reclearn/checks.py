"""Checks of the arguments of every public function: one place, one style of message.

Configs, ``build`` options, splits and ``fit`` call these helpers, so a bad argument
fails at once with a message naming the argument, the bad value and what to pass
instead, not later from deep inside NumPy, PyTorch or TensorFlow. Numbers must be
finite; bools are not numbers; NumPy scalars are accepted and returned as Python ones.

Introduced in chapter "Data".
"""

from __future__ import annotations

import math
import numbers

import numpy as np


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (``2.5`` for an integer, a string for a number).

    Also a ``ValueError``, so code that caught bad arguments as ``ValueError`` before
    these checks existed still catches them.
    """


def check_int(
    name: str,
    value,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """``value`` as a Python int, checked to be an integer in ``[minimum, maximum]``.

    Args:
        name: The argument's name, used in the message.
        value: An ``int`` or NumPy integer; bools and floats (even ``2.0``) are refused.
        minimum: Smallest allowed value (None: no bound).
        maximum: Largest allowed value (None: no bound).

    Raises:
        ArgumentTypeError: ``value`` is not an integer.
        ValueError: ``value`` is out of range.
    """
    wanted = "an integer" + _int_range(minimum, maximum)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(
            f"{name} must be {wanted}, got {value!r} ({type(value).__name__}); "
            f"pass a whole number, e.g. {name}={_example_int(value, minimum, maximum)}"
        )
    value = int(value)
    too_small = minimum is not None and value < minimum
    if too_small or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {wanted}, got {value}")
    return value


def check_float(
    name: str,
    value,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    positive: bool = False,
    hint: str = "",
) -> float:
    """``value`` as a Python float, checked to be a finite number in range.

    Args:
        name: The argument's name, used in the message.
        value: An int, a float or a NumPy number; bools, strings, NaN and infinities are
            refused.
        minimum: Smallest allowed value, inclusive (None: no bound).
        maximum: Largest allowed value, inclusive (None: no bound).
        positive: Refuse zero and negative values.
        hint: Advice appended to a range error (what the argument does, usual values).

    Raises:
        ArgumentTypeError: ``value`` is not a number.
        ValueError: ``value`` is NaN, infinite or out of range.
    """
    wanted = _float_range(minimum, maximum, positive)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(
            f"{name} must be a number, got {value!r} ({type(value).__name__}); "
            f"pass one that is {wanted}"
        )
    value = float(value)
    if not math.isfinite(value):
        bounds = "" if wanted == "finite" else f" ({wanted})"
        raise ValueError(f"{name} must be a finite number{bounds}, got {value}")
    too_small = (minimum is not None and value < minimum) or (positive and value <= 0)
    if too_small or (maximum is not None and value > maximum):
        advice = f"; {hint}" if hint else ""
        raise ValueError(f"{name} must be {wanted}, got {value:g}{advice}")
    return value


def check_fraction(name: str, value, *, zero: bool = False, one: bool = False) -> float:
    """``value`` as a float strictly between 0 and 1; ``zero``/``one`` allow the ends.

    Raises:
        ArgumentTypeError: ``value`` is not a number.
        ValueError: ``value`` is NaN or outside the interval.
    """
    wanted = _interval(0, 1, not zero, not one)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(
            f"{name} must be a number {wanted}, got {value!r} ({type(value).__name__})"
        )
    value = float(value)
    if not (0 < value < 1 or (zero and value == 0) or (one and value == 1)):
        raise ValueError(f"{name} must be {wanted}, got {value:g}")
    return value


def check_optional_float(name: str, value) -> float | None:
    """``None``, or ``value`` as a finite float (e.g. a rating ``threshold``)."""
    return None if value is None else check_float(name, value)


def check_bool(name: str, value) -> bool:
    """``value`` itself if it is ``True`` or ``False`` (NumPy bools too).

    Raises:
        ArgumentTypeError: Anything else, e.g. the string ``"False"`` (which is truthy).
    """
    if not isinstance(value, bool | np.bool_):
        raise ArgumentTypeError(
            f"{name} must be True or False, got {value!r} ({type(value).__name__})"
        )
    return bool(value)


def _int_range(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f" in [{minimum}, {maximum}]"
    if minimum is not None:
        return f" of at least {minimum}"
    return f" of at most {maximum}" if maximum is not None else ""


def _example_int(value, minimum: int | None, maximum: int | None) -> int:
    """A valid integer near ``value`` for the message."""
    finite = isinstance(value, numbers.Real) and math.isfinite(value)
    guess = int(value) if finite else 1
    if minimum is not None:
        guess = max(guess, minimum)
    return min(guess, maximum) if maximum is not None else guess


def _float_range(minimum: float | None, maximum: float | None, positive: bool) -> str:
    if positive:
        return "positive" if maximum is None else _interval(0, maximum, True, False)
    if minimum is not None and maximum is not None:
        return _interval(minimum, maximum, False, False)
    if minimum is not None:
        return "non-negative" if minimum == 0 else f"at least {minimum:g}"
    return f"at most {maximum:g}" if maximum is not None else "finite"


def _interval(low: float, high: float, low_open: bool, high_open: bool) -> str:
    if low_open and high_open:
        return f"strictly between {low:g} and {high:g}"
    return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
