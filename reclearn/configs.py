"""One frozen configuration per model, shared by the PyTorch and TensorFlow twins."""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import partial

from reclearn.checks import (
    check_bool,
    check_float,
    check_fraction,
    check_int,
    check_optional_float,
)

_AT_LEAST_ONE = (
    "epochs batch_size num_factors num_negatives token_dim num_filters kernel_size "
    "max_tokens min_count min_df max_len num_blocks num_hidden total_anneal_steps"
).split()
_BOOLS = "verbose replace pretrain item_ids use_tags centre".split()

FIELD_CHECKS = {
    **{name: partial(check_int, minimum=1) for name in _AT_LEAST_ONE},
    "seed": partial(check_int, minimum=0),
    "patience": partial(check_int, minimum=0),
    "pretrain_epochs": partial(check_int, minimum=0),
    "learning_rate": partial(
        check_float, positive=True, hint="Adam's step size; 1e-3 to 0.05 are usual"
    ),
    "adam_epsilon": partial(check_float, positive=True, hint="1e-8 torch, 1e-7 Keras"),
    "l2": partial(check_float, minimum=0),
    "init_std": partial(
        check_float,
        positive=True,
        maximum=10,
        hint="the spread of the initial vectors; 0.01 to 0.1 are usual",
    ),
    "validation_fraction": partial(check_fraction, zero=True),
    "dropout": partial(check_fraction, zero=True),
    "id_dropout": partial(check_fraction, zero=True),
    "alpha": partial(check_fraction, zero=True, one=True),
    "beta_max": partial(check_float, minimum=0),
    "threshold": check_optional_float,
    **{name: check_bool for name in _BOOLS},
}
"""How each config field is checked, by name; the check returns the value normalised
(NumPy scalars become Python ones). ``hidden`` and ``encoder`` are checked apart."""


def _check_fields(config) -> None:
    """Check every field of ``config`` with its entry in ``FIELD_CHECKS``, in place; a
    field whose default is None may be None."""
    for field in fields(config):
        check = FIELD_CHECKS.get(field.name)
        if field.default is None and getattr(config, field.name) is None:
            continue
        if check is not None:
            value = check(field.name, getattr(config, field.name))
            object.__setattr__(config, field.name, value)


class CheckedConfig:
    """What every config does: check its fields when made, and list their names."""

    def __post_init__(self) -> None:
        _check_fields(self)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


@dataclass(frozen=True)
class TrainConfig(CheckedConfig):
    """Settings of the training loop, the same for every model and backend."""

    epochs: int = 20
    """Passes over the training ratings (fewer if early stopping triggers)."""
    batch_size: int = 1024
    """Ratings per minibatch."""
    learning_rate: float = 1e-3
    """Adam's step size."""
    adam_epsilon: float = 1e-8
    """Adam's epsilon, set explicitly: torch and Keras differ by default (1e-8 vs 1e-7)."""
    seed: int = 0
    """Seed of the initial weights, the minibatch order and any validation split."""
    validation_fraction: float = 0.0
    """If positive and no validation frame is passed, hold out this fraction of train."""
    patience: int = 0
    """Stop after this many epochs without a better validation RMSE (NDCG@10 for ranking
    models; 0: never stop)."""
    verbose: bool = True
    """Show a progress bar (one final line when output is not a terminal)."""


@dataclass(frozen=True)
class RatingConfig(TrainConfig):
    """A model trained on ratings. By default it holds out a tenth of train, keeps its
    best epoch on it and stops ``patience`` epochs later: the data, not a default tuned
    on one data set, decide how long it trains."""

    validation_fraction: float = 0.1
    patience: int = 5


FIXED_EPOCHS = {"validation_fraction": 0.0, "patience": 0}
"""Options that make a model train exactly ``epochs`` epochs on all of train: for
benchmarks that time epochs and for replaying a tuned, early-stopped epoch count."""

