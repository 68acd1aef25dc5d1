"""Token attributions for the content two-tower model in TensorFlow/Keras 3 (twin of
``reclearn/models/torch/attribution.py``): how much each title, genre or tag token adds
to a user's logit for an item.

The logit is recomputed here from the token embeddings, following the encoders'
``call`` step by step, so that gradients with respect to the embeddings are available;
a test holds this recomputation equal to the network's own logits.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from keras import ops

from reclearn.models.tf.content import TextCNN, TwoTower


def token_logits(
    network: TwoTower,
    users: np.ndarray,
    items: np.ndarray,
    tokens: np.ndarray | None = None,
    scale: float = 1.0,
) -> np.ndarray:
    """Logits p_u . q_i, shape (batch,), with the items' tokens replaced or scaled.

    Args:
        network: A trained :class:`TwoTower` of this backend.
        users: User indices, shape (batch,).
        items: Item indices, shape (batch,) (their ID embeddings, if any, are kept).
        tokens: Token indices to read instead of the items' own, shape (batch, length);
            set a token to 0 (padding) to remove it.
        scale: Multiplies every token embedding; 0 gives the baseline of
            :func:`integrated_gradients`.

    Introduced in chapter "Challenges".
    """
    users, items, tokens = _tensors(network, users, items, tokens)
    embedded = network.encoder.token_embedding(tokens) * scale
    return _logits(network, users, items, tokens, embedded).numpy().astype(np.float64)


def gradient_times_input(
    network: TwoTower, users: np.ndarray, items: np.ndarray, tokens: np.ndarray | None = None
) -> np.ndarray:
    """Gradient of the logit with respect to each token embedding, dotted with it.

    Returns:
        Attributions, shape (batch, length); 0 at padding.

    Introduced in chapter "Challenges".
    """
    users, items, tokens = _tensors(network, users, items, tokens)
    embedded = tf.convert_to_tensor(network.encoder.token_embedding(tokens))
    with tf.GradientTape() as tape:
        tape.watch(embedded)
        total = ops.sum(_logits(network, users, items, tokens, embedded))
    gradient = tape.gradient(total, embedded)
    return _per_token(gradient * embedded, tokens)


def integrated_gradients(
    network: TwoTower,
    users: np.ndarray,
    items: np.ndarray,
    tokens: np.ndarray | None = None,
    steps: int = 64,
) -> np.ndarray:
    """Integrated gradients of the logit over the token embeddings (Sundararajan 2017).

    The path runs from all-zero embeddings (the baseline; padding and positions stay as
    they are) to the actual ones; the gradient is averaged at ``steps`` midpoints. The
    attributions then sum, up to the error of that average, to
    ``token_logits(...) - token_logits(..., scale=0)`` (completeness).

    Returns:
        Attributions, shape (batch, length); 0 at padding.

    Raises:
        ValueError: ``steps`` is smaller than 1.

    Introduced in chapter "Challenges".
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    users, items, tokens = _tensors(network, users, items, tokens)
    embedded = tf.convert_to_tensor(network.encoder.token_embedding(tokens))
    total = tf.zeros_like(embedded)
    for step in range(steps):
        point = embedded * ((step + 0.5) / steps)
        with tf.GradientTape() as tape:
            tape.watch(point)
            logit_sum = ops.sum(_logits(network, users, items, tokens, point))
        total += tape.gradient(logit_sum, point)
    return _per_token(total / steps * embedded, tokens)


def _logits(network: TwoTower, users, items, tokens, embedded):
    """The network's logit from given token embeddings (batch, length, d)."""
    encoder = network.encoder
    mask = ops.expand_dims(ops.cast(tokens > 0, "float32"), -1)  # (batch, length, 1)
    x = embedded * mask
    if isinstance(encoder, TextCNN):
        h = ops.relu(encoder.conv(x))  # (batch, length, f)
        pooled = ops.max(h * mask, axis=1)
    else:  # TextBag
        pooled = ops.sum(x, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1.0)
    q_i = encoder.projection(pooled)
    if network.config.item_ids:
        gate = ops.expand_dims(tf.gather(network.has_id, items), -1)
        q_i = q_i + network.item_embedding(items) * gate
    p_u = network.user_embedding(users)
    return ops.sum(p_u * q_i, axis=-1)


def _tensors(network: TwoTower, users, items, tokens):
    """Index tensors; the items' own tokens by default."""
    users = tf.constant(np.asarray(users, dtype=np.int64))
    items = tf.constant(np.asarray(items, dtype=np.int64))
    if tokens is None:
        tokens = tf.gather(network.tokens, items)
    else:
        tokens = tf.constant(np.asarray(tokens, dtype=np.int64))
    if users.ndim != 1 or users.shape != items.shape or tokens.shape[0] != items.shape[0]:
        raise ValueError(
            f"users and items must be 1-D of one length and tokens (batch, length); got "
            f"{tuple(users.shape)}, {tuple(items.shape)}, {tuple(tokens.shape)}"
        )
    return users, items, tokens


def _per_token(products, tokens) -> np.ndarray:
    """Sum over the embedding axis, zero at padding: shape (batch, length), float64."""
    values = ops.sum(products, axis=-1) * ops.cast(tokens > 0, products.dtype)
    return np.asarray(values).astype(np.float64)
