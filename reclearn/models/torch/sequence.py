"""Sequential recommenders in PyTorch (twin of ``reclearn/models/tf/sequence.py``).

A network reads histories of shape (batch, L): item indices shifted by one, 0 for
padding, the latest item last. Every initial weight is drawn from a NumPy generator in
the same order as in the twin: item and position vectors from N(0, init_std), dense
kernels Glorot-uniform, biases zero, layer norms gain one and bias zero.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from reclearn.configs import GRU4RecConfig, SASRecConfig, SequenceConfig
from reclearn.models.init import glorot, normal
from reclearn.models.torch.layers import dense, embedding, layer_norm

MASKED = -1e9
"""Attention logit of a position a query may not see (finite: a padding query that sees
nothing gets uniform weights instead of NaN, and its output is masked anyway)."""


class SequenceNetwork(nn.Module):
    """Item vectors e_i of length d shared by input and output, row 0 for padding.

    The start of GRU4Rec and SASRec: called on a history, a subclass gives one state
    per position; the state h_t at position t scores item i as h_t . e_i.

    Args:
        num_items: Number of item indices.
        config: Shared hyper-parameters.
        rng: NumPy generator that draws the initial weights, so both twins start equal.

    Introduced in chapter "Sequence-aware recommendation".
    """

    def __init__(self, num_items: int, config: SequenceConfig, rng: np.random.Generator):
        super().__init__()
        self.config = config
        d = config.num_factors
        self.item_embedding = embedding(normal(rng, config.init_std, (num_items + 1, d)))

    def embed(self, histories: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Item vectors of a history, (batch, L, d), zero at padding; and the mask of
        real items, (batch, L, 1)."""
        mask = (histories > 0).unsqueeze(-1).to(torch.float32)
        return self.item_embedding(histories) * mask, mask

    def dropout(self, x: torch.Tensor, training: bool) -> torch.Tensor:
        """Dropout at ``config.dropout`` while training."""
        if self.config.dropout and training:
            return F.dropout(x, self.config.dropout, training=True)
        return x

    def score_all(self, histories: torch.Tensor) -> torch.Tensor:
        """Scores of every item after each history, shape (batch, num_items)."""
        h = self(histories)[:, -1]  # (batch, d): the state after the latest item
        return h @ self.item_embedding.weight[1:].T

    def objective(
        self, inputs: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor
    ) -> torch.Tensor:
        """Binary cross-entropy of every position's next item (label 1) and its
        negatives (label 0), averaged over the positions that hold an item.

        Args:
            inputs: Histories, shape (batch, L).
            targets: The item after each position, shape (batch, L); 0 at padding.
            negatives: Items to score low at each position, shape (batch, L, n).
        """
        h = self(inputs, training=True)  # (batch, L, d)
        e_pos = self.item_embedding(targets)  # (batch, L, d)
        e_neg = self.item_embedding(negatives)  # (batch, L, n, d)
        positive = (h * e_pos).sum(dim=-1)  # (batch, L)
        negative = (h.unsqueeze(2) * e_neg).sum(dim=-1)  # (batch, L, n)
        loss = F.softplus(-positive) + F.softplus(negative).sum(dim=-1)
        mask = (targets > 0).to(torch.float32)
        return (loss * mask).sum() / mask.sum().clamp(min=1.0)