L2_PER_VARIANCE = 0.14
"""MF's default penalty per unit of variance of the training ratings (see ``l2``)."""


@dataclass(frozen=True)
class MFConfig(RatingConfig):
    """Biased matrix factorisation, r_hat = mu + b_u + b_i + p_u . q_i."""

    num_factors: int = 32
    """Length k of every user and item vector."""
    l2: float | None = None
    """Weight of the squared-norm penalty on the vectors and biases a batch touches.
    None: ``L2_PER_VARIANCE`` times the variance of the training ratings, so the
    penalty grows with the noise it guards against (0.15 on ml-latest-small). Calibrated
    on 1-5 stars: multiplying every rating by s multiplies that variance by s^2, while
    the penalty that keeps the same fit of the vectors grows only by s, so ratings on a
    very different scale want their own l2."""
    init_std: float = 0.1
    """Standard deviation of the normal initial vectors (biases start at zero)."""
    epochs: int = 100
    batch_size: int = 16384
    learning_rate: float = 0.05


def _check_widths(config, first: int = 1) -> None:
    """Accept a list for ``hidden`` (stored as a tuple); every width a positive int,
    the first at least ``first``."""
    hidden = config.hidden
    if not isinstance(hidden, list | tuple) or not hidden:
        raise ValueError(f"hidden must be a non-empty tuple of positive ints, got {hidden!r}")
    for n, width in enumerate(hidden):
        check_int(f"hidden[{n}]", width, minimum=1)
    widths = tuple(int(width) for width in hidden)
    object.__setattr__(config, "hidden", widths)
    if widths[0] < first:
        raise ValueError(
            f"hidden[0] must be at least {first} (vectors: hidden[0]//2), got {widths}"
        )


@dataclass(frozen=True)
class NeuralCFConfig(RatingConfig):
    """Neural collaborative filtering for ratings: r_hat = mu + MLP([p_u ; q_i])."""

    num_factors: int = 32
    """Length k of every user and item vector."""
    hidden: tuple[int, ...] = (64, 32)
    """Widths of the ReLU layers between the concatenated vectors and the output."""
    l2: float = 1e-4
    """Weight of the squared-norm penalty on the vectors a batch touches."""
    dropout: float = 0.0
    """Dropout rate after each hidden layer (0: none; the twins then train identically)."""
    init_std: float = 0.05
    """Standard deviation of the normal initial vectors."""
    epochs: int = 50
    batch_size: int = 4096
    learning_rate: float = 3e-3

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_widths(self)


@dataclass(frozen=True)
class ImplicitConfig(TrainConfig):
    """Training on implicit feedback: positives from ratings, sampled negatives."""

    num_negatives: int = 4
    """Negatives drawn per positive, afresh every epoch."""
    replace: bool = True
    """Draw a positive's negatives with replacement (True) or as distinct items (False)."""
    threshold: float | None = None
    """A rating counts as an interaction if it is at least this; None: every rating does."""
    init_std: float = 0.01
    """Standard deviation of the normal initial vectors (dense kernels: Glorot uniform)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.validation_fraction:
            raise ValueError(
                "implicit models watch NDCG@10 on a validation frame passed to fit "
                "(e.g. split.leave_last_out(train)), not on a random fraction: leave "
                f"validation_fraction at 0, got {self.validation_fraction:g}"
            )


@dataclass(frozen=True)
class FactorConfig(ImplicitConfig):
    """An implicit model with a user and an item vector of length ``num_factors``."""

    num_factors: int = 32
    """Length k of every user and item vector."""
    l2: float = 1e-3
    """Weight of the squared-norm penalty on the vectors (and biases) a batch touches."""
    epochs: int = 10
    batch_size: int = 4096
    learning_rate: float = 5e-3


@dataclass(frozen=True)
class GMFConfig(FactorConfig):
    """Generalised matrix factorisation: logit = h . (p_u * q_i) + b (He et al. 2017)."""


@dataclass(frozen=True)
class MLPConfig(ImplicitConfig):
    """The MLP tower of NCF: logit = MLP([p_u ; q_i]), vectors of length hidden[0] // 2."""

    hidden: tuple[int, ...] = (64, 32, 16)
    """Widths of the ReLU layers; the user and item vectors have length hidden[0] // 2."""
    l2: float = 1e-3
    """Weight of the squared-norm penalty on the vectors a batch touches."""
    epochs: int = 10
    batch_size: int = 4096
    learning_rate: float = 5e-3

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_widths(self, first=2)


