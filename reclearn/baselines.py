"""Baselines behind the Recommender interface: scikit-surprise's rating predictors and
simple ranking models in NumPy/SciPy (popularity, ItemKNN, EASE) and implicit ALS.

Surprise, SciPy and ``implicit`` are imported only when a baseline is fitted, so
``import reclearn`` stays light. They see exactly the rows reclearn's models see: the same
frames, the same splits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reclearn.base import Recommender, TrainingData, gather_pairs
from reclearn.checks import check_float, check_fraction, check_int, check_optional_float
from reclearn.sampling import implicit
from reclearn.sequences import Chronological

SURPRISE_DEFAULTS = {
    # Surprise's own defaults, except seeds (fixed for reproducibility) and
    # SVD++'s rating cache (same result, faster).
    "NormalPredictor": {},
    "BaselineOnly": {"verbose": False},
    "KNNBaseline": {"verbose": False},
    "SVD": {"random_state": 0},
    "SVDpp": {"random_state": 0, "cache_ratings": True},
    "NMF": {"random_state": 0},
    "SlopeOne": {},
}


class SurpriseRecommender(Recommender):
    """A scikit-surprise algorithm fitted on a reclearn frame.

    Args:
        algorithm: Class name in ``surprise`` (``"SVD"``, ``"KNNBaseline"``, ...).
        **params: Passed to the algorithm's constructor, over our defaults.

    Introduced in chapter "Matrix factorization".
    """

    backend = "surprise"

    def __init__(self, algorithm: str, **params) -> None:
        super().__init__()
        if algorithm not in SURPRISE_DEFAULTS:
            raise ValueError(
                f"unknown Surprise algorithm {algorithm!r}; use one of {list(SURPRISE_DEFAULTS)}"
            )
        _check_params(algorithm, params)
        self.algorithm = algorithm
        self.params = {**SURPRISE_DEFAULTS[algorithm], **params}
        self.name = f"surprise-{algorithm.lower()}"
        self.algo = None

    def _fit(self, data: TrainingData, validation: TrainingData | None) -> None:
        import surprise

        params = dict(self.params)
        if self.algorithm == "NormalPredictor":  # it draws from NumPy's global RNG
            np.random.seed(params.pop("random_state", 0))  # noqa: NPY002
        # Surprise's raw ids are our indices, so it sees exactly our rows.
        reader = surprise.Reader(rating_scale=self.rating_scale)
        frame = _frame(data)
        dataset = surprise.Dataset.load_from_df(frame, reader)
        self.trainset = dataset.build_full_trainset()
        self.algo = getattr(surprise, self.algorithm)(**params)
        self.algo.fit(self.trainset)

    def _score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        inner_u = np.array([self.trainset.to_inner_uid(u) for u in users.tolist()])
        inner_i = np.array([self.trainset.to_inner_iid(i) for i in items.tolist()])
        estimate = self.algo.estimate
        out = np.empty(len(users))
        for n, (u, i) in enumerate(zip(inner_u.tolist(), inner_i.tolist(), strict=True)):
            try:
                value = estimate(u, i)
            except Exception as error:  # PredictionImpossible: Surprise's own fallback
                if type(error).__name__ != "PredictionImpossible":
                    raise
                value = self.trainset.global_mean
            out[n] = value[0] if isinstance(value, tuple) else value
        return out

    def __repr__(self) -> str:
        return f"SurpriseRecommender({self.algorithm!r}, {self.params})"


def _check_params(algorithm: str, params: dict) -> None:
    """Reject options the Surprise algorithm does not take, listing those it does."""
    import inspect

    import surprise

    signature = inspect.signature(getattr(surprise, algorithm).__init__)
    accepted = [p for p in signature.parameters if p not in ("self", "args", "kwargs")]
    unknown = sorted(set(params) - set(accepted) - {"random_state"})
    if unknown:
        raise ValueError(
            f"Surprise {algorithm} has no option(s) {unknown}; valid options: {accepted}"
        )


def _frame(data: TrainingData):
    return pd.DataFrame({"user": data.users, "item": data.items, "rating": data.ratings})


# --- simple ranking baselines (NumPy/SciPy) ----------------------------------------


class RankingBaseline(Recommender):
    """Shared plumbing of the NumPy ranking baselines: implicit interactions, popularity
    fallback, pair scores gathered from user score rows.

    Subclasses implement ``_fit_model(matrix, data, validation)`` and ``_score_users``.
    Users unknown at training time get the most popular items (``_biases``); ``predict``
    returns raw ranking scores (not ratings), so fallback rows (popularity counts) and model
    rows are on different scales.

    Introduced in chapter "Deep collaborative filtering".
    """

    backend = "numpy"
    clip_predictions = False

    def __init__(self, threshold: float | None = None) -> None:
        super().__init__()
        self.threshold = check_optional_float("threshold", threshold)

    def _interactions(self, data: TrainingData) -> tuple[np.ndarray, np.ndarray]:
        """(users, items) of the rows that count as interactions (``sampling.implicit``)."""
        kept = implicit(pd.DataFrame({"rating": data.ratings}), self.threshold).index
        return data.users[kept], data.items[kept]

    def _fit(self, data: TrainingData, validation: TrainingData | None) -> None:
        users, items = self._interactions(data)
        matrix = _binary_matrix(users, items, data.num_users, data.num_items)
        self.popularity_ = np.asarray(matrix.sum(axis=0)).ravel()
        self._fit_model(matrix, data, validation)

    def _fit_model(self, matrix, data: TrainingData, validation: TrainingData | None) -> None:
        """Learn from the binary user-item matrix (scipy CSR, shape (num_users, num_items))."""

    def _biases(self) -> tuple[float, np.ndarray, np.ndarray]:
        """Zero global and user terms and popularity as the item term: unknown users get
        the most popular items."""
        return 0.0, np.zeros(self.index.num_users), self.popularity_.astype(np.float64)

    def _score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Scores of (user, item) pairs, gathered from score rows of 256 users at a time."""
        return gather_pairs(self._score_users, users, items)


