"""Raw ids <-> contiguous indices, and the checks every ratings frame passes.

A loaded data set stores ``user_id`` and ``item_id`` as pandas categoricals whose
categories are all the data set's ids, so the integer codes are one index space shared
by every split cut from it. Frames built by hand (plain string or integer ids) are
indexed by :class:`IdIndex` from the frame a model is fitted on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reclearn.checks import check_float

RATING_COLUMNS = ("user_id", "item_id", "rating")
FLOAT32_MAX = float(np.finfo(np.float32).max)
"""Models train in float32: a larger rating would overflow to inf."""


def as_categorical_ids(ids: pd.Series, categories: Sequence[str]) -> pd.Series:
    """Raw ids as a categorical of strings over a fixed list of categories."""
    dtype = pd.CategoricalDtype(categories=pd.Index(list(categories), dtype=object))
    return ids.astype(str).astype(object).astype(dtype)


def _example(frame: pd.DataFrame, mask) -> str:
    row = frame[mask].iloc[0]
    return f"row {row.name!r}: {row.to_dict()}"


def validate_ratings(
    frame: pd.DataFrame,
    rating_scale: tuple[float, float] | None = None,
    *,
    require_rating: bool = True,
    require_time: bool = False,
    what: str = "ratings",
) -> None:
    """Check a ratings frame and raise a clear error naming what is wrong.

    Args:
        frame: A frame with columns ``user_id``, ``item_id`` and (unless
            ``require_rating=False``) ``rating``.
        rating_scale: Inclusive ``(low, high)``; ratings outside it are an error.
        require_rating: Whether a ``rating`` column must be present.
        require_time: Whether a ``timestamp`` column of finite numbers (or datetimes)
            must be present, for splits that order ratings in time.
        what: How the frame is called in messages (``"train"``, ``"test"``...).

    Raises:
        TypeError: ``frame`` is not a DataFrame or a column has the wrong dtype.
        ValueError: Missing columns, an empty frame, NaN, a rating that is infinite,
            too large for float32 or outside the scale, an infinite timestamp, or
            duplicate (user, item) pairs (ids compared as strings, so ``1`` and ``"1"``
            are one id); the message names the column and shows a row.

    Introduced in chapter "Data".
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    needed = RATING_COLUMNS if require_rating else RATING_COLUMNS[:2]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} is missing column(s) {missing}; it has {list(frame.columns)}. "
            "Rename your columns to user_id, item_id, rating."
        )
    if require_time and "timestamp" not in frame.columns:
        raise ValueError(
            f"this split orders ratings in time and needs a 'timestamp' column; "
            f"{what} has {list(frame.columns)}"
        )
    if require_time:
        needed = (*needed, "timestamp")
    if len(frame) == 0:
        raise ValueError(f"{what} is empty: it has the right columns but no rows")
    for column in needed:
        values = frame[column]
        if values.isna().any():
            raise ValueError(
                f"{what} has a missing value (NaN) in column {column!r}, e.g. "
                f"{_example(frame, values.isna())}"
            )
    for column in ("user_id", "item_id"):
        dtype = frame[column].dtype
        if not (
            isinstance(dtype, pd.CategoricalDtype)
            or pd.api.types.is_integer_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype)
            or pd.api.types.is_object_dtype(dtype)
        ):
            raise TypeError(
                f"{what} column {column!r} holds {dtype}; ids must be strings, integers "
                "or categoricals (a float id such as 1.0 is ambiguous: convert it first)"
            )
    if require_rating:
        _check_ratings(frame, rating_scale, what)
    if require_time:
        _check_times(frame, what)
    keys = pd.DataFrame({c: _id_codes(frame[c]) for c in ("user_id", "item_id")})
    duplicated = keys.duplicated(keep=False).to_numpy()
    if duplicated.any():
        raise ValueError(
            f"{what} has {int(duplicated.sum())} rows with a repeated (user_id, item_id) "
            f"pair, e.g. {_example(frame, duplicated)}; keep one rating per pair "
            "(e.g. the latest) before fitting"
        )