class GRU4Rec(SequenceNetwork):
    """GRU4Rec: h_t = GRU(h_{t-1}, e_{s_t}), one state per position; padding keeps
    the state (it starts at zero).

    Gates as in Cho et al. (2014), with the reset gate applied after the hidden
    kernel (PyTorch's and Keras's default): r = sigma(x W_r + h U_r + b_r),
    z = sigma(x W_z + h U_z + b_z), n = tanh(x W_n + b_n + r * (h U_n + c_n)),
    h' = (1 - z) * n + z * h. ``input_gates`` holds [W_r W_z W_n], ``hidden_gates``
    [U_r U_z U_n].

    Takes the arguments of :class:`SequenceNetwork`.

    Introduced in chapter "Sequence-aware recommendation".
    """

    def __init__(self, num_items: int, config: GRU4RecConfig, rng: np.random.Generator):
        super().__init__(num_items, config, rng)
        d = config.num_factors
        self.input_gates = dense(glorot(rng, d, 3 * d))
        self.hidden_gates = dense(glorot(rng, d, 3 * d))

    def forward(self, histories: torch.Tensor, training: bool = False) -> torch.Tensor:
        """States after each position, shape (batch, L, d), for histories (batch, L)."""
        x, mask = self.embed(histories)
        gates_x = self.input_gates(self.dropout(x, training))  # (batch, L, 3d)
        h = x.new_zeros(x.shape[0], x.shape[2])
        states = []
        for t in range(x.shape[1]):
            h = mask[:, t] * self.step(gates_x[:, t], h) + (1 - mask[:, t]) * h
            states.append(h)
        return self.dropout(torch.stack(states, dim=1), training)

    def step(self, gates_x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One GRU step: the new state (batch, d) from x's gate inputs (batch, 3d)."""
        r_x, z_x, n_x = gates_x.chunk(3, dim=-1)
        r_h, z_h, n_h = self.hidden_gates(h).chunk(3, dim=-1)
        r = torch.sigmoid(r_x + r_h)
        z = torch.sigmoid(z_x + z_h)
        n = torch.tanh(n_x + r * n_h)
        return (1 - z) * n + z * h


class SASRec(SequenceNetwork):
    """SASRec: x = e_{s_t} sqrt(d) + p_t, then ``num_blocks`` blocks of causal
    self-attention and a feed-forward layer, each pre-normalised and residual.

    One head per block: A = softmax(Q K^T / sqrt(d) + M) V with Q, K, V the normalised
    x times W_Q, W_K, W_V (plus biases, but for K: a key bias adds the same logit to
    every key of a query, which softmax ignores), where M hides later positions and
    padding; then
    x + FFN(LN(x)) with FFN(h) = ReLU(h W_1 + b_1) W_2 + b_2. A final layer norm
    gives the states. Position vectors p_t count from the left of the (right-aligned)
    window, so the latest item always sits at position L - 1.

    Takes the arguments of :class:`SequenceNetwork`.

    Introduced in chapter "Sequence-aware recommendation".
    """

    def __init__(self, num_items: int, config: SASRecConfig, rng: np.random.Generator):
        super().__init__(num_items, config, rng)
        d = config.num_factors
        self.position_embedding = embedding(normal(rng, config.init_std, (config.max_len, d)))
        for block in range(config.num_blocks):
            name = f"block_{block}_attention_norm"
            setattr(self, name, layer_norm(d))
            for part in ("query", "key", "value"):  # a key bias only shifts a row
                name = f"block_{block}_{part}"
                setattr(self, name, dense(glorot(rng, d, d), part != "key"))
            name = f"block_{block}_feed_forward_norm"
            setattr(self, name, layer_norm(d))
            name = f"block_{block}_hidden"
            setattr(self, name, dense(glorot(rng, d, d)))
            name = f"block_{block}_output"
            setattr(self, name, dense(glorot(rng, d, d)))
        self.final_norm = layer_norm(d)

    def forward(self, histories: torch.Tensor, training: bool = False) -> torch.Tensor:
        """States after each position, shape (batch, L, d), for histories (batch, L)."""
        x, mask = self.embed(histories)
        length = histories.shape[1]
        positions = torch.arange(length, device=histories.device)
        p_t = self.position_embedding(positions + self.config.max_len - length)
        x = self.dropout(x * math.sqrt(x.shape[-1]) + p_t, training) * mask
        causal = torch.as_tensor(np.tril(np.ones((length, length), bool)), device=x.device)
        visible = causal & (histories > 0).unsqueeze(1)  # (batch, L, L): query t, key s
        for block in range(self.config.num_blocks):
            h = getattr(self, f"block_{block}_attention_norm")(x)
            x = x + self.dropout(self.attend(block, h, visible, training), training)
            h = getattr(self, f"block_{block}_feed_forward_norm")(x)
            x = (x + self.dropout(self.feed_forward(block, h, training), training)) * mask
        return self.final_norm(x)

    def attend(
        self, block: int, h: torch.Tensor, visible: torch.Tensor, training: bool
    ) -> torch.Tensor:
        """softmax(Q K^T / sqrt(d) + M) V of one block, shape (batch, L, d)."""
        q = getattr(self, f"block_{block}_query")(h)
        k = getattr(self, f"block_{block}_key")(h)
        v = getattr(self, f"block_{block}_value")(h)
        logits = q @ k.transpose(1, 2) / math.sqrt(h.shape[-1])  # (batch, L, L)
        logits = torch.where(visible, logits, torch.full_like(logits, MASKED))
        weights = self.dropout(torch.softmax(logits, dim=-1), training)
        return weights @ v

    def feed_forward(self, block: int, h: torch.Tensor, training: bool) -> torch.Tensor:
        """ReLU(h W_1 + b_1) W_2 + b_2 of one block, shape (batch, L, d)."""
        h = torch.relu(getattr(self, f"block_{block}_hidden")(h))
        return getattr(self, f"block_{block}_output")(self.dropout(h, training))