class PopularityRecommender(RankingBaseline):
    """Score of an item = number of training interactions with it, the same for every user.

    Args:
        threshold: Count only ratings ``>= threshold`` (default: every rating).

    Introduced in chapter "Deep collaborative filtering".
    """

    name = "pop"

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        """Popularity of every item for each user, shape (len(users), num_items)."""
        return np.tile(self.popularity_.astype(np.float64), (len(users), 1))

    def _score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.popularity_[np.asarray(items)].astype(np.float64)

    def __repr__(self) -> str:
        return f"PopularityRecommender(threshold={self.threshold})"


class ItemKNNRecommender(RankingBaseline):
    """Item-based nearest neighbours with shrunk cosine similarity.

    On the binary user-item matrix ``X``, ``sim(i, j) = x_i . x_j / (|x_i| |x_j| + shrinkage)``
    (columns ``x_i``; an item is not its own neighbour). Each item ``j`` keeps its ``k``
    most similar items ``i`` (the weight matrix ``W`` keeps ``k`` entries per column) and a
    user's score for ``j`` is the sum of ``W[i, j]`` over the items ``i`` the user
    interacted with.

    Args:
        k: Neighbours kept per item.
        shrinkage: Added to the cosine's denominator; damps similarities built on few
            common users.
        threshold: Count only ratings ``>= threshold`` (default: every rating).

    Introduced in chapter "Deep collaborative filtering".
    """

    name = "itemknn"

    def __init__(self, k: int = 100, shrinkage: float = 10.0, threshold: float | None = None):
        super().__init__(threshold)
        self.k = check_int("k", k, minimum=1)
        self.shrinkage = check_float("shrinkage", shrinkage, minimum=0)

    def _fit_model(self, matrix, data, validation) -> None:
        from scipy import sparse

        num_items = matrix.shape[1]
        k = min(self.k, num_items - 1)
        norms = np.sqrt(np.asarray(matrix.sum(axis=0)).ravel())
        transposed = matrix.T.tocsr()
        rows, cols, values = [], [], []
        for start in range(0, num_items, 1024):  # 1024 columns of similarities at a time
            block = np.arange(start, min(start + 1024, num_items))
            dot = transposed @ matrix[:, block].toarray()  # (num_items, block)
            denominator = norms[:, None] * norms[None, block] + self.shrinkage
            sim = np.divide(dot, denominator, out=np.zeros_like(dot), where=denominator > 0)
            sim[block, np.arange(len(block))] = 0.0
            if k < 1:
                continue
            top = np.argpartition(-sim, k - 1, axis=0)[:k]  # (k, block)
            top_values = np.take_along_axis(sim, top, axis=0)
            keep = top_values > 0
            rows.append(top[keep])
            cols.append(np.broadcast_to(block, top.shape)[keep])
            values.append(top_values[keep])
        self.weights_ = sparse.csr_matrix(
            (
                np.concatenate(values or [[]]),
                (
                    np.concatenate(rows or [[]]).astype(np.int64),
                    np.concatenate(cols or [[]]).astype(np.int64),
                ),
            ),
            shape=(num_items, num_items),
        )
        self._matrix = matrix

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        """Sums of neighbour weights, shape (len(users), num_items)."""
        return (self._matrix[np.asarray(users)] @ self.weights_).toarray()

    def __repr__(self) -> str:
        return (
            f"ItemKNNRecommender(k={self.k}, shrinkage={self.shrinkage}, "
            f"threshold={self.threshold})"
        )


