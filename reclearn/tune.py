"""Tune a model's options on validation data carved from train, with Optuna.

``tune(name, train, trials=40)`` searches the model's space of
:mod:`reclearn.search_spaces` with a seeded TPE sampler. Each trial fits the model on
train minus validation and scores it on validation: RMSE on a random tenth of train
(rating models) or NDCG@10 under the full ranking protocol on each user's latest
``VALIDATION_ITEMS`` ratings (ranking models), unless a validation frame is given.
Test data is never seen. Deep models report their validation metric every epoch, so a
median pruner stops hopeless trials, and stop early on it; their best epoch becomes the
``epochs`` option.

Introduced in chapter "Evaluation".
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reclearn.checks import check_float, check_int
from reclearn.configs import FIXED_EPOCHS
from reclearn.search_spaces import (
    MAX_EPOCHS,
    PATIENCE,
    RATING_MODELS,
    SEARCH_SPACES,
    build_options,
    suggest,
)

OBJECTIVES = ("rmse", "ndcg@10")
VALIDATION_FRACTION = 0.1
"""Share of train held out at random to validate rating models on."""
VALIDATION_ITEMS = 1
"""Latest ratings per user held out to validate ranking models on: one, as the test
protocol does. Measured on ml-latest-small (20 trials, test NDCG@10 of the chosen
options), five per user transferred worse for EASE (0.0365 vs 0.0399 with one) and
implicit ALS (0.0311 vs 0.0369), better only for ItemKNN (0.0371 vs 0.0341)."""
STARTUP_TRIALS = 5
"""Trials the median pruner lets finish before it prunes any."""
WARMUP_EPOCHS = 2
"""Epochs of a trial the pruner lets pass before it may prune it."""


@dataclass
class TuneResult:
    """What :func:`tune` found.

    Introduced in chapter "Evaluation".
    """

    name: str
    backend: str | None
    """``"torch"`` or ``"tf"`` for deep models, None for the others."""
    objective: str
    best_options: dict
    """Options for ``reclearn.build(name, backend, **best_options)``; deep models get
    the best trial's early-stopped ``epochs``."""
    best_value: float
    """The best trial's validation RMSE or NDCG@10."""
    study: object
    """The ``optuna.Study`` (its trials, sampler and storage)."""
    trials: pd.DataFrame
    """One row per trial: ``number, state, value, seconds, epochs`` and one column per
    searched parameter (Optuna's names)."""

    @property
    def num_complete(self) -> int:
        return int((self.trials["state"] == "COMPLETE").sum())

    @property
    def num_pruned(self) -> int:
        return int((self.trials["state"] == "PRUNED").sum())


