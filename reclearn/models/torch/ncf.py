"""Neural collaborative filtering in PyTorch (twin of ``reclearn/models/tf/ncf.py``).

Every initial weight is drawn from a NumPy generator in the same order as in the twin:
embeddings from N(0, init_std), dense kernels Glorot-uniform, dense biases zero.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from reclearn.configs import BPRConfig, GMFConfig, MLPConfig, NeuMFConfig, NeuralCFConfig
from reclearn.models.init import glorot, normal
from reclearn.models.torch.layers import dense, embedding, factor_embeddings


class FactorNetwork(nn.Module):
    """User and item vectors p_u, q_i of length k, drawn from N(0, init_std) in turn.

    The start of NeuralCF, GMF, MLP and BPR-MF: ``embed`` looks up a batch's vectors,
    ``penalty`` is the mean of their squared norms, ``score_all`` runs the network on
    every item.

    Args:
        num_users: Number of user indices.
        num_items: Number of item indices.
        k: Length of every vector.
        config: Shared hyper-parameters (``init_std`` among them).
        rng: NumPy generator that draws the initial weights, so both twins start equal.

    Introduced in chapter "Deep collaborative filtering".
    """

    def __init__(
        self, num_users: int, num_items: int, k: int, config, rng: np.random.Generator
    ) -> None:
        super().__init__()
        self.config = config
        self.user_embedding, self.item_embedding = factor_embeddings(
            rng, config.init_std, num_users, num_items, k
        )

    def embed(self, users: torch.Tensor, items: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The vectors a batch touches: p_u, q_i of shape (batch, k)."""
        p_u = self.user_embedding(users)
        q_i = self.item_embedding(items)
        return p_u, q_i

    def penalty(self, p_u, q_i) -> torch.Tensor:
        """Mean over the batch of ||p_u||^2 + ||q_i||^2."""
        return ((p_u**2).sum(dim=-1) + (q_i**2).sum(dim=-1)).mean()

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """The network's output for every item, shape (batch, num_items)."""
        return _all_pairs(self, users, self.item_embedding.weight.shape[0])


