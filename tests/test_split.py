"""Splits are disjoint, cover every row, share one index space and never leak."""

import numpy as np
import pandas as pd
import pytest

from reclearn import make_synthetic, split


def assert_partition(ratings, train, test):
    assert train.index.intersection(test.index).empty
    assert train.index.union(test.index).equals(ratings.index)
    assert len(train) + len(test) == len(ratings)
    for column in ("user_id", "item_id"):
        categories = ratings[column].cat.categories
        assert train[column].cat.categories.equals(categories)
        assert test[column].cat.categories.equals(categories)


@pytest.fixture(scope="module")
def ratings(movielens):
    return movielens.ratings


@pytest.mark.parametrize(
    "splitter",
    [split.random_split, split.per_user_split, split.temporal_split, split.leave_last_out],
)
def test_every_split_is_a_disjoint_cover_in_one_index_space(ratings, splitter):
    train, test = splitter(ratings)
    assert_partition(ratings, train, test)
    pd.testing.assert_frame_equal(train, ratings.loc[train.index])  # rows unchanged


def test_random_split_holds_out_the_rounded_fraction(ratings):
    train, test = split.random_split(ratings, test_fraction=0.2, seed=0)
    assert len(test) == round(0.2 * 100_836) == 20_167
    assert len(train) == 80_669


def test_random_split_is_deterministic_for_a_seed(ratings):
    _, test = split.random_split(ratings, seed=1)
    _, again = split.random_split(ratings, seed=1)
    _, other = split.random_split(ratings, seed=2)
    assert test.index.equals(again.index)
    assert not test.index.equals(other.index)


def test_per_user_split_keeps_every_test_user_in_train(ratings):
    train, test = split.per_user_split(ratings, test_fraction=0.2, seed=0)
    assert set(test.user_id) <= set(train.user_id)
    assert set(train.user_id) == set(ratings.user_id)  # nobody lost from training


def test_per_user_split_holds_out_the_rounded_fraction_of_each_user(ratings):
    train, test = split.per_user_split(ratings, test_fraction=0.2, seed=0)
    counts = ratings.groupby("user_id", observed=True).size()
    held = test.groupby("user_id", observed=True).size().reindex(counts.index, fill_value=0)
    expected = np.minimum(np.round(0.2 * counts), counts - 1)
    assert (held == expected).all()


def test_per_user_split_keeps_single_rating_users_in_train():
    ratings = pd.DataFrame(
        {"user_id": ["a", "b", "b", "b", "b", "b"], "item_id": list("xxyzvw"), "rating": 1.0}
    )
    train, test = split.per_user_split(ratings, test_fraction=0.4, seed=0)
    assert list(test.user_id) == ["b", "b"]
    assert "a" in set(train.user_id)


def test_temporal_split_puts_every_test_rating_after_every_train_rating(ratings):
    train, test = split.temporal_split(ratings, test_fraction=0.2)
    assert train.timestamp.max() <= test.timestamp.min()
    assert len(test) == pytest.approx(0.2 * len(ratings), abs=5)  # ties at the cut stay in train


def test_temporal_split_sends_ties_at_the_cutoff_to_training():
    ratings = pd.DataFrame(
        {"user_id": list("abcd"), "item_id": list("wxyz"), "rating": 1.0, "timestamp": [1, 2, 2, 3]}
    )
    train, test = split.temporal_split(ratings, test_fraction=0.5)
    assert list(train.timestamp) == [1, 2, 2]
    assert list(test.timestamp) == [3]


def test_leave_last_out_holds_out_each_users_latest_rating(ratings):
    train, test = split.leave_last_out(ratings)
    counts = ratings.groupby("user_id", observed=True).size()
    assert test.user_id.value_counts().eq(1).all()
    assert set(test.user_id) == set(counts.index[counts > 1])
    latest_in_train = train.groupby("user_id", observed=True).timestamp.max()
    assert (test.set_index("user_id").timestamp >= latest_in_train[test.user_id].to_numpy()).all()


def test_leave_last_out_keeps_single_users_and_the_strictly_latest_rating():
    ratings = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "b"],
            "item_id": ["x", "y", "z", "x"],
            "rating": 1.0,
            "timestamp": [5, 9, 7, 1],
        }
    )
    train, test = split.leave_last_out(ratings)
    assert list(test.index) == [1]
    assert list(train.index) == [0, 2, 3]


def tied_ratings(seed=3):
    ratings = make_synthetic(num_users=80, num_items=40, density=0.2, seed=seed).ratings
    return ratings.assign(timestamp=ratings.timestamp % 5)  # many tied timestamps


def test_leave_last_out_does_not_depend_on_row_order():
    ratings = tied_ratings()
    _, test = split.leave_last_out(ratings)
    _, shuffled_test = split.leave_last_out(ratings.sample(frac=1.0, random_state=1))
    assert sorted(test.index) == sorted(shuffled_test.index)


