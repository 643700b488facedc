"""History importers (Splunk On-Call, Squadcast) and metric-export importers (CloudWatch, Cloud Monitoring,
Datadog), each on a small hand-written file in its documented shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from alertsim.errors import InputError
from alertsim.frames import INCIDENTS, METRICS, validate
from alertsim.io.cloud_metrics import (
    read_cloudwatch_csv,
    read_cloudwatch_metric_data,
    read_datadog_query,
    read_gcp_time_series,
)
from alertsim.io.splunk_oncall import read_splunk_oncall
from alertsim.io.squadcast import read_squadcast
from alertsim.quality.fatigue import fatigue, pages_from_incidents
from alertsim.quality.response import mtta, mttr

DATA = Path(__file__).parent / "data"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def rows(frame: pl.DataFrame, *columns: str) -> list[tuple]:
    return frame.select(columns).rows()


# --------------------------------------------------------------------------------------------------
# Splunk On-Call.

def test_splunk_oncall_reporting_api_incidents() -> None:
    incidents = validate(read_splunk_oncall(DATA / "splunk_oncall_incidents.json"), INCIDENTS)
    assert rows(incidents, "incident_id", "service", "started_at", "acknowledged_at", "resolved_at") == [
        ("1201", "postgres", utc(2026, 4, 6, 1, 20), utc(2026, 4, 6, 1, 22, 5), utc(2026, 4, 6, 1, 50)),
        # No service and no host: the first paged team; never acknowledged.
        ("1202", "platform", utc(2026, 4, 6, 13), None, utc(2026, 4, 6, 13, 15)),
        # Still open: acknowledged, not resolved.
        ("1203", "edge", utc(2026, 4, 7, 22, 5), utc(2026, 4, 7, 22, 45), None),
    ]
    # The acknowledging transition's `by`, else who resolved it by hand, else the first paged user (1202 was
    # resolved by the system, manually: false).
    assert rows(incidents, "responder", "team", "escalation_policy", "title") == [
        ("ana", "storage", "Storage primary", "Disk 90% on db-3"), ("cy", "platform", None, "api-5xx"),
        ("bo", "platform", None, "cert-expiry")]
    assert incidents["assignees"].to_list() == [["ana", "bo"], ["cy"], ["bo"]]


def test_splunk_oncall_resolved_without_a_transition_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"incidentNumber": "1", "startTime": "2026-04-06T01:20:00Z",
                                 "currentPhase": "resolved", "service": "x", "transitions": []},
                                {"incidentNumber": "2", "startTime": "yesterday", "service": "x"}]))
    with pytest.raises(InputError) as info:
        read_splunk_oncall(path)
    reasons = [(p.row, p.column) for p in info.value.problems]
    assert (1, "transitions") in reasons


def test_splunk_oncall_bad_timestamps_are_listed(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"incidents": [{"incidentNumber": "2", "startTime": "yesterday", "service": "x"}]}))
    with pytest.raises(InputError, match="yesterday"):
        read_splunk_oncall(path)


# --------------------------------------------------------------------------------------------------
# Squadcast.

SQUADCAST_EXPECTED = [
    ("64f1c0a1e5", "checkout", utc(2026, 4, 6, 1, 20), utc(2026, 4, 6, 1, 23, 30), utc(2026, 4, 6, 1, 55)),
    # analytics.tta/ttr as milliseconds after creation: 10 minutes and 1 hour.
    ("64f1c0a1e6", "5f8891527f735f0008b7f6c2", utc(2026, 4, 6, 9), utc(2026, 4, 6, 9, 10), utc(2026, 4, 6, 10)),
    ("64f1c0a1e7", "checkout", utc(2026, 4, 7, 18, 30), None, None),
]


def test_squadcast_json_export() -> None:
    incidents = validate(read_squadcast(DATA / "squadcast_export.json"), INCIDENTS)
    assert rows(incidents, "incident_id", "service", "started_at", "acknowledged_at", "resolved_at") == \
        SQUADCAST_EXPECTED
    assert rows(incidents, "number", "responder", "severity", "team", "title") == [
        ("311", "ana", "P1", "storefront", "High error rate on checkout"),
        ("312", "bo", "P3", "team-payments", "Queue backlog"),
        ("313", "cy", None, None, "Latency regression")]
    # Squads are not people: only users are assignees.
    assert incidents["assignees"].to_list() == [["ana"], ["bo"], ["cy"]]


def test_squadcast_csv_export() -> None:
    incidents = validate(read_squadcast(DATA / "squadcast_export.csv"), INCIDENTS)
    expected = [SQUADCAST_EXPECTED[0], ("64f1c0a1e6", "payments", *SQUADCAST_EXPECTED[1][2:]), SQUADCAST_EXPECTED[2]]
    assert rows(incidents, "incident_id", "service", "started_at", "acknowledged_at", "resolved_at") == expected
    assert incidents["assignees"].to_list() == [["ana"], ["bo", "cy"], ["cy"]]


def test_squadcast_resolved_without_a_time_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"id": "1", "serviceId": "s", "status": "resolved",
                                 "timeOfCreation": "2026-04-06T01:20:00Z"}]))
    with pytest.raises(InputError, match="resolution time"):
        read_squadcast(path)


def test_mtta_mttr_and_fatigue_work_on_imported_history() -> None:
    incidents = pl.concat([read_splunk_oncall(DATA / "splunk_oncall_incidents.json"),
                           read_squadcast(DATA / "squadcast_export.json")], how="diagonal_relaxed")
    tta = mtta(incidents)
    # Acknowledged: 2m05s, 40m (Splunk On-Call), 3m30s, 10m (Squadcast): mean 13m53.75s.
    assert tta["mtta"].to_list() == [timedelta(minutes=13, seconds=53, milliseconds=750)]
    assert mttr(incidents)["mttr"].to_list() == [timedelta(minutes=(30 + 15 + 35 + 60) / 4)]
    report = fatigue(pages_from_incidents(incidents))
    assert set(report.responders["responder"].to_list()) == {"ana", "bo", "cy"}


# --------------------------------------------------------------------------------------------------
# Metric exports.

def test_cloudwatch_get_metric_data_with_its_queries() -> None:
    frame = validate(read_cloudwatch_metric_data(DATA / "cloudwatch_metric_data.json",
                                                 queries=DATA / "cloudwatch_queries.json"), METRICS)
    assert sorted(frame.columns) == sorted(["timestamp", "metric", "value", "namespace", "InstanceId",
                                            "LoadBalancer", "availability_zone"])
    cpu = frame.filter(pl.col("metric") == "CPUUtilization")
    assert rows(cpu, "timestamp", "value", "namespace", "InstanceId") == [
        (utc(2026, 4, 6, 10, 0), 40.25, "AWS/EC2", "i-0c986c72"),
        (utc(2026, 4, 6, 10, 1), 62.0, "AWS/EC2", "i-0c986c72"),
        (utc(2026, 4, 6, 10, 2), 91.5, "AWS/EC2", "i-0c986c72")]
    latency = frame.filter(pl.col("metric") == "TargetResponseTime")
    assert rows(latency, "value", "availability_zone") == [(0.21, "eu-west-1a"), (0.84, "eu-west-1a")]


def test_cloudwatch_get_metric_data_without_queries_uses_labels() -> None:
    frame = read_cloudwatch_metric_data(DATA / "cloudwatch_metric_data.json")
    assert sorted(frame["metric"].unique().to_list()) == ["CPUUtilization", "TargetResponseTime"]


def test_cloudwatch_get_metric_data_length_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"MetricDataResults": [{"Id": "a", "Timestamps": ["2026-04-06T10:00:00Z"],
                                                       "Values": []}]}))
    with pytest.raises(InputError, match="1 Timestamps but 0 Values"):
        read_cloudwatch_metric_data(path)


def test_cloudwatch_console_csv() -> None:
    frame = validate(read_cloudwatch_csv(DATA / "cloudwatch_console.csv", metric="cpu", label="instance"), METRICS)
    # An empty cell is a missing sample, not zero.
    assert frame.group_by("instance").len().sort("instance").rows() == [
        ("CPUUtilization i-0c986c72", 3), ("CPUUtilization i-0d11ab", 2)]
    wide = read_cloudwatch_csv(DATA / "cloudwatch_console.csv")
    assert sorted(wide["metric"].unique().to_list()) == ["CPUUtilization i-0c986c72", "CPUUtilization i-0d11ab"]


def test_gcp_time_series_list() -> None:
    frame = validate(read_gcp_time_series(DATA / "gcp_time_series.json"), METRICS)
    cpu = frame.filter(pl.col("metric") == "compute.googleapis.com/instance/cpu/utilization")
    assert rows(cpu, "timestamp", "value", "instance_name", "zone", "resource_type") == [
        (utc(2026, 4, 6, 10, 0), 0.41, "web-1", "europe-west1-b", "gce_instance"),
        (utc(2026, 4, 6, 10, 1), 0.73, "web-1", "europe-west1-b", "gce_instance")]
    # int64Value is a JSON string in the API.
    assert frame.filter(pl.col("metric") == "custom.googleapis.com/queue/depth")["value"].to_list() == [512.0]


def test_datadog_query_api() -> None:
    frame = validate(read_datadog_query(DATA / "datadog_query.json"), METRICS)
    start = datetime.fromtimestamp(1775469600, tz=UTC)
    web1 = frame.filter(pl.col("host") == "web-1")
    # The null point is missing data.
    assert rows(web1, "timestamp", "value") == [(start, 40.25), (start + timedelta(minutes=2), 91.5)]
    assert frame.filter(pl.col("host") == "web-2")["availability_zone"].to_list() == ["eu-1a"]


def test_datadog_failed_query_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "failed.json"
    path.write_text(json.dumps({"status": "error", "error": "bad query", "series": []}))
    with pytest.raises(InputError, match="bad query"):
        read_datadog_query(path)


def test_conflicting_duplicate_samples_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "dup.json"
    point = {"metric": "m", "tag_set": [], "pointlist": [[1775469600000, 1.0]]}
    path.write_text(json.dumps({"status": "ok", "series": [point, {**point, "pointlist": [[1775469600000, 2.0]]}]}))
    with pytest.raises(InputError, match="different values"):
        read_datadog_query(path)
    path.write_text(json.dumps({"status": "ok", "series": [point, point]}))
    assert read_datadog_query(path).height == 1