def tune(
    name: str,
    train: pd.DataFrame,
    *,
    backend: str = "torch",
    objective: str | None = None,
    validation: pd.DataFrame | None = None,
    trials: int | None = None,
    timeout: float | None = None,
    seed: int = 0,
    storage: str | None = None,
    study_name: str | None = None,
    content=None,
    pruner=None,
    verbose: bool = True,
) -> TuneResult:
    """Search model ``name``'s options on validation data carved from ``train``.

    Args:
        name: A model of :data:`reclearn.search_spaces.SEARCH_SPACES`.
        train: Training ratings; validation is carved from them (never pass test).
        backend: ``"torch"`` or ``"tf"`` for deep models; ignored by the others.
        objective: ``"rmse"`` (rating models) or ``"ndcg@10"`` (ranking models);
            None: the model's own.
        validation: Ratings to validate on instead of carving them from ``train``.
        trials: Run until the study holds this many finished (complete or pruned)
            trials, those of a resumed study included.
        timeout: Stop starting trials after this many seconds (with ``trials``: at
            whichever comes first).
        seed: Seed of the sampler and of the validation split.
        storage: None (in memory) or an Optuna RDB URL, e.g. ``"sqlite:///study.db"``:
            the study is saved there and resumed when it exists.
        study_name: Name of the study in ``storage`` (default ``<name>-<backend>-
            <objective>``).
        content: Item content (:func:`reclearn.content.item_content`) for content models.
        pruner: An Optuna pruner (default: median pruner after ``STARTUP_TRIALS``
            trials and ``WARMUP_EPOCHS`` epochs).
        verbose: Print one line per trial on stderr.

    Returns:
        A :class:`TuneResult`.

    Raises:
        ValueError: Unknown model, backend or objective, a model without a search
            space, an objective the model is not tuned for, neither ``trials`` nor
            ``timeout``, a content model without ``content``, or no trial completed.
        TypeError: ``storage`` or ``study_name`` is not a string.

    Introduced in chapter "Evaluation".
    """
    import optuna

    objective = check_arguments(name, backend, objective, trials, timeout, content)
    seed = check_int("seed", seed, minimum=0)
    for argument, value in (("storage", storage), ("study_name", study_name)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{argument} must be a string or None, got {value!r}")
    inner, validation = _validation(train, validation, objective, seed)
    deep = name in MAX_EPOCHS
    label = f"{name}-{backend}" if deep else name
    fit = _Objective(name, backend, objective, inner, validation, content, train)
    callbacks = [_Progress(label, objective, trials)] if verbose else []
    with _quiet_optuna():
        study = _create_study(
            storage,
            study_name=study_name or f"{label}-{objective}",
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=pruner or optuna.pruners.MedianPruner(STARTUP_TRIALS, WARMUP_EPOCHS),
            direction="minimize" if objective == "rmse" else "maximize",
            load_if_exists=True,
        )
        remaining = None if trials is None else max(0, trials - len(_finished(study)))
        study.optimize(fit, n_trials=remaining, timeout=timeout, callbacks=callbacks)
    return _result(name, backend, objective, study, deep)


def check_arguments(name, backend, objective, trials, timeout, content=False) -> str:
    """The objective, once the arguments of :func:`tune` are checked (``content``:
    ``False`` skips its check).

    Raises:
        ValueError: As :func:`tune`.
    """
    from reclearn.registry import BACKENDS, available_models

    if not isinstance(name, str) or name not in SEARCH_SPACES:
        known = name in available_models() if isinstance(name, str) else False
        why = "has no search space" if known else "is not a model"
        raise ValueError(
            f"{name!r} {why}; models reclearn.tune can tune: {', '.join(SEARCH_SPACES)}"
        )
    if name in MAX_EPOCHS and backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; use 'torch' or 'tf'")
    own = "rmse" if name in RATING_MODELS else "ndcg@10"
    if objective is not None and objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; use one of {OBJECTIVES}")
    if objective is not None and objective != own:
        task = "rating prediction" if own == "rmse" else "ranking"
        raise ValueError(
            f"{name!r} is a {task} model, tuned for objective={own!r}, not {objective!r}"
        )
    if trials is None and timeout is None:
        raise ValueError("give a budget: trials=N, timeout=seconds, or both")
    if trials is not None:
        check_int("trials", trials, minimum=1)
    if timeout is not None:
        check_float("timeout", timeout, positive=True)
    if reads_content(name) and content is None:
        raise ValueError(
            f"{name!r} reads item content: pass content=reclearn.content.item_content("
            "dataset.items)"
        )
    return own


def reads_content(name: str) -> bool:
    """Whether model ``name`` is tuned with item content: the content models, and the
    factorization machines with their release-time fields, as the benchmarks run them."""
    from reclearn.registry import CONTENT_MODELS, FEATURE_MODELS

    return name in CONTENT_MODELS or name in FEATURE_MODELS


def _validation(train, validation, objective: str, seed: int):
    """(inner train, validation): ``validation`` as given, or carved from ``train``."""
    from reclearn import split
    from reclearn.interactions import validate_ratings

    validate_ratings(train, what="train")
    if validation is not None:
        validate_ratings(validation, what="validation")
        return train, validation
    if objective == "rmse":
        return split.random_split(train, VALIDATION_FRACTION, seed=seed)
    if "timestamp" not in train.columns:
        raise ValueError(
            "objective 'ndcg@10' validates on each user's latest rating "
            "(split.leave_last_out), which needs a timestamp column in train; "
            "add one or pass validation=..."
        )
    return split.leave_last_out(train, n=VALIDATION_ITEMS, seed=seed)


class _Objective:
    """One trial: build with suggested options, fit on inner train, score validation."""

    def __init__(self, name, backend, objective, inner, validation, content, train):
        self.name, self.backend, self.objective = name, backend, objective
        self.inner, self.validation, self.content = inner, validation, content
        rating = train["rating"]
        self.rating_scale = (float(rating.min()), float(rating.max()))

    def __call__(self, trial) -> float:
        import optuna

        from reclearn.models.training import TrainingDiverged
        from reclearn.registry import build

        options = suggest(trial, self.name)
        deep = self.name in MAX_EPOCHS
        if deep:
            options |= {"epochs": MAX_EPOCHS[self.name], "patience": PATIENCE}
            options |= {"verbose": False}
        if reads_content(self.name):
            options["content"] = self.content
        model = build(self.name, self.backend, **options)
        if deep:
            model.epoch_callback = self._reporter(trial)
        # only deep models watch validation in fit (EASE would tune its own l2 on it)
        watched = self.validation if deep else None
        try:
            model.fit(self.inner, validation=watched, **self._scale())
        except TrainingDiverged as error:
            trial.set_user_attr("diverged", str(error))
            raise optuna.TrialPruned(str(error)) from None
        if deep:
            trial.set_user_attr("epochs", _best_epoch(model.history))
        if getattr(model, "pretrain_history", None):  # NeuMF's towers have their own
            towers = model.pretrain_history.values()
            trial.set_user_attr("pretrain_epochs", max(map(_best_epoch, towers)))
        return self._score(model)

    def _scale(self) -> dict:
        return {"rating_scale": self.rating_scale} if self.objective == "rmse" else {}

    def _reporter(self, trial):
        """An epoch callback reporting the validation metric; raises ``TrialPruned``."""
        import optuna

        key = "val_rmse" if self.objective == "rmse" else "val_ndcg"

        def report(record: dict) -> None:
            if key not in record:
                return
            trial.report(record[key], record["epoch"])
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at epoch {record['epoch']}")

        return report

    def _score(self, model) -> float:
        from reclearn import metrics
        from reclearn.evaluate import evaluate_ranking

        if self.objective == "rmse":
            predicted = model.predict(self.validation)
            return metrics.rmse(predicted, self.validation["rating"].to_numpy())
        result = evaluate_ranking(model, self.inner, self.validation, metrics=["ndcg"])
        return result.summary["ndcg@10"]


def _best_epoch(history: list[dict]) -> int:
    """The epoch early stopping kept (the last one when nothing was monitored)."""
    from reclearn.models.training import validation_loss

    scores = [validation_loss(record) for record in history]
    if not history or scores[0] is None:
        return len(history)
    return history[int(np.argmin(scores))]["epoch"]


def _create_study(storage: str | None, **options):
    """``optuna.create_study``; a storage that cannot be opened is named in one line."""
    import optuna

    if storage is None:
        return optuna.create_study(**options)
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return optuna.create_study(storage=storage, **options)
    except SQLAlchemyError as error:
        reason = str(error).splitlines()[0]
        raise ValueError(
            f"cannot open the Optuna storage {storage!r} ({reason}); give a database URL "
            "such as 'sqlite:///study.db' in a writable folder"
        ) from None


def _finished(study) -> list:
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))


