"""Ranking: every ranking model of :mod:`reclearn.registry` under the full and the sampled
protocol, each user's latest rating held out (``split.leave_last_out``).

Every rating counts as an interaction. EASE's ``l2`` is tuned on a validation split carved
from train the same way. Writes the sampled protocol's candidates to
``negatives-<dataset>-seed<seed>.csv``, then ``ranking.csv`` (one row per model, protocol
and metric: mean and a per-user bootstrap 95% interval), ``ranking.md`` and
``ranking-users.csv`` (each model's full-protocol HR@10 and NDCG@10 per user, so that
chapters can run paired tests on the committed results).
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from reclearn.bench import (
    BenchOptions,
    BenchResult,
    budget_text,
    build_model,
    choose,
    log,
    machine,
    stem,
    tuned_records,
    versions,
    write_atomic,
)
from reclearn.bench.mf import feature_content
from reclearn.progress import progress
from reclearn.registry import FEATURE_MODELS
from reclearn.tune import replay_options

K = 10
N_BOOT = 1000
PER_USER = (f"hr@{K}", f"ndcg@{K}")
"""Full-protocol metrics written per user to ``ranking-users.csv``, for paired tests."""
NEURAL = (
    "bpr-mf",
    "gmf",
    "mlp",
    "neumf",
    "mf",
    "gru4rec",
    "sasrec",
    "mult-dae",
    "mult-vae",
    "fm-rank",
    "deepfm-rank",
)

# label -> (registry name, backend); the NumPy baselines (order-blind, then sequential),
# then the neural models.
MODELS = {
    "pop": ("pop", "numpy"),
    "itemknn": ("itemknn", "numpy"),
    "ease": ("ease", "numpy"),
    "als": ("als", "numpy"),
    "markov": ("markov", "numpy"),
    "sequence-knn": ("sequence-knn", "numpy"),
    **{f"{name}-{b}": (name, b) for name in NEURAL for b in ("torch", "tf")},
}
QUICK_MODELS = ("pop", "ease", "bpr-mf-torch", "bpr-mf-tf")
NAMES = {
    "pop": "Pop",
    "itemknn": "ItemKNN",
    "ease": "EASE",
    "als": "ALS",
    "markov": "Markov",
    "sequence-knn": "Sequence kNN",
    "bpr-mf": "BPR-MF",
    "gmf": "GMF",
    "mlp": "MLP",
    "neumf": "NeuMF",
    "mf": "MF",
    "gru4rec": "GRU4Rec",
    "sasrec": "SASRec",
    "mult-dae": "Mult-DAE",
    "mult-vae": "Mult-VAE",
    "fm-rank": "FM",
    "deepfm-rank": "DeepFM",
}
"""How the chapters write each model of :data:`MODELS`."""


def display_name(label: str) -> str:
    """The model's name as the chapters write it: ``"neumf-torch"`` -> ``"NeuMF"``."""
    return NAMES[MODELS[label][0]]


def choose_models(models=None, backend: str = "both", quick: bool = False) -> list[str]:
    """As :func:`reclearn.bench.mf.choose_models`, from this module's :data:`MODELS`."""
    return choose(models, MODELS, QUICK_MODELS if quick else MODELS, backend)


def check(options: BenchOptions) -> tuple[list, Path]:
    """As :func:`reclearn.bench.mf.check`: the labels to run and the output folder."""
    labels = choose_models(options.models, options.backend, options.quick)
    tuned_records(options, labels, MODELS)  # every tuned file there and readable
    return labels, options.check()


def stored_negatives(ratings, train, test, path: Path, seed: int) -> str:
    """Write the sampled protocol's 99 negatives per test row to ``path``; its sha256."""
    from reclearn import sampling
    from reclearn.interactions import IdIndex

    index = IdIndex.from_frame(train)
    users, items = index.encode(ratings)
    positives = sampling.PositiveSets(users, items, index.num_users, index.num_items)
    negatives = sampling.sampled_protocol_negatives(
        positives, index.users(test["user_id"]), 99, seed=seed
    )
    item_ids = index.item_ids.to_numpy()
    return sampling.save_negatives(
        path, test["user_id"].astype(str), test["item_id"].astype(str), item_ids[negatives]
    )


def tune_ease(train: pd.DataFrame) -> tuple[float, dict, float]:
    """EASE's l2 chosen by NDCG@10 on a leave-last-out validation split of train."""
    from reclearn import build, split

    inner, validation = split.leave_last_out(train)
    start = time.perf_counter()
    model = build("ease").fit(inner, validation=validation)
    return model.l2_, model.validation_ndcg_, time.perf_counter() - start


def run_model(label, model, train, test, negatives) -> tuple[list[dict], dict, dict]:
    """Fit on train, evaluate under both protocols: CSV rows, skip counts, and per
    protocol the summary and the per-user frame."""
    from reclearn.evaluate import evaluate_ranking
    from reclearn.stats import bootstrap_ci

    start = time.perf_counter()
    model.fit(train)
    fit_s = time.perf_counter() - start
    rows, counts, summaries = [], {}, {}
    for protocol in ("full", "sampled"):
        result = evaluate_ranking(
            model,
            train,
            test,
            k=K,
            protocol=protocol,
            negatives=negatives if protocol == "sampled" else None,
        )
        counts[protocol] = (result.num_users, result.num_skipped, result.num_unscorable_items)
        summaries[protocol] = result.summary, result.per_user
        for column in result.summary:
            mean, low, high = bootstrap_ci(result.per_user[column].dropna(), n_boot=N_BOOT)
            rows.append(
                {
                    "model": label,
                    "backend": MODELS[label][1],
                    "protocol": protocol,
                    "metric": column,
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "fit_s": fit_s,
                }
            )
    return rows, counts, summaries


