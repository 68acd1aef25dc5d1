"""Autoencoders for collaborative filtering in PyTorch (twin of
``reclearn/models/tf/autoencoder.py``).

Every initial weight is drawn from a NumPy generator in the same order as in the twin:
dense kernels Glorot-uniform, dense biases zero. The input vectors (AutoRec's item
ratings, the Mult models' user clicks) are frozen tables set after training data is
known, so they are saved with the weights.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from reclearn.configs import AutoRecConfig, MultDAEConfig
from reclearn.models.init import glorot
from reclearn.models.torch.layers import dense, embedding


def frozen_table(rows: int, columns: int) -> nn.Embedding:
    """A table of zeros, shape (rows, columns), that training never changes."""
    table = embedding(np.zeros((rows, columns), np.float32))
    table.weight.requires_grad_(False)
    return table


class AutoRec(nn.Module):
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
        self.ratings = frozen_table(num_items, num_users)  # r_i, zeros where unobserved
        self.observed = frozen_table(num_items, num_users)  # 1 where r_ui is observed
        self.encoder = dense(glorot(rng, num_users, config.num_hidden))
        self.decoder = dense(glorot(rng, config.num_hidden, num_users))

    def reconstruct(self, items: torch.Tensor) -> torch.Tensor:
        """The items' reconstructed rating vectors, shape (batch, num_users)."""
        r_i = self.ratings(items)
        return self.global_mean + self.decoder(torch.sigmoid(self.encoder(r_i)))

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Predicted ratings, shape (batch,): entry u of item i's reconstruction."""
        unique, position = torch.unique(items, return_inverse=True)
        return self.reconstruct(unique)[position, users]

    def penalty(self) -> torch.Tensor:
        """||V||^2 + ||W||^2 (the kernels; biases are not penalised)."""
        return (self.encoder.weight**2).sum() + (self.decoder.weight**2).sum()

    def objective(self, items: torch.Tensor) -> torch.Tensor:
        """Mean squared error over the observed ratings of the batch's items plus l2
        times the penalty; unobserved entries add nothing."""
        mask = self.observed(items)
        error = (self.reconstruct(items) - self.ratings(items)) * mask
        squared = (error**2).sum() / mask.sum().clamp(min=1.0)
        return squared + self.config.l2 * self.penalty()

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """Predicted ratings of every item, shape (batch, num_items)."""
        items = torch.arange(self.ratings.weight.shape[0], device=users.device)
        return self.reconstruct(items)[:, users].T


class MultDAE(nn.Module):
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
        self.clicks = frozen_table(num_users, num_items)  # x_u: 1 per interaction
        widths = (num_items, *config.hidden)
        outputs = (*config.hidden[:-1], self.latent_factor * config.hidden[-1])
        decoder = tuple(reversed(widths))
        self.num_layers = len(config.hidden)
        for layer in range(self.num_layers):
            kernel = glorot(rng, widths[layer], outputs[layer])
            setattr(self, f"encoder_{layer}", dense(kernel))
        for layer in range(self.num_layers):
            kernel = glorot(rng, decoder[layer], decoder[layer + 1])
            setattr(self, f"decoder_{layer}", dense(kernel))

    def inputs(self, users: torch.Tensor, training: bool = False) -> torch.Tensor:
        """x_u / ||x_u||, dropped out when training, shape (batch, num_items)."""
        x_u = F.normalize(self.clicks(users), dim=-1)
        if training and self.config.dropout:
            x_u = F.dropout(x_u, self.config.dropout, training=True)
        return x_u

    def encode(self, x_u: torch.Tensor) -> torch.Tensor:
        """The encoder's output, tanh after every layer but a Mult-VAE's last."""
        h = x_u
        for layer in range(self.num_layers):
            h = getattr(self, f"encoder_{layer}")(h)
            if layer < self.num_layers - 1 or self.latent_factor == 1:
                h = torch.tanh(h)
        return h

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Logits of every item, shape (batch, num_items), tanh after all but the last."""
        h = z
        for layer in range(self.num_layers):
            h = getattr(self, f"decoder_{layer}")(h)
            if layer < self.num_layers - 1:
                h = torch.tanh(h)
        return h

    def penalty(self) -> torch.Tensor:
        """Sum of the squared kernel entries of every layer."""
        kernels = [m.weight for m in self.modules() if isinstance(m, nn.Linear)]
        return sum((kernel**2).sum() for kernel in kernels)

    def score_inputs(self, clicks: torch.Tensor) -> torch.Tensor:
        """Logits of every item for users given by their click vectors (batch,
        num_items), no dropout: how users unseen in training are scored."""
        return self.decode(self.encode(F.normalize(clicks, dim=-1))[..., : self.latent])

    @property
    def latent(self) -> int:
        """Length of z (the last width of ``hidden``)."""
        return self.config.hidden[-1]

    def objective(self, users: torch.Tensor) -> torch.Tensor:
        """Minus the multinomial log-likelihood, averaged over the batch, plus l2 times
        the penalty."""
        logits = self.decode(self.encode(self.inputs(users, training=True)))
        loss = multinomial_loss(logits, self.clicks(users))
        return loss + self.config.l2 * self.penalty()

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
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

    def objective(self, users: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        """Minus the ELBO with the KL term weighted by beta (one value per row, all
        equal), averaged over the batch, plus l2 times the penalty."""
        h = self.encode(self.inputs(users, training=True))
        mu, log_var = h[:, : self.latent], h[:, self.latent :]
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * log_var)
        loss = multinomial_loss(self.decode(z), self.clicks(users))
        kl = kl_divergence(mu, log_var)
        return loss + beta.mean() * kl + self.config.l2 * self.penalty()


def multinomial_loss(logits: torch.Tensor, x_u: torch.Tensor) -> torch.Tensor:
    """-sum_i x_ui log softmax(logits)_i, averaged over the batch."""
    return -(F.log_softmax(logits, dim=-1) * x_u).sum(dim=-1).mean()


def kl_divergence(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(log_var)) || N(0, I)), averaged over the batch.

    Per user: 1/2 sum_k (exp(log_var) + mu^2 - 1 - log_var).
    """
    return 0.5 * (torch.exp(log_var) + mu**2 - 1.0 - log_var).sum(dim=-1).mean()
