"""Rating metrics on hand-computed cases."""

import math

import numpy as np
import pytest

from reclearn import metrics


def test_rmse_of_a_hand_computed_case():
    # errors 1, -2, 0, 1: squares 1, 4, 0, 1, mean 1.5
    assert metrics.rmse([2, 1, 3, 5], [1, 3, 3, 4]) == pytest.approx(math.sqrt(1.5), abs=1e-15)


def test_mae_of_a_hand_computed_case():
    assert metrics.mae([2, 1, 3, 5], [1, 3, 3, 4]) == 1.0


def test_perfect_predictions_score_zero():
    assert metrics.rmse([3.5, 4.0], [3.5, 4.0]) == 0.0
    assert metrics.mae([3.5, 4.0], [3.5, 4.0]) == 0.0


def test_metrics_return_python_floats_and_accept_arrays_and_series():
    import pandas as pd

    value = metrics.rmse(np.array([1.0, 2.0]), pd.Series([1.0, 4.0]))
    assert type(value) is float
    assert value == pytest.approx(math.sqrt(2.0), abs=1e-15)


@pytest.mark.parametrize("metric", [metrics.rmse, metrics.mae])
def test_a_shape_mismatch_raises_a_value_error(metric):
    with pytest.raises(ValueError, match=r"predicted has shape \(3,\) but actual has \(2,\)"):
        metric([1, 2, 3], [1, 2])


@pytest.mark.parametrize("metric", [metrics.rmse, metrics.mae])
def test_an_empty_set_raises_a_value_error(metric):
    with pytest.raises(ValueError, match="cannot score an empty set"):
        metric([], [])
