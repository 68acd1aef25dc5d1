"""What both training loops check after every epoch: that training has not diverged, and
which epoch is best on validation data.

Introduced in chapter "Matrix factorization".
"""

from __future__ import annotations

import math

DIVERGENCE_FACTOR = 100.0
"""An epoch's mean loss this many times the loss before training counts as diverged."""


VALIDATION_SIGNS = {"val_rmse": 1.0, "val_ndcg": -1.0}
"""Validation metrics early stopping watches: +1 lower is better, -1 higher is better."""


def validation_loss(record: dict) -> float | None:
    """What early stopping minimises in an epoch's record (``val_rmse``, or minus
    ``val_ndcg``); None when the record has neither."""
    for name, sign in VALIDATION_SIGNS.items():
        if name in record:
            return sign * record[name]
    return None


class TrainingDiverged(RuntimeError):
    """Training produced a non-finite loss or one that exploded; no model is kept."""


def check_loss(epoch: int, loss: float, initial: float, config) -> None:
    """Raise :class:`TrainingDiverged` if ``loss`` is not finite or has exploded.

    Args:
        epoch: The epoch just finished, counted from 1.
        loss: Its mean training loss.
        initial: The loss of the first batch, before the first update.
        config: The training configuration (named in the message).
    """
    exploded = abs(loss) > DIVERGENCE_FACTOR * max(abs(initial), 1.0)
    if math.isfinite(loss) and not exploded:
        return
    settings = f"learning_rate={config.learning_rate:g}"
    if hasattr(config, "init_std"):
        settings += f", init_std={config.init_std:g}"
    raise TrainingDiverged(
        f"training diverged at epoch {epoch}: mean loss {loss:.4g} (before training: "
        f"{initial:.4g}) with {settings}; lower the learning rate (or the initial "
        "scale) and check the ratings for extreme values"
    )
