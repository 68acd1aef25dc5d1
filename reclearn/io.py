"""Save and load fitted models as ``.npz`` files: arrays and JSON, never pickle."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from reclearn.interactions import IdIndex

FORMAT_VERSION = 1


def save_arrays(path, model, weights: dict[str, np.ndarray]) -> None:
    """Write a fitted model's weights, config and id index to ``path`` atomically."""
    model._check_fitted()
    seen_counts = np.array([len(s) for s in model._seen], dtype=np.int64)
    meta = {
        "format": FORMAT_VERSION,
        "model": type(model).__name__,
        "backend": model.backend,
        "config": dataclasses.asdict(model.config),
        "global_mean": model.global_mean,
        "rating_scale": list(model.rating_scale),
    }
    arrays = {f"weight/{name}": value for name, value in weights.items()}
    arrays.update(
        {
            "meta": np.array(json.dumps(meta)),
            "user_ids": model.index.user_ids.to_numpy(str),
            "item_ids": model.index.item_ids.to_numpy(str),
            "user_known": model.user_known,
            "item_known": model.item_known,
            "user_bias": model._user_bias,
            "item_bias": model._item_bias,
            "seen_counts": seen_counts,
            "seen_items": np.concatenate(model._seen) if len(model._seen) else np.empty(0, int),
        }
    )
    path = Path(path)
    part = path.with_name(path.name + ".part")
    with open(part, "wb") as handle:
        np.savez(handle, **arrays)
    os.replace(part, path)


def load_arrays(path, cls) -> tuple[object, dict, dict[str, np.ndarray]]:
    """Read a file written by :func:`save_arrays` for recommender class ``cls``.

    Returns:
        ``(config, state, weights)``: the config object, attributes to restore, weights.

    Raises:
        ValueError: The file holds another kind of model.
    """
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"]))
        if meta["model"] != cls.__name__:
            raise ValueError(f"{path} holds a {meta['model']}, not a {cls.__name__}")
        weights = {k.removeprefix("weight/"): npz[k] for k in npz.files if k.startswith("weight/")}
        counts = npz["seen_counts"]
        state = {
            "index": IdIndex(
                pd.Index(npz["user_ids"].astype(object)), pd.Index(npz["item_ids"].astype(object))
            ),  # fmt: skip
            "global_mean": meta["global_mean"],
            "rating_scale": tuple(meta["rating_scale"]),
            "user_known": npz["user_known"],
            "item_known": npz["item_known"],
            "_user_bias": npz["user_bias"],
            "_item_bias": npz["item_bias"],
            "_seen": np.split(npz["seen_items"], np.cumsum(counts)[:-1]),
        }
    return cls.config_class(**meta["config"]), state, weights