@dataclass(frozen=True)
class NeuMFConfig(FactorConfig):
    """NeuMF: a GMF and an MLP tower side by side, joined by one output layer; the GMF
    vectors have length ``num_factors``."""

    hidden: tuple[int, ...] = (64, 32, 16)
    """Widths of the MLP tower's ReLU layers; its vectors have length hidden[0] // 2."""
    alpha: float = 0.5
    """With pre-training, the weight of the GMF side in the output layer (1 - alpha: MLP)."""
    pretrain: bool = False
    """Train a GMF and an MLP first (same settings) and start from their weights."""
    pretrain_epochs: int = 0
    """With pre-training, the epochs of the GMF and the MLP (0: ``epochs``, like NeuMF).
    ``reclearn.tune`` sets it, as NeuMF's best epoch after pre-training says nothing
    about how long the towers needed."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_widths(self, first=2)


@dataclass(frozen=True)
class BPRConfig(FactorConfig):
    """BPR-MF: x_ui = p_u . q_i + b_i, trained to rank each positive above its negatives."""

    epochs: int = 20
    learning_rate: float = 1e-2


@dataclass(frozen=True)
class SequenceConfig(ImplicitConfig):
    """A next-item model over each user's history in time order (GRU4Rec, SASRec).

    Every position of a training window predicts the next item: its positive is that
    item, its ``num_negatives`` negatives are items the user never interacted with, and
    the loss is the binary cross-entropy of all of them. This is SASRec's objective
    (Kang & McAuley 2018), used for GRU4Rec too so the two differ only in the network:
    a step scores ``1 + num_negatives`` items per position instead of every item (a
    full softmax), and it is the pointwise log loss of the book's NCF models. Item
    vectors are shared by the input and the output layer. The defaults come from a few
    runs on a validation split carved from ml-latest-small's leave-last-out train (both
    networks were best near epoch 20)."""

    num_factors: int = 64
    """Length d of the item vectors and of the network's hidden states."""
    max_len: int = 20
    """Most recent items a network reads; longer histories train as several windows."""
    dropout: float = 0.2
    """Dropout rate on the input vectors and inside the network."""
    num_negatives: int = 16
    """Negatives per position, drawn afresh every epoch (the paper draws one; 16 lifted
    SASRec's validation NDCG@10 on ml-latest-small from about 0.03 to 0.05)."""
    init_std: float = 0.05
    epochs: int = 20
    batch_size: int = 64
    learning_rate: float = 3e-3


@dataclass(frozen=True)
class GRU4RecConfig(SequenceConfig):
    """GRU4Rec: a GRU over the item vectors; its state at the last position scores the
    next item (Hidasi et al. 2016)."""

    learning_rate: float = 1e-2


@dataclass(frozen=True)
class SASRecConfig(SequenceConfig):
    """SASRec: causal self-attention blocks over the item vectors plus learned position
    vectors (Kang & McAuley 2018)."""

    num_blocks: int = 2
    """Self-attention blocks (attention, then a position-wise feed-forward layer)."""


