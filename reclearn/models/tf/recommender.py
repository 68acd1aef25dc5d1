"""The TensorFlow training loop and the Recommender wrappers around its networks.

Twin of ``reclearn/models/torch/recommender.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from reclearn.base import Recommender, TrainingData, hold_out
from reclearn.configs import (
    BPRConfig,
    ContentBagConfig,
    ContentCNNConfig,
    GMFConfig,
    HybridConfig,
    ImplicitConfig,
    MFConfig,
    MLPConfig,
    NeuMFConfig,
    NeuralCFConfig,
    TrainConfig,
    TwoTowerConfig,
)
from reclearn.content import ContentItems, ItemContent, token_matrix
from reclearn.io import load_arrays, save_arrays
from reclearn.models.tf.content import TwoTower
from reclearn.models.tf.mf import MF
from reclearn.models.tf.ncf import BPRMF, GMF, MLP, NeuMF, NeuralCF
from reclearn.progress import progress
from reclearn.sampling import epoch_sampler, training_positives, warm_sampler

BACKEND = "tf"


def resolve_device(device: str = "auto") -> str:
    """TensorFlow places work itself; this build of reclearn runs it on the CPU."""
    return "cpu"


class Adam(keras.optimizers.Adam):
    """Adam as in Kingma & Ba's Algorithm 1, which PyTorch follows: epsilon is added to
    the bias-corrected sqrt(v_hat). Keras adds it before the correction, which changes the
    early steps of parameters with tiny gradients (rarely seen users and items)."""

    def update_step(self, gradient, variable, learning_rate):
        step = ops.cast(self.iterations + 1, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign_add(m, (gradient - m) * (1 - self.beta_1))
        self.assign_add(v, (ops.square(gradient) - v) * (1 - self.beta_2))
        m_hat = m / (1 - ops.power(ops.cast(self.beta_1, variable.dtype), step))
        v_hat = v / (1 - ops.power(ops.cast(self.beta_2, variable.dtype), step))
        lr = ops.cast(learning_rate, variable.dtype)
        self.assign_sub(variable, lr * m_hat / (ops.sqrt(v_hat) + self.epsilon))


def fit_network(network, arrays: dict[str, np.ndarray] | Callable[[int], dict[str, np.ndarray]],
                config: TrainConfig, *, device, monitor=None,
                desc: str = "train") -> list[dict]:  # fmt: skip
    """Minimise ``network.objective(**batch)`` with Adam over shuffled index-array batches.

    Args:
        network: A model with an ``objective`` method taking the arrays' keys.
        arrays: Equal-length NumPy arrays, e.g. ``users``, ``items``, ``ratings``; or a
            function ``arrays(epoch)`` returning them, called at the start of every epoch
            (implicit models draw fresh negatives there).
        config: Epochs, batch size, learning rate, Adam epsilon, seed, patience.
        device: Unused (TensorFlow places tensors itself); kept for the twin's signature.
        monitor: Called after each epoch; returns a dict of metrics. If it has
            ``val_rmse``, the best epoch's weights are kept and ``patience`` applies.
        desc: Label of the progress bar.

    Returns:
        One dict per epoch: ``epoch``, ``loss`` and the monitor's metrics.

    Introduced in chapter "Matrix factorization".
    """
    rng = np.random.default_rng([config.seed, 1])  # batch order; stream 0 drew the weights
    optimizer = Adam(learning_rate=config.learning_rate, epsilon=config.adam_epsilon)

    @tf.function(reduce_retracing=True)
    def step(tensors, batch):
        with tf.GradientTape() as tape:
            loss = network.objective(**{name: tf.gather(t, batch) for name, t in tensors.items()})
        variables = network.trainable_variables
        # Dense gradients, as in PyTorch: Keras applies sparse embedding gradients
        # (IndexedSlices) row by row, which double-counts Adam's moments for repeated rows.
        gradients = [tf.convert_to_tensor(g) for g in tape.gradient(loss, variables)]
        optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return loss

    history, best, best_state, stale = [], math.inf, None, 0
    bar = progress(range(config.epochs), desc=desc, unit="epochs", enabled=config.verbose)
    for epoch in bar:
        if epoch == 0 or callable(arrays):
            epoch_arrays = arrays(epoch) if callable(arrays) else arrays
            tensors = {name: tf.constant(a) for name, a in epoch_arrays.items()}
            size = len(next(iter(epoch_arrays.values())))
        order = tf.constant(rng.permutation(size))
        total = 0.0
        for start in range(0, size, config.batch_size):
            batch = order[start : start + config.batch_size]
            total += float(step(tensors, batch)) * len(batch)
        record = {"epoch": epoch + 1, "loss": total / size, **(monitor() if monitor else {})}
        history.append(record)
        bar.set_postfix(**{k: v for k, v in record.items() if k != "epoch"})
        if "val_rmse" in record:
            if record["val_rmse"] < best:
                best, best_state, stale = record["val_rmse"], network.get_weights(), 0
            else:
                stale += 1
                if config.patience and stale >= config.patience:
                    break
    if best_state is not None:
        network.set_weights(best_state)
    return history


def network_arrays(network: keras.Model) -> dict[str, np.ndarray]:
    """Weights by backend-neutral name: ``layer.embeddings``, ``layer.kernel`` (in, out),
    ``layer.bias``."""
    arrays = {}
    for layer in _layers(network):
        if isinstance(layer, keras.layers.Embedding):
            arrays[f"{layer.name}.embeddings"] = layer.embeddings.numpy()
        elif isinstance(layer, (keras.layers.Dense, keras.layers.Conv1D)):
            arrays[f"{layer.name}.kernel"] = layer.kernel.numpy()
            if layer.use_bias:
                arrays[f"{layer.name}.bias"] = layer.bias.numpy()
    return arrays


def set_network_arrays(network: keras.Model, arrays: dict[str, np.ndarray]) -> None:
    """Load weights named as by :func:`network_arrays` (shapes must match)."""
    ours = network_arrays(network)
    if set(ours) != set(arrays):
        raise ValueError(f"weight names differ: expected {sorted(ours)}, got {sorted(arrays)}")
    for layer in _layers(network):
        if isinstance(layer, keras.layers.Embedding):
            layer.embeddings.assign(arrays[f"{layer.name}.embeddings"])
        elif isinstance(layer, (keras.layers.Dense, keras.layers.Conv1D)):
            layer.kernel.assign(arrays[f"{layer.name}.kernel"])
            if layer.use_bias:
                layer.bias.assign(arrays[f"{layer.name}.bias"])


def _layers(network: keras.Model) -> list:
    return [layer for layer in network._flatten_layers(include_self=False)]


class TFRecommender(Recommender):
    """A Recommender that trains a Keras network with :func:`fit_network`.

    Args:
        config: The model's shared configuration.
        device: Accepted for symmetry with the PyTorch twin; TensorFlow runs on the CPU here.

    Introduced in chapter "Matrix factorization".
    """

    backend = BACKEND
    config_class = TrainConfig

    def __init__(self, config: TrainConfig | None = None, device: str = "auto") -> None:
        super().__init__()
        self.config = config or self.config_class()
        self.device = resolve_device(device)
        self.network = None
        self.history: list[dict] = []

    def _make_network(self, num_users: int, num_items: int, rng: np.random.Generator):
        raise TypeError(f"{type(self).__name__} does not define its network")

    def _fit(self, data: TrainingData, validation: TrainingData | None) -> None:
        config = self.config
        if validation is None and config.validation_fraction > 0:
            data, validation = hold_out(data, config.validation_fraction, config.seed)
        keras.utils.set_random_seed(config.seed)
        init_rng = np.random.default_rng([config.seed, 0])
        self.network = self._make_network(data.num_users, data.num_items, init_rng)
        arrays = {"users": data.users, "items": data.items, "ratings": data.ratings}

        def monitor() -> dict:  # learning curves, when there is a validation set
            return {"train_rmse": self._rmse(data), "val_rmse": self._rmse(validation)}

        watch = validation is not None and len(validation.ratings) > 0
        self.history = fit_network(self.network, arrays, config, device=self.device,
                                   monitor=monitor if watch else None,
                                   desc=f"{self.name} ({BACKEND})")  # fmt: skip

    def _score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        out = []
        for start in range(0, len(users), 1 << 16):
            u = tf.constant(users[start : start + (1 << 16)])
            i = tf.constant(items[start : start + (1 << 16)])
            out.append(self.network(u, i).numpy())
        return np.concatenate(out).astype(np.float64) if out else np.empty(0)

    def get_weights(self) -> dict[str, np.ndarray]:
        """The network's weights by backend-neutral name (see :func:`network_arrays`)."""
        return network_arrays(self.network)

    def set_weights(self, arrays: dict[str, np.ndarray]) -> None:
        """Replace the network's weights, e.g. with those of the PyTorch twin."""
        set_network_arrays(self.network, arrays)

    def save(self, path) -> None:
        """Write weights, config and id index to an ``.npz`` file (no pickle)."""
        self._check_fitted()
        save_arrays(path, self, self.get_weights())

    @classmethod
    def load(cls, path, device: str = "auto") -> TFRecommender:
        """Rebuild a saved model; it predicts exactly as before saving."""
        config, state, weights = load_arrays(path, cls)
        model = cls(config, device=device)
        model.__dict__.update(state)
        model.network = model._make_network(
            model.index.num_users, model.index.num_items, np.random.default_rng(0)
        )
        model.set_weights(weights)
        return model