class NeuralCF(FactorNetwork):
    """r_hat = mu + MLP([p_u ; q_i]): a rating regressor with a ReLU tower.

    Args:
        num_users: Number of user indices.
        num_items: Number of item indices.
        config: Shared hyper-parameters.
        global_mean: mu, the mean training rating (not trained), so training starts near it.
        rng: NumPy generator that draws the initial weights, so both twins start equal.

    Introduced in chapter "Deep collaborative filtering".
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        config: NeuralCFConfig,
        global_mean: float,
        rng: np.random.Generator,
    ) -> None:
        k = config.num_factors
        super().__init__(num_users, num_items, k, config, rng)
        self.global_mean = float(global_mean)
        self.num_hidden = _add_tower(self, rng, 2 * k, config.hidden)
        self.prediction = dense(glorot(rng, config.hidden[-1], 1))

    def forward(
        self, users: torch.Tensor, items: torch.Tensor, training: bool = False
    ) -> torch.Tensor:
        """Predicted ratings, shape (batch,), for index tensors of shape (batch,)."""
        p_u, q_i = self.embed(users, items)
        return self.predict_from(p_u, q_i, training)

    def predict_from(self, p_u, q_i, training: bool = False) -> torch.Tensor:
        """mu + MLP([p_u ; q_i]), shape (batch,)."""
        h = _tower(self, torch.cat([p_u, q_i], dim=-1), self.config.dropout, training)
        return self.global_mean + self.prediction(h).squeeze(-1)

    def objective(
        self, users: torch.Tensor, items: torch.Tensor, ratings: torch.Tensor
    ) -> torch.Tensor:
        """Mean squared error on the batch plus l2 times the penalty."""
        p_u, q_i = self.embed(users, items)
        error = self.predict_from(p_u, q_i, training=True) - ratings
        return (error**2).mean() + self.config.l2 * self.penalty(p_u, q_i)


class GMF(FactorNetwork):
    """Generalised matrix factorisation: logit = h . (p_u * q_i) + b.

    Args:
        num_users: Number of user indices.
        num_items: Number of item indices.
        config: Shared hyper-parameters.
        rng: NumPy generator that draws the initial weights, so both twins start equal.

    Introduced in chapter "Deep collaborative filtering".
    """

    def __init__(
        self, num_users: int, num_items: int, config: GMFConfig, rng: np.random.Generator
    ) -> None:
        super().__init__(num_users, num_items, config.num_factors, config, rng)
        self.prediction = dense(glorot(rng, config.num_factors, 1))

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Logits of an interaction, shape (batch,), for index tensors of shape (batch,)."""
        return self.predict_from(*self.embed(users, items))

    def predict_from(self, p_u, q_i) -> torch.Tensor:
        """h . (p_u * q_i) + b, shape (batch,)."""
        return self.prediction(p_u * q_i).squeeze(-1)

    def objective(
        self, users: torch.Tensor, items: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """Mean binary cross-entropy of the logits plus l2 times the penalty."""
        return _log_loss_objective(self, users, items, labels)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """Logits of every item, shape (batch, num_items)."""
        p_u = self.user_embedding(users)  # (batch, k)
        h = self.prediction.weight.squeeze(0)  # (k,)
        return (p_u * h) @ self.item_embedding.weight.T + self.prediction.bias


class MLP(FactorNetwork):
    """The MLP tower of NCF: logit = MLP([p_u ; q_i]), vectors of length hidden[0] // 2.

    Takes the arguments of :class:`GMF`.

    Introduced in chapter "Deep collaborative filtering".
    """

    def __init__(
        self, num_users: int, num_items: int, config: MLPConfig, rng: np.random.Generator
    ) -> None:
        d = config.hidden[0] // 2
        super().__init__(num_users, num_items, d, config, rng)
        self.num_hidden = _add_tower(self, rng, 2 * d, config.hidden)
        self.prediction = dense(glorot(rng, config.hidden[-1], 1))

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Logits of an interaction, shape (batch,), for index tensors of shape (batch,)."""
        return self.predict_from(*self.embed(users, items))

    def predict_from(self, p_u, q_i) -> torch.Tensor:
        """MLP([p_u ; q_i]), shape (batch,)."""
        h = _tower(self, torch.cat([p_u, q_i], dim=-1))
        return self.prediction(h).squeeze(-1)

    def objective(
        self, users: torch.Tensor, items: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """Mean binary cross-entropy of the logits plus l2 times the penalty."""
        return _log_loss_objective(self, users, items, labels)


class NeuMF(nn.Module):
    """NeuMF: logit = h . [p_u * q_i ; MLP([p'_u ; q'_i])] + b, with separate vectors.

    Takes the arguments of :class:`GMF`. :meth:`load_pretrained` starts it from a
    trained GMF and MLP, as the paper does.

    Introduced in chapter "Deep collaborative filtering".
    """

    def __init__(
        self, num_users: int, num_items: int, config: NeuMFConfig, rng: np.random.Generator
    ) -> None:
        super().__init__()
        k, d = config.num_factors, config.hidden[0] // 2
        self.config = config
        self.gmf_user_embedding = embedding(normal(rng, config.init_std, (num_users, k)))
        self.gmf_item_embedding = embedding(normal(rng, config.init_std, (num_items, k)))
        self.mlp_user_embedding = embedding(normal(rng, config.init_std, (num_users, d)))
        self.mlp_item_embedding = embedding(normal(rng, config.init_std, (num_items, d)))
        self.num_hidden = _add_tower(self, rng, 2 * d, config.hidden)
        self.prediction = dense(glorot(rng, k + config.hidden[-1], 1))

    def embed(self, users: torch.Tensor, items: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The vectors a batch touches: GMF's p_u, q_i and the MLP's p'_u, q'_i."""
        p_u = self.gmf_user_embedding(users)
        q_i = self.gmf_item_embedding(items)
        mlp_p_u = self.mlp_user_embedding(users)
        mlp_q_i = self.mlp_item_embedding(items)
        return p_u, q_i, mlp_p_u, mlp_q_i

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Logits of an interaction, shape (batch,), for index tensors of shape (batch,)."""
        return self.predict_from(*self.embed(users, items))

    def predict_from(self, p_u, q_i, mlp_p_u, mlp_q_i) -> torch.Tensor:
        """h . [p_u * q_i ; MLP([p'_u ; q'_i])] + b, shape (batch,)."""
        h_mlp = _tower(self, torch.cat([mlp_p_u, mlp_q_i], dim=-1))
        return self.prediction(torch.cat([p_u * q_i, h_mlp], dim=-1)).squeeze(-1)

    def penalty(self, p_u, q_i, mlp_p_u, mlp_q_i) -> torch.Tensor:
        """Mean over the batch of the squared norms of the four vectors."""
        squares = (p_u**2).sum(dim=-1) + (q_i**2).sum(dim=-1)
        squares = squares + (mlp_p_u**2).sum(dim=-1) + (mlp_q_i**2).sum(dim=-1)
        return squares.mean()

    def objective(
        self, users: torch.Tensor, items: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """Mean binary cross-entropy of the logits plus l2 times the penalty."""
        return _log_loss_objective(self, users, items, labels)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """Logits of every item, shape (batch, num_items)."""
        return _all_pairs(self, users, self.gmf_item_embedding.weight.shape[0])

    @torch.no_grad()
    def load_pretrained(self, gmf: GMF, mlp: MLP, alpha: float) -> None:
        """Start from a trained GMF and MLP; the output layer becomes
        [alpha * h_gmf ; (1 - alpha) * h_mlp], its bias alpha * b_gmf + (1 - alpha) * b_mlp
        (He et al. 2017, section 3.4.1)."""
        self.gmf_user_embedding.weight.copy_(gmf.user_embedding.weight)
        self.gmf_item_embedding.weight.copy_(gmf.item_embedding.weight)
        self.mlp_user_embedding.weight.copy_(mlp.user_embedding.weight)
        self.mlp_item_embedding.weight.copy_(mlp.item_embedding.weight)
        for layer in range(self.num_hidden):
            ours, theirs = getattr(self, f"hidden_{layer}"), getattr(mlp, f"hidden_{layer}")
            ours.weight.copy_(theirs.weight)
            ours.bias.copy_(theirs.bias)
        self.prediction.weight.copy_(
            torch.cat([alpha * gmf.prediction.weight, (1 - alpha) * mlp.prediction.weight], -1)
        )
        self.prediction.bias.copy_(alpha * gmf.prediction.bias + (1 - alpha) * mlp.prediction.bias)


class BPRMF(FactorNetwork):
    """BPR-MF: x_ui = p_u . q_i + b_i, trained on pairs (positive i, negative j).

    Takes the arguments of :class:`GMF`. Its objective takes a (batch, n) array of
    negatives j per positive i instead of labels, and ``embed`` looks up either; the
    item biases b_i start at zero.

    Introduced in chapter "Deep collaborative filtering".
    """

    def __init__(
        self, num_users: int, num_items: int, config: BPRConfig, rng: np.random.Generator
    ) -> None:
        super().__init__(num_users, num_items, config.num_factors, config, rng)
        self.item_bias = embedding(np.zeros((num_items, 1), np.float32))

    def embed(self, users: torch.Tensor, items: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """p_u of shape (batch, k); q_i of shape items.shape + (k,); b_i of items.shape."""
        p_u = self.user_embedding(users)
        q_i = self.item_embedding(items)
        b_i = self.item_bias(items).squeeze(-1)
        return p_u, q_i, b_i

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Scores x_ui, shape (batch,), for index tensors of shape (batch,)."""
        p_u, q_i, b_i = self.embed(users, items)
        return (p_u * q_i).sum(dim=-1) + b_i

    def penalty(self, p_u, q_i, b_i, q_j, b_j) -> torch.Tensor:
        """Batch mean of ||p_u||^2 + ||q_i||^2 + b_i^2 + sum_j (||q_j||^2 + b_j^2)."""
        squares = (p_u**2).sum(dim=-1) + (q_i**2).sum(dim=-1) + b_i**2
        squares = squares + (q_j**2).sum(dim=(-2, -1)) + (b_j**2).sum(dim=-1)
        return squares.mean()

    def objective(
        self, users: torch.Tensor, items: torch.Tensor, negatives: torch.Tensor
    ) -> torch.Tensor:
        """Mean of -log sigmoid(x_ui - x_uj) over the batch's (batch, n) negatives j,
        plus l2 times the penalty."""
        p_u, q_i, b_i = self.embed(users, items)
        _, q_j, b_j = self.embed(users, negatives)  # (batch, n, k), (batch, n)
        x_ui = (p_u * q_i).sum(dim=-1) + b_i  # (batch,)
        x_uj = (p_u.unsqueeze(1) * q_j).sum(dim=-1) + b_j  # (batch, n)
        ranking = F.softplus(x_uj - x_ui.unsqueeze(1)).mean()  # -log sigmoid(x_ui - x_uj)
        return ranking + self.config.l2 * self.penalty(p_u, q_i, b_i, q_j, b_j)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """Scores of every item, shape (batch, num_items)."""
        p_u = self.user_embedding(users)  # (batch, k)
        return p_u @ self.item_embedding.weight.T + self.item_bias.weight.squeeze(-1)


def _log_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy from logits: softplus(x) - y x (stable for any x)."""
    return (F.softplus(logits) - labels * logits).mean()


def _log_loss_objective(network, users, items, labels) -> torch.Tensor:
    """Log loss of ``network.predict_from`` plus l2 times ``network.penalty``."""
    vectors = network.embed(users, items)
    logits = network.predict_from(*vectors)
    return _log_loss(logits, labels) + network.config.l2 * network.penalty(*vectors)


def _add_tower(
    network,
    rng: np.random.Generator,
    width: int,
    hidden: tuple[int, ...],
) -> int:
    """Attach layers ``hidden_0``, ``hidden_1``, ... of the given widths; count them."""
    for layer, out in enumerate(hidden):
        setattr(network, f"hidden_{layer}", dense(glorot(rng, width, out)))
        width = out
    return len(hidden)


def _tower(network, h: torch.Tensor, dropout: float = 0.0, training: bool = False):
    """The ReLU layers ``hidden_0``, ``hidden_1``, ... in turn (with dropout)."""
    for layer in range(network.num_hidden):
        h = torch.relu(getattr(network, f"hidden_{layer}")(h))
        if dropout and training:
            h = F.dropout(h, dropout, training=True)
    return h


def _all_pairs(network, users: torch.Tensor, num_items: int) -> torch.Tensor:
    """network(user, item) for every item, shape (batch, num_items)."""
    items = torch.arange(num_items, device=users.device)
    scores = network(users.repeat_interleave(num_items), items.repeat(len(users)))
    return scores.reshape(len(users), num_items)
