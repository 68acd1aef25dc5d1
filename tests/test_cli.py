"""The ``reclearn`` command line: help, data sets, statistics, errors, the benchmarks and
tuning."""

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reclearn import bench, cli, data
from reclearn.bench import BenchOptions, cold_start, mf, ranking
from reclearn.describe import dataset_table, describe

SCRIPT = Path(sys.executable).parent / "reclearn"
RUNNERS = {"module": [sys.executable, "-m", "reclearn"], "script": [str(SCRIPT)]}
COMMANDS = [
    [],
    ["datasets"],
    ["stats"],
    ["download"],
    ["bench"],
    ["bench", "mf"],
    ["bench", "ranking"],
    ["bench", "cold-start"],
    ["bench", "all"],
    ["tune"],
]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "RECLEARN_PLAIN_PROGRESS": "1"}


def reclearn(*args, runner="module", env=None, cwd=None):
    return subprocess.run(
        [*RUNNERS[runner], *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env or ENV,
        cwd=cwd,
    )


def markdown_tables(text: str) -> list[list[dict]]:
    """Every Markdown table in ``text`` as a list of rows (header -> cell)."""
    tables, block = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append([cell.strip() for cell in line.strip().strip("|").split("|")])
            continue
        if block:
            header, rule, *rows = block
            assert all(set(cell) == {"-"} for cell in rule), f"bad separator row {rule}"
            assert all(len(row) == len(header) for row in rows), f"ragged table {header}"
            tables.append([dict(zip(header, row, strict=True)) for row in rows])
            block = []
    return tables


@pytest.mark.parametrize("runner", list(RUNNERS))
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_every_command_prints_its_help_and_exits_zero(runner, command):
    if runner == "script":
        assert SCRIPT.is_file(), "no console script: run .venv/bin/pip install -e . --no-deps"
    result = reclearn(*command, "--help", runner=runner)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: reclearn {' '.join(command)}".rstrip())
    assert "Traceback" not in result.stderr


def test_top_level_help_names_every_command():
    out = reclearn("--help").stdout
    assert all(name in out for name in ("datasets", "stats", "download", "bench", "tune"))


def test_datasets_lists_every_registry_entry_with_status_and_licence(capsys):
    assert cli.main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ["ml-latest-small", "synthetic", *data.REGISTRY]:
        assert any(line.startswith(name + " ") for line in out.splitlines()), name
    notes = [line.strip().split(": ")[0] for line in out.splitlines() if line.startswith(" ")]
    assert notes == ["licence", "licence text"] * (len(data.REGISTRY) + 2)
    assert "ml-latest-small       3.3 MB  bundled" in out
    assert "README.txt" in out


def test_dataset_table_marks_a_cached_archive_as_downloaded(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / "ml-1m.zip").write_bytes(b"not checked here")
    status = dataset_table().set_index("name")["status"]
    assert status["ml-1m"] == "downloaded"
    assert status["ml-100k"] == "not present"
    assert status["synthetic"] == "bundled"
    assert status["ml-latest-small"].startswith("missing")


def test_stats_prints_the_known_counts_of_ml_latest_small(capsys):
    assert cli.main(["stats", "ml-latest-small"]) == 0
    out = capsys.readouterr().out
    for expected in (
        r"users +610",
        r"items +9,724 rated \(9,742 in the item table\)",
        r"ratings +100,836",
        r"density +1\.70% of the user-item matrix",
        r"ratings per user +min 20, 25% 35, median 70\.5, 75% 168, max 2,698, mean 165\.3",
        r" +4 +26,818 +26\.6%",
        r"time span +1996-03-29 to 2018-09-24 \(22\.5 years\)",
    ):
        assert re.search(rf"^ +{expected}$", out, flags=re.MULTILINE), expected


def test_describe_counts_a_hand_made_frame_exactly():
    ratings = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "b"],
            "item_id": ["x", "y", "z", "x"],
            "rating": [1.0, 2.0, 2.0, 5.0],
            "timestamp": [0, 86_400, 86_400, 172_800],
        }
    )
    stats = describe(ratings)
    assert (stats["users"], stats["items"], stats["ratings"]) == (2, 3, 4)
    assert stats["density"] == 4 / 6
    assert stats["per_user"] == {
        "min": 1.0, "25%": 1.5, "median": 2.0, "75%": 2.5, "max": 3.0, "mean": 2.0
    }  # fmt: skip
    assert stats["per_item"]["max"] == 2.0
    assert stats["values"].to_dict() == {1.0: 1, 2.0: 2, 5.0: 1}
    assert str(stats["first"]) == "1970-01-01 00:00:00+00:00"
    assert (stats["last"] - stats["first"]).days == 2


