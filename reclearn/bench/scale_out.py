"""Scale-out: fit time, throughput, peak memory and accuracy from 1M to 25M ratings.

ml-25m-shaped synthetic data (:func:`reclearn.data.make_synthetic_like`): users grow
with the ratings, items with their square root (162,541 users and 59,047 items at 25M).
Each measurement runs in a fresh process (its peak memory is its own): generate, split
leave-last-out, fit, then NDCG@10 (full ranking) of up to 10,000 sampled users and,
for rating models, RMSE on every held-out rating; plus, for MF (torch), the recall
of HNSW's top-10 against the exact top-10 and its speed-up.

Writes ``scale_out.csv``, ``scale_out.md`` and the log-log figure ``scale_out.png``.
``bench scale`` (MF's cost against users at fixed ratings) is unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd

from reclearn.bench import (
    DEFAULT_DATASET,
    BenchOptions,
    BenchResult,
    log,
    machine,
    stem,
    versions,
    write_atomic,
)
from reclearn.bench.scale import PeakMemory
from reclearn.checks import check_int
from reclearn.configs import FIXED_EPOCHS
from reclearn.data import ML_25M_SHAPE
from reclearn.progress import progress

RATINGS = (1_000_000, 10_000_000, 25_000_095)
QUICK_RATINGS = (100_000,)
FIXED = {"epochs": 3, "verbose": False} | FIXED_EPOCHS
MF = FIXED | {"l2": 0.15}  # the penalty the committed rows were measured with
MODELS = {  # label -> (build name, backend, options)
    "mf-torch": ("mf", "torch", MF),
    "mf-tf": ("mf", "tf", MF),
    "bpr-mf-torch": ("bpr-mf", "torch", FIXED),
    "als": ("als", "torch", {"iterations": 5, "num_threads": 0}),
    "spark-als": ("spark-als", "torch", {"iterations": 5}),
    "ease": ("ease", "torch", {}),
}
SAMPLED_USERS = 10_000
KEY = ["users", "items", "model"]
"""Columns naming a measurement: the size (through its shape) and the model."""
COLUMNS = ["ratings", *KEY, "prepare_s", "start_s", "fit_s", "ratings_per_s"]
COLUMNS += ["evaluate_s", "peak_mb", "ndcg@10", "rmse", "load_1m"]
"""The columns of every measured row (MF (torch) adds its ANN columns)."""


def shape(num_ratings: int) -> tuple[int, int]:
    """Users and items of the ml-25m-shaped data set with ``num_ratings`` ratings."""
    fraction = num_ratings / ML_25M_SHAPE["num_ratings"]
    users = round(ML_25M_SHAPE["num_users"] * fraction)
    return users, round(ML_25M_SHAPE["num_items"] * fraction**0.5)


def ease_gb(users: int, items: int) -> float:
    """GiB of float64 that reclearn's EASE holds at once for ``users`` x ``items``.

    Two square matrices of the smaller side (eigenvectors and inverse of the Gram
    matrix) and three dense users x items ones (the ratings, ``X P`` and the scores).
    """
    side = min(users, items)
    return 8 * (2 * side**2 + 3 * users * items) / 2**30


def memory_gb() -> float:
    """This machine's physical memory in GiB."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def fits(label: str, num_ratings: int) -> bool:
    """Whether ``label`` can run at ``num_ratings`` here: EASE only where it fits."""
    return label != "ease" or ease_gb(*shape(num_ratings)) <= memory_gb()


def plan(options: BenchOptions) -> list[tuple[int, str]]:
    """Every measurement, in order: ``(ratings, model label)``; EASE where it fits."""
    sizes = options.sizes or (QUICK_RATINGS if options.quick else RATINGS)
    labels = options.models or tuple(MODELS)
    return [(n, label) for n in sizes for label in labels if fits(label, n)]


def check(options: BenchOptions) -> list[tuple[int, str]]:
    """The measurements, checked before any work (and the output folder).

    Raises:
        ValueError: A data set other than the default (the benchmark makes its own),
            an unknown model label or a size under 10,000 ratings.
    """
    if options.dataset != DEFAULT_DATASET:
        raise ValueError(
            f"bench scale-out generates its own synthetic data; got --dataset "
            f"{options.dataset!r}: leave it out"
        )
    unknown = [label for label in options.models or () if label not in MODELS]
    if unknown:
        raise ValueError(
            f"bench scale-out: unknown model(s) {', '.join(map(repr, unknown))}; "
            f"use {', '.join(MODELS)}"
        )
    for n, size in enumerate(options.sizes or ()):
        check_int(f"sizes[{n}]", size, minimum=10_000)
    options.check()
    return plan(options)


