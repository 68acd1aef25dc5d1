"""Item-contribution explanations for ItemKNN and MF, and the deletion check."""

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

import reclearn
from reclearn import explain as ex


@pytest.fixture(scope="module")
def train(small):
    return small.ratings


@pytest.fixture(scope="module")
def knn(train):
    return reclearn.build("itemknn", k=10).fit(train)


@pytest.fixture(scope="module")
def mf(train):
    return reclearn.build("mf", epochs=3, verbose=False).fit(train)


def test_knn_contributions_are_the_weights_from_history_items_to_the_target():
    weights = np.array([[0.0, 0.5, 0.2], [0.1, 0.0, 0.7], [0.3, 0.4, 0.0]])
    values = ex.knn_contributions(weights, np.array([0, 1]), np.array([2, 0]))
    np.testing.assert_array_equal(values, [[0.2, 0.7], [0.0, 0.1]])
    np.testing.assert_array_equal(
        ex.knn_contributions(sparse.csr_matrix(weights), np.array([0, 1]), np.array([2, 0])),
        values,
    )


def test_fold_in_is_the_ridge_solution_worked_by_hand():
    # A = [[1, 1], [0, 1]], A^T A + I = [[2, 1], [1, 3]], H = [[2, -1], [1, 2]] / 5
    h = ex.fold_in(np.array([[1.0], [0.0]]), np.array([2.0, 1.0]), l2=1.0)
    np.testing.assert_allclose(h, np.array([[2.0, -1.0], [1.0, 2.0]]) / 5)
    np.testing.assert_allclose(h @ [2.0, 1.0], [0.6, 0.8])  # p_u, b_u


def test_fold_in_contributions_split_the_fold_in_score_worked_by_hand():
    vectors = np.array([[1.0], [0.0], [1.0]])
    values = ex.fold_in_contributions(vectors, np.array([0, 1]), np.array([2.0, 1.0]),
                                      np.array([2]), l2=1.0)  # fmt: skip
    np.testing.assert_allclose(values, [[1.2, 0.2]])  # sums to p_u * 1 + b_u = 1.4


def test_knn_explanations_sum_exactly_to_the_models_score(knn, train):
    top = knn.recommend(["u0", "u1", "u2"], k=2)
    for user_id, item_id, score in zip(top.user_id, top.item_id, top.score, strict=True):
        why = ex.explain(knn, train, user_id, item_id)
        assert why.base == 0.0
        assert why.score == pytest.approx(score, abs=1e-12)
        assert len(why.values) == (train.user_id == user_id).sum()
        best = why.top(2)
        assert list(best.columns) == ["item_id", "rating", "contribution"]
        assert best.contribution.is_monotonic_decreasing
        assert best.contribution.iloc[0] == why.values.max()


def test_mf_explanations_sum_to_the_fold_in_score_of_the_model(mf, train):
    q, b_i, mu = ex.mf_arrays(mf)
    items, ratings = ex.user_history(mf, train, "u3")
    target = int(mf.index.items(["i7"])[0])
    l2 = mf.trained_config.l2 * len(items)
    p_u, b_u = np.split(ex.fold_in(q[items], ratings - mu - b_i[items], l2) @ (
        ratings - mu - b_i[items]), [q.shape[1]])  # fmt: skip
    why = ex.explain(mf, train, "u3", "i7")
    assert why.base == pytest.approx(mu + b_i[target])
    assert why.score == pytest.approx(mu + b_i[target] + b_u[0] + q[target] @ p_u, abs=1e-9)


def test_mf_fold_in_scores_track_the_trained_scores(mf, train):
    pairs = train.sample(200, random_state=0)
    pairs_ids = zip(pairs.user_id, pairs.item_id, strict=True)
    fold = [ex.explain(mf, train, u, i).score for u, i in pairs_ids]
    trained = mf.score_pairs(*mf.index.encode(pairs))
    assert np.corrcoef(fold, trained)[0, 1] > 0.9


def test_keep_explains_as_if_the_removed_ratings_were_never_made(mf, knn, train):
    rows = train[train.user_id == "u4"]
    keep = np.ones(len(rows), dtype=bool)
    keep[[0, 2]] = False
    without = pd.concat([train[train.user_id != "u4"], rows[keep]])
    for model in (mf, knn):
        a = ex.explain(model, train, "u4", "i1", keep=keep)
        b = ex.explain(model, without, "u4", "i1")
        np.testing.assert_allclose(a.values, b.values)
        assert len(a.values) == keep.sum()


def test_deletion_check_removes_the_top_part_and_a_random_part():
    cases = [
        (np.array([3.0, 1.0, 0.0]), lambda keep: float(np.array([3.0, 1.0, 0.0])[keep].sum())),
        (np.array([0.5, 2.0]), lambda keep: float(np.array([0.5, 2.0])[keep].sum())),
        (np.array([9.0]), lambda keep: 9.0),  # one part: skipped
    ]
    result = ex.deletion_check(cases, seed=0)
    assert list(result.per_case.drop_top) == [3.0, 2.0]
    assert list(result.per_case.parts) == [3, 2]
    assert result.mean_drop_top == 2.5
    assert set(result.per_case.drop_random) <= {3.0, 1.0, 0.0, 0.5, 2.0}
    assert result.mean_drop_random == pytest.approx(result.per_case.drop_random.mean())
    larger = result.per_case.drop_top > result.per_case.drop_random
    assert result.share_top_larger == pytest.approx(larger.mean())
    with pytest.raises(ValueError, match="two or more parts"):
        ex.deletion_check(cases[2:])


def test_bad_input_is_rejected_with_a_clear_message(mf, train):
    with pytest.raises(ValueError, match="supports"):
        ex.explain(reclearn.build("pop").fit(train), train, "u0", "i0")
    with pytest.raises(ValueError, match="no training ratings"):
        ex.explain(mf, train, "nobody", "i0")
    with pytest.raises(ValueError, match="unknown to the model"):
        ex.explain(mf, train, "u0", "no-such-item")
    with pytest.raises(ValueError, match="keep must have shape"):
        ex.explain(mf, train, "u0", "i0", keep=np.ones(1, dtype=bool))
    with pytest.raises(ValueError, match="l2 must be positive"):
        ex.fold_in(np.ones((2, 1)), np.ones(2), l2=0.0)
    with pytest.raises(ValueError, match="item_vectors must have shape"):
        ex.fold_in(np.ones((3, 1)), np.ones(2), l2=1.0)
    with pytest.raises(ValueError, match="item indices"):
        ex.knn_contributions(np.eye(2), np.array([0.5]), np.array([0]))
