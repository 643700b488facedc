"""Prometheus selection semantics on an evaluation grid, vectorised over every series at once.

A :class:`SeriesSet` holds many series back to back (sorted by series, then time) as flat numpy
arrays. A :class:`Grid` is the set of evaluation instants ``t0 + k·step``. Functions here compute,
for every series and every instant at once, what PromQL would: the instant-vector value (newest
sample within the lookback), the windows of range selectors over ``[t − w, t]`` (:func:`windows`; their
``*_over_time`` numerics are in :mod:`alertsim.series.over_time`) and ``rate``, ``increase``, ``delta``,
``irate``. Results are ``(n_series, n_instants)`` float arrays with
``NaN`` where the series has no result, plus a boolean ``present`` mask (a NaN *sample value* is a
present NaN, as in Prometheus).

Semantics follow Prometheus 2.x by default: lookback and range windows closed on both ends. With
``left_open=True`` they are left-open, as in Prometheus 3.

>>> import numpy as np
>>> s = SeriesSet.from_arrays(np.array([0, 1, 2]) * 60_000_000, np.array([1.0, 2.0, 3.0]))
>>> g = Grid(t0=0, step=60_000_000, size=3)
>>> instant(s, g).values
array([[1., 2., 3.]])
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np

US = 1_000_000
LOOKBACK_US = 5 * 60 * US
#: Samples plus output cells per block of series: a block's temporaries stay within the last-level cache,
#: and blocks are few enough that their Python overhead is small. Measured on 1,000 realistic series ×
#: 10,080 instants, instant selection: 1 << 17: 73 ms, 1 << 19: 45 ms, 1 << 21: 50 ms.
_BLOCK = 1 << 19
#: Threads that evaluate blocks side by side (numpy releases the GIL inside each operation).
_WORKERS = max(1, min(2, os.cpu_count() or 1))
#: (Series × instants) cells of ``rate``-like work from which its compiled kernel pays for loading
#: numba and the compiled code (about 0.5 s, once per process): the numpy form costs about 85 ns more
#: per cell, so 6 M cells pay for the load. Before that, the numpy form of the same arithmetic runs.
COMPILED_FROM = 6_000_000
_cells_seen: dict[str, int] = {}


def compiled_pays(module: str, cells: int, *, from_cells: int = COMPILED_FROM) -> bool:
    """Whether to run the compiled kernels of ``module`` for ``cells`` more cells of work: once they
    are loaded, or once this process has asked them for ``from_cells`` cells in all, this call's
    included (as one rents skis until the rent would have bought them: never much more than twice
    the better choice's time, and a one-off run too small to pay for the load never loads it).

    >>> compiled_pays("a module of kernels", COMPILED_FROM)
    True
    """
    seen = _cells_seen[module] = _cells_seen.get(module, 0) + cells
    return module in sys.modules or seen >= from_cells


@dataclass(frozen=True, kw_only=True)
class Grid:
    """Evaluation instants ``t0 + k·step`` for ``k in range(size)``, all in microseconds since epoch."""

    t0: int
    step: int
    size: int

    @property
    def instants(self) -> np.ndarray:
        return self.t0 + self.step * np.arange(self.size, dtype=np.int64)

    @classmethod
    def covering(cls, first_us: int, last_us: int, step_us: int, offset_us: int = 0) -> Grid:
        """The instants ``offset + k·step`` (multiples of ``step`` since the epoch, shifted by ``offset``,
        as Prometheus shifts each rule group within its interval), within [first, last]."""
        offset_us %= step_us
        t0 = -(-(first_us - offset_us) // step_us) * step_us + offset_us
        size = max(0, (last_us - t0) // step_us + 1)
        return cls(t0=int(t0), step=int(step_us), size=int(size))


@dataclass(frozen=True, eq=False)
class SeriesSet:
    """Samples of ``n`` series, concatenated: series ``i`` is ``times[offsets[i]:offsets[i+1]]``.

    ``times`` are int64 microseconds, sorted within each series; ``values`` float64. ``layout``, when
    known (see :meth:`find_layout`), is the grid on which every series has exactly one sample per
    instant; it lets :meth:`regular_on` answer without reading the timestamps again.
    """

    times: np.ndarray
    values: np.ndarray
    offsets: np.ndarray
    layout: Grid | None = None

    @property
    def n(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def from_arrays(cls, times: np.ndarray, values: np.ndarray,
                    offsets: np.ndarray | None = None) -> SeriesSet:
        times = np.ascontiguousarray(times, dtype=np.int64)
        values = np.ascontiguousarray(values, dtype=np.float64)
        if offsets is None:
            offsets = np.array([0, len(times)], dtype=np.int64)
        return cls(times, values, np.ascontiguousarray(offsets, dtype=np.int64))

    def ends(self) -> tuple[np.ndarray, np.ndarray]:
        """The first and last sample time of every series that has samples (O(series))."""
        lengths = np.diff(self.offsets)
        has = lengths > 0
        return self.times[self.offsets[:-1][has]], self.times[self.offsets[1:][has] - 1]

    @property
    def sample_series(self) -> np.ndarray:
        """The series index of every sample."""
        return np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self.offsets))

    def take(self, index: np.ndarray) -> SeriesSet:
        """A new set with only the series in ``index`` (in that order).

        A run of consecutive series is a view of this set's arrays (nothing is copied); a subset of
        a regular set keeps its ``layout``.
        """
        index = np.asarray(index, dtype=np.int64)
        count = len(index)
        if count and index[0] >= 0 and index[-1] < self.n and np.array_equal(
                index, np.arange(index[0], index[0] + count)):
            first = int(index[0])
            lo, hi = int(self.offsets[first]), int(self.offsets[first + count])
            return SeriesSet(self.times[lo:hi], self.values[lo:hi],
                             self.offsets[first:first + count + 1] - lo, self.layout)
        lengths = np.diff(self.offsets)[index]
        starts = self.offsets[:-1][index]
        offsets = np.zeros(len(index) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        gather = _ranges(starts, lengths)
        return SeriesSet(self.times[gather], self.values[gather], offsets, self.layout if count else None)

    def find_layout(self) -> Grid | None:
        """The grid on which every series has exactly one sample per instant (all series sampled at
        the same evenly spaced times), or None. One pass over the timestamps, in blocks."""
        n = self.n
        if n == 0:
            return None
        lengths = np.diff(self.offsets)
        size = int(lengths[0])
        if size < 2 or not bool((lengths == size).all()):
            return None
        times = self.times.reshape(n, size)
        first = times[0]
        step = int(first[1] - first[0])
        if step <= 0 or not bool((np.diff(first) == step).all()):
            return None
        block = max(1, 1_000_000 // size)
        for lo in range(1, n, block):
            if not bool((times[lo:lo + block] == first[None, :]).all()):
                return None
        return Grid(t0=int(first[0]), step=step, size=size)

    def regular_on(self, grid: Grid) -> bool:
        """True when every series has exactly one sample at every grid instant (the fast path)."""
        if self.layout is not None and self.n:
            return (self.layout.t0 == grid.t0 and self.layout.size == grid.size
                    and (grid.size <= 1 or self.layout.step == grid.step))
        if len(self.times) != self.n * grid.size:
            return False
        if self.n == 0:
            return True
        instants = grid.instants
        times = self.times.reshape(self.n, grid.size)
        block = max(1, 1_000_000 // max(grid.size, 1))
        return all(bool((times[lo:lo + block] == instants[None, :]).all()) for lo in range(0, self.n, block))


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + l)`` for each pair, without a Python loop."""
    out_starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    total = int(lengths.sum())
    return np.arange(total, dtype=np.int64) + np.repeat(starts - out_starts, lengths)


@dataclass(frozen=True, eq=False)
class Vector:
    """Values of ``n`` series at every grid instant: ``values`` (NaN where absent) and ``present``.

    ``complete`` says ``present`` is true everywhere (so callers may skip masking with it).
    """

    values: np.ndarray
    present: np.ndarray
    complete: bool = False


def _series_blocks(offsets: np.ndarray, size: int) -> list[tuple[int, int]]:
    """Consecutive series ranges ``[s0, s1)`` of about :data:`_BLOCK` samples plus output cells each, so
    a block's temporaries stay in cache; every block holds at least one series."""
    n = len(offsets) - 1
    if n <= 0:
        return []
    target = _BLOCK
    cost = np.cumsum(np.diff(offsets) + size)
    cuts = np.searchsorted(cost, np.arange(target, int(cost[-1]), target), side="left") + 1
    bounds = np.unique(np.concatenate(([0], np.minimum(cuts, n), [n])))
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))


