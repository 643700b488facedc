"""An incident's timeline, computed from a run directory (which rules were pending and firing around it,
which caught it first), and drawn by the report from the frames alone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import yaml

from alertsim.errors import InputError
from alertsim.io.rundir import write_run
from alertsim.quality.timeline import Timeline, incident_timeline
from alertsim.replay import replay
from alertsim.report.postmortem import write_postmortem
from alertsim.rules import parse_rules

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
RULES = {"rules": [{"name": "High", "metric": "cpu", "value": 70, "for": "2m"},
                   {"name": "Higher", "metric": "cpu", "value": 85, "severity": "ticket"}]}


def minute(m: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=m)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six hours of one CPU series, above 70 from minute 120 to 150 and above 85 from 130 to 135; the
    incident runs from minute 118 to 160."""
    root = tmp_path_factory.mktemp("timeline")
    values = [90.0 if 130 <= m < 135 else 75.0 if 120 <= m < 150 else 40.0 for m in range(360)]
    metrics = pl.DataFrame({"timestamp": [minute(m) for m in range(360)], "metric": "cpu", "value": values,
                            "service": "checkout"})
    metrics.write_parquet(root / "metrics.parquet")
    (root / "rules.yaml").write_text(yaml.safe_dump(RULES))
    incidents = pl.DataFrame({"incident_id": ["INC-1"], "service": ["checkout"], "started_at": [minute(118)],
                              "resolved_at": [minute(160)], "severity": ["SEV2"]})
    result = replay(metrics, parse_rules(RULES))
    write_run(root / "run", {"alerts": result.alerts, "incidents": incidents},
              manifest={"command": "test", "start": result.start.isoformat(), "end": result.end.isoformat(),
                        "eval_interval": "1m", "metrics": {"path": str(root / "metrics.parquet")}},
              files={"rules.yaml": root / "rules.yaml"})
    return root / "run"


def test_pending_and_firing_spans_around_the_incident(run_dir: Path) -> None:
    timeline = incident_timeline(run_dir, "INC-1", margin="30m")
    assert (timeline.start, timeline.end) == (minute(88), minute(190))
    spans = timeline.spans.filter(pl.col("rule") == "High").select("state", "start_at", "end_at").rows()
    # pending from the first sample above 70 until `for: 2m` has passed, then firing until it drops
    assert spans == [("pending", minute(120), minute(122)), ("firing", minute(122), minute(150))]
    assert timeline.spans.filter(pl.col("rule") == "Higher").select("state", "start_at").rows() == [
        ("firing", minute(130))]


def test_which_rule_caught_it_first_and_what_it_costs(run_dir: Path) -> None:
    caught = incident_timeline(run_dir, "INC-1").caught
    assert caught.select("rule", "first_fired_at", "time_to_detect").rows() == [
        ("High", minute(122), dt.timedelta(minutes=4)), ("Higher", minute(130), dt.timedelta(minutes=12))]
    # High pages once in the run's six hours (no pages frame: each rule's page-severity alerts); Higher opens
    # tickets
    assert caught["pages_per_week"].round(0).to_list() == [28.0, 0.0]


def test_marks_and_watched_metrics_stay_in_the_window(run_dir: Path) -> None:
    timeline = incident_timeline(run_dir, "INC-1", margin="10m")
    assert timeline.marks == [(minute(160), "resolved")]
    assert timeline.metrics["timestamp"].min() == minute(108)
    assert timeline.metrics["timestamp"].max() == minute(170)


def test_an_unknown_incident_is_an_input_error(run_dir: Path) -> None:
    with pytest.raises(InputError, match="INC-404"):
        incident_timeline(run_dir, "INC-404")


def test_the_report_draws_a_timeline_from_its_frames_alone(tmp_path: Path) -> None:
    """No run directory, no rules, no metrics file: the drawing reads only the Timeline."""
    timeline = Timeline(
        incident_id="INC-9", incident={"incident_id": "INC-9", "started_at": minute(10), "resolved_at": minute(20)},
        start=minute(0), end=minute(30),
        metrics=pl.DataFrame({"series": "cpu", "timestamp": [minute(m) for m in range(30)],
                              "value": [float(m) for m in range(30)]}),
        spans=pl.DataFrame({"rule": ["R"], "series": ["cpu"], "state": ["firing"], "start_at": [minute(12)],
                            "end_at": [minute(20)]}),
        marks=[(minute(20), "resolved"), (minute(13), "page")],
        caught=pl.DataFrame({"rule": ["R"], "first_fired_at": [minute(12)],
                             "time_to_detect": [dt.timedelta(minutes=2)]}))
    out = write_postmortem(timeline, tmp_path / "pm")
    assert (out / "timeline.png").stat().st_size > 10_000
    assert "| R |" in (out / "postmortem.md").read_text()
