"""The neural-network refresher's example in TensorFlow/Keras 3 (twin of
``reclearn/models/torch/primer.py``): a network with one hidden layer, trained with
mini-batch Adam on the log loss.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from reclearn.models.init import glorot
from reclearn.models.tf.layers import dense
from reclearn.models.tf.recommender import Adam


class TinyMLP(keras.Model):
    """logit = w_2 . ReLU(W_1 x + b_1) + b_2, with one hidden layer of ``hidden`` units.

    Args:
        num_inputs: Length of each input vector x.
        hidden: Width of the hidden layer.
        seed: Seed of the Glorot-uniform kernels (the biases start at zero), so both
            twins start from the same weights.

    Introduced in chapter "Introduction".
    """

    def __init__(self, num_inputs: int, hidden: int, seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.hidden = dense(glorot(rng, num_inputs, hidden), "hidden")
        self.logit = dense(glorot(rng, hidden, 1), "logit")

    def call(self, x):
        """Logits, shape (batch,), for inputs of shape (batch, num_inputs)."""
        h = ops.relu(self.hidden(x))  # (batch, hidden)
        return ops.squeeze(self.logit(h), -1)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """sigma(logit) for NumPy inputs of shape (n, num_inputs), as a NumPy array."""
        logits = self(ops.convert_to_tensor(x, dtype="float32"))
        return ops.convert_to_numpy(ops.sigmoid(logits))


def train_tiny(
    network: TinyMLP,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int = 30,
    batch_size: int = 50,
    learning_rate: float = 0.01,
    seed: int = 0,
) -> list[float]:
    """Mini-batch Adam on the mean log loss; the mean training loss of each epoch.

    Each step computes the loss of one batch (the forward pass), lets automatic
    differentiation apply the chain rule backwards through the layers (backpropagation)
    and moves every weight with the book's Adam, which both twins share. The batch order
    comes from ``seed``, so both twins see the same batches.

    Args:
        network: A :class:`TinyMLP` of this backend, trained in place.
        x: Inputs, shape (n, num_inputs).
        y: Labels, 0 or 1, shape (n,).
        epochs: Passes over the shuffled data.
        batch_size: Examples per step.
        learning_rate: Adam's step size.
        seed: Seed of the batch order.

    Introduced in chapter "Introduction".
    """
    optimizer = Adam(learning_rate=learning_rate, epsilon=1e-8)
    inputs = ops.convert_to_tensor(x, dtype="float32")
    labels = ops.convert_to_tensor(y, dtype="float32")
    order_rng = np.random.default_rng(seed)

    @tf.function  # traced once per batch shape: a graph, not Python, runs each step
    def step(batch):
        with tf.GradientTape() as tape:
            z = network(ops.take(inputs, batch, axis=0))
            loss = ops.mean(ops.softplus(z) - ops.take(labels, batch) * z)  # log loss
        variables = network.trainable_variables
        gradients = tape.gradient(loss, variables)  # backpropagation
        optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return loss

    losses = []
    for _ in range(epochs):
        order, total = order_rng.permutation(len(x)), 0.0
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]
            total += float(step(ops.convert_to_tensor(batch))) * len(batch)
        losses.append(total / len(x))
    return losses