def _each_block(work: Callable[[tuple[int, int]], None], blocks: list[tuple[int, int]]) -> None:
    """``work(block)`` for every block, on up to :data:`_WORKERS` threads (blocks write disjoint rows)."""
    if _WORKERS > 1 and len(blocks) > 1:
        with ThreadPoolExecutor(_WORKERS) as pool:
            for _ in pool.map(work, blocks):
                pass
    else:
        for block in blocks:
            work(block)


def _slots(times: np.ndarray, origin: int, step: int, size: int, *, strict: bool, inside: bool) -> np.ndarray:
    """For each sample, the first instant index ``k`` (instants ``origin + k·step``) that sees it —
    ``origin + k·step >= t`` (``> t`` when ``strict``) — clipped to ``[0, size]`` (``size``: after the grid;
    ``inside`` says no sample needs clipping).

    ``k = ceil((t − origin) / step) = (t − origin + step − 1) // step``: one subtraction and one
    integer division, exact."""
    k = np.subtract(times, origin - step + (0 if strict else 1))
    np.floor_divide(k, step, out=k)
    if not inside:
        np.clip(k, 0, size, out=k)
    return k


@dataclass(frozen=True, eq=False)
class _Buckets:
    """How a block of series ``s0..s1`` spreads over its rows of (series × instants) cells, flat.

    ``counts[j]``: the cells sample ``j`` (block-local) is the newest for, from the cell of the first
    instant that sees it (``k[j]``) to the next sample's; the last sample of a row runs on to the
    next row's first sample, so ``np.repeat(x, counts)`` fills every cell from the first sample's on.
    ``lead`` lists the flat cell ranges no sample of their row reaches yet (row starts before their
    first sample, empty rows), to reset after the repeat. ``k`` is clipped to ``[0, size]``.
    """

    a: int
    counts: np.ndarray
    k: np.ndarray
    row_of_start: np.ndarray          # block-local row of each row start in ``starts``
    starts: np.ndarray                # block-local index of each non-empty row's first sample
    lead_at: np.ndarray
    lead_len: np.ndarray