class MFRecommender(TFRecommender):
    """Biased matrix factorisation trained on ratings (TensorFlow).

    Introduced in chapter "Matrix factorization".
    """

    name = "mf"
    config_class = MFConfig

    def _make_network(self, num_users: int, num_items: int, rng: np.random.Generator) -> MF:
        return MF(num_users, num_items, self.config, self.global_mean, rng)

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        u = tf.constant(users)
        return self.network.score_all(u).numpy().astype(np.float64)

    def _biases(self) -> tuple[float, np.ndarray, np.ndarray]:
        weights = self.get_weights()
        return (self.global_mean, weights["user_bias.embeddings"][:, 0].astype(np.float64),
                weights["item_bias.embeddings"][:, 0].astype(np.float64))  # fmt: skip


class NeuralCFRecommender(TFRecommender):
    """Neural collaborative filtering trained on ratings (TensorFlow).

    Introduced in chapter "Deep collaborative filtering".
    """

    name = "neuralcf"
    config_class = NeuralCFConfig

    def _make_network(self, num_users: int, num_items: int, rng: np.random.Generator):
        return NeuralCF(num_users, num_items, self.config, self.global_mean, rng)

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return _score_all(self, users)


class ImplicitRecommender(TFRecommender):
    """A ranking model trained on implicit feedback with sampled negatives (TensorFlow).

    Positives are the training ratings kept by ``sampling.implicit(train, threshold)``;
    negatives are drawn afresh every epoch among the items a user has no positive with.
    Scores are logits (unclipped); unknown users get the items with most positives.

    Introduced in chapter "Deep collaborative filtering".
    """

    clip_predictions = False
    config_class = ImplicitConfig
    pairwise = False
    """Train on (user, positive, negatives) triples instead of labelled pairs."""

    def _fit(self, data: TrainingData, validation: TrainingData | None) -> None:
        positives = self._positives(data)
        self.network = self._train(self._make_network, self.config, positives)

    def _positives(self, data: TrainingData):
        """The training positives; also sets the popularity fallback of :meth:`_biases`."""
        positives = training_positives(
            data.users, data.items, data.ratings, data.num_users, data.num_items,
            self.config.threshold,
        )  # fmt: skip
        popularity = np.bincount(positives.indices, minlength=data.num_items)
        self._user_bias = np.zeros(data.num_users)
        self._item_bias = np.log1p(popularity).astype(np.float64)
        return positives

    def _train(self, make_network, config: ImplicitConfig, positives, desc: str = ""):
        """A network made by ``make_network(num_users, num_items, rng)`` and trained on
        ``positives`` with ``config``; its history goes to ``self.history``."""
        keras.utils.set_random_seed(config.seed)
        init_rng = np.random.default_rng([config.seed, 0])
        network = make_network(positives.num_users, positives.num_items, rng=init_rng)
        arrays = epoch_sampler(positives, config.num_negatives, replace=config.replace,
                               seed=config.seed, pairwise=self.pairwise)  # fmt: skip
        self.history = fit_network(network, arrays, config, device=self.device,
                                   desc=f"{desc or self.name} ({BACKEND})")  # fmt: skip
        return network

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return _score_all(self, users)

    def _biases(self) -> tuple[float, np.ndarray, np.ndarray]:
        """(0, zeros, log(1 + positives per item)): unknown users get popular items."""
        return 0.0, self._user_bias, self._item_bias


