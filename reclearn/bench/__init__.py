"""Benchmarks behind ``reclearn bench``: rating prediction (:mod:`reclearn.bench.mf`),
ranking (:mod:`reclearn.bench.ranking`) and cold start (:mod:`reclearn.bench.cold_start`).

Each benchmark module has a ``run(options)`` function: given a :class:`BenchOptions`,
it fits and scores its models, writes its CSV and Markdown files and returns a
:class:`BenchResult`. This module holds what they share: the options, output folders
and file names, atomic writes, the provenance line and model building with an optional
epoch override. Deep-learning frameworks are imported only by the benchmarks that
build a model for them.
"""

from __future__ import annotations

import datetime
import importlib
import json
import os
import platform
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path

from reclearn.checks import check_int

DEFAULT_DATASET = "ml-latest-small"
"""The data set the committed results in ``benchmarks/results`` come from."""

DEFAULT_FOLDS = 5
"""Random folds of the rating benchmark (:mod:`reclearn.bench.mf`)."""

BACKEND_CHOICES = ("torch", "tf", "both")

VERSIONED = ("torch", "tensorflow", "keras", "surprise", "numpy", "pandas")

ROOT = Path(__file__).resolve().parents[2]
"""The checkout this package was installed from (an editable install), if it is one."""


@dataclass(frozen=True)
class BenchOptions:
    """What one ``reclearn bench`` run does: the same options for every benchmark.

    Each field is a flag of ``reclearn bench`` with the same name and default;
    a benchmark ignores the fields it has no use for (``folds`` outside ``mf``).
    Values are checked on creation, the data set and the folder by :meth:`check`.

    Raises:
        ValueError: An unknown backend, or ``epochs`` (when given), ``seed`` or
            ``folds`` not an integer of at least 1, 0 and 2, or both ``epochs`` and
            ``tuned``.

    Introduced in chapter "Matrix factorization".
    """

    dataset: str = DEFAULT_DATASET
    """A name :func:`reclearn.load_dataset` knows (``"synthetic"`` is fast)."""
    backend: str = "both"
    """``"torch"``, ``"tf"`` or ``"both"``: which deep-learning twins run."""
    epochs: int | None = None
    """Train the deep models this many epochs instead of their defaults (None)."""
    quick: bool = False
    """Smoke run: fewer models (and folds); file names get a ``-quick`` suffix."""
    seed: int = 0
    """Seed of the folds (mf), the stored negatives (ranking) and the cold items and
    users (cold start)."""
    out: Path | None = None
    """Output folder; None: :func:`default_out`."""
    verbose: bool = False
    """Print a line per fit."""
    folds: int = DEFAULT_FOLDS
    """Number of random folds of the rating benchmark."""
    models: tuple[str, ...] | None = None
    """Benchmark labels to run (keys of the benchmark's ``MODELS``; one label may be a
    string; repeats are dropped); None: all."""
    tuned: bool = False
    """Build every model with the options ``reclearn tune`` chose (:func:`tuned_record`)
    instead of its defaults; file names get a ``-tuned`` suffix."""
    tuned_dir: Path | None = None
    """Folder of the tuned options (its ``<dataset>/`` subfolder); None:
    ``benchmarks/tuned`` of the checkout."""
    sizes: tuple[int, ...] | None = None
    """Numbers of ratings to measure (``scale-out`` only); None: its default sizes."""

    def __post_init__(self) -> None:
        backends(self.backend)
        if self.epochs is not None:
            check_int("epochs", self.epochs, minimum=1)
            if self.tuned:
                raise ValueError(
                    "epochs and tuned exclude each other: tuned models train the epochs "
                    "their tuning chose; drop --epochs or --tuned"
                )
        check_int("seed", self.seed, minimum=0)
        check_int("folds", self.folds, minimum=2)
        if self.models is not None:
            models = [self.models] if isinstance(self.models, str) else self.models
            object.__setattr__(self, "models", tuple(dict.fromkeys(models)))
        if self.sizes is not None:
            object.__setattr__(self, "sizes", tuple(dict.fromkeys(self.sizes)))

    @classmethod
    def from_args(cls, args) -> BenchOptions:
        """The options among parsed ``reclearn bench`` arguments; others at default."""
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in vars(args).items() if key in names})

    def folder(self) -> Path:
        """Where the files go: ``out``, or :func:`default_out` when it is None."""
        return Path(self.out) if self.out is not None else default_out()

    def check(self) -> Path:
        """What every benchmark checks before any work: the data set and the folder.

        Returns:
            The output folder (:meth:`folder`), created if it was missing.

        Raises:
            ValueError: The data set is unknown.
            reclearn.data.DataError: It is a registered archive not downloaded.
            OSError: The folder cannot be created or written to.
        """
        check_dataset(self.dataset)
        return writable_folder(self.folder())