class EASERecommender(RankingBaseline):
    """EASE (Steck 2019): a linear item-item model with a zero diagonal, in closed form.

    ``B = argmin |X - X B|^2 + l2 |B|^2`` subject to ``diag(B) = 0`` is
    ``B = I - P diag(1 / diag(P))`` with ``P = (X^T X + l2 I)^-1``; the scores are ``X B``.
    When there are fewer users than items the scores are computed through the identity
    ``X P = (X X^T + l2 I)^-1 X``, which inverts a (num_users, num_users) matrix and never
    forms ``B`` (``weights_`` is then ``None``). One eigendecomposition serves every
    ``l2``, so tuning costs little.

    Tuning: if ``fit`` gets a ``validation`` frame (or ``validation_fraction > 0`` holds out
    a random part of train), every value of ``l2_grid`` is scored by NDCG@10 (full protocol)
    on it and the best is kept in ``l2_`` (all scores in ``validation_ndcg_``); the final
    model is fitted on the training rows only (all of train when the validation rows were
    held out of it). Otherwise ``l2_ = l2``.

    Args:
        l2: The penalty ``lambda`` used without validation.
        l2_grid: Values of ``lambda`` tried when there is validation data.
        threshold: Count only ratings ``>= threshold`` (default: every rating).
        validation_fraction: Hold out this fraction of train to tune on when no
            validation frame is passed (0: no tuning).
        seed: Seed of that hold-out.

    Introduced in chapter "Deep collaborative filtering".
    """

    name = "ease"

    def __init__(
        self,
        l2: float = 500.0,
        l2_grid: tuple[float, ...] = (10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0),
        threshold: float | None = None,
        validation_fraction: float = 0.0,
        seed: int = 0,
    ) -> None:
        super().__init__(threshold)
        self.l2 = check_float("l2", l2, positive=True, hint="EASE's penalty; try 500")
        iterable = np.iterable(l2_grid) and not isinstance(l2_grid, str)
        grid = tuple(l2_grid) if iterable else ()
        if not grid:
            raise ValueError(f"l2_grid must hold at least one number, got {l2_grid!r}")
        self.l2_grid = tuple(
            check_float(f"l2_grid[{n}]", v, positive=True) for n, v in enumerate(grid)
        )
        self.validation_fraction = check_fraction(
            "validation_fraction", validation_fraction, zero=True
        )
        self.seed = check_int("seed", seed, minimum=0)

    def _fit_model(self, matrix, data, validation) -> None:
        from reclearn.base import hold_out

        if validation is None and self.validation_fraction > 0:
            part, validation = hold_out(data, self.validation_fraction, self.seed)
            users, items = self._interactions(part)
            tune_on = _binary_matrix(users, items, data.num_users, data.num_items)
            seen_data = part
        else:
            tune_on, seen_data = matrix, data
        self.validation_ndcg_ = {}
        self.l2_ = self.l2
        decomposed = False
        if validation is not None and len(validation.users):
            self.validation_ndcg_ = self._tune(tune_on, seen_data, validation)
            self.l2_ = max(self.validation_ndcg_, key=self.validation_ndcg_.get)
            decomposed = tune_on is matrix
        if not decomposed:
            self._decompose(matrix)
        self.scores_, self.weights_ = self._solve(self.l2_, with_weights=True)

    def _tune(self, matrix, data: TrainingData, validation: TrainingData) -> dict[float, float]:
        """NDCG@10 on the validation rows for each ``l2`` of the grid."""
        from reclearn.evaluate import full_protocol
        from reclearn.sampling import PositiveSets

        val_users, val_items = self._interactions(validation)
        seen = PositiveSets(data.users, data.items, data.num_users, data.num_items)
        fresh = ~seen.contains(val_users, val_items)
        known_item = np.bincount(data.items, minlength=data.num_items) > 0
        self._decompose(matrix)
        result = {}
        for l2 in self.l2_grid:
            scores, _ = self._solve(l2, with_weights=False)
            ndcg = full_protocol(
                lambda users, s=scores: s[users],
                val_users[fresh],
                val_items[fresh],
                seen,
                known_item,
                k=10,
                names=["ndcg"],
            )
            result[l2] = float(ndcg.mean()) if len(ndcg) else np.nan
        return result

    def _decompose(self, matrix) -> None:
        """Eigendecomposition of the smaller Gram matrix of ``matrix``."""
        self._x = matrix
        self._dual = matrix.shape[0] < matrix.shape[1]
        gram = (matrix @ matrix.T) if self._dual else (matrix.T @ matrix)
        eigenvalues, self._eigenvectors = np.linalg.eigh(gram.toarray())
        self._eigenvalues = np.maximum(eigenvalues, 0.0)

    def _solve(self, l2: float, with_weights: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """(scores X B of every user, B or None) for one ``l2``."""
        vectors = self._eigenvectors
        inverse = (vectors / (self._eigenvalues + l2)) @ vectors.T
        dense = self._x.toarray()
        weights = None
        if self._dual:  # X P = (X X^T + l2 I)^-1 X
            x_p = inverse @ dense
            diag_p = (1.0 - np.asarray(self._x.multiply(x_p).sum(axis=0)).ravel()) / l2
        else:  # P = (X^T X + l2 I)^-1
            x_p = dense @ inverse
            diag_p = np.diag(inverse).copy()
            if with_weights:
                weights = -inverse / diag_p
                np.fill_diagonal(weights, 0.0)
        return dense - x_p / diag_p, weights

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        """Rows of ``X B``, shape (len(users), num_items)."""
        return self.scores_[np.asarray(users)]

    def _score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.scores_[np.asarray(users), np.asarray(items)]

    def __repr__(self) -> str:
        return f"EASERecommender(l2={self.l2}, l2_grid={self.l2_grid}, threshold={self.threshold})"


class ALSRecommender(RankingBaseline):
    """Implicit ALS (Hu, Koren & Volinsky 2008) by the ``implicit`` library, on the CPU.

    On the binary user-item matrix ``X``, every pair gets a preference ``x_ui`` and a
    confidence: ``alpha`` for an interaction, 1 for a missing pair. Alternating least
    squares minimises the confidence-weighted squared error of ``p_u . q_i`` against
    ``x_ui`` plus ``regularization`` times the squared norms; the score of item ``i``
    for user ``u`` is ``p_u . q_i``. Seeded, and run on one BLAS thread (what
    ``implicit`` asks for), so the same seed gives the same scores.

    Args:
        factors: Length of the user and item vectors.
        regularization: Weight of the squared-norm penalty.
        alpha: Confidence of an observed interaction (a missing pair has 1).
        iterations: Alternating passes (users, then items).
        threshold: Count only ratings ``>= threshold`` (default: every rating).
        num_threads: Threads of ``implicit``'s solver (0: all cores).
        seed: Seed of the initial vectors.

    Introduced in chapter "Deep collaborative filtering".
    """

    name = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.01,
        alpha: float = 1.0,
        iterations: int = 15,
        threshold: float | None = None,
        num_threads: int = 1,
        seed: int = 0,
    ) -> None:
        super().__init__(threshold)
        self.factors = check_int("factors", factors, minimum=1, maximum=4096)
        self.regularization = check_float("regularization", regularization, minimum=0)
        self.alpha = check_float(
            "alpha", alpha, positive=True, hint="confidence of an interaction; 1 to 100"
        )
        self.iterations = check_int("iterations", iterations, minimum=1, maximum=1000)
        self.num_threads = check_int("num_threads", num_threads, minimum=0)
        self.seed = check_int("seed", seed, minimum=0)

    def _fit_model(self, matrix, data, validation) -> None:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):  # implicit warns about threaded BLAS
            als = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                num_threads=self.num_threads,
                random_state=self.seed,
            )
            als.fit(matrix.astype(np.float32), show_progress=False)
        self.user_factors_ = np.asarray(als.user_factors, dtype=np.float64)
        self.item_factors_ = np.asarray(als.item_factors, dtype=np.float64)

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        """``p_u . q_i`` of every item, shape (len(users), num_items)."""
        return self.user_factors_[np.asarray(users)] @ self.item_factors_.T

    def _score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        p_u = self.user_factors_[np.asarray(users)]
        q_i = self.item_factors_[np.asarray(items)]
        return np.einsum("nk,nk->n", p_u, q_i)

    def __repr__(self) -> str:
        return (
            f"ALSRecommender(factors={self.factors}, regularization={self.regularization}, "
            f"alpha={self.alpha}, iterations={self.iterations}, threshold={self.threshold})"
        )


