"""The search space of every model :func:`reclearn.tune.tune` can tune, declared once.

``SEARCH_SPACES[name]`` maps options of ``reclearn.build(name, ...)`` to ranges:
:class:`Float` and :class:`Int` (log-uniform with ``log=True``), :class:`Choice` and
:class:`Tower` (the ``hidden`` widths of an MLP). A dotted option, ``sim_options.name``,
sets one key of a dict option. Deep models train at most ``MAX_EPOCHS[name]`` epochs and
stop ``PATIENCE`` epochs after their best on validation; that best epoch becomes their
``epochs``.

Introduced in chapter "Evaluation".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Float:
    """A real number in ``[low, high]``, log-uniform if ``log``."""

    low: float
    high: float
    log: bool = False

    def suggest(self, trial, name: str) -> dict:
        return {name: trial.suggest_float(name, self.low, self.high, log=self.log)}

    def contains(self, value) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class Int(Float):
    """An integer in ``[low, high]``, log-uniform if ``log``."""

    low: int
    high: int

    def suggest(self, trial, name: str) -> dict:
        return {name: trial.suggest_int(name, self.low, self.high, log=self.log)}

    def contains(self, value) -> bool:
        return isinstance(value, int) and super().contains(value)


@dataclass(frozen=True)
class Choice:
    """One of ``values`` (bools, numbers or strings)."""

    values: tuple

    def suggest(self, trial, name: str) -> dict:
        return {name: trial.suggest_categorical(name, self.values)}

    def contains(self, value) -> bool:
        return value in self.values


@dataclass(frozen=True)
class Tower:
    """ReLU layers each half as wide as the one before: ``(width, width // 2, ...)``,
    ``layers`` of them; Optuna sees ``<name>_width`` and ``<name>_layers``."""

    widths: tuple[int, ...]
    layers: tuple[int, ...]

    def suggest(self, trial, name: str) -> dict:
        width = trial.suggest_categorical(f"{name}_width", self.widths)
        layers = trial.suggest_categorical(f"{name}_layers", self.layers)
        return {name: tuple(width // 2**n for n in range(layers))}

    def contains(self, value) -> bool:
        value = tuple(value)
        return value[0] in self.widths and len(value) in self.layers


LEARNING_RATE = Float(1e-3, 3e-2, log=True)
L2 = Float(1e-6, 1e-1, log=True)
NEGATIVES = Int(1, 8)
TOWER = Tower(widths=(32, 64, 128, 256), layers=(1, 2, 3))
CONTENT = {
    "num_factors": Int(8, 64, log=True),
    "token_dim": Int(8, 64, log=True),
    "l2": L2,
    "learning_rate": LEARNING_RATE,
    "num_negatives": NEGATIVES,
}
SEQUENCE = {
    "num_factors": Int(16, 128, log=True),
    "max_len": Int(10, 200, log=True),
    "dropout": Float(0.0, 0.5),
    "learning_rate": LEARNING_RATE,
    "num_negatives": Int(1, 32, log=True),
}
CNN = {"num_filters": Int(8, 128, log=True), "kernel_size": Choice((1, 3, 5))}

SEARCH_SPACES = {
    # rating prediction (RMSE)
    "surprise-svd": {
        "n_factors": Int(10, 200, log=True),
        "n_epochs": Int(10, 60),
        "lr_all": Float(1e-3, 0.05, log=True),
        "reg_all": Float(5e-3, 0.2, log=True),
    },
    "surprise-svdpp": {
        "n_factors": Int(5, 100, log=True),
        "n_epochs": Int(5, 30),
        "lr_all": Float(1e-3, 0.05, log=True),
        "reg_all": Float(5e-3, 0.2, log=True),
    },
    "surprise-knnbaseline": {
        "k": Int(10, 100),
        "min_k": Int(1, 5),
        "sim_options.name": Choice(("msd", "pearson_baseline")),
        "sim_options.shrinkage": Int(0, 200),
    },
    "mf": {
        "num_factors": Int(8, 256, log=True),
        "l2": Float(1e-3, 1.0, log=True),
        "learning_rate": Float(3e-3, 0.1, log=True),
        "init_std": Float(0.01, 0.3, log=True),
    },
    "neuralcf": {
        "num_factors": Int(8, 128, log=True),
        "hidden": TOWER,
        "l2": L2,
        "dropout": Float(0.0, 0.5),
        "learning_rate": Float(3e-4, 1e-2, log=True),
    },
    # ranking (NDCG@10)
    "itemknn": {"k": Int(5, 500, log=True), "shrinkage": Float(0.0, 200.0)},
    "ease": {"l2": Float(1.0, 1e4, log=True)},
    "als": {
        "factors": Int(8, 256, log=True),
        "regularization": Float(1e-3, 100.0, log=True),
        "alpha": Float(0.5, 100.0, log=True),
        "iterations": Int(5, 50),
    },
    "bpr-mf": {
        "num_factors": Int(8, 128, log=True),
        "l2": L2,
        "learning_rate": LEARNING_RATE,
        "num_negatives": NEGATIVES,
    },
    "gmf": {
        "num_factors": Int(8, 128, log=True),
        "l2": L2,
        "learning_rate": LEARNING_RATE,
        "num_negatives": NEGATIVES,
    },
    "mlp": {"hidden": TOWER, "l2": L2, "learning_rate": LEARNING_RATE, "num_negatives": NEGATIVES},
    "neumf": {
        "num_factors": Int(8, 128, log=True),
        "hidden": TOWER,
        "l2": L2,
        "learning_rate": LEARNING_RATE,
        "num_negatives": NEGATIVES,
        "pretrain": Choice((False, True)),
    },
    "markov": {"window": Int(1, 10), "decay": Float(0.1, 1.0)},
    "sequence-knn": {"k": Int(5, 500, log=True), "window": Int(1, 50, log=True)},
    "gru4rec": SEQUENCE,
    "sasrec": {**SEQUENCE, "num_blocks": Int(1, 3)},
    "content-tfidf": {
        "min_df": Int(1, 10),
        "centre": Choice((True, False)),
    },
    "content-cnn": {**CONTENT, **CNN},
    "content-bag": CONTENT,
    "hybrid": {**CONTENT, **CNN, "id_dropout": Float(0.0, 0.9)},
    "autorec": {
        "num_hidden": Int(50, 1000, log=True),
        "l2": Float(1e-5, 1e-1, log=True),
        "learning_rate": LEARNING_RATE,
    },
    "mult-dae": {"dropout": Float(0.0, 0.8), "l2": L2, "learning_rate": LEARNING_RATE},
    "mult-vae": {
        "dropout": Float(0.0, 0.8),
        "beta_max": Float(0.0, 1.0),
        "total_anneal_steps": Int(100, 10000, log=True),
        "learning_rate": LEARNING_RATE,
    },
    "fm": {
        "num_factors": Int(8, 128, log=True),
        "l2": Float(1e-3, 1.0, log=True),
        "learning_rate": Float(3e-3, 0.1, log=True),
        "init_std": Float(0.01, 0.3, log=True),
    },
    "deepfm": {
        "num_factors": Int(8, 128, log=True),
        "hidden": TOWER,
        "l2": Float(1e-3, 1.0, log=True),
        "learning_rate": Float(1e-3, 0.05, log=True),
    },
    "fm-rank": {
        "num_factors": Int(8, 128, log=True),
        "l2": L2,
        "learning_rate": LEARNING_RATE,
        "num_negatives": NEGATIVES,
    },
    "deepfm-rank": {
        "num_factors": Int(8, 128, log=True),
        "hidden": TOWER,
        "l2": L2,
        "learning_rate": LEARNING_RATE,
        "num_negatives": NEGATIVES,
    },
}
"""Model name -> {option: range}."""

RATING_MODELS = (
    "surprise-svd",
    "surprise-svdpp",
    "surprise-knnbaseline",
    "mf",
    "neuralcf",
    "autorec",
    "fm",
    "deepfm",
)
"""Models tuned for RMSE on a random hold-out; the others for NDCG@10 (leave-last-out)."""

MAX_EPOCHS = {
    "mf": 60,
    "neuralcf": 30,
    "bpr-mf": 60,
    "gmf": 40,
    "mlp": 40,
    "neumf": 40,
    "content-cnn": 30,
    "content-bag": 30,
    "hybrid": 30,
    "gru4rec": 60,
    "sasrec": 60,
    "autorec": 60,
    "mult-dae": 100,
    "mult-vae": 100,
    "fm": 60,
    "deepfm": 30,
    "fm-rank": 40,
    "deepfm-rank": 40,
}
"""Epochs a deep model may train during tuning (early stopping usually ends it sooner)."""

PATIENCE = 3
"""Epochs without a better validation metric before a deep model stops."""


def suggest(trial, name: str) -> dict:
    """The build options of one trial for model ``name`` (dotted options nested)."""
    options = {}
    for option, space in SEARCH_SPACES[name].items():
        for key, value in space.suggest(trial, option).items():
            head, _, tail = key.partition(".")
            if tail:
                options.setdefault(head, {})[tail] = value
            else:
                options[key] = value
    return options


def build_options(name: str, params: dict) -> dict:
    """Build options from Optuna's flat ``params`` of a trial of model ``name``."""
    from optuna.trial import FixedTrial

    return suggest(FixedTrial(params), name)
