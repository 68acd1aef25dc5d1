"""PyTorch: the training loop, weight export and the backend's model classes.

The model classes combine :class:`TorchRecommender` (everything that touches PyTorch)
with their framework-free part in ``reclearn/models/recommender.py``.
Twin of ``reclearn/models/tf/recommender.py``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np
import torch

from reclearn.configs import TrainConfig
from reclearn.models import recommender as shared
from reclearn.models.torch.autoencoder import AutoRec, MultDAE, MultVAE
from reclearn.models.torch.content import TwoTower
from reclearn.models.torch.fm import FM, DeepFM, DeepFMRank, FMRank
from reclearn.models.torch.mf import MF
from reclearn.models.torch.ncf import BPRMF, GMF, MLP, NeuMF, NeuralCF
from reclearn.models.torch.sequence import GRU4Rec, SASRec
from reclearn.models.training import check_loss, validation_loss
from reclearn.progress import progress
from reclearn.seeds import Stream, rng

BACKEND = "torch"


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA when available, else the CPU."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


class Adam:
    """Adam (Kingma & Ba, Algorithm 1) for dense weights; lazy Adam for embedding tables.

    Dense weights: epsilon is added to the bias-corrected sqrt(v_hat), as PyTorch's Adam
    does (Keras's adds it before the correction, which changes the early steps of rarely
    seen rows). Embedding tables: their gradient holds only the rows a batch looked up;
    repeated rows are summed, then only those rows and their moments move, by the rule
    of PyTorch's ``SparseAdam`` (written out in both twins; PyTorch's own runs several
    times slower on a CPU). A step then updates as many rows as its batch looked up,
    however many users and items there are.
    """

    def __init__(self, network: torch.nn.Module, learning_rate: float, epsilon: float):
        self.network, self.learning_rate, self.epsilon = network, learning_rate, epsilon
        self.beta_1, self.beta_2, self.iterations = 0.9, 0.999, 0
        tables = [m.weight for m in network.modules() if isinstance(m, torch.nn.Embedding)]
        self.moments = {t: (torch.zeros_like(t), torch.zeros_like(t)) for t in tables}
        dense = [p for p in network.parameters() if p not in self.moments]
        self.dense = torch.optim.Adam(dense, lr=learning_rate, eps=epsilon) if dense else None

    def zero_grad(self) -> None:
        self.network.zero_grad(set_to_none=True)

    @torch.no_grad()
    def step(self) -> None:
        for variable in self.moments:
            if variable.grad is not None:
                self.sparse_update_step(variable.grad, variable, self.learning_rate)
        if self.dense is not None:
            self.dense.step()
        self.iterations += 1

    def sparse_update_step(self, gradient, variable, learning_rate):
        """Lazy Adam: update the rows of ``variable`` (and their moments) that the
        sparse ``gradient`` holds, summing repeated rows first."""
        step = self.iterations + 1
        rows, position = _unique(gradient._indices()[0], len(variable))
        g = gradient._values().new_zeros(len(rows), variable.shape[1])
        g.index_add_(0, position, gradient._values())
        m, v = self.moments[variable]
        m_rows = m.index_select(0, rows).lerp_(g, 1 - self.beta_1)
        v_rows = v.index_select(0, rows).lerp_(g.square_(), 1 - self.beta_2)
        m.index_copy_(0, rows, m_rows)
        v.index_copy_(0, rows, v_rows)
        correction_1 = 1 - self.beta_1**step
        correction_2 = 1 - self.beta_2**step
        size = learning_rate * math.sqrt(correction_2) / correction_1
        update = m_rows / (v_rows.sqrt() + self.epsilon)
        variable.index_add_(0, rows, update, alpha=-size)


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
        network: A module with an ``objective`` method taking the arrays' keys.
        arrays: Equal-length NumPy arrays, e.g. ``users``, ``items``, ``ratings``; or a
            function ``arrays(epoch)`` returning them, called at the start of every
            epoch (implicit models draw fresh negatives there).
        config: Epochs, batch size, learning rate, Adam epsilon, seed, patience.
        device: Where the tensors live.
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
    optimizer = Adam(network, config.learning_rate, config.adam_epsilon)
    # initial: the loss before the first update, against which divergence is judged
    history, best, best_state, stale, initial = [], math.inf, None, 0, None
    epochs = range(config.epochs)
    bar = progress(epochs, desc=desc, unit="epochs", enabled=config.verbose)
    for epoch in bar:
        if epoch == 0 or callable(arrays):
            epoch_arrays = arrays(epoch) if callable(arrays) else arrays
            tensors = {name: torch.as_tensor(a) for name, a in epoch_arrays.items()}
            tensors = {name: t.to(device) for name, t in tensors.items()}
            size = len(next(iter(epoch_arrays.values())))
        network.train()
        order = torch.as_tensor(order_rng.permutation(size), device=device)
        total = torch.zeros((), device=device)
        for start in range(0, size, config.batch_size):
            batch = order[start : start + config.batch_size]
            loss = network.objective(**{name: t[batch] for name, t in tensors.items()})
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(batch)
            initial = float(loss.detach()) if initial is None else initial
        network.eval()
        record = {"epoch": epoch + 1, "loss": float(total) / size}
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
                best_state = copy.deepcopy(network.state_dict())
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
    ``layer.bias``; layer norms ``layer.gamma``, ``layer.beta``."""
    arrays = {}
    for name, module in network.named_modules():
        if isinstance(module, torch.nn.Embedding):
            arrays[f"{name}.embeddings"] = module.weight.detach().cpu().numpy()
        elif isinstance(module, torch.nn.LayerNorm):
            arrays[f"{name}.gamma"] = module.weight.detach().cpu().numpy()
            arrays[f"{name}.beta"] = module.bias.detach().cpu().numpy()
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
            elif isinstance(module, torch.nn.LayerNorm):
                module.weight.copy_(torch.as_tensor(arrays[f"{name}.gamma"]))
                module.bias.copy_(torch.as_tensor(arrays[f"{name}.beta"]))
            elif isinstance(module, (torch.nn.Linear, torch.nn.Conv1d)):
                module.weight.copy_(torch.as_tensor(arrays[f"{name}.kernel"].T))
                if module.bias is not None:
                    module.bias.copy_(torch.as_tensor(arrays[f"{name}.bias"]))


