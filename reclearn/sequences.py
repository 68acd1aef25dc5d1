"""Each user's training history as a sequence in time, in NumPy, for every sequential model.

A user's items are ordered by :func:`reclearn.split.chronological`: by timestamp, ratings
that share a timestamp in a seeded order that no row position can influence. Networks
read histories as index arrays shifted by one, ``0`` being padding, right-aligned so the
last column holds the most recent item.

Introduced in chapter "Sequence-aware recommendation".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from reclearn import seeds
from reclearn.sampling import PositiveSets, implicit, sample_negatives

PADDING = 0
"""The history entry of an empty slot; item index ``i`` is written ``i + 1``."""


@dataclass
class Sequences:
    """Every user's items in time order, stored CSR-like.

    Introduced in chapter "Sequence-aware recommendation".
    """

    indptr: np.ndarray
    """User ``u``'s items are ``items[indptr[u]:indptr[u + 1]]``, shape (num_users + 1,)."""
    items: np.ndarray
    """Item indices, oldest first within each user, int64."""

    def of(self, user: int) -> np.ndarray:
        """Item indices of one user, oldest first."""
        return self.items[self.indptr[user] : self.indptr[user + 1]]

    def counts(self) -> np.ndarray:
        """Length of every user's sequence, shape (num_users,)."""
        return np.diff(self.indptr)

    @property
    def users(self) -> np.ndarray:
        """The user of every entry of ``items``, shape (len(items),)."""
        return np.repeat(np.arange(len(self.indptr) - 1), self.counts())


def user_sequences(
    users: np.ndarray, items: np.ndarray, order: np.ndarray, num_users: int
) -> Sequences:
    """Group (user, item) rows into sequences, each user's rows in the order ``order``.

    Args:
        users: User index of each row, shape (n,).
        items: Item index of each row, shape (n,).
        order: Row positions in time order (e.g. :func:`reclearn.split.chronological`);
            rows it leaves out are dropped.
        num_users: Number of user indices (users without rows get empty sequences).
    """
    users, items = np.asarray(users)[order], np.asarray(items)[order]
    by_user = np.argsort(users, kind="stable")  # keeps the time order within a user
    counts = np.bincount(users, minlength=num_users)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return Sequences(indptr, items[by_user].astype(np.int64))


def histories(sequences: Sequences, users: np.ndarray, max_len: int) -> np.ndarray:
    """The latest ``max_len`` items of each user, shifted by one and left-padded with 0.

    Returns:
        Shape (len(users), max_len), int64; row ``r`` ends with the most recent item.
    """
    out = np.full((len(users), max_len), PADDING, dtype=np.int64)
    for row, user in enumerate(np.asarray(users).tolist()):
        recent = sequences.of(user)[-max_len:]
        if len(recent):
            out[row, max_len - len(recent) :] = recent + 1
    return out


def training_windows(sequences: Sequences, max_len: int) -> dict[str, np.ndarray]:
    """Next-item training examples: every transition of every sequence exactly once.

    A sequence ``s_1..s_n`` has the transitions ``s_t -> s_{t+1}``; they are cut from the
    end into windows of at most ``max_len``, so the latest window of a user ends with
    the transition to the user's latest item. In a window, position ``t`` reads inputs
    ``1..t`` and is trained to predict ``targets[t]``.

    Returns:
        ``users`` (windows,), ``inputs`` and ``targets`` (windows, max_len), shifted by one
        and left-padded with 0.
    """
    users, inputs, targets = [], [], []
    for user, count in enumerate(sequences.counts().tolist()):
        sequence = sequences.of(user) + 1
        for end in range(count - 1, 0, -max_len):
            start = max(0, end - max_len)
            users.append(user)
            inputs.append(_left_pad(sequence[start:end], max_len))
            targets.append(_left_pad(sequence[start + 1 : end + 1], max_len))
    empty = np.empty((0, max_len), dtype=np.int64)
    return {
        "users": np.asarray(users, dtype=np.int64),
        "inputs": np.stack(inputs) if inputs else empty,
        "targets": np.stack(targets) if targets else empty,
    }


def window_sampler(
    sequences: Sequences,
    positives: PositiveSets,
    max_len: int,
    num_negatives: int,
    *,
    replace: bool,
    seed: int,
):
    """A function ``arrays(epoch)``: the training windows with negatives drawn afresh.

    ``negatives`` has shape (windows, max_len, num_negatives): for every position, items
    the window's user never interacted with, shifted by one (0 where the target is
    padding). Both backends see the same negatives in the same epochs.

    Raises:
        ValueError: No user has two items in sequence (nothing to learn).

    Introduced in chapter "Sequence-aware recommendation".
    """
    windows = training_windows(sequences, max_len)
    if not len(windows["users"]):
        raise ValueError(
            "no user has two training interactions in sequence: a sequential model "
            "learns from transitions between consecutive items"
        )
    real = windows["targets"] > PADDING  # (windows, max_len)
    owners = np.broadcast_to(windows["users"][:, None], real.shape)[real]
    rng = seeds.rng(seed, seeds.Stream.SEQUENCE_NEGATIVES)

    def arrays(epoch: int) -> dict[str, np.ndarray]:
        drawn = sample_negatives(positives, owners, num_negatives, rng, replace=replace)
        negatives = np.full((*real.shape, num_negatives), PADDING, dtype=np.int64)
        negatives[real] = drawn + 1
        return {
            "inputs": windows["inputs"],
            "targets": windows["targets"],
            "negatives": negatives,
        }

    return arrays


class Chronological:
    """Mixin of the sequential models: ``fit`` first orders the training rows in time.

    The order is :func:`reclearn.split.chronological` with the model's seed (``seed``,
    or ``config.seed``); ``_sequences(data, threshold)`` then groups the rows kept by
    :func:`reclearn.sampling.implicit` into :class:`Sequences`.

    Introduced in chapter "Sequence-aware recommendation".
    """

    def fit(self, train: pd.DataFrame, validation=None, rating_scale=None):
        """As :meth:`reclearn.base.Recommender.fit`; ``train`` needs a ``timestamp``.

        Raises:
            ValueError: ``train`` has no ``timestamp`` column, or as the base class.
        """
        from reclearn import split
        from reclearn.interactions import validate_ratings

        if isinstance(train, pd.DataFrame) and "timestamp" not in train.columns:
            raise ValueError(
                f"{self.name} orders each user's ratings in time and needs a "
                f"'timestamp' column; train has {list(train.columns)}"
            )
        validate_ratings(train, rating_scale, require_time=True, what="train")
        config = getattr(self, "config", None)
        seed = config.seed if config is not None else self.seed
        self._chronological = split.chronological(train, seed)
        return super().fit(train, validation, rating_scale)

    def _sequences(self, data, threshold: float | None) -> Sequences:
        """The training rows of ``data`` kept by ``threshold``, as time-ordered sequences."""
        kept = np.zeros(len(data.ratings), dtype=bool)
        frame = pd.DataFrame({"rating": data.ratings})
        kept[implicit(frame, threshold).index] = True
        order = self._chronological[kept[self._chronological]]
        return user_sequences(data.users, data.items, order, data.num_users)


def _left_pad(values: np.ndarray, length: int) -> np.ndarray:
    out = np.full(length, PADDING, dtype=np.int64)
    out[length - len(values) :] = values
    return out
