"""The interface every recommender honours: frames in, NumPy scores and raw ids out."""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reclearn import seeds
from reclearn.checks import check_int
from reclearn.interactions import IdIndex, validate_ratings


class Predictions(np.ndarray):
    """Predicted ratings aligned with the input rows.

    A NumPy array with one extra attribute, ``fallback``: a boolean mask of the rows whose
    user or item was unknown at training time and which were predicted from the global
    mean plus the known bias. ``num_fallback`` counts them.

    Introduced in chapter "Matrix factorization".
    """

    def __new__(cls, values: np.ndarray, fallback: np.ndarray) -> Predictions:
        array = np.asarray(values, dtype=np.float64).view(cls)
        array.fallback = np.asarray(fallback, dtype=bool)
        return array

    def __array_finalize__(self, obj) -> None:
        mask = getattr(obj, "fallback", None)
        self.fallback = mask if mask is not None and mask.shape == self.shape else None

    @property
    def num_fallback(self) -> int:
        return int(self.fallback.sum()) if self.fallback is not None else 0


@dataclass
class TrainingData:
    """A training frame as index arrays: what every model's ``_fit`` receives."""

    users: np.ndarray
    """User indices, shape (n,), int64."""
    items: np.ndarray
    """Item indices, shape (n,), int64."""
    ratings: np.ndarray
    """Ratings, shape (n,), float32."""
    num_users: int
    num_items: int