def test_an_unknown_data_set_exits_non_zero_with_one_line_naming_it():
    result = reclearn("stats", "no-such-set")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "reclearn: error: unknown data set 'no-such-set'; known data sets: ml-latest-small, "
        "synthetic, " + ", ".join(data.REGISTRY)
    ]


def test_stats_of_an_archive_not_downloaded_names_the_download_command(tmp_path):
    result = reclearn("stats", "ml-1m", env={**ENV, "RECLEARN_DATA": str(tmp_path)})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "ml-1m is not downloaded; run 'reclearn download ml-1m'" in result.stderr


def test_download_refuses_a_name_that_is_not_a_registered_archive():
    result = reclearn("download", "ml-latest-small")
    assert result.returncode == 2
    assert "invalid choice: 'ml-latest-small'" in result.stderr


def test_download_without_a_network_fails_with_one_line_and_keeps_nothing(
    tmp_path, monkeypatch, capsys
):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    assert cli.main(["download", "ml-100k"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("reclearn: error: could not download https://files.grouplens.org/")
    assert "no route to host" in line
    assert list((tmp_path / "downloads").iterdir()) == []


def test_the_data_commands_load_no_deep_learning_framework():
    script = (
        "import json, sys, contextlib, io, reclearn.cli as c\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    c.main(['datasets']); c.main(['stats', 'synthetic']); c.make_parser()\n"
        "print(json.dumps([m for m in ('torch', 'tensorflow', 'keras', 'surprise') "
        "if m in sys.modules]))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


def test_default_out_is_the_repository_results_folder_only_from_inside_it(tmp_path, monkeypatch):
    monkeypatch.chdir(bench.ROOT / "reclearn")
    assert bench.default_out() == bench.ROOT / "benchmarks" / "results"
    monkeypatch.chdir(tmp_path)
    assert bench.default_out() == tmp_path


def test_file_stems_mark_other_data_sets_and_quick_runs():
    assert bench.stem("mf", "ml-latest-small", quick=False) == "mf"
    assert bench.stem("mf", "synthetic", quick=True) == "mf-synthetic-quick"
    assert bench.stem("cold_start", "ml-latest-small", quick=True) == "cold_start-quick"


def test_backend_choice_filters_the_deep_models_only():
    assert mf.choose_models(backend="torch", quick=True) == [
        "mf-torch", "surprise-baseline", "surprise-svd"
    ]  # fmt: skip
    assert ranking.choose_models(backend="tf", quick=True) == ["pop", "ease", "bpr-mf-tf"]
    assert len(mf.choose_models()) == 17
    assert len(ranking.choose_models()) == 28
    with pytest.raises(ValueError, match="unknown model"):
        mf.choose_models(["svd"])
    with pytest.raises(ValueError, match="unknown backend 'jax'"):
        bench.backends("jax")


def test_bench_flags_make_one_options_object_whose_defaults_are_the_flags_defaults():
    parser = cli.make_parser()
    for benchmark in ("mf", "ranking", "cold-start", "all"):
        args = parser.parse_args(["bench", benchmark])
        assert BenchOptions.from_args(args) == BenchOptions()
    args = parser.parse_args(["bench", "mf", *QUICK, "--models", "mf-tf", "--folds", "3"])
    options = BenchOptions.from_args(args)
    assert (options.dataset, options.quick, options.epochs) == ("synthetic", True, 2)
    assert (options.models, options.folds, options.out) == (("mf-tf",), 3, None)


def test_cold_start_plan_has_one_fit_per_experiment_model_backend_and_n():
    tasks = cold_start.plan("both")
    assert len(tasks) == 2 * (7 + 4 + 5 * 5)  # fm-rank in the release and n groups
    assert tasks[:2] == [("torch", "pop", "", "release"), ("torch", "mf", "", "release")]
    assert tasks[7:11] == [
        ("torch", name, "", "post-release") for name in cold_start.POST_RELEASE_MODELS
    ]
    assert {signals for *_, n, signals in tasks if n != ""} == {"release"}
    assert len(cold_start.plan("tf", quick=True)) == 4 + 2 + 2 * 5


def test_floors_pass_and_fail_on_hand_made_results():
    def summary(torch_rmse):
        rows = [
            {"model": "mf-torch", "backend": "torch", "rmse": torch_rmse, "fit_s": 0.2},
            {"model": "surprise-svd", "backend": "surprise", "rmse": 0.88, "fit_s": 0.6},
            {"model": "surprise-svdpp", "backend": "surprise", "rmse": 0.87, "fit_s": 30},
        ]
        frame = pd.DataFrame(rows).assign(mae=0.0, predict_s=0.0, num_fallback=0)
        return mf.summarize(frame)

    lines, failures = mf.check_floors(summary(0.85))
    assert failures == []
    assert "  PASS  mf-torch RMSE < surprise-svd RMSE: 0.8500 vs 0.8800 (-0.0300)" in lines
    assert "  SKIP  mf-tf RMSE < surprise-svd RMSE (not both run)" in lines
    assert any(line.startswith("  PASS  mf-torch fit time < surprise-svdpp") for line in lines)
    assert mf.check_floors(summary(0.90))[1] == ["mf-torch RMSE < surprise-svd RMSE"]


def test_update_readme_replaces_only_the_marked_section(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"a\n{mf.MARKERS[0]}\nold\n{mf.MARKERS[1]}\nb\n")
    assert mf.update_readme(readme, "new\n")
    assert readme.read_text() == f"a\n{mf.MARKERS[0]}\nnew\n{mf.MARKERS[1]}\nb\n"
    readme.write_text("no markers\n")
    assert not mf.update_readme(readme, "new\n")


QUICK = ["--dataset", "synthetic", "--quick", "--epochs", "2"]


@pytest.mark.slow
def test_bench_mf_runs_end_to_end_and_prints_the_table_it_writes(tmp_path, capsys):
    assert cli.main(["bench", "mf", *QUICK, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out == (tmp_path / "mf-synthetic-quick.md").read_text() + "\n"
    (table,) = markdown_tables(out)
    assert {row["model"] for row in table} == set(mf.QUICK_MODELS)
    for row in table:
        mean, std = (float(x) for x in row["RMSE"].split(" ± "))
        assert 0.3 < mean < 2 and std >= 0
    results = pd.read_csv(tmp_path / "mf-synthetic-quick.csv")
    assert len(results) == mf.QUICK_FOLDS * len(mf.QUICK_MODELS)
    assert sorted(results["fold"].unique()) == [0, 1]
    pairs = pd.read_csv(tmp_path / "mf-synthetic-quick-pairs.csv")
    assert len(pairs) == mf.QUICK_FOLDS * (len(mf.QUICK_MODELS) - 1)
    assert set(pairs["reference"]) == {"mf-torch"} and "mf-torch" not in set(pairs.model)
    mse = results.set_index(["fold", "model"])["rmse"] ** 2
    for row in pairs.itertuples():
        gap = mse[row.fold, row.model] - mse[row.fold, "mf-torch"]
        assert abs(row.mse_difference - gap) < 1e-4 and row.ci_low <= row.ci_high


@pytest.mark.slow
def test_bench_ranking_runs_end_to_end_with_stored_negatives(tmp_path, capsys):
    args = ["bench", "ranking", *QUICK, "--backend", "torch", "--out", str(tmp_path)]
    assert cli.main(args) == 0
    full, sampled = markdown_tables(capsys.readouterr().out)
    assert [row["model"] for row in full] == ["pop", "ease", "bpr-mf-torch"]
    assert [row["model"] for row in sampled] == ["pop", "ease", "bpr-mf-torch"]
    for row in full + sampled:
        mean, low, high = _interval(row["ndcg@10"])
        assert 0 <= low <= mean <= high <= 1
    negatives = pd.read_csv(tmp_path / "negatives-synthetic-seed0.csv")
    assert len(negatives) == 500
    results = pd.read_csv(tmp_path / "ranking-synthetic-quick.csv")
    assert set(results["protocol"]) == {"full", "sampled"}
    users = pd.read_csv(tmp_path / "ranking-synthetic-quick-users.csv")
    assert list(users.columns) == ["model", "user_id", "hr@10", "ndcg@10"]
    full_ndcg = results.query("protocol == 'full' and metric == 'ndcg@10'")
    means = users.groupby("model", sort=False)["ndcg@10"].mean()
    assert np.allclose(means[full_ndcg["model"]], full_ndcg["mean"], atol=1e-5)


@pytest.mark.slow
def test_bench_ranking_tuned_builds_the_models_with_their_tuned_options(tmp_path, capsys):
    tuned, out = tmp_path / "tuned", tmp_path / "out"
    for model in (["ease"], ["bpr-mf", "--backend", "torch"]):
        argv = ["tune", *model, "--dataset", "synthetic", "--trials", "2"]
        assert cli.main([*argv, "--out", str(tuned)]) == 0
    l2 = json.loads((tuned / "synthetic" / "ease.json").read_text())["best_options"]["l2"]
    capsys.readouterr()
    args = ["bench", "ranking", "--dataset", "synthetic", "--quick", "--backend", "torch"]
    assert cli.main([*args, "--tuned", "--tuned-dir", str(tuned), "--out", str(out)]) == 0
    text = (out / "ranking-synthetic-quick-tuned.md").read_text()
    assert "validation carved from train) for 2 model(s), 2 trials each." in text
    assert f"EASE l2 = {l2:g}" not in text  # not re-chosen
    assert [row["model"] for row in markdown_tables(text)[0]] == ["pop", "ease", "bpr-mf-torch"]


def test_bench_tuned_without_tuned_options_says_which_command_makes_them(tmp_path, capsys):
    args = ["bench", "ranking", "--dataset", "synthetic", "--backend", "tf", "--quick"]
    line = error_line([*args, "--tuned", "--tuned-dir", str(tmp_path)], capsys)
    assert line == (
        f"reclearn: error: no tuned options for 'ease' on 'synthetic': "
        f"{tmp_path / 'synthetic' / 'ease.json'} is missing; make it with: reclearn tune "
        "ease --dataset synthetic --trials 20, as make tune does (or run without --tuned)"
    )
    (tmp_path / "synthetic").mkdir()
    record = {"model": "ease", "backend": None, "dataset": "synthetic", "best_options": {}}
    (tmp_path / "synthetic" / "ease.json").write_text(json.dumps(record))
    line = error_line([*args, "--tuned", "--tuned-dir", str(tmp_path)], capsys)
    assert "no tuned options for 'bpr-mf-tf'" in line and "--backend tf" in line
    with pytest.raises(ValueError, match="epochs and tuned exclude each other"):
        BenchOptions(epochs=2, tuned=True)


def test_the_budget_sentence_names_the_models_a_time_limit_stopped():
    def record(trials, timeout, total):
        return {"budget": {"trials": trials, "timeout_s": timeout}, "trials": {"total": total}}

    records = {"ease": record(20, None, 20), "neumf-torch": record(20, 600, 7)}
    assert bench.budget_text(records) == (
        "Options tuned by `reclearn tune` (Optuna TPE, validation carved from train) for 2 "
        "model(s), 20 trials each; a time limit stopped neumf-torch after 7 (600 s)."
    )


def _interval(cell: str) -> tuple[float, float, float]:
    mean, rest = cell.split(" [")
    low, high = rest.rstrip("]").split(", ")
    return float(mean), float(low), float(high)


@pytest.mark.slow
def test_bench_cold_start_runs_end_to_end_and_writes_csv_and_markdown(tmp_path, capsys):
    args = ["bench", "cold-start", *QUICK, "--backend", "tf", "--out", str(tmp_path)]
    assert cli.main(args) == 0
    text = capsys.readouterr().out
    item, post_release, user_ndcg, user_hr = markdown_tables(text)
    assert "item cold start, release-time content" in text
    assert "item cold start, post-release signals" in text
    assert [row["model"] for row in item] == list(cold_start.QUICK_ITEM_MODELS)
    assert [row["model"] for row in post_release] == list(cold_start.QUICK_POST_RELEASE_MODELS)
    assert list(user_ndcg[0]) == ["model", "backend", "n=0", "n=5"]
    assert all(0 <= float(row["n=5"]) <= 1 for row in user_ndcg + user_hr)
    frame = pd.read_csv(tmp_path / "cold_start-synthetic-quick.csv")
    assert len(frame) == len(cold_start.plan("tf", quick=True))
    assert set(frame.signals) == {"release", "post-release"}
    assert (tmp_path / "cold_start-synthetic-quick.md").read_text().count("| hybrid | tf |") == 4


def test_a_failing_benchmark_exits_non_zero_with_one_line(tmp_path):
    result = reclearn("bench", "mf", "--dataset", "nope", "--out", str(tmp_path))
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("reclearn: error: unknown data set 'nope'")
    )
    assert "Traceback" not in result.stderr


# --- bad arguments: checked before any benchmark runs --------------------------------


@pytest.fixture
def no_run(monkeypatch):
    """Fail the test if a benchmark starts."""

    def refuse(name, options):
        raise AssertionError(f"bench {name} ran despite bad arguments")

    monkeypatch.setattr(cli, "run_benchmark", refuse)


@pytest.fixture
def fake_run(monkeypatch):
    """Record the benchmarks started instead of running them."""
    started = []

    def record(name, options):
        started.append((name, options))
        return bench.BenchResult(f"table of {name}")

    monkeypatch.setattr(cli, "run_benchmark", record)
    return started


def error_line(argv, capsys) -> str:
    """Run ``reclearn ARGV``: exit status 1, nothing on stdout, one line on stderr."""
    assert cli.main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    return line


def out_error(out, reason: str) -> str:
    return (
        f"reclearn: error: cannot write to the output folder {out} ({reason}); "
        "choose another with --out"
    )


@pytest.mark.parametrize("command", [[], ["bench"]], ids=["top", "bench"])
def test_a_missing_command_or_benchmark_exits_2_with_the_usage(command, capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(command)
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: reclearn {' '.join(command)}".rstrip() + " [-h]")
    what = "BENCHMARK" if command else "COMMAND"
    required = f"error: the following arguments are required: {what}"
    assert err.splitlines()[-1].endswith(required)


def test_bench_without_a_benchmark_exits_2_from_the_shell_too():
    result = reclearn("bench")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: reclearn bench")
    assert "Traceback" not in result.stderr


@pytest.mark.usefixtures("no_run")
def test_a_model_of_the_other_backend_exits_with_one_line_before_work(tmp_path, capsys):
    out = tmp_path / "new"
    args = ["bench", "mf", "--backend", "tf", "--models", "mf-torch", "--out", str(out)]
    runnable = ", ".join(label for label in mf.MODELS if not label.endswith("-torch"))
    excluded = "model(s) 'mf-torch' not run with backend 'tf'"
    line = error_line(args, capsys)
    assert line == f"reclearn: error: {excluded}; choose from {runnable}"
    assert not out.exists()


def test_the_model_filter_example_of_the_issue_prints_no_traceback(tmp_path):
    filter_ = ["--backend", "tf", "--models", "mf-torch"]
    result = reclearn("bench", "mf", *filter_, "--out", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("reclearn: error: model(s) 'mf-torch' not run")


@pytest.mark.usefixtures("no_run")
def test_unknown_and_excluded_models_are_named_in_one_line(capsys):
    models = ["--models", "pop", "svd", "gmf-tf"]
    line = error_line(["bench", "ranking", "--backend", "torch", *models], capsys)
    assert line.startswith(
        "reclearn: error: unknown model(s) 'svd'; model(s) 'gmf-tf' not run with "
        "backend 'torch'; choose from pop, itemknn, ease, als, markov, sequence-knn, "
        "bpr-mf-torch, gmf-torch,"
    )
    assert "-tf" not in line.split("choose from")[1]


def test_choose_models_keeps_the_order_asked_and_refuses_what_it_cannot_run():
    assert ranking.choose_models(["ease", "pop"], backend="tf") == ["ease", "pop"]
    assert mf.choose_models(["mf-tf"], backend="tf") == ["mf-tf"]
    excluded = r"model\(s\) 'mf-tf' not run with backend 'torch'"
    with pytest.raises(ValueError, match=excluded):
        mf.choose_models(["mf-torch", "mf-tf"], backend="torch")


@pytest.mark.usefixtures("no_run")
@pytest.mark.parametrize(
    ("flag", "value", "low"),
    [
        ("--epochs", "0", 1),
        ("--epochs", "2.5", 1),
        ("--seed", "-1", 0),
        ("--seed", "1.5", 0),
        ("--folds", "1", 2),
        ("--folds", "five", 2),
    ],
)
def test_a_bad_number_is_a_usage_error_naming_flag_and_value(flag, value, low, capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(["bench", "mf", flag, value])
    assert exit.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"reclearn bench mf: error: argument {flag}: "
        f"must be an integer of at least {low}, got {value}"
    )


@pytest.mark.usefixtures("no_run")
def test_an_out_path_under_a_regular_file_exits_with_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    out = tmp_path / "file" / "results"
    args = ["bench", "all", "--dataset", "synthetic", "--out", str(out)]
    assert error_line(args, capsys) == out_error(out, "Not a directory")


@pytest.mark.usefixtures("no_run")
def test_an_out_path_that_is_a_file_exits_with_one_line(tmp_path, capsys):
    out = tmp_path / "results"
    out.write_text("not a folder")
    args = ["bench", "cold-start", "--out", str(out)]
    assert error_line(args, capsys) == out_error(out, "a file has that name")


@pytest.mark.usefixtures("no_run")
def test_an_out_folder_where_no_file_can_be_made_exits_with_the_reason(
    tmp_path, monkeypatch, capsys
):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(bench.tempfile, "NamedTemporaryFile", denied)
    args = ["bench", "ranking", "--out", str(tmp_path)]
    assert error_line(args, capsys) == out_error(tmp_path, "Permission denied")


def test_a_missing_out_folder_is_made_empty_before_any_run(tmp_path, fake_run, capsys):
    out = tmp_path / "a" / "b"
    args = ["bench", "all", "--dataset", "synthetic", "--out", str(out)]
    assert cli.main(args) == 0
    assert [name for name, _ in fake_run] == list(cli.BENCHMARKS)
    assert out.is_dir() and list(out.iterdir()) == []
    assert "### reclearn bench mf" in capsys.readouterr().out


@pytest.mark.usefixtures("no_run")
def test_a_data_set_not_downloaded_exits_before_any_work(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    args = ["bench", "ranking", "--dataset", "ml-1m", "--out", str(tmp_path)]
    line = error_line(args, capsys)
    assert line.startswith("reclearn: error: ml-1m is not downloaded; run 'reclearn")


@pytest.mark.usefixtures("no_run")
def test_an_unknown_data_set_exits_before_the_out_folder_is_made(tmp_path, capsys):
    out = tmp_path / "new"
    line = error_line(["bench", "mf", "--dataset", "nope", "--out", str(out)], capsys)
    assert line.startswith("reclearn: error: unknown data set 'nope'")
    assert not out.exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"epochs": 0}, "epochs must be an integer of at least 1, got 0"),
        ({"epochs": 2.0}, "epochs must be an integer of at least 1, got 2.0"),
        ({"seed": True}, "seed must be an integer of at least 0, got True"),
        ({"folds": 1}, "folds must be an integer of at least 2, got 1"),
        ({"backend": "jax"}, "unknown backend 'jax'; use torch, tf or both"),
    ],
)
def test_bench_options_refuse_bad_values_when_made(options, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        BenchOptions(**options)


def test_bench_options_drop_repeated_models_and_take_one_as_a_string():
    options = BenchOptions(models=["mf-tf", "mf-tf", "mf-torch"])
    assert options.models == ("mf-tf", "mf-torch")
    assert BenchOptions(models="mf-tf").models == ("mf-tf",)


# --- tune ------------------------------------------------------------------------------


def test_tune_writes_the_best_options_budget_score_and_versions(capsys, tmp_path):
    argv = ["tune", "als", "--dataset", "synthetic", "--trials", "2", "--seed", "1"]
    assert cli.main([*argv, "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    path = tmp_path / "synthetic" / "als.json"
    record = json.loads(path.read_text())
    assert json.loads(captured.out) == record["best_options"]
    assert set(record["best_options"]) == {"factors", "regularization", "alpha", "iterations"}
    assert record["budget"] == {"trials": 2, "timeout_s": None}
    assert record["trials"] == {"complete": 2, "pruned": 0, "total": 2}
    assert record["objective"] == "ndcg@10" and 0 < record["validation_score"] < 1
    assert record["tuned_on"] == "train of split.leave_last_out(ratings)"
    assert record["seed"] == 1 and record["backend"] is None
    assert record["versions"]["optuna"] == "5.0.0" and record["versions"]["implicit"] != "n/a"
    assert record["machine"] and record["wall_s"] >= 0
    assert captured.err.count("tune als: trial") == 2
    assert f"wrote {path}" in captured.err
    assert [p.name for p in (tmp_path / "synthetic").iterdir()] == ["als.json"]  # no .tmp


def test_tune_names_its_file_after_model_and_backend(capsys, tmp_path):
    argv = ["tune", "bpr-mf", "--dataset", "synthetic", "--backend", "tf", "--timeout", "1"]
    assert cli.main([*argv, "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "synthetic" / "bpr-mf-tf.json").read_text())
    assert record["backend"] == "tf" and record["budget"] == {"trials": None, "timeout_s": 1}
    assert record["best_options"]["epochs"] >= 1


def test_tuned_files_go_to_benchmarks_tuned_only_from_inside_the_checkout(tmp_path, monkeypatch):
    monkeypatch.chdir(bench.ROOT / "reclearn")
    assert bench.tuned_folder(None) == bench.ROOT / "benchmarks" / "tuned"
    monkeypatch.chdir(tmp_path)
    assert bench.tuned_folder(None) == tmp_path
    assert bench.tuned_folder(tmp_path / "x") == tmp_path / "x"


def test_every_ranking_label_has_the_name_the_chapters_write():
    assert ranking.display_name("neumf-torch") == "NeuMF"
    assert ranking.display_name("sequence-knn") == "Sequence kNN"
    assert {ranking.display_name(label) for label in ranking.MODELS} == set(ranking.NAMES.values())