@dataclass
class BenchResult:
    """What a benchmark run produced.

    Introduced in chapter "Matrix factorization".
    """

    table: str
    """The Markdown written to ``<name>.md`` (a header line, then the tables)."""
    files: list[Path] = field(default_factory=list)
    """Every file written, in order."""
    failures: list[str] = field(default_factory=list)
    """Checks the results did not pass (the command then exits with status 1)."""
    notes: list[str] = field(default_factory=list)
    """Lines worth telling the user beside the table (what was updated, skipped, ...)."""


def check_dataset(name: str) -> None:
    """Refuse an unknown data set, or a registered archive not downloaded.

    Raises:
        ValueError: The data set is unknown (the message lists the known ones).
        reclearn.data.DataError: It is a registered archive not downloaded.
    """
    from reclearn import data
    from reclearn.describe import check_downloaded

    names = data.available()["name"].tolist()
    if name not in names:
        raise ValueError(f"unknown data set {name!r}; known data sets: {', '.join(names)}")
    check_downloaded(name)


def writable_folder(folder: Path) -> Path:
    """``folder``, created if missing, once a temporary file was made in it and removed.

    Raises:
        OSError: It cannot be created or written to (the message names it and why).
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".reclearn-probe-"):
            pass
    except FileExistsError:
        reason = "a file has that name"
    except OSError as error:
        reason = error.strerror or str(error)
    else:
        return folder
    message = f"cannot write to the output folder {folder} ({reason})"
    raise OSError(message + "; choose another with --out")


def choose(models, table: dict, default, backend: str) -> list[str]:
    """Labels of ``table`` to run: ``models`` (None: ``default``) that ``backend`` runs.

    Args:
        models: Labels asked for, or None.
        table: Label -> (registry name, backend) of one benchmark; models of a backend
            other than torch and tf run whatever ``backend`` is chosen.
        default: Labels run when ``models`` is None.
        backend: ``"torch"``, ``"tf"`` or ``"both"``.

    Raises:
        ValueError: A label is unknown or not run with ``backend``: one message naming
            them and listing the labels that can run.
    """
    deep = set(backends("both"))
    keep = set(backends(backend))
    runnable = [label for label, (_, b) in table.items() if b not in deep or b in keep]
    unknown = [repr(m) for m in models or () if m not in table]
    excluded = [repr(m) for m in models or () if m in table and m not in runnable]
    if unknown or excluded:
        problems = [f"unknown model(s) {', '.join(unknown)}"] if unknown else []
        if excluded:
            names = ", ".join(excluded)
            problems.append(f"model(s) {names} not run with backend {backend!r}")
        raise ValueError("; ".join(problems) + f"; choose from {', '.join(runnable)}")
    return [label for label in (models or default) if label in runnable]


def repo_results() -> Path | None:
    """``benchmarks/results`` of the reclearn checkout the current directory is in, or None."""
    if not (ROOT / "benchmarks").is_dir() or not (ROOT / "reclearn" / "__init__.py").is_file():
        return None
    cwd = Path.cwd().resolve()
    if cwd == ROOT or ROOT in cwd.parents:
        return ROOT / "benchmarks" / "results"
    return None


def default_out() -> Path:
    """Where results go without ``--out``: the repository's ``benchmarks/results`` when run
    from inside the reclearn checkout, otherwise the current directory."""
    return repo_results() or Path.cwd()


def stem(name: str, dataset: str, quick: bool, tuned: bool = False) -> str:
    """File stem: ``mf`` for the full run on the default data with default options, else
    e.g. ``mf-synthetic-quick`` or ``ranking-tuned``."""
    parts = [name]
    if dataset != DEFAULT_DATASET:
        parts.append(dataset)
    if quick:
        parts.append("quick")
    if tuned:
        parts.append("tuned")
    return "-".join(parts)


def tuned_folder(out: Path | None = None) -> Path:
    """``out``, or ``benchmarks/tuned`` of the checkout when run inside it, or the
    current directory."""
    if out is not None:
        return Path(out)
    results = repo_results()
    return results.parent / "tuned" if results is not None else Path.cwd()


def tuned_record(options: BenchOptions, label: str) -> dict:
    """What ``reclearn tune`` wrote for benchmark label ``label`` (``mf-torch``, ``ease``)
    on ``options.dataset``: its best options, budget and validation score.

    Raises:
        FileNotFoundError: No such record; the message gives the command that makes it.
        ValueError: The record is for another model, backend or data set.
    """
    path = tuned_folder(options.tuned_dir) / options.dataset / f"{label}.json"
    deep = label.endswith(("-torch", "-tf"))
    name, backend = label.rsplit("-", 1) if deep else (label, None)
    if not path.is_file():
        flag = f" --backend {backend}" if backend else ""
        raise FileNotFoundError(
            f"no tuned options for {label!r} on {options.dataset!r}: {path} is missing; "
            f"make it with: reclearn tune {name} --dataset {options.dataset}{flag} "
            "--trials 20, as make tune does (or run without --tuned)"
        )
    record = json.loads(path.read_text(encoding="utf-8"))
    if (record.get("model"), record.get("backend"), record.get("dataset")) != (
        name,
        backend,
        options.dataset,
    ):
        raise ValueError(
            f"{path} holds options for {record.get('model')!r} on "
            f"{record.get('dataset')!r}, not {label!r} on {options.dataset!r}"
        )
    return record


def tuned_records(options: BenchOptions, labels, table: dict) -> dict[str, dict]:
    """Label -> :func:`tuned_record` for the ``labels`` of a benchmark's ``table`` whose
    model has a search space (the others have nothing to tune); empty unless
    ``options.tuned``."""
    from reclearn.search_spaces import SEARCH_SPACES

    if not options.tuned:
        return {}
    tunable = [label for label in labels if table[label][0] in SEARCH_SPACES]
    return {label: tuned_record(options, label) for label in tunable}


def budget_text(records: dict[str, dict]) -> str:
    """One sentence on the tuning budgets of ``records`` (label -> tuned record): the
    trials asked for, and the models a time limit stopped earlier."""
    from reclearn.prose import listing

    asked = sorted({str(r["budget"]["trials"]) for r in records.values()})
    cut = [
        f"{label} after {r['trials']['total']} ({r['budget']['timeout_s']:g} s)"
        for label, r in records.items()
        if r["budget"]["trials"] and r["trials"]["total"] < r["budget"]["trials"]
    ]
    text = (
        f"Options tuned by `reclearn tune` (Optuna TPE, validation carved from train) "
        f"for {len(records)} model(s), {' or '.join(asked)} trials each"
    )
    return text + (f"; a time limit stopped {listing(cut)}." if cut else ".")


def backends(choice: str) -> list[str]:
    """``"both"`` -> ``["torch", "tf"]``; ``"torch"`` -> ``["torch"]``.

    Raises:
        ValueError: ``choice`` is not torch, tf or both.
    """
    if choice not in BACKEND_CHOICES:
        raise ValueError(f"unknown backend {choice!r}; use torch, tf or both")
    return ["torch", "tf"] if choice == "both" else [choice]


def build_model(name: str, backend: str, epochs: int | None = None, **options):
    """An unfitted model; deep models get ``verbose=False`` and ``epochs`` if given."""
    from reclearn.registry import DEEP_MODELS, build

    if name in DEEP_MODELS:
        options["verbose"] = False
        if epochs is not None:
            options["epochs"] = epochs
        return build(name, backend=backend, **options)
    return build(name, **options)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a ``.tmp`` file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def version(module: str) -> str:
    """A package's ``__version__``, or ``"n/a"`` when it is not installed."""
    try:
        return importlib.import_module(module).__version__
    except ImportError:
        return "n/a"


def versions(packages=VERSIONED) -> str:
    """``"torch 2.x, tensorflow 2.y, ..."``."""
    return ", ".join(f"{pkg} {version(pkg)}" for pkg in packages)


def torch_device() -> str:
    """``"cuda"`` when PyTorch sees a GPU, else ``"cpu"`` (``"n/a"`` without PyTorch)."""
    try:
        import torch
    except ImportError:
        return "n/a"
    return "cuda" if torch.cuda.is_available() else "cpu"


def machine() -> str:
    """Today's date, the processor and the CPU count."""
    name = platform.processor() or platform.machine()
    return f"{datetime.date.today().isoformat()}, {name} with {os.cpu_count()} CPUs"


def log(verbose: bool, message: str) -> None:
    """Print ``message`` when ``verbose`` (the CLI sends it to stderr)."""
    if verbose:
        print(message, flush=True)
