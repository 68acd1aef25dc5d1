"""Factorization machines and DeepFM in TensorFlow/Keras 3 (twin of
``reclearn/models/torch/fm.py``).

Every initial weight is drawn from a NumPy generator in the same order as in the twin:
factor vectors from N(0, init_std), linear weights zero, dense kernels Glorot-uniform,
dense biases zero.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from reclearn.configs import FMConfig
from reclearn.features import FeatureTables
from reclearn.models.init import glorot, normal
from reclearn.models.tf.layers import dense, embedding


def pairwise_interactions(vx):
    """sum_{j<l} <v_j x_j, v_l x_l> in O(mk): 0.5 * ((sum vx)^2 - sum (vx)^2), summed
    over the k factors; ``vx`` has shape (batch, m, k), the result (batch,)."""
    square_of_sum = ops.sum(vx, axis=1) ** 2  # (batch, k)
    sum_of_squares = ops.sum(vx**2, axis=1)  # (batch, k)
    return 0.5 * ops.sum(square_of_sum - sum_of_squares, axis=-1)


class FM(keras.Model):
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
        self.factors = embedding(normal(rng, config.init_std, (d, k)), "factors")
        self.linear = embedding(np.zeros((d, 1), np.float32), "linear")
        for name in ("user_index", "user_value", "item_index", "item_value"):
            setattr(self, name, tf.constant(getattr(tables, name)))

    def features(self, users, items) -> tuple:
        """Indices and values of the batch's features, shape (batch, m)."""
        index = ops.concatenate(
            [tf.gather(self.user_index, users), tf.gather(self.item_index, items)], axis=-1
        )
        value = ops.concatenate(
            [tf.gather(self.user_value, users), tf.gather(self.item_value, items)], axis=-1
        )
        return index, value

    def embed(self, users, items) -> tuple:
        """The batch's factor vectors v_j (batch, m, k), weights w_j and values x_j
        (batch, m)."""
        index, x = self.features(users, items)
        return self.factors(index), ops.squeeze(self.linear(index), -1), x

    def call(self, users, items):
        """Scores y, shape (batch,), for index tensors of shape (batch,)."""
        return self.predict_from(*self.embed(users, items))

    def predict_from(self, v, w, x):
        """w_0 + sum_j w_j x_j + the pairwise interactions, shape (batch,)."""
        vx = v * ops.expand_dims(x, -1)
        return self.global_mean + ops.sum(w * x, axis=-1) + pairwise_interactions(vx)

    def penalty(self, v, w, x):
        """Mean over the batch of sum_j (||v_j||^2 + w_j^2) over its features (x_j != 0)."""
        squares = ops.sum(v**2, axis=-1) + w**2  # (batch, m)
        return ops.mean(ops.sum(squares * ops.cast(x != 0, v.dtype), axis=-1))

    def objective(self, users, items, ratings):
        """Mean squared error on the batch plus l2 times the penalty."""
        terms = self.embed(users, items)
        error = self.predict_from(*terms) - ratings
        return ops.mean(error**2) + self.config.l2 * self.penalty(*terms)

    def side(self, index, x) -> tuple:
        """One side's (user's or item's) part of y: sum_j w_j x_j plus its interactions
        within, shape (rows,); s = sum_j v_j x_j, shape (rows, k); v_j x_j, (rows, m, k)."""
        vx = self.factors(index) * ops.expand_dims(x, -1)
        wx = ops.squeeze(self.linear(index), -1) * x
        return ops.sum(wx, axis=-1) + pairwise_interactions(vx), ops.sum(vx, axis=1), vx

    def score_all(self, users):
        """Scores of every item, shape (batch, num_items): the interactions across the
        user and item sides are s_u . s_i, so all items cost one matrix product."""
        user_index = tf.gather(self.user_index, users)
        user_value = tf.gather(self.user_value, users)
        within_u, s_u, _ = self.side(user_index, user_value)
        within_i, s_i, _ = self.side(self.item_index, self.item_value)
        return (
            self.global_mean
            + ops.expand_dims(within_u, 1)
            + within_i
            + ops.matmul(s_u, ops.transpose(s_i))
        )


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
        self.prediction = dense(glorot(rng, config.hidden[-1], 1), "prediction")
        self.pool = _pool(tables)

    def predict_from(self, v, w, x):
        """FM(x) + MLP(field vectors), shape (batch,)."""
        vx = v * ops.expand_dims(x, -1)
        fields = _flatten(ops.einsum("bmk,mf->bfk", vx, self.pool))  # (batch, F k)
        deep = ops.squeeze(self.prediction(_tower(self, fields)), -1)
        return super().predict_from(v, w, x) + deep

    def score_all(self, users):
        """Scores of every item, shape (batch, num_items); the first layer of the tower
        is applied to each side's field vectors once, then summed per pair."""
        fm = super().score_all(users)
        user_index = tf.gather(self.user_index, users)
        user_value = tf.gather(self.user_value, users)
        *_, vx_u = self.side(user_index, user_value)
        *_, vx_i = self.side(self.item_index, self.item_value)
        m_u, f_u = vx_u.shape[1], self.num_user_fields
        e_u = _flatten(ops.einsum("bmk,mf->bfk", vx_u, self.pool[:m_u, :f_u]))
        e_i = _flatten(ops.einsum("bmk,mf->bfk", vx_i, self.pool[m_u:, f_u:]))
        kernel = self.hidden_0.kernel  # (F k, hidden[0])
        h_u = ops.matmul(e_u, kernel[: e_u.shape[1]])  # (batch, hidden[0])
        h_i = ops.matmul(e_i, kernel[e_u.shape[1] :]) + self.hidden_0.bias  # (num_items, h)
        h = ops.relu(ops.expand_dims(h_u, 1) + h_i)  # (batch, num_items, hidden[0])
        h = _tower(self, h, first=1)
        return fm + ops.squeeze(self.prediction(h), -1)


