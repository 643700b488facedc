"""Fairness indices over per-person burden (pages, sleep interruptions, on-call hours, ...).

All indices take the burden of every person who *could* carry load (include zeros for people who
carried none) and return ``None`` when undefined (no people, or nobody carried anything).

>>> gini([1, 1, 1, 1])
0.0
>>> round(gini([0, 0, 0, 4]), 3)
0.75
>>> equity([2, 2, 2])
100.0
>>> pairwise_balance([1, 2])
0.5
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _values(burden: Sequence[float] | np.ndarray) -> np.ndarray:
    values = np.asarray(burden, dtype=float)
    if values.ndim != 1:
        raise ValueError("burden must be one value per person")
    if np.any(values < 0) or not np.all(np.isfinite(values)):
        raise ValueError("burden values must be finite and non-negative")
    return values


def gini(burden: Sequence[float] | np.ndarray) -> float | None:
    """Gini coefficient: 0 when everyone carries the same, → 1 when one person carries it all.

    Mean absolute difference over all ordered pairs divided by twice the mean.
    """
    values = _values(burden)
    if values.size == 0 or values.sum() == 0:
        return None
    ordered = np.sort(values)
    n = ordered.size
    ranks = np.arange(1, n + 1)
    return float((2 * np.sum(ranks * ordered) / (n * ordered.sum())) - (n + 1) / n)


def equity(burden: Sequence[float] | np.ndarray) -> float | None:
    """PagerDuty-style equity score, ``100 · (1 − CV)`` with CV the population coefficient of
    variation, floored at 0. 100 is perfectly even."""
    values = _values(burden)
    if values.size == 0 or values.mean() == 0:
        return None
    cv = values.std() / values.mean()
    return float(max(0.0, 100.0 * (1.0 - cv)))


def pairwise_balance(burden: Sequence[float] | np.ndarray) -> float | None:
    """Grafana OnCall-style balance: the mean over all pairs of ``min/max`` (1 is perfectly even).

    Pairs where both carried nothing count as balanced (1).
    """
    values = _values(burden)
    if values.size < 2 or values.sum() == 0:
        return None
    i, j = np.triu_indices(values.size, k=1)
    low, high = np.minimum(values[i], values[j]), np.maximum(values[i], values[j])
    ratios = np.where(high > 0, low / np.where(high > 0, high, 1.0), 1.0)
    return float(ratios.mean())


def max_mean_ratio(burden: Sequence[float] | np.ndarray) -> float | None:
    """The heaviest burden over the mean burden (1 is perfectly even)."""
    values = _values(burden)
    if values.size == 0 or values.mean() == 0:
        return None
    return float(values.max() / values.mean())


def outliers(burden: Sequence[float] | np.ndarray, *, factor: float = 2.0) -> np.ndarray:
    """Indices of the people whose burden is above ``factor`` × the mean."""
    values = _values(burden)
    if values.size == 0 or values.mean() == 0:
        return np.array([], dtype=int)
    return np.flatnonzero(values > factor * values.mean())


def indices(burden: Sequence[float] | np.ndarray) -> dict[str, float | None]:
    """All indices at once: ``gini``, ``equity``, ``pairwise_balance``, ``max_mean_ratio``."""
    return {"gini": gini(burden), "equity": equity(burden),
            "pairwise_balance": pairwise_balance(burden), "max_mean_ratio": max_mean_ratio(burden)}
