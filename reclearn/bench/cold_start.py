"""Cold start: item cold start (a tenth of the films held out with all their ratings) and
user cold start (a fifth of the users keep only their first n ratings), NDCG@10 and HR@10
for popularity, MF, the content models and the hybrid, in each backend.

Item cold start runs twice. With release-time content (title, year, genres: what a new film
has), the headline; and with post-release signals (the tags users wrote after watching),
labelled as such, beside the non-personalised control that ranks films by their number of
distinct taggers. User cold start uses release-time content.

Writes ``cold_start.csv`` (one row per experiment, signals, model, backend and n, under a
comment line naming the machine and versions) and ``cold_start.md`` (the same as four
tables).
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from reclearn.bench import (
    BenchOptions,
    BenchResult,
    backends,
    build_model,
    log,
    machine,
    stem,
    versions,
    write_atomic,
)
from reclearn.progress import progress

ITEM_MODELS = ("pop", "mf", "content-tfidf", "content-bag", "content-cnn", "hybrid", "fm-rank")
POST_RELEASE_MODELS = ("content-tfidf", "content-cnn", "hybrid", "tag-count")
USER_MODELS = ("pop", "mf", "content-tfidf", "hybrid", "fm-rank")
N_KNOWN = (0, 1, 3, 5, 10)
QUICK_ITEM_MODELS = ("pop", "mf", "content-tfidf", "hybrid")
QUICK_POST_RELEASE_MODELS = ("hybrid", "tag-count")
QUICK_N_KNOWN = (0, 5)
ITEM_FRACTION = 0.1
USER_FRACTION = 0.2
CONTENT = ("content-tfidf", "content-bag", "content-cnn", "hybrid", "tag-count", "fm-rank")


def plan(backend: str = "both", quick: bool = False) -> list[tuple[str, str, str | int, str]]:
    """Every fit to run, in order: ``(backend, model, n_known, signals)``, n_known ``""``
    for the item experiment, signals ``"release"`` or ``"post-release"``."""
    item_models = QUICK_ITEM_MODELS if quick else ITEM_MODELS
    post_release = QUICK_POST_RELEASE_MODELS if quick else POST_RELEASE_MODELS
    n_known = QUICK_N_KNOWN if quick else N_KNOWN
    tasks = []
    for b in backends(backend):
        tasks += [(b, name, "", "release") for name in item_models]
        tasks += [(b, name, "", "post-release") for name in post_release]
        tasks += [(b, name, n, "release") for n in n_known for name in USER_MODELS]
    return tasks


def make_model(name: str, backend: str, epochs: int | None, content):
    """An unfitted model of the plan; content models read ``content``, ``tag-count`` is
    the control of :class:`reclearn.content.TaggerCountRecommender`."""
    from reclearn.content import TaggerCountRecommender

    if name == "tag-count":
        return TaggerCountRecommender(content=content)
    options = {"content": content} if name in CONTENT else {}
    return build_model(name, backend, epochs, **options)


def check(options: BenchOptions) -> tuple[list, Path]:
    """What :func:`run` checks before any work: the fits to run and the output folder.

    Returns:
        The fits (:func:`plan`) and the output folder, created if missing.

    Raises:
        ValueError: An unknown backend, or an unknown data set.
        OSError: The output folder cannot be created or written to.
    """
    return plan(options.backend, options.quick), options.check()


def fit_and_rank(model, train, test, candidates=None) -> dict:
    """Fit ``model``, rank the test users' held-out items; the metrics of one row."""
    from reclearn.cold_start import evaluate_cold_start

    start = time.perf_counter()
    model.fit(train)
    fit_s = time.perf_counter() - start
    result = evaluate_cold_start(model, train, test, candidates=candidates)
    return {
        "ndcg@10": result.summary["ndcg@10"],
        "hr@10": result.summary["hr@10"],
        "users": result.num_users,
        "fit_s": round(fit_s, 2),
    }


