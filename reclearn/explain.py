""" "Because you liked X": a score written as a sum of contributions of history items, and
a deletion check of whether an explanation is faithful to the model.

NumPy only. ItemKNN's score is a sum of similarities to the user's items, so its
contributions are exact. MF's trained user vector is not a function of the history, so MF
is explained through a fold-in: the user's vector and bias re-estimated from their
ratings by ridge regression on the fixed item vectors (Hu, Koren & Volinsky 2008), which
makes the score linear in the ratings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reclearn import seeds
from reclearn.base import Recommender


@dataclass
class Contributions:
    """One score as ``base + sum(values)``, one value per history item.

    Introduced in chapter "Challenges".
    """

    user_id: str
    item_id: str
    """The explained (user, item) pair, raw ids."""
    history: np.ndarray
    """Raw ids of the user's training items, shape (n,)."""
    ratings: np.ndarray
    """The user's ratings of those items, shape (n,)."""
    values: np.ndarray
    """Contribution of each history item to the score, shape (n,)."""
    base: float
    """The part of the score no history item explains (ItemKNN: 0; MF: mu + b_i)."""

    @property
    def score(self) -> float:
        """``base + values.sum()``: the score being explained."""
        return float(self.base + self.values.sum())

    def top(self, n: int = 3) -> pd.DataFrame:
        """The ``n`` history items with the largest contributions, largest first."""
        order = np.argsort(-self.values, kind="stable")[:n]
        return pd.DataFrame(
            {
                "item_id": self.history[order],
                "rating": self.ratings[order],
                "contribution": self.values[order],
            }
        )


