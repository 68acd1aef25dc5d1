"""``reclearn bench scale-out``: its sizes, its plan and its files (no model trained)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reclearn.bench import BenchOptions, scale_out


def test_25m_ratings_have_ml_25m_users_and_items():
    assert scale_out.shape(25_000_095) == (162_541, 59_047)
    users, items = scale_out.shape(1_000_000)
    assert (users, items) == (6_502, 11_809)


def test_ease_is_planned_only_where_its_item_matrix_fits():
    tasks = scale_out.plan(BenchOptions())
    assert (1_000_000, "ease") in tasks
    assert (25_000_095, "ease") not in tasks
    assert {label for _, label in tasks} == set(scale_out.MODELS)


def test_a_data_set_is_refused_since_the_benchmark_makes_its_own(tmp_path):
    with pytest.raises(ValueError, match="--dataset 'synthetic': leave it out"):
        scale_out.check(BenchOptions(dataset="synthetic", out=tmp_path))


def test_the_table_and_figure_show_every_row(tmp_path):
    rows = pd.DataFrame(
        {
            "ratings": [10**6, 10**7],
            "users": [6502, 65016],
            "items": [11809, 37345],
            "model": ["als", "als"],
            "fit_s": [2.0, 30.0],
            "ratings_per_s": [5e5, 3.3e5],
            "peak_mb": [500.0, 3000.0],
            "ndcg@10": [0.1, 0.12],
            "rmse": [np.nan, np.nan],
        }
    )
    table = scale_out.markdown(rows, "head")
    assert "| 10,000,000 | 65,016 | 37,345 | als | 30.0 | 330,000 | 3,000 | 0.1200 |  |" in table
    scale_out.figure(rows, tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 1000
