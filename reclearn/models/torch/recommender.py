"""The PyTorch training loop and the Recommender wrappers around its networks.

Twin of ``reclearn/models/tf/recommender.py``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np
import torch

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
from reclearn.models.torch.content import TwoTower
from reclearn.models.torch.mf import MF
from reclearn.models.torch.ncf import BPRMF, GMF, MLP, NeuMF, NeuralCF
from reclearn.progress import progress
from reclearn.sampling import epoch_sampler, training_positives, warm_sampler

BACKEND = "torch"


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA when available, else the CPU."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def fit_network(network, arrays: dict[str, np.ndarray] | Callable[[int], dict[str, np.ndarray]],
                config: TrainConfig, *, device, monitor=None,
                desc: str = "train") -> list[dict]:  # fmt: skip
    """Minimise ``network.objective(**batch)`` with Adam over shuffled index-array batches.

    Args:
        network: A module with an ``objective`` method taking the arrays' keys.
        arrays: Equal-length NumPy arrays, e.g. ``users``, ``items``, ``ratings``; or a
            function ``arrays(epoch)`` returning them, called at the start of every epoch
            (implicit models draw fresh negatives there).
        config: Epochs, batch size, learning rate, Adam epsilon, seed, patience.
        device: Where the tensors live.
        monitor: Called after each epoch; returns a dict of metrics. If it has
            ``val_rmse``, the best epoch's weights are kept and ``patience`` applies.
        desc: Label of the progress bar.

    Returns:
        One dict per epoch: ``epoch``, ``loss`` and the monitor's metrics.

    Introduced in chapter "Matrix factorization".
    """
    rng = np.random.default_rng([config.seed, 1])  # batch order; stream 0 drew the weights
    optimizer = torch.optim.Adam(
        network.parameters(), lr=config.learning_rate, eps=config.adam_epsilon
    )
    history, best, best_state, stale = [], math.inf, None, 0
    bar = progress(range(config.epochs), desc=desc, unit="epochs", enabled=config.verbose)
    for epoch in bar:
        if epoch == 0 or callable(arrays):
            epoch_arrays = arrays(epoch) if callable(arrays) else arrays
            tensors = {name: torch.as_tensor(a, device=device) for name, a in epoch_arrays.items()}
            size = len(next(iter(epoch_arrays.values())))
        network.train()
        order = torch.as_tensor(rng.permutation(size), device=device)
        total = torch.zeros((), device=device)
        for start in range(0, size, config.batch_size):
            batch = order[start : start + config.batch_size]
            loss = network.objective(**{name: t[batch] for name, t in tensors.items()})
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(batch)
        network.eval()
        record = {"epoch": epoch + 1, "loss": float(total) / size, **(monitor() if monitor else {})}
        history.append(record)
        bar.set_postfix(**{k: v for k, v in record.items() if k != "epoch"})
        if "val_rmse" in record:
            if record["val_rmse"] < best:
                best, best_state, stale = record["val_rmse"], copy.deepcopy(network.state_dict()), 0
            else:
                stale += 1
                if config.patience and stale >= config.patience:
                    break
    if best_state is not None:
        network.load_state_dict(best_state)
    network.eval()
    return history


def network_arrays(network: torch.nn.Module) -> dict[str, np.ndarray]:
    """Weights by backend-neutral name: ``layer.embeddings``, ``layer.kernel`` (in, out),
    ``layer.bias``."""
    arrays = {}
    for name, module in network.named_modules():
        if isinstance(module, torch.nn.Embedding):
            arrays[f"{name}.embeddings"] = module.weight.detach().cpu().numpy()
        elif isinstance(module, (torch.nn.Linear, torch.nn.Conv1d)):
            weight = module.weight.detach().cpu().numpy()  # Conv1d: (out, in, width)
            arrays[f"{name}.kernel"] = weight.T  # (in, out); Conv1d: (width, in, out)
            if module.bias is not None:
                arrays[f"{name}.bias"] = module.bias.detach().cpu().numpy()
    return arrays


def set_network_arrays(network: torch.nn.Module, arrays: dict[str, np.ndarray]) -> None:
    """Load weights named as by :func:`network_arrays` (shapes must match)."""
    ours = network_arrays(network)
    if set(ours) != set(arrays):
        raise ValueError(f"weight names differ: expected {sorted(ours)}, got {sorted(arrays)}")
    with torch.no_grad():
        for name, module in network.named_modules():
            if isinstance(module, torch.nn.Embedding):
                module.weight.copy_(torch.as_tensor(arrays[f"{name}.embeddings"]))
            elif isinstance(module, (torch.nn.Linear, torch.nn.Conv1d)):
                module.weight.copy_(torch.as_tensor(arrays[f"{name}.kernel"].T))
                if module.bias is not None:
                    module.bias.copy_(torch.as_tensor(arrays[f"{name}.bias"]))


class TorchRecommender(Recommender):
    """A Recommender that trains a PyTorch network with :func:`fit_network`.

    Args:
        config: The model's shared configuration.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.

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
        torch.manual_seed(config.seed)
        init_rng = np.random.default_rng([config.seed, 0])
        self.network = self._make_network(data.num_users, data.num_items, init_rng)
        self.network.to(self.device)
        arrays = {"users": data.users, "items": data.items, "ratings": data.ratings}

        def monitor() -> dict:  # learning curves, when there is a validation set
            return {"train_rmse": self._rmse(data), "val_rmse": self._rmse(validation)}

        watch = validation is not None and len(validation.ratings) > 0
        self.history = fit_network(self.network, arrays, config, device=self.device,
                                   monitor=monitor if watch else None,
                                   desc=f"{self.name} ({BACKEND})")  # fmt: skip

    @torch.no_grad()
    def _score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        out = []
        for start in range(0, len(users), 1 << 16):
            u = torch.as_tensor(users[start : start + (1 << 16)], device=self.device)
            i = torch.as_tensor(items[start : start + (1 << 16)], device=self.device)
            out.append(self.network(u, i).cpu().numpy())
        return np.concatenate(out).astype(np.float64) if out else np.empty(0)

    def get_weights(self) -> dict[str, np.ndarray]:
        """The network's weights by backend-neutral name (see :func:`network_arrays`)."""
        return network_arrays(self.network)

    def set_weights(self, arrays: dict[str, np.ndarray]) -> None:
        """Replace the network's weights, e.g. with those of the TensorFlow twin."""
        set_network_arrays(self.network, arrays)

    def save(self, path) -> None:
        """Write weights, config and id index to an ``.npz`` file (no pickle)."""
        self._check_fitted()
        save_arrays(path, self, self.get_weights())

    @classmethod
    def load(cls, path, device: str = "auto") -> TorchRecommender:
        """Rebuild a saved model; it predicts exactly as before saving."""
        config, state, weights = load_arrays(path, cls)
        model = cls(config, device=device)
        model.__dict__.update(state)
        model.network = model._make_network(
            model.index.num_users, model.index.num_items, np.random.default_rng(0)
        ).to(model.device)
        model.set_weights(weights)
        model.network.eval()
        return model


