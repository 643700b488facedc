"""``last_index`` — the newest sample each instant sees — equals a plain per-series binary search, on
any sampling: phases, jitter, gaps, duplicates, series that start late or end early, samples before
and after the grid."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from alertsim.series.grid import Grid
from alertsim.series.vectors import SeriesSet, last_index


def reference(series: SeriesSet, grid: Grid, shift: int, strict: bool) -> np.ndarray:
    out = np.full((series.n, grid.size), -1, dtype=np.int64)
    instants = grid.t0 + grid.step * np.arange(grid.size) + shift
    for i in range(series.n):
        lo, hi = int(series.offsets[i]), int(series.offsets[i + 1])
        found = np.searchsorted(series.times[lo:hi], instants, side="left" if strict else "right") - 1
        out[i] = np.where(found >= 0, found + lo, -1)
    return out


@st.composite
def samples(draw):  # type: ignore[no-untyped-def]
    step = draw(st.sampled_from([1, 7, 60]))
    n = draw(st.integers(0, 5))
    times = [np.sort(np.array(draw(st.lists(st.integers(-3 * step, 40 * step), max_size=30)), dtype=np.int64))
             for _ in range(n)]
    offsets = np.cumsum([0, *[len(t) for t in times]]).astype(np.int64)
    flat = np.concatenate(times) if times else np.zeros(0, dtype=np.int64)
    series = SeriesSet.from_arrays(flat, np.zeros(len(flat)), offsets)
    grid = Grid(t0=draw(st.integers(-step, 5 * step)), step=step, size=draw(st.integers(0, 30)))
    return series, grid, draw(st.sampled_from([0, -step, -3 * step + 1, 2])), draw(st.booleans())


@settings(max_examples=300, deadline=None)
@given(samples())
def test_last_index_equals_a_binary_search_per_series(case) -> None:  # type: ignore[no-untyped-def]
    series, grid, shift, strict = case
    np.testing.assert_array_equal(last_index(series, grid, shift=shift, strict=strict),
                                  reference(series, grid, shift, strict))
