"""``alertsim.series.vectors`` and ``alertsim.series.over_time`` against straightforward per-instant reference
implementations.

The references evaluate one series at one instant at a time, the way PromQL's engine does: select the
samples (instant lookback, or the range ``[t − w, t]``; left-open for Prometheus 3), then apply a
literal transcription of the Prometheus 2.42 function (promql/functions.go: ``extrapolatedRate``,
``instantValue``, ``aggrOverTime`` with its Kahan sums, ``quantile``). The vectorised engine must give
the same presence and the same value at every (series, instant).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertsim.series.over_time import over_time
from alertsim.series.vectors import Grid, SeriesSet, compare, extrapolated, instant, irate

US = 1_000_000
S = 10 * US  # sample times lie on a 10-second lattice, so they often hit window edges exactly


# --------------------------------------------------------------------------------------------------
# Reference implementations, one series and one instant at a time.

def select_instant(times, values, t, *, lookback, left_open):
    """The newest sample in [t − lookback, t] (2.x) or (t − lookback, t] (3.x), or None."""
    chosen = None
    for ts, v in zip(times, values, strict=True):
        if ts <= t and (ts > t - lookback if left_open else ts >= t - lookback):
            chosen = v
    return chosen


def select_range(times, values, t, width, *, left_open):
    """The samples of the range selector ``[width]`` at ``t``: [(ts, v), ...]."""
    lo = t - width
    return [(ts, v) for ts, v in zip(times, values, strict=True)
            if ts <= t and (ts > lo if left_open else ts >= lo)]


def kahan_inc(inc, total, c):
    t = total + inc
    if abs(total) >= abs(inc):
        c += (total - t) + inc
    else:
        c += (inc - t) + total
    return t, c


def go_avg(vs):
    mean = count = c = 0.0
    for v in vs:
        count += 1
        if math.isinf(mean):
            if math.isinf(v) and (mean > 0) == (v > 0):
                continue
            if not math.isinf(v) and not math.isnan(v):
                continue
        mean, c = kahan_inc(v / count - mean / count, mean, c)
    return mean if math.isinf(mean) else mean + c


def go_sum(vs):
    total = c = 0.0
    for v in vs:
        total, c = kahan_inc(v, total, c)
    return total if math.isinf(total) else total + c


def go_min(vs):
    out = vs[0]
    for v in vs:
        if v < out or math.isnan(out):
            out = v
    return out


def go_max(vs):
    out = vs[0]
    for v in vs:
        if v > out or math.isnan(out):
            out = v
    return out


def go_quantile(q, vs):
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(vs, key=lambda v: (not math.isnan(v), v))  # NaN sorts first (vectorByValueHeap)
    n = len(ordered)
    rank = q * (n - 1)
    lower = max(0, math.floor(rank))
    upper = min(n - 1, lower + 1)
    weight = rank - math.floor(rank)
    return ordered[lower] * (1 - weight) + ordered[upper] * weight


def go_stdvar(vs):
    count = mean = c_mean = aux = c_aux = 0.0
    for v in vs:
        count += 1
        delta = v - (mean + c_mean)
        mean, c_mean = kahan_inc(delta / count, mean, c_mean)
        aux, c_aux = kahan_inc(delta * (v - (mean + c_mean)), aux, c_aux)
    return (aux + c_aux) / count


OVER_TIME = {
    "avg": go_avg, "sum": go_sum, "min": go_min, "max": go_max, "count": lambda vs: float(len(vs)),
    "last": lambda vs: vs[-1], "present": lambda vs: 1.0, "stdvar": go_stdvar,
    "stddev": lambda vs: math.sqrt(go_stdvar(vs)),
}


def extrapolated_rate(points, range_start, range_end, range_seconds, *, is_counter, is_rate):
    """promql/functions.go ``extrapolatedRate`` of Prometheus 2.42 (float samples), times in µs."""
    if len(points) < 2:
        return None
    result = points[-1][1] - points[0][1]
    prev = points[0][1]
    for _, v in points[1:]:
        if not is_counter:
            continue
        if v < prev:
            result += prev
        prev = v
    duration_to_start = (points[0][0] - range_start) / US
    duration_to_end = (range_end - points[-1][0]) / US
    sampled = (points[-1][0] - points[0][0]) / US
    average = sampled / (len(points) - 1)
    if is_counter and result > 0 and points[0][1] >= 0:
        duration_to_zero = sampled * (points[0][1] / result)
        if duration_to_zero < duration_to_start:
            duration_to_start = duration_to_zero
    threshold = average * 1.1
    interval = sampled
    interval += duration_to_start if duration_to_start < threshold else average / 2
    interval += duration_to_end if duration_to_end < threshold else average / 2
    factor = interval / sampled
    if is_rate:
        factor /= range_seconds
    return result * factor


def instant_value(points, *, is_rate):
    """promql/functions.go ``instantValue`` (irate/idelta)."""
    if len(points) < 2:
        return None
    (t0, v0), (t1, v1) = points[-2], points[-1]
    result = v1 if is_rate and v1 < v0 else v1 - v0
    if t1 == t0:
        return None
    return result / ((t1 - t0) / US) if is_rate else result


def reference(series: SeriesSet, grid: Grid, fn) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``fn(times, values, t) -> float | None`` per series and instant."""
    values = np.full((series.n, grid.size), np.nan)
    present = np.zeros((series.n, grid.size), dtype=bool)
    for i in range(series.n):
        lo, hi = series.offsets[i], series.offsets[i + 1]
        times, vals = series.times[lo:hi].tolist(), series.values[lo:hi].tolist()
        for k, t in enumerate(grid.instants.tolist()):
            out = fn(times, vals, t)
            if out is not None:
                values[i, k], present[i, k] = out, True
    return values, present


