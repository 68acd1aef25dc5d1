"""``reclearn bench scale``: its plan, its memory probe and one small measurement."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from reclearn.bench import BenchOptions, scale


def test_the_plan_measures_every_size_users_and_backend_in_order():
    tasks = scale.plan(BenchOptions())
    assert len(tasks) == len(scale.RATINGS) * len(scale.USERS) * 2
    assert tasks[:2] == [(1_000_000, 10_000, "torch"), (1_000_000, 10_000, "tf")]
    assert scale.plan(BenchOptions(backend="tf", quick=True)) == [
        (100_000, 1_000, "tf"),
        (100_000, 10_000, "tf"),
    ]


def test_a_data_set_is_refused_since_the_benchmark_makes_its_own(tmp_path):
    with pytest.raises(ValueError, match="--dataset 'synthetic': leave it out"):
        scale.check(BenchOptions(dataset="synthetic", out=tmp_path))


def test_peak_memory_sees_an_allocation_made_and_freed_inside_the_block():
    with scale.PeakMemory() as memory:
        start = scale.rss_mb()
        block = np.ones(50 * 2**20 // 8)  # 50 MB, touched
        deadline = time.monotonic() + 5  # a busy machine may delay the sampling thread
        while memory.peak < start + 45 and time.monotonic() < deadline:
            time.sleep(0.01)
        del block
    assert memory.peak >= start + 45


def test_one_measurement_runs_in_its_own_process_and_reports_its_row():
    row = scale.measure_in_process(20_000, 1_000, "torch", epochs=1, seed=0)
    assert (row["ratings"], row["users"], row["backend"], row["epochs"]) == (
        20_000,
        1_000,
        "torch",
        1,
    )
    assert 0 < row["fit_s"] and row["rss_before_fit_mb"] <= row["peak_fit_mb"]
    assert np.isfinite(row["final_loss"])


def test_growth_compares_the_most_users_with_the_fewest_per_backend_and_size():
    rows = [
        {"ratings": 10, "users": u, "backend": "torch", "fit_s": s}
        for u, s in ((100, 2.0), (10, 1.0), (50, 1.5))
    ]
    (line,) = scale.growth(pd.DataFrame(rows))
    assert line == "torch, 10 ratings: 100 users fit in 2.00x the time of 10 users"