class GMFRecommender(ImplicitRecommender):
    """Generalised matrix factorisation trained with log loss (TensorFlow).

    Introduced in chapter "Deep collaborative filtering".
    """

    name = "gmf"
    config_class = GMFConfig

    def _make_network(self, num_users: int, num_items: int, rng: np.random.Generator):
        return GMF(num_users, num_items, self.config, rng)


class MLPRecommender(ImplicitRecommender):
    """The MLP tower of NCF trained with log loss (TensorFlow).

    Introduced in chapter "Deep collaborative filtering".
    """

    name = "mlp"
    config_class = MLPConfig

    def _make_network(self, num_users: int, num_items: int, rng: np.random.Generator):
        return MLP(num_users, num_items, self.config, rng)


class NeuMFRecommender(ImplicitRecommender):
    """NeuMF trained with log loss, optionally from a pre-trained GMF and MLP (TensorFlow).

    With ``config.pretrain``, a GMF and an MLP are trained first with the fields they share
    with the config; their histories are kept in ``pretrain_history``.

    Introduced in chapter "Deep collaborative filtering".
    """

    name = "neumf"
    config_class = NeuMFConfig

    def _make_network(self, num_users: int, num_items: int, rng: np.random.Generator):
        return NeuMF(num_users, num_items, self.config, rng)

    def _fit(self, data: TrainingData, validation: TrainingData | None) -> None:
        positives = self._positives(data)
        self.pretrain_history = {}
        make_network = self._make_network
        if self.config.pretrain:
            gmf_config = GMFConfig(**_shared_fields(self.config, GMFConfig))
            mlp_config = MLPConfig(**_shared_fields(self.config, MLPConfig))
            gmf = self._train(lambda *shape, rng: GMF(*shape, gmf_config, rng),
                              gmf_config, positives, desc=f"{self.name}/gmf")  # fmt: skip
            self.pretrain_history["gmf"] = self.history
            mlp = self._train(lambda *shape, rng: MLP(*shape, mlp_config, rng),
                              mlp_config, positives, desc=f"{self.name}/mlp")  # fmt: skip
            self.pretrain_history["mlp"] = self.history

            def make_network(num_users: int, num_items: int, rng: np.random.Generator):
                network = self._make_network(num_users, num_items, rng)
                network.load_pretrained(gmf, mlp, self.config.alpha)
                return network

        self.network = self._train(make_network, self.config, positives)


