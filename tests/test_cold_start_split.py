"""Cold-start splits: held-out items and new users never leak into training."""

import numpy as np
import pandas as pd
import pytest

from reclearn import split
from reclearn.content import item_content, tfidf_features


def test_cold_items_have_no_training_rating_and_keep_all_their_ratings(small):
    ratings = small.ratings
    train, test = split.cold_item_split(ratings, item_fraction=0.2, seed=3)
    cold = set(test.item_id.astype(str))
    assert len(cold) == round(0.2 * ratings.item_id.nunique())
    assert not cold & set(train.item_id.astype(str))
    assert len(train) + len(test) == len(ratings)
    assert len(test) == ratings.item_id.astype(str).isin(cold).sum()


def test_the_same_seed_gives_the_same_cold_items(small):
    a = split.cold_item_split(small.ratings, 0.2, seed=1)[1]
    b = split.cold_item_split(small.ratings, 0.2, seed=1)[1]
    assert a.index.equals(b.index)


@pytest.mark.parametrize("n_known", [0, 1, 3, 5])
def test_cold_users_keep_exactly_their_earliest_n_ratings(small, n_known):
    ratings = small.ratings
    train, test = split.cold_user_split(ratings, user_fraction=0.25, n_known=n_known, seed=0)
    assert len(train) + len(test) == len(ratings)
    cold = set(test.user_id.astype(str))
    kept = train[train.user_id.astype(str).isin(cold)].groupby("user_id", observed=True).size()
    assert (kept.reindex(sorted(cold), fill_value=0) == n_known).all()
    for user in list(cold)[:5]:
        known = train[train.user_id.astype(str) == user].timestamp
        held = test[test.user_id.astype(str) == user].timestamp
        if len(known):
            assert known.max() <= held.min()


def test_more_known_ratings_keep_a_superset_of_the_same_users(small):
    tests = [split.cold_user_split(small.ratings, 0.25, n, seed=0)[1] for n in (0, 1, 3)]
    users = [set(t.user_id.astype(str)) for t in tests]
    assert users[0] >= users[1] >= users[2]
    assert set(tests[2].index) <= set(tests[1].index) <= set(tests[0].index)


@pytest.mark.parametrize(
    "call",
    [
        lambda r: split.cold_item_split(r, item_fraction=0.0),
        lambda r: split.cold_item_split(r, item_fraction=1.0),
        lambda r: split.cold_user_split(r, user_fraction=0.0),
        lambda r: split.cold_user_split(r, n_known=-1),
        lambda r: split.cold_user_split(r, n_known=1.5),
    ],
)
def test_bad_cold_start_arguments_are_clear_errors(small, call):
    with pytest.raises(ValueError, match="fraction|n_known"):
        call(small.ratings)


def test_tfidf_features_do_not_depend_on_ratings(movielens):
    """The TF-IDF vocabulary comes from item text: ratings, held out or not, never enter."""
    content = item_content(movielens.items, movielens.tags, signals="post-release")
    features, names = tfidf_features(content)
    shuffled = content.align(content.item_ids[::-1])
    features_2, names_2 = tfidf_features(shuffled)
    assert list(names) == list(names_2)
    np.testing.assert_allclose(features[::-1].toarray(), features_2.toarray())


def test_a_fitted_content_model_saw_no_rating_of_a_cold_item(movielens):
    from reclearn import build

    content = item_content(movielens.items)
    ratings = movielens.ratings[movielens.ratings.user_id.cat.codes < 60]
    train, test = split.cold_item_split(ratings, 0.2, seed=0)
    model = build("content-tfidf", content=content).fit(train)
    cold = model.index.items(test.item_id.astype(str).unique())
    assert not model.warm[cold].any()
    assert model.item_known[cold].all()  # ...and yet every cold item can be scored
    scores = model.predict(pd.DataFrame({"user_id": test.user_id, "item_id": test.item_id}))
    assert scores.num_fallback == 0 and np.isfinite(scores).all()