def held_out_is_largest_tied_item(ratings, test) -> np.ndarray:
    """Per user with tied latest ratings: is the held-out item the largest tied id?"""
    latest = ratings.groupby("user_id", observed=True).timestamp.transform("max")
    tied = ratings[ratings.timestamp == latest]
    largest = tied.groupby("user_id", observed=True).item_id.agg(lambda ids: max(map(str, ids)))
    size = tied.groupby("user_id", observed=True).size()
    held = test.set_index("user_id").item_id.astype(str)
    users = size.index[size > 1]
    return (held[users] == largest[users]).to_numpy()


def test_leave_last_out_orders_ties_by_seed_not_by_item_id():
    ratings = tied_ratings()
    tests = [split.leave_last_out(ratings, seed=seed)[1] for seed in range(4)]
    for test in tests:
        latest = ratings.groupby("user_id", observed=True).timestamp.max()
        assert (test.timestamp.to_numpy() == latest[test.user_id].to_numpy()).all()
        largest = held_out_is_largest_tied_item(ratings, test)
        assert len(largest) > 30 and 0.1 < largest.mean() < 0.7
    assert all(set(tests[0].index) != set(other.index) for other in tests[1:])


def test_leave_last_out_holds_out_n_latest_and_keeps_one_in_train():
    ratings = tied_ratings()
    train, test = split.leave_last_out(ratings, n=3)
    counts = ratings.user_id.value_counts()
    per_user = test.user_id.value_counts().reindex(counts.index, fill_value=0)
    assert (per_user == np.minimum(3, counts - 1)).all()
    assert_partition(ratings, train, test)
    latest_in_train = train.groupby("user_id", observed=True).timestamp.max()
    earliest_in_test = test.groupby("user_id", observed=True).timestamp.min()
    assert (earliest_in_test >= latest_in_train[earliest_in_test.index]).all()
    _, first = split.leave_last_out(ratings, n=1)
    assert set(first.index) <= set(test.index)


def test_kfold_folds_partition_the_rows(ratings):
    folds = list(split.kfold(ratings, n_splits=5, seed=0))
    assert len(folds) == 5
    for train, test in folds:
        assert_partition(ratings, train, test)
        assert len(test) in (20_167, 20_168)
    tests = [test.index for _, test in folds]
    combined = tests[0].append(tests[1:])
    assert combined.is_unique
    assert combined.sort_values().equals(ratings.index)


def test_kfold_is_deterministic_for_a_seed_and_differs_for_another(ratings):
    first = [test.index for _, test in split.kfold(ratings, seed=0)]
    again = [test.index for _, test in split.kfold(ratings, seed=0)]
    other = [test.index for _, test in split.kfold(ratings, seed=1)]
    assert all(a.equals(b) for a, b in zip(first, again, strict=True))
    assert not any(a.equals(b) for a, b in zip(first, other, strict=True))


def test_splits_of_a_frame_with_plain_string_ids_work():
    ratings = pd.DataFrame(
        {"user_id": list("aabbcc"), "item_id": list("xyxyxy"), "rating": 3.0,
         "timestamp": range(6)}
    )  # fmt: skip
    train, test = split.random_split(ratings, test_fraction=0.5, seed=0)
    assert len(test) == 3
    assert train.index.union(test.index).equals(ratings.index)


def test_thin_keeps_the_rounded_share_of_each_users_ratings_and_at_least_the_minimum():
    ratings = pd.DataFrame(
        {"user_id": ["a"] * 10 + ["b"] * 3 + ["c"], "item_id": [str(i) for i in range(14)],
         "rating": 4.0}
    )  # fmt: skip
    kept = split.thin(ratings, 0.5, seed=0)
    assert kept.user_id.value_counts().to_dict() == {"a": 5, "b": 2, "c": 1}
    assert kept.index.is_monotonic_increasing
    assert split.thin(ratings, 0.1, seed=0, min_per_user=2).user_id.value_counts().to_dict() == {
        "a": 2, "b": 2, "c": 1,
    }  # fmt: skip
    assert len(split.thin(ratings, 0.01, seed=0, min_per_user=0)) == 0
    assert split.thin(ratings, 1.0, seed=0).equals(ratings)


def test_thin_is_nested_across_fractions_and_keeps_the_categories(ratings):
    train, _ = split.per_user_split(ratings, seed=0)
    half = split.thin(train, 0.5, seed=3)
    tenth = split.thin(train, 0.1, seed=3)
    assert tenth.index.isin(half.index).all() and half.index.isin(train.index).all()
    assert tenth.user_id.nunique() == train.user_id.nunique()
    assert tenth.item_id.cat.categories.equals(train.item_id.cat.categories)
    assert not split.thin(train, 0.5, seed=4).index.equals(half.index)


@pytest.mark.parametrize(("fraction", "minimum"), [(0.0, 1), (1.5, 1), (0.5, -1), (0.5, 1.5)])
def test_thin_rejects_a_bad_fraction_or_minimum(fraction, minimum):
    ratings = pd.DataFrame({"user_id": ["a"], "item_id": ["x"], "rating": 1.0})
    with pytest.raises(ValueError, match="fraction|min_per_user"):
        split.thin(ratings, fraction, min_per_user=minimum)
