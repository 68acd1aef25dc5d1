"""Cold-start benchmark: item cold start (held-out films) and user cold start (n known
ratings), NDCG@10 and HR@10 for popularity, MF, the content models and the hybrid.

Writes benchmarks/results/cold_start.csv (one row per experiment, model, backend and n).
Run with ``make bench`` or ``python benchmarks/cold_start.py [--backends torch,tf]``.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import pandas as pd
from common import machine, versions, write_atomic

from reclearn import build, load_dataset, split
from reclearn.cold_start import evaluate_cold_start
from reclearn.content import item_content

RESULTS = Path(__file__).resolve().parent / "results"


def models(backend: str, content, names) -> dict:
    options = {"verbose": False}
    factories = {
        "pop": lambda: build("pop"),
        "mf": lambda: build("mf", backend=backend, **options),
        "content-tfidf": lambda: build("content-tfidf", content=content),
        "content-bag": lambda: build("content-bag", backend=backend, content=content, **options),
        "content-cnn": lambda: build("content-cnn", backend=backend, content=content, **options),
        "hybrid": lambda: build("hybrid", backend=backend, content=content, **options),
    }
    return {name: factories[name]() for name in names}


def run(row_base: dict, model, train, test, candidates=None) -> dict:
    start = time.perf_counter()
    model.fit(train)
    fit_s = time.perf_counter() - start
    result = evaluate_cold_start(model, train, test, candidates=candidates)
    return {**row_base, "ndcg@10": result.summary["ndcg@10"], "hr@10": result.summary["hr@10"],
            "users": result.num_users, "fit_s": round(fit_s, 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="torch,tf")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    dataset = load_dataset("ml-latest-small")
    content = item_content(dataset.items, dataset.tags)
    rows = []
    train, test = split.cold_item_split(dataset.ratings, item_fraction=0.1, seed=args.seed)
    cold = test.item_id.astype(str).unique()
    for backend in args.backends.split(","):
        names = ["pop", "mf", "content-tfidf", "content-bag", "content-cnn", "hybrid"]
        for name, model in models(backend, content, names).items():
            base = {"experiment": "item", "model": name, "backend": backend, "n_known": ""}
            rows.append(run(base, model, train, test, candidates=cold))
            print(rows[-1], flush=True)
        for n_known in (0, 1, 3, 5, 10):
            train_u, test_u = split.cold_user_split(dataset.ratings, 0.2, n_known, seed=args.seed)
            user_models = models(backend, content, ["pop", "mf", "content-tfidf", "hybrid"])
            for name, model in user_models.items():
                base = {"experiment": "user", "model": name, "backend": backend, "n_known": n_known}
                rows.append(run(base, model, train_u, test_u))
                print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    buffer = io.StringIO()
    buffer.write(f"# {machine()}; {versions()}\n")
    frame.to_csv(buffer, index=False, float_format="%.4f")
    RESULTS.mkdir(exist_ok=True)
    write_atomic(RESULTS / "cold_start.csv", buffer.getvalue())
    print(f"wrote {RESULTS / 'cold_start.csv'}")


if __name__ == "__main__":
    main()
