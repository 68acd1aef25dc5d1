"""TensorFlow: the training loop, weight export and the backend's model classes.

The model classes combine :class:`TFRecommender` (everything that touches TensorFlow)
with their framework-free part in ``reclearn/models/recommender.py``.
Twin of ``reclearn/models/torch/recommender.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from reclearn.configs import TrainConfig
from reclearn.models import recommender as shared
from reclearn.models.tf.autoencoder import AutoRec, MultDAE, MultVAE
from reclearn.models.tf.content import TwoTower
from reclearn.models.tf.fm import FM, DeepFM, DeepFMRank, FMRank
from reclearn.models.tf.mf import MF
from reclearn.models.tf.ncf import BPRMF, GMF, MLP, NeuMF, NeuralCF
from reclearn.models.tf.sequence import GRU4Rec, SASRec
from reclearn.models.training import check_loss, validation_loss
from reclearn.progress import progress
from reclearn.seeds import Stream, rng

BACKEND = "tf"


def resolve_device(device: str = "auto") -> str:
    """TensorFlow places work itself; this build of reclearn runs it on the CPU."""
    return "cpu"


class Adam(keras.optimizers.Adam):
    """Adam (Kingma & Ba, Algorithm 1) for dense weights; lazy Adam for embedding tables.

    Dense weights: epsilon is added to the bias-corrected sqrt(v_hat), as PyTorch's Adam
    does (Keras's adds it before the correction, which changes the early steps of rarely
    seen rows). Embedding tables: their gradient holds only the rows a batch looked up;
    repeated rows are summed, then only those rows and their moments move, by the rule
    of PyTorch's ``SparseAdam`` (written out in both twins; PyTorch's own runs several
    times slower on a CPU). A step then updates as many rows as its batch looked up,
    however many users and items there are.
    """

    def update_step(self, gradient, variable, learning_rate):
        if isinstance(gradient, tf.IndexedSlices):
            return self.sparse_update_step(gradient, variable, learning_rate)
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

    def sparse_update_step(self, gradient, variable, learning_rate):
        """Lazy Adam: update the rows of ``variable`` (and their moments) that the
        sparse ``gradient`` holds, summing repeated rows first."""
        step = ops.cast(self.iterations + 1, variable.dtype)
        rows, position = tf.unique(gradient.indices)
        g = tf.math.unsorted_segment_sum(gradient.values, position, tf.size(rows))
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        m_rows, v_rows = tf.gather(m, rows), tf.gather(v, rows)
        m_rows += (g - m_rows) * (1 - self.beta_1)
        v_rows += (ops.square(g) - v_rows) * (1 - self.beta_2)
        self.assign(m, tf.IndexedSlices(m_rows, rows))
        self.assign(v, tf.IndexedSlices(v_rows, rows))
        correction_1 = 1 - ops.power(ops.cast(self.beta_1, variable.dtype), step)
        correction_2 = 1 - ops.power(ops.cast(self.beta_2, variable.dtype), step)
        rate = ops.cast(learning_rate, variable.dtype)
        size = rate * ops.sqrt(correction_2) / correction_1
        update = m_rows / (ops.sqrt(v_rows) + self.epsilon)
        self.assign_sub(variable, tf.IndexedSlices(size * update, rows))


def fit_network(
    network,
    arrays: dict[str, np.ndarray] | Callable[[int], dict[str, np.ndarray]],
    config: TrainConfig,
    *,
    device,
    monitor=None,
    callback=None,
    desc: str = "train",
) -> list[dict]:
    """Minimise ``network.objective(**batch)`` with Adam over shuffled index batches.

    Args:
        network: A model with an ``objective`` method taking the arrays' keys.
        arrays: Equal-length NumPy arrays, e.g. ``users``, ``items``, ``ratings``; or a
            function ``arrays(epoch)`` returning them, called at the start of every
            epoch (implicit models draw fresh negatives there).
        config: Epochs, batch size, learning rate, Adam epsilon, seed, patience.
        device: Unused (TensorFlow places tensors itself); kept for the twin's
            signature.
        monitor: Called after each epoch; returns a dict of metrics. If it has
            ``val_rmse`` (or ``val_ndcg``, higher is better), the best epoch's weights
            are kept and ``patience`` applies.
        callback: Called with each epoch's record, monitor's metrics included; it may
            raise to stop training (``reclearn.tune`` raises ``optuna.TrialPruned``).
        desc: Label of the progress bar.

    Returns:
        One dict per epoch: ``epoch``, ``loss`` and the monitor's metrics.

    Raises:
        reclearn.models.training.TrainingDiverged: The loss became non-finite or grew
            a hundredfold over its value before training.

    Introduced in chapter "Matrix factorization".
    """
    order_rng = rng(config.seed, Stream.BATCH_ORDER)
    optimizer = Adam(learning_rate=config.learning_rate, epsilon=config.adam_epsilon)

    def step(tensors, batch):
        with tf.GradientTape() as tape:
            batch_tensors = {n: tf.gather(t, batch) for n, t in tensors.items()}
            loss = network.objective(**batch_tensors)
        variables = network.trainable_variables
        gradients = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return loss

    # initial: the loss before the first update, against which divergence is judged
    history, best, best_state, stale, initial = [], math.inf, None, 0, None
    epochs = range(config.epochs)
    bar = progress(epochs, desc=desc, unit="epochs", enabled=config.verbose)
    for epoch in bar:
        if epoch == 0 or callable(arrays):
            epoch_arrays = arrays(epoch) if callable(arrays) else arrays
            tensors = {name: tf.constant(a) for name, a in epoch_arrays.items()}
            size = len(next(iter(epoch_arrays.values())))
        if epoch == 0:  # traced once per fit, for batches of any length
            signature = [_rows_of_any_count(tensors), tf.TensorSpec([None], tf.int64)]
            step = tf.function(step, input_signature=signature)
        order = tf.constant(order_rng.permutation(size))
        total = 0.0
        for start in range(0, size, config.batch_size):
            batch = order[start : start + config.batch_size]
            loss = float(step(tensors, batch))
            total += loss * len(batch)
            initial = loss if initial is None else initial
        record = {"epoch": epoch + 1, "loss": total / size}
        check_loss(epoch + 1, record["loss"], initial, config)
        record.update(monitor() if monitor else {})
        history.append(record)
        bar.set_postfix(**{k: v for k, v in record.items() if k != "epoch"})
        if callback:
            callback(record)
        score = validation_loss(record)
        if score is not None:
            if score < best:
                best, stale = score, 0
                best_state = network.get_weights()
            else:
                stale += 1
                if config.patience and stale >= config.patience:
                    break
    if best_state is not None:
        network.set_weights(best_state)
    return history


def network_arrays(network: keras.Model) -> dict[str, np.ndarray]:
    """Weights by backend-neutral name: ``layer.embeddings``, ``layer.kernel`` (in, out),
    ``layer.bias``; layer norms ``layer.gamma``, ``layer.beta``."""
    return {_name(variable): variable.numpy() for variable in network.weights}


def set_network_arrays(network: keras.Model, arrays: dict[str, np.ndarray]) -> None:
    """Load weights named as by :func:`network_arrays` (shapes must match)."""
    ours = network_arrays(network)
    if set(ours) != set(arrays):
        raise ValueError(f"weight names differ: expected {sorted(ours)}, got {sorted(arrays)}")
    for variable in network.weights:
        variable.assign(arrays[_name(variable)])


def _rows_of_any_count(tensors: dict) -> dict:
    """Specs of the training arrays for ``tf.function``: their dtypes, any length."""
    return {name: tf.TensorSpec([None, *t.shape[1:]], t.dtype) for name, t in tensors.items()}


def _name(variable) -> str:
    """``layer.weight``: a variable's path ends with its layer's name and its own."""
    return ".".join(variable.path.split("/")[-2:])


class TFRecommender(shared.NetworkRecommender):
    """What every TensorFlow model class adds to its framework-free part.

    Introduced in chapter "Matrix factorization".
    """

    backend = BACKEND
    framework = "TensorFlow"

    @staticmethod
    def resolve_device(device: str) -> str:
        return resolve_device(device)

    def _seed_framework(self, seed: int) -> None:
        keras.utils.set_random_seed(seed)

    def _place(self, network: keras.Model) -> keras.Model:
        return network

    def _fit_network(self, network, arrays, config, monitor=None, callback=None, desc=""):
        desc = f"{desc or self.name} ({BACKEND})"
        return fit_network(
            network,
            arrays,
            config,
            device=self.device,
            monitor=monitor,
            callback=callback,
            desc=desc,
        )

    def _forward(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.network(tf.constant(users), tf.constant(items)).numpy()

    def _forward_users(self, users: np.ndarray) -> np.ndarray:
        return self.network.score_all(tf.constant(users)).numpy()

    def _forward_inputs(self, inputs: np.ndarray) -> np.ndarray:
        return self.network.score_inputs(tf.constant(inputs)).numpy()

    def get_weights(self) -> dict[str, np.ndarray]:
        """The network's weights by backend-neutral name (see :func:`network_arrays`)."""
        return network_arrays(self.network)

    def set_weights(self, arrays: dict[str, np.ndarray]) -> None:
        """Replace the network's weights, e.g. with those of the PyTorch twin."""
        set_network_arrays(self.network, arrays)


