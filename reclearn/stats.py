"""Uncertainty over users: bootstrap intervals and paired comparisons of two models.

Every function takes per-user metric values (a column of ``RankingResult.per_user``)
as NumPy arrays, so any evaluation's output can be judged by the same code. Each draw
comes from its own named stream (:mod:`reclearn.seeds`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reclearn import seeds


def _values(values, what: str = "values") -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        shape = values.shape
        raise ValueError(f"{what} must be a non-empty 1-D array, got shape {shape}")
    if not np.isfinite(values).all():
        raise ValueError(f"{what} has NaN or infinite entries; drop those users first")
    return values


def _check_level(level: float, n_boot: int) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be strictly between 0 and 1, got {level}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")


def bootstrap_ci(
    per_user_values, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """Mean of per-user values and a percentile bootstrap interval over users.

    Users are resampled with replacement ``n_boot`` times; the interval is the
    ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the resampled means.

    Args:
        per_user_values: One value per user, shape (n,), finite.
        n_boot: Number of bootstrap resamples.
        seed: Seed of the resampling (same seed, same interval).
        level: Coverage of the interval.

    Returns:
        ``(mean, low, high)`` as Python floats.

    Raises:
        ValueError: Empty or non-finite values, ``level`` outside (0, 1),
            ``n_boot < 1``.

    Introduced in chapter "Deep collaborative filtering".
    """
    values = _values(per_user_values, "per_user_values")
    _check_level(level, n_boot)
    rng = seeds.rng(seed, seeds.Stream.BOOTSTRAP)
    means = _bootstrap_means(values, n_boot, rng)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(values.mean()), float(low), float(high)


def _bootstrap_means(
    values: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
) -> np.ndarray:
    means = np.empty(n_boot)
    chunk = max(1, 2_000_000 // values.size)  # bound memory: ~16 MB of indices at once
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        means[start : start + size] = values[
            rng.integers(0, values.size, (size, values.size))
        ].mean(1)
    return means


@dataclass(frozen=True)
class PairedComparison:
    """A paired comparison of two models' per-user values (``a - b``).

    Introduced in chapter "Deep collaborative filtering".
    """

    mean_difference: float
    """Mean over users of ``a - b``."""
    ci_low: float
    """Lower end of the interval of the mean difference (NaN for permutation tests)."""
    ci_high: float
    """Upper end of the interval (NaN for permutation tests)."""
    p_value: float
    """Two-sided p-value of "no difference on average"."""
    method: str
    """``"paired bootstrap"`` or ``"sign-flip permutation"``."""


def _differences(a, b) -> np.ndarray:
    a, b = _values(a, "a"), _values(b, "b")
    if a.shape != b.shape:
        raise ValueError(
            "a and b must hold one value per user for the same users; got "
            f"{a.shape} and {b.shape} (align the per_user frames on user_id first)"
        )
    return a - b


def paired_bootstrap(
    a, b, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> PairedComparison:
    """Bootstrap the mean of paired differences ``a - b`` over users.

    The same resampled users are used for both models. The interval is the percentile
    interval of the resampled mean differences; the two-sided p-value is the share of
    resampled differences, recentred on zero (the null hypothesis), that are at least as
    far from zero as the observed one, ``(count + 1) / (n_boot + 1)``.

    Args:
        a, b: Per-user values of two models, the same users in the same order,
            shape (n,).
        n_boot, seed, level: As in :func:`bootstrap_ci`.

    Returns:
        A :class:`PairedComparison`; identical models give difference 0 and p-value 1.

    Introduced in chapter "Deep collaborative filtering".
    """
    difference = _differences(a, b)
    _check_level(level, n_boot)
    observed = difference.mean()
    rng = seeds.rng(seed, seeds.Stream.PAIRED_BOOTSTRAP)
    means = _bootstrap_means(difference, n_boot, rng)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    tolerance = 1e-12 * max(1.0, np.abs(difference).max())
    extreme = np.abs(means - observed) >= abs(observed) - tolerance
    return PairedComparison(
        float(observed),
        float(low),
        float(high),
        float((extreme.sum() + 1) / (n_boot + 1)),
        "paired bootstrap",
    )


def paired_test(a, b, n_permutations: int = 10_000, seed: int = 0) -> PairedComparison:
    """Sign-flip permutation test of the mean paired difference ``a - b``.

    Under the null hypothesis that the two models are exchangeable for each user, each
    user's difference is equally likely to have either sign. The two-sided p-value is
    ``(count + 1) / (n_permutations + 1)``, where ``count`` is the number of random sign
    flips whose mean is at least as far from zero as the observed mean.

    Args:
        a, b: Per-user values of two models, the same users in the same order,
            shape (n,).
        n_permutations: Number of random sign flips.
        seed: Seed of the flips.

    Returns:
        A :class:`PairedComparison` (no interval: ``ci_low``/``ci_high`` are NaN).

    Introduced in chapter "Deep collaborative filtering".
    """
    difference = _differences(a, b)
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be at least 1, got {n_permutations}")
    rng = seeds.rng(seed, seeds.Stream.PERMUTATION)
    observed = abs(difference.mean())
    tolerance = 1e-12 * max(1.0, np.abs(difference).max())
    count = 0
    chunk = max(1, 2_000_000 // difference.size)
    for start in range(0, n_permutations, chunk):
        size = min(chunk, n_permutations - start)
        signs = rng.integers(0, 2, (size, difference.size)) * 2 - 1
        flipped = signs @ difference / difference.size
        count += int((np.abs(flipped) >= observed - tolerance).sum())
    return PairedComparison(
        float(difference.mean()),
        np.nan,
        np.nan,
        float((count + 1) / (n_permutations + 1)),
        "sign-flip permutation",
    )
