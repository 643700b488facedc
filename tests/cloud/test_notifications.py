"""Notifications as the vendors send them: CloudWatch actions on state changes, Cloud Monitoring reminders
(renotifyInterval) and CLOSED prompts, Datadog renotify_interval/occurrences/statuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from alertsim.frames import NOTIFICATIONS, validate
from alertsim.notify import vendor_notifications
from alertsim.rules.cloudwatch_alarms import parse_cloudwatch
from alertsim.rules.datadog import parse_datadog
from alertsim.rules.gcp import parse_gcp
from alertsim.rules.threshold import ThresholdRule


def at(minute: int) -> datetime:
    return datetime(2026, 1, 5, tzinfo=UTC) + timedelta(minutes=minute)


def alerts(rule: str, *episodes: tuple[int, int | None], status: str | None = None) -> pl.DataFrame:
    labels = json.dumps({"datadog_status": status} if status else {})
    return pl.DataFrame({
        "alert_id": list(range(len(episodes))), "rule": [rule] * len(episodes), "series": ["s"] * len(episodes),
        "labels": [labels] * len(episodes), "severity": ["page"] * len(episodes),
        "active_at": [at(f) for f, _ in episodes], "fired_at": [at(f) for f, _ in episodes],
        "resolved_at": pl.Series([None if r is None else at(r) for _, r in episodes],
                                 dtype=pl.Datetime("us", "UTC"))})


def sent(frame: pl.DataFrame) -> list[tuple[int, str]]:
    validate(frame, NOTIFICATIONS)
    return [(int((t - at(0)).total_seconds() // 60), k) for t, k in frame.select("sent_at", "kind").rows()]


def alarm(**changes: Any) -> Any:
    spec = {"AlarmName": "A", "MetricName": "cpu", "Statistic": "Average", "Period": 60, "EvaluationPeriods": 1,
            "Threshold": 1, "ComparisonOperator": "GreaterThanThreshold",
            "AlarmActions": ["arn:aws:sns:x"], **changes}
    return parse_cloudwatch({"MetricAlarms": [{k: v for k, v in spec.items() if v is not None}]})[0]


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, [(0, "firing")]),                                              # actions on entering ALARM only
    ({"OKActions": ["arn:aws:sns:x"]}, [(0, "firing"), (30, "resolved")]),
    ({"ActionsEnabled": False, "OKActions": ["arn:aws:sns:x"]}, []),
    ({"AlarmActions": None}, []),
])
def test_cloudwatch_actions_run_on_state_changes(changes: dict[str, Any], expected: list[tuple[int, str]]) -> None:
    assert sent(vendor_notifications(alerts("A", (0, 30)), [alarm(**changes)])) == expected


def policy(strategy: dict[str, Any]) -> Any:
    return parse_gcp({"displayName": "P", "conditions": [{"displayName": "c", "conditionThreshold": {
        "filter": 'metric.type="x"', "comparison": "COMPARISON_GT", "thresholdValue": 1}}],
        "alertStrategy": strategy})[0]


@pytest.mark.parametrize(("strategy", "episode", "expected"), [
    ({}, (0, 50), [(0, "firing"), (50, "resolved")]),
    ({"notificationChannelStrategy": [{"notificationChannelNames": ["c"], "renotifyInterval": "1200s"}]},
     (0, 50), [(0, "firing"), (20, "repeat"), (40, "repeat"), (50, "resolved")]),
    ({"notificationPrompts": ["OPENED"]}, (0, 50), [(0, "firing")]),
    # Still open: reminders until the end of the replay (here the latest instant, 50 from the other alert).
    ({"notificationChannelStrategy": [{"renotifyInterval": "1800s"}]}, (10, None), [(10, "firing"), (40, "repeat")]),
])
def test_gcp_reminders_and_close_prompts(strategy: dict[str, Any], episode: tuple[int, int | None],
                                         expected: list[tuple[int, str]]) -> None:
    frame = alerts("P", episode)
    end = at(50) if episode[1] is None else None
    assert sent(vendor_notifications(frame, [policy(strategy)], end=end)) == expected


def monitor(**options: Any) -> Any:
    return parse_datadog({"name": "M", "type": "metric alert", "query": "avg(last_5m):avg:cpu{*} > 90",
                          "options": {"thresholds": {"critical": 90, "warning": 80}, **options}})[0]


@pytest.mark.parametrize(("options", "status", "expected"), [
    ({}, None, [(0, "firing"), (70, "resolved")]),
    ({"renotify_interval": 30}, None, [(0, "firing"), (30, "repeat"), (60, "repeat"), (70, "resolved")]),
    ({"renotify_interval": 30, "renotify_occurrences": 1}, None, [(0, "firing"), (30, "repeat"), (70, "resolved")]),
    # WARN is not re-notified unless renotify_statuses asks for it.
    ({"renotify_interval": 30}, "warn", [(0, "firing"), (70, "resolved")]),
    ({"renotify_interval": 30, "renotify_statuses": ["warn"]}, "warn",
     [(0, "firing"), (30, "repeat"), (60, "repeat"), (70, "resolved")]),
])
def test_datadog_renotify(options: dict[str, Any], status: str | None, expected: list[tuple[int, str]]) -> None:
    assert sent(vendor_notifications(alerts("M", (0, 70), status=status), [monitor(**options)])) == expected


def test_other_rules_are_left_to_alertmanager() -> None:
    rule = ThresholdRule(name="T", metric="cpu", value=1.0)
    assert vendor_notifications(alerts("T", (0, 10)), [rule]).height == 0
