"""Item graphs from side information: link items that share features, then smooth over links.

NumPy and SciPy only. A graph is a sparse (num_items, num_items) matrix whose row ``i``
holds the similarities of item ``i`` to its ``k`` nearest neighbours; normalising it and
multiplying item vectors by it averages each item's vector with its neighbours', the
propagation step of graph recommenders such as LightGCN, here with fixed, unlearned weights.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from scipy import sparse

MEASURES = ("cosine", "jaccard")
NORMS = ("row", "symmetric")


def feature_matrix(sets: Sequence[Iterable[str]]) -> tuple[sparse.csr_matrix, np.ndarray]:
    """A binary item-by-feature matrix from each item's set of features (genres, tags ...).

    Args:
        sets: One iterable of feature names per item; duplicates within an item count once.

    Returns:
        ``(features, names)``: a CSR matrix (num_items, num_features) of 0/1 values, and the
        feature names in column order (sorted).

    Raises:
        ValueError: ``sets`` is a string, or an item's features are a string, not a set.

    Introduced in chapter "Applications and future directions".
    """
    if isinstance(sets, str):
        raise ValueError("sets must hold one collection of features per item, not a string")
    docs = []
    for row, features in enumerate(sets):
        if isinstance(features, str):
            raise ValueError(
                f"item {row} has the string {features!r} as its features; pass a list or set"
            )
        docs.append(sorted({str(f) for f in features}))
    names = np.array(sorted({f for doc in docs for f in doc}), dtype=object)
    column = {name: n for n, name in enumerate(names)}
    rows = np.repeat(np.arange(len(docs)), [len(doc) for doc in docs])
    cols = np.array([column[f] for doc in docs for f in doc], dtype=np.int64)
    matrix = sparse.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(docs), len(names)))
    return matrix, names


def similarity_graph(
    features,
    k: int = 20,
    measure: str = "cosine",
    neighbours=None,
    batch_size: int = 1024,
) -> sparse.csr_matrix:
    """Keep each item's ``k`` most similar other items: a k-nearest-neighbour graph.

    Cosine: ``x_i . x_j / (|x_i| |x_j|)``; Jaccard (features read as present or absent):
    ``|F_i & F_j| / |F_i | F_j|``. Only positive similarities are kept, an item is never
    its own neighbour, and ties at the ``k``-th place go to the lower item index, so the
    graph is the same on every run. The graph is directed: j may be a neighbour of i but
    not i of j.

    Args:
        features: Item features, shape (num_items, num_features), dense or sparse,
            non-negative.
        k: Neighbours kept per item.
        measure: ``"cosine"`` or ``"jaccard"``.
        neighbours: Optional boolean mask, shape (num_items,): only these items may be
            neighbours (e.g. the items with a collaborative vector). Every row is still
            filled.
        batch_size: Rows of similarities computed at once (bounds memory).

    Returns:
        A CSR matrix (num_items, num_items): entry (i, j) is the similarity of item j to
        item i if j is among i's neighbours, else zero.

    Raises:
        ValueError: Unknown measure, ``k`` or ``batch_size`` below 1, negative or
            non-finite features, or a mask of the wrong shape.

    Introduced in chapter "Applications and future directions".
    """
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}; use one of {MEASURES}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer of at least 1, got {k!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    x = sparse.csr_matrix(features, dtype=np.float64)
    if x.ndim != 2 or not np.isfinite(x.data).all() or (x.data < 0).any():
        raise ValueError("features must be a 2-D array of finite, non-negative values")
    num_items = x.shape[0]
    allowed = np.ones(num_items, dtype=bool)
    if neighbours is not None:
        allowed = np.asarray(neighbours)
    if allowed.shape != (num_items,) or allowed.dtype != bool:
        raise ValueError(
            f"neighbours must be a boolean mask of shape ({num_items},), got "
            f"{allowed.dtype} {allowed.shape}"
        )
    columns = np.flatnonzero(allowed)
    if measure == "jaccard":
        x.data[:] = 1.0
        sizes = np.asarray(x.sum(axis=1)).ravel()
    else:
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        x = sparse.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ x
    right = x[columns].T.tocsc()
    rows_out, cols_out, values_out = [], [], []
    kept = min(k, len(columns))
    for first in range(0, num_items, batch_size):
        rows = np.arange(first, min(first + batch_size, num_items))
        sim = (x[rows] @ right).toarray()  # (batch, len(columns))
        if measure == "jaccard":
            union = sizes[rows, None] + sizes[None, columns] - sim
            sim = np.divide(sim, union, out=np.zeros_like(sim), where=union > 0)
        sim[rows[:, None] == columns[None, :]] = 0.0  # no self-loops
        if kept == 0:
            continue
        mask = _top_k_mask(sim, kept)
        r, c = np.nonzero(mask)
        rows_out.append(rows[r])
        cols_out.append(columns[c])
        values_out.append(sim[r, c])
    if not rows_out:
        return sparse.csr_matrix((num_items, num_items))
    return sparse.csr_matrix(
        (
            np.concatenate(values_out),
            (np.concatenate(rows_out), np.concatenate(cols_out)),
        ),
        shape=(num_items, num_items),
    )


def _top_k_mask(sim: np.ndarray, k: int) -> np.ndarray:
    """Per row, the ``k`` largest positive entries; ties at the cut go to lower columns."""
    threshold = -np.partition(-sim, k - 1, axis=1)[:, k - 1 : k]  # k-th largest, (batch, 1)
    above = sim > threshold
    tied = sim == threshold
    room = k - above.sum(axis=1, keepdims=True)
    mask = above | (tied & (np.cumsum(tied, axis=1) <= room))
    return mask & (sim > 0)


def normalize(graph, how: str = "row") -> sparse.csr_matrix:
    """Scale a graph's weights so that propagation averages instead of summing.

    ``"row"``: ``D^-1 A``, each non-empty row sums to one (a weighted mean of neighbours).
    ``"symmetric"``: ``D_r^-1/2 A D_c^-1/2`` with row sums ``D_r`` and column sums ``D_c``,
    LightGCN's normalisation, which also damps items that are everybody's neighbour.
    Empty rows (and columns) stay zero.

    Raises:
        ValueError: Unknown ``how``, a non-square graph, or negative or non-finite weights.

    Introduced in chapter "Applications and future directions".
    """
    if how not in NORMS:
        raise ValueError(f"unknown normalisation {how!r}; use one of {NORMS}")
    a = sparse.csr_matrix(graph, dtype=np.float64)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"the graph must be square (items by items), got shape {a.shape}")
    if not np.isfinite(a.data).all() or (a.data < 0).any():
        raise ValueError("graph weights must be finite and non-negative")
    row_sums = np.asarray(a.sum(axis=1)).ravel()
    if how == "row":
        return (sparse.diags(_inverse(row_sums)) @ a).tocsr()
    col_sums = np.asarray(a.sum(axis=0)).ravel()
    left = sparse.diags(np.sqrt(_inverse(row_sums)))
    right = sparse.diags(np.sqrt(_inverse(col_sums)))
    return (left @ a @ right).tocsr()


def _inverse(values: np.ndarray) -> np.ndarray:
    return np.divide(1.0, values, out=np.zeros_like(values), where=values > 0)


def propagate(
    graph,
    values,
    alpha: float = 0.5,
    steps: int = 1,
    known=None,
) -> np.ndarray:
    """Mix each item's vector with its neighbours' average, ``steps`` times.

    One step computes ``x_i <- (1 - alpha) x_i + alpha (A x)_i`` for every item with a
    vector of its own (``known``), and ``x_i <- (A x)_i`` for the others, which have
    nothing to keep (their rows of ``values`` are ignored). ``A`` should be normalised
    (:func:`normalize`). With ``alpha = 0`` known items keep their vectors; an unknown
    item without neighbours ends up as zeros.

    Args:
        graph: Normalised graph, shape (num_items, num_items).
        values: Item vectors, shape (num_items,) or (num_items, d).
        alpha: Weight of the neighbours, in [0, 1].
        steps: Number of propagation steps (at least 1).
        known: Boolean mask, shape (num_items,), of items with a vector; default all.

    Returns:
        The propagated vectors, float64, the shape of ``values``.

    Raises:
        ValueError: ``alpha`` outside [0, 1], ``steps`` below 1, shapes that do not
            match, or non-finite values among the known rows.

    Introduced in chapter "Applications and future directions".
    """
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be an integer of at least 1, got {steps!r}")
    a = sparse.csr_matrix(graph, dtype=np.float64)
    x = np.array(values, dtype=np.float64)
    num_items = a.shape[0]
    if a.shape != (num_items, num_items) or x.shape[:1] != (num_items,) or x.ndim > 2:
        need = "need (n, n) and (n,) or (n, d)"
        raise ValueError(f"graph {a.shape} and values {x.shape} do not match: {need}")
    own = np.ones(num_items, dtype=bool) if known is None else np.asarray(known)
    if own.shape != (num_items,) or own.dtype != bool:
        raise ValueError(f"known must be a boolean mask of shape ({num_items},)")
    if not np.isfinite(x[own]).all():
        raise ValueError("values has NaN or infinite entries among the known items")
    x[~own] = 0.0
    keep = np.where(own, 1.0 - alpha, 0.0).reshape((-1,) + (1,) * (x.ndim - 1))
    mix = np.where(own, alpha, 1.0).reshape(keep.shape)
    for _ in range(steps):
        x = keep * x + mix * (a @ x)
    return x
