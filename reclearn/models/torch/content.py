"""Content networks in PyTorch (twin of ``reclearn/models/tf/content.py``): two text
encoders and the two-tower model whose item tower reads an item's tokens.

Every initial weight is drawn from a NumPy generator in the same order as in the twin:
embeddings from N(0, init_std), convolution and dense kernels Glorot-uniform, biases zero.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from reclearn.configs import TwoTowerConfig
from reclearn.models.init import glorot, glorot_conv, normal
from reclearn.models.torch.layers import dense, embedding


class TextCNN(nn.Module):
    """A 1-D CNN over token sequences: embed, convolve, ReLU, max over positions, project.

    Args:
        vocab_size: Number of token indices (index 0 is padding).
        config: Shared hyper-parameters (``token_dim``, ``num_filters``, ``kernel_size``,
            ``num_factors``).
        rng: NumPy generator that draws the initial weights, so both twins start equal.

    Introduced in chapter "Content-based recommendation".
    """

    def __init__(self, vocab_size: int, config: TwoTowerConfig, rng: np.random.Generator) -> None:
        super().__init__()
        d, f, w = config.token_dim, config.num_filters, config.kernel_size
        self.token_embedding = embedding(normal(rng, config.init_std, (vocab_size, d)))
        self.conv = nn.Conv1d(d, f, w, padding=w // 2)
        with torch.no_grad():  # kernel (width, in, out) as in Keras, stored (out, in, width)
            self.conv.weight.copy_(torch.from_numpy(glorot_conv(rng, w, d, f).transpose(2, 1, 0)))
            self.conv.bias.zero_()
        self.projection = dense(glorot(rng, f, config.num_factors))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Item vectors, shape (batch, k), for token indices of shape (batch, length)."""
        mask = (tokens > 0).unsqueeze(-1).to(torch.float32)  # (batch, length, 1)
        x = self.token_embedding(tokens) * mask  # (batch, length, d); padding is zero
        h = torch.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)  # (batch, length, f)
        pooled = (h * mask).amax(dim=1)  # (batch, f): the strongest match of each filter
        return self.projection(pooled)


class TextBag(nn.Module):
    """An embedding bag: the mean of an item's token embeddings, projected.

    Args:
        vocab_size: Number of token indices (index 0 is padding).
        config: Shared hyper-parameters (``token_dim``, ``num_factors``).
        rng: NumPy generator that draws the initial weights, so both twins start equal.

    Introduced in chapter "Content-based recommendation".
    """

    def __init__(self, vocab_size: int, config: TwoTowerConfig, rng: np.random.Generator) -> None:
        super().__init__()
        d = config.token_dim
        self.token_embedding = embedding(normal(rng, config.init_std, (vocab_size, d)))
        self.projection = dense(glorot(rng, d, config.num_factors))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Item vectors, shape (batch, k), for token indices of shape (batch, length)."""
        mask = (tokens > 0).unsqueeze(-1).to(torch.float32)  # (batch, length, 1)
        total = (self.token_embedding(tokens) * mask).sum(dim=1)  # (batch, d)
        return self.projection(total / mask.sum(dim=1).clamp(min=1.0))


class TwoTower(nn.Module):
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
        self.user_embedding = embedding(normal(rng, config.init_std, (num_users, k)))
        self.encoder = (TextCNN if config.encoder == "cnn" else TextBag)(vocab_size, config, rng)
        if config.item_ids:
            self.item_embedding = embedding(normal(rng, config.init_std, (num_items, k)))
        self.register_buffer("tokens", torch.as_tensor(tokens, dtype=torch.int64))
        self.register_buffer("has_id", torch.as_tensor(has_id, dtype=torch.float32))

    def item_vectors(self, items: torch.Tensor, keep_id: torch.Tensor | None = None):
        """q_i, shape (batch, k); ``keep_id`` (batch,) zeroes the ID part of some rows."""
        q_i = self.encoder(self.tokens[items])
        if self.config.item_ids:
            gate = self.has_id[items] if keep_id is None else self.has_id[items] * keep_id
            q_i = q_i + self.item_embedding(items) * gate.unsqueeze(-1)
        return q_i

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Logits of an interaction, shape (batch,), for index tensors of shape (batch,)."""
        p_u = self.user_embedding(users)
        return (p_u * self.item_vectors(items)).sum(dim=-1)

    def penalty(self, p_u, q_i) -> torch.Tensor:
        """Mean over the batch of ||p_u||^2 + ||q_i||^2."""
        return ((p_u**2).sum(dim=-1) + (q_i**2).sum(dim=-1)).mean()

    def objective(
        self,
        users: torch.Tensor,
        items: torch.Tensor,
        labels: torch.Tensor,
        keep_id: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Mean binary cross-entropy of the logits plus l2 times the penalty."""
        p_u = self.user_embedding(users)
        q_i = self.item_vectors(items, keep_id)
        logits = (p_u * q_i).sum(dim=-1)
        loss = (F.softplus(logits) - labels * logits).mean()
        return loss + self.config.l2 * self.penalty(p_u, q_i)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """Logits of every item, shape (batch, num_items)."""
        p_u = self.user_embedding(users)
        items = torch.arange(len(self.tokens), device=users.device)
        return p_u @ self.item_vectors(items).T
