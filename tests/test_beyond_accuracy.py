"""Beyond-accuracy metrics on hand-computed cases."""

import math

import numpy as np
import pytest

from reclearn.metrics import catalog_coverage, intra_list_diversity, novelty, popularity_bias

# Four items; popularity counted over 8 users.
POPULARITY = np.array([8, 4, 2, 1])
# Genres: 0 = (1,0), 1 = (1,0), 2 = (0,1), 3 = (1,1)
FEATURES = np.array([[1, 0], [1, 0], [0, 1], [1, 1]])


def test_coverage_counts_distinct_items_over_the_catalogue():
    assert catalog_coverage([[0, 1], [1, 2]], num_items=4) == 0.75
    assert catalog_coverage([[0], [0]], num_items=5) == 0.2


def test_novelty_is_mean_self_information_in_bits():
    # items 0,1,3 -> -log2(8/8)=0, -log2(4/8)=1, -log2(1/8)=3; mean 4/3
    assert novelty([[0, 1], [3]], POPULARITY, num_users=8) == pytest.approx(4 / 3)


def test_novelty_counts_unseen_items_as_seen_once():
    assert novelty([[0]], np.array([0, 1]), num_users=4) == pytest.approx(2.0)


def test_diversity_is_mean_pairwise_cosine_distance():
    # list [0,1,2]: pairs (0,1)=0, (0,2)=1, (1,2)=1 -> 2/3
    # list [0,3]: 1 - 1/sqrt(2)
    expected = (2 / 3 + 1 - 1 / math.sqrt(2)) / 2
    assert intra_list_diversity([[0, 1, 2], [0, 3]], FEATURES) == pytest.approx(expected)


def test_diversity_treats_featureless_items_as_adding_nothing():
    features = np.array([[1, 0], [0, 1], [0, 0]])
    # pairs (0,1)=1, (0,2)=0, (1,2)=0 -> 1/3
    assert intra_list_diversity([[0, 1, 2]], features) == pytest.approx(1 / 3)
    assert intra_list_diversity([[2, 2]], features) == 0.0


def test_popularity_bias_is_mean_percentile():
    # percentiles: item0 3/4, item1 2/4, item2 1/4, item3 0
    assert popularity_bias([[0, 1], [3]], POPULARITY) == pytest.approx((0.75 + 0.5 + 0) / 3)
    assert popularity_bias([[0]], np.array([5, 5, 1])) == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    "call",
    [
        lambda: catalog_coverage([[0, 4]], num_items=4),
        lambda: catalog_coverage([], num_items=4),
        lambda: catalog_coverage([[0]], num_items=0),
        lambda: novelty([[0]], POPULARITY, num_users=0),
        lambda: novelty([[0]], np.array([9, 1]), num_users=8),
        lambda: novelty([[]], POPULARITY, num_users=8),
        lambda: intra_list_diversity([[0]], FEATURES),
        lambda: intra_list_diversity([[0, 1]], np.ones(4)),
        lambda: popularity_bias([[-1]], POPULARITY),
    ],
)
def test_bad_input_raises_a_clear_value_error(call):
    with pytest.raises(ValueError):
        call()