TIE_BREAK = 1e-6
"""Weight of popularity (scaled to [0, 1]) in the sequential baselines' scores: it orders
items whose sequential scores tie, and ranks every item for a user with no evidence."""


class MarkovRecommender(Chronological, RankingBaseline):
    """A first-order Markov chain over items: what follows what in users' histories.

    Each user's training items are put in time order (:mod:`reclearn.sequences`); every
    consecutive pair ``i -> j`` is a transition, and ``P(j | i)`` is the share of the
    transitions out of ``i`` that go to ``j``. The score of ``j`` sums the transitions
    out of the user's ``window`` most recent items ``s_1`` (latest), ``s_2``, ...,
    weighted by recency: ``sum_m decay^(m-1) P(j | s_m)``, plus popularity scaled to at
    most :data:`TIE_BREAK` (ties, and users whose recent items lead nowhere).

    Args:
        window: Recent items that vote (1: the last item only, a pure first-order chain;
            3 with decay 0.5 was best of a small grid on a validation split carved from
            ml-latest-small's leave-last-out train).
        decay: Weight ratio between consecutive recent items, in (0, 1].
        threshold: Count only ratings ``>= threshold`` (default: every rating).
        seed: Seed of the order of ratings that share a timestamp.

    Introduced in chapter "Sequence-aware recommendation".
    """

    name = "markov"

    def __init__(
        self,
        window: int = 3,
        decay: float = 0.5,
        threshold: float | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(threshold)
        self.window = check_int("window", window, minimum=1)
        self.decay = check_float("decay", decay, positive=True, maximum=1)
        self.seed = check_int("seed", seed, minimum=0)

    def _fit_model(self, matrix, data, validation) -> None:
        from scipy import sparse

        self.sequences_ = self._sequences(data, self.threshold)
        users, items = self.sequences_.users, self.sequences_.items
        follows = users[1:] == users[:-1]  # consecutive items of one user
        counts = sparse.csr_matrix(
            (np.ones(int(follows.sum())), (items[:-1][follows], items[1:][follows])),
            shape=(data.num_items, data.num_items),
        )
        out = np.asarray(counts.sum(axis=1)).ravel()
        scale = np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)
        self.transitions_ = sparse.diags(scale) @ counts  # rows: P(j | i)

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        """Recency-weighted transition probabilities, shape (len(users), num_items)."""
        weights = self.decay ** np.arange(self.window)
        recent = _recent_weights(self.sequences_, users, weights, len(self.popularity_))
        scores = (recent @ self.transitions_).toarray()
        return scores + TIE_BREAK * _scaled_popularity(self.popularity_)

    def __repr__(self) -> str:
        return (
            f"MarkovRecommender(window={self.window}, decay={self.decay}, "
            f"threshold={self.threshold})"
        )


