"""reclearn: deep-learning recommender systems in PyTorch and TensorFlow.

Importing this package loads NumPy and pandas only; PyTorch, TensorFlow and Surprise
are imported when a model that needs them is built.
"""

from reclearn import evaluate, metrics, split, stats
from reclearn.base import Predictions, Recommender
from reclearn.data import Dataset, load_dataset, make_synthetic
from reclearn.registry import available_models, build

__version__ = "0.1.0"

__all__ = [
    "Dataset",
    "Predictions",
    "Recommender",
    "available_models",
    "build",
    "evaluate",
    "load_dataset",
    "make_synthetic",
    "metrics",
    "split",
    "stats",
]
