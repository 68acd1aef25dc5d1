"""Ranking metrics on hand-computed cases, ties included (broken pessimistically)."""

import math

import numpy as np
import pytest

from reclearn import metrics
from reclearn.metrics import (
    auc,
    average_precision_at_k,
    hit_rate_at_k,
    ndcg_at_k,
    precision_at_k,
    rank_of_targets,
    recall_at_k,
    reciprocal_rank,
)

AT_K = [hit_rate_at_k, ndcg_at_k, precision_at_k, recall_at_k, average_precision_at_k]


def _reference_ranks(scores, mask):
    """Sort by score, non-relevant first among ties, then candidate order."""
    order = np.lexsort((np.arange(len(scores)), mask, -scores))
    position = np.empty(len(scores), dtype=np.int64)
    position[order] = np.arange(1, len(scores) + 1)
    return position[mask]


def test_a_relevant_item_is_ranked_after_every_item_it_ties_with():
    scores = np.array([0.9, 0.5, 0.5, 0.1])
    assert rank_of_targets(scores, np.array([False, True, False, False])).tolist() == [3]
    assert rank_of_targets(scores, np.array([False, False, True, False])).tolist() == [3]


def test_tied_relevant_items_take_the_last_positions_of_their_tie_in_candidate_order():
    scores = np.array([0.5, 0.9, 0.5, 0.5])
    mask = np.array([True, False, True, False])
    assert rank_of_targets(scores, mask).tolist() == [3, 4]


def test_constant_scores_put_the_relevant_item_last():
    assert rank_of_targets(np.ones(5), np.eye(5, dtype=bool)[0]).tolist() == [5]


def test_minus_infinity_is_a_valid_score_and_ranks_below_everything():
    scores = np.array([-np.inf, 0.0, -1.0])
    assert rank_of_targets(scores, np.array([True, False, False])).tolist() == [3]


@pytest.mark.parametrize("num_targets", [1, 3, 20])
def test_ranks_match_a_sort_with_non_relevant_items_first_among_ties(num_targets):
    rng = np.random.default_rng(num_targets)
    for _ in range(200):
        scores = rng.integers(0, 6, 40).astype(float)
        mask = np.zeros(40, dtype=bool)
        mask[rng.choice(40, num_targets, replace=False)] = True
        assert rank_of_targets(scores, mask).tolist() == _reference_ranks(scores, mask).tolist()


def test_ranking_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="empty list of candidates"):
        rank_of_targets([], np.array([], dtype=bool))
    with pytest.raises(ValueError, match="same shape"):
        rank_of_targets([1.0, 2.0], np.array([True]))
    with pytest.raises(ValueError, match="boolean"):
        rank_of_targets([1.0, 2.0], np.array([1, 0]))
    with pytest.raises(ValueError, match="NaN at position 1"):
        rank_of_targets([1.0, np.nan], np.array([True, False]))


def test_hit_rate_counts_a_relevant_item_within_k():
    assert hit_rate_at_k([3], k=2) == 0.0
    assert hit_rate_at_k([3], k=3) == 1.0
    assert hit_rate_at_k([7, 2], k=2) == 1.0


def test_ndcg_of_a_hand_computed_case():
    # DCG = 1/log2(2) + 1/log2(4) = 1.5; ideal DCG = 1 + 1/log2(3)
    assert ndcg_at_k([1, 3], k=3) == pytest.approx(1.5 / (1 + 1 / math.log2(3)), abs=1e-15)
    assert ndcg_at_k([1, 2], k=5) == 1.0
    assert ndcg_at_k([4], k=3) == 0.0


def test_ndcg_ideal_dcg_counts_at_most_k_relevant_items():
    # 3 relevant at ranks 1, 2, 5 with k=2: DCG = ideal DCG of min(3, 2) = 2 items
    assert ndcg_at_k([1, 2, 5], k=2) == 1.0


def test_a_k_larger_than_the_list_is_allowed_and_precision_still_divides_by_k():
    assert ndcg_at_k([2], k=100) == pytest.approx(1 / math.log2(3), abs=1e-15)
    assert precision_at_k([2], k=100) == 0.01
    assert recall_at_k([2], k=100) == 1.0
    assert average_precision_at_k([2], k=100) == 0.5


