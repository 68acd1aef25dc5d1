"""Benchmark matrix factorisation (PyTorch and TensorFlow) against Surprise baselines.

Every model is fitted and scored on the same k folds of ``ml-latest-small``; the script
writes ``benchmarks/results/mf.csv`` (one row per model and fold), ``mf.md`` (mean ± std
per model) and the README section between ``<!-- bench:mf:start -->`` and
``<!-- bench:mf:end -->``, then checks the floors the models must clear (exit status 1 if
they do not). Run ``python benchmarks/run.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import pandas as pd
from common import machine, torch_device, versions, write_atomic

import reclearn
from reclearn import metrics
from reclearn.progress import progress
from reclearn.registry import SURPRISE_MODELS, build

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"
MARKERS = ("<!-- bench:mf:start -->", "<!-- bench:mf:end -->")
DATA = "ml-latest-small"
RATING_SCALE = (0.5, 5.0)

# label -> (registry name, backend); deep models first, then every Surprise baseline.
MODELS = {
    "mf-torch": ("mf", "torch"),
    "mf-tf": ("mf", "tf"),
    **{name: (name, "surprise") for name in SURPRISE_MODELS},
}
QUICK_MODELS = ["mf-torch", "mf-tf", "surprise-baseline", "surprise-svd"]
QUICK_FOLDS = 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5, help="number of k-fold splits (5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fold assignment (0)")
    parser.add_argument(
        "--models", nargs="+", choices=list(MODELS), metavar="MODEL",
        help=f"models to run (default: all): {', '.join(MODELS)}",
    )  # fmt: skip
    parser.add_argument(
        "--quick", action="store_true",
        help=f"smoke run: first {QUICK_FOLDS} folds, models {', '.join(QUICK_MODELS)}; "
        "writes mf-quick.csv/.md and leaves README.md alone",
    )  # fmt: skip
    args = parser.parse_args(argv)
    args.models = args.models or (QUICK_MODELS if args.quick else list(MODELS))
    return args


def make_model(label: str):
    """An unfitted model by benchmark label, with its library defaults."""
    name, backend = MODELS[label]
    if backend == "surprise":
        return build(name)
    return build(name, backend=backend, verbose=False)


def warm_up(labels: list[str], ratings: pd.DataFrame) -> None:
    """Fit each deep backend once on a tiny frame so import/JIT cost is not timed."""
    tiny = ratings.iloc[:2000]
    for label in labels:
        if MODELS[label][1] != "surprise":
            make_model(label).fit(tiny, rating_scale=RATING_SCALE).predict(tiny)
            print(f"warmed up {label} (one untimed fit on {len(tiny)} ratings)", flush=True)


def evaluate(label: str, fold: int, train: pd.DataFrame, test: pd.DataFrame) -> dict:
    """Fit one model on ``train``, score it on ``test``; one result row."""
    model = make_model(label)
    start = time.perf_counter()
    model.fit(train, rating_scale=RATING_SCALE)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    predicted = model.predict(test)
    predict_s = time.perf_counter() - start
    actual = test["rating"].to_numpy()
    return {
        "model": label,
        "backend": MODELS[label][1],
        "fold": fold,
        "rmse": metrics.rmse(predicted, actual),
        "mae": metrics.mae(predicted, actual),
        "fit_s": fit_s,
        "predict_s": predict_s,
        "num_fallback": predicted.num_fallback,
    }


def run_all(labels: list[str], folds: list[tuple[pd.DataFrame, pd.DataFrame]]) -> pd.DataFrame:
    """Every model on every fold, with one progress line per model and fold."""
    rows = []
    for fold, (train, test) in enumerate(folds):
        for label in labels:
            bar = progress([label], desc=f"fold {fold} {label}", unit="fit")
            for _ in bar:
                row = evaluate(label, fold, train, test)
                bar.set_postfix(rmse=row["rmse"], fit_s=row["fit_s"])
            rows.append(row)
    return pd.DataFrame(rows)


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over folds per model, sorted by mean RMSE."""
    stats = results.groupby(["model", "backend"], sort=False)[
        ["rmse", "mae", "fit_s", "predict_s", "num_fallback"]
    ].agg(["mean", "std"])
    return stats.sort_values(("rmse", "mean")).reset_index()


