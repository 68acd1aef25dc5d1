"""Model files: ``.npz`` archives of arrays plus JSON metadata, never pickle.

A file holds ``meta`` (JSON: the format version, the model class, its config...) and
named arrays. Writing is atomic (a ``.part`` file renamed into place); reading checks
the format version and the model class, and any damaged or foreign file raises one
error of reclearn's own type, :class:`ModelFileError`.

Introduced in chapter "Matrix factorization".
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from reclearn.interactions import IdIndex

FORMAT_VERSION = 2
"""Version 2: arrays under ``weight/`` and ``state/``; version 1 files are refused."""


class ModelFileError(ValueError):
    """A model file that cannot be read: missing, truncated, foreign or of another
    model or format version."""


def write_model(path, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write ``meta`` (JSON-serialisable) and ``arrays`` to ``path`` atomically."""
    path = Path(path)
    meta = {"format": FORMAT_VERSION, **meta}
    part = path.with_name(path.name + ".part")
    try:
        with open(part, "wb") as handle:
            np.savez(handle, meta=np.array(json.dumps(meta)), **arrays)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def read_model(path, model: str) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a file written by :func:`write_model` for the model class named ``model``.

    Returns:
        ``(meta, arrays)``.

    Raises:
        ModelFileError: The file is missing or unreadable, is not a reclearn model file,
            has another format version, or holds another model.
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            arrays = {name: npz[name] for name in npz.files if name != "meta"}
    except FileNotFoundError:
        raise ModelFileError(f"no model file at {path}") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise ModelFileError(
            f"{path} is not a readable reclearn model file ({type(error).__name__}); "
            "it may be truncated or written by another program: save the model again "
            "with model.save(path)"
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ModelFileError(
            f"{path} has model file format {found!r}; this reclearn reads format "
            f"{FORMAT_VERSION}: refit the model and save it again"
        )
    if meta.get("model") != model:
        raise ModelFileError(
            f"{path} holds a {meta.get('model')}, not a {model}: load it with the "
            f"{meta.get('model')} class of the {meta.get('backend')!r} backend"
        )
    return meta, arrays


def id_index(user_ids: np.ndarray, item_ids: np.ndarray) -> IdIndex:
    """The :class:`IdIndex` of stored raw ids."""
    return IdIndex(pd.Index(user_ids.astype(object)), pd.Index(item_ids.astype(object)))