def _unique(indices: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.unique(indices, return_inverse=True)`` for indices below ``size``, by
    counting (several times faster on a CPU than sorting)."""
    rows = torch.bincount(indices, minlength=size).nonzero().squeeze(1)
    position = torch.empty(size, dtype=torch.int64, device=indices.device)
    position[rows] = torch.arange(len(rows), device=indices.device)
    return rows, position[indices]


def _tensor(indices: np.ndarray, device) -> torch.Tensor:
    return torch.as_tensor(indices, device=device)


class TorchRecommender(shared.NetworkRecommender):
    """What every PyTorch model class adds to its framework-free part.

    Introduced in chapter "Matrix factorization".
    """

    backend = BACKEND
    framework = "PyTorch"

    @staticmethod
    def resolve_device(device: str) -> torch.device:
        return resolve_device(device)

    def _seed_framework(self, seed: int) -> None:
        torch.manual_seed(seed)

    def _place(self, network: torch.nn.Module) -> torch.nn.Module:
        return network.to(self.device).eval()

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

    @torch.no_grad()
    def _forward(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        users, items = _tensor(users, self.device), _tensor(items, self.device)
        return self.network(users, items).cpu().numpy()

    @torch.no_grad()
    def _forward_users(self, users: np.ndarray) -> np.ndarray:
        return self.network.score_all(_tensor(users, self.device)).cpu().numpy()

    @torch.no_grad()
    def _forward_inputs(self, inputs: np.ndarray) -> np.ndarray:
        return self.network.score_inputs(_tensor(inputs, self.device)).cpu().numpy()

    def get_weights(self) -> dict[str, np.ndarray]:
        """The network's weights by backend-neutral name (see :func:`network_arrays`)."""
        return network_arrays(self.network)

    def set_weights(self, arrays: dict[str, np.ndarray]) -> None:
        """Replace the network's weights, e.g. with those of the TensorFlow twin."""
        set_network_arrays(self.network, arrays)


MFRecommender = shared.backend_class(TorchRecommender, shared.MFRecommender, MF)
NeuralCFRecommender = shared.backend_class(TorchRecommender, shared.NeuralCFRecommender, NeuralCF)
GMFRecommender = shared.backend_class(TorchRecommender, shared.GMFRecommender, GMF)
MLPRecommender = shared.backend_class(TorchRecommender, shared.MLPRecommender, MLP)
NeuMFRecommender = shared.backend_class(
    TorchRecommender, shared.NeuMFRecommender, NeuMF, pretrain_classes=(GMF, MLP)
)
BPRRecommender = shared.backend_class(TorchRecommender, shared.BPRRecommender, BPRMF)
ContentCNNRecommender = shared.backend_class(
    TorchRecommender, shared.ContentCNNRecommender, TwoTower
)
ContentBagRecommender = shared.backend_class(
    TorchRecommender, shared.ContentBagRecommender, TwoTower
)
HybridRecommender = shared.backend_class(TorchRecommender, shared.HybridRecommender, TwoTower)
GRU4RecRecommender = shared.backend_class(TorchRecommender, shared.GRU4RecRecommender, GRU4Rec)
SASRecRecommender = shared.backend_class(TorchRecommender, shared.SASRecRecommender, SASRec)
AutoRecRecommender = shared.backend_class(TorchRecommender, shared.AutoRecRecommender, AutoRec)
MultDAERecommender = shared.backend_class(TorchRecommender, shared.MultDAERecommender, MultDAE)
MultVAERecommender = shared.backend_class(TorchRecommender, shared.MultVAERecommender, MultVAE)
FMRecommender = shared.backend_class(TorchRecommender, shared.FMRecommender, FM)
DeepFMRecommender = shared.backend_class(TorchRecommender, shared.DeepFMRecommender, DeepFM)
FMRankRecommender = shared.backend_class(TorchRecommender, shared.FMRankRecommender, FMRank)
DeepFMRankRecommender = shared.backend_class(
    TorchRecommender, shared.DeepFMRankRecommender, DeepFMRank
)