def _bucket(series: SeriesSet, s0: int, s1: int, origin: int, step: int, size: int, *, strict: bool
            ) -> _Buckets | None:
    a, b = int(series.offsets[s0]), int(series.offsets[s1])
    rows = s1 - s0
    if a == b:
        return None
    lengths = np.diff(series.offsets[s0:s1 + 1])
    nonempty = np.flatnonzero(lengths)
    starts = series.offsets[s0:s1][nonempty] - a
    ends = series.offsets[s0 + 1:s1 + 1][nonempty] - (a + 1)
    t = series.times[a:b]
    # Each series is sorted: its first and last samples bound every slot.
    low, high = (origin - step + (0 if strict else 1)) + step * np.array([0, size + 1], dtype=np.int64)
    inside = bool(t[starts].min() >= low) and bool(t[ends].max() < high)
    k = _slots(t, origin, step, size, strict=strict, inside=inside)
    counts = np.empty(b - a, dtype=np.int64)
    np.subtract(k[1:], k[:-1], out=counts[:-1])
    counts[ends[:-1]] += np.diff(nonempty) * size      # a row's last sample runs on to the next row's first
    counts[ends[-1]] = rows * size - (int(nonempty[-1]) * size + int(k[ends[-1]]))
    counts[0] += int(nonempty[0]) * size + int(k[0])   # and the first sample of the block from cell 0
    # Cells before each row's first sample (all of an empty row) belong to no sample of the row.
    lead = np.full(rows, size, dtype=np.int64)
    lead[nonempty] = k[starts]
    has_lead = np.flatnonzero(lead)
    return _Buckets(a=a, counts=counts, k=k, row_of_start=nonempty, starts=starts,
                   lead_at=has_lead * size, lead_len=lead[has_lead])


def _row_of(buckets: _Buckets, local: np.ndarray) -> np.ndarray:
    """The block-local row of block-local samples ``local``."""
    return buckets.row_of_start[np.searchsorted(buckets.starts, local, side="right") - 1]  # type: ignore[no-any-return]


