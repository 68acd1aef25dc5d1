"""Implicit feedback and negative sampling in NumPy, shared by both backends.

A *positive* is a (user, item) pair the user interacted with. A *negative* for a user is
drawn uniformly from the items that user never interacted with, in training or in test.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from reclearn import seeds


def implicit(ratings: pd.DataFrame, threshold: float | None = None) -> pd.DataFrame:
    """Keep the ratings that count as positive interactions.

    Args:
        ratings: A ratings frame (``user_id, item_id, rating, ...``).
        threshold: Keep ``rating >= threshold``; ``None`` keeps every rating (any rating
            is an interaction).

    Returns:
        The kept rows, with ``rating`` left as it was.

    Introduced in chapter "Deep collaborative filtering".
    """
    if threshold is None:
        return ratings
    if "rating" not in ratings.columns:
        raise ValueError(f"a threshold needs a 'rating' column; got {list(ratings.columns)}")
    return ratings[ratings["rating"] >= threshold]


class PositiveSets:
    """For each user index, the sorted item indices the user interacted with.

    Stored as one CSR-like pair (``indptr``, ``indices``) so membership tests are vectorised.

    Introduced in chapter "Deep collaborative filtering".
    """

    def __init__(self, users: np.ndarray, items: np.ndarray, num_users: int, num_items: int):
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        if len(users) and (users.min() < 0 or items.min() < 0):
            raise ValueError("positive pairs must have known (non-negative) user and item indices")
        if len(users) and (users.max() >= num_users or items.max() >= num_items):
            raise ValueError(
                f"user index {int(users.max())} or item index {int(items.max())} is out of "
                f"range for num_users={num_users}, num_items={num_items}"
            )
        pairs = np.unique(users * num_items + items)  # sorted, deduplicated
        self.num_users, self.num_items = num_users, num_items
        self.indices = pairs % num_items
        counts = np.bincount(pairs // num_items, minlength=num_users)
        self.indptr = np.concatenate([[0], np.cumsum(counts)])
        self._keys = pairs

    def of(self, user: int) -> np.ndarray:
        """Sorted item indices of one user."""
        return self.indices[self.indptr[user] : self.indptr[user + 1]]

    def counts(self) -> np.ndarray:
        """Number of positives per user, shape (num_users,)."""
        return np.diff(self.indptr)

    def contains(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Whether each (user, item) pair is a positive (vectorised)."""
        keys = np.asarray(users, dtype=np.int64) * self.num_items + np.asarray(items)
        if len(self._keys) == 0:
            return np.zeros(keys.shape, dtype=bool)
        where = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        return self._keys[where] == keys


def sample_negatives(
    positives: PositiveSets,
    users: np.ndarray,
    num_per_user: int,
    rng: np.random.Generator,
    *,
    replace: bool = True,
) -> np.ndarray:
    """Draw negatives uniformly among the items each user never interacted with.

    Args:
        positives: Every known positive (train *and* test), so that no negative is a
            hidden hit.
        users: User indices, shape (n,).
        num_per_user: Negatives per entry of ``users``.
        rng: The generator to draw from (seed it for reproducible draws).
        replace: With replacement, one row may repeat an item; without, the
            ``num_per_user`` items of a row are distinct.

    Returns:
        Item indices, shape (n, num_per_user).

    Raises:
        ValueError: A user has fewer non-positive items than requested without
            replacement, or none at all.

    Introduced in chapter "Deep collaborative filtering".
    """
    users = np.asarray(users, dtype=np.int64)
    if len(users) and (users.min() < 0 or users.max() >= positives.num_users):
        raise ValueError(
            f"user indices must lie in [0, {positives.num_users}); "
            f"got {int(users.min())} to {int(users.max())} "
            "(an unknown user, -1, has no positives to avoid)"
        )
    free = positives.num_items - positives.counts()[users]
    if (free <= 0).any():
        raise ValueError("a user has interacted with every item: no negative to draw")
    if not replace and (free < num_per_user).any():
        raise ValueError(
            f"cannot draw {num_per_user} distinct negatives: a user has only "
            f"{int(free.min())} items they never interacted with"
        )
    out = rng.integers(0, positives.num_items, size=(len(users), num_per_user))
    rows = np.repeat(users, num_per_user).reshape(out.shape)
    bad = positives.contains(rows, out)
    if not replace:
        bad |= _repeats_within_rows(out)
    while bad.any():  # rejection: redraw only the offending entries
        out[bad] = rng.integers(0, positives.num_items, size=int(bad.sum()))
        bad = positives.contains(rows, out)
        if not replace:
            bad |= _repeats_within_rows(out)
    return out