class Recommender(abc.ABC):
    """Base class: ``fit(train) -> self``, ``predict(frame)``, ``recommend(user_ids, k)``.

    Subclasses implement ``_fit`` and ``_score_pairs`` on index arrays; this class owns
    id mapping, input checks, the fallback for unknown ids and the exclusion of seen items.

    After ``fit``, ``model.index`` (an :class:`~reclearn.interactions.IdIndex`) maps raw
    ids to indices and back, and the public scoring methods work on those indices:
    :meth:`score_pairs`, :meth:`score_users`, :meth:`ranking_scores` (what ``recommend``
    ranks, fallbacks included), :meth:`iter_ranking_scores` (the same in bounded memory)
    and :meth:`fallback_biases`.

    Introduced in chapter "Matrix factorization".
    """

    name: str = "recommender"
    clip_predictions: bool = True
    """Rating predictors clip to the rating scale; ranking models return raw scores."""
    fallback_shrinkage: float = 10.0
    """Damping of the bias estimates used for unknown ids (subclasses may learn their own)."""

    def __init__(self) -> None:
        self.index: IdIndex | None = None
        self.rating_scale: tuple[float, float] | None = None

    # --- what subclasses implement ------------------------------------------------

    @abc.abstractmethod
    def _fit(self, data: TrainingData, validation: TrainingData | None) -> None:
        """Learn from index arrays; ``validation`` rows all have known ids."""

    @abc.abstractmethod
    def _score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Scores (unclipped) for pairs of known indices, shape (n,)."""

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        """Scores of every item for each user, shape (len(users), num_items); items
        without training ratings get ``-inf`` (a model may know nothing of them)."""
        items = np.flatnonzero(self.item_known)
        scores = np.full((len(users), self.index.num_items), -np.inf)
        pairs = self._score_pairs(np.repeat(users, len(items)), np.tile(items, len(users)))
        scores[:, items] = np.asarray(pairs).reshape(len(users), len(items))
        return scores

    def _biases(self) -> tuple[float, np.ndarray, np.ndarray]:
        """(mu, b_u, b_i) used for unknown ids; by default damped means from training."""
        return self.global_mean, self._user_bias, self._item_bias

    # --- the public interface -----------------------------------------------------

    def fit(
        self,
        train: pd.DataFrame,
        validation: pd.DataFrame | None = None,
        rating_scale: tuple[float, float] | None = None,
    ) -> Recommender:
        """Learn from a ratings frame ``(user_id, item_id, rating)``.

        Args:
            train: Training ratings.
            validation: Optional ratings to monitor (and stop early on); rows with ids
                unknown in ``train`` are left out of monitoring.
            rating_scale: Inclusive ``(low, high)`` to check ratings against and to clip
                predictions to; by default the range seen in ``train``.

        Returns:
            ``self``, fitted.

        Raises:
            ValueError: A frame fails :func:`~reclearn.interactions.validate_ratings`,
                ``patience`` is set without validation data, or no validation row has
                a user and an item known in ``train``.
        """
        _check_patience(getattr(self, "config", None), validation)
        validate_ratings(train, rating_scale, what="train")
        self.index = IdIndex.from_frame(train)
        data = self._encode(train)
        observed = train["rating"]
        self.rating_scale = rating_scale or (float(observed.min()), float(observed.max()))
        self.global_mean = float(data.ratings.mean())
        self.user_known = np.bincount(data.users, minlength=data.num_users) > 0
        self.item_known = np.bincount(data.items, minlength=data.num_items) > 0
        self._seen = _seen_lists(data)
        self._user_bias, self._item_bias = _damped_biases(data, self.fallback_shrinkage)
        val = None
        if validation is not None:
            validate_ratings(validation, rating_scale, what="validation")
            val = self._encode(validation)
            keep = (val.users >= 0) & (val.items >= 0)
            keep &= self.user_known[np.maximum(val.users, 0)]
            keep &= self.item_known[np.maximum(val.items, 0)]
            _check_some_known(validation, keep)
            val = TrainingData(
                val.users[keep], val.items[keep], val.ratings[keep], data.num_users, data.num_items
            )
        self._fit(data, val)
        return self

    # --- scoring by index: what evaluation, cold start and explanations use -------

    def score_pairs(self, users, items) -> np.ndarray:
        """Scores of (user, item) index pairs, shape (n,), float64 and unclipped.

        Args:
            users: User indices of ``self.index``, shape (n,); every user must have
                training ratings (``user_known``).
            items: Item indices, shape (n,); every item must have training ratings.

        Raises:
            ValueError: Shapes differ, or an index is out of range or unknown.
        """
        self.check_fitted()
        users = self._known_indices(users, self.user_known, "users")
        items = self._known_indices(items, self.item_known, "items")
        if users.shape != items.shape:
            raise ValueError(
                f"users and items must have the same shape, got {users.shape} and {items.shape}"
            )
        if len(users) == 0:
            return np.empty(0)
        return self._finite(self._score_pairs(users, items))

    def score_users(self, users) -> np.ndarray:
        """Scores of every item for known users, shape (len(users), num_items).

        Items without training ratings get whatever the model computes for them; use
        :meth:`ranking_scores` for the scores ``recommend`` ranks. Memory grows with
        ``len(users) * num_items``: score large sets through :meth:`iter_ranking_scores`.
        """
        self.check_fitted()
        users = self._known_indices(users, self.user_known, "users")
        if len(users) == 0:
            return np.empty((0, self.index.num_items))
        return self._finite(self._score_users(users))

    def ranking_scores(self, users) -> np.ndarray:
        """The scores ``recommend`` ranks, shape (len(users), num_items).

        Known users get :meth:`score_users`; unknown users (index -1 or no training
        ratings) get the fallback ``mu + b_i``. Items nobody rated in training get
        ``-inf``: the model never recommends them. Seen items are not excluded.
        """
        self.check_fitted()
        users = np.asarray(users, dtype=np.int64).reshape(-1)
        if (users >= self.index.num_users).any():
            raise ValueError(
                f"users holds an index >= {self.index.num_users} (the number of users)"
            )
        known = users >= 0
        known[known] = self.user_known[users[known]]
        mu, _, b_i = self.fallback_biases()
        scores = np.tile(np.asarray(mu + b_i, dtype=np.float64), (len(users), 1))
        if known.any():
            scores[known] = self.score_users(users[known])
        scores[:, ~self.item_known] = -np.inf
        return scores

    def iter_ranking_scores(self, users, batch_size: int = 256):
        """:meth:`ranking_scores` in blocks of ``batch_size`` users (bounded memory).

        Yields:
            ``(start, scores)``: the block's first position in ``users`` and its scores,
            shape (at most batch_size, num_items).
        """
        users = np.asarray(users, dtype=np.int64).reshape(-1)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
            raise TypeError(f"batch_size must be an int, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        for start in range(0, len(users), batch_size):
            yield start, self.ranking_scores(users[start : start + batch_size])

    def fallback_biases(self) -> tuple[float, np.ndarray, np.ndarray]:
        """``(mu, b_u, b_i)``: what unknown users and items are scored with.

        ``b_u`` has one entry per user index, ``b_i`` one per item index.
        """
        self.check_fitted()
        return self._biases()

    def predict(self, frame: pd.DataFrame) -> Predictions:
        """Predicted ratings for the rows of ``frame`` (columns ``user_id``, ``item_id``).

        Pairs with an unknown user or item get ``mu + b_u + b_i`` with the unknown side's
        bias left out; ``result.num_fallback`` says how many. Rating predictors clip to the
        rating scale; ranking models (``clip_predictions = False``) return raw scores.
        """
        self.check_fitted()
        validate_ratings(frame, require_rating=False, what="frame to predict")
        users, items = self.index.encode(frame)
        user_ok = users >= 0
        user_ok[user_ok] = self.user_known[users[user_ok]]
        item_ok = items >= 0
        item_ok[item_ok] = self.item_known[items[item_ok]]
        known = user_ok & item_ok
        scores = np.empty(len(frame), dtype=np.float64)
        if known.any():
            scores[known] = self._finite(self._score_pairs(users[known], items[known]))
        mu, b_u, b_i = self._biases()
        fallback = ~known
        scores[fallback] = (
            mu
            + np.where(user_ok, b_u[np.maximum(users, 0)], 0.0)[fallback]
            + np.where(item_ok, b_i[np.maximum(items, 0)], 0.0)[fallback]
        )
        if self.clip_predictions:
            scores = np.clip(scores, *self.rating_scale)
        return Predictions(scores, fallback)

    def recommend(
        self, user_ids, k: int = 10, exclude_seen: bool = True, batch_size: int = 256
    ) -> pd.DataFrame:
        """Top-``k`` items for each raw user id, best first.

        Args:
            user_ids: Raw user ids (a list, array or Series).
            k: Number of items per user.
            exclude_seen: Leave out items the user rated in training.
            batch_size: Users scored at once; memory grows with
                ``batch_size * num_items``, never with the number of users.

        Returns:
            A frame with columns ``user_id, rank, item_id, score, fallback``; ``fallback`` is
            True for users unknown at training time, who get the items with the highest
            ``mu + b_i``.
        """
        self.check_fitted()
        k = check_int("k", k, minimum=1)
        user_ids = [str(u) for u in (user_ids if not isinstance(user_ids, str) else [user_ids])]
        users = self.index.users(user_ids)
        known = users >= 0
        known[known] = self.user_known[users[known]]
        k = min(k, self.index.num_items)
        top = np.empty((len(users), k), dtype=np.int64)
        top_scores = np.empty((len(users), k))
        for start, scores in self.iter_ranking_scores(users, batch_size):
            rows = slice(start, start + len(scores))
            if exclude_seen:
                for row in np.flatnonzero(known[rows]):
                    scores[row, self._seen[users[start + row]]] = -np.inf
            top[rows] = top_k(scores, k)
            top_scores[rows] = np.take_along_axis(scores, top[rows], axis=1)
        frame = pd.DataFrame(
            {
                "user_id": np.repeat(user_ids, k),
                "rank": np.tile(np.arange(1, k + 1), len(user_ids)),
                "item_id": self.index.item_ids.to_numpy()[top.ravel()],
                "score": top_scores.ravel(),
                "fallback": np.repeat(~known, k),
            }
        )
        return frame[np.isfinite(frame["score"])].reset_index(drop=True)

    def save(self, path) -> None:
        """Write the fitted model to ``path``; models without a file format refuse.

        Raises:
            TypeError: This model cannot be saved (refit it from its training frame).
        """
        raise TypeError(
            f"{type(self).__name__} cannot be saved to a file: only the deep models "
            "(reclearn.build(name, backend=...)) can; refit this one from its training "
            "frame instead"
        )

    # --- helpers ------------------------------------------------------------------

    def _encode(self, frame: pd.DataFrame) -> TrainingData:
        users, items = self.index.encode(frame)
        ratings = frame["rating"].to_numpy(np.float32)
        return TrainingData(users, items, ratings, self.index.num_users, self.index.num_items)

    def _rmse(self, data: TrainingData) -> float:
        """RMSE of the unclipped scores on index arrays (for learning curves)."""
        error = self._score_pairs(data.users, data.items) - data.ratings
        return float(np.sqrt(np.mean(error**2)))

    def _known_indices(self, indices, known: np.ndarray, name: str) -> np.ndarray:
        """``indices`` as int64, checked to be in range and known at training time."""
        indices = np.asarray(indices)
        if indices.dtype.kind not in "iu":
            raise TypeError(f"{name} must be integer indices, got dtype {indices.dtype}")
        indices = indices.astype(np.int64).reshape(-1)
        bad = (indices < 0) | (indices >= len(known))
        bad[~bad] = ~known[indices[~bad]]
        if bad.any():
            raise ValueError(
                f"{name} holds index {indices[bad][0]}, which the model has no training "
                f"ratings for; map raw ids with model.index and score unknown ones "
                "through ranking_scores or predict"
            )
        return indices

    def _finite(self, scores) -> np.ndarray:
        """``scores`` as float64, refused if any is NaN or +inf (a diverged model)."""
        scores = np.asarray(scores, dtype=np.float64)
        bad = np.isnan(scores) | np.isposinf(scores)
        if bad.any():
            raise ValueError(
                f"{type(self).__name__} computed {int(bad.sum())} NaN or +inf score(s): "
                "a model's scores must be finite; if it was trained, its weights are "
                "not (training diverged, or the model file was altered): refit it "
                "with a lower learning rate"
            )
        return scores

    def check_fitted(self) -> None:
        """Raise ``RuntimeError`` unless :meth:`fit` (or ``load``) has run."""
        if self.index is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call fit(train) first")

    def __repr__(self) -> str:
        config = getattr(self, "config", None)
        return f"{type(self).__name__}({config!r})" if config else f"{type(self).__name__}()"


def _check_patience(config, validation) -> None:
    """Refuse ``patience`` when there is nothing to monitor (it would be ignored)."""
    patience = getattr(config, "patience", 0)
    if patience and validation is None and not config.validation_fraction:
        raise ValueError(
            f"patience={patience} stops training on a validation metric, but fit got "
            "no validation frame and validation_fraction=0: pass validation=..., set "
            "validation_fraction (e.g. 0.1) or set patience=0"
        )


def _check_some_known(validation: pd.DataFrame, keep: np.ndarray) -> None:
    """Refuse a validation frame none of whose rows can be monitored."""
    if not keep.any():
        raise ValueError(
            f"none of the {len(validation)} validation rows has a user and an item "
            f"with ratings in train (e.g. row {validation.index[0]!r}: "
            f"{validation.iloc[0].to_dict()}), so nothing could be monitored; pass "
            "validation ratings of users and items that train has"
        )


def _seen_lists(data: TrainingData) -> list[np.ndarray]:
    """For each user index, the item indices rated in training."""
    order = np.argsort(data.users, kind="stable")
    counts = np.bincount(data.users, minlength=data.num_users)
    return np.split(data.items[order], np.cumsum(counts)[:-1])


def _damped_biases(data: TrainingData, shrinkage: float) -> tuple[np.ndarray, np.ndarray]:
    """Item then user biases as damped mean residuals (Koren's baseline estimates)."""
    mu = data.ratings.mean()
    residual = data.ratings - mu
    b_i = np.bincount(data.items, residual, data.num_items) / (
        np.bincount(data.items, minlength=data.num_items) + shrinkage
    )
    residual = residual - b_i[data.items]
    b_u = np.bincount(data.users, residual, data.num_users) / (
        np.bincount(data.users, minlength=data.num_users) + shrinkage
    )
    return b_u, b_i


def hold_out(data: TrainingData, fraction: float, seed: int) -> tuple[TrainingData, TrainingData]:
    """Split index arrays into (train, validation) at random; validation ids stay known."""
    rng = seeds.rng(seed, seeds.Stream.VALIDATION)
    is_val = rng.random(len(data.ratings)) < fraction
    known_u = np.bincount(data.users[~is_val], minlength=data.num_users) > 0
    known_i = np.bincount(data.items[~is_val], minlength=data.num_items) > 0
    is_val &= known_u[data.users] & known_i[data.items]

    def part(mask: np.ndarray) -> TrainingData:
        return TrainingData(
            data.users[mask], data.items[mask], data.ratings[mask], data.num_users, data.num_items
        )

    return part(~is_val), part(is_val)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` highest scores of each row, best first.

    The same as ``np.argsort(-scores, axis=1, kind="stable")[:, :k]`` (ties go to the
    lower index), in time linear in the number of columns: a partition finds each row's
    k-th score, and only the ``k`` columns that reach it are sorted.

    Args:
        scores: Shape (rows, columns), no NaN.
        k: At most the number of columns.
    """
    rows, columns = scores.shape
    if k >= columns:
        return np.argsort(-scores, axis=1, kind="stable")[:, :k]
    kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1 : k]  # (rows, 1)
    above, tied = scores > kth, scores == kth
    missing = k - above.sum(axis=1, keepdims=True)  # ties to take, lowest columns first
    keep = above | (tied & (np.cumsum(tied, axis=1) <= missing))
    chosen = np.nonzero(keep)[1].reshape(rows, k)  # in column order
    order = np.argsort(-np.take_along_axis(scores, chosen, axis=1), axis=1, kind="stable")
    return np.take_along_axis(chosen, order, axis=1)


def gather_pairs(score_users, users: np.ndarray, items: np.ndarray, chunk: int = 256):
    """Scores of (user, item) pairs, gathered from ``score_users(distinct_users)`` rows
    of ``chunk`` distinct users at a time (for models that score whole rows)."""
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items)
    distinct, inverse = np.unique(users, return_inverse=True)
    out = np.empty(len(users))
    for start in range(0, len(distinct), chunk):
        in_batch = (inverse >= start) & (inverse < start + chunk)
        rows = score_users(distinct[start : start + chunk])
        out[in_batch] = rows[inverse[in_batch] - start, items[in_batch]]
    return out
