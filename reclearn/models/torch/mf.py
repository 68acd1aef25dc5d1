"""Biased matrix factorisation in PyTorch (twin of ``reclearn/models/tf/mf.py``)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from reclearn.configs import MFConfig


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
        self.user_embedding = nn.Embedding(num_users, k)
        self.item_embedding = nn.Embedding(num_items, k)
        self.user_bias = nn.Embedding(num_users, 1)
        self.item_bias = nn.Embedding(num_items, 1)
        with torch.no_grad():  # N(0, init_std) vectors, zero biases
            self.user_embedding.weight.copy_(_normal(rng, config.init_std, (num_users, k)))
            self.item_embedding.weight.copy_(_normal(rng, config.init_std, (num_items, k)))
            self.user_bias.weight.zero_()
            self.item_bias.weight.zero_()

    def embed(self, users: torch.Tensor, items: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The parameters a batch touches: p_u, q_i of shape (batch, k); b_u, b_i (batch,)."""
        # Same as self.user_embedding(users), with a backward pass twice as fast on CPU.
        p_u = self.user_embedding.weight.index_select(0, users)
        q_i = self.item_embedding.weight.index_select(0, items)
        b_u = self.user_bias.weight.index_select(0, users).squeeze(-1)
        b_i = self.item_bias.weight.index_select(0, items).squeeze(-1)
        return p_u, q_i, b_u, b_i

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Predicted ratings, shape (batch,), for index tensors of shape (batch,)."""
        p_u, q_i, b_u, b_i = self.embed(users, items)
        return self.global_mean + b_u + b_i + (p_u * q_i).sum(dim=-1)

    def penalty(self, p_u, q_i, b_u, b_i) -> torch.Tensor:
        """Mean over the batch of ||p_u||^2 + ||q_i||^2 + b_u^2 + b_i^2."""
        squares = (p_u**2).sum(dim=-1) + (q_i**2).sum(dim=-1) + b_u**2 + b_i**2
        return squares.mean()

    def objective(
        self, users: torch.Tensor, items: torch.Tensor, ratings: torch.Tensor
    ) -> torch.Tensor:
        """Mean squared error on the batch plus l2 times the penalty."""
        p_u, q_i, b_u, b_i = self.embed(users, items)
        predicted = self.global_mean + b_u + b_i + (p_u * q_i).sum(dim=-1)
        error = predicted - ratings
        return (error**2).mean() + self.config.l2 * self.penalty(p_u, q_i, b_u, b_i)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """Predicted ratings of every item, shape (batch, num_items)."""
        p_u = self.user_embedding(users)  # (batch, k)
        b_u = self.user_bias(users)  # (batch, 1)
        item_terms = self.item_bias.weight.squeeze(-1)  # (num_items,)
        return self.global_mean + b_u + item_terms + p_u @ self.item_embedding.weight.T


def _normal(rng: np.random.Generator, std: float, shape: tuple[int, int]) -> torch.Tensor:
    return torch.from_numpy(rng.normal(0.0, std, shape).astype(np.float32))
