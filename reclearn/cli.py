"""The ``reclearn`` command: data sets, their statistics and the benchmarks.

``reclearn datasets``, ``reclearn stats NAME``, ``reclearn download NAME`` and
``reclearn bench mf|ranking|cold-start|all``; ``reclearn COMMAND --help`` for each. Also
run as ``python -m reclearn``. Errors print one line and exit with status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from reclearn import data

BENCHMARKS = ("mf", "ranking", "cold-start")
OUT_HELP = (
    "output folder (default: benchmarks/results of the reclearn checkout when run from "
    "inside it, otherwise the current directory)"
)


def main(argv: list[str] | None = None) -> int:
    """Run the command line (``argv`` defaults to ``sys.argv[1:]``); the exit status.

    Described in README.md, section "Command line".
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return args.handler(args)
    except BrokenPipeError:  # e.g. `reclearn datasets | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("reclearn: interrupted", file=sys.stderr)
        return 130
    except (ValueError, data.DataError, OSError, ImportError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"reclearn: error: {message}", file=sys.stderr)
        return 1


def make_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="reclearn",
        description="Data sets and benchmarks of reclearn, the deep-learning recommender "
        "systems book (PyTorch and TensorFlow, measured against Surprise).",
        epilog="Run 'reclearn COMMAND --help' for the options of a command.",
    )
    from reclearn import __version__

    parser.add_argument("--version", action="version", version=f"reclearn {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    sub = commands.add_parser(
        "datasets",
        help="list the data sets, their size, whether they are here, and their licences",
        description="List every data set reclearn knows: size, whether it is bundled, "
        "downloaded or not present, a licence summary and where the licence text is.",
    )
    sub.set_defaults(handler=cmd_datasets)

    sub = commands.add_parser(
        "stats",
        help="statistics of one data set",
        description="Users, items, ratings, density, ratings per user and per item, the "
        "distribution of rating values and the time span of a data set.",
    )
    sub.add_argument("name", help="a name from 'reclearn datasets', e.g. ml-latest-small")
    sub.set_defaults(handler=cmd_stats)

    sub = commands.add_parser(
        "download",
        help="download a registered MovieLens archive (checksum-verified)",
        description="Download a MovieLens archive that may not be redistributed from "
        f"GroupLens into {data.DATA_DIR / 'downloads'} ($RECLEARN_DATA), verify its published "
        "checksum and keep it only if it matches. Needs a network.",
    )
    sub.add_argument(
        "name",
        choices=list(data.REGISTRY),
        metavar="NAME",
        help=f"one of {', '.join(data.REGISTRY)}",
    )
    sub.set_defaults(handler=cmd_download)

    bench = commands.add_parser(
        "bench",
        help="run a benchmark, write its files and print its table",
        description="Run a benchmark on every model it covers, write CSV and Markdown "
        "results and print the Markdown table on stdout (progress and notes go to stderr).",
    )
    kinds = bench.add_subparsers(title="benchmarks", metavar="BENCHMARK")
    bench.set_defaults(handler=lambda _: bench.print_help() or 0)
    _bench_parser(
        kinds,
        "mf",
        "rating prediction: MF (torch, tf) vs every Surprise model, k-fold RMSE and MAE",
        folds=True,
        models="mf",
    )
    _bench_parser(
        kinds,
        "ranking",
        "top-10 ranking, leave-last-out, full and sampled protocols with bootstrap intervals",
        models="ranking",
    )
    _bench_parser(
        kinds,
        "cold-start",
        "new items and new users: popularity, MF, content models and the hybrid",
    )
    _bench_parser(kinds, "all", "mf, ranking and cold-start, one after the other", folds=True)
    return parser


