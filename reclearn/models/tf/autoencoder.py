"""Autoencoders for collaborative filtering in TensorFlow (twin of
``reclearn/models/torch/autoencoder.py``).

Every initial weight is drawn from a NumPy generator in the same order as in the twin:
dense kernels Glorot-uniform, dense biases zero. The input vectors (AutoRec's item
ratings, the Mult models' user clicks) are frozen tables set after training data is
known, so they are saved with the weights.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from reclearn.configs import AutoRecConfig, MultDAEConfig
from reclearn.models.init import glorot
from reclearn.models.tf.layers import dense, embedding


def frozen_table(rows: int, columns: int, name: str) -> keras.layers.Embedding:
    """A table of zeros, shape (rows, columns), that training never changes."""
    table = embedding(np.zeros((rows, columns), np.float32), name)
    table.trainable = False
    return table


class AutoRec(keras.Model):
    """I-AutoRec: r_hat_i = mu + W sigmoid(V r_i + b_V) + b_W for item i's ratings r_i.

    Args:
        num_users: Number of user indices (the length of r_i).
        num_items: Number of item indices.
        config: Shared hyper-parameters.
        global_mean: mu, the mean training rating (not trained), so training starts near
            it rather than at zero.
        rng: NumPy generator that draws the initial weights, so both twins start equal.

    Introduced in chapter "Autoencoders".
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        config: AutoRecConfig,
        global_mean: float,
        rng: np.random.Generator,
    ) -> None:
        super().__init__()
        self.config = config
        self.global_mean = float(global_mean)
        self.ratings = frozen_table(num_items, num_users, "ratings")  # zeros: unobserved
        self.observed = frozen_table(num_items, num_users, "observed")  # 1: observed
        self.encoder = dense(glorot(rng, num_users, config.num_hidden), "encoder")
        self.decoder = dense(glorot(rng, config.num_hidden, num_users), "decoder")

    def reconstruct(self, items):
        """The items' reconstructed rating vectors, shape (batch, num_users)."""
        r_i = self.ratings(items)
        return self.global_mean + self.decoder(ops.sigmoid(self.encoder(r_i)))

    def call(self, users, items):
        """Predicted ratings, shape (batch,): entry u of item i's reconstruction."""
        unique, position = tf.unique(items)
        pairs = ops.stack([ops.cast(position, users.dtype), users], axis=-1)
        return tf.gather_nd(self.reconstruct(unique), pairs)

    def penalty(self):
        """||V||^2 + ||W||^2 (the kernels; biases are not penalised)."""
        return ops.sum(self.encoder.kernel**2) + ops.sum(self.decoder.kernel**2)

    def objective(self, items):
        """Mean squared error over the observed ratings of the batch's items plus l2
        times the penalty; unobserved entries add nothing."""
        mask = self.observed(items)
        error = (self.reconstruct(items) - self.ratings(items)) * mask
        squared = ops.sum(error**2) / ops.maximum(ops.sum(mask), 1.0)
        return squared + self.config.l2 * self.penalty()

    def score_all(self, users):
        """Predicted ratings of every item, shape (batch, num_items)."""
        items = ops.arange(self.ratings.input_dim, dtype=users.dtype)
        return ops.transpose(ops.take(self.reconstruct(items), users, axis=1))