class SequenceKNNRecommender(Chronological, RankingBaseline):
    """Sequence-aware user kNN, after Ludewig & Jannach (2018)'s V-SKNN.

    V-SKNN compares the current session with past sessions, weighting the session's
    items by recency; here a user's recent items play the session and other users'
    training histories the past sessions. The ``window`` most recent items of user
    ``u`` get linearly decaying weights ``w_m = 1 - (m - 1) / window`` (``m = 1``:
    latest), forming the vector ``r_u``; a user ``v`` with binary history ``x_v`` is a
    neighbour with similarity ``sim(u, v) = r_u . x_v / sqrt(|x_v|)`` (the root damps
    users who rated everything). The ``k`` most similar users (never ``u``) vote:
    ``score(u, j) = sum_v sim(u, v) x_vj``, plus popularity scaled to at most
    :data:`TIE_BREAK`.

    Args:
        k: Neighbours per user (20 and 7 recent items were best of a small grid on a
            validation split carved from ml-latest-small's leave-last-out train).
        window: Recent items that define a user's current interest.
        threshold: Count only ratings ``>= threshold`` (default: every rating).
        seed: Seed of the order of ratings that share a timestamp.

    Introduced in chapter "Sequence-aware recommendation".
    """

    name = "sequence-knn"

    def __init__(
        self, k: int = 20, window: int = 7, threshold: float | None = None, seed: int = 0
    ) -> None:
        super().__init__(threshold)
        self.k = check_int("k", k, minimum=1)
        self.window = check_int("window", window, minimum=1)
        self.seed = check_int("seed", seed, minimum=0)

    def _fit_model(self, matrix, data, validation) -> None:
        self.sequences_ = self._sequences(data, self.threshold)
        self._matrix = matrix
        sizes = np.asarray(matrix.sum(axis=1)).ravel()
        self._damping = np.divide(1.0, np.sqrt(sizes), out=np.zeros_like(sizes), where=sizes > 0)

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        """Votes of each user's ``k`` nearest neighbours, shape (len(users), num_items)."""
        users = np.asarray(users, dtype=np.int64)
        weights = 1.0 - np.arange(self.window) / self.window
        recent = _recent_weights(self.sequences_, users, weights, self._matrix.shape[1])
        sim = (recent @ self._matrix.T).toarray() * self._damping  # (batch, num_users)
        sim[np.arange(len(users)), users] = 0.0
        k = min(self.k, sim.shape[1])
        if k < sim.shape[1]:
            kth = -np.partition(-sim, k - 1, axis=1)[:, k - 1 : k]
            sim[sim < kth] = 0.0  # ties at the k-th similarity all vote
        scores = np.asarray(self._matrix.T.dot(sim.T).T)
        return scores + TIE_BREAK * _scaled_popularity(self.popularity_)

    def __repr__(self) -> str:
        return (
            f"SequenceKNNRecommender(k={self.k}, window={self.window}, threshold={self.threshold})"
        )


def _recent_weights(sequences, users: np.ndarray, weights: np.ndarray, num_items: int):
    """Sparse (len(users), num_items): ``weights[m]`` on each user's (m+1)-th latest item
    (an item met twice gets both weights)."""
    from scipy import sparse

    rows, columns, values = [np.empty(0, np.int64)], [np.empty(0, np.int64)], [np.empty(0)]
    for row, user in enumerate(np.asarray(users).tolist()):
        recent = sequences.of(user)[::-1][: len(weights)]
        rows.append(np.full(len(recent), row))
        columns.append(recent)
        values.append(weights[: len(recent)])
    return sparse.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))),
        shape=(len(users), num_items),
    )


def _scaled_popularity(popularity: np.ndarray) -> np.ndarray:
    """Popularity divided by its maximum, float64 in [0, 1]."""
    return popularity / max(float(popularity.max()), 1.0)


def _binary_matrix(users: np.ndarray, items: np.ndarray, num_users: int, num_items: int):
    """The binary user-item matrix, scipy CSR of shape (num_users, num_items), float64."""
    from scipy import sparse

    matrix = sparse.csr_matrix((np.ones(len(users)), (users, items)), shape=(num_users, num_items))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix
