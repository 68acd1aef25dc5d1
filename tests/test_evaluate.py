"""Ranking evaluation on a tiny hand-made split whose ranks are known, and bootstraps."""

import math

import numpy as np
import pandas as pd
import pytest

from reclearn.base import Recommender
from reclearn.evaluate import evaluate_ranking
from reclearn.stats import bootstrap_ci, paired_bootstrap, paired_test


class FixedScores(Recommender):
    """Scores from a fixed table (user index x item index)."""

    clip_predictions = False

    def __init__(self, table):
        super().__init__()
        self.table = np.asarray(table, dtype=float)

    def _fit(self, data, validation):
        pass

    def _score_pairs(self, users, items):
        return self.table[users, items]


# Items i1..i5 are all in train. u4 has no held-out item; u2's held-out item is in its
# train rows; u5 is unknown; i6 is unknown (never in train).
TRAIN = pd.DataFrame(
    {
        "user_id": ["u1", "u2", "u3", "u4", "u4"],
        "item_id": ["i1", "i2", "i3", "i4", "i5"],
        "rating": [4.0, 4.0, 4.0, 4.0, 4.0],
    }
)
TEST = pd.DataFrame(
    {
        "user_id": ["u1", "u1", "u2", "u3", "u5"],
        "item_id": ["i2", "i6", "i2", "i4", "i1"],
    }
)
TABLE = [  # users u1..u4, items i1..i5
    [9, 5, 5, 1, 7],
    [1, 1, 1, 1, 1],
    [1, 2, 3, 4, 5],
    [1, 1, 1, 1, 1],
]


@pytest.fixture
def model():
    return FixedScores(TABLE).fit(TRAIN)


def test_full_protocol_ranks_of_a_hand_made_split(model):
    # u1 candidates i2 5, i3 5, i4 1, i5 7 (+ i6 unscorable): i5, i3, i2, i4, i6 -> [3, 5]
    # u3 candidates i1 1, i2 2, i4 4, i5 5: i4 is 2nd of 4
    result = evaluate_ranking(model, TRAIN, TEST, k=3)
    rows = result.per_user.set_index("user_id")
    assert list(result.per_user.columns) == [
        "user_id", "hr@3", "ndcg@3", "precision@3", "recall@3", "map@3", "mrr", "auc"
    ]  # fmt: skip
    ideal_2 = 1 + 1 / math.log2(3)
    assert rows.loc["u1"].tolist() == pytest.approx(
        [1.0, 0.5 / ideal_2, 1 / 3, 0.5, 1 / 6, 1 / 3, 1 / 6], abs=1e-15
    )
    assert rows.loc["u3"].tolist() == pytest.approx(
        [1.0, 1 / math.log2(3), 1 / 3, 1.0, 0.5, 0.5, 2 / 3], abs=1e-15
    )
    assert result.summary["mrr"] == pytest.approx((1 / 3 + 1 / 2) / 2, abs=1e-15)


def test_users_without_usable_held_out_items_are_skipped_and_counted(model):
    result = evaluate_ranking(model, TRAIN, TEST, k=3)
    assert result.num_users == 2
    assert result.skipped == {
        "unknown user": 1,
        "no held-out items": 1,
        "held-out items all seen in train": 1,
    }
    assert result.num_skipped == 3
    assert result.num_unscorable_items == 1


def test_a_cut_off_of_two_misses_the_item_ranked_third(model):
    result = evaluate_ranking(model, TRAIN, TEST, k=2, metrics=["hr", "ndcg"])
    assert result.per_user["hr@2"].tolist() == [0.0, 1.0]
    assert list(result.summary) == ["hr@2", "ndcg@2"]


def test_batching_users_does_not_change_the_result(model):
    one = evaluate_ranking(model, TRAIN, TEST, batch_size=1).per_user
    pd.testing.assert_frame_equal(one, evaluate_ranking(model, TRAIN, TEST).per_user)


def test_sampled_protocol_ranks_each_held_out_item_among_its_negatives(model):
    negatives = np.array([[3, 4], [3, 2], [0, 0], [0, 1], [1, 2]])  # item indices
    result = evaluate_ranking(model, TRAIN, TEST, k=1, protocol="sampled", negatives=negatives)
    rows = result.per_user.set_index("user_id")
    # u1: i2 (5) vs i4 (1), i5 (7) -> 2; i6 unscorable vs i4, i3 -> 3; mean over the rows
    assert rows.loc["u1", "mrr"] == pytest.approx((1 / 2 + 1 / 3) / 2, abs=1e-15)
    assert rows.loc["u1", "hr@1"] == 0.0
    # u3: i4 (4) vs i1 (1), i2 (2) -> 1
    assert rows.loc["u3", ["hr@1", "mrr", "auc"]].tolist() == [1.0, 1.0, 1.0]
    assert result.skipped["held-out items all seen in train"] == 1


