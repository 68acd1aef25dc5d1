"""Splitting protocols: random, per-user stratified, global temporal, leave-last-out, k-fold.

Every function takes a ratings frame and returns frames that are row subsets of it, so
categorical ids keep the data set's one index space. Splits are disjoint and together
hold every row.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from reclearn import seeds
from reclearn.checks import check_fraction, check_int
from reclearn.interactions import validate_ratings


def _check(ratings: pd.DataFrame, *, need_time: bool = False) -> None:
    """Check the frame; its timestamps too if the split orders ratings by them."""
    validate_ratings(ratings, require_rating=False, require_time=need_time)


def _check_seed(seed) -> int:
    return check_int("seed", seed, minimum=0)


def _take(ratings: pd.DataFrame, test_mask: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    return ratings[~test_mask], ratings[test_mask]


def random_split(
    ratings: pd.DataFrame, test_fraction: float = 0.2, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out a uniformly random ``test_fraction`` of all ratings.

    Some test users or items may then have no training rating (they fall back to
    biases at predict time), and training may contain ratings later than test ones.

    Introduced in chapter "Data".
    """
    _check(ratings)
    check_fraction("test_fraction", test_fraction)
    rng = np.random.default_rng(_check_seed(seed))
    num_test = round(test_fraction * len(ratings))
    test_mask = np.zeros(len(ratings), dtype=bool)
    test_mask[rng.permutation(len(ratings))[:num_test]] = True
    return _take(ratings, test_mask)