def _pm(mean: float, std: float, digits: int) -> str:
    """``mean ± std`` (std left out when there is a single fold)."""
    return f"{mean:.{digits}f}" if pd.isna(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def header(used: int, n_splits: int, seed: int, num_ratings: int) -> str:
    """One line naming the data, folds, date, machine and library versions."""
    folds = f"{n_splits}" if used == n_splits else f"{used} of {n_splits}"
    return (
        f"{DATA} ({num_ratings:,} ratings), {folds} random folds (seed {seed}), "
        f"{machine()} (torch device: {torch_device()}); {versions()}. Deep backends warmed "
        "up with one untimed fit before timing; times in seconds."
    )


def markdown(summary: pd.DataFrame, head: str) -> str:
    """The header line and a Markdown table of mean ± std per model."""
    lines = [
        head,
        "",
        "| model | backend | RMSE | MAE | fit (s) | predict (s) | fallbacks |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, row in summary.iterrows():
        cells = [
            row[("model", "")],
            row[("backend", "")],
            _pm(row[("rmse", "mean")], row[("rmse", "std")], 4),
            _pm(row[("mae", "mean")], row[("mae", "std")], 4),
            _pm(row[("fit_s", "mean")], row[("fit_s", "std")], 2),
            _pm(row[("predict_s", "mean")], row[("predict_s", "std")], 3),
            f"{row[('num_fallback', 'mean')]:.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def update_readme(table: str) -> bool:
    """Replace the README section between the markers; False if the markers are missing."""
    text = README.read_text(encoding="utf-8")
    start, end = (re.escape(m) for m in MARKERS)
    pattern = re.compile(f"{start}.*?{end}", flags=re.DOTALL)
    if not pattern.search(text):
        return False
    section = f"{MARKERS[0]}\n{table}{MARKERS[1]}"
    write_atomic(README, pattern.sub(lambda _: section, text, count=1))
    return True


def check_floors(summary: pd.DataFrame) -> list[str]:
    """Print the floors the models must clear; return the failures."""
    by_model = summary.set_index(("model", ""))
    rmse = by_model[("rmse", "mean")]
    fit = by_model[("fit_s", "mean")]
    checks = [
        ("mf-torch RMSE < surprise-svd RMSE", "mf-torch", "surprise-svd", rmse, "<"),
        ("mf-tf RMSE < surprise-svd RMSE", "mf-tf", "surprise-svd", rmse, "<"),
        ("mf-torch fit time <= surprise-svd fit time", "mf-torch", "surprise-svd", fit, "<="),
    ]
    failures = []
    print("\nFloors:")
    for text, left, right, values, op in checks:
        if left not in values.index or right not in values.index:
            print(f"  SKIP  {text} (not both run)")
            continue
        a, b = values[left], values[right]
        ok = a < b if op == "<" else a <= b
        print(f"  {'PASS' if ok else 'FAIL'}  {text}: {a:.4f} vs {b:.4f} (diff {a - b:+.4f})")
        if not ok:
            failures.append(text)
    return failures


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, write the results, check the floors; the exit status."""
    args = parse_args(argv)
    ratings = reclearn.load_dataset(DATA).ratings
    folds = list(reclearn.split.kfold(ratings, n_splits=args.folds, seed=args.seed))
    if args.quick:
        folds = folds[:QUICK_FOLDS]
    warm_up(args.models, ratings)
    results = run_all(args.models, folds)
    summary = summarize(results)
    table = markdown(summary, header(len(folds), args.folds, args.seed, len(ratings)))

    stem = "mf-quick" if args.quick else "mf"
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_atomic(RESULTS / f"{stem}.csv", results.to_csv(index=False, float_format="%.6g"))
    write_atomic(RESULTS / f"{stem}.md", table)
    print("\n" + table)
    print(f"wrote {RESULTS / (stem + '.csv')} and {RESULTS / (stem + '.md')}")
    if not args.quick:
        if update_readme(table):
            print(f"updated the benchmark section of {README}")
        else:
            print(f"warning: markers {MARKERS} not found in {README}; left it unchanged")

    failures = check_floors(summary)
    if failures:
        print(f"\nFAILED {len(failures)} floor(s): " + "; ".join(failures), file=sys.stderr)
        return 1
    print("\nAll floors met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