def _repeats_within_rows(draws: np.ndarray) -> np.ndarray:
    """Mark every occurrence of an item after its first within the same row."""
    order = np.argsort(draws, axis=1, kind="stable")
    ordered = np.take_along_axis(draws, order, axis=1)
    repeat_sorted = np.zeros_like(ordered, dtype=bool)
    repeat_sorted[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    repeat = np.zeros_like(repeat_sorted)
    np.put_along_axis(repeat, order, repeat_sorted, axis=1)
    return repeat


def sampled_protocol_negatives(
    positives: PositiveSets,
    test_users: np.ndarray,
    num_negatives: int = 99,
    seed: int = 0,
) -> np.ndarray:
    """For each held-out (user, item) row, ``num_negatives`` distinct items the user never
    interacted with: the candidate lists of the sampled (1 + 99) protocol of NCF.

    Returns:
        Item indices, shape (len(test_users), num_negatives); the same seed gives the same
        array on every run and platform.

    Introduced in chapter "Deep collaborative filtering".
    """
    rng = seeds.rng(seed, seeds.Stream.CANDIDATES)
    return sample_negatives(positives, test_users, num_negatives, rng, replace=False)


def save_negatives(path: str | Path, user_ids, item_ids, negatives_ids: np.ndarray) -> str:
    """Write the sampled-protocol candidates as CSV (``user_id,item_id,negatives``) atomically.

    ``negatives`` is a space-separated list of raw item ids. Returns the file's sha256.
    """
    lines = ["user_id,item_id,negatives"]
    for user, item, row in zip(user_ids, item_ids, negatives_ids, strict=True):
        lines.append(f"{user},{item},{' '.join(map(str, row))}")
    data = ("\n".join(lines) + "\n").encode()
    path = Path(path)
    part = path.with_name(path.name + ".part")
    part.write_bytes(data)
    os.replace(part, path)
    return hashlib.sha256(data).hexdigest()


def load_negatives(path: str | Path) -> pd.DataFrame:
    """Read a file written by :func:`save_negatives`; ``negatives`` becomes a list of ids."""
    frame = pd.read_csv(path, dtype=str)
    frame["negatives"] = frame["negatives"].str.split(" ")
    return frame


def training_positives(
    users, items, ratings, num_users: int, num_items: int, threshold: float | None = None
) -> PositiveSets:
    """The positives of a training set given as index arrays: rows kept by :func:`implicit`.

    Raises:
        ValueError: No rating reaches the threshold.

    Introduced in chapter "Deep collaborative filtering".
    """
    frame = implicit(
        pd.DataFrame({"user_id": users, "item_id": items, "rating": ratings}), threshold
    )
    if len(frame) == 0:
        raise ValueError(f"no training rating reaches the threshold {threshold}: no positives")
    return PositiveSets(
        frame["user_id"].to_numpy(), frame["item_id"].to_numpy(), num_users, num_items
    )


def epoch_sampler(
    positives: PositiveSets, num_negatives: int, *, replace: bool, seed: int, pairwise: bool = False
):
    """A function ``arrays(epoch)`` giving one epoch of training data, negatives drawn afresh.

    Pointwise (``pairwise=False``): ``users``, ``items``, ``labels`` with every positive
    (label 1) followed by ``num_negatives`` sampled items per positive (label 0).
    Pairwise: ``users``, ``items`` (the positives) and ``negatives`` of shape
    (num_positives, num_negatives). Each call draws the next epoch from one generator seeded
    with ``seed``, so both backends see the same negatives in the same epochs.

    Introduced in chapter "Deep collaborative filtering".
    """
    users = np.repeat(np.arange(positives.num_users), positives.counts())
    items = positives.indices
    rng = seeds.rng(seed, seeds.Stream.NEGATIVES)

    def arrays(epoch: int) -> dict[str, np.ndarray]:
        negatives = sample_negatives(positives, users, num_negatives, rng, replace=replace)
        if pairwise:
            return {"users": users, "items": items, "negatives": negatives}
        labels = np.zeros(len(users) * (1 + num_negatives), dtype=np.float32)
        labels[: len(users)] = 1.0
        return {
            "users": np.concatenate([users, np.repeat(users, num_negatives)]),
            "items": np.concatenate([items, negatives.ravel()]),
            "labels": labels,
        }

    return arrays


def warm_sampler(
    users: np.ndarray,
    items: np.ndarray,
    warm: np.ndarray,
    num_negatives: int,
    *,
    seed: int,
    id_dropout: float = 0.0,
):
    """``arrays(epoch)`` for the content networks: negatives drawn among warm items only.

    Like :func:`epoch_sampler` (pointwise), but a negative is never an item without
    training interactions, so the network is not taught that cold items are bad. With
    ``id_dropout > 0`` the arrays also hold ``keep_id``: 0 for a random ``id_dropout``
    share of rows, whose item then goes without its ID embedding (the network learns
    to score from content alone, as it must for a new item).

    Introduced in chapter "Content-based recommendation".
    """
    warm_items = np.flatnonzero(warm)
    compact = np.full(len(warm), -1, dtype=np.int64)
    compact[warm_items] = np.arange(len(warm_items))
    if (compact[items] < 0).any():
        raise ValueError("every positive item must be warm")
    num_users = int(users.max()) + 1 if len(users) else 0
    positives = PositiveSets(users, compact[items], num_users, len(warm_items))
    draw = epoch_sampler(positives, num_negatives, replace=True, seed=seed)
    rng = seeds.rng(seed, seeds.Stream.WARM_NEGATIVES)

    def arrays(epoch: int) -> dict[str, np.ndarray]:
        batch = draw(epoch)
        batch["items"] = warm_items[batch["items"]]
        if id_dropout > 0:
            keep = rng.random(len(batch["items"])) >= id_dropout
            batch["keep_id"] = keep.astype(np.float32)
        return batch

    return arrays