def markdown(results: pd.DataFrame, head: str) -> str:
    """The header and one table per protocol: mean [95% interval] of each metric."""
    metrics = list(dict.fromkeys(results["metric"]))
    lines = [head]
    for protocol, part in results.groupby("protocol", sort=False):
        lines += [
            "",
            f"**{protocol} protocol**",
            "",
            "| model | backend | " + " | ".join(metrics) + " | fit (s) |",
            "|---|---|" + "---|" * (len(metrics) + 1),
        ]
        for (model, backend), rows in part.groupby(["model", "backend"], sort=False):
            cells = rows.set_index("metric")
            values = [
                f"{cells.at[m, 'mean']:.4f} [{cells.at[m, 'ci_low']:.4f}, "
                f"{cells.at[m, 'ci_high']:.4f}]"
                for m in metrics
            ]
            lines.append(
                f"| {model} | {backend} | "
                + " | ".join(values)
                + f" | {rows['fit_s'].iloc[0]:.2f} |"
            )
    return "\n".join(lines) + "\n"


def run(options: BenchOptions) -> BenchResult:
    """Run the ranking benchmark and write its files (see the module docstring).

    Args:
        options: What to run. ``seed`` draws the stored negatives of the sampled
            protocol; ``backend`` picks the neural twins; ``models`` are keys of
            :data:`MODELS` (default all of them); ``quick`` runs pop, EASE and BPR-MF
            only; ``epochs`` overrides the neural models' defaults; ``tuned`` builds
            every model with its options in ``benchmarks/tuned`` (EASE's l2 is then
            not chosen again); ``verbose`` prints a line per model and protocol.
            ``folds`` is not used.

    Returns:
        A :class:`reclearn.bench.BenchResult`.

    Raises:
        ValueError: Unknown data set, model or backend.
        OSError: The output folder cannot be created or written to.

    Introduced in chapter "Deep collaborative filtering".
    """
    import reclearn
    from reclearn import sampling, split

    dataset, seed = options.dataset, options.seed
    epochs, verbose = options.epochs, options.verbose
    labels, out = check(options)
    data = reclearn.load_dataset(dataset)
    ratings = data.ratings
    train, test = split.leave_last_out(ratings)
    path = out / f"negatives-{dataset}-seed{seed}.csv"
    digest = stored_negatives(ratings, train, test, path, seed)
    negatives = sampling.load_negatives(path)
    log(verbose, f"wrote {path} (sha256 {digest[:16]}...)")

    rows, notes, per_user = [], [], []
    tuned = tuned_records(options, labels, MODELS)
    if tuned:
        notes.append(budget_text(tuned))
    bar = progress(labels, desc="bench ranking", unit="model")
    for label in bar:
        name, model_backend = MODELS[label]
        model_options = replay_options(tuned[label]["best_options"]) if label in tuned else {}
        if label == "ease" and label not in tuned:
            l2, scores, tune_s = tune_ease(train)
            model_options["l2"] = l2
            grid = ", ".join(f"{k:g}: {v:.4f}" for k, v in scores.items())
            notes.append(
                f"EASE l2 = {l2:g}, chosen by validation NDCG@{K} ({grid}) in "
                f"{tune_s:.1f} s, not counted in fit (s)."
            )
            log(verbose, notes[-1])
        trained = model_options.pop("epochs", epochs)  # tuned deep models carry theirs
        if name in FEATURE_MODELS:  # genres and years of release-time content
            model_options["content"] = feature_content(data)
        model = build_model(name, model_backend, trained, **model_options)
        model_rows, counts, summaries = run_model(label, model, train, test, negatives)
        rows += model_rows
        users, skipped, unscorable = counts["full"]
        bar.set_postfix(model=label, ndcg=float(summaries["full"][0][f"ndcg@{K}"]))
        per_user.append(summaries["full"][1][["user_id", *PER_USER]].assign(model=label))
        for protocol, (summary, _) in summaries.items():
            hr, ndcg = summary[f"hr@{K}"], summary[f"ndcg@{K}"]
            scores = f"HR@{K} {hr:.4f}  NDCG@{K} {ndcg:.4f}"
            log(verbose, f"{label:>14} {protocol:>7}: {scores}")

    results = pd.DataFrame(rows)
    trained = f" Neural models trained {epochs} epochs." if epochs is not None else ""
    head = (
        f"{dataset} ({len(ratings):,} ratings), leave-last-out ({len(test)} test users; "
        f"{users} evaluated, {skipped} skipped, {unscorable} held-out items never in train "
        f"ranked last); sampled protocol: each held-out item with the 99 stored negatives "
        f"of `{path.name}` (seed {seed}, sha256 {digest[:12]}). Mean over users "
        f"[per-user bootstrap 95% interval, {N_BOOT} resamples]; ties broken pessimistically."
        f"{trained} {machine()}; {versions(('numpy', 'scipy', 'pandas', 'torch', 'tensorflow'))}."
    )
    if notes:
        head += "\n\n" + " ".join(notes)
    table = markdown(results, head)
    name = stem("ranking", dataset, options.quick, options.tuned)
    files = [path, out / f"{name}.csv", out / f"{name}.md", out / f"{name}-users.csv"]
    result = BenchResult(table, files)
    write_atomic(files[1], results.to_csv(index=False, float_format="%.6g"))
    write_atomic(files[2], table)
    users_frame = pd.concat(per_user)[["model", "user_id", *PER_USER]]
    write_atomic(files[3], users_frame.to_csv(index=False, float_format="%.6g"))
    return result