def test_precision_divides_by_k_and_recall_by_the_number_of_relevant_items():
    # three relevant items, one of them absent from the ranking
    assert precision_at_k([1, 4], k=2, n_relevant=3) == 0.5
    assert recall_at_k([1, 4], k=2, n_relevant=3) == pytest.approx(1 / 3, abs=1e-15)
    assert recall_at_k([1, 4], k=4, n_relevant=3) == pytest.approx(2 / 3, abs=1e-15)


def test_average_precision_of_hand_computed_cases():
    assert average_precision_at_k([1, 3], k=3) == pytest.approx((1 + 2 / 3) / 2, abs=1e-15)
    assert average_precision_at_k([1, 3], k=2) == 0.5  # one hit, divided by min(2, 2)
    assert average_precision_at_k([1], k=2, n_relevant=3) == 0.5  # divided by min(3, 2)
    assert average_precision_at_k([5], k=3) == 0.0


def test_reciprocal_rank_uses_the_best_ranked_relevant_item():
    assert reciprocal_rank([4, 2]) == 0.5
    assert reciprocal_rank([], n_relevant=1) == 0.0


def test_auc_of_a_hand_computed_case():
    # 5 candidates, relevant at 1 and 3: 3 + 2 of 2 * 3 pairs are ordered correctly
    assert auc([1, 3], num_candidates=5) == pytest.approx(5 / 6, abs=1e-15)
    assert auc([1], num_candidates=4) == 1.0
    assert auc([4], num_candidates=4) == 0.0


def test_auc_counts_a_tie_as_a_wrongly_ordered_pair():
    scores = np.array([1.0, 1.0, 1.0, 0.0])
    ranks = rank_of_targets(scores, np.array([True, False, False, False]))
    assert auc(ranks, num_candidates=4) == pytest.approx(1 / 3, abs=1e-15)


@pytest.mark.parametrize("metric", AT_K)
def test_a_user_with_no_relevant_items_raises_a_value_error(metric):
    with pytest.raises(ValueError, match="no relevant items"):
        metric([], k=10)


def test_mrr_and_auc_of_a_user_with_no_relevant_items_raise_value_errors():
    with pytest.raises(ValueError, match="no relevant items"):
        reciprocal_rank([])
    with pytest.raises(ValueError, match="no relevant items"):
        auc([], num_candidates=10)
    with pytest.raises(ValueError, match="non-relevant candidate"):
        auc([1, 2], num_candidates=2)


@pytest.mark.parametrize("metric", AT_K)
@pytest.mark.parametrize("k", [0, -1, 2.5])
def test_a_k_below_one_or_not_an_integer_raises_a_value_error(metric, k):
    with pytest.raises(ValueError, match="k must be an integer of at least 1"):
        metric([1], k=k)


def test_ranks_below_one_raise_a_value_error():
    with pytest.raises(ValueError, match="integers >= 1"):
        hit_rate_at_k([0], k=1)


def test_ndcg_agrees_with_sklearn_on_binary_relevance_without_ties():
    from sklearn.metrics import ndcg_score

    rng = np.random.default_rng(0)
    for case in range(100):
        n = int(rng.integers(2, 60))
        relevant = rng.random(n) < rng.uniform(0.05, 0.5)
        relevant[rng.integers(n)] = True
        scores = rng.permutation(n).astype(float)  # distinct: no ties
        k = int(rng.choice([1, 3, 10, 100]))
        ours = ndcg_at_k(rank_of_targets(scores, relevant), k=k)
        theirs = ndcg_score(relevant[None].astype(float), scores[None], k=k)
        assert ours == pytest.approx(theirs, abs=1e-12), case


def test_metrics_return_python_floats():
    assert all(type(f([1, 3], k=2)) is float for f in AT_K)
    assert type(auc([2], 3)) is float and type(reciprocal_rank([2])) is float
    assert metrics.RANKING_METRICS == ("hr", "ndcg", "precision", "recall", "map", "mrr", "auc")


@pytest.mark.parametrize("seed", range(5))
def test_top_k_equals_a_stable_full_sort_with_ties_and_minus_infinity(seed):
    from reclearn.base import top_k

    rng = np.random.default_rng(seed)
    scores = rng.integers(-3, 4, size=(30, 25)).astype(float)
    scores[rng.random(scores.shape) < 0.2] = -np.inf
    for k in range(1, 26):
        expected = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        np.testing.assert_array_equal(top_k(scores, k), expected)