MFRecommender = shared.backend_class(TFRecommender, shared.MFRecommender, MF)
NeuralCFRecommender = shared.backend_class(TFRecommender, shared.NeuralCFRecommender, NeuralCF)
GMFRecommender = shared.backend_class(TFRecommender, shared.GMFRecommender, GMF)
MLPRecommender = shared.backend_class(TFRecommender, shared.MLPRecommender, MLP)
NeuMFRecommender = shared.backend_class(
    TFRecommender, shared.NeuMFRecommender, NeuMF, pretrain_classes=(GMF, MLP)
)
BPRRecommender = shared.backend_class(TFRecommender, shared.BPRRecommender, BPRMF)
ContentCNNRecommender = shared.backend_class(TFRecommender, shared.ContentCNNRecommender, TwoTower)
ContentBagRecommender = shared.backend_class(TFRecommender, shared.ContentBagRecommender, TwoTower)
HybridRecommender = shared.backend_class(TFRecommender, shared.HybridRecommender, TwoTower)
GRU4RecRecommender = shared.backend_class(TFRecommender, shared.GRU4RecRecommender, GRU4Rec)
SASRecRecommender = shared.backend_class(TFRecommender, shared.SASRecRecommender, SASRec)
AutoRecRecommender = shared.backend_class(TFRecommender, shared.AutoRecRecommender, AutoRec)
MultDAERecommender = shared.backend_class(TFRecommender, shared.MultDAERecommender, MultDAE)
MultVAERecommender = shared.backend_class(TFRecommender, shared.MultVAERecommender, MultVAE)
FMRecommender = shared.backend_class(TFRecommender, shared.FMRecommender, FM)
DeepFMRecommender = shared.backend_class(TFRecommender, shared.DeepFMRecommender, DeepFM)
FMRankRecommender = shared.backend_class(TFRecommender, shared.FMRankRecommender, FMRank)
DeepFMRankRecommender = shared.backend_class(
    TFRecommender, shared.DeepFMRankRecommender, DeepFMRank
)
