"""The ``reclearn`` command: data sets, their statistics, the benchmarks and tuning.

``reclearn datasets``, ``reclearn stats NAME``, ``reclearn download NAME``,
``reclearn bench mf|ranking|cold-start|scale|all`` and ``reclearn tune MODEL``;
``reclearn COMMAND --help`` for each. Also
run as ``python -m reclearn``. A missing or malformed argument prints the usage and
exits with status 2; other errors print one line and exit with status 1. ``bench``
checks its arguments, models and output folder before any work starts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

from reclearn import data
from reclearn.describe import check_downloaded, dataset_table, describe

BENCHMARKS = ("mf", "ranking", "cold-start")  # what "all" runs; scale is apart
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
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    _command(
        commands,
        "datasets",
        "list the data sets, their size, whether they are here, and their licences",
        "List every data set reclearn knows: size, whether it is bundled, downloaded "
        "or not present, a licence summary and where the licence text is.",
        cmd_datasets,
    )
    sub = _command(
        commands,
        "stats",
        "statistics of one data set",
        "Users, items, ratings, density, ratings per user and per item, the "
        "distribution of rating values and the time span of a data set.",
        cmd_stats,
    )
    sub.add_argument("name", help="a name from 'reclearn datasets', e.g. ml-latest-small")
    sub = _command(
        commands,
        "download",
        "download a registered MovieLens archive (checksum-verified)",
        "Download a MovieLens archive that may not be redistributed from GroupLens "
        f"into {data.DATA_DIR / 'downloads'} ($RECLEARN_DATA), verify its published "
        "checksum and keep it only if it matches. Needs a network.",
        cmd_download,
    )
    sub.add_argument(
        "name",
        choices=list(data.REGISTRY),
        metavar="NAME",
        help=f"one of {', '.join(data.REGISTRY)}",
    )
    bench = _command(
        commands,
        "bench",
        "run a benchmark, write its files and print its table",
        "Run a benchmark on every model it covers, write CSV and Markdown results and "
        "print the Markdown table on stdout (progress and notes go to stderr).",
    )
    kinds = bench.add_subparsers(title="benchmarks", metavar="BENCHMARK", required=True)
    _bench_parser(
        kinds,
        "mf",
        "rating prediction: the rating models (torch, tf) vs every Surprise model, k-fold RMSE",
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
    _bench_parser(
        kinds,
        "scale",
        "MF fit time and peak memory at 1M and 5M synthetic ratings, 10k to 100k users",
    )
    _bench_parser(
        kinds,
        "scale-out",
        "fit time, ratings/s, peak memory, NDCG@10 of MF, BPR-MF, ALS, Spark ALS, EASE "
        "at 1M, 10M and 25M ml-25m-shaped synthetic ratings",
        models="scale-out",
    )
    _bench_parser(
        kinds,
        "ddp",
        "MF and NeuMF trained by 1 and 2 PyTorch DDP processes: time, speed-up, NDCG@10",
        models="ddp",
    )
    _bench_parser(kinds, "all", "mf, ranking and cold-start, one after the other", folds=True)
    _tune_parser(commands)
    _ddp_parser(commands)
    return parser


def _ddp_parser(commands) -> None:
    """``reclearn ddp``: data-parallel training with torchrun (reclearn.distributed)."""
    sub = _command(
        commands,
        "ddp",
        "train MF or NeuMF with PyTorch DDP over N processes (torchrun)",
        "Train a model on the leave-last-out split with torchrun --nproc_per_node=N "
        "(gloo on the CPU, NCCL on GPUs), every process with the same seed and its "
        "share of each batch; print fit time, RMSE and NDCG@10 as JSON.",
        cmd_ddp,
    )
    sub.add_argument("--nproc", type=int, default=2, help="processes (default 2)")
    sub.add_argument("--model", default="mf", choices=["mf", "neumf"])
    sub.add_argument("--dataset", default="ml-latest-small", help="a data set or synthetic")
    sub.add_argument("--epochs", type=int, default=10)
    sub.add_argument("--seed", type=int, default=0)


def cmd_ddp(args) -> int:
    from reclearn.distributed import launch

    row = launch(
        args.nproc, model=args.model, dataset=args.dataset, epochs=args.epochs, seed=args.seed
    )
    shown = {key: value for key, value in row.items() if key != "ndcg_per_user"}
    print(json.dumps(shown, indent=2))
    return 0


def _command(commands, name: str, summary: str, description: str, handler=None):
    """Add subcommand ``name`` with its one-line ``summary`` (for the list of commands),
    its ``description`` (for its own help) and the function that runs it."""
    sub = commands.add_parser(name, help=summary, description=description)
    if handler is not None:
        sub.set_defaults(handler=handler)
    return sub


def _bench_parser(kinds, name: str, text: str, folds: bool = False, models: str | None = None):
    from reclearn.bench import BACKEND_CHOICES, DEFAULT_DATASET, DEFAULT_FOLDS

    sub = _command(kinds, name, text, text[0].upper() + text[1:] + ".")
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
        type=_integer(1),
        metavar="N",
        help="train deep models N epochs instead of their defaults",
    )
    sub.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: fewer models (and folds); files get a -quick suffix",
    )
    sub.add_argument(
        "--seed",
        type=_integer(0),
        default=0,
        help="seed of the folds, splits and stored negatives (0)",
    )
    sub.add_argument("--out", type=Path, metavar="DIR", help=OUT_HELP)
    sub.add_argument("-v", "--verbose", action="store_true", help="print a line per fit")
    if folds:
        sub.add_argument(
            "--folds",
            type=_integer(2),
            default=DEFAULT_FOLDS,
            metavar="K",
            help=f"number of random folds of the mf benchmark ({DEFAULT_FOLDS})",
        )
    if models in ("scale-out", "ddp"):
        _model_flags(sub, models)
    elif models:
        from reclearn.bench import mf, ranking

        sub.add_argument(
            "--tuned",
            action="store_true",
            help="build every model with the options reclearn tune wrote to "
            "benchmarks/tuned/<dataset>/ (make tune); files get a -tuned suffix",
        )
        sub.add_argument(
            "--tuned-dir",
            type=Path,
            metavar="DIR",
            help="folder of the tuned options (default: benchmarks/tuned)",
        )

        labels = list((mf if models == "mf" else ranking).MODELS)
        sub.add_argument(
            "--models",
            nargs="+",
            metavar="MODEL",
            help=f"models to run (default: all): {', '.join(labels)}",
        )
    sub.set_defaults(handler=cmd_bench, benchmark=name)


def _model_flags(sub, name: str) -> None:
    """``--models`` of ``bench scale-out`` or ``bench ddp``, and scale-out's ``--sizes``."""
    labels = list(bench_module(name).MODELS)
    sub.add_argument(
        "--models",
        nargs="+",
        choices=labels,
        metavar="MODEL",
        help=f"models to run (default: all): {', '.join(labels)}",
    )
    if name == "scale-out":
        sizes = ", ".join(f"{n:,}" for n in bench_module(name).RATINGS)
        sub.add_argument(
            "--sizes",
            nargs="+",
            type=_integer(10_000),
            metavar="N",
            help=f"numbers of ratings to measure, merged into its CSV (default: {sizes})",
        )


