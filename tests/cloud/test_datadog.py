"""Datadog metric monitors: the documented examples (time aggregations, recovery thresholds, evaluation
frequency, evaluation_delay, require_full_window, missing data) and the monitor JSON."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from alertsim.errors import ConfigError
from alertsim.replay import replay
from alertsim.rules import load_rules
from alertsim.rules.datadog import DatadogMonitor, parse_datadog
from tests.cloud.helpers import metrics, one, spans

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "datadog"


def monitor(query: str, **options: Any) -> dict[str, Any]:
    return {"name": "M", "type": "metric alert", "query": query, "options": options}


def run(document: dict[str, Any], frame: Any, status: str | None = None, **kwargs: Any
        ) -> list[tuple[float, float | None]]:
    alerts = replay(frame, parse_datadog(document), **kwargs).alerts
    if status is None:
        alerts = alerts.filter(~alerts["labels"].str.contains("datadog_status"))
    else:
        alerts = alerts.filter(alerts["labels"].str.contains(f'"datadog_status": "{status}"'))
    return spans(alerts)


def test_the_api_example_parses() -> None:
    (parsed,) = parse_datadog(monitor("avg(last_5m):avg:system.cpu.user{host:foo} > 90"))
    assert (parsed.metric, dict(parsed.tags), parsed.time_aggregation, parsed.space_aggregation) == (
        "system.cpu.user", {"host": "foo"}, "avg", "avg")
    assert (parsed.window, parsed.op, parsed.critical, parsed.by) == (timedelta(minutes=5), ">", 90.0, ())


# Five one-minute points in the window at minute 5: 80, 95, 85, 90, 100 (then quiet).
POINTS = [0.0, 80, 95, 85, 90, 100, 0, 0, 0, 0, 0, 0]


@pytest.mark.parametrize(("aggregation", "op", "threshold", "alerting_at_4"), [
    # "average: The series is averaged": (80+95+85+90+100)/5 = 90, not > 90.
    ("avg", ">", 90, False),
    # "max: If any single value in the generated series crosses the threshold".
    ("max", ">", 90, True),
    # "min: If all points in the evaluation window ... cross the threshold".
    ("min", ">", 79, True),
    ("min", ">", 80, False),
    # "sum: If the summation of every point in the series crosses the threshold": 450.
    ("sum", ">", 449, True),
    # Below-threshold monitors reverse max and min: min < 81 alerts when any point is below 81.
    ("min", "<", 81, True),
    ("max", "<", 100, False),
])
def test_time_aggregations(aggregation: str, op: str, threshold: float, alerting_at_4: bool) -> None:
    document = monitor(f"{aggregation}(last_5m):avg:cpu{{*}} {op} {threshold}")
    found = run(document, one("cpu", POINTS[1:6] + [None] * 6), end="2026-01-05T12:04Z")
    # The window (t − 5m, t] at minute 4 holds all five points (minutes 0 to 4): is it ALERT then?
    assert any(f <= 4 and (r is None or r > 4) for f, r in found) == alerting_at_4


@pytest.mark.parametrize(("op", "values", "recovery", "expected"), [
    # Recovery table: > alert recovers at <= recovery; >= at <; < at >=; <= at >.
    (">", [0, 10, 6, 5, 4], 5, [(1.0, 3.0)]),
    (">=", [0, 10, 6, 5, 4], 5, [(1.0, 4.0)]),
    ("<", [10, 0, 4, 5, 6], 5, [(1.0, 3.0)]),
    ("<=", [10, 0, 4, 5, 6], 5, [(1.0, 4.0)]),
])
def test_recovery_thresholds(op: str, values: list[float], recovery: float, expected: list[tuple[float, float]]
                             ) -> None:
    threshold = 8 if op in (">", ">=") else 2
    document = monitor(f"avg(last_1m):avg:cpu{{*}} {op} {threshold}",
                       thresholds={"critical": threshold, "critical_recovery": recovery})
    assert run(document, one("cpu", values)) == expected
    # Without a recovery threshold the monitor recovers as soon as the alert condition no longer holds.
    plain = monitor(f"avg(last_1m):avg:cpu{{*}} {op} {threshold}")
    assert run(plain, one("cpu", values)) == [(1.0, 2.0)]


def test_warning_spans_are_their_own_episodes() -> None:
    document = monitor("max(last_1m):avg:cpu{*} > 90", thresholds={"critical": 90, "warning": 80})
    values = [0.0, 85, 95, 85, 0]
    assert run(document, one("cpu", values)) == [(2.0, 3.0)]
    assert run(document, one("cpu", values), status="warn") == [(1.0, 2.0), (3.0, 4.0)]


@pytest.mark.parametrize(("window", "cadence"), [
    ("last_4h", timedelta(minutes=1)), ("last_1d", timedelta(minutes=10)), ("last_47h", timedelta(minutes=10)),
    ("last_2d", timedelta(minutes=30)), ("last_1w", timedelta(minutes=30)),
])
def test_evaluation_frequency_by_window(window: str, cadence: timedelta) -> None:
    (parsed,) = parse_datadog(monitor(f"avg({window}):avg:cpu{{*}} > 1"))
    assert parsed.cadence == cadence


def test_a_long_window_is_evaluated_every_ten_minutes() -> None:
    values: list[float] = [0.0] * 60 * 26
    values[25 * 60 + 3] = 10_000.0           # one huge point at 13:03 on day 2
    document = monitor("sum(last_1d):avg:cpu{*} > 5000")
    (first, _), = run(document, one("cpu", values))
    assert first == 25 * 60 + 10              # seen at the next 10-minute evaluation


def test_evaluation_delay() -> None:
    # "if the delay is set to 900 seconds (15 minutes), the monitor evaluation is during the last 5 minutes,
    # and the time is 7:00, the monitor evaluates data from 6:40 to 6:45": a point at minute 4 is seen by
    # the evaluations at minutes 19 to 23.
    values = [0.0] * 4 + [100.0] + [0.0] * 25
    document = monitor("max(last_5m):avg:cpu{*} > 50", evaluation_delay=900)
    assert run(document, one("cpu", values)) == [(19.0, 24.0)]


def test_require_full_window() -> None:
    # 5 one-minute buckets; the series starts at minute 0 and has a gap at minutes 6-9.
    values: list[float | None] = [100.0] * 6 + [None] * 4 + [100.0] * 6
    lenient = monitor("avg(last_5m):avg:cpu{*} > 50")
    strict = monitor("avg(last_5m):avg:cpu{*} > 50", require_full_window=True)
    assert run(lenient, one("cpu", values)) == [(0.0, None)]
    # Full windows need a point in the first bucket: the first evaluation with minute 0 as its first bucket
    # is minute 4 ((t − 5m, t] = minutes 0..4 → first bucket minute 0).
    assert run(strict, one("cpu", values))[0][0] == 4.0


def test_no_data() -> None:
    values: list[float | None] = [100.0] * 3 + [None] * 15
    notify = monitor("avg(last_5m):avg:cpu{*} > 50", notify_no_data=True, no_data_timeframe=10)
    # ALERT until NO DATA: no point in (t − 10m, t] from minute 12 on.
    assert run(notify, one("cpu", values), end="2026-01-05T12:17Z") == [(0.0, 12.0)]
    assert run(notify, one("cpu", values), status="no data", end="2026-01-05T12:17Z") == [(12.0, None)]
    # Default: the last known status stays.
    plain = monitor("avg(last_5m):avg:cpu{*} > 50")
    assert run(plain, one("cpu", values), end="2026-01-05T12:17Z") == [(0.0, None)]
    # resolve: OK once the window is empty (from minute 7).
    resolve = monitor("avg(last_5m):avg:cpu{*} > 50", on_missing_data="resolve")
    assert run(resolve, one("cpu", values), end="2026-01-05T12:17Z") == [(0.0, 7.0)]


def test_multi_alert_groups_by_tag() -> None:
    frame = metrics({("cpu", (("host", "a"), ("env", "prod"))): [100.0, 100, 0, 0],
                     ("cpu", (("host", "b"), ("env", "prod"))): [0.0, 0, 100, 100],
                     ("cpu", (("host", "c"), ("env", "dev"))): [100.0] * 4})
    document = monitor("max(last_1m):avg:cpu{env:prod} by {host} > 50", new_group_delay=0)
    alerts = replay(frame, parse_datadog(document)).alerts.sort("fired_at")
    assert alerts["series"].to_list() == ['cpu{env="prod",host="a"}', 'cpu{env="prod",host="b"}']
    # Without `by`, the space aggregation combines the hosts into one series.
    single = monitor("max(last_1m):sum:cpu{env:prod} > 150")
    assert run(single, frame) == []


@pytest.mark.parametrize(("query", "message"), [
    ("avg(last_4h):anomalies(avg:cpu{*}, 'basic', 2) >= 1", "anomaly rules"),
    ("avg(last_5m):outliers(avg:cpu{*} by {host}, 'dbscan', 3) > 0", "anomaly rules"),
    ("change(avg(last_5m),last_5m):avg:cpu{*} > 10", "seasonal rule"),
    ("avg(last_5m):100 - avg:system.cpu.idle{$host} > 90", "not replayed"),
    ("avg(last_5m):avg:cpu{!host:a} > 90", "no negation"),
    ("avg(last_5m):avg:cpu{host:web-*} > 90", "wildcards"),
])
def test_unsupported_queries_are_config_errors(query: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_datadog(monitor(query))


@pytest.mark.parametrize(("options", "message"), [
    ({"thresholds": {"critical": 80}}, "differs from the query"),
    ({"thresholds": {"critical": 90, "critical_recovery": 95}}, "must be below"),
    ({"thresholds": {"critical": 90, "warning": 95}}, "less severe"),
    ({"on_missing_data": "panic"}, "on_missing_data"),
    ({"timeout_h": 25}, "between 0"),
    ({"timeout_h": -1}, "between 0"),
    ({"scheduling_options": {"evaluation_window": {"day_starts": "04:00"}}}, "cumulative"),
])
def test_bad_options_are_config_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_datadog(monitor("avg(last_5m):avg:cpu{*} > 90", **options), file="m.json")
    assert info.value.file == "m.json" and info.value.rule == "M"


def test_priority_tags_and_message() -> None:
    document = {**monitor("avg(last_5m):avg:cpu{*} > 90", renotify_interval=30, renotify_statuses=["alert"]),
                "priority": 4, "tags": ["team:core", "tier"], "message": "see https://runbooks.example/cpu"}
    (parsed,) = parse_datadog(document)
    assert isinstance(parsed, DatadogMonitor)
    assert (parsed.severity, dict(parsed.labels), parsed.renotify_interval) == (
        "info", {"team": "core"}, timedelta(minutes=30))
    assert parsed.annotations == {"message": "see https://runbooks.example/cpu"}


def test_unknown_vendor_keys_are_named_in_a_warning_and_ignored(caplog: pytest.LogCaptureFixture) -> None:
    document = {**monitor("avg(last_5m):avg:cpu{*} > 90", avalanche_window=10, timeout_h=0),
                "restriction_policy": {"bindings": []}}
    with caplog.at_level(logging.WARNING):
        (parsed,) = parse_datadog(document, file="m.json")
    assert parsed.timeout is None  # timeout_h: 0 is Datadog's "never"
    assert "'M': restriction_policy is not a key alertsim knows; ignored" in caplog.text
    assert "'M': options.avalanche_window is not a key alertsim knows; ignored" in caplog.text


def test_a_monitor_template_wraps_its_monitor_in_a_definition(caplog: pytest.LogCaptureFixture) -> None:
    template = {"version": 2, "title": "CPU", "description": "d", "tags": ["integration:x"],
                "recommended_monitor_metadata": {"x": 1}, "definition": monitor("avg(last_5m):avg:cpu{*} > 90")}
    with caplog.at_level(logging.WARNING):
        assert [m.name for m in parse_datadog([template, monitor("avg(last_5m):avg:mem{*} > 90") | {"name": "N"}])
                ] == ["M", "N"]
    assert caplog.text == ""


def test_the_threshold_may_come_before_by() -> None:
    (parsed,) = parse_datadog(monitor("avg(last_15m):avg:postgresql.percent_usage_connections{*} > 0.9 by {host}"))
    assert (parsed.metric, parsed.by, parsed.critical) == ("postgresql.percent_usage_connections", ("host",), 0.9)
    with pytest.raises(ConfigError, match="groups twice"):
        parse_datadog(monitor("avg(last_5m):avg:cpu{*} by {a} > 0.9 by {b}"))


@pytest.mark.parametrize(("name", "outcome"), [
    ("postgres_percent_usage_connections.json", "[Postgres] Number of connections is approaching connection limit"),
    ("redisdb_high_mem.json", "no arithmetic or functions"),
    ("nginx_conn_dropped.json", "anomalies monitors are not replayed"),
])
def test_real_monitor_templates(name: str, outcome: str) -> None:
    try:
        names = [m.name for m in load_rules(REAL / name)]
    except ConfigError as exc:
        assert outcome in str(exc) and exc.field == "query"
    else:
        assert names[0].startswith(outcome)
