"""The compiled z-score pass (rows without a gap, large inputs) gives the same numbers, bit for bit,
as the numpy pass rows with a gap and small inputs take — on rows that start late, hold flat
stretches, ±inf, huge values, rows absent at some instants, and with the window's sample count
required or not."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertsim.rules import anomaly
from alertsim.rules.anomaly import SampleWindow
from alertsim.series.vectors import Grid, SeriesSet

STEP = 60_000_000


def _rows(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Rows without a gap: noise around a level, some starting late, some flat, a few ±inf and 1e300."""
    x = rng.normal(100, 5, size=(n, size)) * rng.choice([1e-9, 1.0, 1e9], size=(n, 1))
    for r in range(n):
        kind = rng.integers(6)
        if kind == 1:
            x[r, :rng.integers(1, size + 1)] = np.nan        # starts late (or never)
        elif kind == 2:
            x[r, rng.integers(size):] = 42.0                 # flat from somewhere on
        elif kind == 3:
            x[r, rng.integers(size, size=2)] = rng.choice([np.inf, -np.inf, 1e300], size=2)
        elif kind == 4:
            x[r] = np.round(x[r] / 1e9 if abs(x[r, 0]) > 1e6 else x[r])   # integers: exact sums
    return x


def _samples(rng: np.random.Generator, n: int, grid: Grid) -> SeriesSet:
    """Jittered samples around the grid's instants, some scrapes missing."""
    per_row = []
    for _ in range(n):
        times = grid.t0 + STEP * np.arange(-5, grid.size) + rng.integers(-STEP // 2, STEP // 2, size=grid.size + 5)
        times = np.sort(times[rng.random(len(times)) > 0.2])
        per_row.append(times.astype(np.int64))
    offsets = np.concatenate(([0], np.cumsum([len(t) for t in per_row]))).astype(np.int64)
    times = np.concatenate(per_row) if per_row else np.zeros(0, dtype=np.int64)
    return SeriesSet.from_arrays(times, np.zeros(len(times)), offsets)


def _both(monkeypatch, *args):
    """``_zscore_features(*args)`` through the compiled pass, then through numpy alone."""
    runs = []
    for compiled in (True, False):
        monkeypatch.setattr(anomaly, "compiled_pays", lambda module, cells, c=compiled, **_: c)
        with np.errstate(all="ignore"):
            runs.append(anomaly._zscore_features(*args))
    return runs


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal bit for bit (NaN where NaN, the sign of every zero)."""
    return a.dtype == b.dtype and a.shape == b.shape and bool(
        np.array_equal(a, b) if a.dtype == bool else np.array_equal(a.view(np.uint64), b.view(np.uint64))
        or (np.array_equal(np.isnan(a), np.isnan(b)) and np.array_equal(a[~np.isnan(a)], b[~np.isnan(b)])
            and np.array_equal(np.signbit(a[~np.isnan(a)]), np.signbit(b[~np.isnan(b)]))))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), size=st.integers(1, 300),
       width=st.integers(1, 40), need=st.integers(0, 12), masked=st.booleans(), counted=st.booleans())
def test_compiled_rows_equal_the_numpy_pass(seed, n, size, width, need, masked, counted):
    monkeypatch = pytest.MonkeyPatch()
    rng = np.random.default_rng(seed)
    x = _rows(rng, n, size)
    present = rng.random((n, size)) > 0.1 if masked else np.broadcast_to(np.True_, (n, size))
    grid = Grid(t0=1_767_225_600_000_000, step=STEP, size=size)
    samples = SampleWindow(data=_samples(rng, n, grid), grid=grid, width=width * STEP + 7_000_000,
                           need=need) if counted else None

    with monkeypatch.context() as patch:
        got, want = _both(patch, x, present, width, 2, samples)

    for name, a, b in zip(("score", "valid", "centre", "std"), got, want, strict=True):
        assert _same(a, b), name


@pytest.mark.parametrize("present_everywhere", [True, False])
def test_many_rows_on_two_threads(present_everywhere, monkeypatch):
    """Large enough to be split into blocks of rows on two threads."""
    rng = np.random.default_rng(3)
    x = _rows(rng, 64, 5000)
    x[5, 100] = np.nan                               # one row with a gap goes the numpy way
    present = np.broadcast_to(np.bool_(present_everywhere), x.shape)
    grid = Grid(t0=1_767_225_600_000_000, step=STEP, size=5000)
    samples = SampleWindow(data=_samples(rng, 64, grid), grid=grid, width=60 * STEP, need=10)
    got, want = _both(monkeypatch, x, present, 60, 2, samples)
    for name, a, b in zip(("score", "valid", "centre", "std"), got, want, strict=True):
        assert _same(a, b), name
    assert got[1].any() == present_everywhere
