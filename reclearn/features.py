"""Feature tables for factorization machines: the fields known when a prediction is made.

A factorization machine reads a sparse vector x with one block of columns per *field*.
The fields here all exist at prediction time:

- ``user``: the user's id (one-hot);
- ``activity``: how many ratings the user has *in the training data*, bucketed;
- ``item``: the item's id (one-hot), absent for an item without training ratings;
- ``genre``: the item's genres (multi-hot, each ``1 / number of genres``);
- ``year``: the item's release decade, parsed from its title.

Genres and years come from release-time content (:func:`reclearn.content.item_content`),
never tags; no field counts an item's ratings, which a new item does not have yet.
Only the training data's users and counts enter: test rows change nothing here.

Introduced in chapter "Feature-rich models: factorization machines and DeepFM".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

ACTIVITY_EDGES = (1, 10, 20, 50, 100, 200, 500, 1000)
"""Lower edges of the activity buckets (training ratings per user)."""
FIRST_DECADE = 1950
"""Release years before this decade share one bucket."""
USER_FIELDS = ("user", "activity")
ITEM_FIELDS = ("item", "genre", "year")


@dataclass
class FeatureTables:
    """Every user's and every item's nonzero features, as padded index/value rows.

    A pair (u, i) has the features of row u of the user tables followed by those of
    row i of the item tables; padding slots have value 0 and add nothing.

    Introduced in chapter "Feature-rich models: factorization machines and DeepFM".
    """

    user_index: np.ndarray
    """Feature indices of each user, shape (num_users, m_u), int64."""
    user_value: np.ndarray
    """Their values x_j, shape (num_users, m_u), float32."""
    item_index: np.ndarray
    """Feature indices of each item, shape (num_items, m_i), int64."""
    item_value: np.ndarray
    """Their values x_j, shape (num_items, m_i), float32."""
    user_field: np.ndarray
    """Field number of each user slot, shape (m_u,), int64."""
    item_field: np.ndarray
    """Field number of each item slot, shape (m_i,), int64 (after the user fields)."""
    names: list[str]
    """The name of every feature, e.g. ``genre:comedy``; its index is its position."""
    fields: list[str]
    """Field names, user fields first."""

    @property
    def num_features(self) -> int:
        return len(self.names)

    def arrays(self) -> dict[str, np.ndarray]:
        """The tables as named arrays (for model files)."""
        names = ("user_index", "user_value", "item_index", "item_value")
        arrays = {name: getattr(self, name) for name in names}
        arrays["user_field"], arrays["item_field"] = self.user_field, self.item_field
        arrays["names"] = np.array(self.names, dtype=str)
        arrays["fields"] = np.array(self.fields, dtype=str)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> FeatureTables:
        """The tables :meth:`arrays` wrote."""
        tables = {name: arrays[name] for name in arrays if name not in ("names", "fields")}
        return cls(**tables, names=arrays["names"].tolist(), fields=arrays["fields"].tolist())


def activity_bucket(counts: np.ndarray) -> np.ndarray:
    """The bucket of each user's number of training ratings: the last edge of
    :data:`ACTIVITY_EDGES` it reaches (-1 for none)."""
    return np.searchsorted(ACTIVITY_EDGES, np.asarray(counts), side="right") - 1


def year_bucket(years) -> list[str]:
    """``year:1990s`` for each release year; ``year:<1950`` and ``year:unknown`` too."""
    out = []
    for year in pd.array(years, dtype="Int64"):
        if pd.isna(year):
            out.append("year:unknown")
        elif year < FIRST_DECADE:
            out.append(f"year:<{FIRST_DECADE}")
        else:
            out.append(f"year:{int(year) // 10 * 10}s")
    return out


def feature_tables(
    users: np.ndarray, num_users: int, warm_items: np.ndarray, content=None
) -> FeatureTables:
    """The feature tables of a training set.

    Args:
        users: User index of every training rating, shape (n,): activity counts them.
        num_users: Number of user indices.
        warm_items: True for items with training ratings, shape (num_items,); the others
            have no id feature (their id vector was never trained).
        content: Release-time :class:`~reclearn.content.ItemContent` aligned with the
            item indices, or None for ids and activity only.

    Returns:
        :class:`FeatureTables` over ``num_users`` users and ``len(warm_items)`` items.

    Raises:
        ValueError: ``content`` holds post-release signals (tags) or does not have one
            row per item.

    Introduced in chapter "Feature-rich models: factorization machines and DeepFM".
    """
    num_items = len(warm_items)
    names = [f"user:{u}" for u in range(num_users)]
    activity = activity_bucket(np.bincount(users, minlength=num_users))
    offset = len(names)
    names += [f"activity:{edge}+" for edge in ACTIVITY_EDGES]
    user_index = np.stack([np.arange(num_users), offset + np.maximum(activity, 0)], 1)
    user_value = np.stack([np.ones(num_users), (activity >= 0).astype(float)], 1)
    offset = len(names)
    names += [f"item:{i}" for i in range(num_items)]
    item_index = [offset + np.arange(num_items)[:, None]]
    item_value = [np.asarray(warm_items, dtype=float)[:, None]]
    fields, item_field = [*USER_FIELDS, "item"], [2]
    if content is not None:
        genre_index, genre_value, genre_names = _genres(content, num_items, len(names))
        names += genre_names
        years = year_bucket(content.frame["year"])
        decades = sorted(set(years))
        year_index = len(names) + np.array([decades.index(y) for y in years])
        names += decades
        item_index += [genre_index, year_index[:, None]]
        item_value += [genre_value, np.ones((num_items, 1))]
        fields += ["genre", "year"]
        item_field += [3] * genre_index.shape[1] + [4]
    return FeatureTables(
        user_index=user_index.astype(np.int64),
        user_value=user_value.astype(np.float32),
        item_index=np.concatenate(item_index, 1).astype(np.int64),
        item_value=np.concatenate(item_value, 1).astype(np.float32),
        user_field=np.array([0, 1], dtype=np.int64),
        item_field=np.array(item_field, dtype=np.int64),
        names=names,
        fields=fields,
    )


def _genres(content, num_items: int, offset: int):
    """Genre slots: indices and values ``1 / number of genres`` (padding 0), names."""
    if content.signals != "release":
        raise ValueError(
            "feature tables take release-time content only (tags are written after an "
            "item is seen): build it with item_content(items)"
        )
    if len(content.frame) != num_items:
        raise ValueError(
            f"content has {len(content.frame)} rows for {num_items} items: align it "
            "with the model's item index (content.align(model.index.item_ids))"
        )
    genres = [list(g) for g in content.frame["genres"]]
    vocabulary = sorted({g for row in genres for g in row})
    width = max([1, *map(len, genres)])
    index = np.full((num_items, width), offset, dtype=np.int64)
    value = np.zeros((num_items, width))
    for row, names in enumerate(genres):
        if names:
            index[row, : len(names)] = [offset + vocabulary.index(g) for g in names]
            value[row, : len(names)] = 1.0 / len(names)
    return index, value, [f"genre:{g.lower()}" for g in vocabulary]