def _tune_parser(commands) -> None:
    from reclearn.bench import DEFAULT_DATASET
    from reclearn.search_spaces import SEARCH_SPACES
    from reclearn.tune import OBJECTIVES

    sub = _command(
        commands,
        "tune",
        "tune a model's options on validation data (Optuna), write them to JSON",
        "Search a model's options with Optuna on validation data carved from the "
        "training part of the benchmark that reports it (never its test rows) and write "
        "the best ones, the budget and the validation score to "
        "<out>/<dataset>/<model>[-<backend>].json. One line per trial goes to stderr.",
        cmd_tune,
    )
    sub.add_argument(
        "model",
        choices=list(SEARCH_SPACES),
        metavar="MODEL",
        help=f"one of {', '.join(SEARCH_SPACES)}",
    )
    sub.add_argument(
        "--dataset",
        default=DEFAULT_DATASET,
        help=f"data set name ({DEFAULT_DATASET}); 'synthetic' for a fast run",
    )
    sub.add_argument("--trials", type=_integer(1), metavar="N", help="number of trials")
    sub.add_argument(
        "--timeout", type=_integer(1), metavar="S", help="stop starting trials after S s"
    )
    sub.add_argument("--objective", choices=OBJECTIVES, help="default: the model's own")
    sub.add_argument(
        "--backend", choices=("torch", "tf"), default="torch", help="of deep models (torch)"
    )
    sub.add_argument("--seed", type=_integer(0), default=0, help="seed of sampler and splits (0)")
    sub.add_argument(
        "--storage",
        metavar="URL",
        help="Optuna storage to save and resume the study, e.g. sqlite:///study.db",
    )
    sub.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="output folder (default: benchmarks/tuned of the reclearn checkout when run "
        "from inside it, otherwise the current directory)",
    )