def measure(num_ratings: int, label: str, seed: int) -> dict:
    """One measurement (run in its own process by :func:`run`): one result row."""
    from reclearn import build
    from reclearn.data import make_synthetic_like
    from reclearn.evaluate import evaluate_ranking
    from reclearn.metrics import rmse
    from reclearn.split import leave_last_out

    users, items = shape(num_ratings)
    with PeakMemory() as memory:
        start = time.perf_counter()
        ratings = make_synthetic_like(num_ratings, users, items, seed=seed).ratings
        train, test = leave_last_out(ratings, seed=seed)
        del ratings
        prepare_s = time.perf_counter() - start
        name, backend, options = MODELS[label]
        options = {**options, "seed": seed}
        model = build(name, backend=backend, **options)
        start = time.perf_counter()
        if name == "spark-als":  # the JVM starts once per process, not per fit
            from reclearn.spark import spark_session

            spark_session()
        start_s = time.perf_counter() - start
        start = time.perf_counter()
        model.fit(train)
        fit_s = time.perf_counter() - start
        load = os.getloadavg()[0]
        rng = np.random.default_rng(seed)
        chosen = rng.choice(test["user_id"].unique(), min(SAMPLED_USERS, len(test)), False)
        sampled = test[test["user_id"].isin(chosen)]
        start = time.perf_counter()
        ndcg = evaluate_ranking(model, train, sampled).summary["ndcg@10"]
        evaluate_s = time.perf_counter() - start
        error = rmse(model.predict(test), test["rating"]) if name == "mf" else np.nan
    row = {
        "ratings": len(train) + len(test),
        "users": users,
        "items": items,
        "model": label,
        "prepare_s": prepare_s,
        "start_s": start_s,
        "fit_s": fit_s,
        "ratings_per_s": len(train) / fit_s,
        "evaluate_s": evaluate_s,
        "peak_mb": memory.peak,
        "ndcg@10": ndcg,
        "rmse": error,
        "load_1m": load,
    }
    if label == "mf-torch":
        row |= ann_columns(model, chosen, seed)
    return row


def ann_columns(model, users, seed: int) -> dict:
    """Recall of HNSW's top-10 against the exact top-10 and the speed-up, MF vectors."""
    from reclearn.retrieval import ANNIndex, exact_top_k, factor_vectors, overlap_at_k

    user_vectors, item_vectors = factor_vectors(model)
    rows = model.index.users(users)
    start = time.perf_counter()
    exact = exact_top_k(user_vectors, item_vectors, 10, users=rows)
    exact_s = time.perf_counter() - start
    start = time.perf_counter()
    index = ANNIndex(item_vectors, num_threads=0)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    approximate = index.search(user_vectors[rows], 10)
    ann_s = time.perf_counter() - start
    return {
        "ann_recall@10": overlap_at_k(approximate, exact),
        "exact_top10_s": exact_s,
        "ann_build_s": build_s,
        "ann_search_s": ann_s,
    }