def test_sampled_protocol_accepts_the_frame_of_a_negatives_file(model):
    frame = pd.DataFrame(
        {
            "user_id": ["u3", "u1", "u1", "u2", "u5"],
            "item_id": ["i4", "i2", "i6", "i2", "i1"],
            "negatives": [["i1", "i2"], ["i4", "i5"], ["i4", "i3"], ["i1", "i1"], ["i2", "i3"]],
        }
    )
    negatives = np.array([[3, 4], [3, 2], [0, 0], [0, 1], [1, 2]])
    by_array = evaluate_ranking(model, TRAIN, TEST, protocol="sampled", negatives=negatives)
    by_frame = evaluate_ranking(model, TRAIN, TEST, protocol="sampled", negatives=frame)
    pd.testing.assert_frame_equal(by_array.per_user, by_frame.per_user)


def test_a_negative_that_is_a_positive_of_its_user_is_rejected(model):
    negatives = np.array([[3, 0], [3, 2], [0, 0], [0, 1], [1, 2]])  # i1 is u1's train item
    with pytest.raises(ValueError, match="negative 1 of test row 0 .* is a positive of user 'u1'"):
        evaluate_ranking(model, TRAIN, TEST, protocol="sampled", negatives=negatives)


def test_bad_options_raise_clear_errors(model):
    with pytest.raises(ValueError, match="needs negatives"):
        evaluate_ranking(model, TRAIN, TEST, protocol="sampled")
    with pytest.raises(ValueError, match=r"shape \(len\(test\)=5, n\)"):
        evaluate_ranking(model, TRAIN, TEST, protocol="sampled", negatives=np.zeros((2, 2), int))
    with pytest.raises(ValueError, match="unknown protocol 'top'"):
        evaluate_ranking(model, TRAIN, TEST, protocol="top")
    with pytest.raises(ValueError, match=r"unknown metric\(s\) \['f1'\]"):
        evaluate_ranking(model, TRAIN, TEST, metrics=["hr", "f1"])
    with pytest.raises(ValueError, match="k must be an integer of at least 1"):
        evaluate_ranking(model, TRAIN, TEST, k=0)
    with pytest.raises(RuntimeError, match="not fitted"):
        evaluate_ranking(FixedScores(TABLE), TRAIN, TEST)


def test_a_nan_score_is_reported_not_ranked():
    table = np.array(TABLE, dtype=float)
    table[2, 0] = np.nan
    with pytest.raises(ValueError, match="FixedScores computed 1 NaN or \\+inf score"):
        evaluate_ranking(FixedScores(table).fit(TRAIN), TRAIN, TEST)


def test_the_bootstrap_interval_of_constant_values_has_zero_width():
    assert bootstrap_ci(np.full(50, 0.25)) == (0.25, 0.25, 0.25)


def test_the_bootstrap_interval_brackets_the_mean_and_is_reproducible():
    values = np.random.default_rng(0).random(400)
    mean, low, high = bootstrap_ci(values, n_boot=500, seed=3)
    assert low < mean < high
    assert mean == pytest.approx(values.mean(), abs=1e-15)
    # the standard error of a uniform mean is 0.289 / sqrt(400) = 0.0144: width ~ 4 of them
    assert 0.04 < high - low < 0.075
    assert bootstrap_ci(values, n_boot=500, seed=3) == (mean, low, high)


def test_bootstrap_rejects_empty_or_non_finite_values():
    with pytest.raises(ValueError, match="non-empty"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match="NaN or infinite"):
        bootstrap_ci([0.1, np.nan])
    with pytest.raises(ValueError, match="level"):
        bootstrap_ci([0.1], level=1.0)


def test_identical_models_are_not_significantly_different():
    values = np.random.default_rng(1).random(300)
    for comparison in (paired_bootstrap(values, values), paired_test(values, values)):
        assert comparison.mean_difference == 0.0
        assert comparison.p_value == 1.0


def test_a_clearly_better_model_is_significantly_better():
    rng = np.random.default_rng(2)
    b = rng.random(300)
    a = b + 0.05 + 0.1 * rng.standard_normal(300)
    boot = paired_bootstrap(a, b, n_boot=2000)
    perm = paired_test(a, b, n_permutations=2000)
    assert boot.p_value < 0.01 and perm.p_value < 0.01
    assert 0 < boot.ci_low < boot.mean_difference < boot.ci_high
    assert perm.mean_difference == pytest.approx(np.mean(a - b), abs=1e-15)


def test_a_difference_of_pure_noise_is_not_significant():
    rng = np.random.default_rng(3)
    b = rng.random(300)
    a = b + 0.1 * rng.choice([-1.0, 1.0], 300)
    a[:150], a[150:] = b[:150] + 0.1, b[150:] - 0.1  # exactly balanced differences
    assert paired_test(a, b, n_permutations=2000).p_value > 0.5
    assert paired_bootstrap(a, b, n_boot=2000).p_value > 0.5


def test_paired_comparisons_need_the_same_users():
    with pytest.raises(ValueError, match="same users"):
        paired_test([0.1, 0.2], [0.1])