def last_index(series: SeriesSet, grid: Grid, *, shift: int = 0, strict: bool = False) -> np.ndarray:
    """For each series and instant ``t``, the global index of the newest sample with time ``<= t + shift``
    (``< t + shift`` when ``strict``), or -1 if the series has none.

    Bucketing, not searching: each sample falls in the cell of the first instant that sees it and is
    the newest up to the next sample's cell, so a row is its sample indices repeated by those counts
    (:func:`_bucket`). On regular data — any phase, jitter, gaps, churn — that is a few passes over the
    samples and one over the cells, in blocks of series that stay in cache, on two threads.
    O(samples + series·instants), whatever the sampling.
    """
    n, size = series.n, grid.size
    out = np.empty((n, size), dtype=np.int64)
    if size == 0:
        return out
    origin = grid.t0 + shift

    def work(block: tuple[int, int]) -> None:
        rows = out[block[0]:block[1]].reshape(-1)
        buckets = _bucket(series, block[0], block[1], origin, grid.step, size, strict=strict)
        if buckets is None:
            rows.fill(-1)
            return
        rows[:] = np.repeat(np.arange(buckets.a, buckets.a + len(buckets.counts), dtype=np.int64), buckets.counts)
        rows[_ranges(buckets.lead_at, buckets.lead_len)] = -1

    _each_block(work, _series_blocks(series.offsets, size))
    return out