class _Progress:
    """One line per finished trial on stderr."""

    def __init__(self, label: str, objective: str, trials: int | None):
        self.label, self.objective, self.trials = label, objective, trials

    def __call__(self, study, trial) -> None:
        from optuna.trial import TrialState

        done = len(_finished(study))
        count = f"{done}/{self.trials}" if self.trials else f"{done}"
        seconds = trial.duration.total_seconds() if trial.duration else 0.0
        if trial.state == TrialState.COMPLETE:
            outcome = f"{self.objective} {trial.value:.4f}"
        else:
            outcome = trial.state.name.lower()
        best = _best_trial(study)
        best_text = f"; best {best.value:.4f} (trial {best.number})" if best else ""
        print(
            f"tune {self.label}: trial {trial.number} ({count}) {outcome} "
            f"in {seconds:.1f} s{best_text}",
            file=sys.stderr,
            flush=True,
        )


def _best_trial(study):
    """The best complete trial, or None."""
    try:
        return study.best_trial
    except ValueError:
        return None


@contextlib.contextmanager
def _quiet_optuna():
    """Optuna's own log at WARNING while a study runs (our progress replaces it)."""
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def _result(name: str, backend: str, objective: str, study, deep: bool) -> TuneResult:
    best = _best_trial(study)
    if best is None:
        raise ValueError(
            f"no trial of {study.study_name!r} completed ({len(study.trials)} ran, all "
            "pruned or failed): give a larger budget (trials or timeout)"
        )
    options = build_options(name, best.params)
    if deep:  # retrain on all of train for the best trial's early-stopped epochs
        options |= FIXED_EPOCHS | {"epochs": best.user_attrs["epochs"]}
    if "pretrain_epochs" in best.user_attrs:
        options["pretrain_epochs"] = best.user_attrs["pretrain_epochs"]
    return TuneResult(
        name=name,
        backend=backend if deep else None,
        objective=objective,
        best_options=options,
        best_value=float(best.value),
        study=study,
        trials=trials_frame(study),
    )