@dataclass(frozen=True)
class TwoTowerConfig(ImplicitConfig):
    """A two-tower ranking model whose item tower reads the item's text: logit = p_u . q_i,
    q_i = encoder(tokens of i) (+ the item's ID embedding if ``item_ids`` and i was rated)."""

    encoder: str = "cnn"
    """``"cnn"``: a 1-D convolution over the token sequence, max-pooled over positions;
    ``"bag"``: the mean of the token embeddings (an embedding bag)."""
    item_ids: bool = False
    """Add an ID embedding to the vector of every item with training interactions (hybrid)."""
    id_dropout: float = 0.5
    """With ``item_ids``, the share of training rows whose item goes without its ID embedding,
    so the content part learns to stand alone (Volkovs et al. 2017)."""
    num_factors: int = 32
    """Length k of the user vectors and of the item tower's output."""
    token_dim: int = 16
    """Length of every token embedding."""
    num_filters: int = 32
    """Convolution filters (channels) of the CNN encoder."""
    kernel_size: int = 3
    """Width, in tokens, of each filter (odd, so 'same' padding is symmetric)."""
    max_tokens: int = 16
    """Tokens per item kept (genres, decade, title, then any tags)."""
    min_count: int = 2
    """A token is in the vocabulary if at least this many items contain it."""
    use_tags: bool = True
    """Include the item's tags in its text when the content is post-release (release-time
    content, the default of :func:`reclearn.content.item_content`, has none)."""
    l2: float = 0.0
    """Weight of the squared-norm penalty on the user and item vectors of a batch."""
    num_negatives: int = 2
    epochs: int = 5
    batch_size: int = 2048
    learning_rate: float = 5e-3

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.encoder not in ("cnn", "bag"):
            raise ValueError(f"encoder must be 'cnn' or 'bag', got {self.encoder!r}")
        if self.kernel_size % 2 == 0:
            raise ValueError(
                f"kernel_size must be a positive odd number, got {self.kernel_size}; "
                f"try {self.kernel_size + 1}"
            )


@dataclass(frozen=True)
class ContentCNNConfig(TwoTowerConfig):
    """Content-only two-tower model with the CNN text encoder."""

    encoder: str = "cnn"


@dataclass(frozen=True)
class ContentBagConfig(TwoTowerConfig):
    """Content-only two-tower model with the embedding-bag text encoder."""

    encoder: str = "bag"


@dataclass(frozen=True)
class HybridConfig(TwoTowerConfig):
    """Hybrid two-tower model: CNN text encoder plus ID embeddings for rated items."""

    item_ids: bool = True


@dataclass(frozen=True)
class ContentConfig(CheckedConfig):
    """Content-based recommendation from TF-IDF features and rating-centred user
    profiles (NumPy: the same model for every backend)."""

    min_df: int = 2
    """A token is a feature if at least this many items contain it."""
    use_tags: bool = True
    """Include the item's tags in its text when the content is post-release (release-time
    content, the default of :func:`reclearn.content.item_content`, has none)."""
    centre: bool = True
    """Weight each rated item by the rating minus the user's mean (False: weight 1)."""


@dataclass(frozen=True)
class AutoRecConfig(RatingConfig):
    """I-AutoRec (Sedhain et al. 2015): item i's vector of ratings r_i (zeros where
    unobserved) is encoded by one sigmoid layer and decoded by a linear one around the
    mean training rating mu, r_hat_i = mu + W sigmoid(V r_i + b_V) + b_W; r_hat_ui is
    entry u. A batch is a set of
    items; the loss counts observed ratings only."""

    num_hidden: int = 100
    """Width of the sigmoid layer (the paper uses 500 on MovieLens 1M; on a validation
    split of ml-latest-small's training folds 100 did as well, 500 overfitted sooner)."""
    l2: float = 3e-3
    """Weight of ||V||^2 + ||W||^2 (kernels only) added to the batch's mean squared
    error."""
    epochs: int = 300
    """A cap: a batch is 256 items, so a small catalogue gets few updates an epoch (on
    a 400-item synthetic set early stopping ends near epoch 160)."""
    batch_size: int = 256
    learning_rate: float = 1e-3


