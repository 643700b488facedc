"""PagerDuty's REST ``GET /incidents`` JSON and Opsgenie's list-alerts JSON import as incidents (in the
documented shapes of both APIs); an impossible record is left out with a warning naming its row, and
the rest are kept — so the imported file passes ``alertsim validate``."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alertsim.cli import app
from alertsim.io.incidents import read_incidents
from alertsim.io.opsgenie import read_opsgenie
from alertsim.io.pagerduty import read_pagerduty


def _ref(kind: str, ident: str, summary: str) -> dict[str, str]:
    return {"id": ident, "type": f"{kind}_reference", "summary": summary,
            "self": f"https://api.pagerduty.com/{kind}s/{ident}", "html_url": f"https://acme.pagerduty.com/{ident}"}


REST = {
    "incidents": [
        {"id": "PT4KHLK", "type": "incident", "summary": "[#1234] The server is on fire.", "incident_number": 1234,
         "title": "The server is on fire.", "created_at": "2026-03-02T10:00:00Z", "status": "resolved",
         "last_status_change_at": "2026-03-02T10:45:00Z", "urgency": "high",
         "service": _ref("service", "PIJ90N7", "checkout"), "priority": _ref("priority", "P53ZZH5", "P1"),
         "escalation_policy": _ref("escalation_policy", "PT20YPA", "Storefront"),
         "teams": [_ref("team", "PQ9K7I8", "Storefront")],
         "assignments": [{"at": "2026-03-02T10:00:05Z", "assignee": _ref("user", "PXPGF42", "Earline Greenholt")}],
         "acknowledgements": [], "incident_key": "baf7cf21b1da41b4b0221008339ff357"},
        {"id": "PT4KHLM", "type": "incident", "summary": "[#1235] Disk full", "incident_number": 1235,
         "title": "Disk full", "created_at": "2026-03-03T08:00:00Z", "status": "acknowledged",
         "last_status_change_at": "2026-03-03T08:03:00Z", "urgency": "low",
         "service": _ref("service", "PIJ90N8", "search"), "priority": None,
         "escalation_policy": _ref("escalation_policy", "PT20YPB", "Search"), "teams": [],
         "assignments": [],
         "acknowledgements": [{"at": "2026-03-03T08:03:00Z", "acknowledger": _ref("user", "PXPGF43", "Ana Lim")}]},
        {"id": "PBADTIME", "type": "incident", "incident_number": 1236, "title": "Clock skew",
         "created_at": "2026-03-04T08:00:00Z", "status": "resolved", "resolved_at": "2026-03-04T07:00:00Z",
         "urgency": "high", "service": _ref("service", "PIJ90N7", "checkout")},
    ],
    "limit": 25, "offset": 0, "more": False, "total": None,
}

OPSGENIE = {
    "data": [
        {"id": "70413a06-38d6-4c85-92b8-5ebc900d42e2", "tinyId": "1791", "alias": "event_573",
         "message": "Our servers are in danger", "status": "closed", "acknowledged": True, "isSeen": True,
         "tags": ["OverwriteQuietHours", "Critical"], "snoozed": False, "count": 79,
         "lastOccurredAt": "2026-03-02T10:10:00.000Z", "createdAt": "2026-03-02T10:00:00.000Z",
         "updatedAt": "2026-03-02T10:20:00.000Z", "source": "Isengard", "owner": "morpheus@opsgenie.com",
         "priority": "P1", "teams": [{"id": "8418d193-2dab-4490-b331-8c02cdd196b7", "name": "storage"}],
         "responders": [], "integration": {"id": "4513b7ea", "name": "Nebuchadnezzar", "type": "API"},
         "report": {"ackTime": 15702, "closeTime": 60101, "acknowledgedBy": "agent_smith@opsgenie.com",
                    "closedBy": "neo@opsgenie.com"}},
        {"id": "8418d193-2dab-4490-b331-8c02cdd196b7", "tinyId": "1792", "message": "Backup failed",
         "status": "open", "acknowledged": False, "createdAt": "2026-03-03T10:00:00.000Z", "source": "cron",
         "priority": "P3", "teams": [], "report": {}},
    ],
    "paging": {"first": "https://api.opsgenie.com/v2/alerts?limit=20&offset=0"}, "took": 0.605,
    "requestId": "9ae63dd7-ed00-4c81-86f0-c4ffd33142c9",
}


def test_pagerduty_rest_incidents(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "incidents.json"
    path.write_text(json.dumps(REST))
    with caplog.at_level(logging.WARNING):
        frame = read_pagerduty(path)
    assert frame.select("incident_id", "service", "severity", "urgency", "responder").rows() == [
        ("PT4KHLK", "checkout", "P1", "high", "Earline Greenholt"), ("PT4KHLM", "search", None, "low", "Ana Lim")]
    first, second = frame.rows(named=True)
    assert (first["resolved_at"] - first["started_at"]).total_seconds() == 45 * 60
    assert second["resolved_at"] is None and (second["acknowledged_at"] - second["started_at"]).seconds == 180
    assert "row 3: incident PBADTIME was resolved before it was created; left out" in caplog.text


def test_a_list_of_rest_pages_is_one_export(tmp_path: Path) -> None:
    path = tmp_path / "pages.json"
    path.write_text(json.dumps([{**REST, "incidents": REST["incidents"][:1], "more": True},
                                {**REST, "incidents": REST["incidents"][1:2]}]))
    assert read_pagerduty(path)["incident_id"].to_list() == ["PT4KHLK", "PT4KHLM"]


def test_opsgenie_list_alerts_json(tmp_path: Path) -> None:
    path = tmp_path / "alerts.json"
    path.write_text(json.dumps(OPSGENIE))
    frame = read_opsgenie(path)
    assert frame.select("incident_id", "service", "severity", "responder").rows() == [
        ("1791", "storage", "P1", "agent_smith@opsgenie.com"), ("1792", "cron", "P3", None)]
    first = frame.row(0, named=True)
    assert (first["acknowledged_at"] - first["started_at"]).total_seconds() == 15.702
    assert (first["resolved_at"] - first["started_at"]).total_seconds() == 60.101


def test_the_imported_file_validates(tmp_path: Path) -> None:
    path = tmp_path / "incidents.json"
    path.write_text(json.dumps(REST))
    runner = CliRunner()
    result = runner.invoke(app, ["import", "pagerduty", str(path), "--out", str(tmp_path / "incidents.csv")])
    assert result.exit_code == 0, result.output
    assert read_incidents(tmp_path / "incidents.csv").height == 2
    result = runner.invoke(app, ["validate", str(tmp_path / "incidents.csv"), "--kind", "incidents"])
    assert result.exit_code == 0, result.output
