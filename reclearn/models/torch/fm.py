"""Factorization machines and DeepFM in PyTorch (twin of ``reclearn/models/tf/fm.py``).

Every initial weight is drawn from a NumPy generator in the same order as in the twin:
factor vectors from N(0, init_std), linear weights zero, dense kernels Glorot-uniform,
dense biases zero.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from reclearn.configs import FMConfig
from reclearn.features import FeatureTables
from reclearn.models.init import glorot, normal
from reclearn.models.torch.layers import dense, embedding


def pairwise_interactions(vx: torch.Tensor) -> torch.Tensor:
    """sum_{j<l} <v_j x_j, v_l x_l> in O(mk): 0.5 * ((sum vx)^2 - sum (vx)^2), summed
    over the k factors; ``vx`` has shape (batch, m, k), the result (batch,)."""
    square_of_sum = vx.sum(dim=1) ** 2  # (batch, k)
    sum_of_squares = (vx**2).sum(dim=1)  # (batch, k)
    return 0.5 * (square_of_sum - sum_of_squares).sum(dim=-1)


class FM(nn.Module):
    """y(x) = w_0 + sum_j w_j x_j + sum_{j<l} <v_j, v_l> x_j x_l (Rendle 2010).

    Features come from fixed tables: a pair (u, i) reads user u's and item i's rows.

    Args:
        tables: Every user's and item's feature indices and values.
        config: Shared hyper-parameters.
        global_mean: w_0, fixed (the mean training rating; 0 for ranking).
        rng: NumPy generator that draws the initial weights, so both twins start equal.

    Introduced in chapter "Feature-rich models: factorization machines and DeepFM".
    """

    def __init__(
        self,
        tables: FeatureTables,
        config: FMConfig,
        global_mean: float,
        rng: np.random.Generator,
    ) -> None:
        super().__init__()
        self.config = config
        self.global_mean = float(global_mean)
        d, k = tables.num_features, config.num_factors
        self.factors = embedding(normal(rng, config.init_std, (d, k)))
        self.linear = embedding(np.zeros((d, 1), np.float32))
        for name in ("user_index", "user_value", "item_index", "item_value"):
            self.register_buffer(name, torch.as_tensor(getattr(tables, name)))

    def features(self, users: torch.Tensor, items: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Indices and values of the batch's features, shape (batch, m)."""
        index = torch.cat([self.user_index[users], self.item_index[items]], dim=-1)
        value = torch.cat([self.user_value[users], self.item_value[items]], dim=-1)
        return index, value

    def embed(self, users: torch.Tensor, items: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The batch's factor vectors v_j (batch, m, k), weights w_j and values x_j
        (batch, m)."""
        index, x = self.features(users, items)
        return self.factors(index), self.linear(index).squeeze(-1), x

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Scores y, shape (batch,), for index tensors of shape (batch,)."""
        return self.predict_from(*self.embed(users, items))

    def predict_from(self, v, w, x) -> torch.Tensor:
        """w_0 + sum_j w_j x_j + the pairwise interactions, shape (batch,)."""
        vx = v * x.unsqueeze(-1)
        return self.global_mean + (w * x).sum(dim=-1) + pairwise_interactions(vx)

    def penalty(self, v, w, x) -> torch.Tensor:
        """Mean over the batch of sum_j (||v_j||^2 + w_j^2) over its features (x_j != 0)."""
        squares = (v**2).sum(dim=-1) + w**2  # (batch, m)
        return (squares * (x != 0).to(v.dtype)).sum(dim=-1).mean()

    def objective(
        self, users: torch.Tensor, items: torch.Tensor, ratings: torch.Tensor
    ) -> torch.Tensor:
        """Mean squared error on the batch plus l2 times the penalty."""
        terms = self.embed(users, items)
        error = self.predict_from(*terms) - ratings
        return (error**2).mean() + self.config.l2 * self.penalty(*terms)

    def side(self, index: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """One side's (user's or item's) part of y: sum_j w_j x_j plus its interactions
        within, shape (rows,); s = sum_j v_j x_j, shape (rows, k); v_j x_j, (rows, m, k)."""
        vx = self.factors(index) * x.unsqueeze(-1)
        wx = self.linear(index).squeeze(-1) * x
        return wx.sum(dim=-1) + pairwise_interactions(vx), vx.sum(dim=1), vx

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """Scores of every item, shape (batch, num_items): the interactions across the
        user and item sides are s_u . s_i, so all items cost one matrix product."""
        user_index = self.user_index[users]
        user_value = self.user_value[users]
        within_u, s_u, _ = self.side(user_index, user_value)
        within_i, s_i, _ = self.side(self.item_index, self.item_value)
        return self.global_mean + within_u.unsqueeze(1) + within_i + s_u @ s_i.T


class DeepFM(FM):
    """y = FM(x) + MLP([e_1 ; ... ; e_F]) with field vectors e_f = sum_{j in f} v_j x_j
    (Guo et al. 2017): the MLP reads the FM's own factor vectors.

    Takes the arguments of :class:`FM` (``config.hidden`` sets the tower).

    Introduced in chapter "Feature-rich models: factorization machines and DeepFM".
    """

    def __init__(
        self,
        tables: FeatureTables,
        config: FMConfig,
        global_mean: float,
        rng: np.random.Generator,
    ) -> None:
        super().__init__(tables, config, global_mean, rng)
        num_fields, k = len(tables.fields), config.num_factors
        self.num_user_fields = int(tables.user_field.max()) + 1
        self.num_hidden = _add_tower(self, rng, num_fields * k, config.hidden)
        self.prediction = dense(glorot(rng, config.hidden[-1], 1))
        self.register_buffer("pool", _pool(tables))

    def predict_from(self, v, w, x) -> torch.Tensor:
        """FM(x) + MLP(field vectors), shape (batch,)."""
        vx = v * x.unsqueeze(-1)
        fields = _flatten(torch.einsum("bmk,mf->bfk", vx, self.pool))  # (batch, F k)
        deep = self.prediction(_tower(self, fields)).squeeze(-1)
        return super().predict_from(v, w, x) + deep

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """Scores of every item, shape (batch, num_items); the first layer of the tower
        is applied to each side's field vectors once, then summed per pair."""
        fm = super().score_all(users)
        user_index = self.user_index[users]
        user_value = self.user_value[users]
        *_, vx_u = self.side(user_index, user_value)
        *_, vx_i = self.side(self.item_index, self.item_value)
        m_u, f_u = vx_u.shape[1], self.num_user_fields
        e_u = _flatten(torch.einsum("bmk,mf->bfk", vx_u, self.pool[:m_u, :f_u]))
        e_i = _flatten(torch.einsum("bmk,mf->bfk", vx_i, self.pool[m_u:, f_u:]))
        kernel = self.hidden_0.weight.T  # (F k, hidden[0])
        h_u = e_u @ kernel[: e_u.shape[1]]  # (batch, hidden[0])
        h_i = e_i @ kernel[e_u.shape[1] :] + self.hidden_0.bias  # (num_items, h)
        h = torch.relu(h_u.unsqueeze(1) + h_i)  # (batch, num_items, hidden[0])
        h = _tower(self, h, first=1)
        return fm + self.prediction(h).squeeze(-1)


class FMRank(FM):
    """An FM scoring interactions: logits trained with log loss on sampled negatives.

    Takes the arguments of :class:`FM`.

    Introduced in chapter "Feature-rich models: factorization machines and DeepFM".
    """

    def objective(
        self, users: torch.Tensor, items: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """Mean binary cross-entropy of the logits plus l2 times the penalty."""
        return _log_loss_objective(self, users, items, labels)


class DeepFMRank(DeepFM):
    """DeepFM scoring interactions: logits trained with log loss on sampled negatives.

    Takes the arguments of :class:`FM`.

    Introduced in chapter "Feature-rich models: factorization machines and DeepFM".
    """

    def objective(
        self, users: torch.Tensor, items: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """Mean binary cross-entropy of the logits plus l2 times the penalty."""
        return _log_loss_objective(self, users, items, labels)


def _log_loss_objective(network, users, items, labels) -> torch.Tensor:
    """Mean softplus(y) - label y (log loss from logits) plus l2 times the penalty."""
    terms = network.embed(users, items)
    logits = network.predict_from(*terms)
    loss = (F.softplus(logits) - labels * logits).mean()
    return loss + network.config.l2 * network.penalty(*terms)


def _pool(tables: FeatureTables) -> torch.Tensor:
    """(m, F) one-hot matrix of each slot's field, user slots first."""
    slot_field = np.concatenate([tables.user_field, tables.item_field])
    return torch.as_tensor(np.eye(len(tables.fields), dtype=np.float32)[slot_field])


def _flatten(fields: torch.Tensor) -> torch.Tensor:
    """(batch, F, k) -> (batch, F k)."""
    return fields.flatten(1)


def _add_tower(network, rng: np.random.Generator, width: int, hidden: tuple[int, ...]) -> int:
    """Attach layers ``hidden_0``, ``hidden_1``, ... of the given widths; return their number."""
    for layer, out in enumerate(hidden):
        setattr(network, f"hidden_{layer}", dense(glorot(rng, width, out)))
        width = out
    return len(hidden)


def _tower(network, h: torch.Tensor, first: int = 0) -> torch.Tensor:
    """The ReLU layers ``hidden_<first>``, ``hidden_<first + 1>``, ... applied in turn."""
    for layer in range(first, network.num_hidden):
        h = torch.relu(getattr(network, f"hidden_{layer}")(h))
    return h
