"""PromQL behaviour the differential tests cannot reach through Debian's Prometheus 2.42: quoted UTF-8
metric and label names (Prometheus 3 syntax, checked against its documented meaning), Go's template
expansion in label_replace, Go's float formatting in count_values, Prometheus' heap on topk ties and
subquery steps inside rule files."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alertsim.promql.engine import Store, Vector, evaluate, format_value, heap_select
from alertsim.series.vectors import Grid, SeriesSet

MIN = 60_000_000


def store(series: dict[tuple[tuple[str, str], ...], list[float]]) -> Store:
    """Series sampled every minute from t=0."""
    labels = list(series)
    values = [np.asarray(v, dtype=float) for v in series.values()]
    times = np.concatenate([np.arange(len(v)) * MIN for v in values])
    offsets = np.concatenate(([0], np.cumsum([len(v) for v in values])))
    return Store.from_series(labels, SeriesSet.from_arrays(times, np.concatenate(values), offsets))


def at(expr: str, data: Store, minute: int) -> dict[tuple[tuple[str, str], ...], float]:
    value = evaluate(expr, data, Grid(t0=minute * MIN, step=MIN, size=1))
    assert isinstance(value, Vector)
    return {lbl: float(value.values[i, 0]) for i, lbl in enumerate(value.labels) if value.present[i, 0]}


UTF8 = store({
    (("__name__", "http.server.duration"), ("service.name", "api")): [1, 2, 3],
    (("__name__", "http.server.duration"), ("service.name", "web")): [4, 5, 6],
    (("__name__", "workload.googleapis.com/requests"), ("job", "x")): [7, 8, 9],
})


@pytest.mark.parametrize(("expr", "expected"), [
    ('{"http.server.duration"}', {"api": 3.0, "web": 6.0}),
    ('{"http.server.duration", "service.name"="web"}', {"web": 6.0}),
    ('{"service.name"=~"a.*", __name__="http.server.duration"}', {"api": 3.0}),
    ('sum by ("service.name") ({"http.server.duration"})', {"api": 3.0, "web": 6.0}),
    ('{"http.server.duration"} + on("service.name") {"http.server.duration"}', {"api": 6.0, "web": 12.0}),
])
def test_quoted_utf8_names_select_as_prometheus_3_documents(expr: str, expected: dict[str, float]) -> None:
    got = at(expr, UTF8, 2)
    assert {dict(lbl)["service.name"]: v for lbl, v in got.items()} == expected


def test_quoted_metric_name_with_a_slash() -> None:
    assert list(at('rate({"workload.googleapis.com/requests"}[2m])', UTF8, 2).values()) == [1 / 60]


LABELS = store({(("__name__", "m"), ("a", "x-1"), ("b", "")): [1.0]})


@pytest.mark.parametrize(("replacement", "regex", "expected"), [
    ("$1", "x-(.*)", "1"),
    ("${1}y", "x-(.*)", "1y"),
    ("$1y", "x-(.*)", None),         # Go reads the group name `1y`, which does not exist
    ("$$1", "x-(.*)", "$1"),
    ("$name!", "(?P<name>x)-.*", "x!"),
    ("v", "x", "x-1"),               # anchored: `x` does not match `x-1`, the series is unchanged
    ("v", "x-1|y", "v"),
    ("", ".*", None),                # an empty result removes the label
    ("$2", "(x)", "x-1"),            # no match at all: unchanged
])
def test_label_replace_expands_like_go(replacement: str, regex: str, expected: str | None) -> None:
    dst = "a" if expected == "x-1" else "dst"
    (labels,) = at(f'label_replace(m, "{dst}", "{replacement}", "a", "{regex}")', LABELS, 0)
    assert dict(labels).get(dst) == expected


@pytest.mark.parametrize(("value", "text"), [
    (1.0, "1"), (0.1, "0.1"), (1e21, "1000000000000000000000"), (1e-7, "0.0000001"), (-0.0, "-0"),
    (math.nan, "NaN"), (math.inf, "+Inf"), (-math.inf, "-Inf"), (2 / 3, "0.6666666666666666"),
])
def test_count_values_formats_values_as_go(value: float, text: str) -> None:
    assert format_value(value) == text


def test_topk_ties_follow_prometheus_heap() -> None:
    values = np.array([1.0, 1.0, 1.0, math.nan, 2.0])
    # A bounded min-heap fed in input order: ties keep the earlier series, NaN is always replaced.
    assert sorted(heap_select([0, 1, 2], values, 2, top=True)) == [0, 1]
    assert sorted(heap_select([3, 0, 1], values, 2, top=True)) == [0, 1]
    assert sorted(heap_select([0, 3, 4], values, 1, top=False)) == [0]
    data = store({(("__name__", "up"), ("i", str(i))): [1.0] for i in range(4)})
    assert sorted(dict(lbl)["i"] for lbl in at("topk(2, up)", data, 0)) == ["0", "1"]


def test_subquery_without_step_uses_the_evaluation_interval() -> None:
    counter = store({(("__name__", "c"),): list(np.arange(60) ** 2)})
    grid = Grid(t0=30 * MIN, step=MIN, size=1)
    every_minute = evaluate("count_over_time(c[10m:])", counter, grid)
    every_five = evaluate("count_over_time(c[10m:])", counter, grid, subquery_step=5 * MIN)
    assert isinstance(every_minute, Vector) and isinstance(every_five, Vector)
    assert (every_minute.values[0, 0], every_five.values[0, 0]) == (11.0, 3.0)  # both ends closed (2.x)
    offset = evaluate("last_over_time(c[10m:7m] offset 3m)", counter, grid)
    assert isinstance(offset, Vector)  # instants at multiples of 7m: 21m is the last ≤ 27m
    assert offset.values[0, 0] == 21.0 ** 2


@pytest.mark.parametrize("expr", ["deriv(c[1h])", "predict_linear(c[1h], 3600)",
                                  "predict_linear(c[30m] offset 7m, -600)"])
def test_long_windows_regress_like_the_sequential_sums(expr: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows too long to add sample by sample use prefix sums; they agree with Prometheus' Kahan
    sums to 1e-9 of the series' scale, NaN samples included."""
    import alertsim.promql.engine as engine

    rng = np.random.default_rng(1)
    n = 2000
    t = np.sort(rng.choice(np.arange(0, n * 15_000, 1), n, replace=False)) * 1000 + 1_700_000_000_000_000
    counter = np.cumsum(rng.normal(0, 1, n)) * 1e6 + 5e9
    gauge = np.round(rng.normal(50, 5, n), 1)
    gauge[100] = np.nan
    data = SeriesSet.from_arrays(np.concatenate([t, t]), np.concatenate([counter, gauge]), np.array([0, n, 2 * n]))
    labels = [(("__name__", "c"), ("i", "0")), (("__name__", "c"), ("i", "1"))]
    grid = Grid(t0=1_700_000_000_000_000 + 3600 * 1_000_000, step=MIN, size=400)
    exact = evaluate(expr, Store.from_series(labels, data), grid)
    monkeypatch.setattr(engine, "EXACT_BUDGET", 0)
    fast = evaluate(expr, Store.from_series(labels, data), grid)
    assert isinstance(exact, Vector) and isinstance(fast, Vector)
    assert (exact.present == fast.present).all()
    for row in range(2):
        scale = np.nanmax(np.abs(exact.values[row]))
        assert np.nanmax(np.abs(exact.values[row] - fast.values[row])) <= 1e-9 * scale
