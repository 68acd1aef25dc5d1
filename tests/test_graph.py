"""Item graphs from side information: hand-computed similarities, normalisations, propagation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from reclearn.graph import feature_matrix, normalize, propagate, similarity_graph

# items: 0 {a, b}, 1 {a}, 2 {b, c}, 3 {} -> cos(0,1) = 1/sqrt(2), cos(0,2) = 1/2, cos(1,2) = 0
SETS = [["a", "b"], ["a"], ["b", "c"], []]


def test_feature_matrix_is_binary_with_sorted_names_and_counts_duplicates_once():
    matrix, names = feature_matrix([["b", "a", "a"], ["c"], []])
    assert list(names) == ["a", "b", "c"]
    np.testing.assert_array_equal(matrix.toarray(), [[1, 1, 0], [0, 0, 1], [0, 0, 0]])


def test_feature_matrix_rejects_a_string_where_a_set_is_expected():
    with pytest.raises(ValueError, match="item 1 has the string 'drama'"):
        feature_matrix([["comedy"], "drama"])
    with pytest.raises(ValueError, match="not a string"):
        feature_matrix("comedy")


def test_cosine_graph_keeps_the_nearest_neighbour_of_each_item():
    x, _ = feature_matrix(SETS)
    graph = similarity_graph(x, k=1, measure="cosine").toarray()
    expected = np.zeros((4, 4))
    expected[0, 1] = expected[1, 0] = 1 / np.sqrt(2)
    expected[2, 0] = 0.5
    np.testing.assert_allclose(graph, expected)


def test_jaccard_graph_divides_shared_features_by_all_features():
    x, _ = feature_matrix(SETS)
    graph = similarity_graph(x, k=3, measure="jaccard").toarray()
    expected = np.zeros((4, 4))
    expected[0, 1] = expected[1, 0] = 1 / 2
    expected[0, 2] = expected[2, 0] = 1 / 3
    np.testing.assert_allclose(graph, expected)  # zero similarities and self-loops are dropped


def test_ties_at_the_cut_go_to_the_lower_item_index():
    x, _ = feature_matrix([["a"], ["a"], ["a"], ["a"]])
    graph = similarity_graph(x, k=2, batch_size=3).toarray()  # two batches, same answer
    np.testing.assert_array_equal(graph != 0, [[0, 1, 1, 0], [1, 0, 1, 0],
                                               [1, 1, 0, 0], [1, 1, 0, 0]])  # fmt: skip


def test_neighbours_mask_limits_who_can_be_a_neighbour_but_fills_every_row():
    x, _ = feature_matrix(SETS)
    graph = similarity_graph(x, k=1, neighbours=np.array([True, False, True, False])).toarray()
    expected = np.zeros((4, 4))
    expected[0, 2] = 0.5  # item 1 is closer to item 0 but may not be a neighbour
    expected[1, 0] = 1 / np.sqrt(2)
    expected[2, 0] = 0.5
    np.testing.assert_allclose(graph, expected)


def test_similarity_graph_names_each_bad_input():
    x, _ = feature_matrix(SETS)
    with pytest.raises(ValueError, match="unknown measure 'euclid'"):
        similarity_graph(x, measure="euclid")
    with pytest.raises(ValueError, match="k must be an integer of at least 1"):
        similarity_graph(x, k=0)
    with pytest.raises(ValueError, match="non-negative"):
        similarity_graph(-x.toarray())
    with pytest.raises(ValueError, match=r"boolean mask of shape \(4,\)"):
        similarity_graph(x, neighbours=np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="batch_size"):
        similarity_graph(x, batch_size=0)


GRAPH = np.array([[0.0, 2.0, 2.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])


def test_row_normalisation_makes_each_non_empty_row_sum_to_one():
    np.testing.assert_allclose(
        normalize(GRAPH, "row").toarray(), [[0, 0.5, 0.5], [1, 0, 0], [0, 0, 0]]
    )


def test_symmetric_normalisation_divides_by_square_roots_of_row_and_column_sums():
    # row sums (4, 1, 0), column sums (1, 2, 2): 2 / sqrt(4 * 2) and 1 / sqrt(1 * 1)
    expected = [[0, 2 / np.sqrt(8), 2 / np.sqrt(8)], [1, 0, 0], [0, 0, 0]]
    np.testing.assert_allclose(normalize(sparse.csr_matrix(GRAPH), "symmetric").toarray(),
                               expected)  # fmt: skip


def test_normalize_names_each_bad_input():
    with pytest.raises(ValueError, match="unknown normalisation 'column'"):
        normalize(GRAPH, "column")
    with pytest.raises(ValueError, match="square"):
        normalize(np.ones((2, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        normalize(-GRAPH)


CHAIN = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5], [0.0, 1.0, 0.0]])  # already row-normalised


def test_one_and_two_steps_of_propagation_mix_own_and_neighbour_values():
    x = np.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose(propagate(CHAIN, x, alpha=0.5), [1.5, 2.25, 3.0])
    np.testing.assert_allclose(propagate(CHAIN, x, alpha=0.5, steps=2), [1.875, 2.25, 2.625])


def test_alpha_zero_keeps_known_vectors_and_alpha_one_replaces_them():
    x = np.array([[1.0, 0.0], [2.0, 1.0], [4.0, 2.0]])
    np.testing.assert_allclose(propagate(CHAIN, x, alpha=0.0), x)
    np.testing.assert_allclose(propagate(CHAIN, x, alpha=1.0), CHAIN @ x)


def test_unknown_items_take_their_neighbours_average_and_ignore_their_own_row():
    x = np.array([1.0, 2.0, np.nan])  # item 2 has no vector of its own
    out = propagate(CHAIN, x, alpha=0.5, known=np.array([True, True, False]))
    # item 2 starts at 0: A x = (2, 0.5, 2); known items mix half and half
    np.testing.assert_allclose(out, [1.5, 1.25, 2.0])


def test_propagate_names_each_bad_input():
    x = np.ones(3)
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        propagate(CHAIN, x, alpha=1.5)
    with pytest.raises(ValueError, match="steps must be an integer of at least 1"):
        propagate(CHAIN, x, steps=0)
    with pytest.raises(ValueError, match="do not match"):
        propagate(CHAIN, np.ones(4))
    with pytest.raises(ValueError, match="known must be a boolean mask"):
        propagate(CHAIN, x, known=np.ones(3))
    with pytest.raises(ValueError, match="NaN or infinite"):
        propagate(CHAIN, np.array([1.0, np.nan, 2.0]))