def assert_same(got, expected_values, expected_present, *, exact=False):
    np.testing.assert_array_equal(got.present, expected_present)
    if exact:
        np.testing.assert_array_equal(got.values, expected_values)
    else:
        np.testing.assert_allclose(got.values, expected_values, rtol=1e-9, atol=1e-9, equal_nan=True)


# --------------------------------------------------------------------------------------------------
# Strategies.

@st.composite
def series_sets(draw, *, counters=False, specials=False):
    """1-3 series with sorted, distinct sample times on the 10s lattice (with gaps); a series may be
    empty, but not all of them (replay never builds a set without samples)."""
    times, values, offsets = [], [], [0]
    for i in range(draw(st.integers(1, 3))):
        ticks = sorted(draw(st.sets(st.integers(0, 90), min_size=int(i == 0), max_size=40)))
        if counters:
            steps = draw(st.lists(st.integers(0, 50), min_size=len(ticks), max_size=len(ticks)))
            resets = draw(st.lists(st.integers(0, 9), min_size=len(ticks), max_size=len(ticks)))
            start = float(draw(st.sampled_from([0, 3, 1000])))
            level, vals = start, []
            for inc, reset in zip(steps, resets, strict=True):
                level = float(inc) if reset == 0 else level + inc   # ~10% of samples are a reset
                vals.append(level)
        else:
            element = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
            if specials:
                element = st.one_of(element, st.sampled_from([math.nan, math.inf, -math.inf]))
            vals = draw(st.lists(st.one_of(st.integers(-5, 20).map(float), element),
                                 min_size=len(ticks), max_size=len(ticks)))
        times += [t * S for t in ticks]
        values += vals
        offsets.append(len(times))
    return SeriesSet.from_arrays(np.array(times, dtype=np.int64), np.array(values, dtype=np.float64),
                                 np.array(offsets, dtype=np.int64))


grids = st.builds(lambda start, step, size: Grid(t0=start * S, step=step * US, size=size),
                  st.integers(0, 60), st.sampled_from([10, 30, 60]), st.integers(0, 40))
widths = st.sampled_from([10, 30, 60, 90, 120, 300]).map(lambda s: s * US)
offsets = st.sampled_from([0, 0, 60 * US])


# --------------------------------------------------------------------------------------------------
# Instant selection.

@settings(max_examples=200, deadline=None)
@given(series=series_sets(), grid=grids, lookback=st.sampled_from([30, 60, 300]).map(lambda s: s * US),
       offset=offsets, left_open=st.booleans())
def test_instant_is_newest_sample_within_lookback(series, grid, lookback, offset, left_open):
    got = instant(series, grid, lookback=lookback, offset=offset, left_open=left_open)
    expected = reference(series, grid, lambda ts, vs, t: select_instant(
        ts, vs, t - offset, lookback=lookback, left_open=left_open))
    assert_same(got, *expected, exact=True)


@pytest.mark.parametrize(("age_s", "left_open", "present"), [
    (0, False, True), (299, False, True), (300, False, True), (301, False, False),
    (0, True, True), (299, True, True), (300, True, False),
])
def test_lookback_edge(age_s, left_open, present):
    """A sample exactly 5 minutes old is visible in Prometheus 2.x (closed), not in 3.x (left-open)."""
    series = SeriesSet.from_arrays(np.array([0]), np.array([7.0]))
    grid = Grid(t0=age_s * US, step=60 * US, size=1)
    got = instant(series, grid, left_open=left_open)
    assert got.present.tolist() == [[present]]
    assert got.values[0, 0] == 7.0 if present else np.isnan(got.values[0, 0])


