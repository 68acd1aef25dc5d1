"""Scale: fit time and peak memory of matrix factorisation as ratings and users grow.

Synthetic data (:func:`reclearn.data.make_synthetic`) of 1M and 5M ratings spread over
10k, 50k and 100k users and 5k items; each backend's MF trains a fixed number of epochs
on all of them, then ``recommend`` ranks the whole catalogue for 10k users. Each
measurement runs in a fresh Python process, so its peak memory is its own: a thread
samples the resident set size (RSS) every 10 ms during the fit and during the ranking.

Writes ``scale.csv`` and ``scale.md``. At a fixed number of ratings the fit time should
not grow with the number of users: the optimiser moves only the embedding rows a batch
looked up (:class:`reclearn.models.torch.recommender.Adam` and its twin).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd

from reclearn.bench import (
    DEFAULT_DATASET,
    BenchOptions,
    BenchResult,
    backends,
    log,
    machine,
    stem,
    versions,
    write_atomic,
)
from reclearn.configs import FIXED_EPOCHS
from reclearn.progress import progress

RATINGS = (1_000_000, 5_000_000)
USERS = (10_000, 50_000, 100_000)
ITEMS = 5_000
EPOCHS = 3
RANKED_USERS = 10_000
QUICK_RATINGS, QUICK_USERS = (100_000,), (1_000, 10_000)


def plan(options: BenchOptions) -> list[tuple[int, int, str]]:
    """Every measurement, in order: ``(ratings, users, backend)``."""
    ratings = QUICK_RATINGS if options.quick else RATINGS
    users = QUICK_USERS if options.quick else USERS
    return [(n, u, b) for n in ratings for u in users for b in backends(options.backend)]


def check(options: BenchOptions) -> tuple[list, Path]:
    """What :func:`run` checks before any work: the measurements and the output folder.

    The benchmark makes its own synthetic data; ``dataset`` must be left at its default.

    Raises:
        ValueError: An unknown backend, or a data set other than the default.
        OSError: The output folder cannot be created or written to.
    """
    if options.dataset != DEFAULT_DATASET:
        raise ValueError(
            f"bench scale generates its own synthetic data; got --dataset "
            f"{options.dataset!r}: leave it out"
        )
    return plan(options), options.check()


class PeakMemory:
    """Highest RSS in MB seen while the ``with`` block runs (sampled every 10 ms)."""

    def __enter__(self) -> PeakMemory:
        self.peak, self._running = rss_mb(), True
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while self._running:
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.01)

    def __exit__(self, *exc) -> None:
        self._running = False
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def rss_mb() -> float:
    """This process's resident set size in MB (Linux ``/proc``)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


def measure(num_ratings: int, num_users: int, backend: str, epochs: int, seed: int) -> dict:
    """One measurement (run in its own process by :func:`run`): one result row."""
    from reclearn import build
    from reclearn.data import make_synthetic

    density = num_ratings / (num_users * ITEMS)
    data = make_synthetic(num_users=num_users, num_items=ITEMS, density=density, seed=seed)
    ratings = data.ratings
    options = {"epochs": epochs, "verbose": False, "seed": seed} | FIXED_EPOCHS
    build("mf", backend=backend, **options).fit(ratings.iloc[:2000])  # warm-up, untimed
    model = build("mf", backend=backend, **options)
    before = rss_mb()
    with PeakMemory() as fit_memory:
        start = time.perf_counter()
        model.fit(ratings)
        fit_s = time.perf_counter() - start
    users = ratings["user_id"].unique()[:RANKED_USERS]
    with PeakMemory() as rank_memory:
        start = time.perf_counter()
        model.recommend(users, k=10)
        rank_s = time.perf_counter() - start
    return {
        "ratings": len(ratings),
        "users": num_users,
        "items": ITEMS,
        "backend": backend,
        "epochs": epochs,
        "fit_s": fit_s,
        "s_per_epoch": fit_s / epochs,
        "rss_before_fit_mb": before,
        "peak_fit_mb": fit_memory.peak,
        "recommend_s": rank_s,
        "peak_recommend_mb": rank_memory.peak,
        "final_loss": model.history[-1]["loss"],
    }


