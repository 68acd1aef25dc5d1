"""``reclearn bench scale-out``: its sizes, its plan and its files (no model trained)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from reclearn import cli
from reclearn.bench import BenchOptions, scale_out


def test_25m_ratings_have_ml_25m_users_and_items():
    assert scale_out.shape(25_000_095) == (162_541, 59_047)
    users, items = scale_out.shape(1_000_000)
    assert (users, items) == (6_502, 11_809)


def test_ease_is_planned_only_where_its_matrices_fit_in_memory(monkeypatch):
    monkeypatch.setattr(scale_out, "memory_gb", lambda: 23.0)
    tasks = scale_out.plan(BenchOptions())
    assert (1_000_000, "ease") in tasks
    assert (10_000_000, "ease") not in tasks
    assert (25_000_095, "ease") not in tasks
    assert {label for _, label in tasks} == set(scale_out.MODELS)
    assert round(scale_out.ease_gb(*scale_out.shape(10_000_000))) == 75


def test_sizes_and_models_choose_the_measurements():
    options = BenchOptions(sizes=(25_000_095, 10**6), models=("als", "mf-tf"))
    assert scale_out.plan(options) == [
        (25_000_095, "als"),
        (25_000_095, "mf-tf"),
        (10**6, "als"),
        (10**6, "mf-tf"),
    ]


def test_the_flags_reach_the_options():
    args = cli.make_parser().parse_args(
        ["bench", "scale-out", "--sizes", "1000000", "25000095", "--models", "als"]
    )
    options = BenchOptions.from_args(args)
    assert (options.sizes, options.models) == ((10**6, 25_000_095), ("als",))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"dataset": "synthetic"}, "--dataset 'synthetic': leave it out"),
        ({"models": ("mf", "als")}, "unknown model(s) 'mf'; use mf-torch, mf-tf"),
        ({"sizes": (500,)}, "sizes[0] must be an integer of at least 10000, got 500"),
    ],
)
def test_bad_choices_are_refused_before_any_work(tmp_path, options, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        scale_out.check(BenchOptions(out=tmp_path, **options))


def rows(size: int, labels, fit_s: float = 2.0) -> list[dict]:
    """Measured rows at ``size`` ratings for ``labels``, every number made up."""
    users, items = scale_out.shape(size)
    return [
        {
            "ratings": size,
            "users": users,
            "items": items,
            "model": label,
            "fit_s": fit_s,
            "ratings_per_s": size / fit_s,
            "peak_mb": 500.0,
            "ndcg@10": 0.1,
            "rmse": np.nan,
        }
        for label in labels
    ]


@pytest.fixture
def no_versions(monkeypatch):
    """Leave the frameworks unimported: the header's versions are not under test."""
    monkeypatch.setattr(scale_out, "versions", lambda: "versions")


@pytest.mark.usefixtures("no_versions")
def test_a_run_merges_into_the_csv_and_says_why_each_model_did_not_run(tmp_path):
    options = BenchOptions(out=tmp_path, sizes=(10**6,))
    scale_out.write(rows(10**6, scale_out.MODELS, fit_s=36.0), options)
    options = BenchOptions(out=tmp_path, sizes=(25_000_095,), models=("als",))
    scale_out.write(rows(25_000_095, ["als"], fit_s=90.0), options)
    table = pd.read_csv(tmp_path / "scale_out.csv")
    assert len(table) == 2 * len(scale_out.MODELS)
    assert table["note"].isna().sum() == len(scale_out.MODELS) + 1
    notes = table.set_index(["ratings", "model"])["note"]
    assert notes[25_000_095, "spark-als"] == (
        "not run for time: its fit took 36 s at 1,000,000 ratings, about 15 min here if linear"
    )
    assert notes[25_000_095, "ease"].startswith("not run: needs 266 GiB of memory")
    assert list(table["model"][: len(scale_out.MODELS)]) == list(scale_out.MODELS)
    markdown = (tmp_path / "scale_out.md").read_text()
    assert "| 25,000,095 | 162,541 | 59,047 | als | 90.0 | 277,779 | 500 | 0.1000 |" in markdown
    assert (tmp_path / "scale_out.png").stat().st_size > 1000


@pytest.mark.usefixtures("no_versions")
def test_measuring_a_model_again_replaces_its_row(tmp_path):
    options = BenchOptions(out=tmp_path, sizes=(10**6,), models=("als",))
    scale_out.write(rows(10**6, ["als"], fit_s=36.0), options)
    scale_out.write(rows(10**6, ["als"], fit_s=12.0), options)
    table = pd.read_csv(tmp_path / "scale_out.csv")
    assert table.loc[table["note"].isna(), "fit_s"].tolist() == [12.0]
    assert table["note"].str.contains("not asked for").sum() == len(scale_out.MODELS) - 1


def test_a_long_predicted_fit_is_given_in_hours():
    smaller = pd.DataFrame({"ratings": [972_107], "fit_s": [406.0]})
    assert scale_out.reason("spark-als", 25_000_095, smaller) == (
        "not run for time: its fit took 406 s at 972,107 ratings, about 2.9 h here if linear"
    )
    assert scale_out.reason("als", 10**6, smaller.iloc[:0]) == "not run: not asked for"


@pytest.mark.usefixtures("no_versions")
def test_the_header_says_when_the_load_shows_a_shared_machine(tmp_path, monkeypatch):
    monkeypatch.setattr(scale_out.os, "cpu_count", lambda: 2)
    options = BenchOptions(out=tmp_path, sizes=(10**6,), models=("als",))
    scale_out.write([rows(10**6, ["als"])[0] | {"load_1m": 1.5}], options)
    assert "shared:" not in (tmp_path / "scale_out.md").read_text()
    scale_out.write([rows(10**6, ["als"])[0] | {"load_1m": 7.25}], options)
    assert (
        "The machine was shared: loads up to 7.2 on 2 CPUs."
        in (tmp_path / "scale_out.md").read_text()
    )
    scale_out.write([], options)  # no new rows: the files are written again as they were
    assert len(pd.read_csv(tmp_path / "scale_out.csv")) == len(scale_out.MODELS)
