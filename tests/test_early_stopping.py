"""Early stopping halts on a rising validation RMSE and keeps the best epoch's weights."""

import numpy as np
import pandas as pd
import pytest

import reclearn
from reclearn import metrics, split


def monitored_rmse(model, val) -> float:
    """RMSE on the validation rows whose ids were known in training (those monitored)."""
    predictions = model.predict(val)
    known = ~predictions.fallback
    assert known.sum() > 0.8 * len(val)
    return metrics.rmse(predictions[known], val.rating[known])


@pytest.fixture(scope="module")
def frames():
    # tiny and unregularised, so many factors overfit within a few epochs
    dataset = reclearn.make_synthetic(num_users=80, num_items=60, density=0.15, seed=0)
    return split.random_split(dataset.ratings, test_fraction=0.3, seed=0)


OPTIONS = {
    "num_factors": 32, "l2": 0.0, "init_std": 0.5, "learning_rate": 0.05,
    "batch_size": 64, "epochs": 60, "patience": 1, "verbose": False,
}  # fmt: skip


@pytest.mark.parametrize("backend", ["torch", "tf"])
def test_training_stops_early_and_keeps_the_best_validation_epoch(frames, backend):
    train, val = frames
    model = reclearn.build("mf", backend, **OPTIONS)
    model.fit(train, validation=val, rating_scale=(-100.0, 100.0))  # no clipping
    history = [h["val_rmse"] for h in model.history]
    assert len(history) < OPTIONS["epochs"]
    best = int(np.argmin(history))
    assert best == len(history) - 2  # patience 1: stop at the first epoch that is worse
    assert history[-1] > history[best]
    val_rmse = monitored_rmse(model, val)
    assert val_rmse == pytest.approx(history[best], abs=1e-6)
    assert val_rmse != pytest.approx(history[-1], abs=1e-6)


@pytest.mark.parametrize("backend", ["torch", "tf"])
def test_validation_fraction_holds_out_part_of_train(frames, backend):
    options = {**OPTIONS, "validation_fraction": 0.2, "patience": 2}
    model = reclearn.build("mf", backend, **options).fit(frames[0])
    assert len(model.history) < options["epochs"]
    assert all("val_rmse" in h for h in model.history)


@pytest.mark.parametrize("backend", ["torch", "tf"])
def test_without_patience_training_runs_every_epoch_but_keeps_the_best(frames, backend):
    train, val = frames
    options = {**OPTIONS, "patience": 0, "epochs": 8}
    model = reclearn.build("mf", backend, **options)
    model.fit(train, validation=val, rating_scale=(-100.0, 100.0))
    history = [h["val_rmse"] for h in model.history]
    assert len(history) == 8
    assert monitored_rmse(model, val) == pytest.approx(min(history), abs=1e-6)


def test_validation_rows_with_unknown_ids_are_left_out_of_monitoring(frames):
    train, val = frames
    stranger = pd.DataFrame({"user_id": ["nobody"], "item_id": ["i0"], "rating": [3.0]})
    model = reclearn.build("mf", "torch", **{**OPTIONS, "epochs": 2})
    model.fit(train, validation=pd.concat([val, stranger]), rating_scale=(-100.0, 100.0))
    assert monitored_rmse(model, val) == pytest.approx(
        min(h["val_rmse"] for h in model.history), abs=1e-6
    )
