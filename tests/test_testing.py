"""The Prometheus harness: Metrics → OpenMetrics → promtool backfill → prometheus → query_range.

The first half needs no binary (the OpenMetrics text and the query chunking); the second half starts
one real Prometheus for the module and checks query_range against hand-computed values.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from alertsim.errors import AlertsimError, InputError
from alertsim.series import prepare
from alertsim.series.over_time import over_time
from alertsim.series.vectors import Grid, instant
from alertsim.testing import (
    MAX_POINTS_PER_QUERY,
    openmetrics_text,
    range_query_params,
    start_prometheus,
    write_openmetrics,
)
from tests.conftest import require_binary

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def metrics(rows: list[tuple[int, str, float, dict[str, str]]]) -> pl.DataFrame:
    """A Metrics frame from (minute, metric, value, labels) rows."""
    labels = sorted({k for *_, lbl in rows for k in lbl})
    return pl.DataFrame({
        "timestamp": [T0 + m * MINUTE for m, *_ in rows],
        "metric": [name for _, name, *_ in rows],
        "value": [float(v) for _, _, v, _ in rows],
        **{k: [lbl.get(k) for *_, lbl in rows] for k in labels},
    }, schema_overrides={"timestamp": pl.Datetime("us", "UTC")})


# --------------------------------------------------------------------------------------------------
# OpenMetrics text (no binary needed).

SECONDS = int(T0.timestamp())


@pytest.mark.parametrize(("value", "text"), [
    (0.5, "0.5"),
    (1 / 3, "0.3333333333333333"),
    (1e20, "1e+20"),
    (-2.0, "-2.0"),
    (float("nan"), "NaN"),
    (float("inf"), "+Inf"),
    (float("-inf"), "-Inf"),
])
def test_values_are_written_so_they_read_back_exactly(value: float, text: str) -> None:
    frame = metrics([(0, "cpu", value, {})])
    assert openmetrics_text(frame) == f"cpu {text} {SECONDS}.000\n# EOF\n"


@pytest.mark.parametrize(("labels", "series"), [
    ({}, "cpu"),
    ({"host": "a"}, 'cpu{host="a"}'),
    ({"b": "2", "a": "1"}, 'cpu{a="1",b="2"}'),
    ({"host": ""}, "cpu"),                                  # an empty label is an absent label
    ({"host": 'say "hi"\\now\n'}, 'cpu{host="say \\"hi\\"\\\\now\\n"}'),
])
def test_series_are_named_prometheus_style(labels: dict[str, str], series: str) -> None:
    assert openmetrics_text(metrics([(0, "cpu", 1.0, labels)])).splitlines()[0].rsplit(" ", 2)[0] == series


def test_series_are_written_one_after_another_each_in_time_order(tmp_path) -> None:
    frame = metrics([(2, "cpu", 3, {"host": "b"}), (1, "cpu", 2, {"host": "a"}),
                     (0, "cpu", 1, {"host": "b"}), (0, "cpu", 0, {"host": "a"})])
    path = write_openmetrics(frame, tmp_path / "m.om")
    assert path.read_text().splitlines() == [
        f'cpu{{host="a"}} 0.0 {SECONDS}.000',
        f'cpu{{host="a"}} 2.0 {SECONDS + 60}.000',
        f'cpu{{host="b"}} 1.0 {SECONDS}.000',
        f'cpu{{host="b"}} 3.0 {SECONDS + 120}.000',
        "# EOF",
    ]


def test_milliseconds_are_kept_and_microseconds_are_refused() -> None:
    frame = metrics([(0, "cpu", 1.0, {})])
    shifted = frame.with_columns(pl.col("timestamp") + dt.timedelta(milliseconds=7))
    assert openmetrics_text(shifted).startswith(f"cpu 1.0 {SECONDS}.007\n")
    with pytest.raises(InputError, match="sub-millisecond"):
        openmetrics_text(frame.with_columns(pl.col("timestamp") + dt.timedelta(microseconds=1)))


@pytest.mark.parametrize(("frame", "message"), [
    (metrics([(0, "cpu-usage", 1.0, {})]), "invalid metric name 'cpu-usage'"),
    (pl.DataFrame({"metric": ["cpu"], "value": [1.0]}), "missing column"),
])
def test_frames_that_cannot_be_written_are_input_errors(frame: pl.DataFrame, message: str) -> None:
    with pytest.raises(InputError, match=message):
        openmetrics_text(frame)


@pytest.mark.parametrize(("points", "chunks"), [
    (1, 1),
    (MAX_POINTS_PER_QUERY, 1),
    (MAX_POINTS_PER_QUERY + 1, 2),
    (2 * MAX_POINTS_PER_QUERY + 5, 3),
])
def test_long_ranges_are_split_into_chunks_that_cover_every_instant_once(points: int, chunks: int) -> None:
    params = range_query_params("up", T0, T0 + (points - 1) * MINUTE, "1m")
    assert len(params) == chunks
    covered = [s for p in params
               for s in range(int(float(p["start"])), int(float(p["end"])) + 1, 60)]
    assert covered == [SECONDS + 60 * k for k in range(points)]
    assert all(p["step"] == "60.000" and p["timeout"] == "600.000" for p in params)


# --------------------------------------------------------------------------------------------------
# Against a real Prometheus (Debian's package).

GAUGE = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]          # minutes 0..9; then nothing (lookback test)
COUNTER = [0, 60, 120, 180, 240, 30, 90, 150]   # +60 per minute with a reset at minute 5


@pytest.fixture(scope="module")
def server():
    require_binary("prometheus", package="prometheus")
    require_binary("promtool", package="prometheus")
    rows = [(m, "cpu", v, {"host": "a", "service": "checkout"}) for m, v in enumerate(GAUGE)]
    rows += [(m, "cpu", 10 * v, {"host": "b"}) for m, v in enumerate(GAUGE)]
    rows += [(m, "requests_total", v, {"host": "a"}) for m, v in enumerate(COUNTER)]
    rows += [(0, "odd", math.nan, {}), (1, "odd", math.inf, {}), (2, "odd", -math.inf, {})]
    with start_prometheus(metrics(rows)) as prometheus:
        yield prometheus


def values(frame: pl.DataFrame, **labels: str) -> list[float]:
    for name, value in labels.items():
        frame = frame.filter(pl.col(name) == value)
    return frame["value"].to_list()


def minutes(frame: pl.DataFrame) -> list[int]:
    return [int((t - T0) / MINUTE) for t in frame["timestamp"]]


@pytest.mark.prometheus
def test_an_instant_selector_returns_the_backfilled_samples_with_their_labels(server) -> None:
    frame = server.query_range("cpu", T0, T0 + 9 * MINUTE, "1m")
    assert frame.columns == ["timestamp", "metric", "value", "host", "service"]
    assert frame.schema["timestamp"] == pl.Datetime("us", "UTC")
    assert values(frame, host="a") == GAUGE
    assert values(frame, host="b") == [10.0 * v for v in GAUGE]
    assert frame.filter(pl.col("host") == "b")["service"].null_count() == 10   # absent label → null
    assert frame["metric"].unique().to_list() == ["cpu"]


@pytest.mark.prometheus
def test_the_last_sample_stays_visible_for_the_closed_five_minute_lookback(server) -> None:
    # Last sample at 9m: visible at 9m..14m (2.x's lookback is closed at 5m), gone at 15m.
    frame = server.query_range('cpu{host="a"}', T0 + 9 * MINUTE, T0 + 20 * MINUTE, "1m")
    assert minutes(frame) == [9, 10, 11, 12, 13, 14]
    assert set(frame["value"]) == {9.0}


@pytest.mark.prometheus
@pytest.mark.parametrize(("expr", "at_minute", "expected"), [
    # Samples 0..240 in [-1m, 4m]; the first is 0, so extrapolation stops there: 240 / 300 s.
    ("rate(requests_total[5m])", 4, 0.8),
    ("increase(requests_total[2m])", 3, 120.0),
    # 240, 30, 90: the drop is a counter reset, counted as +30 (from zero), then +60.
    ("increase(requests_total[2m])", 6, 90.0),
    ("avg_over_time(cpu{host=\"a\"}[4m])", 9, 7.0),   # (5+6+7+8+9)/5: both ends included
    ("max_over_time(cpu{host=\"b\"}[3m])", 5, 50.0),
    ("sum(cpu)", 2, 22.0),
    ("count(cpu > 4)", 6, 2.0),
])
def test_functions_and_aggregations_match_hand_computed_values(server, expr, at_minute, expected) -> None:
    at = T0 + at_minute * MINUTE
    frame = server.query_range(expr, at, at, "1m")
    assert frame.height == 1
    assert frame["value"][0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.prometheus
def test_nan_and_infinities_survive_the_round_trip(server) -> None:
    frame = server.query_range("odd", T0, T0 + 2 * MINUTE, "1m")
    got = frame["value"].to_list()
    assert math.isnan(got[0]) and got[1:] == [math.inf, -math.inf]
    assert frame.columns == ["timestamp", "metric", "value"]


@pytest.mark.prometheus
def test_ranges_longer_than_prometheus_allows_come_back_whole(server) -> None:
    # 12,001 one-second steps over minutes 0..200: more than one query's worth, one frame.
    end = T0 + dt.timedelta(seconds=12_000)
    frame = server.query_range('cpu{host="a"}', T0, end, "1s")
    assert frame.height == 9 * 60 + 1 + 5 * 60          # samples 0..9m, then the 5m lookback
    assert frame["timestamp"].is_sorted() and frame["timestamp"].n_unique() == frame.height


@pytest.mark.prometheus
def test_an_expression_without_results_gives_an_empty_frame(server) -> None:
    frame = server.query_range("nothing_here", T0, T0 + MINUTE, "1m")
    assert frame.height == 0
    assert frame.columns == ["timestamp", "metric", "value"]


@pytest.mark.prometheus
def test_a_rejected_query_names_prometheus_error(server) -> None:
    with pytest.raises(AlertsimError, match=r"bad_data: .*parse error"):
        server.query_range("rate(cpu)", T0, T0 + MINUTE, "1m")


@pytest.mark.prometheus
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_alertsim_selection_agrees_with_prometheus_on_gappy_data(seed: int) -> None:
    """The harness' purpose: the same data through alertsim and through Prometheus agree exactly."""
    require_binary("prometheus", package="prometheus")
    require_binary("promtool", package="prometheus")
    rng = np.random.default_rng(seed)
    kept = np.flatnonzero(rng.random(240) > 0.3)                        # gaps of random length
    seconds = kept * 30 + rng.integers(0, 30, len(kept))               # off-grid scrape times
    start_us = int(T0.timestamp()) * 1_000_000
    frame = pl.DataFrame({
        "timestamp": pl.Series(start_us + seconds * 1_000_000).cast(pl.Datetime("us", "UTC")),
        "metric": "latency",
        "value": rng.normal(100, 20, len(kept)).round(3),
    })
    grid = Grid.covering(start_us, start_us + 130 * 60_000_000, 60_000_000)
    data = prepare(frame).data
    ours = {"latency": instant(data, grid),
            "avg_over_time(latency[3m])": over_time(data, grid, "avg", 180_000_000),
            "max_over_time(latency[2m])": over_time(data, grid, "max", 120_000_000)}
    end = T0 + (grid.size - 1) * MINUTE
    with start_prometheus(frame) as prometheus:
        for expr, vector in ours.items():
            theirs = prometheus.query_range(expr, T0, end, "1m")
            at = np.array([int((t - T0) / MINUTE) for t in theirs["timestamp"]], dtype=np.int64)
            assert sorted(at.tolist()) == np.flatnonzero(vector.present[0]).tolist(), expr
            np.testing.assert_allclose(theirs["value"].to_numpy(), vector.values[0, at], rtol=1e-12,
                                       err_msg=expr)
