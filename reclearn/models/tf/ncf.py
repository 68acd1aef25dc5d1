"""Neural collaborative filtering in TensorFlow/Keras 3 (twin of ``reclearn/models/torch/ncf.py``).

Every initial weight is drawn from a NumPy generator in the same order as in the twin:
embeddings from N(0, init_std), dense kernels Glorot-uniform, dense biases zero.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from reclearn.configs import BPRConfig, GMFConfig, MLPConfig, NeuMFConfig, NeuralCFConfig
from reclearn.models.init import glorot, normal
from reclearn.models.tf.layers import dense, embedding, factor_embeddings


class FactorNetwork(keras.Model):
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

    def embed(self, users, items) -> tuple:
        """The vectors a batch touches: p_u, q_i of shape (batch, k)."""
        p_u = self.user_embedding(users)
        q_i = self.item_embedding(items)
        return p_u, q_i

    def penalty(self, p_u, q_i):
        """Mean over the batch of ||p_u||^2 + ||q_i||^2."""
        return ops.mean(ops.sum(p_u**2, axis=-1) + ops.sum(q_i**2, axis=-1))

    def score_all(self, users):
        """The network's output for every item, shape (batch, num_items)."""
        return _all_pairs(self, users, self.item_embedding.input_dim)


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
        self.prediction = dense(glorot(rng, config.hidden[-1], 1), "prediction")
        # dropout draws from its own seeded stream (PyTorch uses torch.manual_seed)
        self.dropout_seed = keras.random.SeedGenerator(config.seed)

    def call(self, users, items, training: bool = False):
        """Predicted ratings, shape (batch,), for index tensors of shape (batch,)."""
        p_u, q_i = self.embed(users, items)
        return self.predict_from(p_u, q_i, training)

    def predict_from(self, p_u, q_i, training: bool = False):
        """mu + MLP([p_u ; q_i]), shape (batch,)."""
        h = ops.concatenate([p_u, q_i], axis=-1)
        h = _tower(self, h, self.config.dropout, training, self.dropout_seed)
        return self.global_mean + ops.squeeze(self.prediction(h), -1)

    def objective(self, users, items, ratings):
        """Mean squared error on the batch plus l2 times the penalty."""
        p_u, q_i = self.embed(users, items)
        error = self.predict_from(p_u, q_i, training=True) - ratings
        return ops.mean(error**2) + self.config.l2 * self.penalty(p_u, q_i)


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
        self.prediction = dense(glorot(rng, config.num_factors, 1), "prediction")

    def call(self, users, items):
        """Logits of an interaction, shape (batch,), for index tensors of shape (batch,)."""
        return self.predict_from(*self.embed(users, items))

    def predict_from(self, p_u, q_i):
        """h . (p_u * q_i) + b, shape (batch,)."""
        return ops.squeeze(self.prediction(p_u * q_i), -1)

    def objective(self, users, items, labels):
        """Mean binary cross-entropy of the logits plus l2 times the penalty."""
        return _log_loss_objective(self, users, items, labels)

    def score_all(self, users):
        """Logits of every item, shape (batch, num_items)."""
        p_u = self.user_embedding(users)  # (batch, k)
        h = ops.squeeze(self.prediction.kernel, -1)  # (k,)
        return (p_u * h) @ ops.transpose(self.item_embedding.embeddings) + self.prediction.bias


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
        self.prediction = dense(glorot(rng, config.hidden[-1], 1), "prediction")

    def call(self, users, items):
        """Logits of an interaction, shape (batch,), for index tensors of shape (batch,)."""
        return self.predict_from(*self.embed(users, items))

    def predict_from(self, p_u, q_i):
        """MLP([p_u ; q_i]), shape (batch,)."""
        h = _tower(self, ops.concatenate([p_u, q_i], axis=-1))
        return ops.squeeze(self.prediction(h), -1)

    def objective(self, users, items, labels):
        """Mean binary cross-entropy of the logits plus l2 times the penalty."""
        return _log_loss_objective(self, users, items, labels)