class MultDAE(keras.Model):
    """Mult-DAE: logits = decoder(encoder(dropout(x_u / ||x_u||))), tanh between layers.

    Args:
        num_users: Number of user indices.
        num_items: Number of item indices (the length of x_u).
        config: Shared hyper-parameters.
        rng: NumPy generator that draws the initial weights, so both twins start equal.

    Introduced in chapter "Autoencoders".
    """

    latent_factor = 1
    """Outputs of the last encoder layer per latent dimension (Mult-VAE: mean, log
    variance)."""

    def __init__(
        self, num_users: int, num_items: int, config: MultDAEConfig, rng: np.random.Generator
    ) -> None:
        super().__init__()
        self.config = config
        self.clicks = frozen_table(num_users, num_items, "clicks")  # x_u: 1 per interaction
        widths = (num_items, *config.hidden)
        outputs = (*config.hidden[:-1], self.latent_factor * config.hidden[-1])
        decoder = tuple(reversed(widths))
        self.num_layers = len(config.hidden)
        for layer in range(self.num_layers):
            kernel = glorot(rng, widths[layer], outputs[layer])
            setattr(self, f"encoder_{layer}", dense(kernel, f"encoder_{layer}"))
        for layer in range(self.num_layers):
            kernel = glorot(rng, decoder[layer], decoder[layer + 1])
            setattr(self, f"decoder_{layer}", dense(kernel, f"decoder_{layer}"))
        # dropout and z draw from their own seeded stream (PyTorch uses torch.manual_seed)
        self.noise_seed = keras.random.SeedGenerator(config.seed)

    def inputs(self, users, training: bool = False):
        """x_u / ||x_u||, dropped out when training, shape (batch, num_items)."""
        x_u = _normalize(self.clicks(users))
        if training and self.config.dropout:
            x_u = keras.random.dropout(x_u, self.config.dropout, seed=self.noise_seed)
        return x_u

    def encode(self, x_u):
        """The encoder's output, tanh after every layer but a Mult-VAE's last."""
        h = x_u
        for layer in range(self.num_layers):
            h = getattr(self, f"encoder_{layer}")(h)
            if layer < self.num_layers - 1 or self.latent_factor == 1:
                h = ops.tanh(h)
        return h

    def decode(self, z):
        """Logits of every item, shape (batch, num_items), tanh after all but the last."""
        h = z
        for layer in range(self.num_layers):
            h = getattr(self, f"decoder_{layer}")(h)
            if layer < self.num_layers - 1:
                h = ops.tanh(h)
        return h

    def penalty(self):
        """Sum of the squared kernel entries of every layer."""
        kernels = [v for v in self.trainable_variables if v.path.endswith("kernel")]
        return sum(ops.sum(kernel**2) for kernel in kernels)

    def score_inputs(self, clicks):
        """Logits of every item for users given by their click vectors (batch,
        num_items), no dropout: how users unseen in training are scored."""
        return self.decode(self.encode(_normalize(clicks))[..., : self.latent])

    @property
    def latent(self) -> int:
        """Length of z (the last width of ``hidden``)."""
        return self.config.hidden[-1]

    def objective(self, users):
        """Minus the multinomial log-likelihood, averaged over the batch, plus l2 times
        the penalty."""
        logits = self.decode(self.encode(self.inputs(users, training=True)))
        loss = multinomial_loss(logits, self.clicks(users))
        return loss + self.config.l2 * self.penalty()

    def score_all(self, users):
        """Logits of every item, shape (batch, num_items)."""
        return self.score_inputs(self.clicks(users))


class MultVAE(MultDAE):
    """Mult-VAE: q(z|x_u) = N(mu, diag(exp(log_var))) from the encoder; logits =
    decoder(z), z drawn when training and z = mu when scoring.

    Args:
        num_users: Number of user indices.
        num_items: Number of item indices (the length of x_u).
        config: Shared hyper-parameters (a :class:`~reclearn.configs.MultVAEConfig`).
        rng: NumPy generator that draws the initial weights, so both twins start equal.

    Introduced in chapter "Autoencoders".
    """

    latent_factor = 2

    def objective(self, users, beta):
        """Minus the ELBO with the KL term weighted by beta (one value per row, all
        equal), averaged over the batch, plus l2 times the penalty."""
        h = self.encode(self.inputs(users, training=True))
        mu, log_var = h[:, : self.latent], h[:, self.latent :]
        noise = keras.random.normal(ops.shape(mu), seed=self.noise_seed)
        z = mu + noise * ops.exp(0.5 * log_var)
        loss = multinomial_loss(self.decode(z), self.clicks(users))
        kl = kl_divergence(mu, log_var)
        return loss + ops.mean(beta) * kl + self.config.l2 * self.penalty()


def multinomial_loss(logits, x_u):
    """-sum_i x_ui log softmax(logits)_i, averaged over the batch."""
    return -ops.mean(ops.sum(ops.log_softmax(logits, axis=-1) * x_u, axis=-1))


def kl_divergence(mu, log_var):
    """KL(N(mu, exp(log_var)) || N(0, I)), averaged over the batch.

    Per user: 1/2 sum_k (exp(log_var) + mu^2 - 1 - log_var).
    """
    return 0.5 * ops.mean(ops.sum(ops.exp(log_var) + mu**2 - 1.0 - log_var, axis=-1))


def _normalize(x):
    """Rows of ``x`` divided by their Euclidean norm (rows of zeros stay zero)."""
    return x / ops.maximum(ops.sqrt(ops.sum(x**2, axis=-1, keepdims=True)), 1e-12)
