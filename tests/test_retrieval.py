"""Top-k retrieval: exact in blocks, approximate from an HNSW graph, two-stage re-ranking."""

from __future__ import annotations

import numpy as np
import pytest

from reclearn import build
from reclearn.retrieval import ANNIndex, exact_top_k, factor_vectors, overlap_at_k, two_stage
from reclearn.sampling import PositiveSets


@pytest.fixture(scope="module")
def vectors():
    """300 users and 5,000 items of 16 factors, item norms spread like a long tail."""
    rng = np.random.default_rng(0)
    users = rng.normal(size=(300, 16)).astype(np.float32)
    items = rng.normal(size=(5000, 16)) * rng.gamma(4, 0.25, (5000, 1))
    return users, items.astype(np.float32)


def test_exact_top_k_in_blocks_equals_one_full_sort(vectors):
    users, items = vectors
    full = np.argsort(-(users @ items.T), axis=1, kind="stable")[:, :10]
    np.testing.assert_array_equal(exact_top_k(users, items, 10, batch_size=7), full)


def test_exact_top_k_leaves_out_seen_items(vectors):
    users, items = vectors
    best = exact_top_k(users, items, 3)
    seen = PositiveSets(np.zeros(3, int), best[0], len(users), len(items))
    again = exact_top_k(users, items, 3, seen=seen, users=np.array([0]))
    assert not np.isin(again, best[0]).any()


def test_ann_top_10_recovers_at_least_95_percent_of_the_exact_top_10(vectors):
    users, items = vectors
    approximate = ANNIndex(items).search(users, 10)
    assert overlap_at_k(approximate, exact_top_k(users, items, 10)) >= 0.95


def test_two_stage_re_ranks_candidates_by_the_exact_scores(vectors):
    users, items = vectors
    index = ANNIndex(items)

    def score_pairs(u, i):
        return np.einsum("nk,nk->n", users[u], items[i])

    top = two_stage(index, users, np.arange(50), score_pairs, 10, candidates=40)
    exact = exact_top_k(users, items, 10, users=np.arange(50))
    assert overlap_at_k(top, exact) >= 0.95
    scores = np.take_along_axis(users[:50] @ items.T, top, axis=1)
    assert (np.diff(scores, axis=1) <= 0).all()


def test_overlap_counts_shared_items_and_refuses_other_shapes():
    assert overlap_at_k(np.array([[1, 2, -1]]), np.array([[2, 3, 1]])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="shapes differ"):
        overlap_at_k(np.zeros((2, 3)), np.zeros((2, 4)))


def test_search_refuses_vectors_of_another_length(vectors):
    users, items = vectors
    with pytest.raises(ValueError, match=r"shape \(n, 16\)"):
        ANNIndex(items[:100]).search(users[:, :5], 10)


@pytest.mark.parametrize("name", ["mf", "als"])
def test_factor_vectors_order_items_as_the_model_scores_do(small, name):
    options = {"epochs": 2, "verbose": False} if name == "mf" else {"iterations": 2}
    model = build(name, **options).fit(small.ratings)
    user_vectors, item_vectors = factor_vectors(model)
    users = np.arange(5)
    from_vectors = user_vectors[users] @ item_vectors.T
    scores = model.score_users(users)
    offset = scores - from_vectors  # mu + b_u for MF, 0 for ALS: one value per row
    np.testing.assert_allclose(offset, offset[:, :1].repeat(scores.shape[1], 1), atol=1e-4)


def test_factor_vectors_refuse_a_model_without_factors(small):
    with pytest.raises(ValueError, match="not a factor model"):
        factor_vectors(build("pop").fit(small.ratings))
