"""The quality commands end to end on small files: score, fatigue, response, nab score/run, import."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from alertsim.cli import app
from alertsim.io.incidents import read_incidents
from alertsim.io.rundir import read_frame, read_manifest, write_run
from tests.conftest import require_shared
from tests.quality.test_detection import ALERTS_API, ALERTS_DB, alerts_frame
from tests.quality.test_fatigue import PAGES_WEEK, SHIFTS_WEEK

DATA = Path(__file__).parent / "data"
runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result.output


def test_score_writes_quality_and_missed(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", {"alerts": alerts_frame(ALERTS_API + ALERTS_DB)},
                    manifest={"command": "replay", "start": "2026-03-02T00:00:00+00:00",
                              "end": "2026-03-09T00:00:00+00:00"})
    incidents = tmp_path / "incidents.csv"
    incidents.write_text("incident_id,service,started_at,resolved_at,severity\n"
                         "INC-1,api,2026-03-02T10:00:00Z,2026-03-02T11:00:00Z,SEV2\n"
                         "INC-2,api,2026-03-02T14:00:00Z,2026-03-02T14:30:00Z,SEV2\n"
                         "INC-3,db,2026-03-02T20:00:00Z,,SEV1\n")
    output = invoke("score", run, "--incidents", incidents)
    assert "ApiErrors" in output and "Incidents no rule caught" in output
    quality = read_frame(run, "quality")
    api = quality.filter(pl.col("rule") == "ApiErrors").row(0, named=True)
    assert (api["precision"], api["false_alerts_per_week"]) == (0.75, 1.0)   # the run's 7-day period
    assert read_frame(run, "missed")["incident_id"].to_list() == ["INC-3"]
    assert read_manifest(run)["steps"][-1]["command"] == "score"
    invoke("score", run, "--incidents", incidents, "--early", "10m")
    assert read_frame(run, "missed").is_empty()


def test_fatigue_from_files_into_a_new_run(tmp_path: Path) -> None:
    pages, shifts = tmp_path / "pages.parquet", tmp_path / "shifts.csv"
    PAGES_WEEK.write_parquet(pages)
    SHIFTS_WEEK.with_columns(pl.col("start_at", "end_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).write_csv(shifts)
    output = invoke("fatigue", pages, "--shifts", shifts, "--out", tmp_path / "out",
                    "--start", "2026-01-05T00:00:00Z", "--end", "2026-01-12T00:00:00Z")
    assert "SRE book check (≤ 2 pages per 12 h shift): 5 of 6 shifts pass" in output
    people = read_frame(tmp_path / "out", "fatigue_responders")
    assert dict(zip(people["responder"], people["interruptions"], strict=True)) == {
        "ana": 4, "bo": 2, "dee": 2, "cy": 0}
    fairness = read_frame(tmp_path / "out", "fairness")
    assert fairness.filter(pl.col("burden") == "interruptions")["gini"].item() == pytest.approx(0.375)
    assert read_manifest(tmp_path / "out")["start"].startswith("2026-01-05")


def test_fatigue_on_a_run_directory_uses_its_roster_and_writes_into_it(tmp_path: Path) -> None:
    history = PAGES_WEEK.with_columns(acknowledged_at=pl.col("paged_at") + pl.duration(minutes=3),
                                      resolved_at=pl.col("paged_at") + pl.duration(minutes=20))
    roster = pl.DataFrame({"responder": ["ana"], "tz": ["Asia/Tokyo"]})
    run = write_run(tmp_path / "run", {"pages": history, "shifts": SHIFTS_WEEK, "roster": roster},
                    manifest={"command": "test"})
    invoke("fatigue", run)
    interruptions = read_frame(run, "interruptions")
    assert interruptions.filter(pl.col("responder") == "ana")["tz"].unique().to_list() == ["Asia/Tokyo"]
    assert read_frame(run, "response_times")["mtta"].item().total_seconds() == 180
    assert read_frame(run, "trend_tta").height == 1


def test_response_command(tmp_path: Path) -> None:
    imported = tmp_path / "incidents.parquet"
    invoke("import", "pagerduty", DATA / "pagerduty_legacy.csv", "--tz", "America/New_York", "--out", imported)
    output = invoke("response", imported, "--by", "service", "--out", tmp_path / "run")
    assert "checkout" in output and "postgres" in output
    table = read_frame(tmp_path / "run", "response_times")
    checkout = table.filter(pl.col("service") == "checkout").row(0, named=True)
    assert checkout["mtta"].total_seconds() == (95 + 600) / 2
    assert checkout["mttr"].total_seconds() == 2670             # the open incident is not counted


@pytest.mark.parametrize(("command", "source", "extra"), [
    ("pagerduty", "pagerduty_analytics.json", []),
    ("pagerduty", "pagerduty_insights.csv", ["--format", "insights"]),
    ("opsgenie", "opsgenie_alerts.csv", []),
])
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_import_writes_a_readable_incidents_file(tmp_path: Path, command: str, source: str, extra: list[str],
                                                 suffix: str) -> None:
    out = tmp_path / f"incidents{suffix}"
    invoke("import", command, DATA / source, "--out", out, *extra)
    assert read_incidents(out).height in (2, 3)


def test_import_errors_are_reported_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,service_name,created_on\nP1,web,never\n")
    result = runner.invoke(app, ["import", "pagerduty", str(bad), "--out", str(tmp_path / "x.parquet")])
    assert result.exit_code == 2
    assert "row 1, column 'created_on'" in result.output and "Traceback" not in result.output


def test_nab_score_json_reproduces_the_published_numbers() -> None:
    corpus = require_shared("data", "nab")
    output = invoke("nab", "score", corpus / "results" / "windowedGaussian", "--corpus", corpus, "--json")
    scores = json.loads(output)
    assert list(scores) == ["standard", "reward_low_FP_rate", "reward_low_FN_rate"]
    assert scores == pytest.approx({"standard": 39.65, "reward_low_FP_rate": 20.87,
                                    "reward_low_FN_rate": 47.41}, abs=0.01)


def tiny_corpus(root: Path) -> Path:
    """One 40-row file, 5-minute samples, a window on rows 20..23 and a spike on row 20."""
    (root / "data" / "f").mkdir(parents=True)
    (root / "labels").mkdir()
    start = np.datetime64("2026-01-01T00:00")
    stamps = [str(start + np.timedelta64(5 * i, "m")).replace("T", " ") + ":00" for i in range(40)]
    values = [50.0 if 20 <= i <= 22 else 1.0 for i in range(40)]
    (root / "data" / "f" / "x.csv").write_text(
        "timestamp,value\n" + "".join(f"{t},{v}\n" for t, v in zip(stamps, values, strict=True)))
    (root / "labels" / "combined_windows.json").write_text(json.dumps(
        {"f/x.csv": [[stamps[20] + ".000000", stamps[23] + ".000000"]]}))
    return root


def test_nab_run_scores_the_row_at_which_the_alert_fires(tmp_path: Path) -> None:
    corpus = tiny_corpus(tmp_path / "nab")
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {name: Spike, kind: threshold, metric: value, op: '>', value: 10}\n")
    # The rule fires at the first evaluation that sees row 20: a detection on the window's first row.
    assert json.loads(invoke("nab", "run", "--rules", rules, "--corpus", corpus, "--json")) == {
        "standard": 100.0, "reward_low_FP_rate": 100.0, "reward_low_FN_rate": 100.0}
    late = tmp_path / "late.yaml"
    late.write_text("rules:\n  - {name: Slow, kind: threshold, metric: value, op: '>', value: 10, for: 10m}\n")
    scores = json.loads(invoke("nab", "run", "--rules", late, "--corpus", corpus, "--json"))
    # Fires 10 minutes later, at row 22 of the 4-row window: σ(−2/4)/σ(−1) = tanh(1.25)/tanh(2.5).
    raw = float(np.tanh(1.25) / np.tanh(2.5))
    assert scores["standard"] == pytest.approx(100 * (raw + 1) / 2)


def test_nab_run_table_by_rule(tmp_path: Path) -> None:
    corpus = tiny_corpus(tmp_path / "nab")
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {name: Spike, kind: threshold, metric: value, op: '>', value: 10}\n"
                     "  - {name: Never, kind: threshold, metric: value, op: '>', value: 1000}\n")
    output = invoke("nab", "run", "--rules", rules, "--corpus", corpus, "--by-rule")
    assert "all rules" in output and "Never" in output


def test_start_without_end_is_an_error(tmp_path: Path) -> None:
    PAGES_WEEK.write_parquet(tmp_path / "pages.parquet")
    result = runner.invoke(app, ["fatigue", str(tmp_path / "pages.parquet"), "--start", "2026-01-05T00:00:00Z"])
    assert result.exit_code == 2 and "give both --start and --end" in result.output


def test_an_instant_option_must_be_iso(tmp_path: Path) -> None:
    PAGES_WEEK.write_parquet(tmp_path / "pages.parquet")
    result = runner.invoke(app, ["fatigue", str(tmp_path / "pages.parquet"), "--start", "monday",
                                 "--end", "2026-01-12T00:00:00Z"])
    assert result.exit_code == 2 and "'monday' is not an ISO-8601 instant" in result.output


def test_fatigue_from_an_imported_incident_history(tmp_path: Path) -> None:
    imported = tmp_path / "incidents.parquet"
    invoke("import", "pagerduty", DATA / "pagerduty_legacy.csv", "--tz", "America/New_York", "--extras",
           "--out", imported)
    invoke("fatigue", imported, "--from-incidents", "--default-tz", "America/New_York", "--out", tmp_path / "run")
    people = read_frame(tmp_path / "run", "fatigue_responders")
    # Paged: the first assignee. PT4KHLK 02:14 and PX9Y7W2 23:59 New York time are sleep hours.
    assert people.select("responder", "interruptions", "sleep").rows() == [("Ana Silva", 2, 2), ("Cy Diaz", 1, 0)]
    rules = read_frame(tmp_path / "run", "fatigue_rules")
    assert rules["rule"].to_list() == ["Checkout latency high", "Disk 90% on db-3", "Payment errors"]
