"""Top-k retrieval over a large catalogue: exact in bounded memory, or approximate.

Factor models score an item by an inner product, so a user's top-k is a maximum
inner product search (MIPS) over the item vectors. :func:`exact_top_k` scores the
whole catalogue in blocks of users; :class:`ANNIndex` answers approximately from an
HNSW graph (FAISS, Malkov & Yashunin 2018) searched by inner product;
:func:`two_stage` retrieves candidates from it and re-ranks them with exact scores.
:func:`overlap_at_k` is the recall of an approximate top-k against the exact one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from reclearn.base import Recommender
from reclearn.checks import check_int
from reclearn.sampling import PositiveSets


def factor_vectors(model: Recommender) -> tuple[np.ndarray, np.ndarray]:
    """User and item vectors whose inner products order items as the model's scores do.

    MF and BPR-MF (either backend) give ``[p_u, 1]`` and ``[q_i, b_i]``: the item bias
    joins the product, and the terms shared by all of a user's items (``mu + b_u``)
    are left out, as they do not change the order. Implicit ALS gives ``p_u`` and ``q_i``.

    Args:
        model: A fitted ``"mf"``, ``"bpr-mf"`` or ``"als"`` recommender.

    Returns:
        ``(user_vectors, item_vectors)``, float32, shapes (num_users, d), (num_items, d).

    Raises:
        ValueError: The model is not a factor model.
        RuntimeError: The model is not fitted.

    Introduced in chapter "Scaling out".
    """
    model.check_fitted()
    if hasattr(model, "item_factors_"):
        return model.user_factors_.astype(np.float32), model.item_factors_.astype(np.float32)
    weights = model.get_weights() if hasattr(model, "get_weights") else {}
    if "user_embedding.embeddings" not in weights or "item_bias.embeddings" not in weights:
        raise ValueError(
            f"{type(model).__name__} is not a factor model; factor_vectors takes 'mf', "
            "'bpr-mf' or 'als'"
        )
    p = weights["user_embedding.embeddings"]
    q = weights["item_embedding.embeddings"]
    b_i = weights["item_bias.embeddings"]
    users = np.hstack([p, np.ones((len(p), 1))]).astype(np.float32)
    return users, np.hstack([q, b_i]).astype(np.float32)


def exact_top_k(
    user_vectors: np.ndarray,
    item_vectors: np.ndarray,
    k: int = 10,
    *,
    seen: PositiveSets | None = None,
    users: np.ndarray | None = None,
    batch_size: int = 1024,
) -> np.ndarray:
    """Exact top-k items by inner product, scored in blocks of ``batch_size`` users.

    Memory grows with ``batch_size * num_items``, never with the number of users.

    Args:
        user_vectors: Shape (num_users, d).
        item_vectors: Shape (num_items, d).
        k: Items per user.
        seen: Items to leave out of each user's list (indexed like ``users``).
        users: Rows of ``user_vectors`` to rank (default: all).
        batch_size: Users scored at once.

    Returns:
        Item indices, shape (len(users), k), best first.

    Raises:
        ValueError: Mismatched dimensions, or ``k`` or ``batch_size`` < 1.

    Introduced in chapter "Scaling out".
    """
    k = check_int("k", k, minimum=1, maximum=len(item_vectors))
    batch_size = check_int("batch_size", batch_size, minimum=1)
    _check_dims(user_vectors, item_vectors)
    users = np.arange(len(user_vectors)) if users is None else np.asarray(users)
    out = np.empty((len(users), k), dtype=np.int64)
    for first in range(0, len(users), batch_size):
        batch = users[first : first + batch_size]
        scores = user_vectors[batch] @ item_vectors.T  # (batch, num_items)
        if seen is not None:
            for row, user in enumerate(batch):
                scores[row, seen.of(user)] = -np.inf
        out[first : first + len(batch)] = _best(scores, k)
    return out


class ANNIndex:
    """Approximate maximum inner product search: an HNSW graph (FAISS) over items.

    Each item is a node linked to items of high inner product; a search walks the graph
    greedily from an entry point, keeping the ``ef_search`` best items seen, so it
    scores a few thousand items instead of the whole catalogue.

    Args:
        item_vectors: Shape (num_items, d).
        neighbours: Links per node of the graph (HNSW's ``M``).
        ef_construction: Candidates kept while building (larger: better graph, slower).
        ef_search: Candidates kept while searching (larger: higher recall, slower).
        num_threads: FAISS threads (0 leaves FAISS's default).

    Introduced in chapter "Scaling out".
    """

    def __init__(
        self,
        item_vectors: np.ndarray,
        *,
        neighbours: int = 32,
        ef_construction: int = 200,
        ef_search: int = 128,
        num_threads: int = 1,
    ) -> None:
        import faiss

        if num_threads:
            faiss.omp_set_num_threads(check_int("num_threads", num_threads, minimum=0))
        items = np.ascontiguousarray(item_vectors, dtype=np.float32)
        if items.ndim != 2 or len(items) == 0:
            expected = "item_vectors must have shape (num_items, d)"
            raise ValueError(f"{expected}; got {items.shape}")
        self.dim = items.shape[1]
        neighbours = check_int("neighbours", neighbours, minimum=2)
        self.index = faiss.IndexHNSWFlat(self.dim, neighbours, faiss.METRIC_INNER_PRODUCT)
        construction = check_int("ef_construction", ef_construction, minimum=1)
        self.index.hnsw.efConstruction = construction
        self.index.hnsw.efSearch = check_int("ef_search", ef_search, minimum=1)
        self.index.add(items)

    def search(self, user_vectors: np.ndarray, k: int) -> np.ndarray:
        """Approximate top-k item indices by inner product, shape (len(user_vectors), k).

        Raises:
            ValueError: ``user_vectors`` is not (n, d) with the items' d.
        """
        queries = np.ascontiguousarray(user_vectors, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ValueError(f"user_vectors must have shape (n, {self.dim}); got {queries.shape}")
        k = check_int("k", k, minimum=1, maximum=self.index.ntotal)
        return self.index.search(queries, k)[1].astype(np.int64)


def two_stage(
    index: ANNIndex,
    user_vectors: np.ndarray,
    users: np.ndarray,
    score_pairs: Callable[[np.ndarray, np.ndarray], np.ndarray],
    k: int = 10,
    *,
    candidates: int = 100,
    seen: PositiveSets | None = None,
) -> np.ndarray:
    """Retrieve ``candidates`` items per user from the index, re-rank them exactly.

    Seen items are dropped after retrieval, so a user with many seen items among the
    candidates gets fewer than ``k`` items; the row is padded with -1.

    Args:
        index: An :class:`ANNIndex` over the item vectors.
        user_vectors: Shape (num_users, d).
        users: User indices to rank, shape (n,).
        score_pairs: Exact scores of (users, items) index pairs, e.g. a model's
            ``score_pairs``; it may be a heavier model than the vectors came from.
        k: Items per user.
        candidates: Items retrieved per user (>= k).
        seen: Items to leave out of each user's list.

    Returns:
        Item indices, shape (n, k), best first.

    Introduced in chapter "Scaling out".
    """
    k = check_int("k", k, minimum=1)
    candidates = check_int("candidates", candidates, minimum=k)
    users = np.asarray(users, dtype=np.int64)
    found = index.search(user_vectors[users], candidates)  # (n, candidates)
    pairs_u = np.repeat(users, found.shape[1])
    scores = np.asarray(score_pairs(pairs_u, found.ravel()), dtype=np.float64)
    scores = scores.reshape(found.shape)
    scores[found < 0] = -np.inf
    if seen is not None:
        valid = found >= 0
        scores[valid] = np.where(
            seen.contains(pairs_u.reshape(found.shape)[valid], found[valid]),
            -np.inf,
            scores[valid],
        )
    order = _best(scores, k)
    top = np.take_along_axis(found, order, axis=1)
    top[np.take_along_axis(scores, order, axis=1) == -np.inf] = -1
    return top


def overlap_at_k(approximate: np.ndarray, exact: np.ndarray) -> float:
    """Recall of an approximate top-k against the exact top-k, averaged over rows.

    Args:
        approximate: Item indices, shape (n, k); -1 for a missing item.
        exact: Item indices, shape (n, k).

    Returns:
        Mean over rows of ``|approximate & exact| / k``.

    Raises:
        ValueError: The shapes differ.

    Introduced in chapter "Scaling out".
    """
    if approximate.shape != exact.shape:
        raise ValueError(f"shapes differ: {approximate.shape} and {exact.shape}")
    hits = [len(np.intersect1d(a[a >= 0], e)) for a, e in zip(approximate, exact, strict=True)]
    return float(np.mean(hits) / exact.shape[1])


def _best(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k largest scores per row, largest first."""
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1)


def _check_dims(user_vectors: np.ndarray, item_vectors: np.ndarray) -> None:
    """Both 2-D with the same number of columns."""
    if user_vectors.ndim != 2 or item_vectors.ndim != 2:
        raise ValueError(f"vectors must be 2-D; got {user_vectors.shape} and {item_vectors.shape}")
    if user_vectors.shape[1] != item_vectors.shape[1]:
        raise ValueError(
            f"user and item vectors differ in length: {user_vectors.shape[1]} and "
            f"{item_vectors.shape[1]}"
        )
