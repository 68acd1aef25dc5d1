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
from reclearn.data import ML_25M_SHAPE
from reclearn.progress import progress

RATINGS = (1_000_000, 10_000_000, 25_000_095)
QUICK_RATINGS = (100_000,)
MODELS = {  # label -> (build name, backend, options)
    "mf-torch": ("mf", "torch", {"epochs": 3, "verbose": False}),
    "mf-tf": ("mf", "tf", {"epochs": 3, "verbose": False}),
    "bpr-mf-torch": ("bpr-mf", "torch", {"epochs": 3, "verbose": False}),
    "als": ("als", "torch", {"iterations": 5, "num_threads": 0}),
    "spark-als": ("spark-als", "torch", {"iterations": 5}),
    "ease": ("ease", "torch", {}),
}
EASE_MAX_ITEMS = 20_000
"""EASE inverts an item x item matrix: 3.2 GB of float64 at 20,000 items."""
SAMPLED_USERS = 10_000


def shape(num_ratings: int) -> tuple[int, int]:
    """Users and items of the ml-25m-shaped data set with ``num_ratings`` ratings."""
    fraction = num_ratings / ML_25M_SHAPE["num_ratings"]
    users = round(ML_25M_SHAPE["num_users"] * fraction)
    return users, round(ML_25M_SHAPE["num_items"] * fraction**0.5)


def plan(options: BenchOptions, sizes=None) -> list[tuple[int, str]]:
    """Every measurement, in order: ``(ratings, model label)``; EASE where it fits."""
    sizes = sizes or (QUICK_RATINGS if options.quick else RATINGS)
    return [
        (n, label)
        for n in sizes
        for label in MODELS
        if label != "ease" or shape(n)[1] <= EASE_MAX_ITEMS
    ]


def check(options: BenchOptions, sizes=None) -> tuple[list, object]:
    """The measurements and the output folder, checked before any work.

    Raises:
        ValueError: A data set other than the default (the benchmark makes its own).
    """
    if options.dataset != DEFAULT_DATASET:
        raise ValueError(
            f"bench scale-out generates its own synthetic data; got --dataset "
            f"{options.dataset!r}: leave it out"
        )
    return plan(options, sizes), options.check()


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


def markdown(results: pd.DataFrame, head: str) -> str:
    """The header and one table row per measurement."""
    lines = [
        head,
        "",
        "| ratings | users | items | model | fit (s) | ratings/s | peak (MB) | NDCG@10 | RMSE |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results.to_dict("records"):
        cells = [
            f"{row['ratings']:,}",
            f"{row['users']:,}",
            f"{row['items']:,}",
            row["model"],
            f"{row['fit_s']:.1f}",
            f"{row['ratings_per_s']:,.0f}",
            f"{row['peak_mb']:,.0f}",
            f"{row['ndcg@10']:.4f}",
            "" if pd.isna(row["rmse"]) else f"{row['rmse']:.4f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def figure(results: pd.DataFrame, path) -> None:
    """Fit time against ratings, one line per model, both axes logarithmic."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, rows in results.groupby("model", sort=False):
        ax.loglog(rows["ratings"], rows["fit_s"], marker="o", label=label)
    ax.set(xlabel="ratings", ylabel="fit time (s)", title="Cost against ratings")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(options: BenchOptions, sizes: tuple[int, ...] | None = None) -> BenchResult:
    """Run the scale-out benchmark and write its CSV, Markdown and figure.

    Args:
        options: ``quick`` measures 100k ratings only; ``seed`` seeds data and models.
        sizes: Numbers of ratings to measure instead of :data:`RATINGS`.

    Returns:
        A :class:`reclearn.bench.BenchResult`.

    Raises:
        ValueError: A data set given.
        RuntimeError: A measurement's process failed (its error output is included).

    Introduced in chapter "Scaling out".
    """
    tasks, out = check(options, sizes)
    rows = []
    for num_ratings, label in progress(tasks, desc="bench scale-out", unit="fit"):
        rows.append(measure_in_process(num_ratings, label, options.seed))
        log(options.verbose, f"{num_ratings:,} ratings, {label}: fit {rows[-1]['fit_s']:.1f} s")
    results = pd.DataFrame(rows)
    head = (
        f"ml-25m-shaped synthetic ratings (`make_synthetic_like`, seed {options.seed}), "
        f"leave-last-out; NDCG@10 over up to {SAMPLED_USERS:,} sampled users, full "
        f"ranking; each measurement in a fresh process, RSS sampled every 10 ms (Python's "
        f"only: Spark's JVM is not counted; its start is timed apart, not in fit). "
        f"{machine()}; {versions()}."
    )
    table = markdown(results, head)
    name = stem("scale_out", DEFAULT_DATASET, options.quick)
    files = [out / f"{name}.csv", out / f"{name}.md", out / f"{name}.png"]
    result = BenchResult(table, files)
    write_atomic(files[0], results.to_csv(index=False, float_format="%.6g"))
    write_atomic(files[1], table)
    figure(results, files[2])
    return result
