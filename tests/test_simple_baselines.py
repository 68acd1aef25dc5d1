"""Popularity, ItemKNN, EASE and implicit ALS: exact values on small cases and
better-than-popularity ranking on ml-latest-small (the Recommender contract:
tests/test_recommender_contract.py)."""

import warnings

import numpy as np
import pandas as pd
import pytest

import reclearn
from reclearn import split
from reclearn.baselines import (
    ALSRecommender,
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
)
from reclearn.evaluate import evaluate_ranking
from reclearn.interactions import IdIndex
from reclearn.registry import available_models, build

SIMPLE = ["pop", "itemknn", "ease", "als"]

# users a, b, c; items x, y, z (indices 0, 1, 2)
TINY = pd.DataFrame(
    {
        "user_id": ["a", "a", "b", "b", "c", "c", "c"],
        "item_id": ["x", "y", "x", "z", "x", "y", "z"],
        "rating": [5.0, 4.0, 2.0, 5.0, 3.0, 1.0, 4.0],
    }
)


def _binary(frame):
    """The dense binary user-item matrix in the index space a model fitted on it uses."""
    index = IdIndex.from_frame(frame)
    users, items = index.encode(frame)
    matrix = np.zeros((index.num_users, index.num_items))
    matrix[users, items] = 1.0
    return matrix


@pytest.mark.parametrize("name", SIMPLE)
def test_an_unknown_user_gets_the_most_popular_items(name):
    model = build(name).fit(TINY)
    top = model.recommend(["nobody"], k=3)
    assert top["item_id"].tolist() == ["x", "y", "z"]  # 3, 2, 2 interactions: ties by index
    assert top["fallback"].all()
    assert model.predict(pd.DataFrame({"user_id": ["nobody"], "item_id": ["z"]})).tolist() == [2.0]


def test_popularity_scores_are_interaction_counts_and_can_use_a_threshold():
    assert PopularityRecommender().fit(TINY).score_users(np.array([0])).tolist() == [[3, 2, 2]]
    strict = PopularityRecommender(threshold=4).fit(TINY)
    assert strict.score_pairs(np.array([1, 1, 1]), np.array([0, 1, 2])).tolist() == [1, 1, 2]


