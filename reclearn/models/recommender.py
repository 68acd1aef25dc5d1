"""The Recommender wrappers around the networks, written once for both backends.

Everything here is framework-free: configuration, fit and validation plumbing, the
implicit-feedback and content glue, save and load. What touches a framework (seeding,
device placement, the training loop, running the network, weight import and export)
is a hook that ``models/torch/recommender.py`` and ``models/tf/recommender.py``
implement; their model classes combine one backend base class with one class below.

Introduced in chapter "Matrix factorization".
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from reclearn import io
from reclearn.base import Recommender, TrainingData, gather_pairs, hold_out
from reclearn.configs import (
    L2_PER_VARIANCE,
    AutoRecConfig,
    BPRConfig,
    ContentBagConfig,
    ContentCNNConfig,
    DeepFMConfig,
    DeepFMRankConfig,
    FMConfig,
    FMRankConfig,
    GMFConfig,
    GRU4RecConfig,
    HybridConfig,
    ImplicitConfig,
    MFConfig,
    MLPConfig,
    MultDAEConfig,
    MultVAEConfig,
    NeuMFConfig,
    NeuralCFConfig,
    SASRecConfig,
    SequenceConfig,
    TrainConfig,
    TwoTowerConfig,
)
from reclearn.content import ContentItems, ItemContent, token_matrix
from reclearn.features import FeatureTables, feature_tables
from reclearn.sampling import epoch_sampler, training_positives, warm_sampler
from reclearn.seeds import Stream, rng
from reclearn.sequences import Chronological, Sequences, histories, window_sampler

PAIR_CHUNK = 1 << 16
"""Pairs scored per call of the network."""
SCORE_CHUNK = 1 << 18
"""Scores computed per call of ``network.score_all`` (rows of users times items)."""


class NetworkRecommender(Recommender):
    """A Recommender that trains a network of one backend.

    Args:
        config: The model's shared configuration.
        device: ``"auto"`` (CUDA when available with PyTorch), ``"cpu"`` or ``"cuda"``.

    Introduced in chapter "Matrix factorization".
    """

    backend = ""
    framework = ""
    """The backend's name in prose (``"PyTorch"``, ``"TensorFlow"``)."""
    config_class = TrainConfig
    network_class: type | None = None
    """The network this model trains, set by each backend's model class."""
    epoch_callback = None
    """If set, called with each epoch's history record (pre-training aside); it may raise
    to stop training. :func:`reclearn.tune.tune` sets it to report to Optuna."""

    def __init_subclass__(cls, name: str = "", config: type | None = None, **kwargs):
        """``class GMFRecommender(ImplicitRecommender, name="gmf", config=GMFConfig)``
        sets the model's registry name and its config class."""
        super().__init_subclass__(**kwargs)
        if name:
            cls.name = name
        if config:
            cls.config_class = config

    def __init__(self, config: TrainConfig | None = None, device: str = "auto") -> None:
        super().__init__()
        self.config = config or self.config_class()
        self.device = self.resolve_device(device)
        self.network = None
        self.history: list[dict] = []

    # --- framework hooks, implemented by each backend --------------------------------

    @staticmethod
    def resolve_device(device: str):
        """The device ``device`` names, in the backend's own type."""
        raise TypeError("use a backend's model class (reclearn.build(name, backend=...))")

    def _seed_framework(self, seed: int) -> None:
        """Seed the framework's own generators (dropout)."""

    def _place(self, network):
        """The network on ``self.device``, ready to run."""
        return network

    def _fit_network(self, network, arrays, config, monitor=None, callback=None, desc=""):
        """Train ``network`` with the backend's ``fit_network``; returns the history."""
        raise TypeError(f"{type(self).__name__} has no training loop")

    def _forward(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """The network's scores of index pairs, shape (n,)."""
        raise TypeError(f"{type(self).__name__} has no network")

    def _forward_users(self, users: np.ndarray) -> np.ndarray:
        """``network.score_all``: every item's score for each user, (b, num_items)."""
        raise TypeError(f"{type(self).__name__} has no network")

    def _forward_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """``network.score_inputs``: every item's score for users given by their input
        vectors, (b, num_items)."""
        raise TypeError(f"{type(self).__name__} has no network")

    def get_weights(self) -> dict[str, np.ndarray]:
        """The network's weights by backend-neutral name."""
        raise TypeError(f"{type(self).__name__} has no network")

    def set_weights(self, arrays: dict[str, np.ndarray]) -> None:
        """Replace the network's weights, e.g. with those of the other backend's twin."""
        raise TypeError(f"{type(self).__name__} has no network")

    # --- shared by every network model ----------------------------------------------
    def _set_tables(self, **tables: np.ndarray) -> None:
        """Set the network's frozen input tables (``name.embeddings``) by name."""
        weights = self.get_weights()
        weights.update({f"{name}.embeddings": value for name, value in tables.items()})
        self.set_weights(weights)

    def _make_network(self, num_users: int, num_items: int, generator):
        return self.network_class(num_users, num_items, self.config, generator)

    def _new_network(self, make_network, num_users: int, num_items: int, seed: int):
        """A seeded network from ``make_network(num_users, num_items, generator)``."""
        self._seed_framework(seed)
        generator = rng(seed, Stream.WEIGHTS)
        return self._place(make_network(num_users, num_items, generator))

    def _score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        out = [
            self._forward(users[start : start + PAIR_CHUNK], items[start : start + PAIR_CHUNK])
            for start in range(0, len(users), PAIR_CHUNK)
        ]
        return np.concatenate(out).astype(np.float64) if out else np.empty(0)

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        rows = max(1, SCORE_CHUNK // self.index.num_items)
        out = [np.empty((0, self.index.num_items))]
        for start in range(0, len(users), rows):
            scores = self._forward_users(users[start : start + rows])
            out.append(scores.astype(np.float64))
        return np.concatenate(out)

    def save(self, path) -> None:
        """Write weights, config and id index to an ``.npz`` file (no pickle)."""
        self.check_fitted()
        arrays = {f"weight/{name}": value for name, value in self.get_weights().items()}
        arrays.update({f"state/{name}": value for name, value in self._state().items()})
        io.write_model(path, self._meta(), arrays)

    def _meta(self) -> dict:
        """What a model file records besides the arrays, read back by :meth:`_read`."""
        return {
            "model": type(self).__name__,
            "backend": self.backend,
            "config": dataclasses.asdict(self.config),
            "global_mean": self.global_mean,
            "rating_scale": list(self.rating_scale),
        }

    @classmethod
    def load(cls, path, device: str = "auto") -> NetworkRecommender:
        """Rebuild a saved model; it predicts exactly as before saving.

        Raises:
            reclearn.io.ModelFileError: The file is not a model file of this class.
        """
        meta, arrays = io.read_model(path, cls.__name__)
        model = cls(cls.config_class(**meta["config"]), device=device)
        return cls._read(model, meta, arrays)

    def _read(self, meta: dict, arrays: dict[str, np.ndarray]) -> NetworkRecommender:
        """Set this unfitted model to the state and weights of a model file."""
        self.global_mean = meta["global_mean"]
        self.rating_scale = tuple(meta["rating_scale"])
        parts = {"weight": {}, "state": {}}
        for key, value in arrays.items():
            part, _, name = key.partition("/")
            parts.setdefault(part, {})[name] = value
        try:
            if set(parts) != {"weight", "state"}:
                raise ValueError(f"unexpected arrays {sorted(parts)}")
            self._restore(parts["state"])
            shape = (self.index.num_users, self.index.num_items)
            generator = rng(0, Stream.WEIGHTS)
            self.network = self._place(self._make_network(*shape, generator))
            self.set_weights(parts["weight"])
        except (KeyError, ValueError, TypeError, RuntimeError) as error:  # torch shapes
            raise io.ModelFileError(
                f"the model file does not match a {type(self).__name__} ({error}); "
                "it was altered or written by another version: save the model again"
            ) from None
        return self

    def _state(self) -> dict[str, np.ndarray]:
        """What besides the weights a fitted model needs: ids, known ids, seen items."""
        return {
            "user_ids": self.index.user_ids.to_numpy(str),
            "item_ids": self.index.item_ids.to_numpy(str),
            "user_known": self.user_known,
            "item_known": self.item_known,
            "user_bias": self._user_bias,
            "item_bias": self._item_bias,
            "seen_counts": np.array([len(s) for s in self._seen], dtype=np.int64),
            "seen_items": np.concatenate([np.empty(0, np.int64), *self._seen]),
        }

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        """Set what :meth:`_state` wrote."""
        self.index = io.id_index(state["user_ids"], state["item_ids"])
        self.user_known, self.item_known = state["user_known"], state["item_known"]
        self._user_bias, self._item_bias = state["user_bias"], state["item_bias"]
        ends = np.cumsum(state["seen_counts"])[:-1]
        self._seen = np.split(state["seen_items"], ends)


class RatingRecommender(NetworkRecommender):
    """A network trained on ratings, monitored on a validation set when there is one.

    Introduced in chapter "Matrix factorization".
    """

    trained_config = None
    """The config the last fit trained with: ``config``, defaults taken from the data
    filled in (MF's ``l2``)."""

    def _meta(self) -> dict:
        meta = super()._meta()
        if self.trained_config is not None:  # what the fit read from its data (MF's l2)
            meta["trained_config"] = dataclasses.asdict(self.trained_config)
        return meta

    def _read(self, meta: dict, arrays: dict[str, np.ndarray]) -> RatingRecommender:
        if "trained_config" in meta:  # before the network is made from it
            self.trained_config = self.config_class(**meta["trained_config"])
        return super()._read(meta, arrays)

    def _make_network(self, num_users: int, num_items: int, generator):
        config = self.trained_config or self.config
        return self.network_class(num_users, num_items, config, self.global_mean, generator)

    def _config_for(self, data: TrainingData):
        """``config`` with its data-dependent defaults filled in from ``data``."""
        return self.config

    def _fit(self, data: TrainingData, validation: TrainingData | None) -> None:
        config = self.config
        if validation is None and config.validation_fraction > 0:
            data, validation = hold_out(data, config.validation_fraction, config.seed)
        self.trained_config = config = self._config_for(data)
        self.network = self._new_network(
            self._make_network, data.num_users, data.num_items, config.seed
        )
        arrays = self._training_arrays(data)

        def monitor() -> dict:  # learning curves, when there is a validation set
            return {"train_rmse": self._rmse(data), "val_rmse": self._rmse(validation)}

        watch = validation is not None and len(validation.ratings) > 0
        self.history = self._fit_network(
            self.network,
            arrays,
            config,
            monitor=monitor if watch else None,
            callback=self.epoch_callback,
        )

    def _training_arrays(self, data: TrainingData) -> dict[str, np.ndarray]:
        """What ``fit_network`` draws its batches from: the training ratings."""
        return {"users": data.users, "items": data.items, "ratings": data.ratings}


class MFRecommender(RatingRecommender, name="mf", config=MFConfig):
    """Biased matrix factorisation trained on ratings.

    Introduced in chapter "Matrix factorization".
    """

    def _config_for(self, data: TrainingData) -> MFConfig:
        if self.config.l2 is not None:
            return self.config
        l2 = L2_PER_VARIANCE * float(np.var(data.ratings))
        return dataclasses.replace(self.config, l2=l2)

    def _biases(self) -> tuple[float, np.ndarray, np.ndarray]:
        weights = self.get_weights()
        b_u = weights["user_bias.embeddings"][:, 0].astype(np.float64)
        b_i = weights["item_bias.embeddings"][:, 0].astype(np.float64)
        return self.global_mean, b_u, b_i


class NeuralCFRecommender(RatingRecommender, name="neuralcf", config=NeuralCFConfig):
    """Neural collaborative filtering trained on ratings.

    Introduced in chapter "Deep collaborative filtering".
    """


class ImplicitRecommender(NetworkRecommender, config=ImplicitConfig):
    """A ranking model trained on implicit feedback with sampled negatives.

    Positives are the training ratings kept by ``sampling.implicit(train, threshold)``;
    negatives are drawn afresh every epoch among the items a user has no positive with.
    Scores are logits (unclipped); unknown users get the items with most positives.
    Given a validation frame, training watches NDCG@10 (full ranking) on its positives
    every epoch, keeps the best epoch and stops after ``patience`` epochs without a
    better one.

    Introduced in chapter "Deep collaborative filtering".
    """

    clip_predictions = False
    pairwise = False
    """Train on (user, positive, negatives) triples instead of labelled pairs."""

    def _fit(self, data: TrainingData, validation: TrainingData | None) -> None:
        positives = self._positives(data)
        monitor = self._ndcg_monitor(data, validation)
        self.network = self._train(
            self._make_network, self.config, positives, monitor, self.epoch_callback
        )

    def _positives(self, data: TrainingData):
        """The training positives; also sets the popularity fallback of ``_biases``."""
        positives = training_positives(
            data.users,
            data.items,
            data.ratings,
            data.num_users,
            data.num_items,
            self.config.threshold,
        )
        popularity = np.bincount(positives.indices, minlength=data.num_items)
        self._user_bias = np.zeros(data.num_users)
        self._item_bias = np.log1p(popularity).astype(np.float64)
        return positives

    def _train(
        self,
        make_network,
        config: ImplicitConfig,
        positives,
        monitor=None,
        callback=None,
        desc: str = "",
    ):
        """A network made by ``make_network(num_users, num_items, generator)`` and
        trained on ``positives`` with ``config``; its history goes to ``self.history``."""
        shape = (positives.num_users, positives.num_items)
        network = self.network = self._new_network(make_network, *shape, config.seed)
        arrays = epoch_sampler(
            positives,
            config.num_negatives,
            replace=config.replace,
            seed=config.seed,
            pairwise=self.pairwise,
        )
        self.history = self._fit_network(network, arrays, config, monitor, callback, desc)
        return network

    def _ndcg_monitor(self, data: TrainingData, validation: TrainingData | None):
        """A monitor of NDCG@10 (full ranking) on the validation positives not seen in
        ``data``, for ``fit_network``; None without such rows."""
        from reclearn.evaluate import full_protocol
        from reclearn.sampling import PositiveSets

        if validation is None:
            return None
        threshold = self.config.threshold
        kept = np.ones(len(validation.users), dtype=bool)
        if threshold is not None:
            kept = validation.ratings >= threshold
        seen = PositiveSets(data.users, data.items, data.num_users, data.num_items)
        kept[kept] = ~seen.contains(validation.users[kept], validation.items[kept])
        users, items = validation.users[kept], validation.items[kept]
        if not len(users):
            return None

        def monitor() -> dict:
            ndcg = full_protocol(
                self._score_users, users, items, seen, self.item_known, 10, ["ndcg"]
            )
            return {"val_ndcg": float(ndcg.mean())}

        return monitor

    def _biases(self) -> tuple[float, np.ndarray, np.ndarray]:
        """(0, zeros, log(1 + positives per item)): unknown users get popular items."""
        return 0.0, self._user_bias, self._item_bias


class GMFRecommender(ImplicitRecommender, name="gmf", config=GMFConfig):
    """Generalised matrix factorisation trained with log loss.

    Introduced in chapter "Deep collaborative filtering".
    """


class MLPRecommender(ImplicitRecommender, name="mlp", config=MLPConfig):
    """The MLP tower of NCF trained with log loss.

    Introduced in chapter "Deep collaborative filtering".
    """


class NeuMFRecommender(ImplicitRecommender, name="neumf", config=NeuMFConfig):
    """NeuMF trained with log loss, optionally from a pre-trained GMF and MLP.

    With ``config.pretrain``, a GMF and an MLP are trained first with the fields they
    share with the config, for ``config.pretrain_epochs`` epochs if set (and stop early
    on a validation frame, as NeuMF then does); their histories are kept in
    ``pretrain_history``.

    Introduced in chapter "Deep collaborative filtering".
    """

    pretrain_classes: tuple[type, type] | None = None
    """The backend's (GMF, MLP) networks, for pre-training."""

    def _fit(self, data: TrainingData, validation: TrainingData | None) -> None:
        positives = self._positives(data)
        self.pretrain_history = {}
        make_network = self._make_network
        monitor = self._ndcg_monitor(data, validation)  # towers stop early on it too
        if self.config.pretrain:
            towers = []
            for network_class, config_class, part in zip(
                self.pretrain_classes, (GMFConfig, MLPConfig), ("gmf", "mlp"), strict=True
            ):
                config = config_class(**_shared_fields(self.config, config_class))
                if self.config.pretrain_epochs:
                    config = dataclasses.replace(config, epochs=self.config.pretrain_epochs)

                def make_tower(num_users, num_items, generator, tower=network_class, c=config):
                    return tower(num_users, num_items, c, generator)

                desc = f"{self.name}/{part}"
                towers.append(self._train(make_tower, config, positives, monitor, desc=desc))
                self.pretrain_history[part] = self.history

            def make_network(num_users: int, num_items: int, generator):
                network = self._make_network(num_users, num_items, generator)
                network.load_pretrained(*towers, self.config.alpha)
                return network

        self.network = self._train(
            make_network, self.config, positives, monitor, self.epoch_callback
        )


class BPRRecommender(ImplicitRecommender, name="bpr-mf", config=BPRConfig):
    """BPR matrix factorisation trained with the pairwise ranking loss.

    Introduced in chapter "Deep collaborative filtering".
    """

    pairwise = True


class SequenceRecommender(Chronological, ImplicitRecommender, config=SequenceConfig):
    """A next-item model: it reads each user's training history in time order.

    ``fit`` orders every user's training positives in time
    (:func:`reclearn.split.chronological` with ``config.seed``; ``train`` needs a
    ``timestamp``) and trains the network on windows of ``max_len`` transitions
    (:func:`reclearn.sequences.window_sampler`), watching NDCG@10 on a validation frame
    as :class:`ImplicitRecommender` does. A user's scores come from the network's state
    after the user's ``max_len`` most recent training items; unknown users get popular
    items.

    Introduced in chapter "Sequence-aware recommendation".
    """

    def _make_network(self, num_users: int, num_items: int, generator):
        return self.network_class(num_items, self.config, generator)

    def _fit(self, data: TrainingData, validation: TrainingData | None) -> None:
        config = self.config
        positives = self._positives(data)
        self.sequences_ = self._sequences(data, config.threshold)
        self.network = self._new_network(
            self._make_network, data.num_users, data.num_items, config.seed
        )
        arrays = window_sampler(
            self.sequences_,
            positives,
            config.max_len,
            config.num_negatives,
            replace=config.replace,
            seed=config.seed,
        )
        self.history = self._fit_network(
            self.network,
            arrays,
            config,
            monitor=self._ndcg_monitor(data, validation),
            callback=self.epoch_callback,
        )

    def histories(self, users: np.ndarray) -> np.ndarray:
        """What the network reads for each user index: shape (len(users), max_len),
        item indices plus one, left-padded with 0 (:func:`reclearn.sequences.histories`)."""
        return histories(self.sequences_, np.asarray(users), self.config.max_len)

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        rows = max(1, SCORE_CHUNK // self.index.num_items)
        out = [np.empty((0, self.index.num_items))]
        for start in range(0, len(users), rows):
            scores = self._forward_users(self.histories(users[start : start + rows]))
            out.append(scores.astype(np.float64))
        return np.concatenate(out)

    def _score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Pair scores gathered from the score rows of 256 distinct users at a time."""
        return gather_pairs(self._score_users, users, items)

    def _state(self) -> dict[str, np.ndarray]:
        return {
            **super()._state(),
            "sequence_indptr": self.sequences_.indptr,
            "sequence_items": self.sequences_.items,
        }

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        super()._restore(state)
        self.sequences_ = Sequences(state["sequence_indptr"], state["sequence_items"])


class GRU4RecRecommender(SequenceRecommender, name="gru4rec", config=GRU4RecConfig):
    """GRU4Rec trained for the next item at every position with sampled negatives.

    Introduced in chapter "Sequence-aware recommendation".
    """


class SASRecRecommender(SequenceRecommender, name="sasrec", config=SASRecConfig):
    """SASRec trained for the next item at every position with sampled negatives.

    Introduced in chapter "Sequence-aware recommendation".
    """


class AutoRecRecommender(RatingRecommender, name="autorec", config=AutoRecConfig):
    """I-AutoRec trained on the observed ratings of each item's vector.

    The network reads every item's training ratings (a dense items x users table), so
    memory grows with num_users * num_items. Unknown users and items get the damped
    bias fallback, as NeuralCF's do.

    Introduced in chapter "Autoencoders".
    """

    def _training_arrays(self, data: TrainingData) -> dict[str, np.ndarray]:
        """Sets the network's item vectors; batches are sets of items."""
        ratings = np.zeros((data.num_items, data.num_users), np.float32)
        ratings[data.items, data.users] = data.ratings
        observed = np.zeros_like(ratings)
        observed[data.items, data.users] = 1.0
        self._set_tables(ratings=ratings, observed=observed)
        return {"items": np.arange(data.num_items)}


def kl_weight(epoch: int, updates_per_epoch: int, config: MultVAEConfig) -> float:
    """Mult-VAE's beta during ``epoch`` (counted from 0): min(beta_max, updates /
    total_anneal_steps), updates being those done before the epoch.

    Introduced in chapter "Autoencoders".
    """
    updates = epoch * updates_per_epoch
    return min(config.beta_max, updates / config.total_anneal_steps)


class MultDAERecommender(ImplicitRecommender, name="mult-dae", config=MultDAEConfig):
    """Mult-DAE trained on each user's whole item vector with the multinomial loss.

    Positives are the training ratings kept by ``config.threshold``; a batch is a set of
    users. Scores are the decoder's logits; unknown users get the items with most
    positives, and :meth:`score_histories` scores users unseen in training from their
    interactions alone (fold-in). The network holds the users' item vectors (a dense
    users x items table).

    Introduced in chapter "Autoencoders".
    """

    def _make_network(self, num_users: int, num_items: int, generator):
        return self.network_class(num_users, num_items, self.config, generator)

    def _fit(self, data: TrainingData, validation: TrainingData | None) -> None:
        positives = self._positives(data)
        self.network = self._new_network(
            self._make_network, data.num_users, data.num_items, self.config.seed
        )
        clicks = np.zeros((data.num_users, data.num_items), np.float32)
        users = np.repeat(np.arange(data.num_users), positives.counts())
        clicks[users, positives.indices] = 1.0
        self._set_tables(clicks=clicks)
        self.history = self._fit_network(
            self.network,
            self._epoch_arrays(data.num_users),
            self.config,
            monitor=self._ndcg_monitor(data, validation),
            callback=self.epoch_callback,
        )

    def _epoch_arrays(self, num_users: int):
        """What ``fit_network`` draws its batches from: every user index."""
        return {"users": np.arange(num_users)}

    def _score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Pair scores gathered from the score rows of 256 distinct users at a time."""
        return gather_pairs(self._score_users, users, items)

    def score_histories(self, frame) -> tuple[np.ndarray, np.ndarray]:
        """Scores of every item for the users of ``frame``, from its rows alone.

        The users need not be in training (the strong-generalisation protocol folds
        in held-out users this way); items unknown in training are left out.

        Args:
            frame: Ratings ``(user_id, item_id, rating)``; rows below
                ``config.threshold`` do not count.

        Returns:
            The raw user ids in order of first appearance, and their scores, shape
            (number of users, num_items).
        """
        from reclearn.interactions import validate_ratings
        from reclearn.sampling import implicit

        self.check_fitted()
        validate_ratings(frame, what="frame to fold in")
        frame = implicit(frame, self.config.threshold)
        user_ids = frame["user_id"].astype(str)
        order = pd.unique(user_ids)
        rows = pd.Index(order).get_indexer(user_ids)
        items = self.index.items(frame["item_id"])
        known = items >= 0
        clicks = np.zeros((len(order), self.index.num_items), np.float32)
        clicks[rows[known], items[known]] = 1.0
        return np.asarray(order), self._finite(self._forward_inputs(clicks))


class MultVAERecommender(MultDAERecommender, name="mult-vae", config=MultVAEConfig):
    """Mult-VAE trained on each user's whole item vector: minus the ELBO, KL annealed.

    Introduced in chapter "Autoencoders".
    """

    def _epoch_arrays(self, num_users: int):
        """A function of the epoch: every user index, and beta (:func:`kl_weight`)
        repeated for each."""
        updates = -(-num_users // self.config.batch_size)
        users = np.arange(num_users)

        def arrays(epoch: int) -> dict[str, np.ndarray]:
            beta = kl_weight(epoch, updates, self.config)
            return {"users": users, "beta": np.full(num_users, beta, np.float32)}

        return arrays


def _shared_fields(config, config_class) -> dict:
    """The fields of ``config`` that ``config_class`` also has, by name."""
    return {name: getattr(config, name) for name in config_class.field_names()}


class TwoTowerRecommender(
    ContentItems, ImplicitRecommender, name="two-tower", config=TwoTowerConfig
):
    """A two-tower ranking model whose item tower reads item text.

    Every item of ``content`` gets a score, including items without training ratings:
    their vector comes from the text encoder alone. Negatives are drawn among the items
    with training interactions only (:func:`reclearn.sampling.warm_sampler`).

    Args:
        config: The model's shared configuration.
        device: ``"auto"`` (CUDA when available with PyTorch), ``"cpu"`` or ``"cuda"``.
        content: The items' content, from :func:`reclearn.content.item_content`.

    Introduced in chapter "Content-based recommendation".
    """

    def __init__(
        self,
        config: ImplicitConfig | None = None,
        device: str = "auto",
        content: ItemContent | None = None,
    ) -> None:
        super().__init__(config, device)
        self.content = content

    def _make_network(self, num_users: int, num_items: int, generator):
        return self.network_class(
            num_users,
            self.tokens,
            self.trained_items.astype(np.float32),
            len(self.vocabulary),
            self.config,
            generator,
        )

    def _fit(self, data: TrainingData, validation: TrainingData | None) -> None:
        config = self.config
        positives = self._positives(data)
        users = np.repeat(np.arange(positives.num_users), positives.counts())
        self.trained_items = self._item_bias > 0  # items with a training positive
        self.tokens, self.vocabulary = token_matrix(
            self._aligned_content(), config.max_tokens, config.min_count, config.use_tags
        )
        self.network = self._new_network(
            self._make_network, data.num_users, data.num_items, config.seed
        )
        arrays = warm_sampler(
            users,
            positives.indices,
            self.trained_items,
            config.num_negatives,
            seed=config.seed,
            id_dropout=config.id_dropout if config.item_ids else 0.0,
        )
        self.history = self._fit_network(
            self.network,
            arrays,
            config,
            monitor=self._ndcg_monitor(data, validation),
            callback=self.epoch_callback,
        )

    def _state(self) -> dict[str, np.ndarray]:
        return {
            **super()._state(),
            "warm": self.warm,
            "trained_items": self.trained_items,
            "tokens": self.tokens,
            "vocabulary": np.array(self.vocabulary, dtype=str),
        }

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        super()._restore(state)
        self.warm, self.trained_items = state["warm"], state["trained_items"]
        self.tokens, self.vocabulary = state["tokens"], state["vocabulary"].tolist()


class ContentCNNRecommender(TwoTowerRecommender, name="content-cnn", config=ContentCNNConfig):
    """Content-only two-tower model with the CNN text encoder.

    Introduced in chapter "Content-based recommendation".
    """


class ContentBagRecommender(TwoTowerRecommender, name="content-bag", config=ContentBagConfig):
    """Content-only two-tower model with the embedding-bag text encoder.

    Introduced in chapter "Content-based recommendation".
    """


class HybridRecommender(TwoTowerRecommender, name="hybrid", config=HybridConfig):
    """Hybrid two-tower model: text encoder plus ID embeddings of rated items.

    Introduced in chapter "Content-based recommendation".
    """


class FeatureRecommender(ContentItems):
    """Mixin of the factorization machines: features from ids, training activity and,
    given ``content``, release-time genres and years (:mod:`reclearn.features`).

    Without content it is an ordinary rating or ranking model. With content every item
    of ``content`` gets a score, as for the content models: an item without training
    ratings is scored from its genres and year, its id feature absent.

    Args:
        config: The model's shared configuration.
        device: ``"auto"`` (CUDA when available with PyTorch), ``"cpu"`` or ``"cuda"``.
        content: Release-time item content (:func:`reclearn.content.item_content`) or
            None.

    Introduced in chapter "Feature-rich models: factorization machines and DeepFM".
    """

    def __init__(self, config=None, device: str = "auto", content=None) -> None:
        super().__init__(config, device)
        self.content = content

    def fit(self, train, validation=None, rating_scale=None):
        if self.content is None:
            return super(ContentItems, self).fit(train, validation, rating_scale)
        return super().fit(train, validation, rating_scale)

    def _fit(self, data: TrainingData, validation: TrainingData | None) -> None:
        content = None if self.content is None else self._aligned_content()
        self.tables = feature_tables(data.users, data.num_users, self.item_known, content)
        super()._fit(data, validation)

    def _make_network(self, num_users: int, num_items: int, generator):
        mean = self.global_mean if isinstance(self, RatingRecommender) else 0.0
        return self.network_class(self.tables, self.config, mean, generator)

    def _state(self) -> dict[str, np.ndarray]:
        tables = {f"tables.{name}": a for name, a in self.tables.arrays().items()}
        return {**super()._state(), **tables}

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        prefix = "tables."
        tables = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        super()._restore({k: v for k, v in state.items() if not k.startswith(prefix)})
        self.tables = FeatureTables.from_arrays(tables)


class FMRecommender(FeatureRecommender, RatingRecommender, name="fm", config=FMConfig):
    """Factorization machine trained on ratings.

    Introduced in chapter "Feature-rich models: factorization machines and DeepFM".
    """


class DeepFMRecommender(FeatureRecommender, RatingRecommender, name="deepfm", config=DeepFMConfig):
    """DeepFM trained on ratings.

    Introduced in chapter "Feature-rich models: factorization machines and DeepFM".
    """


class FMRankRecommender(
    FeatureRecommender, ImplicitRecommender, name="fm-rank", config=FMRankConfig
):
    """Factorization machine trained for ranking with log loss and sampled negatives.

    Introduced in chapter "Feature-rich models: factorization machines and DeepFM".
    """


class DeepFMRankRecommender(
    FeatureRecommender, ImplicitRecommender, name="deepfm-rank", config=DeepFMRankConfig
):
    """DeepFM trained for ranking with log loss and sampled negatives.

    Introduced in chapter "Feature-rich models: factorization machines and DeepFM".
    """


def backend_class(backend_base: type, model_class: type, network_class: type, **attributes):
    """``model_class`` run by a backend: a class deriving from both.

    Args:
        backend_base: The backend's :class:`NetworkRecommender` subclass (its hooks).
        model_class: A framework-free model class of this module.
        network_class: The backend's network for this model.
        **attributes: Further class attributes (NeuMF's ``pretrain_classes``).
    """
    summary = model_class.__doc__.strip().splitlines()[0].rstrip(".")
    namespace = {
        "__doc__": f"{summary} ({backend_base.framework}).",
        "__module__": backend_base.__module__,
        "__qualname__": model_class.__name__,
        "network_class": network_class,
        **attributes,
    }
    return type(model_class.__name__, (backend_base, model_class), namespace)
