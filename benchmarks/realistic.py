"""Prometheus-like exports as they really look, for benchmarks beside the ideal (grid-aligned) case.

Real exports are not on the evaluation grid: every target is scraped at its own phase within the
interval, timestamps carry milliseconds of jitter, targets go down (missing scrapes), pods come and
go (series that start late or end early), and counters reset when a process restarts. This module
makes such data, seeded, in the long Metrics format:

* per-series scrape phase uniform in ``[0, interval)``;
* ±``jitter_ms`` uniform timestamp jitter on every sample (default ±50 ms), timestamps in whole
  milliseconds as Prometheus stores them;
* ``missing`` of the scrapes dropped at random (default 0.5 %);
* ``churn`` of the series (default 5 %) start late or end early, by up to half the span;
* counters (``kind="counter"``) reset to zero a few times (``resets`` per series on average).

>>> frame = realistic(series=3, points=100, interval_s=15, seed=1)
>>> frame.columns
['timestamp', 'metric', 'value', 'instance']
>>> 280 <= frame.height <= 300
True
>>> aligned(series=3, points=100, interval_s=15, seed=1).height
300
"""

from __future__ import annotations

import numpy as np
import polars as pl

START_US = 1_767_225_600_000_000          # 2026-01-01T00:00:00Z, a multiple of every interval used


def _values(rng: np.random.Generator, series: int, points: int, kind: str, resets: float) -> np.ndarray:
    """A gauge with daily seasonality and noise, or a monotone counter with a few resets."""
    t = np.arange(points, dtype=np.float64)
    base = rng.uniform(20, 60, size=(series, 1))
    if kind == "gauge":
        season = 15 * np.sin(2 * np.pi * (t / 1440.0 + rng.uniform(0, 1, size=(series, 1))))
        return base + season + rng.normal(0, 4, size=(series, points))
    increments = rng.gamma(2.0, base / 10.0, size=(series, points))
    counter = np.cumsum(increments, axis=1)
    for row in range(series):
        for at in np.sort(rng.integers(1, points, size=rng.poisson(resets))):
            counter[row, at:] -= counter[row, at - 1]     # the process restarted: the counter begins at 0
    return counter


def realistic(*, series: int, points: int, interval_s: int = 60, metric: str = "cpu", kind: str = "gauge",
              jitter_ms: float = 50.0, missing: float = 0.005, churn: float = 0.05, resets: float = 2.0,
              seed: int = 7) -> pl.DataFrame:
    """``series`` × about ``points`` samples scraped every ``interval_s`` as a real Prometheus does.

    Parameters
    ----------
    series, points : series and scrapes per series (before missing scrapes and churn).
    interval_s : scrape interval in seconds (15 and 60 are the usual ones).
    metric, kind : the metric name; ``"gauge"`` or ``"counter"`` (monotone, with resets).
    jitter_ms, missing, churn, resets : see the module docstring.
    seed : everything random comes from ``numpy.random.default_rng(seed)``.

    Returns
    -------
    polars.DataFrame
        A Metrics frame (``timestamp`` UTC µs, ``metric``, ``value``, ``instance``), sorted by series
        then time, as an export from Prometheus' HTTP API would be.
    """
    rng = np.random.default_rng(seed)
    step = interval_s * 1_000_000
    phase = rng.integers(0, step, size=(series, 1))
    jitter = rng.uniform(-jitter_ms * 1000, jitter_ms * 1000, size=(series, points)).astype(np.int64)
    times = START_US + phase + np.arange(points, dtype=np.int64)[None, :] * step + jitter
    times -= times % 1000                                 # Prometheus stores milliseconds
    values = _values(rng, series, points, kind, resets)
    keep = rng.random((series, points)) >= missing
    churned = np.flatnonzero(rng.random(series) < churn)
    for row in churned:
        cut = int(rng.integers(1, max(points // 2, 2)))
        if rng.random() < 0.5:
            keep[row, :cut] = False                       # a pod that started late
        else:
            keep[row, points - cut:] = False              # a pod that went away
    rows = np.broadcast_to(np.arange(series)[:, None], (series, points))[keep]
    names = np.array([f"i{i:05d}" for i in range(series)])
    return pl.DataFrame({
        "timestamp": pl.Series(times[keep]).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        "metric": pl.Series([metric]).extend_constant(metric, int(keep.sum()) - 1) if keep.any()
        else pl.Series([], dtype=pl.String),
        "value": values[keep],
        "instance": names[rows],
    })


def aligned(*, series: int, points: int, interval_s: int = 60, metric: str = "cpu", kind: str = "gauge",
            seed: int = 7) -> pl.DataFrame:
    """The ideal case with the same values: every sample exactly on the grid, none missing."""
    return realistic(series=series, points=points, interval_s=interval_s, metric=metric, kind=kind, seed=seed,
                     jitter_ms=0.0, missing=0.0, churn=0.0).with_columns(
        pl.col("timestamp").dt.truncate(f"{interval_s}s"))


__all__ = ["aligned", "realistic"]
