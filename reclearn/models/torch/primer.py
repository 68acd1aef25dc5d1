"""The neural-network refresher's example in PyTorch (twin of
``reclearn/models/tf/primer.py``): a network with one hidden layer, trained with
mini-batch Adam on the log loss.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from reclearn.models.init import glorot
from reclearn.models.torch.layers import dense
from reclearn.models.torch.recommender import Adam


class TinyMLP(nn.Module):
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
        self.hidden = dense(glorot(rng, num_inputs, hidden))
        self.logit = dense(glorot(rng, hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, shape (batch,), for inputs of shape (batch, num_inputs)."""
        h = torch.relu(self.hidden(x))  # (batch, hidden)
        return self.logit(h).squeeze(-1)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """sigma(logit) for NumPy inputs of shape (n, num_inputs), as a NumPy array."""
        with torch.no_grad():
            logits = self(torch.as_tensor(x, dtype=torch.float32))
        return torch.sigmoid(logits).numpy()


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
    optimizer = Adam(network, learning_rate, epsilon=1e-8)
    inputs = torch.as_tensor(x, dtype=torch.float32)
    labels = torch.as_tensor(y, dtype=torch.float32)
    order_rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        order, total = order_rng.permutation(len(x)), 0.0
        for start in range(0, len(x), batch_size):
            batch = torch.as_tensor(order[start : start + batch_size])
            z = network(inputs[batch])
            loss = (nn.functional.softplus(z) - labels[batch] * z).mean()  # log loss
            optimizer.zero_grad()
            loss.backward()  # backpropagation: d loss / d every weight
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(total / len(x))
    return losses
