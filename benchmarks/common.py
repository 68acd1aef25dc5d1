"""Helpers shared by the benchmark scripts: atomic writes and the provenance line."""

from __future__ import annotations

import datetime
import importlib
import os
import platform
from pathlib import Path

VERSIONED = ("torch", "tensorflow", "keras", "surprise", "numpy", "pandas")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a ``.tmp`` file and ``os.replace``."""
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
    """``"cuda"`` when PyTorch sees a GPU, else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def machine() -> str:
    """Today's date, the processor and the CPU count."""
    name = platform.processor() or platform.machine()
    return f"{datetime.date.today().isoformat()}, {name} with {os.cpu_count()} CPUs"
