"""Tables as the book shows them: one helper for every table a chapter prints.

Text is HTML-escaped (a token such as ``<oov>`` shows as itself, not as an unknown
HTML element that renders empty) and numbers get a fixed number of decimals, or the
format given per column; ``_static/reclearn.css`` gives the result the book's spacing
and rules.

Introduced in chapter "Matrix factorization".
"""

from __future__ import annotations

import pandas as pd
from pandas.io.formats.style import Styler

from reclearn.checks import ArgumentTypeError, check_int


def show(
    frame: pd.DataFrame,
    formats: str | dict[str, str] | None = None,
    *,
    digits: int = 3,
    index: bool = True,
    index_format: str | None = None,
) -> Styler:
    """``frame`` styled for display: escaped text, formatted numbers.

    Args:
        frame: The table to show.
        formats: A format string such as ``"{:.4f}"`` for every numeric column, or a
            dict of format strings by column name; columns left out get ``digits``.
        digits: Decimals of the floats no format names.
        index: Show the row labels; False hides them.
        index_format: A format string for the row labels (e.g. ``"{:.0%}"``).

    Returns:
        A pandas ``Styler``; a notebook cell that ends with it renders the table.

    Raises:
        ArgumentTypeError: ``frame`` is not a DataFrame or ``formats`` is neither a
            string nor a dict.
        KeyError: ``formats`` names a column ``frame`` does not have.

    Introduced in chapter "Matrix factorization".
    """
    if not isinstance(frame, pd.DataFrame):
        kind = type(frame).__name__
        raise ArgumentTypeError(f"frame must be a pandas DataFrame, got {kind}")
    digits = check_int("digits", digits, minimum=0, maximum=12)
    styler = frame.style.format(precision=digits, escape="html", na_rep="")
    for columns, pattern in _column_formats(frame, formats).items():
        styler = styler.format(pattern, subset=list(columns), escape="html", na_rep="")
    styler = styler.format_index(index_format, escape="html", axis=0)
    styler = styler.format_index(escape="html", axis=1)
    return styler if index else styler.hide(axis="index")


def _column_formats(frame: pd.DataFrame, formats) -> dict[tuple, str]:
    """``{columns: format}`` from a string (numeric columns) or a dict by column."""
    if formats is None:
        return {}
    if isinstance(formats, str):
        numeric = tuple(frame.select_dtypes("number").columns)
        return {numeric: formats} if numeric else {}
    if not isinstance(formats, dict):
        kind = type(formats).__name__
        raise ArgumentTypeError(f"formats must be a format string or dict, got {kind}")
    missing = [c for c in formats if c not in frame.columns]
    if missing:
        raise KeyError(f"formats names columns {missing}; the table has {list(frame)}")
    return {(column,): pattern for column, pattern in formats.items()}