def measure_in_process(num_ratings: int, num_users: int, backend: str, epochs: int, seed):
    """:func:`measure` in a fresh Python process (its peak memory is its own)."""
    code = (
        "import json, sys; from reclearn.bench.scale import measure; "
        f"print(json.dumps(measure({num_ratings}, {num_users}, {backend!r}, {epochs}, "
        f"{seed})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"bench scale: the measurement ({num_ratings:,} ratings, {num_users:,} users, "
            f"{backend}) failed:\n{done.stderr[-2000:]}"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def markdown(results: pd.DataFrame, head: str) -> str:
    """The header line and one table row per measurement."""
    lines = [
        head,
        "",
        "| ratings | users | backend | fit (s) | s/epoch | RSS before fit (MB) "
        f"| peak in fit (MB) | recommend {RANKED_USERS:,} users (s) | peak in recommend (MB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results.itertuples(index=False):
        cells = [
            f"{row.ratings:,}",
            f"{row.users:,}",
            row.backend,
            f"{row.fit_s:.2f}",
            f"{row.s_per_epoch:.2f}",
            f"{row.rss_before_fit_mb:.0f}",
            f"{row.peak_fit_mb:.0f}",
            f"{row.recommend_s:.2f}",
            f"{row.peak_recommend_mb:.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def growth(results: pd.DataFrame) -> list[str]:
    """Per backend and size: fit time at the most users over fit time at the fewest."""
    lines = []
    for (ratings, backend), rows in results.groupby(["ratings", "backend"], sort=False):
        rows = rows.sort_values("users")
        first, last = rows.iloc[0], rows.iloc[-1]
        lines.append(
            f"{backend}, {ratings:,} ratings: {last.users:,} users fit in "
            f"{last.fit_s / first.fit_s:.2f}x the time of {first.users:,} users"
        )
    return lines


def run(options: BenchOptions) -> BenchResult:
    """Run the scale benchmark and write ``scale.csv`` and ``scale.md``.

    Args:
        options: ``backend`` picks the MF twins; ``epochs`` overrides :data:`EPOCHS`;
            ``quick`` measures 100k ratings over 1k and 10k users; ``seed`` seeds the
            data and the models.

    Returns:
        A :class:`reclearn.bench.BenchResult`; its notes say how fit time grew with
        the number of users.

    Raises:
        ValueError: An unknown backend, or a data set given.
        OSError: The output folder cannot be created or written to.
        RuntimeError: A measurement's process failed (its error output is included).

    Introduced in chapter "Matrix factorization".
    """
    tasks, out = check(options)
    epochs = options.epochs or EPOCHS
    rows = []
    for num_ratings, num_users, backend in progress(tasks, desc="bench scale", unit="fit"):
        row = measure_in_process(num_ratings, num_users, backend, epochs, options.seed)
        rows.append(row)
        where = f"{num_ratings:,} ratings, {num_users:,} users, {backend}"
        log(options.verbose, f"{where}: fit {row['fit_s']:.2f} s")
    results = pd.DataFrame(rows)
    head = (
        f"Synthetic ratings (`make_synthetic`, {ITEMS:,} items, seed {options.seed}); MF "
        f"with its defaults but {epochs} epochs, each measurement in a fresh process after "
        f"an untimed warm-up fit; RSS sampled every 10 ms. {machine()}; {versions()}."
    )
    table = markdown(results, head)
    name = stem("scale", DEFAULT_DATASET, options.quick)
    result = BenchResult(table, [out / f"{name}.csv", out / f"{name}.md"])
    write_atomic(result.files[0], results.to_csv(index=False, float_format="%.6g"))
    write_atomic(result.files[1], table + "\n" + "\n".join(growth(results)) + "\n")
    result.notes += growth(results)
    return result
