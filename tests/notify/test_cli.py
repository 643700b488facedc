"""``alertsim notify RUN_DIR --config alertmanager.yml`` on a replay-like run directory."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from alertsim.cli import app
from alertsim.io.rundir import read_frame, read_manifest, write_run
from tests.conftest import REPO
from tests.notify.helpers import T0, alerts_frame

SAMPLE_CONFIG = REPO / "data" / "alertmanager" / "sample.yml"
HOUR = 3600.0

# Two days of the sample services: page and ticket alerts, one still firing at the end.
ROWS = [
    (1, {"alertname": "HighLatency", "service": "checkout", "severity": "page"}, 1 * HOUR, 1.5 * HOUR),
    (2, {"alertname": "QueueBacklog", "service": "checkout", "severity": "ticket"}, 1.1 * HOUR, 3 * HOUR),
    (3, {"alertname": "HighErrorRate", "service": "payments", "severity": "page"}, 20 * HOUR, 20.2 * HOUR),
    (4, {"alertname": "QueueBacklog", "service": "search", "severity": "ticket"}, 13 * HOUR, 35 * HOUR),
    (5, {"alertname": "HighLatency", "service": "search", "severity": "page"}, 40 * HOUR, None),
]


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    out = tmp_path / "run"
    write_run(out, {"alerts": alerts_frame(ROWS)}, manifest={
        "command": "replay", "start": T0.isoformat(), "end": (T0 + timedelta(hours=48)).isoformat()})
    return out


def test_notify_writes_notifications_and_pages(run_dir: Path):
    result = CliRunner().invoke(app, ["notify", str(run_dir), "--config", str(SAMPLE_CONFIG)])
    assert result.exit_code == 0, result.output
    notifications = read_frame(run_dir, "notifications")
    pages = read_frame(run_dir, "pages")
    assert (run_dir / "notifications.csv").is_file() and (run_dir / "pages.csv").is_file()
    # three page alerts → three pages; the ticket alerts never page
    assert sorted(pages["receiver"].to_list()) == ["payments-pager", "storefront-pager", "storefront-pager"]
    assert pages["urgency"].to_list() == ["high"] * 3
    assert set(notifications["receiver"]) == {"storefront-pager", "payments-pager", "tickets"}
    step = read_manifest(run_dir)["steps"][-1]
    assert step["command"] == "notify" and step["config"]["sha256"]
    assert "pages" in result.output and "wrote" in result.output


def test_ticket_alerts_wait_for_business_hours_and_pages_inhibit_them(run_dir: Path):
    """T0 is Monday 09:00 UTC (10:00 in Berlin). Alert 2 (checkout ticket) fires at 10:06 UTC while
    alert 1 pages for checkout until 10:30: inhibited at the 10:11 flush, ticketed at 10:41. Alert 4
    (search ticket) fires at 22:00 UTC, outside business hours, and waits for 08:00 Berlin."""
    CliRunner().invoke(app, ["notify", str(run_dir), "--config", str(SAMPLE_CONFIG)])
    tickets = read_frame(run_dir, "notifications").filter(pl.col("receiver") == "tickets")
    first = tickets.group_by("alert_ids").agg(pl.col("sent_at").min()).sort("sent_at")
    hours = [(t - T0).total_seconds() / HOUR for t in first["sent_at"]]
    # group_wait 5m, group_interval 30m from 10:06 → flushes 10:11, 10:41 (page resolved at 10:30)
    assert first["alert_ids"].to_list()[:2] == [[2], [4]]
    assert hours[0] == pytest.approx(1 + 6 / 60 + 5 / 60 + 30 / 60)
    # flushes at 22:05 UTC + k·30m: the first at or after 07:00 UTC (08:00 Berlin) is 07:05
    assert hours[1] == pytest.approx(22 + 5 / 60)


@pytest.mark.parametrize(("args", "message"), [
    (["--config", "missing.yml"], "cannot read Alertmanager config"),
    (["--config", str(SAMPLE_CONFIG), "--paging-receiver", "nobody"], "unknown paging receiver"),
    (["--config", str(SAMPLE_CONFIG), "--page-on", "always"], "page_on"),
])
def test_errors_are_reported_without_traceback(run_dir: Path, args, message):
    result = CliRunner().invoke(app, ["notify", str(run_dir), *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_a_directory_without_alerts_is_an_input_error(tmp_path: Path):
    result = CliRunner().invoke(app, ["notify", str(tmp_path), "--config", str(SAMPLE_CONFIG)])
    assert result.exit_code == 2 and "not a run directory" in result.output


def test_silences_file_is_applied(run_dir: Path, tmp_path: Path):
    silences = tmp_path / "silences.json"
    silences.write_text(json.dumps([{
        "matchers": [{"name": "service", "value": "payments", "isRegex": False, "isEqual": True}],
        "startsAt": T0.isoformat(), "endsAt": T0.replace(day=5).isoformat()}]))
    result = CliRunner().invoke(app, ["notify", str(run_dir), "--config", str(SAMPLE_CONFIG),
                                      "--silences", str(silences)])
    assert result.exit_code == 0, result.output
    assert "payments-pager" not in read_frame(run_dir, "pages")["receiver"].to_list()
