"""PyTorch DDP: two gloo processes train the same model as one process does."""

from __future__ import annotations

import pytest

from reclearn.distributed import launch

TINY = {"dataset": "synthetic", "epochs": 3, "users": 200, "items": 100, "density": 0.1}


def test_launch_refuses_an_unknown_model_or_process_count():
    with pytest.raises(ValueError, match="unknown model 'ease' for DDP"):
        launch(2, model="ease")
    with pytest.raises(ValueError, match="nproc must be an integer >= 1"):
        launch(0)


@pytest.mark.slow
def test_two_gloo_processes_reach_the_single_process_metrics():
    one = launch(1, **TINY, timeout=300)
    two = launch(2, **TINY, timeout=300)
    assert (one["processes"], two["processes"], two["backend"]) == (1, 2, "gloo")
    # same seed, same global batches, averaged gradients: equal up to float rounding
    assert two["rmse"] == pytest.approx(one["rmse"], abs=1e-4)
    assert two["ndcg@10"] == pytest.approx(one["ndcg@10"], abs=1e-3)


@pytest.mark.slow
def test_tensorflow_multi_worker_mirrored_strategy_trains_on_two_local_workers():
    from reclearn.distributed_tf import launch as launch_tf

    row = launch_tf(2, epochs=2, timeout=600)
    assert row["workers"] == 2
    assert row["loss"][-1] < row["loss"][0]