def _table(frame: pd.DataFrame, columns: list, header: list[str]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in frame[columns].itertuples(index=False):
        cells = [_cell(name, value) for name, value in zip(columns, row, strict=True)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _cell(column, value) -> str:
    if column == "fit_s":
        return f"{value:.2f}"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


ITEM_TABLES = {
    "release": "release-time content (title, year, genres)",
    "post-release": "post-release signals (tags; tag-count is the non-personalised control)",
}


def markdown(frame: pd.DataFrame, head: str) -> str:
    """The header, the two item cold-start tables (release-time content, post-release
    signals) and one table per metric for new users, each with a model's backends side by
    side."""
    order = {name: i for i, name in enumerate(dict.fromkeys(frame["model"]))}
    frame = frame.sort_values("model", key=lambda m: m.map(order), kind="stable")
    lines = [head]
    for signals, title in ITEM_TABLES.items():
        item = frame[(frame["experiment"] == "item") & (frame["signals"] == signals)]
        lines += ["", f"**item cold start, {title}** (candidates: the held-out items)", ""]
        lines += _table(
            item,
            ["model", "backend", "ndcg@10", "hr@10", "users", "fit_s"],
            ["model", "backend", "NDCG@10", "HR@10", "users", "fit (s)"],
        )
    user = frame[frame["experiment"] == "user"].astype({"n_known": int})
    for metric in ("ndcg@10", "hr@10"):
        wide = user.pivot_table(
            index=["model", "backend"], columns="n_known", values=metric, sort=False
        ).reset_index()
        n_known = [c for c in wide.columns if c not in ("model", "backend")]
        lines += ["", f"**user cold start, {metric.upper()}** by the number n of known ratings"]
        lines += [""] + _table(
            wide, ["model", "backend", *n_known], ["model", "backend", *(f"n={n}" for n in n_known)]
        )
    return "\n".join(lines) + "\n"


def run(options: BenchOptions) -> BenchResult:
    """Run both cold-start experiments and write their files (see the module docstring).

    Args:
        options: What to run. ``seed`` picks the cold items and the cold users;
            ``backend`` picks the twins; ``quick`` runs four release-time and two
            post-release item models and n in (0, 5); ``epochs`` overrides the deep
            models' defaults. The ``"synthetic"`` data set is fast, but its items have
            no genres or tags, so content models see titles only. ``folds`` and
            ``models`` are not used.

    Returns:
        A :class:`reclearn.bench.BenchResult`.

    Raises:
        ValueError: Unknown data set or backend.
        OSError: The output folder cannot be created or written to.

    Introduced in chapter "Content-based recommendation".
    """
    from reclearn import load_dataset, split
    from reclearn.content import item_content

    dataset, seed, epochs = options.dataset, options.seed, options.epochs
    tasks, out = check(options)
    data = load_dataset(dataset)
    contents = {
        "release": item_content(data.items),
        "post-release": item_content(data.items, data.tags, signals="post-release"),
    }
    item_train, item_test = split.cold_item_split(data.ratings, ITEM_FRACTION, seed=seed)
    cold = item_test.item_id.astype(str).unique()
    user_splits = {}
    rows = []
    bar = progress(tasks, desc="bench cold-start", unit="fit")
    for b, name, n_known, signals in bar:
        model = make_model(name, b, epochs, contents[signals])
        if n_known == "":
            metrics = fit_and_rank(model, item_train, item_test, candidates=cold)
        else:
            if n_known not in user_splits:
                user_splits[n_known] = split.cold_user_split(
                    data.ratings, USER_FRACTION, n_known, seed=seed
                )
            metrics = fit_and_rank(model, *user_splits[n_known])
        experiment = "item" if n_known == "" else "user"
        row = {"experiment": experiment, "signals": signals, "model": name, "backend": b}
        rows.append({**row, "n_known": n_known, **metrics})
        bar.set_postfix(model=f"{name}-{b}", ndcg=float(metrics["ndcg@10"]))
        log(options.verbose, str(rows[-1]))

    frame = pd.DataFrame(rows)
    provenance = f"{machine()}; {versions()}"
    trained = f" Deep models trained {epochs} epochs." if epochs is not None else ""
    head = (
        f"{dataset} ({len(data.ratings):,} ratings): item cold start holds out "
        f"{len(cold)} items ({ITEM_FRACTION:.0%} of the rated ones, seed {seed}) with all their "
        "ratings, ranked from release-time content (title, year, genres) and, apart, from "
        "post-release signals (tags; tag-count ranks by distinct taggers, for everyone); "
        f"user cold start keeps the first n ratings of {USER_FRACTION:.0%} of the "
        f"users in train. Top-10 ranking, mean over users; times in seconds.{trained} "
        f"{provenance}."
    )
    name = stem("cold_start", dataset, options.quick)
    result = BenchResult(markdown(frame, head), [out / f"{name}.csv", out / f"{name}.md"])
    write_atomic(result.files[0], frame.to_csv(index=False, float_format="%.4f"))
    write_atomic(result.files[1], result.table)
    return result
