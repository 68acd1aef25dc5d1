"""``build(name, backend=...)``: every model by name, imported only when asked for."""

from __future__ import annotations

import importlib

from reclearn.base import Recommender
from reclearn.configs import (
    AutoRecConfig,
    BPRConfig,
    ContentBagConfig,
    ContentCNNConfig,
    ContentConfig,
    DeepFMConfig,
    DeepFMRankConfig,
    FMConfig,
    FMRankConfig,
    GMFConfig,
    GRU4RecConfig,
    HybridConfig,
    MFConfig,
    MLPConfig,
    MultDAEConfig,
    MultVAEConfig,
    NeuMFConfig,
    NeuralCFConfig,
    SASRecConfig,
)

BACKENDS = ("torch", "tf")

# name -> (recommender class name in models/<backend>/recommender.py, config class)
DEEP_MODELS = {
    "mf": ("MFRecommender", MFConfig),
    "neuralcf": ("NeuralCFRecommender", NeuralCFConfig),
    "gmf": ("GMFRecommender", GMFConfig),
    "mlp": ("MLPRecommender", MLPConfig),
    "neumf": ("NeuMFRecommender", NeuMFConfig),
    "bpr-mf": ("BPRRecommender", BPRConfig),
    "content-cnn": ("ContentCNNRecommender", ContentCNNConfig),
    "content-bag": ("ContentBagRecommender", ContentBagConfig),
    "hybrid": ("HybridRecommender", HybridConfig),
    "gru4rec": ("GRU4RecRecommender", GRU4RecConfig),
    "sasrec": ("SASRecRecommender", SASRecConfig),
    "autorec": ("AutoRecRecommender", AutoRecConfig),
    "mult-dae": ("MultDAERecommender", MultDAEConfig),
    "mult-vae": ("MultVAERecommender", MultVAEConfig),
    "fm": ("FMRecommender", FMConfig),
    "deepfm": ("DeepFMRecommender", DeepFMConfig),
    "fm-rank": ("FMRankRecommender", FMRankConfig),
    "deepfm-rank": ("DeepFMRankRecommender", DeepFMRankConfig),
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

# name -> class in reclearn/baselines.py (ranking models on NumPy/SciPy/implicit, any
# backend; markov and sequence-knn read each user's ratings in time order)
SIMPLE_MODELS = {
    "pop": "PopularityRecommender",
    "itemknn": "ItemKNNRecommender",
    "ease": "EASERecommender",
    "als": "ALSRecommender",
    "markov": "MarkovRecommender",
    "sequence-knn": "SequenceKNNRecommender",
}

# Models that read item content: they take ``content=item_content(...)``; content-tfidf
# is NumPy (reclearn/content.py, any backend).
CONTENT_MODELS = ("content-tfidf", "content-cnn", "content-bag", "hybrid")
# Factorization machines take ``content=`` too, but optionally: without it they read ids
# and training activity only (reclearn/features.py).
FEATURE_MODELS = ("fm", "deepfm", "fm-rank", "deepfm-rank")


def available_models() -> list[str]:
    """Every name :func:`build` accepts."""
    return [*DEEP_MODELS, *SURPRISE_MODELS, *SIMPLE_MODELS, "content-tfidf", "spark-als"]


def build(name: str, backend: str = "torch", **options) -> Recommender:
    """Create an unfitted recommender by name.

    Args:
        name: A deep model (``"mf"``), a Surprise baseline (``"surprise-svd"``, ...) or a
            ranking baseline (``"pop"``, ``"itemknn"``, ``"ease"``, ``"als"``, the
            sequential ``"markov"`` and ``"sequence-knn"``), or Spark MLlib's ALS
            (``"spark-als"``, needs PySpark and Java); see
            :func:`available_models`.
        backend: ``"torch"`` or ``"tf"`` for deep models; ignored by the baselines.
        **options: Fields of the model's config (e.g. ``num_factors=64, epochs=30``);
            ``device`` for the PyTorch backend; algorithm parameters for Surprise.

    Raises:
        TypeError: ``name`` or ``backend`` is not a string, or an option's type is
            wrong.
        ValueError: Unknown name, backend or option (the message lists the valid
            ones), or an option out of range (the message names it and its value).

    Introduced in chapter "Matrix factorization".
    """
    for argument, value in (("name", name), ("backend", backend)):
        if not isinstance(value, str):
            models = ", ".join(available_models())
            raise TypeError(
                f"{argument} must be a string, got {value!r} ({type(value).__name__}); "
                f"e.g. build('mf', backend='torch'); models: {models}"
            )
    if name in SURPRISE_MODELS:
        from reclearn.baselines import SurpriseRecommender

        return SurpriseRecommender(SURPRISE_MODELS[name], **options)
    if name in SIMPLE_MODELS:
        return _build_simple(name, options)
    if name == "content-tfidf":
        return _build_content_tfidf(options)
    if name == "spark-als":  # PySpark and a JVM: imported only when asked for
        from reclearn.spark import SparkALSRecommender

        return _with_options(SparkALSRecommender, name, options)
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
    if name in CONTENT_MODELS or name in FEATURE_MODELS:
        extra["content"] = options.pop("content", None)
    unknown = set(options) - set(config_class.field_names())
    if unknown:
        raise ValueError(
            f"unknown option(s) {sorted(unknown)} for {name!r}; "
            f"valid options: {', '.join(config_class.field_names())}"
        )
    module = importlib.import_module(f"reclearn.models.{backend}.recommender")
    return getattr(module, class_name)(config_class(**options), **extra)


def _build_simple(name: str, options: dict) -> Recommender:
    """A ranking baseline of ``reclearn.baselines`` (``"ease"``, ``"als"``, ...), options
    checked."""
    from reclearn import baselines

    return _with_options(getattr(baselines, SIMPLE_MODELS[name]), name, options)


def _with_options(model_class, name: str, options: dict) -> Recommender:
    """``model_class(**options)`` once every option is one of its arguments."""
    import inspect

    valid = [p for p in inspect.signature(model_class.__init__).parameters if p != "self"]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(
            f"unknown option(s) {unknown} for {name!r}; valid options: {', '.join(valid)}"
        )
    return model_class(**options)


def _build_content_tfidf(options: dict) -> Recommender:
    """The NumPy TF-IDF profile recommender (chapter "Content-based recommendation")."""
    from reclearn.content import ContentRecommender

    content = options.pop("content", None)
    unknown = sorted(set(options) - set(ContentConfig.field_names()))
    if unknown:
        raise ValueError(
            f"unknown option(s) {unknown} for 'content-tfidf'; valid options: content, "
            f"{', '.join(ContentConfig.field_names())}"
        )
    return ContentRecommender(ContentConfig(**options), content=content)