def test_regular_series_fast_path():
    """One sample per series at every instant: the values themselves, as the reference selects them."""
    times = np.tile(np.arange(5) * 60 * US, 2)
    series = SeriesSet.from_arrays(times, np.arange(10.0), np.array([0, 5, 10]))
    grid = Grid(t0=0, step=60 * US, size=5)
    assert series.regular_on(grid)
    expected = reference(series, grid, lambda ts, vs, t: select_instant(ts, vs, t, lookback=300 * US,
                                                                          left_open=False))
    assert_same(instant(series, grid), *expected, exact=True)
    np.testing.assert_array_equal(instant(series, grid).values, [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]])


# --------------------------------------------------------------------------------------------------
# Range functions.

@settings(max_examples=300, deadline=None)
@given(series=series_sets(), grid=grids, width=widths, offset=offsets, left_open=st.booleans(),
       fn=st.sampled_from(sorted(OVER_TIME)))
def test_over_time_matches_prometheus(series, grid, width, offset, left_open, fn):
    got = over_time(series, grid, fn, width, offset=offset, left_open=left_open)

    def one(ts, vs, t):
        points = select_range(ts, vs, t - offset, width, left_open=left_open)
        return OVER_TIME[fn]([v for _, v in points]) if points else None

    expected = reference(series, grid, one)
    assert_same(got, *expected, exact=fn in ("min", "max", "count", "last", "present"))


@settings(max_examples=150, deadline=None)
@given(series=series_sets(), grid=grids, width=widths, q=st.sampled_from([-0.5, 0.0, 0.25, 0.5, 0.9, 1.0, 2.0]))
def test_quantile_over_time_matches_prometheus(series, grid, width, q):
    got = over_time(series, grid, "quantile", width, q=q)

    def one(ts, vs, t):
        points = select_range(ts, vs, t, width, left_open=False)
        return go_quantile(q, [v for _, v in points]) if points else None

    assert_same(got, *reference(series, grid, one))


@settings(max_examples=200, deadline=None)
@given(series=series_sets(specials=True), grid=grids, width=widths,
       fn=st.sampled_from(["avg", "sum", "min", "max", "stddev", "stdvar"]))
def test_over_time_with_nan_and_infinities(series, grid, width, fn):
    """NaN and ±Inf samples: min/max skip NaN unless the window holds only NaN; sums propagate."""
    got = over_time(series, grid, fn, width)

    def one(ts, vs, t):
        points = select_range(ts, vs, t, width, left_open=False)
        return OVER_TIME[fn]([v for _, v in points]) if points else None

    assert_same(got, *reference(series, grid, one))


@settings(max_examples=300, deadline=None)
@given(series=series_sets(counters=True), grid=grids, width=widths, offset=offsets,
       left_open=st.booleans(), kind=st.sampled_from(["rate", "increase", "delta"]))
def test_rate_increase_delta_match_extrapolated_rate(series, grid, width, offset, left_open, kind):
    """Counter resets, extrapolation to the window edges and the zero-point clamp, as in 2.42."""
    got = extrapolated(series, grid, width, kind=kind, offset=offset, left_open=left_open)

    def one(ts, vs, t):
        end = t - offset
        points = select_range(ts, vs, end, width, left_open=left_open)
        return extrapolated_rate(points, end - width, end, width / US, is_counter=kind != "delta",
                                 is_rate=kind == "rate")

    assert_same(got, *reference(series, grid, one))


@settings(max_examples=150, deadline=None)
@given(series=series_sets(counters=True), grid=grids, width=widths, kind=st.sampled_from(["irate", "idelta"]))
def test_irate_idelta_match_instant_value(series, grid, width, kind):
    got = irate(series, grid, width, kind=kind)

    def one(ts, vs, t):
        return instant_value(select_range(ts, vs, t, width, left_open=False), is_rate=kind == "irate")

    assert_same(got, *reference(series, grid, one))


@pytest.mark.parametrize(("values", "kind", "expected"), [
    # 1m scrapes, [5m] window at t=5m holds 6 samples from t=0: no extrapolation needed.
    ([0, 60, 120, 180, 240, 300], "increase", 300.0),
    ([0, 60, 120, 180, 240, 300], "rate", 1.0),
    # a reset: 200 -> 10 adds the 200 seen before the drop.
    ([100, 150, 200, 10, 60, 110], "increase", 210.0),                    # 110 - 100 + 200
    ([5, 4, 3, 2, 1, 0], "delta", -5.0),
])
def test_rate_hand_computed(values, kind, expected):
    series = SeriesSet.from_arrays(np.arange(6) * 60 * US, np.array(values, dtype=float))
    got = extrapolated(series, Grid(t0=300 * US, step=60 * US, size=1), 300 * US, kind=kind)
    assert got.values[0, 0] == pytest.approx(expected)


