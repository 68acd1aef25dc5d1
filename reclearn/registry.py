"""``build(name, backend=...)``: every model by name, imported only when asked for."""

from __future__ import annotations

import importlib

from reclearn.base import Recommender
from reclearn.configs import MFConfig

BACKENDS = ("torch", "tf")

# name -> (recommender class name in models/<backend>/recommender.py, config class)
DEEP_MODELS = {
    "mf": ("MFRecommender", MFConfig),
}

SURPRISE_MODELS = {
    "surprise-normal": "NormalPredictor",
    "surprise-baseline": "BaselineOnly",
    "surprise-knnbaseline": "KNNBaseline",
    "surprise-svd": "SVD",
    "surprise-svdpp": "SVDpp",
    "surprise-nmf": "NMF",
    "surprise-slopeone": "SlopeOne",
}


def available_models() -> list[str]:
    """Every name :func:`build` accepts."""
    return [*DEEP_MODELS, *SURPRISE_MODELS]


def build(name: str, backend: str = "torch", **options) -> Recommender:
    """Create an unfitted recommender by name.

    Args:
        name: A deep model (``"mf"``) or a Surprise baseline (``"surprise-svd"``, ...);
            see :func:`available_models`.
        backend: ``"torch"`` or ``"tf"`` for deep models; ignored by Surprise baselines.
        **options: Fields of the model's config (e.g. ``num_factors=64, epochs=30``);
            ``device`` for the PyTorch backend; algorithm parameters for Surprise.

    Raises:
        ValueError: Unknown name, backend or option (the message lists the valid ones).

    Introduced in chapter "Matrix factorization".
    """
    if name in SURPRISE_MODELS:
        from reclearn.baselines import SurpriseRecommender

        return SurpriseRecommender(SURPRISE_MODELS[name], **options)
    if name not in DEEP_MODELS:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(available_models())}")
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; use 'torch' or 'tf'")
    class_name, config_class = DEEP_MODELS[name]
    extra = {}
    if "device" in options:
        if backend != "torch":
            raise ValueError("the device option applies to backend='torch' only")
        extra["device"] = options.pop("device")
    unknown = set(options) - set(config_class.field_names())
    if unknown:
        raise ValueError(
            f"unknown option(s) {sorted(unknown)} for {name!r}; "
            f"valid options: {', '.join(config_class.field_names())}"
        )
    module = importlib.import_module(f"reclearn.models.{backend}.recommender")
    return getattr(module, class_name)(config_class(**options), **extra)
