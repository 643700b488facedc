"""``rate``, ``increase`` and ``delta`` on series sampled at their own times (the compiled two-pointer
pass) give the same numbers, bit for bit, as the numpy expression over window bounds they replace —
kept here as the oracle — on realistic sampling: phases, jitter, gaps, churn, counter resets, NaN
samples, windows that are not whole steps, offsets, and both window conventions."""

from __future__ import annotations

import numpy as np
import pytest

from alertsim.series import prepare
from alertsim.series.vectors import US, Grid, SeriesSet, extrapolated, windows
from benchmarks.realistic import realistic


def _numpy_extrapolated(series: SeriesSet, grid: Grid, width: int, *, kind: str, offset: int = 0,
                        left_open: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The (series × instants) numpy expression: window bounds, gathers, then Prometheus 2.x's terms."""
    win = windows(series, grid, width, offset=offset, left_open=left_open)
    present = win.count >= 2
    lo = np.where(present, win.lo, 0)
    hi = np.where(present, np.maximum(win.hi, 0), 0)
    t, v = series.times, series.values
    is_counter = kind != "delta"
    with np.errstate(invalid="ignore", divide="ignore"):
        result = v[hi] - v[lo]
        if is_counter:
            prev = np.concatenate(([0.0], v[:-1]))
            first_of_series = np.zeros(len(v), dtype=bool)
            first_of_series[series.offsets[:-1][np.diff(series.offsets) > 0]] = True
            correction = np.where((v < prev) & ~first_of_series, prev, 0.0)
            pc = np.concatenate(([0.0], np.cumsum(correction)))
            result = result + (pc[hi + 1] - pc[lo + 1])
        instants = grid.instants[None, :] - offset
        range_start = instants - width
        to_start = (t[lo] - range_start) / US
        to_end = (instants - t[hi]) / US
        sampled = (t[hi] - t[lo]) / US
        average = sampled / np.maximum(win.count - 1, 1)
        if is_counter:
            to_zero = sampled * (v[lo] / result)
            use_zero = (result > 0) & (v[lo] >= 0) & (to_zero < to_start)
            to_start = np.where(use_zero, to_zero, to_start)
        threshold = average * 1.1
        interval = sampled + np.where(to_start < threshold, to_start, average / 2)
        interval = interval + np.where(to_end < threshold, to_end, average / 2)
        factor = interval / sampled
        if kind == "rate":
            factor = factor / (width / US)
        result = result * factor
    return np.where(present, result, np.nan), present


def _bits(a: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(a), np.nan, a).view(np.uint64)    # every NaN the same; ±0 kept apart


@pytest.mark.parametrize("seed", range(16))
def test_rates_equal_the_numpy_expression(seed):
    rng = np.random.default_rng(seed)
    interval = int(rng.choice([15, 60]))
    frame = realistic(series=int(rng.integers(1, 10)), points=int(rng.integers(2, 600)), interval_s=interval,
                      kind="counter", seed=seed, missing=float(rng.choice([0.005, 0.2])),
                      churn=float(rng.choice([0.05, 0.5])), resets=float(rng.choice([0.0, 2.0, 50.0])))
    data = prepare(frame).select("cpu", {}).data
    if rng.random() < 0.3:                                    # NaN samples (stale markers read as NaN)
        values = data.values.copy()
        values[rng.integers(0, len(values), size=3)] = np.nan
        data = SeriesSet.from_arrays(data.times, values, data.offsets)
    step = int(rng.choice([15, 30, 60, 300])) * US
    t0 = int(data.times.min()) + int(rng.integers(-900, 900)) * US
    grid = Grid(t0=t0 // step * step, step=step, size=int(rng.integers(0, 700)))
    for width in (step, int(rng.integers(2, 40)) * step, 5 * 60 * US + 7_000, interval * US):
        for kind in ("rate", "increase", "delta"):
            offset = int(rng.choice([0, 0, 300 * US, -60 * US]))
            left_open = bool(rng.random() < 0.5)
            got = extrapolated(data, grid, width, kind=kind, offset=offset, left_open=left_open)
            want, present = _numpy_extrapolated(data, grid, width, kind=kind, offset=offset, left_open=left_open)
            assert np.array_equal(got.present, present)
            assert np.array_equal(_bits(np.asarray(got.values)), _bits(want)), (kind, width, offset, left_open)
