"""Evaluate any fitted Recommender on a held-out split.

Ranking evaluation needs nothing from a model but index arrays in and NumPy scores out,
so PyTorch, TensorFlow, Surprise and the NumPy baselines are judged by the same code.
Intervals and paired comparisons of the per-user values are in :mod:`reclearn.stats`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reclearn import metrics as m
from reclearn.base import Recommender
from reclearn.interactions import validate_ratings
from reclearn.sampling import PositiveSets

PROTOCOLS = ("full", "sampled")

SKIP_REASONS = ("unknown user", "no held-out items", "held-out items all seen in train")
"""Why a user gets no row in ``RankingResult.per_user``."""


@dataclass
class RankingResult:
    """Ranking metrics of one model on one split.

    Introduced in chapter "Deep collaborative filtering".
    """

    per_user: pd.DataFrame = field(repr=False)
    """One row per evaluated user: ``user_id`` and one column per metric (``hr@10``,
    ``ndcg@10``, ``precision@10``, ``recall@10``, ``map@10``, ``mrr``, ``auc``)."""
    summary: dict[str, float]
    """Mean of each metric column over the evaluated users (NaN values left out)."""
    protocol: str
    """``"full"`` or ``"sampled"``."""
    k: int
    """The cut-off of the ``@k`` metrics."""
    num_users: int
    """Users evaluated (rows of ``per_user``)."""
    num_skipped: int
    """Users not evaluated; ``skipped`` says why."""
    skipped: dict[str, int]
    """Skipped users by reason (the keys of ``SKIP_REASONS``)."""
    num_unscorable_items: int
    """Held-out items the model cannot score (never in training), ranked last."""


def evaluate_ranking(
    model: Recommender,
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    k: int = 10,
    protocol: str = "full",
    negatives: np.ndarray | pd.DataFrame | None = None,
    metrics: Sequence[str] = m.RANKING_METRICS,
    batch_size: int = 256,
) -> RankingResult:
    """Rank each test user's held-out items and average the ranking metrics over users.

    Protocols:
        ``"full"``: a user's candidates are every item the model knows (it has training
        interactions) that the user has not seen in ``train``; the relevant items are the
        user's rows of ``test``. Items the user has in ``train`` are neither candidates
        nor relevant. Scores come from ``model.score_users`` in batches of
        ``batch_size`` users.

        ``"sampled"``: each test row is ranked among itself and its row of ``negatives``
        (99 items in NCF's protocol) by ``model.score_pairs``; a user's value is the mean
        over the user's test rows.

    Ties are broken pessimistically (:func:`reclearn.metrics.rank_of_targets`). A held-out
    item the model cannot score (absent from training) is ranked last; so is, in the
    sampled protocol, any candidate the model cannot score, which then sits below every
    scorable one. Users unknown to the model, users with no test rows (counted from
    ``train``) and users whose test items are all in their ``train`` rows are skipped and
    counted in ``skipped``.

    Args:
        model: A fitted recommender.
        train: The frame the model was fitted on (its rows define the seen items).
        test: Held-out rows (``user_id``, ``item_id``; other columns are ignored). Apply
            :func:`reclearn.sampling.implicit` first to keep only ratings above a threshold.
        k: Cut-off of the ``@k`` metrics.
        protocol: ``"full"`` or ``"sampled"``.
        negatives: For ``"sampled"``: item indices of the model's index, shape
            (len(test), n), aligned with the rows of ``test`` (as returned by
            :func:`reclearn.sampling.sampled_protocol_negatives`), or the frame of
            :func:`reclearn.sampling.load_negatives` (matched on ``user_id, item_id``).
        metrics: Any of ``"hr", "ndcg", "precision", "recall", "map", "mrr", "auc"``.
        batch_size: Users scored at once in the full protocol (bounds memory).

    Returns:
        A :class:`RankingResult`.

    Raises:
        ValueError: Unknown protocol or metric, ``k < 1``, missing or malformed
            negatives (wrong shape, or a negative that is a positive of its user), or a
            model score that is NaN.
        RuntimeError: The model is not fitted.

    Introduced in chapter "Deep collaborative filtering".
    """
    model.check_fitted()
    names = _check_options(protocol, k, metrics, batch_size)
    validate_ratings(train, require_rating=False, what="train")
    validate_ratings(test, require_rating=False, what="test")
    index = model.index
    num_users, num_items = index.num_users, index.num_items
    train_u, train_i = index.encode(train)
    known_rows = (train_u >= 0) & (train_i >= 0)
    seen = PositiveSets(train_u[known_rows], train_i[known_rows], num_users, num_items)
    users, items = index.encode(test)
    user_ok = users >= 0
    user_ok[user_ok] = model.user_known[users[user_ok]]
    item_ok = items >= 0
    item_ok[item_ok] = model.item_known[items[item_ok]]

    skipped = dict.fromkeys(SKIP_REASONS, 0)
    raw_users = test["user_id"].astype(str).to_numpy()
    skipped["unknown user"] = len(np.unique(raw_users[~user_ok]))
    train_users = np.unique(train_u[train_u >= 0])
    skipped["no held-out items"] = int(np.isin(train_users, users[user_ok], invert=True).sum())
    already_seen = user_ok & item_ok
    already_seen[already_seen] = seen.contains(users[already_seen], items[already_seen])
    rows = np.flatnonzero(user_ok & ~already_seen)
    evaluated = np.unique(users[rows])
    skipped["held-out items all seen in train"] = len(
        np.setdiff1d(np.unique(users[user_ok]), evaluated)
    )
    num_unscorable = int((~item_ok[rows]).sum())

    if protocol == "full":
        values = full_protocol(
            model.score_users,
            users[rows],
            np.where(item_ok[rows], items[rows], -1),
            seen,
            model.item_known,
            k,
            names,
            batch_size,
        )
        row_users = evaluated
    else:
        negatives = _negatives_for(negatives, test, model, users, items, seen)
        values = _sampled_protocol(
            model.score_pairs,
            users[rows],
            np.where(item_ok[rows], items[rows], -1),
            negatives[rows],
            model.item_known,
            k,
            names,
        )
        row_users, inverse = np.unique(users[rows], return_inverse=True)
        counts = np.bincount(inverse)
        values = np.stack([np.bincount(inverse, col) / counts for col in values.T], axis=1)

    columns = [_column(name, k) for name in names]
    per_user = pd.DataFrame(values, columns=columns)
    per_user.insert(0, "user_id", index.user_ids.to_numpy()[row_users])
    summary = {c: float(np.nanmean(per_user[c])) if len(per_user) else np.nan for c in columns}
    return RankingResult(
        per_user=per_user,
        summary=summary,
        protocol=protocol,
        k=k,
        num_users=len(per_user),
        num_skipped=sum(skipped.values()),
        skipped=skipped,
        num_unscorable_items=num_unscorable,
    )


def full_protocol(
    score_users: Callable[[np.ndarray], np.ndarray],
    users: np.ndarray,
    items: np.ndarray,
    seen: PositiveSets,
    item_known: np.ndarray,
    k: int,
    names: Sequence[str] = m.RANKING_METRICS,
    batch_size: int = 256,
) -> np.ndarray:
    """The full protocol on index arrays (the core of :func:`evaluate_ranking`).

    Args:
        score_users: Maps user indices (b,) to scores (b, num_items), higher is better.
        users: User index of each held-out pair, shape (n,).
        items: Item index of each held-out pair, shape (n,); -1 for an item the model
            cannot score (ranked last). Pairs must not be in ``seen``.
        seen: Each user's training items (neither candidates nor relevant).
        item_known: Which items are candidates at all, shape (num_items,).
        k, names, batch_size: As in :func:`evaluate_ranking`.

    Returns:
        Metric values, shape (number of distinct users, len(names)), users in ascending
        index order.

    Introduced in chapter "Deep collaborative filtering".
    """
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    order = np.lexsort((items, users))
    users, items = users[order], items[order]
    distinct, starts = np.unique(users, return_index=True)
    ends = np.r_[starts[1:], len(users)]
    out = np.empty((len(distinct), len(names)))
    for first in range(0, len(distinct), batch_size):
        batch = distinct[first : first + batch_size]
        scores = np.asarray(score_users(batch), dtype=np.float64)
        if scores.shape != (len(batch), len(item_known)):
            raise ValueError(
                f"the model scored {scores.shape} for {len(batch)} users and "
                f"{len(item_known)} items; expected {(len(batch), len(item_known))}"
            )
        for row, user in enumerate(batch):
            n = first + row
            relevant = np.unique(items[starts[n] : ends[n]])
            num_unscorable = int((relevant < 0).sum()) + int(
                (~item_known[relevant[relevant >= 0]]).sum()
            )
            relevant = relevant[relevant >= 0]
            relevant = relevant[item_known[relevant]]
            candidate = item_known.copy()
            candidate[seen.of(user)] = False
            target = np.zeros(len(item_known), dtype=bool)
            target[relevant] = True
            user_scores = scores[row, candidate]
            _check_scores(user_scores, user)
            target = target[candidate]
            if num_unscorable:
                user_scores = np.r_[user_scores, np.full(num_unscorable, -np.inf)]
                target = np.r_[target, np.ones(num_unscorable, dtype=bool)]
            ranks = m.rank_of_targets(user_scores, target)
            out[n] = _user_metrics(ranks, len(user_scores), k, names)
    return out


def _sampled_protocol(score_pairs, users, items, negatives, item_known, k, names) -> np.ndarray:
    """One row of metric values per held-out pair, ranked among its negatives."""
    candidates = np.concatenate([items[:, None], negatives], axis=1)  # (n, 1 + num_neg)
    scorable = candidates >= 0
    scorable[scorable] = item_known[candidates[scorable]]
    scores = np.full(candidates.shape, -np.inf)
    pair_users = np.broadcast_to(users[:, None], candidates.shape)
    if scorable.any():
        scores[scorable] = np.asarray(
            score_pairs(pair_users[scorable], candidates[scorable]), dtype=np.float64
        )
    out = np.empty((len(users), len(names)))
    target = np.zeros(candidates.shape[1], dtype=bool)
    target[0] = True
    for n in range(len(users)):
        _check_scores(scores[n], users[n])
        ranks = m.rank_of_targets(scores[n], target)
        out[n] = _user_metrics(ranks, candidates.shape[1], k, names)
    return out


def _negatives_for(negatives, test, model, users, items, seen) -> np.ndarray:
    """Negatives as item indices aligned with the rows of ``test``, checked."""
    if negatives is None:
        raise ValueError(
            "protocol='sampled' needs negatives: pass sampling.sampled_protocol_negatives(...) "
            "or the frame of sampling.load_negatives(path)"
        )
    if isinstance(negatives, pd.DataFrame):
        missing = [c for c in ("user_id", "item_id", "negatives") if c not in negatives.columns]
        if missing:
            raise ValueError(f"the negatives frame is missing column(s) {missing}")
        keys = negatives["user_id"].astype(str) + "\t" + negatives["item_id"].astype(str)
        wanted = test["user_id"].astype(str) + "\t" + test["item_id"].astype(str)
        position = pd.Index(keys).get_indexer(wanted)
        if (position < 0).any():
            row = test.iloc[int(np.flatnonzero(position < 0)[0])]
            raise ValueError(
                f"the negatives frame has no row for test pair "
                f"(user_id={row['user_id']!r}, item_id={row['item_id']!r})"
            )
        lists = negatives["negatives"].iloc[position].tolist()
        widths = {len(row) for row in lists}
        if len(widths) != 1:
            raise ValueError(f"every row of negatives must have the same length, got {widths}")
        flat = model.index.items(np.concatenate(lists))
        negatives = flat.reshape(len(lists), widths.pop())
    negatives = np.asarray(negatives)
    if (
        negatives.ndim != 2
        or len(negatives) != len(test)
        or not np.issubdtype(negatives.dtype, np.integer)
    ):
        raise ValueError(
            f"negatives must be integer item indices of shape (len(test)={len(test)}, n); "
            f"got {negatives.dtype} {negatives.shape}"
        )
    if negatives.size and (negatives.min() < -1 or negatives.max() >= model.index.num_items):
        raise ValueError(f"negatives must be item indices in [0, {model.index.num_items})")
    known = (users >= 0) & (items >= 0)
    positives = PositiveSets(
        np.r_[np.repeat(np.arange(seen.num_users), seen.counts()), users[known]],
        np.r_[seen.indices, items[known]],
        seen.num_users,
        seen.num_items,
    )
    pair_users = np.broadcast_to(users[:, None], negatives.shape)
    check = (negatives >= 0) & (pair_users >= 0)
    bad = np.zeros(negatives.shape, dtype=bool)
    bad[check] = positives.contains(pair_users[check], negatives[check])
    if bad.any():
        row, col = (int(x[0]) for x in np.nonzero(bad))
        raise ValueError(
            f"negative {col} of test row {row} (item index {int(negatives[row, col])}) is a "
            f"positive of user {test['user_id'].iloc[row]!r}; negatives must exclude every "
            "item the user interacted with in train or test"
        )
    return negatives.astype(np.int64)


def _user_metrics(ranks: np.ndarray, num_candidates: int, k: int, names) -> list[float]:
    values = []
    for name in names:
        if name == "mrr":
            values.append(m.reciprocal_rank(ranks))
        elif name == "auc":
            values.append(m.auc(ranks, num_candidates) if num_candidates > len(ranks) else np.nan)
        else:
            values.append(_AT_K[name](ranks, k))
    return values


_AT_K = {
    "hr": m.hit_rate_at_k,
    "ndcg": m.ndcg_at_k,
    "precision": m.precision_at_k,
    "recall": m.recall_at_k,
    "map": m.average_precision_at_k,
}


def _column(name: str, k: int) -> str:
    return f"{name}@{k}" if name in _AT_K else name


def _check_scores(scores: np.ndarray, user: int) -> None:
    if np.isnan(scores).any() or np.isposinf(scores).any():
        raise ValueError(f"the model gave a NaN or +inf score to a candidate of user index {user}")


def _check_options(protocol, k, metrics, batch_size) -> list[str]:
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; use one of {PROTOCOLS}")
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer of at least 1, got {k!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    unknown = [name for name in names if name not in m.RANKING_METRICS]
    if unknown or not names:
        raise ValueError(
            f"unknown metric(s) {unknown}; choose among {', '.join(m.RANKING_METRICS)}"
        )
    return names
