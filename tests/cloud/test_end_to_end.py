"""End to end: ``alertsim replay`` on a describe-alarms JSON, an AlertPolicy and a Datadog monitor file over
the sample's metrics gives alert episodes that ``notify``, ``score``, ``fatigue`` and ``report`` use
unchanged; and the cloud importers through the CLI."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from alertsim.cli import app
from alertsim.frames import ALERTS, INCIDENTS, METRICS, validate
from alertsim.io.rundir import read_frame

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"
CLOUD = REPO / "data" / "cloud"
DATA = Path(__file__).parent / "data"
# Two weeks of the sample: incidents INC-001 to INC-006.
PERIOD = ["--start", "2026-03-09T00:00:00Z", "--end", "2026-03-23T00:00:00Z"]


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("cloud-runs")
    out = {}
    for name, rules in (("cloudwatch", "cloudwatch-alarms.json"), ("gcp", "gcp-policy.json"),
                        ("datadog", "datadog-monitors.json")):
        run = base / name
        invoke("replay", SAMPLE / "metrics.parquet", "--rules", CLOUD / rules, "--out", run, *PERIOD)
        out[name] = run
    return out


@pytest.mark.parametrize("dialect", ["cloudwatch", "gcp", "datadog"])
def test_replay_notify_score_fatigue(runs: dict[str, Path], dialect: str) -> None:
    run = runs[dialect]
    alerts = validate(read_frame(run, "alerts"), ALERTS)
    assert alerts.height > 0
    assert alerts.select(pl.col("fired_at") == pl.col("active_at")).to_series().all()   # vendor spans: for = 0
    assert set(alerts["rule"].unique()) <= {r for r in pl.read_csv(run / "alerts.csv")["rule"]}
    invoke("notify", run, "--config", REPO / "data" / "alertmanager" / "sample.yml")
    invoke("score", run, "--incidents", SAMPLE / "incidents.csv")
    quality = read_frame(run, "quality")
    # Every rule file detects incidents of the sample (its alerts carry the `service` label).
    assert quality["true_alerts"].sum() > 0
    invoke("fatigue", run, "--shifts", SAMPLE / "shifts.csv", "--roster", SAMPLE / "roster.csv",
           "--incidents", SAMPLE / "incidents.csv")
    assert read_frame(run, "fatigue_responders").height > 0


def test_the_latency_alarms_catch_the_incidents_without_noise(runs: dict[str, Path]) -> None:
    quality = read_frame(runs["cloudwatch"], "quality").filter(pl.col("rule").str.contains("latency"))
    assert quality["false_alerts"].sum() == 0 and quality["true_alerts"].sum() >= 3


def test_report_uses_a_cloud_replay(runs: dict[str, Path], tmp_path: Path) -> None:
    run = runs["gcp"]
    if not (run / "pages.parquet").exists():
        invoke("notify", run, "--config", REPO / "data" / "alertmanager" / "sample.yml")
    invoke("report", run, "--out", tmp_path / "report")
    html = (tmp_path / "report" / "index.html").read_text()
    assert "Larkspur p99 latency above 500 ms" in html


@pytest.mark.parametrize(("command", "source", "extra", "schema"), [
    ("splunk-oncall", "splunk_oncall_incidents.json", [], INCIDENTS),
    ("squadcast", "squadcast_export.json", [], INCIDENTS),
    ("squadcast", "squadcast_export.csv", ["--extras"], INCIDENTS),
    ("cloudwatch-metrics", "cloudwatch_metric_data.json", ["--queries", str(DATA / "cloudwatch_queries.json")],
     METRICS),
    ("cloudwatch-csv", "cloudwatch_console.csv", ["--metric", "cpu", "--label", "instance"], METRICS),
    ("gcp-metrics", "gcp_time_series.json", [], METRICS),
    ("datadog-metrics", "datadog_query.json", [], METRICS),
])
def test_import_commands(tmp_path: Path, command: str, source: str, extra: list[str], schema: object) -> None:
    out = tmp_path / "out.parquet"
    invoke("import", command, DATA / source, "--out", out, *extra)
    frame = pl.read_parquet(out)
    validate(frame, schema)  # type: ignore[arg-type]
    csv = tmp_path / "out.csv"
    invoke("import", command, DATA / source, "--out", csv, *extra)
    assert pl.read_csv(csv).height == frame.height


def test_imported_incidents_feed_the_response_command(tmp_path: Path) -> None:
    out = tmp_path / "incidents.csv"
    invoke("import", "splunk-oncall", DATA / "splunk_oncall_incidents.json", "--out", out)
    assert "mtta" in invoke("response", out).lower()


def test_a_bad_import_fails_cleanly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = CliRunner().invoke(app, ["import", "splunk-oncall", str(bad), "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and "not a readable JSON file" in result.output


def test_native_rules_with_the_cloudwatch_option_set(tmp_path: Path) -> None:
    run = tmp_path / "run"
    output = invoke("replay", SAMPLE / "metrics.parquet", "--rules", CLOUD / "cloudwatch-style.yaml", "--out", run,
                    *PERIOD)
    alerts = read_frame(run, "alerts")
    assert set(alerts["rule"]) == {"CPUHot[datapoints_to_alarm=2]", "CPUHot[datapoints_to_alarm=3]", "SlowP99"}
    # 3 of 3 is stricter than 2 of 3: fewer, shorter alarms.
    counts = dict(alerts.group_by("rule").len().rows())
    assert counts["CPUHot[datapoints_to_alarm=3]"] < counts["CPUHot[datapoints_to_alarm=2]"]
    assert "cloudwatch" in output