class MFRecommender(TorchRecommender):
    """Biased matrix factorisation trained on ratings (PyTorch).

    Introduced in chapter "Matrix factorization".
    """

    name = "mf"
    config_class = MFConfig

    def _make_network(self, num_users: int, num_items: int, rng: np.random.Generator) -> MF:
        return MF(num_users, num_items, self.config, self.global_mean, rng)

    @torch.no_grad()
    def _score_users(self, users: np.ndarray) -> np.ndarray:
        u = torch.as_tensor(users, device=self.device)
        return self.network.score_all(u).cpu().numpy().astype(np.float64)

    def _biases(self) -> tuple[float, np.ndarray, np.ndarray]:
        weights = self.get_weights()
        return (self.global_mean, weights["user_bias.embeddings"][:, 0].astype(np.float64),
                weights["item_bias.embeddings"][:, 0].astype(np.float64))  # fmt: skip


class NeuralCFRecommender(TorchRecommender):
    """Neural collaborative filtering trained on ratings (PyTorch).

    Introduced in chapter "Deep collaborative filtering".
    """

    name = "neuralcf"
    config_class = NeuralCFConfig

    def _make_network(self, num_users: int, num_items: int, rng: np.random.Generator):
        return NeuralCF(num_users, num_items, self.config, self.global_mean, rng)

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return _score_all(self, users)


