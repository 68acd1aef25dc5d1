"""DDP: MF and NeuMF trained by 1 and 2 PyTorch DDP processes (gloo on the CPU).

Each run is :func:`reclearn.distributed.launch` (torchrun) on the leave-last-out split
of the data set: fit time, RMSE and NDCG@10 (full ranking) with its bootstrap interval
over users, then, against the single-process run of the same model, the speed-up and a
paired bootstrap interval of the NDCG difference (the same users, in the same order).

Writes ``ddp.csv`` and ``ddp.md``. On a machine with fewer cores than processes, or
one shared with other work, the speed-up is below one: every step all-reduces the
gradients of the embedding rows each process looked up.
"""

from __future__ import annotations

import os

import pandas as pd

from reclearn.bench import (
    BenchOptions,
    BenchResult,
    log,
    machine,
    stem,
    versions,
    write_atomic,
)
from reclearn.progress import progress

PROCESSES = (1, 2)
MODELS = ("mf", "neumf")
RATING_MODELS = ("mf",)
"""Models whose scores are ratings: the others (NeuMF: probabilities) get no RMSE."""
EPOCHS = 10


def plan(options: BenchOptions) -> list[tuple[str, int]]:
    """Every run, in order: ``(model, processes)``; ``quick``: MF only."""
    models = options.models or (MODELS[:1] if options.quick else MODELS)
    return [(model, n) for model in models for n in PROCESSES]


def check(options: BenchOptions) -> list[tuple[str, int]]:
    """The runs, checked before any work (and the data set and output folder).

    Raises:
        ValueError: An unknown model.
    """
    unknown = [m for m in options.models or () if m not in MODELS]
    if unknown:
        raise ValueError(
            f"bench ddp: unknown model(s) {', '.join(map(repr, unknown))}; use {', '.join(MODELS)}"
        )
    options.check()
    return plan(options)


def compare(rows: list[dict]) -> pd.DataFrame:
    """The table: each run with its speed-up and NDCG difference against 1 process
    (RMSE only for :data:`RATING_MODELS`)."""
    from reclearn.stats import paired_bootstrap

    table = []
    single = {row["model"]: row for row in rows if row["processes"] == 1}
    for row in rows:
        base = single[row["model"]]
        paired = paired_bootstrap(row["ndcg_per_user"], base["ndcg_per_user"])
        rmse = row["rmse"] if row["model"] in RATING_MODELS else float("nan")
        table.append(
            {
                **{k: v for k, v in row.items() if k != "ndcg_per_user"},
                "rmse": rmse,
                "speedup": base["fit_s"] / row["fit_s"],
                "ndcg_diff": paired.mean_difference,
                "diff_low": paired.ci_low,
                "diff_high": paired.ci_high,
            }
        )
    return pd.DataFrame(table)


def markdown(table: pd.DataFrame, head: str) -> str:
    """The header and one row per run."""
    lines = [
        head,
        "",
        "| model | processes | fit (s) | speed-up | RMSE | NDCG@10 [95% CI] "
        "| NDCG - 1 process [95% CI] | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in table.to_dict("records"):
        cells = [r["model"], str(r["processes"]), f"{r['fit_s']:.1f}"]
        cells += [f"{r['speedup']:.2f}", "" if pd.isna(r["rmse"]) else f"{r['rmse']:.4f}"]
        cells.append(f"{r['ndcg@10']:.4f} [{r['ndcg_low']:.4f}, {r['ndcg_high']:.4f}]")
        cells.append(f"{r['ndcg_diff']:+.4f} [{r['diff_low']:+.4f}, {r['diff_high']:+.4f}]")
        cells.append(f"{r['load_1m']:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run(options: BenchOptions) -> BenchResult:
    """Train each model with 1 and 2 DDP processes and write ``ddp.csv`` and ``ddp.md``.

    Args:
        options: ``dataset``, ``epochs`` (default 10), ``seed`` and ``models``
            (``mf``, ``neumf``; ``quick``: MF only).

    Returns:
        A :class:`reclearn.bench.BenchResult`.

    Raises:
        ValueError: An unknown model or data set.
        RuntimeError: torchrun failed (its error output is included).

    Introduced in chapter "Scaling out".
    """
    from reclearn.distributed import launch

    tasks, rows = check(options), []
    epochs = options.epochs or EPOCHS
    for model, n in progress(tasks, desc="bench ddp", unit="fit"):
        row = launch(n, model=model, dataset=options.dataset, epochs=epochs, seed=options.seed)
        rows.append(row | {"epochs": epochs, "load_1m": os.getloadavg()[0]})
        log(options.verbose, f"{model}, {n} processes: fit {row['fit_s']:.1f} s")
    table = compare(rows)
    head = (
        f"{options.dataset}, leave-last-out, {epochs} epochs, seed {options.seed}; "
        f"torchrun --nproc_per_node=N, {rows[0]['backend']}, one thread per process; "
        f"NDCG@10 full ranking, 95% bootstrap intervals over users, the difference "
        f"paired by user. Load: the 1-minute load average after the run (above the "
        f"CPU count, other work shared the machine). {machine()}; {versions()}."
    )
    text = markdown(table, head)
    name = stem("ddp", options.dataset, options.quick)
    files = [options.folder() / f"{name}.csv", options.folder() / f"{name}.md"]
    write_atomic(files[0], table.to_csv(index=False, float_format="%.6g"))
    write_atomic(files[1], text)
    return BenchResult(text, files)
