"""``reclearn bench ddp``: its plan, its checks and its table (no process started)."""

from __future__ import annotations

import re

import pytest

from reclearn import cli
from reclearn.bench import BenchOptions, ddp


def test_each_model_runs_with_one_and_two_processes():
    assert ddp.plan(BenchOptions()) == [("mf", 1), ("mf", 2), ("neumf", 1), ("neumf", 2)]
    assert ddp.plan(BenchOptions(quick=True)) == [("mf", 1), ("mf", 2)]


def test_the_models_flag_reaches_the_options_and_unknown_models_are_refused(tmp_path):
    args = cli.make_parser().parse_args(["bench", "ddp", "--models", "neumf"])
    assert BenchOptions.from_args(args).models == ("neumf",)
    message = "bench ddp: unknown model(s) 'ease'; use mf, neumf"
    with pytest.raises(ValueError, match=re.escape(message)):
        ddp.check(BenchOptions(models=("ease",), out=tmp_path))


def row(processes: int, fit_s: float, per_user: list[float], model: str = "mf") -> dict:
    """A run's row as :func:`reclearn.distributed.launch` returns it (numbers made up)."""
    mean = sum(per_user) / len(per_user)
    return {
        "processes": processes,
        "backend": "gloo",
        "model": model,
        "fit_s": fit_s,
        "rmse": 0.9,
        "ndcg@10": mean,
        "ndcg_low": mean - 0.1,
        "ndcg_high": mean + 0.1,
        "ndcg_per_user": per_user,
        "final_loss": 0.5,
        "load_1m": 3.0,
    }


def test_speed_up_and_ndcg_difference_are_against_one_process():
    table = ddp.compare([row(1, 10.0, [0.0, 0.5, 1.0]), row(2, 20.0, [0.0, 0.5, 1.0])])
    assert table["speedup"].tolist() == [1.0, 0.5]
    assert table["ndcg_diff"].tolist() == [0.0, 0.0]
    assert "ndcg_per_user" not in table
    text = ddp.markdown(table, "head")
    assert "| mf | 2 | 20.0 | 0.50 | 0.9000 | 0.5000 [0.4000, 0.6000] | +0.0000 [" in text


def test_neumf_gets_no_rmse_since_it_scores_probabilities():
    table = ddp.compare([row(1, 10.0, [0.0, 1.0], "neumf"), row(2, 9.0, [0.0, 1.0], "neumf")])
    assert table["rmse"].isna().all()
    assert "| neumf | 2 | 9.0 | 1.11 |  | 0.5000 [" in ddp.markdown(table, "head")
