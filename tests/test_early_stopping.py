"""Early stopping halts on a rising validation RMSE (falling NDCG@10 for ranking models)
and keeps the best epoch's weights; an epoch callback sees every epoch and can stop."""

import numpy as np
import pandas as pd
import pytest

import reclearn
from reclearn import metrics, split
from reclearn.evaluate import evaluate_ranking


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


@pytest.fixture(scope="module")
def last_out():
    dataset = reclearn.make_synthetic(num_users=80, num_items=40, density=0.25, seed=0)
    return split.leave_last_out(dataset.ratings)


RANKING = {"num_factors": 8, "epochs": 6, "batch_size": 256, "verbose": False}


@pytest.mark.parametrize("backend", ["torch", "tf"])
def test_ranking_models_keep_the_epoch_of_best_validation_ndcg(last_out, backend):
    train, val = last_out
    model = reclearn.build("bpr-mf", backend, **RANKING, patience=2)
    records = []
    model.epoch_callback = records.append
    model.fit(train, validation=val)
    assert records == model.history
    ndcg = [h["val_ndcg"] for h in model.history]
    final = evaluate_ranking(model, train, val, metrics=["ndcg"]).summary["ndcg@10"]
    assert final == pytest.approx(max(ndcg), abs=1e-9)


class Stop(Exception):
    """Raised by the test's callback."""


@pytest.mark.parametrize("backend", ["torch", "tf"])
def test_an_epoch_callback_that_raises_stops_training(last_out, backend):
    def stop_at_two(record):
        if record["epoch"] == 2:
            raise Stop

    model = reclearn.build("mf", backend, epochs=5, verbose=False)
    model.epoch_callback = stop_at_two
    with pytest.raises(Stop):
        model.fit(last_out[0])


@pytest.mark.parametrize("backend", ["torch", "tf"])
def test_neumf_pretraining_towers_stop_early_on_the_same_validation(last_out, backend):
    train, val = last_out
    options = {"num_factors": 4, "hidden": (8, 4), "batch_size": 256, "verbose": False}
    model = reclearn.build("neumf", backend, **options, pretrain=True, epochs=30, patience=1)
    model.fit(train, validation=val)
    for history in [*model.pretrain_history.values(), model.history]:
        assert len(history) < 30
        ndcg = [h["val_ndcg"] for h in history]
        assert int(np.argmax(ndcg)) == len(ndcg) - 2  # patience 1
