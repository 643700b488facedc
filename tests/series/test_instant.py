"""``instant`` — the newest sample within the lookback at each instant — equals a plain per-series binary
search, on any sampling (phases, jitter, gaps, duplicates, churn, samples outside the grid), with any
lookback (shorter or longer than the step), offset and left-open or closed windows."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertsim.series import vectors
from alertsim.series.grid import Grid
from alertsim.series.vectors import SeriesSet, instant, last_index


def reference(series: SeriesSet, grid: Grid, lookback: int, offset: int, left_open: bool
              ) -> tuple[np.ndarray, np.ndarray]:
    values = np.full((series.n, grid.size), np.nan)
    present = np.zeros((series.n, grid.size), dtype=bool)
    instants = grid.t0 + grid.step * np.arange(grid.size) - offset
    for i in range(series.n):
        lo, hi = int(series.offsets[i]), int(series.offsets[i + 1])
        found = np.searchsorted(series.times[lo:hi], instants, side="right") - 1
        for k, j in enumerate(found):
            if j < 0:
                continue
            age = instants[k] - series.times[lo + j]
            if age < lookback or (age == lookback and not left_open):
                values[i, k] = series.values[lo + j]
                present[i, k] = True
    return values, present


@st.composite
def samples(draw):  # type: ignore[no-untyped-def]
    step = draw(st.sampled_from([1, 7, 60]))
    n = draw(st.integers(0, 5))
    times = [np.sort(np.array(draw(st.lists(st.integers(-3 * step, 40 * step), max_size=30)), dtype=np.int64))
             for _ in range(n)]
    offsets = np.cumsum([0, *[len(t) for t in times]]).astype(np.int64)
    flat = np.concatenate(times) if times else np.zeros(0, dtype=np.int64)
    values = np.array(draw(st.lists(st.sampled_from([0.5, 1.0, -2.0, np.nan]), min_size=len(flat),
                                    max_size=len(flat))), dtype=np.float64)
    series = SeriesSet.from_arrays(flat, values, offsets)
    grid = Grid(t0=draw(st.integers(-step, 5 * step)), step=draw(st.sampled_from([step, 2 * step, 3])),
                size=draw(st.integers(0, 30)))
    lookback = draw(st.sampled_from([0, 1, step, 2 * step + 1, 5 * step]))
    return series, grid, lookback, draw(st.sampled_from([0, step, 2])), draw(st.booleans())


@settings(max_examples=400, deadline=None)
@given(samples())
def test_instant_equals_a_binary_search_per_series(case) -> None:  # type: ignore[no-untyped-def]
    series, grid, lookback, offset, left_open = case
    got = instant(series, grid, lookback=lookback, offset=offset, left_open=left_open)
    values, present = reference(series, grid, lookback, offset, left_open)
    np.testing.assert_array_equal(np.asarray(got.present), present)
    np.testing.assert_array_equal(np.asarray(got.values), values)


@pytest.mark.parametrize("block", [64, 1 << 17])
def test_instant_on_jittered_gapped_churning_series_equals_the_reference(block: int, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(vectors, "_BLOCK", block)             # many blocks, on several threads
    rng = np.random.default_rng(3)
    step, size = 60_000_000, 400
    times, offsets = [], [0]
    for i in range(40):
        t = rng.integers(0, step) + step * np.arange(size) + rng.integers(-50_000, 50_000, size)
        keep = rng.random(size) > 0.02
        if i % 7 == 0:
            keep[: rng.integers(1, size // 2)] = False
        if i % 11 == 0:
            keep[size - rng.integers(1, size // 2):] = False
        if i == 5:
            t[:] = step * np.arange(size)               # on the grid
        times.append(np.sort(t[keep]))
        offsets.append(offsets[-1] + int(keep.sum()))
    flat = np.concatenate(times).astype(np.int64)
    series = SeriesSet.from_arrays(flat, rng.normal(size=len(flat)), np.array(offsets))
    for grid in (Grid(t0=step, step=step, size=size), Grid(t0=0, step=15_000_000, size=4 * size),
                 Grid(t0=7, step=600_000_000, size=size // 10)):
        for lookback, offset, left_open in ((300_000_000, 0, False), (300_000_000, 60_000_000, True),
                                            (30_000_000, 0, False)):
            got = instant(series, grid, lookback=lookback, offset=offset, left_open=left_open)
            values, present = reference(series, grid, lookback, offset, left_open)
            np.testing.assert_array_equal(np.asarray(got.present), present)
            np.testing.assert_array_equal(np.asarray(got.values), values)
        index = last_index(series, grid)
        np.testing.assert_array_equal(index >= 0, np.isfinite(instant(series, grid, lookback=10**15).values))


@settings(max_examples=100, deadline=None)
@given(samples())
def test_blocks_do_not_change_the_answer(case) -> None:  # type: ignore[no-untyped-def]
    series, grid, lookback, offset, left_open = case
    whole = instant(series, grid, lookback=lookback, offset=offset, left_open=left_open)
    original = vectors._BLOCK
    vectors._BLOCK = 3
    try:
        parts = instant(series, grid, lookback=lookback, offset=offset, left_open=left_open)
        np.testing.assert_array_equal(last_index(series, grid, shift=-offset),
                                      _whole_last_index(series, grid, -offset, original))
    finally:
        vectors._BLOCK = original
    np.testing.assert_array_equal(np.asarray(parts.present), np.asarray(whole.present))
    np.testing.assert_array_equal(np.asarray(parts.values), np.asarray(whole.values))


def _whole_last_index(series: SeriesSet, grid: Grid, shift: int, block: int) -> np.ndarray:
    saved = vectors._BLOCK
    vectors._BLOCK = block
    try:
        return last_index(series, grid, shift=shift)
    finally:
        vectors._BLOCK = saved
