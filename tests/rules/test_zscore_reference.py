"""The z-score rule's scores, validity, baseline and spread equal a direct computation — mean and
sample standard deviation of the values at the ``window`` instants before each instant — on
realistic sampling (per-series phase, jitter, missing scrapes, series that start late or end early)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from alertsim.rules import ZScoreRule
from alertsim.rules.anomaly import sample_counts
from alertsim.series import Semantics, prepare, value
from alertsim.series.vectors import Grid
from benchmarks.realistic import realistic


def _reference(x: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Score, instants counted, mean and std of the ``width`` instants before each instant, directly."""
    n, size = x.shape
    score, count, mean, std = (np.full((n, size), np.nan) for _ in range(4))
    for r in range(n):
        for i in range(size):
            window = x[r, max(0, i - width):i]
            window = window[~np.isnan(window)]
            count[r, i] = len(window)
            if not len(window):
                continue
            mean[r, i] = window.mean()
            std[r, i] = window.std(ddof=1) if len(window) > 1 else 0.0
            dev = x[r, i] - mean[r, i]
            if std[r, i] > 0:
                score[r, i] = dev / std[r, i]
            elif not np.isnan(dev):
                score[r, i] = 0.0 if dev == 0 else np.sign(dev) * np.inf
    return score, count, mean, std


@pytest.mark.parametrize("seed", range(8))
def test_zscore_matches_direct_computation(seed):
    rng = np.random.default_rng(seed)
    interval = int(rng.choice([15, 60]))
    frame = realistic(series=int(rng.integers(1, 8)), points=int(rng.integers(20, 400)), interval_s=interval,
                      seed=seed, missing=float(rng.choice([0.005, 0.1])), churn=float(rng.choice([0.05, 0.5])))
    sel = prepare(frame).select("cpu", {})
    step = int(rng.choice([15, 30, 60])) * 1_000_000
    t0 = int(frame["timestamp"].dt.epoch("us").min()) + int(rng.integers(-600, 600)) * 1_000_000
    grid = Grid(t0=t0 // step * step, step=step, size=int(rng.integers(1, 500)))
    window = timedelta(seconds=int(rng.choice([1, 5, 12, 40])) * step // 1_000_000)
    min_samples = [None, 3, 30][int(rng.integers(3))]
    lookback = None if rng.random() < 0.5 else timedelta(seconds=interval)
    rule = ZScoreRule(name="z", metric="cpu", window=window, min_samples=min_samples, lookback=lookback)
    sem = rule.semantics(Semantics())

    got = rule.compute(sel, grid, sem)

    vec = value(sel, grid, None, sem)
    x = np.asarray(vec.values, dtype=np.float64)
    present = np.broadcast_to(vec.present, x.shape)
    width = max(1, int(window.total_seconds() * 1_000_000) // step)
    score, count, mean, std = _reference(x, width)
    need = 10 if min_samples is None else min_samples
    valid = present & ~np.isnan(x) & (count >= 2) & (sample_counts(sel, grid, width * step) >= need)
    assert np.array_equal(got.valid, valid)
    assert np.array_equal(np.isnan(got.score), ~valid)
    # Prefix sums leave a flat window (one sample repeated at every instant) a std of ~1e-7 instead
    # of 0: compared apart, as a score of 0 (no deviation) or a huge one.
    spread_out = valid & (std > 1e-3)
    np.testing.assert_allclose(got.score[spread_out], score[spread_out], rtol=1e-9, atol=1e-9)
    flat = valid & (std == 0)
    assert np.all((got.score[flat] == 0) == (score[flat] == 0))
    assert np.all(np.abs(got.score[flat & (score != 0)]) > 1e5)
    seen = count > 0
    assert got.centre is not None and got.spread is not None
    np.testing.assert_allclose(got.centre[seen], mean[seen], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(got.spread[seen], std[seen], rtol=1e-9, atol=1e-5)
    assert np.array_equal(got.value, x, equal_nan=True)
