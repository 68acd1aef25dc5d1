"""Baselines behind the Recommender interface: scikit-surprise's rating predictors.

Surprise is imported only when a baseline is fitted, so ``import reclearn`` stays light.
They see exactly the rows reclearn's models see: the same frames, the same splits.
"""

from __future__ import annotations

import numpy as np

from reclearn.base import Recommender, TrainingData

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
    import pandas as pd

    return pd.DataFrame({"user": data.users, "item": data.items, "rating": data.ratings})