def per_user_split(
    ratings: pd.DataFrame, test_fraction: float = 0.2, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out ``test_fraction`` of each user's ratings at random (stratified by user).

    Each user keeps at least one training rating; users with a single rating stay whole in
    training. Every test user is therefore known at training time.

    Introduced in chapter "Data".
    """
    _check(ratings)
    check_fraction("test_fraction", test_fraction)
    rng = np.random.default_rng(_check_seed(seed))
    users = pd.factorize(ratings["user_id"])[0]
    order = np.lexsort((rng.random(len(ratings)), users))  # shuffled within each user
    counts = np.bincount(users)
    rank = np.empty(len(ratings), dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank[order] = np.arange(len(ratings)) - np.repeat(starts, counts)
    num_test = np.minimum(np.round(test_fraction * counts), counts - 1).astype(np.int64)
    return _take(ratings, rank < num_test[users])


def temporal_split(
    ratings: pd.DataFrame, test_fraction: float = 0.2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out the latest ``test_fraction`` of ratings by one global cut-off time.

    Every training rating is no later than every test rating (ties at the cut-off go to
    training), the way a deployed system meets the future.

    Introduced in chapter "Data".
    """
    _check(ratings, need_time=True)
    check_fraction("test_fraction", test_fraction)
    times = ratings["timestamp"].to_numpy()
    cutoff = np.sort(times)[len(times) - round(test_fraction * len(times)) - 1]
    test_mask = times > cutoff
    if not test_mask.any():
        raise ValueError(
            f"every rating is at or before the cut-off time {cutoff}; "
            "a temporal split needs distinct timestamps"
        )
    return _take(ratings, test_mask)


def tie_key(ratings: pd.DataFrame, seed: int = 0) -> np.ndarray:
    """A seeded pseudo-random key per (user, item) pair that orders tied timestamps.

    Ratings that share a timestamp have no order in the data; their order in the file
    (in MovieLens, by item id) must not decide which one is "latest", or a model could
    learn it. The key hashes the user and item ids with the seed, so it does not depend
    on row positions: permuting the rows changes no split.

    Introduced in chapter "Data".
    """
    pairs = ratings[["user_id", "item_id"]].astype(str)
    salt = f"reclearn{_check_seed(seed) % 10**8:08d}"
    return pd.util.hash_pandas_object(pairs, index=False, hash_key=salt).to_numpy()


def chronological(ratings: pd.DataFrame, seed: int = 0) -> np.ndarray:
    """Row positions sorted by user, then timestamp, ties by :func:`tie_key`.

    Introduced in chapter "Data".
    """
    _check(ratings, need_time=True)
    users = pd.factorize(ratings["user_id"].astype(str), sort=True)[0]
    times = ratings["timestamp"].to_numpy()
    return np.lexsort((tie_key(ratings, seed), times, users))


def leave_last_out(
    ratings: pd.DataFrame, n: int = 1, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out each user's latest ``n`` ratings (tied timestamps in a seeded order).

    Every user keeps at least one rating in training: a user with ``m <= n`` ratings
    gives only ``m - 1`` to test, and a user with a single rating stays whole in train.

    Introduced in chapter "Data".
    """
    n = check_int("n", n, minimum=1)
    order = chronological(ratings, seed)
    users = pd.factorize(ratings["user_id"].astype(str), sort=True)[0][order]
    counts = np.bincount(users)
    ends = np.cumsum(counts)
    from_end = np.repeat(ends, counts) - np.arange(len(order))  # 1 = user's latest
    last = np.zeros(len(ratings), dtype=bool)
    last[order] = from_end <= np.minimum(n, counts - 1)[users]
    return _take(ratings, last)


def kfold(ratings: pd.DataFrame, n_splits: int = 5, seed: int = 0) -> Iterator[tuple]:
    """Yield ``(train, test)`` for each of ``n_splits`` random folds of the ratings.

    The folds partition the rows; the same seed gives the same folds for every model.

    Introduced in chapter "Matrix factorization".
    """
    _check(ratings)
    n_splits = check_int("n_splits", n_splits, minimum=2, maximum=len(ratings))
    rng = np.random.default_rng(_check_seed(seed))
    fold_of_row = rng.permutation(len(ratings)) % n_splits
    return _folds(ratings, fold_of_row, n_splits)


def _folds(ratings: pd.DataFrame, fold_of_row: np.ndarray, n_splits: int) -> Iterator:
    """The folds of :func:`kfold`, made lazily once its arguments are checked."""
    for fold in range(n_splits):
        yield _take(ratings, fold_of_row == fold)


def cold_item_split(
    ratings: pd.DataFrame, item_fraction: float = 0.1, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out a random ``item_fraction`` of the rated items with *all* their ratings.

    No held-out (cold) item appears in the training frame, so a model fitted on it has
    never seen a rating of one; the test frame holds only ratings of cold items.

    Raises:
        ValueError: ``item_fraction`` is not strictly between 0 and 1, or it would leave no
            item on one side.

    Introduced in chapter "Content-based recommendation".
    """
    _check(ratings)
    check_fraction("item_fraction", item_fraction)
    items = pd.unique(ratings["item_id"].astype(str))
    num_cold = round(item_fraction * len(items))
    if not 0 < num_cold < len(items):
        raise ValueError(
            f"item_fraction {item_fraction} of {len(items)} rated items leaves "
            f"{num_cold} cold items; both sides need at least one"
        )
    rng = seeds.rng(_check_seed(seed), seeds.Stream.COLD_ITEMS)
    cold = set(np.sort(items)[rng.permutation(len(items))[:num_cold]])
    return _take(ratings, ratings["item_id"].astype(str).isin(cold).to_numpy())


def cold_user_split(
    ratings: pd.DataFrame, user_fraction: float = 0.2, n_known: int = 0, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """New users: a random ``user_fraction`` of users keep only ``n_known`` ratings in train.

    A cold user's known ratings are the earliest ``n_known`` (by ``timestamp`` if there is
    one, ties and timeless frames in a seeded random order); the rest go to test. The same
    seed picks the same cold users for every ``n_known``, and a larger ``n_known`` keeps a
    superset of the known ratings, so results for several ``n_known`` are comparable. Cold
    users with no more than ``n_known`` ratings stay whole in training (nothing to test).

    Raises:
        ValueError: ``user_fraction`` outside (0, 1) or ``n_known`` negative or not an int.

    Introduced in chapter "Content-based recommendation".
    """
    _check(ratings, need_time="timestamp" in ratings.columns)
    check_fraction("user_fraction", user_fraction)
    n_known = check_int("n_known", n_known, minimum=0)
    rng = seeds.rng(_check_seed(seed), seeds.Stream.COLD_USERS)
    user_ids = ratings["user_id"].astype(str).to_numpy()
    users = np.sort(pd.unique(user_ids))
    num_cold = max(1, round(user_fraction * len(users)))
    cold = np.zeros(len(ratings), dtype=bool)
    cold[np.isin(user_ids, users[rng.permutation(len(users))[:num_cold]])] = True
    codes = pd.factorize(user_ids)[0]
    times = ratings["timestamp"].to_numpy() if "timestamp" in ratings.columns else 0
    order = np.lexsort((rng.random(len(ratings)), np.broadcast_to(times, len(ratings)), codes))
    counts = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(len(ratings), dtype=np.int64)
    rank[order] = np.arange(len(ratings)) - np.repeat(starts, counts)
    return _take(ratings, cold & (rank >= n_known))


def thin(
    train: pd.DataFrame, fraction: float, seed: int = 0, min_per_user: int = 1
) -> pd.DataFrame:
    """Keep a random ``fraction`` of each user's ratings: a sparser data set.

    A user with ``n`` ratings keeps ``round(fraction * n)`` of them, but at least
    ``min(min_per_user, n)``, so no user disappears. For one seed, the rows kept at a
    smaller fraction are a subset of those kept at a larger one (each user's ratings are
    shuffled once and the first ones kept), so curves over fractions compare like with
    like. Thin only the training frame; the test frame stays fixed.

    Args:
        train: Ratings (``user_id``, ``item_id``, ...).
        fraction: Share of each user's ratings to keep, in (0, 1].
        seed: Seed of the shuffle.
        min_per_user: Ratings every user keeps at least (non-negative int).

    Returns:
        A row subset of ``train`` in its original order, with the same categories.

    Raises:
        ValueError: ``fraction`` outside (0, 1], or ``min_per_user`` negative or not
            an int.

    Introduced in chapter "Challenges".
    """
    _check(train)
    fraction = check_fraction("fraction", fraction, one=True)
    min_per_user = check_int("min_per_user", min_per_user, minimum=0)
    rng = seeds.rng(_check_seed(seed), seeds.Stream.THINNING)
    users = pd.factorize(train["user_id"])[0]
    order = np.lexsort((rng.random(len(train)), users))  # shuffled within each user
    counts = np.bincount(users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(len(train), dtype=np.int64)
    rank[order] = np.arange(len(train)) - np.repeat(starts, counts)
    keep = np.maximum(np.round(fraction * counts), np.minimum(min_per_user, counts))
    return train[rank < keep[users]]