def instant(series: SeriesSet, grid: Grid, *, lookback: int = LOOKBACK_US, offset: int = 0,
            left_open: bool = False) -> Vector:
    """Instant-vector selection: the newest sample within the lookback before each instant.

    ``offset`` (µs) looks back in time as PromQL's ``offset`` modifier does. Samples spread over the
    cells they are the newest for (see :func:`last_index`); only samples that stay newest longer than
    the lookback can be too old for some of their cells, and only those are checked.
    """
    if series.regular_on(grid) and offset == 0 and lookback >= 0:
        # A read-only view of the samples, and "present everywhere" without allocating it.
        values = series.values.reshape(series.n, grid.size).view()
        values.flags.writeable = False
        return Vector(values, np.broadcast_to(np.True_, values.shape), complete=True)
    n, size, step = series.n, grid.size, grid.step
    values = np.empty((n, size))
    present = np.empty((n, size), dtype=bool)
    origin = grid.t0 - offset
    # A sample is less than a step old at the first instant that sees it (unless it precedes the grid),
    # so one newest for at most ``lookback // step`` instants is within the lookback at all of them.
    fresh = max(lookback, 0) // step

    def work(block: tuple[int, int]) -> None:
        v = values[block[0]:block[1]].reshape(-1)
        p = present[block[0]:block[1]].reshape(-1)
        buckets = _bucket(series, block[0], block[1], origin, step, size, strict=False)
        if buckets is None:
            v.fill(np.nan)
            p.fill(False)
            return
        a, counts = buckets.a, buckets.counts
        t = series.times[a:a + len(counts)]
        v[:] = np.repeat(series.values[a:a + len(counts)], counts)
        p.fill(True)
        check = np.flatnonzero(counts > fresh)
        early = buckets.starts[t[buckets.starts] <= origin - step]
        if len(early):
            # Rows that begin before the grid: the sample newest at the first instant may be too old.
            stop = np.append(buckets.starts[1:], len(counts))[np.searchsorted(buckets.starts, early)]
            newest = np.array([s + int(np.searchsorted(t[s:e], origin, side="right")) - 1
                               for s, e in zip(early.tolist(), stop.tolist(), strict=True)], dtype=np.int64)
            check = np.union1d(check, newest)
        k = buckets.k[check]
        rel = t[check] + (lookback - origin)
        within = -(-rel // step) if left_open else rel // step + 1      # instants within the lookback
        first = _row_of(buckets, check) * size
        end = first + k + counts[check]
        if len(check) and check[0] == 0:
            end[0] = counts[0]                            # the block's first sample also fills cell 0 on
        stale = first + np.maximum(np.minimum(within, size), k)
        cells = np.concatenate((_ranges(buckets.lead_at, buckets.lead_len),
                                _ranges(stale, np.maximum(end - stale, 0))))
        v[cells] = np.nan
        p[cells] = False

    if size:
        _each_block(work, _series_blocks(series.offsets, size))
    values.flags.writeable = False                     # shared by every rule that selects the same
    present.flags.writeable = False
    return Vector(values, present)


@dataclass(frozen=True, eq=False)
class Windows:
    """The samples of each series inside ``[t − w, t]`` at each instant: global index bounds
    ``lo..hi`` (inclusive) and ``count`` (0 where empty)."""

    lo: np.ndarray
    hi: np.ndarray
    count: np.ndarray


def windows(series: SeriesSet, grid: Grid, width: int, *, offset: int = 0,
            left_open: bool = False) -> Windows:
    """Sample index bounds of the range selector ``[width]`` (µs) at every instant."""
    if series.layout is not None and series.n > 1:
        # Same sample times in every series: the first series' windows, shifted to each series.
        one = windows(_first_series(series), grid, width, offset=offset, left_open=left_open)
        base = series.offsets[:-1, None]
        hi = np.where(one.hi >= 0, one.hi + base, -1)
        return Windows(one.lo + base, hi, np.broadcast_to(one.count, hi.shape))
    hi = last_index(series, grid, shift=-offset)
    before = last_index(series, grid, shift=-offset - width, strict=not left_open)
    lo = np.where(before >= 0, before + 1, series.offsets[:-1, None])
    count = np.where(hi >= 0, hi - lo + 1, 0)
    np.maximum(count, 0, out=count)
    return Windows(lo, hi, count)


def _prefix(values: np.ndarray) -> np.ndarray:
    out = np.zeros(len(values) + 1, dtype=np.float64)
    np.cumsum(values, out=out[1:])
    return out


def extrapolated(series: SeriesSet, grid: Grid, width: int, *, kind: Literal["rate", "increase", "delta"],
                 offset: int = 0, left_open: bool = False) -> Vector:
    """``rate``, ``increase`` (counters, with resets) or ``delta`` (gauges), with Prometheus 2.x's
    extrapolation to the window edges. Needs at least two samples in the window.

    Series with the same sample times share their windows (:func:`_extrapolated_regular`); others
    take a compiled two-pointer pass per series (:func:`alertsim.series._kernels.extrapolated_rows`)
    once the work pays for loading the compiler, or the same arithmetic over (series × instants)
    numpy arrays (:func:`_extrapolated_numpy`): the same numbers either way.
    """
    if series.layout is not None and series.n > 1:
        return _extrapolated_regular(series, grid, width, kind=kind, offset=offset, left_open=left_open)
    n, size = series.n, grid.size
    counter = kind != "delta"
    resets = _reset_sums(series) if counter else np.zeros(1)
    if not compiled_pays("alertsim.series._kernels", n * size):
        return _extrapolated_numpy(series, grid, width, resets, kind=kind, offset=offset, left_open=left_open)
    from alertsim.series._kernels import extrapolated_rows  # noqa: PLC0415  (numba: about 0.5 s to load, once)

    out = np.empty((n, size))
    present = np.empty((n, size), dtype=bool)

    def work(block: tuple[int, int]) -> None:
        extrapolated_rows(series.times, series.values, series.offsets, resets, block[0], block[1],
                          grid.t0 - offset, grid.step, width, left_open, counter, kind == "rate", out, present)

    if size:
        _each_block(work, _series_blocks(series.offsets, size))
    return Vector(out, present)


def _extrapolated_numpy(series: SeriesSet, grid: Grid, width: int, resets: np.ndarray, *,
                        kind: Literal["rate", "increase", "delta"], offset: int, left_open: bool) -> Vector:
    """:func:`extrapolated` as (series × instants) numpy arrays: window bounds, gathers, then the terms."""
    win = windows(series, grid, width, offset=offset, left_open=left_open)
    present = win.count >= 2
    lo = np.where(present, win.lo, 0)
    hi = np.where(present, np.maximum(win.hi, 0), 0)
    t, v = series.times, series.values
    is_counter = kind != "delta"
    with np.errstate(invalid="ignore", divide="ignore"):
        result = v[hi] - v[lo]
        if is_counter:
            result = result + (resets[hi + 1] - resets[lo + 1])
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
        # Prometheus 2.42 folds the range into the factor before multiplying: r · ((i / s) / range).
        factor = interval / sampled
        if kind == "rate":
            factor = factor / (width / US)
        result = result * factor
    return Vector(np.where(present, result, np.nan), present)


def _reset_sums(series: SeriesSet) -> np.ndarray:
    """Prefix sums over all samples of the value before each counter reset (a drop within a series;
    Prometheus adds that value back). ``[0, ...]``: the sum up to sample ``j`` is at ``j + 1``. 2.x
    compares a series' first sample with 0 as well, so a negative first sample adds nothing."""
    v = series.values
    prev = np.concatenate(([0.0], v[:-1]))
    first_of_series = np.zeros(len(v), dtype=bool)
    first_of_series[series.offsets[:-1][np.diff(series.offsets) > 0]] = True
    return _prefix(np.where((v < prev) & ~first_of_series, prev, 0.0))


def _extrapolated_regular(series: SeriesSet, grid: Grid, width: int, *,
                          kind: Literal["rate", "increase", "delta"], offset: int, left_open: bool) -> Vector:
    """:func:`extrapolated` when every series has the same sample times (``series.layout``): the
    windows are the same columns for every series, so they are found once, the time terms are
    computed once per instant, and only the value terms are (series × instants). Same arithmetic,
    same results."""
    assert series.layout is not None
    n, size = series.n, series.layout.size
    win = windows(_first_series(series), grid, width, offset=offset, left_open=left_open)
    count = win.count[0]
    present = count >= 2
    lo = np.where(present, win.lo[0], 0)
    hi = np.where(present, np.maximum(win.hi[0], 0), 0)
    t = series.times[:size]
    v = series.values.reshape(n, size)
    is_counter = kind != "delta"
    pc = None
    if is_counter:
        # The value before each drop (a counter reset), prefix-summed over all samples as in
        # :func:`extrapolated`; most counters never reset, and then nothing needs adding.
        correction = np.zeros((n, size))
        prev = v[:, :-1]
        np.copyto(correction[:, 1:], prev, where=v[:, 1:] < prev)
        if correction.any():
            pc = _prefix(correction.reshape(-1))[1:].reshape(n, size)
        del correction
    with np.errstate(invalid="ignore", divide="ignore"):
        instants = grid.instants - offset
        range_start = instants - width
        to_start_all = (t[lo] - range_start) / US
        to_end = (instants - t[hi]) / US
        sampled = (t[hi] - t[lo]) / US
        average = sampled / np.maximum(count - 1, 1)
        threshold = average * 1.1
        end_term = np.where(to_end < threshold, to_end, average / 2)
        half = average / 2
        out = np.empty((n, grid.size))
        # A few rows at a time, so the temporaries stay in cache; the same operations in the same order.
        block = max(1, 65_536 // max(grid.size, 1))
        for first in range(0, n, block):
            rows = slice(first, first + block)
            v_lo = v[rows][:, lo]
            result = v[rows][:, hi]
            np.subtract(result, v_lo, out=result)
            if is_counter:
                if pc is not None:
                    result += pc[rows][:, hi] - pc[rows][:, lo]
                else:
                    result += 0.0
                to_zero = np.divide(v_lo, result)
                to_zero *= sampled
                use_zero = result > 0
                use_zero &= v_lo >= 0
                use_zero &= to_zero < to_start_all
                to_start = np.where(use_zero, to_zero, to_start_all)
            else:
                to_start = to_start_all
            interval = np.where(to_start < threshold, to_start, half)
            interval += sampled
            interval += end_term
            interval /= sampled
            if kind == "rate":
                interval /= width / US
            np.multiply(result, interval, out=out[rows])
        out[:, ~present] = np.nan
    return Vector(out, np.broadcast_to(present, (n, grid.size)))


def _first_series(series: SeriesSet) -> SeriesSet:
    """The first series of a regular set, as a set of its own."""
    assert series.layout is not None
    size = series.layout.size
    return SeriesSet(series.times[:size], series.values[:size], np.array([0, size], dtype=np.int64))


def irate(series: SeriesSet, grid: Grid, width: int, *, offset: int = 0, left_open: bool = False,
          kind: Literal["irate", "idelta"] = "irate") -> Vector:
    """``irate``/``idelta``: from the last two samples in the window."""
    win = windows(series, grid, width, offset=offset, left_open=left_open)
    present = win.count >= 2
    if len(series.times) < 2:  # no window can hold two samples (and index 1 does not exist)
        return Vector(np.full(present.shape, np.nan), present)
    hi = np.where(present, win.hi, 1)
    prev = hi - 1
    t, v = series.times, series.values
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = v[hi] - v[prev]
        if kind == "irate":
            diff = np.where(v[hi] < v[prev], v[hi], diff)
            diff = diff / ((t[hi] - t[prev]) / US)
    return Vector(np.where(present, diff, np.nan), present)


def compare(left: np.ndarray, op: str, right: np.ndarray | float) -> np.ndarray:
    """Elementwise comparison with Go's float semantics (NaN compares false except ``!=``)."""
    with np.errstate(invalid="ignore"):
        if op == ">":
            return np.greater(left, right)
        if op == ">=":
            return np.greater_equal(left, right)
        if op == "<":
            return np.less(left, right)
        if op == "<=":
            return np.less_equal(left, right)
        if op == "==":
            return np.equal(left, right)
        if op == "!=":
            return np.not_equal(left, right)
    raise ValueError(f"unknown comparison {op!r}")