def test_increase_extrapolates_to_the_window_edges():
    """Samples at 30s..270s in a [5m] window ending at 300s: the 240s of data are stretched by 30s at each
    end (less than 1.1 sample intervals away), so increase = 8 × 300/240 = 10 — but a counter starting
    at 0 is only extrapolated back to its zero point (here the first sample, 0 s back)."""
    series = SeriesSet.from_arrays(np.arange(30, 300, 60) * US, np.array([2.0, 4, 6, 8, 10]))
    grid = Grid(t0=300 * US, step=60 * US, size=1)
    assert extrapolated(series, grid, 300 * US, kind="increase").values[0, 0] == pytest.approx(10.0)
    zero = SeriesSet.from_arrays(np.arange(30, 300, 60) * US, np.array([0.0, 2, 4, 6, 8]))
    assert extrapolated(zero, grid, 300 * US, kind="increase").values[0, 0] == pytest.approx(8 * 270 / 240)


# --------------------------------------------------------------------------------------------------
# Exact answers where Prometheus' arithmetic is exact: alerts compare these with `<`, `==`, `> 0`.

@pytest.mark.parametrize(("fn", "value", "expected"), [
    ("avg", 1.0, 1.0),        # avg_over_time(up[5m]) < 1 must not fire while up == 1
    ("sum", 0.0, 0.0),        # sum_over_time(errors[5m]) > 0 must not fire on zeros
    ("stddev", 0.1, 0.0),     # stddev_over_time(x[5m]) == 0: flat-line detection
    ("stdvar", 0.1, 0.0),
    ("avg", 0.1, 0.1),
])
def test_constant_window_is_exact(fn, value, expected):
    """A window of equal samples has exactly that average and zero spread, however different the rest of
    the series is (the prefix sums behind the vectorised windows must not leak rounding into it)."""
    rng = np.random.default_rng(3)
    head = rng.uniform(0, 50, 40)
    values = np.concatenate([head, np.full(30, value), rng.uniform(0, 50, 10), np.full(12, value)])
    series = SeriesSet.from_arrays(np.arange(len(values)) * 15 * US, values)
    grid = Grid(t0=0, step=15 * US, size=len(values))
    got = over_time(series, grid, fn, 150 * US).values[0]   # 11 samples per window
    flat = [k for k in range(10, len(values)) if np.all(values[k - 10:k + 1] == value)]
    assert len(flat) >= 20
    assert got[flat].tolist() == [expected] * len(flat)


def test_integer_samples_give_exact_sums():
    """Integer-valued gauges (restarts, queue lengths) sum exactly, as Prometheus' Kahan sum does, so
    ``sum_over_time(restarts[10m]) >= 3`` sees exactly 3."""
    rng = np.random.default_rng(5)
    values = rng.integers(0, 3, 500).astype(float) * (rng.random(500) < 0.3)
    series = SeriesSet.from_arrays(np.arange(500) * 60 * US, values)
    grid = Grid(t0=0, step=60 * US, size=500)
    got = over_time(series, grid, "sum", 600 * US).values[0]
    expected = [values[max(0, k - 10):k + 1].sum() for k in range(500)]
    assert got.tolist() == expected


@pytest.mark.parametrize(("op", "value", "expected"), [
    (">", 1.0, [False, False, True, False]),
    (">=", 1.0, [False, True, True, False]),
    ("<", 1.0, [True, False, False, False]),
    ("<=", 1.0, [True, True, False, False]),
    ("==", 1.0, [False, True, False, False]),
    ("!=", 1.0, [True, False, True, True]),      # NaN != x is true, as in Go
])
def test_compare_uses_go_float_semantics(op, value, expected):
    assert compare(np.array([0.0, 1.0, 2.0, np.nan]), op, value).tolist() == expected


def test_irate_of_a_lone_sample_is_absent():
    """A selection holding a single sample in all has no rate (and must not index a second sample)."""
    series = SeriesSet.from_arrays(np.array([0]), np.array([5.0]))
    for kind in ("irate", "idelta"):
        got = irate(series, Grid(t0=0, step=60 * US, size=3), 300 * US, kind=kind)  # type: ignore[arg-type]
        assert not got.present.any()
        assert np.isnan(got.values).all()
