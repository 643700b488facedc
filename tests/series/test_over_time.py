"""``alertsim.series.over_time``: one ``*_over_time`` implementation for native rules and PromQL.

Compensated prefix sums give the correctly rounded window sum (``math.fsum``) whatever the history before
the window; PromQL's rounding is Prometheus' own loops; a native rule and its PromQL twin agree where
Prometheus' rounding is the correctly rounded one (``sum``), and both follow Prometheus' semantics for
NaN, infinities and quantiles.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from alertsim.promql.engine import Store, Vector, evaluate
from alertsim.series import over_time as ot
from alertsim.series.over_time import compensated_prefix, over_time, window_sums, window_values
from alertsim.series.vectors import Grid, SeriesSet

MIN = 60_000_000


def _windows(n: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trailing windows of ``width`` samples over one series of ``n`` samples."""
    hi = np.arange(n)
    lo = np.maximum(hi - width + 1, 0)
    return lo, hi, hi - lo + 1


@pytest.mark.parametrize(("name", "values"), [
    ("two-decimal gauge", np.round(np.random.default_rng(1).normal(50, 10, 3000), 2)),
    ("large counter, long history", np.cumsum(np.random.default_rng(2).poisson(1e6, 3000)) * 1.0 + 1e12),
    ("cancellation", np.tile([1e16, 1.0, -1e16, 0.5], 500)),
    ("tenths", np.full(3000, 0.1)),
    ("mixed magnitudes", np.random.default_rng(3).standard_normal(3000) * 10.0 ** np.arange(-9, 21, 0.01)),
])
@pytest.mark.parametrize("width", [1, 7, 60, 1440])
def test_window_sums_are_correctly_rounded(name: str, values: np.ndarray, width: int) -> None:
    lo, hi, _ = _windows(len(values), width)
    got = window_sums(*compensated_prefix(values), lo, hi + 1)
    expected = [math.fsum(values[a:b + 1]) for a, b in zip(lo, hi, strict=True)]
    if name == "mixed magnitudes":  # exact ties occur at these scales: at most one unit in the last place
        np.testing.assert_array_max_ulp(got, np.array(expected), maxulp=1)
    else:
        np.testing.assert_array_equal(got, expected, err_msg=name)


def _promql(fn: str, series: SeriesSet, grid: Grid, width: str) -> np.ndarray:
    store = Store.from_series([(("__name__", "x"),)], series)
    out = evaluate(f"{fn}_over_time(x[{width}])", store, grid)
    assert isinstance(out, Vector)
    return out.values[0]


def test_native_sum_equals_promql_sum_over_time_to_the_bit() -> None:
    """Prometheus' Kahan sum and the compensated prefix sum are both the correctly rounded sum here."""
    rng = np.random.default_rng(5)
    n = 5000
    series = SeriesSet.from_arrays(np.arange(n) * MIN, np.round(rng.normal(50, 10, n), 2))
    grid = Grid(t0=0, step=MIN, size=n)
    for minutes in (5, 60):
        native = over_time(series, grid, "sum", minutes * MIN).values[0]
        np.testing.assert_array_equal(native, _promql("sum", series, grid, f"{minutes}m"))


def test_avg_at_a_threshold_is_what_prometheus_computes() -> None:
    """The sample's SustainedCPU window: its mean is exactly 80, as Prometheus' avg_over_time says, so
    ``> 80`` does not fire (plain prefix sums gave 80.00000000000001 and an alert Prometheus never sent)."""
    values = np.array([76.72, 78.01, 79.24, 80.68, 82.23, 83.12])
    series = SeriesSet.from_arrays(np.arange(6) * MIN, values)
    grid = Grid(t0=5 * MIN, step=MIN, size=1)
    assert over_time(series, grid, "avg", 5 * MIN).values[0, 0] == 80.0
    assert _promql("avg", series, grid, "5m")[0] == 80.0


@pytest.mark.parametrize(("values", "q", "expected"), [
    ([3.0, np.nan, 1.0, 2.0], 0.0, np.nan),          # NaN sorts first, as in Prometheus
    ([3.0, np.nan, 1.0, 2.0], 1 / 3, 1.0),           # ranks: NaN, 1, 2, 3
    ([3.0, np.nan, 1.0, 2.0], 1.0, 3.0),
    ([1.0, 2.0, np.inf], 0.5, np.nan),               # 2·(1 − 0) + Inf·0 = NaN, Prometheus' arithmetic
    ([1.0, 2.0, 4.0], 0.75, 3.0),
    ([1.0, 2.0, 4.0], -0.5, -np.inf),
    ([1.0, 2.0, 4.0], 1.5, np.inf),
])
def test_quantile_follows_prometheus_for_native_and_promql(values: list[float], q: float, expected: float
                                                           ) -> None:
    series = SeriesSet.from_arrays(np.arange(len(values)) * MIN, np.array(values))
    grid = Grid(t0=(len(values) - 1) * MIN, step=MIN, size=1)
    native = over_time(series, grid, "quantile", 10 * MIN, q=q).values[0, 0]
    store = Store.from_series([(("__name__", "x"),)], series)
    promql = evaluate(f"quantile_over_time({q}, x[10m])", store, grid)
    assert isinstance(promql, Vector)
    np.testing.assert_array_equal([native, promql.values[0, 0]], [expected, expected])


@pytest.mark.parametrize("fn", ["sum", "avg", "stddev", "stdvar"])
def test_windows_beyond_the_budget_agree_with_prometheus_loops(fn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """PromQL windows too long to add one sample at a time use the compensated prefix sums: within 1e-12
    of Prometheus' loops; NaN and infinities give Prometheus' answers, a constant window no spread."""
    rng = np.random.default_rng(9)
    n = 3000
    values = np.round(rng.normal(1e4, 3, n), 1)
    values[1000:1100] = 7.0
    values[[2000, 2500]] = [np.nan, np.inf]
    lo, hi, count = _windows(n, 90)
    exact = window_values(values, lo, hi, count, fn, rounding="prometheus")
    monkeypatch.setattr(ot, "EXACT_BUDGET", 0)
    fast = window_values(values, lo, hi, count, fn, rounding="prometheus")
    np.testing.assert_array_equal(np.isnan(exact), np.isnan(fast))
    np.testing.assert_allclose(fast, exact, rtol=1e-12, atol=1e-12 * (1 if fn.startswith("std") else 0))
    if fn.startswith("std"):
        assert (fast[1089:1100] == 0).all()


@pytest.mark.parametrize("fn", ["sum", "avg", "min", "max", "count", "last", "present", "stddev", "stdvar"])
def test_no_samples(fn: str) -> None:
    series = SeriesSet.from_arrays(np.array([], dtype=np.int64), np.array([]))
    got = over_time(series, Grid(t0=0, step=MIN, size=3), fn, 5 * MIN)  # type: ignore[arg-type]
    assert not got.present.any() and np.isnan(got.values).all()