def _bench_parser(kinds, name: str, text: str, folds: bool = False, models: str | None = None):
    from reclearn.bench import BACKEND_CHOICES, DEFAULT_DATASET

    sub = kinds.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
    sub.add_argument(
        "--dataset",
        default=DEFAULT_DATASET,
        help=f"data set name ({DEFAULT_DATASET}); 'synthetic' for a fast run",
    )
    sub.add_argument(
        "--backend",
        choices=BACKEND_CHOICES,
        default="both",
        help="deep-learning framework(s) to run (both)",
    )
    sub.add_argument(
        "--epochs",
        type=_positive,
        metavar="N",
        help="train deep models N epochs instead of their defaults",
    )
    sub.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: fewer models (and folds); files get a -quick suffix",
    )
    sub.add_argument(
        "--seed", type=int, default=0, help="seed of the folds, splits and stored negatives (0)"
    )
    sub.add_argument("--out", type=Path, metavar="DIR", help=OUT_HELP)
    sub.add_argument("-v", "--verbose", action="store_true", help="print a line per fit")
    if folds:
        sub.add_argument(
            "--folds",
            type=_positive,
            default=5,
            metavar="K",
            help="number of random folds of the mf benchmark (5)",
        )
    if models:
        from reclearn.bench import mf, ranking

        labels = list((mf if models == "mf" else ranking).MODELS)
        sub.add_argument(
            "--models",
            nargs="+",
            choices=labels,
            metavar="MODEL",
            help=f"models to run (default: all): {', '.join(labels)}",
        )
    sub.set_defaults(handler=cmd_bench, benchmark=name)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


# --- datasets, stats, download --------------------------------------------------------


def dataset_table() -> pd.DataFrame:
    """One row per data set: name, size, status, licence and where its licence text is.

    Introduced in chapter "Data".
    """
    rows = []
    for entry in data.available().itertuples(index=False):
        name = entry.name
        if name == "synthetic":
            size, status, where = "generated", "bundled", "no licence needed"
        elif entry.bundled:
            folder = data.bundled_dir(name)
            files = [f for f in folder.iterdir() if f.is_file()] if folder.is_dir() else []
            size = _size(sum(f.stat().st_size for f in files)) if files else "?"
            status = "bundled" if files else "missing (set $RECLEARN_DATA to a copy of data/)"
            where = str(folder / "README.txt")
        else:
            spec = data.REGISTRY[name]
            size = _size(spec.size) if spec.size else "unpublished"
            status = "downloaded" if _cached(name).is_file() else "not present"
            folder = spec.ratings_file.split("/")[0]
            where = f"README in {folder}/ of {spec.url} (and grouplens.org/datasets/movielens)"
        rows.append(
            {
                "name": name,
                "size": size,
                "status": status,
                "licence": entry.licence,
                "licence text": where,
            }
        )
    return pd.DataFrame(rows)


def cmd_datasets(_args) -> int:
    table = dataset_table()
    print(f"{'name':<16} {'size':>11}  status")
    for row in table.itertuples(index=False):
        print(f"{row.name:<16} {row.size:>11}  {row.status}")
        print(f"{'':<16} licence: {row.licence}")
        print(f"{'':<16} licence text: {row._4}")
    print(
        f"\nDownloads are cached in {data.DATA_DIR / 'downloads'}; "
        "get one with 'reclearn download NAME'."
    )
    return 0


def describe(ratings: pd.DataFrame) -> dict:
    """Statistics of a ratings frame (``user_id, item_id, rating[, timestamp]``).

    Returns:
        ``users``, ``items`` (rated), ``ratings``, ``density``, ``per_user`` and
        ``per_item`` (min, quartiles, max, mean of the counts), ``values`` (count per
        rating value, or per one of ten equal bins when there are over 20 distinct
        values) and ``first``/``last`` (UTC timestamps, or None without timestamps).

    Introduced in chapter "Data".
    """
    user_ids = ratings["user_id"].astype(str)
    item_ids = ratings["item_id"].astype(str)
    users, items = user_ids.nunique(), item_ids.nunique()
    quantiles = [0, 0.25, 0.5, 0.75, 1]
    names = ["min", "25%", "median", "75%", "max"]

    def spread(counts: pd.Series) -> dict:
        values = np.quantile(counts.to_numpy(), quantiles)
        return {**dict(zip(names, map(float, values), strict=True)), "mean": counts.mean()}

    rating = ratings["rating"]
    if rating.nunique() > 20:
        values = pd.cut(rating, bins=10).value_counts(sort=False)
    else:
        values = rating.value_counts().sort_index()
    first = last = None
    if "timestamp" in ratings.columns and len(ratings):
        first, last = (
            pd.Timestamp(t, unit="s", tz="UTC")
            for t in (ratings["timestamp"].min(), ratings["timestamp"].max())
        )
    return {
        "users": users,
        "items": items,
        "ratings": len(ratings),
        "density": len(ratings) / (users * items) if users and items else 0.0,
        "per_user": spread(user_ids.value_counts()),
        "per_item": spread(item_ids.value_counts()),
        "values": values,
        "first": first,
        "last": last,
    }


