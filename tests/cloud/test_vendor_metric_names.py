"""Vendor metric names travel unchanged from an importer to the rule that reads them: a GCP metric
type (``compute.googleapis.com/instance/cpu/utilization``) and a Datadog metric (``system.cpu.user``)
are imported with ``alertsim import``, replayed through the policy or monitor that reads them, and fire
exactly over the minutes the data crosses the threshold."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from alertsim.cli import app
from alertsim.io.rundir import read_frame

START = datetime(2026, 4, 6, 10, 0, tzinfo=UTC)
HOT = range(20, 35)  # minutes at 95 %; every other minute is at 10 %


def invoke(*args: object) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def value(minute: int) -> float:
    return 0.95 if minute in HOT else 0.10


def stamp(minute: int) -> str:
    return (START + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_gcp_export_replays_through_the_policy_that_reads_it(tmp_path: Path) -> None:
    metric = "compute.googleapis.com/instance/cpu/utilization"
    export = {"timeSeries": [{
        "metric": {"type": metric, "labels": {"instance_name": "web-1"}},
        "resource": {"type": "gce_instance", "labels": {"project_id": "larkspur", "zone": "europe-west1-b"}},
        "metricKind": "GAUGE", "valueType": "DOUBLE",
        "points": [{"interval": {"endTime": stamp(m)}, "value": {"doubleValue": value(m)}} for m in range(60)],
    }]}
    policy = {"displayName": "CPU above 80%", "combiner": "OR", "conditions": [{
        "displayName": "cpu > 0.8 for 5 min",
        "conditionThreshold": {
            "filter": f'metric.type="{metric}" AND resource.type="gce_instance"',
            "aggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_MEAN"}],
            "comparison": "COMPARISON_GT", "thresholdValue": 0.8, "duration": "300s"}}]}
    (tmp_path / "export.json").write_text(json.dumps(export))
    (tmp_path / "policy.json").write_text(json.dumps(policy))
    invoke("import", "gcp-metrics", tmp_path / "export.json", "--out", tmp_path / "metrics.parquet")
    assert pl.read_parquet(tmp_path / "metrics.parquet")["metric"].unique().to_list() == [metric]
    invoke("replay", tmp_path / "metrics.parquet", "--rules", tmp_path / "policy.json", "--out", tmp_path / "run",
           "--start", stamp(0), "--end", stamp(59))
    alerts = read_frame(tmp_path / "run", "alerts")
    assert alerts.height == 1
    fired = alerts["fired_at"][0]
    assert START + timedelta(minutes=HOT.start + 3) <= fired <= START + timedelta(minutes=HOT.start + 6)
    assert alerts["resolved_at"][0] > START + timedelta(minutes=HOT.stop - 1)


def test_a_datadog_export_replays_through_the_monitor_that_reads_it(tmp_path: Path) -> None:
    series = [{"metric": "system.cpu.user", "tag_set": ["env:prod", f"host:{host}"],
               "pointlist": [[(START + timedelta(minutes=m)).timestamp() * 1000,
                              100 * value(m) if host == "web-1" else 10.0] for m in range(60)]}
              for host in ("web-1", "web-2")]
    monitor = {"name": "CPU high on {{host.name}}", "type": "metric alert",
               "query": "avg(last_5m):avg:system.cpu.user{env:prod} by {host} > 80",
               "options": {"thresholds": {"critical": 80}}}
    (tmp_path / "query.json").write_text(json.dumps({"status": "ok", "series": series}))
    (tmp_path / "monitor.json").write_text(json.dumps(monitor))
    invoke("import", "datadog-metrics", tmp_path / "query.json", "--out", tmp_path / "metrics.csv")
    invoke("replay", tmp_path / "metrics.csv", "--rules", tmp_path / "monitor.json", "--out", tmp_path / "run",
           "--start", stamp(0), "--end", stamp(59))
    alerts = read_frame(tmp_path / "run", "alerts")
    assert alerts["series"].to_list() == ['system.cpu.user{env="prod",host="web-1"}']
    fired = alerts["fired_at"][0]
    assert START + timedelta(minutes=HOT.start) <= fired <= START + timedelta(minutes=HOT.start + 5)


def test_a_delta_metric_is_not_a_counter(tmp_path: Path) -> None:
    """Apache's error count as GCP exports it: DELTA points, each the errors of its own minute. A burst
    of 2 errors/s fires an ALIGN_RATE > 1 policy; read as a counter, a steady 120 per minute is no rise."""
    metric = "workload.googleapis.com/apache.errors"
    points = [{"interval": {"startTime": stamp(m - 1), "endTime": stamp(m)},
               "value": {"int64Value": str(120 if m in HOT else 3)}} for m in range(1, 60)]
    export = {"timeSeries": [{"metric": {"type": metric, "labels": {"server": "web-1"}},
                              "resource": {"type": "gce_instance", "labels": {"project_id": "larkspur"}},
                              "metricKind": "DELTA", "valueType": "INT64", "points": points}]}
    policy = {"displayName": "Apache errors above 1/s", "combiner": "OR", "conditions": [{
        "displayName": "error rate > 1/s",
        "conditionThreshold": {
            "filter": f'metric.type="{metric}"',
            "aggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_RATE"}],
            "comparison": "COMPARISON_GT", "thresholdValue": 1, "duration": "0s"}}]}
    (tmp_path / "export.json").write_text(json.dumps(export))
    (tmp_path / "policy.json").write_text(json.dumps(policy))
    invoke("import", "gcp-metrics", tmp_path / "export.json", "--out", tmp_path / "metrics.parquet")
    assert pl.read_parquet(tmp_path / "metrics.parquet")["metric_kind"].unique().to_list() == ["DELTA"]
    invoke("replay", tmp_path / "metrics.parquet", "--rules", tmp_path / "policy.json", "--out", tmp_path / "run",
           "--start", stamp(0), "--end", stamp(59))
    alerts = read_frame(tmp_path / "run", "alerts")
    assert alerts.height == 1
    assert START + timedelta(minutes=HOT.start) <= alerts["fired_at"][0] <= START + timedelta(minutes=HOT.start + 1)
    assert START + timedelta(minutes=HOT.stop) <= alerts["resolved_at"][0] <= START + timedelta(minutes=HOT.stop + 1)
