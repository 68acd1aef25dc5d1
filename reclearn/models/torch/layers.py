"""PyTorch layers whose weights start as NumPy arrays (twin of ``tf/layers.py``)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from reclearn.models.init import normal


def embedding(initial: np.ndarray) -> nn.Embedding:
    """An embedding whose table starts as ``initial``, shape (rows, k).

    Its gradient is sparse (the rows a batch looked up), so the training loop's lazy
    Adam moves only those rows.
    """
    layer = nn.Embedding(*initial.shape, sparse=True)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(initial))
    return layer


def dense(kernel: np.ndarray, bias: bool = True) -> nn.Linear:
    """A dense layer whose kernel starts as ``kernel``, shape (in, out), bias zero (or
    no bias)."""
    layer = nn.Linear(*kernel.shape, bias=bias)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(kernel.T))
        if bias:
            layer.bias.zero_()
    return layer


def factor_embeddings(
    rng: np.random.Generator, std: float, num_users: int, num_items: int, k: int
) -> tuple[nn.Embedding, nn.Embedding]:
    """User and item embeddings of k columns, N(0, std^2) entries, drawn in turn."""
    user_vectors = normal(rng, std, (num_users, k))
    item_vectors = normal(rng, std, (num_items, k))
    return embedding(user_vectors), embedding(item_vectors)


def layer_norm(size: int) -> nn.LayerNorm:
    """Layer normalisation over the last axis of length ``size`` (epsilon 1e-8, as in
    SASRec; the frameworks' defaults differ), gain one, bias zero."""
    return nn.LayerNorm(size, eps=1e-8)