class ImplicitRecommender(TorchRecommender):
    """A ranking model trained on implicit feedback with sampled negatives (PyTorch).

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
        torch.manual_seed(config.seed)
        init_rng = np.random.default_rng([config.seed, 0])
        network = make_network(positives.num_users, positives.num_items, rng=init_rng)
        network.to(self.device)
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
    """Generalised matrix factorisation trained with log loss (PyTorch).

    Introduced in chapter "Deep collaborative filtering".
    """

    name = "gmf"
    config_class = GMFConfig

    def _make_network(self, num_users: int, num_items: int, rng: np.random.Generator):
        return GMF(num_users, num_items, self.config, rng)


class MLPRecommender(ImplicitRecommender):
    """The MLP tower of NCF trained with log loss (PyTorch).

    Introduced in chapter "Deep collaborative filtering".
    """

    name = "mlp"
    config_class = MLPConfig

    def _make_network(self, num_users: int, num_items: int, rng: np.random.Generator):
        return MLP(num_users, num_items, self.config, rng)


class NeuMFRecommender(ImplicitRecommender):
    """NeuMF trained with log loss, optionally from a pre-trained GMF and MLP (PyTorch).

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
    """BPR matrix factorisation trained with the pairwise ranking loss (PyTorch).

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


@torch.no_grad()
def _score_all(model: TorchRecommender, users: np.ndarray) -> np.ndarray:
    """``network.score_all`` over chunks of users (at most 2^18 scores a chunk)."""
    num_items = model.index.num_items
    rows = max(1, (1 << 18) // num_items)
    out = [np.empty((0, num_items))]
    for start in range(0, len(users), rows):
        u = torch.as_tensor(users[start : start + rows], device=model.device)
        out.append(model.network.score_all(u).cpu().numpy().astype(np.float64))
    return np.concatenate(out)


class TwoTowerRecommender(ContentItems, ImplicitRecommender):
    """A two-tower ranking model whose item tower reads item text (PyTorch).

    Every item of ``content`` gets a score, including items without training ratings:
    their vector comes from the text encoder alone. Negatives are drawn among the items
    with training interactions only (:func:`reclearn.content.warm_sampler`).

    Args:
        config: The model's shared configuration.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
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
        torch.manual_seed(config.seed)
        init_rng = np.random.default_rng([config.seed, 0])
        self.network = TwoTower(data.num_users, self.tokens, warm.astype(np.float32),
                                len(self.vocabulary), config, init_rng).to(self.device)  # fmt: skip
        dropout = config.id_dropout if config.item_ids else 0.0
        arrays = warm_sampler(users, positives.indices, warm, config.num_negatives,
                              seed=config.seed, id_dropout=dropout)  # fmt: skip
        self.history = fit_network(self.network, arrays, config, device=self.device,
                                   desc=f"{self.name} ({BACKEND})")  # fmt: skip


class ContentCNNRecommender(TwoTowerRecommender):
    """Content-only two-tower model with the CNN text encoder (PyTorch).

    Introduced in chapter "Content-based recommendation".
    """

    name = "content-cnn"
    config_class = ContentCNNConfig


class ContentBagRecommender(TwoTowerRecommender):
    """Content-only two-tower model with the embedding-bag text encoder (PyTorch).

    Introduced in chapter "Content-based recommendation".
    """

    name = "content-bag"
    config_class = ContentBagConfig


class HybridRecommender(TwoTowerRecommender):
    """Hybrid two-tower model: text encoder plus ID embeddings of rated items (PyTorch).

    Introduced in chapter "Content-based recommendation".
    """

    name = "hybrid"
    config_class = HybridConfig
