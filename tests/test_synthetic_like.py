"""make_synthetic_like: MovieLens-shaped synthetic data with skewed activity."""

from __future__ import annotations

import pytest

from reclearn.data import make_synthetic_like


@pytest.fixture(scope="module")
def data():
    return make_synthetic_like(50_000, 500, 5_000, seed=1)


def test_it_has_about_the_ratings_asked_for_and_no_repeated_pair(data):
    ratings = data.ratings
    assert 0.9 * 50_000 <= len(ratings) <= 1.02 * 50_000
    assert not ratings.duplicated(["user_id", "item_id"]).any()


def test_every_user_has_the_minimum_and_activity_is_skewed(data):
    per_user = data.ratings.groupby("user_id", observed=True).size()
    assert len(per_user) == 500 and per_user.min() >= 20
    assert per_user.max() > 3 * per_user.median()


def test_item_popularity_has_a_long_tail(data):
    per_item = data.ratings.groupby("item_id", observed=True).size().sort_values()
    top_tenth = per_item.iloc[-len(per_item) // 10 :].sum()
    assert top_tenth > 0.3 * len(data.ratings)


def test_columns_are_compact(data):
    ratings = data.ratings
    assert str(ratings["rating"].dtype) == "float32"
    assert ratings["user_id"].dtype.name == "category"
    assert ratings.memory_usage(deep=True).sum() < 25 * len(ratings) + 200_000


def test_the_same_seed_gives_the_same_data(data):
    again = make_synthetic_like(50_000, 500, 5_000, seed=1)
    assert again.ratings.equals(data.ratings)


def test_too_few_ratings_for_the_minimum_per_user_are_refused():
    with pytest.raises(ValueError, match="num_ratings"):
        make_synthetic_like(1_000, 500, 1_000)