class BPRRecommender(ImplicitRecommender):
    """BPR matrix factorisation trained with the pairwise ranking loss (TensorFlow).

    Introduced in chapter "Deep collaborative filtering".
    """

    name = "bpr-mf"
    config_class = BPRConfig
    pairwise = True

    def _make_network(self, num_users: int, num_items: int, rng: np.random.Generator):
        return BPRMF(num_users, num_items, self.config, rng)


def _shared_fields(config, config_class) -> dict:
    """The fields of ``config`` that ``config_class`` also has, by name."""
    return {name: getattr(config, name) for name in config_class.field_names()}


def _score_all(model: TFRecommender, users: np.ndarray) -> np.ndarray:
    """``network.score_all`` over chunks of users (at most 2^18 scores a chunk)."""
    num_items = model.index.num_items
    rows = max(1, (1 << 18) // num_items)
    out = [np.empty((0, num_items))]
    for start in range(0, len(users), rows):
        u = tf.constant(users[start : start + rows])
        out.append(model.network.score_all(u).numpy().astype(np.float64))
    return np.concatenate(out)


class TwoTowerRecommender(ContentItems, ImplicitRecommender):
    """A two-tower ranking model whose item tower reads item text (TensorFlow).

    Every item of ``content`` gets a score, including items without training ratings:
    their vector comes from the text encoder alone. Negatives are drawn among the items
    with training interactions only (:func:`reclearn.content.warm_sampler`).

    Args:
        config: The model's shared configuration.
        device: Accepted for symmetry with the PyTorch twin; TensorFlow runs on the CPU here.
        content: The items' content, from :func:`reclearn.content.item_content`.

    Introduced in chapter "Content-based recommendation".
    """

    name = "two-tower"
    config_class = TwoTowerConfig

    def __init__(self, config: TwoTowerConfig | None = None, device: str = "auto",
                 content: ItemContent | None = None) -> None:  # fmt: skip
        super().__init__(config, device)
        self.content = content

    def _fit(self, data: TrainingData, validation: TrainingData | None) -> None:
        config = self.config
        positives = training_positives(data.users, data.items, data.ratings, data.num_users,
                                       data.num_items, config.threshold)  # fmt: skip
        users = np.repeat(np.arange(positives.num_users), positives.counts())
        warm = np.bincount(positives.indices, minlength=data.num_items) > 0
        self.tokens, self.vocabulary = token_matrix(
            self._aligned_content(), config.max_tokens, config.min_count, config.use_tags
        )
        self._user_bias = np.zeros(data.num_users)
        self._item_bias = np.log1p(np.bincount(positives.indices, minlength=data.num_items))
        keras.utils.set_random_seed(config.seed)
        init_rng = np.random.default_rng([config.seed, 0])
        self.network = TwoTower(data.num_users, self.tokens, warm.astype(np.float32),
                                len(self.vocabulary), config, init_rng)  # fmt: skip
        dropout = config.id_dropout if config.item_ids else 0.0
        arrays = warm_sampler(users, positives.indices, warm, config.num_negatives,
                              seed=config.seed, id_dropout=dropout)  # fmt: skip
        self.history = fit_network(self.network, arrays, config, device=self.device,
                                   desc=f"{self.name} ({BACKEND})")  # fmt: skip


class ContentCNNRecommender(TwoTowerRecommender):
    """Content-only two-tower model with the CNN text encoder (TensorFlow).

    Introduced in chapter "Content-based recommendation".
    """

    name = "content-cnn"
    config_class = ContentCNNConfig


class ContentBagRecommender(TwoTowerRecommender):
    """Content-only two-tower model with the embedding-bag text encoder (TensorFlow).

    Introduced in chapter "Content-based recommendation".
    """

    name = "content-bag"
    config_class = ContentBagConfig


class HybridRecommender(TwoTowerRecommender):
    """Hybrid two-tower model: text encoder plus ID embeddings of rated items (TensorFlow).

    Introduced in chapter "Content-based recommendation".
    """

    name = "hybrid"
    config_class = HybridConfig
