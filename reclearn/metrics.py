"""Rating and ranking metrics (NumPy): every backend's scores are judged by the same code."""

from __future__ import annotations

import numpy as np


def _pair(predicted, actual) -> tuple[np.ndarray, np.ndarray]:
    predicted = np.asarray(predicted, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    if predicted.shape != actual.shape:
        raise ValueError(f"predicted has shape {predicted.shape} but actual has {actual.shape}")
    if predicted.size == 0:
        raise ValueError("cannot score an empty set of predictions")
    for name, values in (("predicted", predicted), ("actual", actual)):
        bad = ~np.isfinite(values)
        if bad.any():
            raise ValueError(
                f"{name} holds {int(bad.sum())} non-finite value(s), e.g. "
                f"{values[bad][0]} at position {int(np.flatnonzero(bad)[0])}; a model "
                "that predicts NaN has diverged: refit it"
            )
    return predicted, actual


def rmse(predicted, actual) -> float:
    """Root mean squared error.

    Introduced in chapter "Matrix factorization".
    """
    predicted, actual = _pair(predicted, actual)
    return float(np.sqrt(np.mean((predicted - actual) ** 2)))


def mae(predicted, actual) -> float:
    """Mean absolute error.

    Introduced in chapter "Matrix factorization".
    """
    predicted, actual = _pair(predicted, actual)
    return float(np.mean(np.abs(predicted - actual)))


# --- ranking metrics ----------------------------------------------------------------
#
# Every ranking metric below judges one user from the 1-based ranks of that user's
# relevant items among the user's candidates, as returned by ``rank_of_targets``.

RANKING_METRICS = ("hr", "ndcg", "precision", "recall", "map", "mrr", "auc")
"""Names accepted by ``reclearn.evaluate.evaluate_ranking``; the first five take ``@k``."""


def rank_of_targets(scores_of_candidates, target_mask) -> np.ndarray:
    """1-based ranks of the relevant candidates when candidates are sorted by score.

    Ties are broken pessimistically: a relevant item tied with others is ranked after all
    of the non-relevant items it ties with, and tied relevant items among themselves in
    candidate order, so every relevant item gets the worst position its score allows and
    the ranks are distinct. A model that gives every item the same score therefore earns
    the worst value of every metric, not an average one. For a single relevant item ``r``
    the rank is ``1 + #(candidates scoring higher) + #(other candidates scoring equal)``.

    Args:
        scores_of_candidates: Scores, shape (n,), higher is better; ``-inf`` is allowed
            (an item the model cannot score), NaN is not.
        target_mask: Booleans, shape (n,), True for the relevant candidates.

    Returns:
        Ranks of the relevant candidates, shape (number of True in ``target_mask``,),
        int64, in the order the relevant candidates appear in ``scores_of_candidates``.

    Raises:
        ValueError: Empty candidates, mismatched shapes, a non-boolean mask or NaN scores.

    Introduced in chapter "Deep collaborative filtering".
    """
    scores = np.asarray(scores_of_candidates, dtype=np.float64)
    mask = np.asarray(target_mask)
    if scores.ndim != 1 or mask.shape != scores.shape:
        raise ValueError(
            f"scores_of_candidates must be 1-D and target_mask of the same shape; got "
            f"{scores.shape} and {mask.shape}"
        )
    if scores.size == 0:
        raise ValueError("cannot rank an empty list of candidates")
    if mask.dtype != bool:
        raise ValueError(f"target_mask must be boolean, got dtype {mask.dtype}")
    if np.isnan(scores).any():
        raise ValueError(
            f"scores_of_candidates has NaN at position {int(np.flatnonzero(np.isnan(scores))[0])}"
        )
    # rank = 1 + (candidates scoring higher) + (non-relevant ones scoring equal)
    #          + (relevant ones scoring equal that come earlier in the candidate list)
    targets, others = scores[mask], scores[~mask]
    if targets.size <= 8:  # a few targets: compare directly, no sort
        higher = (scores[None, :] > targets[:, None]).sum(axis=1)
        tied = (others[None, :] == targets[:, None]).sum(axis=1)
    else:
        ordered, ordered_others = np.sort(scores), np.sort(others)
        higher = scores.size - np.searchsorted(ordered, targets, side="right")
        tied = np.searchsorted(ordered_others, targets, side="right") - np.searchsorted(
            ordered_others, targets, side="left"
        )
    order = np.argsort(targets, kind="stable")
    ordered_targets = targets[order]
    earlier = np.empty(targets.size, dtype=np.int64)
    earlier[order] = np.arange(targets.size) - np.searchsorted(ordered_targets, ordered_targets)
    return (1 + higher + tied + earlier).astype(np.int64)


def _ranks(ranks, k: int | None = None, n_relevant: int | None = None):
    """Check a user's ranks (and k); return (ranks, n_relevant)."""
    ranks = np.asarray(ranks)
    if ranks.ndim != 1:
        raise ValueError(f"ranks must be 1-D, got shape {ranks.shape}")
    if ranks.size and (not np.issubdtype(ranks.dtype, np.integer) or ranks.min() < 1):
        raise ValueError(f"ranks must be integers >= 1 (1 is the top), got {ranks[:5]}")
    if ranks.size and len(np.unique(ranks)) < ranks.size:
        raise ValueError(
            f"ranks must be distinct (two items cannot share a rank), got {ranks[:5]}; "
            "compute them with rank_of_targets"
        )
    if k is not None and (isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1):
        raise ValueError(f"k must be an integer of at least 1, got {k!r}")
    n_relevant = ranks.size if n_relevant is None else int(n_relevant)
    if n_relevant < ranks.size:
        raise ValueError(f"n_relevant={n_relevant} is smaller than the {ranks.size} ranks given")
    if n_relevant == 0:
        raise ValueError(
            "a user with no relevant items has no ranking metric; skip the user "
            "(evaluate_ranking skips and counts such users)"
        )
    return np.sort(ranks), n_relevant


def hit_rate_at_k(ranks, k: int, n_relevant: int | None = None) -> float:
    """HR@k: 1.0 if some relevant item is ranked in the top ``k``, else 0.0.

    Args:
        ranks: 1-based ranks of the user's relevant items, shape (m,) (see
            :func:`rank_of_targets`); items left out of a ranking may be omitted.
        k: Cut-off, at least 1; a ``k`` longer than the list is allowed.
        n_relevant: Number of relevant items (default ``len(ranks)``).

    Raises:
        ValueError: ``k < 1``, ranks below 1, or no relevant item.

    Introduced in chapter "Deep collaborative filtering".
    """
    ranks, _ = _ranks(ranks, k, n_relevant)
    return float(ranks.size > 0 and ranks[0] <= k)


def ndcg_at_k(ranks, k: int, n_relevant: int | None = None) -> float:
    """NDCG@k with binary relevance and the log2 discount.

    ``DCG = sum over relevant ranks r <= k of 1 / log2(r + 1)``, divided by the ideal
    DCG of ``min(n_relevant, k)`` relevant items at the top. Equals
    ``sklearn.metrics.ndcg_score`` with binary ``y_true`` when no scores tie.

    Args and Raises: as :func:`hit_rate_at_k`.

    Introduced in chapter "Deep collaborative filtering".
    """
    ranks, n_relevant = _ranks(ranks, k, n_relevant)
    hits = ranks[ranks <= k]
    dcg = np.sum(1.0 / np.log2(hits + 1.0))
    ideal = np.sum(1.0 / np.log2(np.arange(1, min(n_relevant, k) + 1) + 1.0))
    return float(dcg / ideal)


def precision_at_k(ranks, k: int, n_relevant: int | None = None) -> float:
    """Precision@k: relevant items in the top ``k``, divided by ``k`` (even if fewer
    candidates exist). Args and Raises: as :func:`hit_rate_at_k`.

    Introduced in chapter "Deep collaborative filtering".
    """
    ranks, _ = _ranks(ranks, k, n_relevant)
    return float(np.sum(ranks <= k) / k)


def recall_at_k(ranks, k: int, n_relevant: int | None = None) -> float:
    """Recall@k: relevant items in the top ``k``, divided by ``n_relevant``.

    Args and Raises: as :func:`hit_rate_at_k`.

    Introduced in chapter "Deep collaborative filtering".
    """
    ranks, n_relevant = _ranks(ranks, k, n_relevant)
    return float(np.sum(ranks <= k) / n_relevant)


def average_precision_at_k(ranks, k: int, n_relevant: int | None = None) -> float:
    """AP@k (its mean over users is MAP@k).

    The sum, over the relevant items ranked ``r <= k``, of the precision at ``r``
    (relevant items within the top ``r``, divided by ``r``), divided by
    ``min(n_relevant, k)``. Args and Raises: as :func:`hit_rate_at_k`.

    Introduced in chapter "Deep collaborative filtering".
    """
    ranks, n_relevant = _ranks(ranks, k, n_relevant)
    hits = ranks[ranks <= k]
    precision_at_hits = np.arange(1, hits.size + 1) / hits
    return float(precision_at_hits.sum() / min(n_relevant, k))


def reciprocal_rank(ranks, n_relevant: int | None = None) -> float:
    """1 / rank of the best-ranked relevant item (no cut-off; its mean is MRR).

    Args and Raises: as :func:`hit_rate_at_k`, without ``k``; ranks omitted for items
    left out of the ranking count as never found (0.0 if none is given).

    Introduced in chapter "Deep collaborative filtering".
    """
    ranks, _ = _ranks(ranks, None, n_relevant)
    return float(1.0 / ranks[0]) if ranks.size else 0.0


def auc(ranks, num_candidates: int) -> float:
    """Area under the ROC curve of one user's ranking.

    The fraction of (relevant, non-relevant) candidate pairs in which the relevant item
    is ranked first. With the pessimistic ranks of :func:`rank_of_targets`, a tied pair
    counts 0 (not 1/2): constant scores give AUC 0.

    Args:
        ranks: 1-based ranks of *all* the user's relevant candidates, shape (m,).
        num_candidates: Number of candidates ranked, relevant ones included.

    Raises:
        ValueError: No relevant item, no non-relevant candidate, or a rank beyond
            ``num_candidates``.

    Introduced in chapter "Deep collaborative filtering".
    """
    ranks, n_relevant = _ranks(ranks)
    num_negative = int(num_candidates) - n_relevant
    if num_negative < 1:
        raise ValueError("AUC needs at least one non-relevant candidate")
    if ranks[-1] > num_candidates or np.unique(ranks).size != ranks.size:
        raise ValueError(f"ranks must be distinct and at most num_candidates={num_candidates}")
    # Non-relevant items ranked after the j-th relevant one (j = 0..m-1, best first).
    below = (num_candidates - ranks) - (n_relevant - 1 - np.arange(n_relevant))
    return float(below.sum() / (n_relevant * num_negative))


# --- beyond accuracy ----------------------------------------------------------------
#
# These judge the recommendation lists themselves (one list of item indices per user),
# not whether they hit held-out items.


def _lists(recommended_item_lists, num_items: int | None = None) -> list[np.ndarray]:
    lists = [np.asarray(items, dtype=np.int64).ravel() for items in recommended_item_lists]
    if not lists:
        raise ValueError(
            "recommended_item_lists is empty: expected one list of item indices per user"
        )
    for row, items in enumerate(lists):
        if items.size and items.min() < 0:
            raise ValueError(f"list {row} holds a negative item index {int(items.min())}")
        if num_items is not None and items.size and items.max() >= num_items:
            raise ValueError(
                f"list {row} holds item index {int(items.max())}, but num_items is {num_items}"
            )
    return lists


def catalog_coverage(recommended_item_lists, num_items: int) -> float:
    """Fraction of the catalogue that appears in at least one recommendation list.

    Args:
        recommended_item_lists: one sequence of item indices per user.
        num_items: size of the catalogue; indices must lie in ``[0, num_items)``.

    Returns:
        Number of distinct recommended items divided by ``num_items``, in [0, 1].

    Raises:
        ValueError: if ``num_items`` is not positive, there are no lists, or an index
            is out of range.

    Introduced in chapter "Evaluation".
    """
    if num_items <= 0:
        raise ValueError(f"num_items must be positive, got {num_items}")
    lists = _lists(recommended_item_lists, num_items)
    distinct = np.unique(np.concatenate(lists)) if any(x.size for x in lists) else np.array([])
    return float(distinct.size / num_items)


def novelty(recommended_item_lists, item_popularity, num_users: int) -> float:
    """Mean self-information of the recommended items, -log2(pop_i / num_users).

    An item that every user interacted with carries 0 bits; one seen by a single user of
    1024 carries 10 bits. Items with zero popularity are counted as seen by one user so
    the value stays finite.

    Args:
        recommended_item_lists: one sequence of item indices per user.
        item_popularity: shape (num_items,), number of users who interacted with each item.
        num_users: number of users the popularity was counted over.

    Returns:
        Mean over all recommended items (every list position counts once), in bits.

    Raises:
        ValueError: if ``num_users`` is not positive, a popularity is negative or exceeds
            ``num_users``, an index is out of range, or the lists hold no items.

    Introduced in chapter "Evaluation".
    """
    if num_users <= 0:
        raise ValueError(f"num_users must be positive, got {num_users}")
    popularity = np.asarray(item_popularity, dtype=np.float64)
    if popularity.ndim != 1:
        raise ValueError(f"item_popularity must be 1-D, got shape {popularity.shape}")
    if np.any(popularity < 0) or np.any(popularity > num_users):
        raise ValueError(f"item_popularity must lie in [0, num_users={num_users}]")
    lists = _lists(recommended_item_lists, popularity.size)
    items = np.concatenate(lists)
    if items.size == 0:
        raise ValueError("the recommendation lists hold no items")
    counts = np.maximum(popularity[items], 1.0)
    return float(np.mean(-np.log2(counts / num_users)))


def intra_list_diversity(recommended_item_lists, item_features) -> float:
    """Mean over lists of the mean pairwise cosine distance 1 - cos(x_i, x_j) in a list.

    With genre multi-hot features, two films with the same genres are at distance 0 and
    two with no genre in common at distance 1. An item whose feature vector is all zeros
    (no genre) has no direction: its pairs count as distance 0, so it adds no diversity.
    Lists with fewer than two items are skipped.

    Args:
        recommended_item_lists: one sequence of item indices per user.
        item_features: shape (num_items, num_features), non-negative feature vectors.

    Returns:
        Mean over lists of the mean over unordered pairs of distinct positions.

    Raises:
        ValueError: if the features are not 2-D, an index is out of range, or no list
            has two items.

    Introduced in chapter "Evaluation".
    """
    features = np.asarray(item_features, dtype=np.float64)
    if features.ndim != 2:
        shape = features.shape
        raise ValueError(f"item_features must be 2-D (items, features), not {shape}")
    lists = _lists(recommended_item_lists, features.shape[0])
    norms = np.linalg.norm(features, axis=1)
    unit = np.divide(
        features, norms[:, None], out=np.zeros_like(features), where=norms[:, None] > 0
    )
    per_list = []
    for items in lists:
        n = items.size
        if n < 2:
            continue
        x = unit[items]
        similarity = x @ x.T
        zero = norms[items] == 0
        distance = 1.0 - similarity
        distance[zero, :] = 0.0
        distance[:, zero] = 0.0
        upper = np.triu_indices(n, k=1)
        per_list.append(float(np.mean(distance[upper])))
    if not per_list:
        raise ValueError("intra-list diversity needs a list with two or more items")
    return float(np.mean(per_list))


def popularity_bias(recommended_item_lists, item_popularity) -> float:
    """Mean popularity percentile of the recommended items.

    Each item's percentile is the fraction of the catalogue that is strictly less popular
    than it, so the least popular items score 0 and the single most popular item scores
    (num_items - 1) / num_items. A recommender that picks items uniformly at random scores
    about 0.5; one that recommends only blockbusters scores close to 1.

    Args:
        recommended_item_lists: one sequence of item indices per user.
        item_popularity: shape (num_items,), interaction count of each item in training.

    Returns:
        Mean percentile over all recommended items, in [0, 1).

    Raises:
        ValueError: if the popularity is not 1-D, an index is out of range, or the lists
            hold no items.

    Introduced in chapter "Evaluation".
    """
    popularity = np.asarray(item_popularity, dtype=np.float64)
    if popularity.ndim != 1 or popularity.size == 0:
        raise ValueError(
            f"item_popularity must be a non-empty 1-D array, got shape {popularity.shape}"
        )
    lists = _lists(recommended_item_lists, popularity.size)
    items = np.concatenate(lists)
    if items.size == 0:
        raise ValueError("the recommendation lists hold no items")
    strictly_less = np.searchsorted(np.sort(popularity), popularity, side="left")
    percentile = strictly_less / popularity.size
    return float(np.mean(percentile[items]))
