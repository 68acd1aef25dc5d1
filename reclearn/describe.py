"""What the ``reclearn datasets`` and ``reclearn stats`` commands report about data.

The data sets reclearn knows, with their size, status and licence, and the statistics
of a ratings frame. NumPy and pandas only; the command line (:mod:`reclearn.cli`)
parses the arguments and prints what these functions return.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from reclearn import data

MOVIELENS = "grouplens.org/datasets/movielens"
"""Where the licence of every downloadable MovieLens archive is also published."""


def dataset_table() -> pd.DataFrame:
    """One row per data set: name, size, status, licence and where its licence text is.

    Introduced in chapter "Data".
    """
    rows = []
    for entry in data.available().itertuples(index=False):
        name = entry.name
        if name == "synthetic":
            size, status, where = "generated", "bundled", "no licence needed"
        elif entry.bundled:
            size, status, where = _bundled_row(name)
        else:
            spec = data.REGISTRY[name]
            size = _size(spec.size) if spec.size else "unpublished"
            status = "downloaded" if _cached(name).is_file() else "not present"
            folder = spec.ratings_file.split("/")[0]
            where = f"README in {folder}/ of {spec.url} (and {MOVIELENS})"
        rows.append(
            {
                "name": name,
                "size": size,
                "status": status,
                "licence": entry.licence,
                "licence text": where,
            }
        )
    return pd.DataFrame(rows)


def _bundled_row(name: str) -> tuple[str, str, str]:
    """Size, status and licence text of a data set bundled with reclearn."""
    folder = data.bundled_dir(name)
    files = [f for f in folder.iterdir() if f.is_file()] if folder.is_dir() else []
    size = _size(sum(f.stat().st_size for f in files)) if files else "?"
    status = "bundled" if files else "missing (set $RECLEARN_DATA to a copy of data/)"
    return size, status, str(folder / "README.txt")


def check_downloaded(name: str) -> None:
    """Make sure a registered archive is in the download cache before it is loaded.

    Raises:
        reclearn.data.DataError: ``name`` is a registered archive that is not
            downloaded (the message names the command that downloads it).

    Introduced in chapter "Data".
    """
    if name in data.REGISTRY and not _cached(name).is_file():
        url = data.REGISTRY[name].url
        raise data.DataError(
            f"{name} is not downloaded; run 'reclearn download {name}' "
            f"(needs a network) or put the archive from {url} at {_cached(name)}"
        )


def describe(ratings: pd.DataFrame) -> dict:
    """Statistics of a ratings frame (``user_id, item_id, rating[, timestamp]``).

    Returns:
        ``users``, ``items`` (rated), ``ratings``, ``density``, ``per_user`` and
        ``per_item`` (min, quartiles, max, mean of the counts), ``values`` (count per
        rating value, or per one of ten equal bins when there are over 20 distinct
        values) and ``first``/``last`` (UTC timestamps, or None without timestamps).

    Introduced in chapter "Data".
    """
    user_ids = ratings["user_id"].astype(str)
    item_ids = ratings["item_id"].astype(str)
    users, items = user_ids.nunique(), item_ids.nunique()
    quantiles = [0, 0.25, 0.5, 0.75, 1]
    names = ["min", "25%", "median", "75%", "max"]

    def spread(counts: pd.Series) -> dict:
        values = np.quantile(counts.to_numpy(), quantiles)
        summary = dict(zip(names, map(float, values), strict=True))
        return {**summary, "mean": counts.mean()}

    rating = ratings["rating"]
    if rating.nunique() > 20:
        values = pd.cut(rating, bins=10).value_counts(sort=False)
    else:
        values = rating.value_counts().sort_index()
    first = last = None
    if "timestamp" in ratings.columns and len(ratings):
        first, last = (
            pd.Timestamp(t, unit="s", tz="UTC")
            for t in (ratings["timestamp"].min(), ratings["timestamp"].max())
        )
    return {
        "users": users,
        "items": items,
        "ratings": len(ratings),
        "density": len(ratings) / (users * items) if users and items else 0.0,
        "per_user": spread(user_ids.value_counts()),
        "per_item": spread(item_ids.value_counts()),
        "values": values,
        "first": first,
        "last": last,
    }


def _cached(name: str) -> Path:
    return data.DATA_DIR / "downloads" / f"{name}.zip"


def _size(num_bytes: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if num_bytes < 1000 or unit == "GB":
            if unit == "B":
                return f"{num_bytes:.0f} {unit}"
            return f"{num_bytes:.1f} {unit}"
        num_bytes /= 1000
    return ""