class FMRank(FM):
    """An FM scoring interactions: logits trained with log loss on sampled negatives.

    Takes the arguments of :class:`FM`.

    Introduced in chapter "Feature-rich models: factorization machines and DeepFM".
    """

    def objective(self, users, items, labels):
        """Mean binary cross-entropy of the logits plus l2 times the penalty."""
        return _log_loss_objective(self, users, items, labels)


class DeepFMRank(DeepFM):
    """DeepFM scoring interactions: logits trained with log loss on sampled negatives.

    Takes the arguments of :class:`FM`.

    Introduced in chapter "Feature-rich models: factorization machines and DeepFM".
    """

    def objective(self, users, items, labels):
        """Mean binary cross-entropy of the logits plus l2 times the penalty."""
        return _log_loss_objective(self, users, items, labels)


def _log_loss_objective(network, users, items, labels):
    """Mean softplus(y) - label y (log loss from logits) plus l2 times the penalty."""
    terms = network.embed(users, items)
    logits = network.predict_from(*terms)
    loss = ops.mean(ops.softplus(logits) - labels * logits)
    return loss + network.config.l2 * network.penalty(*terms)


def _pool(tables: FeatureTables):
    """(m, F) one-hot matrix of each slot's field, user slots first."""
    slot_field = np.concatenate([tables.user_field, tables.item_field])
    return tf.constant(np.eye(len(tables.fields), dtype=np.float32)[slot_field])


def _flatten(fields):
    """(batch, F, k) -> (batch, F k)."""
    return ops.reshape(fields, (ops.shape(fields)[0], -1))


def _add_tower(network, rng: np.random.Generator, width: int, hidden: tuple[int, ...]) -> int:
    """Attach layers ``hidden_0``, ``hidden_1``, ... of the given widths; return their number."""
    for layer, out in enumerate(hidden):
        setattr(network, f"hidden_{layer}", dense(glorot(rng, width, out), f"hidden_{layer}"))
        width = out
    return len(hidden)


def _tower(network, h, first: int = 0):
    """The ReLU layers ``hidden_<first>``, ``hidden_<first + 1>``, ... applied in turn."""
    for layer in range(first, network.num_hidden):
        h = ops.relu(getattr(network, f"hidden_{layer}")(h))
    return h
