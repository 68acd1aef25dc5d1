"""Content networks in TensorFlow/Keras 3 (twin of ``reclearn/models/torch/content.py``): two
text encoders and the two-tower model whose item tower reads an item's tokens.

Every initial weight is drawn from a NumPy generator in the same order as in the twin:
embeddings from N(0, init_std), convolution and dense kernels Glorot-uniform, biases zero.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from reclearn.configs import TwoTowerConfig
from reclearn.models.init import glorot, glorot_conv, normal
from reclearn.models.tf.layers import dense, embedding


class TextCNN(keras.layers.Layer):
    """A 1-D CNN over token sequences: embed, convolve, ReLU, max over positions, project.

    Args:
        vocab_size: Number of token indices (index 0 is padding).
        config: Shared hyper-parameters (``token_dim``, ``num_filters``, ``kernel_size``,
            ``num_factors``).
        rng: NumPy generator that draws the initial weights, so both twins start equal.

    Introduced in chapter "Content-based recommendation".
    """

    def __init__(self, vocab_size: int, config: TwoTowerConfig, rng: np.random.Generator) -> None:
        name = "encoder"  # the attribute name in the PyTorch twin's TwoTower
        super().__init__(name=name)
        d, f, w = config.token_dim, config.num_filters, config.kernel_size
        self.token_embedding = embedding(
            normal(rng, config.init_std, (vocab_size, d)), f"{name}.token_embedding"
        )
        self.conv = keras.layers.Conv1D(f, w, padding="same", name=f"{name}.conv")
        self.conv.build((None, None, d))
        self.conv.kernel.assign(glorot_conv(rng, w, d, f))  # (width, in, out)
        self.projection = dense(glorot(rng, f, config.num_factors), f"{name}.projection")

    def call(self, tokens):
        """Item vectors, shape (batch, k), for token indices of shape (batch, length)."""
        mask = ops.expand_dims(ops.cast(tokens > 0, "float32"), -1)  # (batch, length, 1)
        x = self.token_embedding(tokens) * mask  # (batch, length, d); padding is zero
        h = ops.relu(self.conv(x))  # (batch, length, f)
        pooled = ops.max(h * mask, axis=1)  # (batch, f): the strongest match of each filter
        return self.projection(pooled)


class TextBag(keras.layers.Layer):
    """An embedding bag: the mean of an item's token embeddings, projected.

    Args:
        vocab_size: Number of token indices (index 0 is padding).
        config: Shared hyper-parameters (``token_dim``, ``num_factors``).
        rng: NumPy generator that draws the initial weights, so both twins start equal.

    Introduced in chapter "Content-based recommendation".
    """

    def __init__(self, vocab_size: int, config: TwoTowerConfig, rng: np.random.Generator) -> None:
        name = "encoder"  # the attribute name in the PyTorch twin's TwoTower
        super().__init__(name=name)
        d = config.token_dim
        self.token_embedding = embedding(
            normal(rng, config.init_std, (vocab_size, d)), f"{name}.token_embedding"
        )
        self.projection = dense(glorot(rng, d, config.num_factors), f"{name}.projection")

    def call(self, tokens):
        """Item vectors, shape (batch, k), for token indices of shape (batch, length)."""
        mask = ops.expand_dims(ops.cast(tokens > 0, "float32"), -1)  # (batch, length, 1)
        total = ops.sum(self.token_embedding(tokens) * mask, axis=1)  # (batch, d)
        return self.projection(total / ops.maximum(ops.sum(mask, axis=1), 1.0))


class TwoTower(keras.Model):
    """logit = p_u . q_i with q_i = encoder(tokens_i) + [i rated in training] e_i.

    The ID embedding e_i exists only with ``config.item_ids`` (the hybrid); an item without
    training interactions has no usable e_i and is scored from its content alone.

    Args:
        num_users: Number of user indices.
        tokens: Token indices of every item, shape (num_items, length).
        has_id: 1.0 for items with training interactions, else 0.0, shape (num_items,).
        vocab_size: Number of token indices.
        config: Shared hyper-parameters.
        rng: NumPy generator that draws the initial weights, so both twins start equal.

    Introduced in chapter "Content-based recommendation".
    """

    def __init__(
        self,
        num_users: int,
        tokens: np.ndarray,
        has_id: np.ndarray,
        vocab_size: int,
        config: TwoTowerConfig,
        rng: np.random.Generator,
    ) -> None:
        super().__init__()
        k, num_items = config.num_factors, len(tokens)
        self.config = config
        self.user_embedding = embedding(
            normal(rng, config.init_std, (num_users, k)), "user_embedding"
        )
        self.encoder = (TextCNN if config.encoder == "cnn" else TextBag)(vocab_size, config, rng)
        if config.item_ids:
            self.item_embedding = embedding(
                normal(rng, config.init_std, (num_items, k)), "item_embedding"
            )
        self.tokens = tf.constant(tokens, dtype=tf.int64)
        self.has_id = tf.constant(has_id, dtype=tf.float32)

    def item_vectors(self, items, keep_id=None):
        """q_i, shape (batch, k); ``keep_id`` (batch,) zeroes the ID part of some rows."""
        q_i = self.encoder(tf.gather(self.tokens, items))
        if self.config.item_ids:
            has_id = tf.gather(self.has_id, items)
            gate = has_id if keep_id is None else has_id * keep_id
            q_i = q_i + self.item_embedding(items) * ops.expand_dims(gate, -1)
        return q_i

    def call(self, users, items):
        """Logits of an interaction, shape (batch,), for index tensors of shape (batch,)."""
        p_u = self.user_embedding(users)
        return ops.sum(p_u * self.item_vectors(items), axis=-1)

    def penalty(self, p_u, q_i):
        """Mean over the batch of ||p_u||^2 + ||q_i||^2."""
        return ops.mean(ops.sum(p_u**2, axis=-1) + ops.sum(q_i**2, axis=-1))

    def objective(self, users, items, labels, keep_id=None):
        """Mean binary cross-entropy of the logits plus l2 times the penalty."""
        p_u = self.user_embedding(users)
        q_i = self.item_vectors(items, keep_id)
        logits = ops.sum(p_u * q_i, axis=-1)
        loss = ops.mean(ops.softplus(logits) - labels * logits)
        return loss + self.config.l2 * self.penalty(p_u, q_i)

    def score_all(self, users):
        """Logits of every item, shape (batch, num_items)."""
        p_u = self.user_embedding(users)
        items = tf.range(tf.shape(self.tokens, out_type=tf.int64)[0])
        return ops.matmul(p_u, ops.transpose(self.item_vectors(items)))
