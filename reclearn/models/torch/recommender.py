"""The PyTorch training loop and the Recommender wrappers around its networks.

Twin of ``reclearn/models/tf/recommender.py``.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch

from reclearn.base import Recommender, TrainingData, hold_out
from reclearn.configs import MFConfig, TrainConfig
from reclearn.io import load_arrays, save_arrays
from reclearn.models.torch.mf import MF
from reclearn.progress import progress

BACKEND = "torch"


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA when available, else the CPU."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def fit_network(network, arrays: dict[str, np.ndarray], config: TrainConfig, *, device,
                monitor=None, desc: str = "train") -> list[dict]:  # fmt: skip
    """Minimise ``network.objective(**batch)`` with Adam over shuffled index-array batches.

    Args:
        network: A module with an ``objective`` method taking the arrays' keys.
        arrays: Equal-length NumPy arrays, e.g. ``users``, ``items``, ``ratings``.
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
    tensors = {name: torch.as_tensor(a, device=device) for name, a in arrays.items()}
    size = len(next(iter(arrays.values())))
    optimizer = torch.optim.Adam(
        network.parameters(), lr=config.learning_rate, eps=config.adam_epsilon
    )
    history, best, best_state, stale = [], math.inf, None, 0
    bar = progress(range(config.epochs), desc=desc, unit="epochs", enabled=config.verbose)
    for epoch in bar:
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
        elif isinstance(module, torch.nn.Linear):
            arrays[f"{name}.kernel"] = module.weight.detach().cpu().numpy().T
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
            elif isinstance(module, torch.nn.Linear):
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
