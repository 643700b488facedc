"""PagerDuty and Opsgenie importers, each on a small hand-written file in its documented shape."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from alertsim.errors import ConfigError, InputError
from alertsim.frames import INCIDENTS, validate
from alertsim.io.opsgenie import read_opsgenie
from alertsim.io.pagerduty import normalise, read_pagerduty

DATA = Path(__file__).parent / "data"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def rows(frame: pl.DataFrame, *columns: str) -> list[tuple]:
    return frame.select(columns).rows()


def test_legacy_csv_in_the_account_time_zone() -> None:
    # created_on has no offset: it is New York wall time (UTC−5 in January).
    incidents = read_pagerduty(DATA / "pagerduty_legacy.csv", tz="America/New_York")
    validate(incidents, INCIDENTS)
    assert rows(incidents, "incident_id", "service", "started_at", "acknowledged_at", "resolved_at") == [
        ("PT4KHLK", "checkout", utc(2026, 1, 5, 7, 14), utc(2026, 1, 5, 7, 15, 35), utc(2026, 1, 5, 7, 58, 30)),
        ("PQ2Z8M1", "postgres", utc(2026, 1, 6, 19), None, utc(2026, 1, 6, 19, 30)),
        ("PX9Y7W2", "checkout", utc(2026, 1, 8, 4, 59), utc(2026, 1, 8, 5, 9), None),
    ]
    # First acknowledger, else the first assignee; urgency and counts as exported.
    assert rows(incidents, "responder", "urgency", "escalations", "auto_resolved", "severity") == [
        ("Ana Silva", "high", 1, False, None), ("Cy Diaz", "low", 0, True, None), ("Bo Chen", "high", 2, False, None)]
    assert incidents["assignees"].to_list() == [["Ana Silva"], ["Cy Diaz"], ["Ana Silva", "Bo Chen"]]
    assert incidents["title"][1] == "Disk 90% on db-3"


def test_insights_csv() -> None:
    incidents = read_pagerduty(DATA / "pagerduty_insights.csv")
    assert rows(incidents, "incident_id", "number", "service", "team", "severity", "urgency") == [
        ("Q1ABCDEF", "2041", "api-gateway", "Platform", "P1", "high"),
        ("Q2GHIJKL", "2042", "billing", "Payments", "P3", "low")]
    # Offsets +01:00 in the file; TTA 240 s and 00:05:30.
    assert rows(incidents, "started_at", "acknowledged_at", "resolved_at") == [
        (utc(2026, 2, 2, 2, 10), utc(2026, 2, 2, 2, 14), utc(2026, 2, 2, 3)),
        (utc(2026, 2, 3, 9), utc(2026, 2, 3, 9, 5, 30), None)]
    assert incidents["responder"].to_list() == ["Dana Iyer", "Eli Park"]
    assert incidents["assignees"][0].to_list() == ["Dana Iyer", "Eli Park"]


def test_analytics_json() -> None:
    incidents = read_pagerduty(DATA / "pagerduty_analytics.json")
    assert rows(incidents, "incident_id", "service", "team", "severity", "urgency", "responder") == [
        ("Q3MNOPQR", "search", "Discovery", "P2", "high", "Fay Ng"),
        ("Q4STUVWX", "search", "Discovery", None, "low", "Gil Ortiz")]   # nobody acked: first assignee
    assert rows(incidents, "started_at", "acknowledged_at", "resolved_at") == [
        (utc(2026, 3, 1, 22, 30), utc(2026, 3, 1, 22, 37), utc(2026, 3, 1, 23, 10)),
        (utc(2026, 3, 2, 9), None, None)]


def test_opsgenie_alert_csv() -> None:
    incidents = read_opsgenie(DATA / "opsgenie_alerts.csv")
    validate(incidents, INCIDENTS)
    # Entity, else the first team, else the source; AckTime/CloseTime in milliseconds.
    assert rows(incidents, "incident_id", "service", "team", "severity", "responder") == [
        ("311", "postgres", "storage", "P2", "ana@example.com"),
        ("312", "platform", "platform", "P1", None),
        ("313", "Nagios", None, "P4", None)]
    assert rows(incidents, "started_at", "acknowledged_at", "resolved_at") == [
        (utc(2026, 4, 6, 1, 20), utc(2026, 4, 6, 1, 22, 5), utc(2026, 4, 6, 1, 50)),
        (utc(2026, 4, 6, 13, 0, 0, 500_000), None, utc(2026, 4, 6, 13, 15, 0, 500_000)),
        (utc(2026, 4, 6, 12, 20), None, None)]                          # CreatedAt in Unix milliseconds


def test_opsgenie_elapsed_in_seconds(tmp_path: Path) -> None:
    path = tmp_path / "alerts.csv"
    path.write_text("tinyId,message,createdAt,entity,report.ackTime,report.closeTime\n"
                    "7,x,2026-04-06T01:00:00Z,web,60,120\n")
    incident = read_opsgenie(path, elapsed_unit="s").row(0, named=True)
    assert (incident["acknowledged_at"], incident["resolved_at"]) == (utc(2026, 4, 6, 1, 1), utc(2026, 4, 6, 1, 2))


@pytest.mark.parametrize(("name", "key"), [
    ("Created at", "created_at"), ("CreatedAt", "created_at"), ("TTA", "tta"), ("Incident ID", "incident_id"),
    ("report.ackTime", "report_ack_time"), ("#Escalations", "escalations"), ("tinyId", "tiny_id"),
])
def test_column_names_are_normalised(name: str, key: str) -> None:
    assert normalise(name) == key


@pytest.mark.parametrize(("body", "message"), [
    ("id,service_name,urgency\nP1,web,high\n", "needs one of the columns \\['created_on'\\]"),
    ("id,service_name,created_on\nP1,web,yesterday\n", "row 1, column 'created_on': cannot parse 'yesterday'"),
    ("id,service_name,created_on\nP1,,2026-01-05 10:00:00\n", "row 1, column 'service_name': empty service"),
    ("id,service_name,created_on,seconds_to_first_ack\nP1,web,2026-01-05 10:00:00,soon\n",
     "'soon' is not a duration"),
    ("id,service_name,created_on\nP1,web,2026-01-05 10:00:00\nP1,web,2026-01-05 11:00:00\n",
     "row 2, column 'incident_id': duplicate key"),
    ("id,service_name,created_on\nP1,web,2026-03-08 02:30:00\n", "does not exist in America/New_York"),
])
def test_bad_pagerduty_rows_are_reported(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "incidents.csv"
    path.write_text(body)
    with pytest.raises(InputError, match=message):
        read_pagerduty(path, format="legacy", tz="America/New_York")


def test_unknown_format_and_zone(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="format 'csv'"):
        read_pagerduty(DATA / "pagerduty_legacy.csv", format="csv")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="not an IANA time zone"):
        read_pagerduty(DATA / "pagerduty_legacy.csv", tz="Mars/Olympus")
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="cannot tell which PagerDuty export"):
        read_pagerduty(path)


def test_opsgenie_row_without_any_service_name(tmp_path: Path) -> None:
    path = tmp_path / "alerts.csv"
    path.write_text("TinyId,Message,CreatedAt,Entity,Teams,Source\n1,x,2026-04-06T01:00:00Z,,,\n")
    with pytest.raises(InputError, match="row 1, column 'Entity': no service"):
        read_opsgenie(path)