def cmd_stats(args) -> int:
    name = args.name
    if name in data.REGISTRY and not _cached(name).is_file():
        raise data.DataError(
            f"{name} is not downloaded; run 'reclearn download {name}' (needs a network) "
            f"or put the archive from {data.REGISTRY[name].url} at {_cached(name)}"
        )
    dataset = data.load_dataset(name)
    stats = describe(dataset.ratings)
    print(f"{name}")
    print(f"  {'users':<18}{stats['users']:,}")
    print(f"  {'items':<18}{stats['items']:,} rated ({len(dataset.items):,} in the item table)")
    print(f"  {'ratings':<18}{stats['ratings']:,}")
    print(f"  {'density':<18}{stats['density']:.2%} of the user-item matrix")
    for key, label in (("per_user", "ratings per user"), ("per_item", "ratings per item")):
        parts = ", ".join(f"{k} {v:,.4g}" for k, v in stats[key].items())
        print(f"  {label:<18}{parts}")
    low, high = dataset.rating_scale
    print(f"  {'rating scale':<18}{low:g} to {high:g}; ratings by value:")
    for value, count in stats["values"].items():
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        print(f"  {'':<18}{shown:>16} {count:>9,} {count / stats['ratings']:>7.1%}")
    if stats["first"] is not None:
        days = (stats["last"] - stats["first"]).days
        length = f"{days / 365.25:.1f} years" if days > 365 else f"{days} days"
        print(
            f"  {'time span':<18}{stats['first']:%Y-%m-%d} to {stats['last']:%Y-%m-%d} ({length})"
        )
    return 0


def cmd_download(args) -> int:
    target = data.fetch_archive(args.name, download=True)
    print(f"{args.name}: {target} (checksum verified)")
    return 0


def _cached(name: str) -> Path:
    return data.DATA_DIR / "downloads" / f"{name}.zip"


def _size(num_bytes: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if num_bytes < 1000 or unit == "GB":
            return f"{num_bytes:.0f} {unit}" if unit == "B" else f"{num_bytes:.1f} {unit}"
        num_bytes /= 1000
    return ""


# --- bench -----------------------------------------------------------------------------


def cmd_bench(args) -> int:
    names = BENCHMARKS if args.benchmark == "all" else (args.benchmark,)
    status = 0
    for name in names:
        if len(names) > 1:
            print(f"### reclearn bench {name}\n", flush=True)
        result = run_benchmark(name, args)
        print(result.table, flush=True)
        for line in result.notes:
            print(line, file=sys.stderr)
        print("wrote " + ", ".join(str(f) for f in result.files), file=sys.stderr, flush=True)
        if result.failures:
            print(f"reclearn: bench {name} FAILED: " + "; ".join(result.failures), file=sys.stderr)
            status = 1
    return status


def run_benchmark(name: str, args):
    """Run one benchmark with the parsed options; everything it prints goes to stderr."""
    from reclearn.bench import cold_start, mf, ranking

    common = {
        "dataset": args.dataset,
        "seed": args.seed,
        "backend": args.backend,
        "quick": args.quick,
        "epochs": args.epochs,
        "out": args.out,
        "verbose": args.verbose,
    }
    models = getattr(args, "models", None)
    with contextlib.redirect_stdout(sys.stderr):
        if name == "mf":
            return mf.run(folds=args.folds, models=models, **common)
        if name == "ranking":
            return ranking.run(models=models, **common)
        return cold_start.run(**common)