def measure_in_process(num_ratings: int, label: str, seed: int) -> dict:
    """:func:`measure` in a fresh Python process (its peak memory is its own)."""
    code = (
        "import json; from reclearn.bench.scale_out import measure; "
        f"print(json.dumps(measure({num_ratings}, {label!r}, {seed})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"bench scale-out: {label} at {num_ratings:,} ratings failed:\n{done.stderr[-2000:]}"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def not_run(results: pd.DataFrame, sizes) -> pd.DataFrame:
    """A row with a ``note`` for every model not measured at a size of the table.

    EASE gets the memory it would need; a model measured at a smaller size gets its
    time there scaled linearly in ratings; any other is marked as not asked for.
    """
    rows = []
    for n in sizes:
        users, items = shape(n)
        done = results[(results["users"] == users) & (results["items"] == items)]
        for label in MODELS:
            if label in set(done["model"]):
                continue
            smaller = results[(results["model"] == label) & (results["users"] < users)]
            note = reason(label, n, smaller)
            rows.append({"ratings": n, "users": users, "items": items, "model": label})
            rows[-1]["note"] = note
    return pd.DataFrame(rows, columns=[*KEY, "ratings", "note"])


def reason(label: str, num_ratings: int, smaller: pd.DataFrame) -> str:
    """Why ``label`` has no measurement at ``num_ratings``: memory, time or not asked."""
    if not fits(label, num_ratings):
        need = ease_gb(*shape(num_ratings))
        return f"not run: needs {need:,.0f} GiB of memory, this machine has {memory_gb():.0f}"
    if smaller.empty:
        return "not run: not asked for"
    last = smaller.iloc[-1]
    minutes = last["fit_s"] * num_ratings / last["ratings"] / 60
    guess = f"{minutes:.0f} min" if minutes < 90 else f"{minutes / 60:.1f} h"
    return (
        f"not run for time: its fit took {last['fit_s']:,.0f} s at "
        f"{last['ratings']:,.0f} ratings, about {guess} here if linear"
    )


def merge(old: pd.DataFrame | None, new: pd.DataFrame, sizes) -> pd.DataFrame:
    """The measured rows of ``old`` not measured again in ``new``, then ``new``'s, and
    the not-run rows of every size measured or in ``sizes``; ordered by size, then
    as in :data:`MODELS`."""
    measured = new
    if old is not None and not old.empty:
        old = old[old["note"].isna()] if "note" in old else old
        again = old.set_index(KEY).index.isin(new.set_index(KEY).index)
        measured = pd.concat([old[~again], new], ignore_index=True) if len(new) else old
    shapes = set(zip(measured.get("users", []), measured.get("items", []), strict=True))
    known = sorted(set(RATINGS + QUICK_RATINGS + tuple(sizes)))
    table = pd.concat(
        [measured, not_run(measured, [n for n in known if shape(n) in shapes or n in sizes])],
        ignore_index=True,
    )
    order = table["model"].map(list(MODELS).index)
    table = table.assign(_order=order).sort_values(["users", "_order"], kind="stable")
    return table.drop(columns="_order").reset_index(drop=True)


def markdown(results: pd.DataFrame, head: str) -> str:
    """The header and one table row per measurement or not-run model."""
    lines = [
        head,
        "",
        "| ratings | users | items | model | fit (s) | ratings/s | peak (MB) | NDCG@10 "
        "| RMSE | load | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results.to_dict("records"):
        cells = [f"{row['ratings']:,}", f"{row['users']:,}", f"{row['items']:,}"]
        cells += [row["model"], *_measured_cells(row), _text(row.get("note"))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _measured_cells(row: dict) -> list[str]:
    """Fit, throughput, peak, NDCG, RMSE and load cells; blank where not measured."""
    formats = {
        "fit_s": "{:.1f}",
        "ratings_per_s": "{:,.0f}",
        "peak_mb": "{:,.0f}",
        "ndcg@10": "{:.4f}",
        "rmse": "{:.4f}",
        "load_1m": "{:.1f}",
    }
    return [_text(row.get(name), form) for name, form in formats.items()]


def _text(value, form: str = "{}") -> str:
    """``value`` formatted, or an empty cell for a missing one."""
    return "" if value is None or pd.isna(value) else form.format(value)


def figure(results: pd.DataFrame, path) -> None:
    """Fit time and peak memory against ratings, one line per model, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = results.dropna(subset=["fit_s"])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    for label, rows in measured.groupby("model", sort=False):
        for ax, column in zip(axes, ["fit_s", "peak_mb"], strict=True):
            ax.loglog(rows["ratings"], rows[column], marker="o", label=label)
    axes[0].set(xlabel="ratings", ylabel="fit time (s)", title="Fit time")
    axes[1].set(xlabel="ratings", ylabel="peak memory (MB)", title="Peak memory")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def header(seed: int, results: pd.DataFrame) -> str:
    """The Markdown file's first paragraph: data, protocol, load, machine and versions."""
    load = results["load_1m"].max() if "load_1m" in results else np.nan
    shared = (
        f"The machine was shared: loads up to {load:.1f} on {os.cpu_count()} CPUs. "
        if load > (os.cpu_count() or 1)
        else ""
    )
    return (
        f"ml-25m-shaped synthetic ratings (`make_synthetic_like`, seed {seed}), "
        f"leave-last-out; NDCG@10 over up to {SAMPLED_USERS:,} sampled users, full "
        f"ranking; each measurement in a fresh process, RSS sampled every 10 ms (Python's "
        f"only: Spark's JVM is not counted; its start is timed apart, not in fit). "
        f"Rows merge across runs of `--sizes`/`--models`; load is the 1-minute load "
        f"average when the fit ended (blank: not recorded): above the CPU count, other "
        f"work shared the machine and slowed the fit. {shared}Written {machine()}; "
        f"{versions()}."
    )


def write(rows: list[dict], options: BenchOptions) -> BenchResult:
    """Merge ``rows`` into the CSV already in the output folder and write all three
    files (CSV, Markdown, figure)."""
    name = stem("scale_out", DEFAULT_DATASET, options.quick)
    out = options.folder()
    files = [out / f"{name}.csv", out / f"{name}.md", out / f"{name}.png"]
    old = pd.read_csv(files[0]) if files[0].exists() else None
    sizes = options.sizes or (QUICK_RATINGS if options.quick else RATINGS)
    new = pd.DataFrame(rows) if rows else pd.DataFrame(columns=COLUMNS)
    results = merge(old, new, sizes)
    table = markdown(results, header(options.seed, results))
    write_atomic(files[0], results.to_csv(index=False, float_format="%.6g"))
    write_atomic(files[1], table)
    figure(results, files[2])
    return BenchResult(table, files)


def run(options: BenchOptions) -> BenchResult:
    """Run the scale-out benchmark and merge its rows into its CSV, Markdown and figure.

    The files are rewritten after every measurement, so a long run keeps what it
    measured if it stops.

    Args:
        options: ``sizes`` (default :data:`RATINGS`; ``quick``: 100k only) and
            ``models`` (default all) choose the measurements; ``seed`` seeds data
            and models.

    Returns:
        A :class:`reclearn.bench.BenchResult`.

    Raises:
        ValueError: A data set given, an unknown model or a size too small.
        RuntimeError: A measurement's process failed (its error output is included).

    Introduced in chapter "Scaling out".
    """
    tasks, rows, result = check(options), [], None
    for num_ratings, label in progress(tasks, desc="bench scale-out", unit="fit"):
        rows.append(measure_in_process(num_ratings, label, options.seed))
        log(options.verbose, f"{num_ratings:,} ratings, {label}: fit {rows[-1]['fit_s']:.1f} s")
        result = write(rows, options)
    return result or write(rows, options)
