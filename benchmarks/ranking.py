"""Benchmark every ranking model of ``reclearn.registry`` under the full and sampled protocols.

``ml-latest-small``, each user's latest rating held out (``split.leave_last_out``); every
rating counts as an interaction. EASE's ``l2`` is tuned on a validation split carved from
train the same way. The script writes the sampled protocol's candidates to
``benchmarks/results/negatives-ml-latest-small-seed<seed>.csv``, then
``ranking.csv`` (one row per model, protocol and metric: mean and a per-user bootstrap
95% interval) and ``ranking.md``. Models that ``build`` does not know yet are skipped with
a note. Run ``python benchmarks/ranking.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
from common import machine, versions, write_atomic

import reclearn
from reclearn import sampling, split
from reclearn.evaluate import bootstrap_ci, evaluate_ranking
from reclearn.interactions import IdIndex
from reclearn.registry import available_models, build

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DATA = "ml-latest-small"
K = 10
N_BOOT = 1000

# label -> (registry name, backend); the NumPy baselines, then the neural models.
MODELS = {
    "pop": ("pop", "numpy"),
    "itemknn": ("itemknn", "numpy"),
    "ease": ("ease", "numpy"),
    **{
        f"{name}-{backend}": (name, backend)
        for name in ("bpr-mf", "gmf", "mlp", "neumf", "mf")
        for backend in ("torch", "tf")
    },
}
SIMPLE_BACKEND = "numpy"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of the stored negatives (0)")
    parser.add_argument(
        "--models",
        nargs="+",
        choices=list(MODELS),
        metavar="MODEL",
        help=f"models to run (default: all that build knows): {', '.join(MODELS)}",
    )
    args = parser.parse_args(argv)
    args.models = args.models or list(MODELS)
    return args


def make_model(label: str, **options):
    """An unfitted model by benchmark label, or None (with a printed note) if unknown yet."""
    name, backend = MODELS[label]
    if name not in available_models():
        print(f"skip {label}: build() does not know {name!r} yet", flush=True)
        return None
    if backend == SIMPLE_BACKEND:
        return build(name, **options)
    try:
        return build(name, backend=backend, verbose=False, **options)
    except (ImportError, AttributeError) as error:  # registered, not implemented yet
        print(f"skip {label}: build({name!r}, backend={backend!r}) failed: {error}", flush=True)
        return None


def stored_negatives(ratings, train, test, seed: int) -> tuple[Path, str]:
    """Write the sampled protocol's 99 negatives per test row; (path, sha256)."""
    index = IdIndex.from_frame(train)
    users, items = index.encode(ratings)
    positives = sampling.PositiveSets(users, items, index.num_users, index.num_items)
    negatives = sampling.sampled_protocol_negatives(
        positives, index.users(test["user_id"]), 99, seed=seed
    )
    path = RESULTS / f"negatives-{DATA}-seed{seed}.csv"
    item_ids = index.item_ids.to_numpy()
    digest = sampling.save_negatives(
        path, test["user_id"].astype(str), test["item_id"].astype(str), item_ids[negatives]
    )
    return path, digest


def tune_ease(train: pd.DataFrame) -> tuple[float, dict, float]:
    """EASE's l2 chosen by NDCG@10 on a leave-last-out validation split of train."""
    inner, validation = split.leave_last_out(train)
    start = time.perf_counter()
    model = build("ease").fit(inner, validation=validation)
    return model.l2_, model.validation_ndcg_, time.perf_counter() - start


def run_model(label, model, train, test, negatives) -> tuple[list[dict], dict]:
    """Fit on train, evaluate under both protocols; CSV rows and the skip counts."""
    start = time.perf_counter()
    model.fit(train)
    fit_s = time.perf_counter() - start
    rows, counts = [], {}
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
        print(
            f"{label:>14} {protocol:>7}: HR@{K} {result.summary[f'hr@{K}']:.4f}  "
            f"NDCG@{K} {result.summary[f'ndcg@{K}']:.4f}  fit {fit_s:.2f} s",
            flush=True,
        )
    return rows, counts


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


def main(argv: list[str] | None = None) -> int:
    """Run the ranking benchmark and write its results; the exit status."""
    args = parse_args(argv)
    ratings = reclearn.load_dataset(DATA).ratings
    train, test = split.leave_last_out(ratings)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path, digest = stored_negatives(ratings, train, test, args.seed)
    negatives = sampling.load_negatives(path)
    print(f"wrote {path.relative_to(ROOT)} (sha256 {digest[:16]}...)", flush=True)

    rows, notes = [], []
    for label in args.models:
        options = {}
        if label == "ease":
            l2, scores, tune_s = tune_ease(train)
            options["l2"] = l2
            grid = ", ".join(f"{k:g}: {v:.4f}" for k, v in scores.items())
            notes.append(
                f"EASE l2 = {l2:g}, chosen by validation NDCG@{K} ({grid}) in "
                f"{tune_s:.1f} s, not counted in fit (s)."
            )
            print(notes[-1], flush=True)
        model = make_model(label, **options)
        if model is None:
            continue
        model_rows, counts = run_model(label, model, train, test, negatives)
        rows += model_rows
        users, skipped, unscorable = counts["full"]
    if not rows:
        print("no model ran", file=sys.stderr)
        return 1

    results = pd.DataFrame(rows)
    head = (
        f"{DATA} ({len(ratings):,} ratings), leave-last-out ({len(test)} test users; "
        f"{users} evaluated, {skipped} skipped, {unscorable} held-out items never in train "
        f"ranked last); sampled protocol: each held-out item with the 99 stored negatives "
        f"of `{path.name}` (seed {args.seed}, sha256 {digest[:12]}). Mean over users "
        f"[per-user bootstrap 95% interval, {N_BOOT} resamples]; ties broken pessimistically. "
        f"{machine()}; {versions(('numpy', 'scipy', 'pandas', 'torch', 'tensorflow'))}."
    )
    if notes:
        head += "\n\n" + " ".join(notes)
    table = markdown(results, head)
    write_atomic(RESULTS / "ranking.csv", results.to_csv(index=False, float_format="%.6g"))
    write_atomic(RESULTS / "ranking.md", table)
    print("\n" + table)
    print(f"wrote {RESULTS / 'ranking.csv'} and {RESULTS / 'ranking.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
