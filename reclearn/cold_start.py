"""Ranking evaluation for cold start: new items nobody rated, new users with few ratings.

:func:`reclearn.evaluate.evaluate_ranking` leaves out users unknown to the model and ranks
items without training ratings last. Cold start needs both: here every test user is ranked
(unknown users get what ``recommend`` gives them, the model's fallback), and the candidates
can be restricted to the cold items. Scores come from ``model.ranking_scores``, what
``recommend`` ranks, so MF's fallback for a new item is what gets measured.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from reclearn.base import Recommender
from reclearn.evaluate import RankingResult, full_protocol
from reclearn.interactions import validate_ratings
from reclearn.sampling import PositiveSets


def evaluate_cold_start(
    model: Recommender,
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    candidates=None,
    k: int = 10,
    metrics: Sequence[str] = ("ndcg", "hr", "recall"),
    batch_size: int = 256,
) -> RankingResult:
    """Rank each test user's held-out items among the candidates; average over users.

    Args:
        model: A fitted recommender.
        train: The frame it was fitted on (each user's items there are not candidates).
        test: Held-out rows (``user_id``, ``item_id``).
        candidates: Raw item ids to rank (e.g. the cold items); default every item in the
            model's index. Test rows of other items are dropped.
        k, metrics, batch_size: As in :func:`reclearn.evaluate.evaluate_ranking`.

    Returns:
        A :class:`reclearn.evaluate.RankingResult` (protocol ``"cold-start"``). Ties,
        including the ``-inf`` of items a model cannot score, are broken pessimistically.

    Introduced in chapter "Content-based recommendation".
    """
    model.check_fitted()
    validate_ratings(test, require_rating=False, what="test")
    index = model.index
    num_users, num_items = index.num_users, index.num_items
    if candidates is None:
        candidate = np.ones(num_items, dtype=bool)
    else:
        positions = index.items([str(i) for i in candidates])
        if (positions < 0).any():
            raise ValueError("a candidate item is not in the model's index")
        candidate = np.zeros(num_items, dtype=bool)
        candidate[positions] = True
    train_u, train_i = index.encode(train)
    keep = (train_u >= 0) & (train_i >= 0)
    seen = PositiveSets(train_u[keep], train_i[keep], num_users, num_items)
    users, items = index.encode(test)
    if (users < 0).any():
        raise ValueError(
            "a test user is not in the model's index; fit on a frame whose "
            "user_id categories include every user"
        )
    rows = (items >= 0) & candidate[np.maximum(items, 0)]
    rows[rows] = ~seen.contains(users[rows], items[rows])
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    values = full_protocol(
        model.ranking_scores, users[rows], items[rows], seen, candidate, k, names, batch_size
    )
    columns = [f"{n}@{k}" if n not in ("mrr", "auc") else n for n in names]
    per_user = pd.DataFrame(values, columns=columns)
    per_user.insert(0, "user_id", index.user_ids.to_numpy()[np.unique(users[rows])])
    summary = {c: float(per_user[c].mean()) if len(per_user) else np.nan for c in columns}
    return RankingResult(per_user, summary, "cold-start", k, len(per_user), 0, {}, 0)
