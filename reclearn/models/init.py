"""Initial weights drawn in NumPy, so that both twins of a network start equal."""

from __future__ import annotations

import numpy as np


def normal(rng: np.random.Generator, std: float, shape: tuple[int, ...]) -> np.ndarray:
    """N(0, std^2) entries, float32."""
    return rng.normal(0.0, std, shape).astype(np.float32)


def glorot(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    """A Glorot-uniform kernel, shape (fan_in, fan_out)."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)


def glorot_conv(rng: np.random.Generator, width: int, fan_in: int, fan_out: int) -> np.ndarray:
    """A Glorot-uniform convolution kernel in Keras layout, shape (width, in, out)."""
    limit = np.sqrt(6.0 / (width * (fan_in + fan_out)))
    return rng.uniform(-limit, limit, (width, fan_in, fan_out)).astype(np.float32)