def knn_contributions(weights, history: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Contributions of history items to ItemKNN scores: ``W[j, i]`` for history item j.

    Args:
        weights: Item-item weights ``W``, dense or scipy sparse, shape (num_items,
            num_items); the score of item i is ``sum_j W[j, i]`` over the history.
        history: Item indices of the user's history, shape (n,).
        items: Item indices to explain, shape (m,).

    Returns:
        Contributions, shape (m, n); row a sums to the score of ``items[a]``.

    Introduced in chapter "Challenges".
    """
    history, items = _indices(history, "history"), _indices(items, "items")
    block = weights[history][:, items]
    block = block.toarray() if hasattr(block, "toarray") else np.asarray(block)
    return np.asarray(block, dtype=np.float64).T


def fold_in(item_vectors: np.ndarray, residuals: np.ndarray, l2: float) -> np.ndarray:
    """The ridge map from a user's residual ratings to their vector and bias.

    With ``A = [Q_H, 1]`` (the history items' vectors, and a column of ones for the user
    bias), ``[p_u; b_u] = (A^T A + l2 I)^-1 A^T r`` for residuals ``r = r_uj - mu - b_j``.

    Args:
        item_vectors: ``Q_H``, the history items' vectors, shape (n, k).
        residuals: Ratings minus ``mu + b_j``, shape (n,).
        l2: Ridge penalty (positive).

    Returns:
        ``H = (A^T A + l2 I)^-1 A^T``, shape (k + 1, n): ``H @ residuals`` is ``[p_u; b_u]``.

    Raises:
        ValueError: ``l2`` not positive, or shapes that do not match.

    Introduced in chapter "Challenges".
    """
    item_vectors = np.asarray(item_vectors, dtype=np.float64)
    if item_vectors.ndim != 2 or len(item_vectors) != len(residuals):
        raise ValueError(
            f"item_vectors must have shape (n, k) with n = len(residuals) = {len(residuals)}, "
            f"got {item_vectors.shape}"
        )
    if not l2 > 0:
        raise ValueError(f"l2 must be positive, got {l2}")
    a = np.hstack([item_vectors, np.ones((len(item_vectors), 1))])  # (n, k + 1)
    return np.linalg.solve(a.T @ a + l2 * np.eye(a.shape[1]), a.T)


def fold_in_contributions(
    item_vectors: np.ndarray,
    history: np.ndarray,
    residuals: np.ndarray,
    items,
    l2: float,
) -> np.ndarray:
    """Contributions of history items to fold-in MF scores, exact by linearity.

    The fold-in score is ``mu + b_i + [q_i; 1] . H r`` with ``H`` from :func:`fold_in`,
    so history item j contributes ``[q_i; 1] . H[:, j] * r_j``.

    Args:
        item_vectors: Every item's vector ``Q``, shape (num_items, k).
        history: Item indices of the user's history, shape (n,).
        residuals: The user's ratings minus ``mu + b_j``, shape (n,).
        items: Item indices to explain, shape (m,).
        l2: Ridge penalty of the fold-in.

    Returns:
        Contributions, shape (m, n); row a sums to the fold-in score of ``items[a]``
        minus ``mu + b_i``.

    Introduced in chapter "Challenges".
    """
    history, items = _indices(history, "history"), _indices(items, "items")
    residuals = np.asarray(residuals, dtype=np.float64)
    q = np.asarray(item_vectors, dtype=np.float64)
    h = fold_in(q[history], residuals, l2)  # (k + 1, n)
    targets = np.hstack([q[items], np.ones((len(items), 1))])  # (m, k + 1)
    return (targets @ h) * residuals


def explain(
    model: Recommender, train: pd.DataFrame, user_id, item_id, keep: np.ndarray | None = None
) -> Contributions:
    """Explain a user's score for an item by the user's training items.

    ItemKNN (``build("itemknn")``): the model's score, split exactly into ``W[j, i]``
    (zero for rows below the model's ``threshold``). MF (``build("mf")``, either backend):
    the fold-in score, with the user's vector and bias re-estimated from the history with
    penalty ``trained_config.l2 * n`` for n ratings; that is the weight MF's training gives the
    user's parameters, so with the item vectors held fixed the fold-in is the trained
    model's own optimum for the user.

    Args:
        model: A fitted ItemKNN or MF recommender.
        train: The frame it was fitted on (the user's rows there are the history).
        user_id, item_id: Raw ids of the pair to explain.
        keep: Optional boolean mask over the user's history rows (in ``train`` order):
            explain as if the user had rated only those (for deletion checks).

    Returns:
        A :class:`Contributions` whose ``score`` is the explained score.

    Raises:
        ValueError: The model is neither kind, the user or item is unknown to it, or
            ``keep`` has the wrong length.

    Introduced in chapter "Challenges".
    """
    model.check_fitted()
    user = int(model.index.users([str(user_id)])[0])
    item = int(model.index.items([str(item_id)])[0])
    if user < 0 or not model.user_known[user]:
        raise ValueError(f"user {user_id!r} has no training ratings: no history to explain by")
    if item < 0 or not model.item_known[item]:
        raise ValueError(f"item {item_id!r} is unknown to the model")
    history, ratings = user_history(model, train, user_id)
    if keep is not None:
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != history.shape:
            raise ValueError(f"keep must have shape {history.shape}, got {keep.shape}")
        history, ratings = history[keep], ratings[keep]
    raw = model.index.item_ids.to_numpy()[history]
    name = getattr(model, "name", "")
    if name == "itemknn":
        counted = ratings >= model.threshold if model.threshold is not None else True
        values = np.where(counted, knn_contributions(model.weights_, history, [item])[0], 0.0)
        return Contributions(str(user_id), str(item_id), raw, ratings, values, 0.0)
    if name == "mf":
        q, b_i, mu = mf_arrays(model)
        residuals = ratings - mu - b_i[history]
        l2 = model.trained_config.l2 * max(len(history), 1)
        values = fold_in_contributions(q, history, residuals, [item], l2)[0]
        return Contributions(
            str(user_id), str(item_id), raw, ratings, values, float(mu + b_i[item])
        )
    raise ValueError(f"explain supports the 'itemknn' and 'mf' models, got {name!r}")


def user_history(model: Recommender, train: pd.DataFrame, user_id) -> tuple[np.ndarray, ...]:
    """``(items, ratings)``: item indices (in the model's index) and ratings of the user's
    rows of ``train``, in frame order.

    Introduced in chapter "Challenges".
    """
    rows = train[train["user_id"].astype(str).to_numpy() == str(user_id)]
    _, items = model.index.encode(rows)
    if (items < 0).any():
        raise ValueError("train holds items unknown to the model: pass the frame it was fit on")
    return items.astype(np.int64), rows["rating"].to_numpy(np.float64)


def mf_arrays(model: Recommender) -> tuple[np.ndarray, np.ndarray, float]:
    """``(Q, b_i, mu)`` of a fitted MF model of either backend, as float64 NumPy arrays.

    Introduced in chapter "Challenges".
    """
    weights = model.get_weights()
    return (
        weights["item_embedding.embeddings"].astype(np.float64),
        weights["item_bias.embeddings"][:, 0].astype(np.float64),
        float(model.global_mean),
    )


@dataclass
class DeletionResult:
    """Score drops when one part of the input is removed: the top-attributed one, or a
    random one. A faithful explanation makes the first drop larger on average.

    Introduced in chapter "Challenges".
    """

    per_case: pd.DataFrame = field(repr=False)
    """One row per case: ``score``, ``drop_top``, ``drop_random`` and ``parts``."""
    mean_drop_top: float
    """Mean of ``score - score without the top part``."""
    mean_drop_random: float
    """Mean of ``score - score without a random part``."""
    share_top_larger: float
    """Share of cases where removing the top part lowers the score more."""


def deletion_check(
    cases: Sequence[tuple[np.ndarray, Callable[[np.ndarray], float]]], seed: int = 0
) -> DeletionResult:
    """Remove each case's top-attributed part and, separately, a random part; rescore.

    Args:
        cases: Pairs ``(attributions, rescore)``: attributions of the case's n parts,
            shape (n,), and ``rescore(keep)``, the model's score with only the parts
            where the boolean mask ``keep`` (shape (n,)) is True. Cases with fewer than
            two parts are skipped (removing the only part tests nothing).
        seed: Seed of the random part (drawn uniformly among all n parts, the top one
            included).

    Returns:
        A :class:`DeletionResult`.

    Raises:
        ValueError: No case has two parts or more.

    Introduced in chapter "Challenges".
    """
    rng = seeds.rng(seed, seeds.Stream.DELETION)
    rows = []
    for attributions, rescore in cases:
        attributions = np.asarray(attributions, dtype=np.float64)
        n = len(attributions)
        if n < 2:
            continue
        full = float(rescore(np.ones(n, dtype=bool)))
        drops = []
        for part in (int(np.argmax(attributions)), int(rng.integers(n))):
            keep = np.ones(n, dtype=bool)
            keep[part] = False
            drops.append(full - float(rescore(keep)))
        rows.append(
            {
                "score": full,
                "drop_top": drops[0],
                "drop_random": drops[1],
                "parts": n,
            }
        )
    if not rows:
        raise ValueError("deletion_check needs a case with two or more parts")
    frame = pd.DataFrame(rows)
    return DeletionResult(
        frame,
        float(frame.drop_top.mean()),
        float(frame.drop_random.mean()),
        float((frame.drop_top > frame.drop_random).mean()),
    )


def _indices(values, what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{what} must be a 1-D array of item indices, got {array!r}")
    return array.astype(np.int64)
