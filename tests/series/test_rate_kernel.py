"""``rate``, ``increase`` and ``delta`` on series sampled at their own times: the compiled two-pointer
pass and the numpy expression over window bounds (what small inputs take) give the same numbers, bit
for bit, on realistic sampling: phases, jitter, gaps, churn, counter resets, NaN samples, windows
that are not whole steps, offsets, and both window conventions."""

from __future__ import annotations

import numpy as np
import pytest

from alertsim.series import prepare, vectors
from alertsim.series.vectors import US, Grid, SeriesSet, extrapolated
from benchmarks.realistic import realistic


def _bits(a: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(a), np.nan, a).view(np.uint64)    # every NaN the same; ±0 kept apart


@pytest.mark.parametrize("seed", range(16))
def test_compiled_and_numpy_rates_are_equal(seed, monkeypatch):
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
            runs = []
            for compiled in (True, False):
                monkeypatch.setattr(vectors, "compiled_pays", lambda module, cells, c=compiled, **_: c)
                runs.append(extrapolated(data, grid, width, kind=kind, offset=offset, left_open=left_open))
            got, want = runs
            assert np.array_equal(got.present, want.present)
            assert np.array_equal(_bits(np.asarray(got.values)), _bits(np.asarray(want.values))), (
                kind, width, offset, left_open)