def replay_options(options: dict) -> dict:
    """Committed tuned options, to build the model as the best trial trained: a deep
    model (its options hold ``epochs``) trains that many epochs on all of train (records
    written before rating models held out a validation slice by default lack
    :data:`reclearn.configs.FIXED_EPOCHS`)."""
    return FIXED_EPOCHS | options if "epochs" in options else dict(options)


def trials_frame(study) -> pd.DataFrame:
    """One row per trial of ``study``: ``number, state, value, seconds, epochs`` and the
    parameters (Optuna's names)."""
    rows = []
    for trial in study.trials:
        seconds = trial.duration.total_seconds() if trial.duration else np.nan
        rows.append(
            {
                "number": trial.number,
                "state": trial.state.name,
                "value": np.nan if trial.value is None else trial.value,
                "seconds": seconds,
                "epochs": trial.user_attrs.get("epochs", np.nan),
                **trial.params,
            }
        )
    return pd.DataFrame(rows)


def benchmark_train(ratings: pd.DataFrame, name: str, seed: int = 0) -> tuple:
    """The training part of the benchmark that reports model ``name``, so that tuning on
    it never sees that benchmark's test rows.

    Rating models: the train of fold 0 of ``split.kfold(ratings, 5, seed)`` (``reclearn
    bench mf``; the other folds' test rows are in it). Content models: the train of the
    new-item split of ``reclearn bench cold-start``. Other ranking models: the train of
    ``split.leave_last_out(ratings)`` (``reclearn bench ranking``).

    Returns:
        ``(train, description)``, the description for the record of the run.
    """
    from reclearn import split
    from reclearn.bench import DEFAULT_FOLDS
    from reclearn.bench.cold_start import ITEM_FRACTION
    from reclearn.registry import CONTENT_MODELS

    if name in RATING_MODELS:
        train, _ = next(iter(split.kfold(ratings, DEFAULT_FOLDS, seed=seed)))
        return train, f"train of fold 0 of split.kfold(ratings, {DEFAULT_FOLDS}, seed={seed})"
    if name in CONTENT_MODELS:
        train, _ = split.cold_item_split(ratings, ITEM_FRACTION, seed=seed)
        return train, f"train of split.cold_item_split(ratings, {ITEM_FRACTION}, seed={seed})"
    return split.leave_last_out(ratings)[0], "train of split.leave_last_out(ratings)"
