"""Keras layers whose weights start as NumPy arrays (twin of ``torch/layers.py``)."""

from __future__ import annotations

import keras
import numpy as np

from reclearn.models.init import normal


def embedding(initial: np.ndarray, name: str) -> keras.layers.Embedding:
    """An embedding whose table starts as ``initial``, shape (rows, k).

    Its gradient is sparse (the rows a batch looked up), so the training loop's lazy
    Adam moves only those rows.
    """
    layer = keras.layers.Embedding(*initial.shape, name=name)
    layer.build()
    layer.embeddings.assign(initial)
    return layer


def dense(kernel: np.ndarray, name: str, bias: bool = True) -> keras.layers.Dense:
    """A dense layer whose kernel starts as ``kernel``, shape (in, out), bias zero (or
    no bias)."""
    layer = keras.layers.Dense(kernel.shape[1], use_bias=bias, name=name)
    layer.build((None, kernel.shape[0]))
    layer.kernel.assign(kernel)
    return layer


def factor_embeddings(
    rng: np.random.Generator, std: float, num_users: int, num_items: int, k: int
) -> tuple[keras.layers.Embedding, keras.layers.Embedding]:
    """User and item embeddings of k columns, N(0, std^2) entries, drawn in turn."""
    user_vectors = normal(rng, std, (num_users, k))
    item_vectors = normal(rng, std, (num_items, k))
    return (
        embedding(user_vectors, "user_embedding"),
        embedding(item_vectors, "item_embedding"),
    )


def layer_norm(size: int, name: str) -> keras.layers.LayerNormalization:
    """Layer normalisation over the last axis of length ``size`` (epsilon 1e-8, as in
    SASRec; the frameworks' defaults differ), gain one, bias zero."""
    layer = keras.layers.LayerNormalization(epsilon=1e-8, name=name)
    layer.build((None, size))
    return layer