class NeuMF(keras.Model):
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
        self.gmf_user_embedding = embedding(
            normal(rng, config.init_std, (num_users, k)), "gmf_user_embedding"
        )
        self.gmf_item_embedding = embedding(
            normal(rng, config.init_std, (num_items, k)), "gmf_item_embedding"
        )
        self.mlp_user_embedding = embedding(
            normal(rng, config.init_std, (num_users, d)), "mlp_user_embedding"
        )
        self.mlp_item_embedding = embedding(
            normal(rng, config.init_std, (num_items, d)), "mlp_item_embedding"
        )
        self.num_hidden = _add_tower(self, rng, 2 * d, config.hidden)
        self.prediction = dense(glorot(rng, k + config.hidden[-1], 1), "prediction")

    def embed(self, users, items) -> tuple:
        """The vectors a batch touches: GMF's p_u, q_i and the MLP's p'_u, q'_i."""
        p_u = self.gmf_user_embedding(users)
        q_i = self.gmf_item_embedding(items)
        mlp_p_u = self.mlp_user_embedding(users)
        mlp_q_i = self.mlp_item_embedding(items)
        return p_u, q_i, mlp_p_u, mlp_q_i

    def call(self, users, items):
        """Logits of an interaction, shape (batch,), for index tensors of shape (batch,)."""
        return self.predict_from(*self.embed(users, items))

    def predict_from(self, p_u, q_i, mlp_p_u, mlp_q_i):
        """h . [p_u * q_i ; MLP([p'_u ; q'_i])] + b, shape (batch,)."""
        h_mlp = _tower(self, ops.concatenate([mlp_p_u, mlp_q_i], axis=-1))
        h = ops.concatenate([p_u * q_i, h_mlp], axis=-1)
        return ops.squeeze(self.prediction(h), -1)

    def penalty(self, p_u, q_i, mlp_p_u, mlp_q_i):
        """Mean over the batch of the squared norms of the four vectors."""
        squares = ops.sum(p_u**2, axis=-1) + ops.sum(q_i**2, axis=-1)
        squares = squares + ops.sum(mlp_p_u**2, axis=-1) + ops.sum(mlp_q_i**2, axis=-1)
        return ops.mean(squares)

    def objective(self, users, items, labels):
        """Mean binary cross-entropy of the logits plus l2 times the penalty."""
        return _log_loss_objective(self, users, items, labels)

    def score_all(self, users):
        """Logits of every item, shape (batch, num_items)."""
        return _all_pairs(self, users, self.gmf_item_embedding.input_dim)

    def load_pretrained(self, gmf: GMF, mlp: MLP, alpha: float) -> None:
        """Start from a trained GMF and MLP; the output layer becomes
        [alpha * h_gmf ; (1 - alpha) * h_mlp], its bias alpha * b_gmf + (1 - alpha) * b_mlp
        (He et al. 2017, section 3.4.1)."""
        self.gmf_user_embedding.embeddings.assign(gmf.user_embedding.embeddings)
        self.gmf_item_embedding.embeddings.assign(gmf.item_embedding.embeddings)
        self.mlp_user_embedding.embeddings.assign(mlp.user_embedding.embeddings)
        self.mlp_item_embedding.embeddings.assign(mlp.item_embedding.embeddings)
        for layer in range(self.num_hidden):
            ours, theirs = getattr(self, f"hidden_{layer}"), getattr(mlp, f"hidden_{layer}")
            ours.kernel.assign(theirs.kernel)
            ours.bias.assign(theirs.bias)
        self.prediction.kernel.assign(
            ops.concatenate([alpha * gmf.prediction.kernel, (1 - alpha) * mlp.prediction.kernel], 0)
        )
        self.prediction.bias.assign(alpha * gmf.prediction.bias + (1 - alpha) * mlp.prediction.bias)


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
        self.item_bias = embedding(np.zeros((num_items, 1), np.float32), "item_bias")

    def embed(self, users, items) -> tuple:
        """p_u of shape (batch, k); q_i of shape items.shape + (k,); b_i of items.shape."""
        p_u = self.user_embedding(users)
        q_i = self.item_embedding(items)
        b_i = ops.squeeze(self.item_bias(items), -1)
        return p_u, q_i, b_i

    def call(self, users, items):
        """Scores x_ui, shape (batch,), for index tensors of shape (batch,)."""
        p_u, q_i, b_i = self.embed(users, items)
        return ops.sum(p_u * q_i, axis=-1) + b_i

    def penalty(self, p_u, q_i, b_i, q_j, b_j):
        """Batch mean of ||p_u||^2 + ||q_i||^2 + b_i^2 + sum_j (||q_j||^2 + b_j^2)."""
        squares = ops.sum(p_u**2, axis=-1) + ops.sum(q_i**2, axis=-1) + b_i**2
        squares = squares + ops.sum(q_j**2, axis=(-2, -1)) + ops.sum(b_j**2, axis=-1)
        return ops.mean(squares)

    def objective(self, users, items, negatives):
        """Mean of -log sigmoid(x_ui - x_uj) over the batch's (batch, n) negatives j,
        plus l2 times the penalty."""
        p_u, q_i, b_i = self.embed(users, items)
        _, q_j, b_j = self.embed(users, negatives)  # (batch, n, k), (batch, n)
        x_ui = ops.sum(p_u * q_i, axis=-1) + b_i  # (batch,)
        x_uj = ops.sum(ops.expand_dims(p_u, 1) * q_j, axis=-1) + b_j  # (batch, n)
        ranking = ops.mean(ops.softplus(x_uj - ops.expand_dims(x_ui, 1)))  # -log sigmoid
        return ranking + self.config.l2 * self.penalty(p_u, q_i, b_i, q_j, b_j)

    def score_all(self, users):
        """Scores of every item, shape (batch, num_items)."""
        p_u = self.user_embedding(users)  # (batch, k)
        item_terms = ops.squeeze(self.item_bias.embeddings, -1)  # (num_items,)
        return p_u @ ops.transpose(self.item_embedding.embeddings) + item_terms


def _log_loss(logits, labels):
    """Mean binary cross-entropy from logits: softplus(x) - y x (stable for any x)."""
    return ops.mean(ops.softplus(logits) - labels * logits)


def _log_loss_objective(network, users, items, labels):
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
        name = f"hidden_{layer}"
        setattr(network, name, dense(glorot(rng, width, out), name))
        width = out
    return len(hidden)


def _tower(network, h, dropout: float = 0.0, training: bool = False, seed=None):
    """The ReLU layers ``hidden_0``, ``hidden_1``, ... in turn (with dropout)."""
    for layer in range(network.num_hidden):
        h = ops.relu(getattr(network, f"hidden_{layer}")(h))
        if dropout and training:
            h = keras.random.dropout(h, dropout, seed=seed)
    return h


def _all_pairs(network, users, num_items: int):
    """network(user, item) for every item, shape (batch, num_items)."""
    batch = ops.shape(users)[0]
    items = ops.arange(num_items, dtype=users.dtype)
    scores = network(ops.repeat(users, num_items), ops.tile(items, [batch]))
    return ops.reshape(scores, (batch, num_items))