def _integer(low: int):
    """An argparse type: an integer of at least ``low``, else a usage error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            message = f"must be an integer of at least {low}, got {text}"
            raise argparse.ArgumentTypeError(message)
        return value

    return parse


# --- datasets, stats, download --------------------------------------------------------


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


def cmd_stats(args) -> int:
    name = args.name
    check_downloaded(name)
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


# --- bench -----------------------------------------------------------------------------


def cmd_bench(args) -> int:
    from reclearn.bench import BenchOptions

    options = BenchOptions.from_args(args)
    names = BENCHMARKS if args.benchmark == "all" else (args.benchmark,)
    for name in names:  # every check before any work
        bench_module(name).check(options)
    status = 0
    for name in names:
        if len(names) > 1:
            print(f"### reclearn bench {name}\n", flush=True)
        result = run_benchmark(name, options)
        print(result.table, flush=True)
        for line in result.notes:
            print(line, file=sys.stderr)
        print("wrote " + ", ".join(str(f) for f in result.files), file=sys.stderr, flush=True)
        if result.failures:
            print(f"reclearn: bench {name} FAILED: " + "; ".join(result.failures), file=sys.stderr)
            status = 1
    return status


def run_benchmark(name: str, options):
    """Run one benchmark with a ``BenchOptions``; what it prints goes to stderr."""
    with contextlib.redirect_stdout(sys.stderr):
        return bench_module(name).run(options)


def bench_module(name: str):
    """The module of benchmark ``name`` (``mf``, ``ranking``, ``cold-start``, ``scale``)."""
    from reclearn.bench import cold_start, ddp, mf, ranking, scale, scale_out

    modules = {"mf": mf, "ranking": ranking, "cold-start": cold_start, "scale": scale}
    modules |= {"scale-out": scale_out, "ddp": ddp}
    return modules[name]


# --- tune ------------------------------------------------------------------------------


def cmd_tune(args) -> int:
    import time

    from reclearn import bench
    from reclearn.tune import benchmark_train, check_arguments, reads_content, tune

    if args.trials is None and args.timeout is None:
        raise ValueError("give a budget: --trials N, --timeout S, or both")
    check_arguments(args.model, args.backend, args.objective, args.trials, args.timeout)
    bench.check_dataset(args.dataset)
    folder = bench.writable_folder(bench.tuned_folder(args.out) / args.dataset)
    dataset = data.load_dataset(args.dataset)
    train, described = benchmark_train(dataset.ratings, args.model, args.seed)
    content = None
    if reads_content(args.model):
        from reclearn.content import item_content

        content = item_content(dataset.items)  # release-time: what a new film has
    start = time.perf_counter()
    result = tune(
        args.model,
        train,
        backend=args.backend,
        objective=args.objective,
        trials=args.trials,
        timeout=args.timeout,
        seed=args.seed,
        storage=args.storage,
        content=content,
    )
    seconds = time.perf_counter() - start
    record = tuned_record(result, args, described, seconds)
    label = f"{args.model}-{result.backend}" if result.backend else args.model
    path = folder / f"{label}.json"
    bench.write_atomic(path, json.dumps(record, indent=2) + "\n")
    print(json.dumps(result.best_options))
    print(
        f"{label} on {args.dataset}: validation {result.objective} {result.best_value:.4f} "
        f"after {result.num_complete} complete and {result.num_pruned} pruned trial(s) "
        f"in {seconds:.0f} s; wrote {path}",
        file=sys.stderr,
    )
    return 0


def tuned_record(result, args, train: str, seconds: float) -> dict:
    """What ``reclearn tune`` writes: options, budget, score, versions, machine."""
    from importlib import metadata

    from reclearn import __version__, bench
    from reclearn.tune import VALIDATION_FRACTION, VALIDATION_ITEMS

    carved = (
        f"random {VALIDATION_FRACTION:g} of it (split.random_split, seed={args.seed})"
        if result.objective == "rmse"
        else f"each user's latest {'rating' if VALIDATION_ITEMS == 1 else 'ratings'} of it "
        f"(split.leave_last_out, n={VALIDATION_ITEMS}, seed={args.seed})"
    )
    versions = {"reclearn": __version__}
    packages = {"tensorflow": "tensorflow-cpu", "surprise": "scikit-surprise"}
    for name in ("optuna", "numpy", "torch", "tensorflow", "keras", "surprise", "implicit"):
        try:  # from the installed metadata: importing TensorFlow takes seconds
            versions[name] = metadata.version(packages.get(name, name))
        except metadata.PackageNotFoundError:
            versions[name] = "n/a"
    return {
        "model": result.name,
        "backend": result.backend,
        "dataset": args.dataset,
        "objective": result.objective,
        "budget": {"trials": args.trials, "timeout_s": args.timeout},
        "seed": args.seed,
        "tuned_on": train,
        "validation": carved,
        "validation_score": result.best_value,
        "best_options": result.best_options,
        "trials": {
            "complete": result.num_complete,
            "pruned": result.num_pruned,
            "total": len(result.trials),
        },
        "wall_s": round(seconds, 1),
        "versions": versions,
        "machine": bench.machine(),
    }
