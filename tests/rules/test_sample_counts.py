"""Samples in each trailing window: one selection over a grid extended a window back gives the same
counts as selecting the window's two ends separately, on realistic sampling (phases, jitter, gaps)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from alertsim.rules.anomaly import sample_counts
from alertsim.series import prepare
from alertsim.series.vectors import Grid, last_index
from benchmarks.realistic import realistic


def _two_selections(sel, grid: Grid, width: int) -> np.ndarray:
    before = last_index(sel.data, grid, strict=True)
    start = last_index(sel.data, grid, shift=-width, strict=True)
    first = sel.data.offsets[:-1][:, None]
    return (np.maximum(before + 1, first) - np.maximum(start + 1, first)).astype(np.float64)


@pytest.mark.parametrize("seed", range(12))
def test_window_counts_from_one_extended_selection(seed):
    rng = np.random.default_rng(seed)
    frame = realistic(series=int(rng.integers(1, 12)), points=int(rng.integers(5, 300)),
                      interval_s=int(rng.choice([15, 60])), seed=seed)
    sel = prepare(frame).select("cpu", {})
    step = int(rng.choice([15, 30, 60, 120])) * 1_000_000
    t0 = int(frame["timestamp"].dt.epoch("us").min()) + int(rng.integers(-3600, 3600)) * 1_000_000
    grid = Grid(t0=t0 // step * step, step=step, size=int(rng.integers(1, 400)))
    for width in (step, int(rng.integers(2, 20)) * step, step + 7_000_000):   # whole steps, and not
        assert np.array_equal(sample_counts(sel, grid, width), _two_selections(sel, grid, width))


@pytest.mark.parametrize("seed", range(12))
def test_window_counts_on_aligned_data(seed):
    """Every series sampled exactly at every instant (the shortcut) and grids that are not its layout."""
    from alertsim.rules.anomaly import enough_samples
    from alertsim.series.vectors import SeriesSet

    rng = np.random.default_rng(seed)
    n, size = int(rng.integers(1, 8)), int(rng.integers(1, 200))
    step = int(rng.choice([15, 60])) * 1_000_000
    t0 = 1_767_225_600_000_000 + int(rng.integers(0, 100)) * step
    times = np.tile(t0 + step * np.arange(size, dtype=np.int64), n)
    data = SeriesSet.from_arrays(times, rng.normal(size=n * size), np.arange(n + 1, dtype=np.int64) * size)

    sel = SimpleNamespace(data=data)          # the counts read only the selection's samples
    for grid in (Grid(t0=t0, step=step, size=size), Grid(t0=t0 + step, step=step, size=max(size - 1, 1)),
                 Grid(t0=t0 - 3 * step, step=step, size=size + 5)):
        assert data.regular_on(grid) == (grid.t0 == t0 and grid.size == size)
        for width in (step, int(rng.integers(2, 20)) * step, step + 7_000_000):
            counts = sample_counts(sel, grid, width)
            assert np.array_equal(counts, _two_selections(sel, grid, width))
            for need in (1, 2, 10):
                assert np.array_equal(enough_samples(sel, grid, width, need), counts >= need)