def _check_ratings(frame: pd.DataFrame, rating_scale, what: str) -> None:
    """The ``rating`` column: numbers, finite, within float32 and the scale."""
    rating = frame["rating"]
    if not _is_number_dtype(rating.dtype):
        raise TypeError(
            f"{what} column 'rating' holds {rating.dtype}, expected numbers, e.g. "
            f"{_example(frame, np.ones(len(frame), bool))}"
        )
    values = rating.to_numpy(np.float64)
    huge = ~(np.abs(values) <= FLOAT32_MAX)
    if huge.any():
        raise ValueError(
            f"{what} column 'rating' has {int(huge.sum())} infinite value(s) or "
            f"value(s) too large for float32 (|rating| > {FLOAT32_MAX:.3g}), e.g. "
            f"{_example(frame, huge)}; every prediction would be NaN: fix or drop them"
        )
    if rating_scale is not None:
        low, high = _checked_scale(rating_scale)
        outside = (rating < low) | (rating > high)
        if outside.any():
            raise ValueError(
                f"{what} column 'rating' has {int(outside.sum())} value(s) outside the "
                f"rating scale [{low:g}, {high:g}], e.g. {_example(frame, outside)}"
            )


def _checked_scale(scale) -> tuple[float, float]:
    """``rating_scale`` as two finite floats ``low < high``."""
    if not isinstance(scale, tuple | list) or len(scale) != 2:
        raise TypeError(f"rating_scale must be a pair (low, high), got {scale!r}")
    low = check_float("rating_scale[0]", scale[0])
    high = check_float("rating_scale[1]", scale[1])
    if not low < high:
        raise ValueError(f"rating_scale needs low < high, got {scale!r}")
    return low, high


def _check_times(frame: pd.DataFrame, what: str) -> None:
    """The ``timestamp`` column: finite numbers or datetimes (NaN is refused before)."""
    times = frame["timestamp"]
    numeric = _is_number_dtype(times.dtype)
    if not (numeric or pd.api.types.is_datetime64_any_dtype(times.dtype)):
        raise TypeError(
            f"{what} column 'timestamp' holds {times.dtype}, expected numbers (e.g. "
            f"Unix seconds) or datetimes, e.g. {_example(frame, times.notna())}; "
            "convert it with pd.to_numeric or pd.to_datetime first"
        )
    if numeric:
        infinite = np.isinf(times.to_numpy(np.float64))
        if infinite.any():
            raise ValueError(
                f"{what} column 'timestamp' has {int(infinite.sum())} infinite "
                f"value(s), e.g. {_example(frame, infinite)}; every timestamp must be "
                "a finite time"
            )


def _is_number_dtype(dtype) -> bool:
    types = pd.api.types
    return types.is_numeric_dtype(dtype) and not types.is_bool_dtype(dtype)


def _id_codes(ids: pd.Series) -> np.ndarray:
    """An integer code per distinct id, compared as strings (``1`` equals ``"1"``)."""
    if isinstance(ids.dtype, pd.CategoricalDtype):
        categories = pd.factorize(ids.cat.categories.astype(str))[0]
        return categories[ids.cat.codes.to_numpy()]
    if pd.api.types.is_integer_dtype(ids.dtype):
        return pd.factorize(ids)[0]
    return pd.factorize(ids.astype(str))[0]


@dataclass(frozen=True)
class IdIndex:
    """The raw user and item ids a model knows, in index order.

    ``user_ids[u]`` is the raw id of user index ``u``; likewise for items.

    Introduced in chapter "Data".
    """

    user_ids: pd.Index
    item_ids: pd.Index

    @property
    def num_users(self) -> int:
        return len(self.user_ids)

    @property
    def num_items(self) -> int:
        return len(self.item_ids)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> IdIndex:
        """All ids of the categoricals' categories, or the frame's sorted unique ids."""
        return cls(_categories(frame["user_id"]), _categories(frame["item_id"]))

    def users(self, user_ids) -> np.ndarray:
        """Indices of raw user ids; -1 where the id is unknown."""
        return _lookup(self.user_ids, user_ids)

    def items(self, item_ids) -> np.ndarray:
        """Indices of raw item ids; -1 where the id is unknown."""
        return _lookup(self.item_ids, item_ids)

    def encode(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(users, items) index arrays for a frame's rows; -1 marks unknown ids."""
        return self.users(frame["user_id"]), self.items(frame["item_id"])


def _categories(ids: pd.Series) -> pd.Index:
    if isinstance(ids.dtype, pd.CategoricalDtype):
        return pd.Index(ids.cat.categories.astype(str), dtype=object)
    unique = pd.unique(ids.astype(str).astype(object))
    if all(u.isdigit() for u in unique):
        return pd.Index(sorted(unique, key=int), dtype=object)
    return pd.Index(sorted(unique), dtype=object)


def _lookup(index: pd.Index, ids) -> np.ndarray:
    series = pd.Series(ids)
    if isinstance(series.dtype, pd.CategoricalDtype) and series.cat.categories.equals(index):
        return series.cat.codes.to_numpy(np.int64)
    return index.get_indexer(series.astype(str).astype(object)).astype(np.int64)
