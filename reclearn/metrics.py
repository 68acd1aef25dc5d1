"""Rating metrics (NumPy): every backend's scores are judged by the same code."""

from __future__ import annotations

import numpy as np


def _pair(predicted, actual) -> tuple[np.ndarray, np.ndarray]:
    predicted = np.asarray(predicted, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    if predicted.shape != actual.shape:
        raise ValueError(f"predicted has shape {predicted.shape} but actual has {actual.shape}")
    if predicted.size == 0:
        raise ValueError("cannot score an empty set of predictions")
    return predicted, actual


def rmse(predicted, actual) -> float:
    """Root mean squared error.

    Introduced in chapter "Matrix factorization".
    """
    predicted, actual = _pair(predicted, actual)
    return float(np.sqrt(np.mean((predicted - actual) ** 2)))


def mae(predicted, actual) -> float:
    """Mean absolute error.

    Introduced in chapter "Matrix factorization".
    """
    predicted, actual = _pair(predicted, actual)
    return float(np.mean(np.abs(predicted - actual)))
