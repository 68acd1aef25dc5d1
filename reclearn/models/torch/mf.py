"""Biased matrix factorisation in PyTorch (twin of ``reclearn/models/tf/mf.py``).

Every initial weight is drawn from a NumPy generator in the same order as in the twin:
vectors from N(0, init_std), biases zero.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from reclearn.configs import MFConfig
from reclearn.models.torch.layers import embedding, factor_embeddings


class MF(nn.Module):
    """r_hat = mu + b_u + b_i + p_u . q_i with a fixed global mean mu.

    Args:
        num_users: Number of user indices.
        num_items: Number of item indices.
        config: Shared hyper-parameters.
        global_mean: mu, the mean training rating (not trained).
        rng: NumPy generator that draws the initial vectors, so both twins start equal.

    Introduced in chapter "Matrix factorization".
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        config: MFConfig,
        global_mean: float,
        rng: np.random.Generator,
    ) -> None:
        super().__init__()
        k = config.num_factors
        self.config = config
        self.global_mean = float(global_mean)
        self.user_embedding, self.item_embedding = factor_embeddings(
            rng, config.init_std, num_users, num_items, k
        )
        self.user_bias = embedding(np.zeros((num_users, 1), np.float32))
        self.item_bias = embedding(np.zeros((num_items, 1), np.float32))

    def embed(self, users, items) -> tuple:
        """The parameters a batch touches: p_u, q_i (batch, k) and b_u, b_i (batch,)."""
        p_u = self.user_embedding(users)
        q_i = self.item_embedding(items)
        b_u = self.user_bias(users).squeeze(-1)
        b_i = self.item_bias(items).squeeze(-1)
        return p_u, q_i, b_u, b_i

    def forward(self, users, items) -> torch.Tensor:
        """Predicted ratings, shape (batch,), for index tensors of shape (batch,)."""
        p_u, q_i, b_u, b_i = self.embed(users, items)
        return self.global_mean + b_u + b_i + (p_u * q_i).sum(dim=-1)

    def penalty(self, p_u, q_i, b_u, b_i) -> torch.Tensor:
        """Mean over the batch of ||p_u||^2 + ||q_i||^2 + b_u^2 + b_i^2."""
        squares = (p_u**2).sum(dim=-1) + (q_i**2).sum(dim=-1) + b_u**2 + b_i**2
        return squares.mean()

    def objective(self, users, items, ratings) -> torch.Tensor:
        """Mean squared error on the batch plus l2 times the penalty."""
        p_u, q_i, b_u, b_i = self.embed(users, items)
        predicted = self.global_mean + b_u + b_i + (p_u * q_i).sum(dim=-1)
        error = predicted - ratings
        return (error**2).mean() + self.config.l2 * self.penalty(p_u, q_i, b_u, b_i)

    def score_all(self, users) -> torch.Tensor:
        """Predicted ratings of every item, shape (batch, num_items)."""
        p_u = self.user_embedding(users)  # (batch, k)
        b_u = self.user_bias(users)  # (batch, 1)
        b_i = self.item_bias.weight.squeeze(-1)  # (num_items,)
        q = self.item_embedding.weight.T  # (k, num_items)
        return self.global_mean + b_u + b_i + p_u @ q