def test_itemknn_weights_are_shrunk_cosine_similarities_of_the_top_k_neighbours():
    model = ItemKNNRecommender(k=1, shrinkage=1.0).fit(TINY)
    # columns x (3 users), y (a, c), z (b, c): x.y = 2, x.z = 2, y.z = 1
    sim = np.array(
        [
            [0, 2 / (np.sqrt(6) + 1), 2 / (np.sqrt(6) + 1)],
            [2 / (np.sqrt(6) + 1), 0, 1 / 3],
            [2 / (np.sqrt(6) + 1), 1 / 3, 0],
        ]
    )
    expected = np.zeros((3, 3))
    expected[[1, 0, 0], [0, 1, 2]] = sim[[1, 0, 0], [0, 1, 2]]  # best neighbour per column
    np.testing.assert_allclose(model.weights_.toarray(), expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(
        model.score_users(np.arange(3)), _binary(TINY) @ expected, rtol=0, atol=1e-15
    )


def test_itemknn_without_a_neighbour_limit_sums_all_similarities():
    model = ItemKNNRecommender(k=100, shrinkage=0.0).fit(TINY)
    matrix = _binary(TINY)
    norms = np.linalg.norm(matrix, axis=0)
    sim = matrix.T @ matrix / np.outer(norms, norms)
    np.fill_diagonal(sim, 0.0)
    np.testing.assert_allclose(model.weights_.toarray(), sim, rtol=0, atol=1e-15)


def _ease_scores(matrix, l2):
    p = np.linalg.inv(matrix.T @ matrix + l2 * np.eye(matrix.shape[1]))
    b = np.eye(matrix.shape[1]) - p / np.diag(p)
    return matrix @ b, b


@pytest.mark.parametrize("num_users, num_items", [(60, 30), (20, 50)])
def test_ease_matches_the_closed_form_with_either_gram_matrix(num_users, num_items):
    ratings = reclearn.make_synthetic(num_users=num_users, num_items=num_items, density=0.3).ratings
    model = EASERecommender(l2=7.0).fit(ratings)
    scores, weights = _ease_scores(_binary(ratings), 7.0)
    np.testing.assert_allclose(model.score_users(np.arange(num_users)), scores, atol=1e-10)
    if num_users >= num_items:  # B is formed only from the item-side Gram matrix
        np.testing.assert_allclose(model.weights_, weights, atol=1e-10)
        assert np.all(np.diag(model.weights_) == 0.0)
    else:
        assert model.weights_ is None


def test_ease_tunes_l2_on_validation_by_ndcg():
    ratings = reclearn.make_synthetic(num_users=80, num_items=60, density=0.3).ratings
    train, validation = split.leave_last_out(ratings)
    model = EASERecommender(l2_grid=(1.0, 30.0, 1000.0)).fit(train, validation=validation)
    assert list(model.validation_ndcg_) == [1.0, 30.0, 1000.0]
    assert model.l2_ == max(model.validation_ndcg_, key=model.validation_ndcg_.get)
    assert model.validation_ndcg_[model.l2_] == pytest.approx(
        evaluate_ranking(model, train, validation, metrics=["ndcg"]).summary["ndcg@10"],
        abs=1e-12,
    )
    scores, _ = _ease_scores(_binary(train), model.l2_)
    np.testing.assert_allclose(model.score_users(np.arange(80)), scores, atol=1e-10)


def test_ease_without_validation_keeps_its_l2_and_can_hold_out_its_own():
    ratings = reclearn.make_synthetic(num_users=40, num_items=30, density=0.3).ratings
    assert EASERecommender(l2=42.0).fit(ratings).l2_ == 42.0
    held = EASERecommender(l2_grid=(5.0, 50.0), validation_fraction=0.2).fit(ratings)
    assert held.l2_ in (5.0, 50.0) and len(held.validation_ndcg_) == 2
    scores, _ = _ease_scores(_binary(ratings), held.l2_)  # final fit on all of train
    np.testing.assert_allclose(held.score_users(np.arange(40)), scores, atol=1e-10)


def test_the_registry_builds_the_simple_models_with_their_options():
    assert set(SIMPLE) <= set(available_models())
    assert isinstance(build("pop"), PopularityRecommender)
    knn = build("itemknn", k=5, shrinkage=2.0)
    assert (knn.k, knn.shrinkage) == (5, 2.0)
    assert build("ease", l2=3.0).l2 == 3.0
    with pytest.raises(ValueError, match=r"option\(s\) \['lambda'\] for 'ease'; valid .*l2"):
        build("ease", **{"lambda": 3.0})
    with pytest.raises(ValueError, match="k must be an integer of at least 1"):
        build("itemknn", k=0)
    with pytest.raises(ValueError, match="must be positive"):
        build("ease", l2=0.0)


def test_als_scores_are_dot_products_of_its_seeded_factors():
    ratings = reclearn.make_synthetic(num_users=30, num_items=20, density=0.3).ratings
    model = ALSRecommender(factors=4, iterations=3, seed=1).fit(ratings)
    assert model.user_factors_.shape == (30, 4) and model.item_factors_.shape == (20, 4)
    users = np.array([0, 5])
    expected = model.user_factors_[users] @ model.item_factors_.T
    np.testing.assert_allclose(model.score_users(users), expected)
    pairs = model.score_pairs(np.array([0, 5]), np.array([3, 7]))
    np.testing.assert_allclose(pairs, expected[[0, 1], [3, 7]])
    again = ALSRecommender(factors=4, iterations=3, seed=1).fit(ratings)
    assert np.array_equal(again.item_factors_, model.item_factors_)
    other = ALSRecommender(factors=4, iterations=3, seed=2).fit(ratings)
    assert not np.array_equal(other.item_factors_, model.item_factors_)


def test_als_fits_without_warnings_whatever_the_blas_threads():
    from threadpoolctl import threadpool_limits

    ratings = reclearn.make_synthetic(num_users=30, num_items=20, density=0.3).ratings
    with threadpool_limits(2, "blas"), warnings.catch_warnings():
        warnings.simplefilter("error")  # implicit warns about a threaded BLAS
        ALSRecommender(factors=4, iterations=2).fit(ratings)


def test_ease_itemknn_and_als_beat_popularity_on_ml_latest_small(movielens):
    train, test = split.leave_last_out(movielens.ratings)
    ndcg = {}
    models = [("pop", {}), ("itemknn", {}), ("ease", {"l2": 100.0}), ("als", {})]
    for name, options in models:
        model = build(name, **options).fit(train)
        result = evaluate_ranking(model, train, test, metrics=["ndcg"])
        assert result.num_users == 610 and result.num_skipped == 0
        ndcg[name] = result.summary["ndcg@10"]
    assert ndcg["itemknn"] > ndcg["pop"] + 0.005
    assert ndcg["ease"] > ndcg["pop"] + 0.01
    assert ndcg["als"] > ndcg["pop"] + 0.005