@dataclass(frozen=True)
class MultDAEConfig(TrainConfig):
    """Mult-DAE (Liang et al. 2018): user u's binary item vector x_u, L2-normalised and
    dropped out, goes through tanh layers ``hidden`` and back; the logits of every item
    are trained with the multinomial log-likelihood sum_i x_ui log softmax(logits)_i."""

    hidden: tuple[int, ...] = (600, 200)
    """Widths of the encoder's tanh layers; the decoder mirrors them (the paper's
    [600, 200])."""
    dropout: float = 0.5
    """Dropout rate on the normalised input vector (the paper's 0.5)."""
    l2: float = 0.01
    """Weight of the sum of squared kernel entries (the paper's 0.01 for Mult-DAE)."""
    threshold: float | None = None
    """A rating counts as an interaction if it is at least this; None: every rating does."""
    epochs: int = 50
    batch_size: int = 32
    learning_rate: float = 1e-3

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_widths(self)
        if self.validation_fraction:
            raise ValueError(
                "ranking models watch NDCG@10 on a validation frame passed to fit "
                "(e.g. split.leave_last_out(train)): leave validation_fraction at 0, "
                f"got {self.validation_fraction:g}"
            )


@dataclass(frozen=True)
class FMConfig(RatingConfig):
    """Factorization machine for ratings: y = mu + sum_j w_j x_j + sum_{j<l} <v_j, v_l>
    x_j x_l over the fields of :mod:`reclearn.features`."""

    num_factors: int = 32
    """Length k of every feature's vector v_j."""
    l2: float = 0.1
    """Weight of the squared-norm penalty on the vectors and weights a batch touches."""
    init_std: float = 0.05
    """Standard deviation of the normal initial vectors (linear weights start at zero)."""
    epochs: int = 100
    batch_size: int = 16384
    learning_rate: float = 0.03


@dataclass(frozen=True)
class DeepFMConfig(FMConfig):
    """DeepFM for ratings: the FM plus an MLP over the same field vectors."""

    hidden: tuple[int, ...] = (64, 32)
    """Widths of the ReLU layers between the concatenated field vectors and the output."""
    epochs: int = 100
    learning_rate: float = 0.01

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_widths(self)


@dataclass(frozen=True)
class MultVAEConfig(MultDAEConfig):
    """Mult-VAE (Liang et al. 2018): the last encoder layer gives the mean and log
    variance of a Gaussian q(z|x_u); the loss is minus the ELBO with the KL term
    weighted by beta, which rises linearly with the updates done,
    beta = min(beta_max, updates / total_anneal_steps) (held for an epoch)."""

    l2: float = 0.0
    """Weight of the sum of squared kernel entries (the paper uses none for Mult-VAE)."""
    beta_max: float = 0.2
    """Cap of the KL weight beta (the paper's anneal cap 0.2)."""
    total_anneal_steps: int = 4000
    """Updates over which beta would rise from 0 to 1 (it stops at beta_max): with the
    defaults on ml-latest-small, beta reaches 0.2 at the 800th update, near the end of
    training, as in the paper's schedule."""


@dataclass(frozen=True)
class FMRankConfig(ImplicitConfig):
    """Factorization machine for ranking: logits trained with log loss on sampled
    negatives."""

    num_factors: int = 32
    """Length k of every feature's vector v_j."""
    l2: float = 1e-3
    """Weight of the squared-norm penalty on the vectors and weights a batch touches."""
    epochs: int = 10
    batch_size: int = 4096
    learning_rate: float = 5e-3


@dataclass(frozen=True)
class DeepFMRankConfig(FMRankConfig):
    """DeepFM for ranking: the FM plus an MLP over the same field vectors."""

    hidden: tuple[int, ...] = (64, 32)
    """Widths of the ReLU layers between the concatenated field vectors and the output."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_widths(self)
