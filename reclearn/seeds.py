"""Named random streams: one seed, many independent generators.

Every random draw inside a model, a sampler, a cold-start split or a statistic comes
from ``np.random.default_rng([seed, stream])``, so a model's weights, its batch order
and its negatives are independent of each other and each is reproducible on its own.
(Splits of a whole frame, ``random_split``, ``per_user_split`` and ``kfold``, and
``make_synthetic`` draw from ``default_rng(seed)`` itself.) The streams are named here, in one
place, so that adding a model cannot silently reuse one: ``Stream`` is unique
(a test checks it), and new streams take the next free number.

Introduced in chapter "Matrix factorization".
"""

from __future__ import annotations

import enum

import numpy as np


@enum.unique
class Stream(enum.IntEnum):
    """Who draws from which stream (the number is part of every seed)."""

    WEIGHTS = 0
    """Initial network weights (every deep model, both backends)."""
    BATCH_ORDER = 1
    """The shuffled order of training rows in each epoch (the training loops)."""
    VALIDATION = 2
    """The validation rows held out of train by ``validation_fraction``."""
    NEGATIVES = 3
    """Negative items drawn afresh each epoch for implicit models."""
    WARM_NEGATIVES = 4
    """Negatives among warm items and ID dropout of the two-tower models."""
    COLD_ITEMS = 5
    """Which items ``split.cold_item_split`` holds out."""
    COLD_USERS = 6
    """Which users ``split.cold_user_split`` holds out, and their kept ratings."""
    BOOTSTRAP = 7
    """Resampled users of ``stats.bootstrap_ci``."""
    PAIRED_BOOTSTRAP = 8
    """Resampled users of ``stats.paired_bootstrap``."""
    PERMUTATION = 9
    """Sign flips of ``stats.paired_test``."""
    DELETION = 10
    """The random control of ``explain.deletion_check``."""
    THINNING = 11
    """The rows ``split.thin`` keeps (was 7, shared with ``bootstrap_ci``)."""
    SEQUENCE_NEGATIVES = 12
    """Negatives drawn afresh each epoch for the sequential models."""
    CANDIDATES = 99
    """Sampled-protocol negatives (``sampling.sampled_protocol_negatives``)."""


def rng(seed: int, stream: Stream) -> np.random.Generator:
    """The generator of ``stream`` for ``seed``: ``default_rng([seed, stream])``."""
    return np.random.default_rng([seed, int(stream)])
