"""``alertsim diff``: BASE and HEAD rules side by side on the same history. Each side's figures are
exactly those of separate ``replay`` + ``notify`` + ``score`` runs of its rule file."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from alertsim.cli import app
from alertsim.diff import TOTAL, diff, match_rules, parse_fail_on
from alertsim.errors import ConfigError
from alertsim.rules import parse_rules

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "data" / "rules" / "sample.yaml"
METRICS = ROOT / "data" / "sample" / "metrics.parquet"
INCIDENTS = ROOT / "data" / "sample" / "incidents.parquet"
AM = ROOT / "data" / "alertmanager" / "sample.yml"


def _tuned(path: Path) -> Path:
    """The sample rules with HighLatency paging above 800 ms instead of 500 ms."""
    text = RULES.read_text()
    start = text.index("name: HighLatency")
    path.write_text(text[:start] + text[start:].replace("value: 0.5", "value: 0.8", 1))
    return path


def _weeks(span: dict) -> float:
    return (datetime.fromisoformat(span["end"]) - datetime.fromisoformat(span["start"])) / timedelta(weeks=1)


def _invoke(*args: object) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code in (0, 1), result.output
    return result.output


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The diff of the sample and its tuned copy, and separate replay+notify+score runs of both."""
    tmp = tmp_path_factory.mktemp("diff")
    tuned = _tuned(tmp / "tuned.yaml")
    separate = {}
    for side, rules in (("base", RULES), ("head", tuned)):
        run = tmp / side
        _invoke("replay", METRICS, "--rules", rules, "--out", run)
        _invoke("notify", run, "--config", AM)
        _invoke("score", run, "--incidents", INCIDENTS)
        separate[side] = run
    _invoke("diff", RULES, tuned, "--metrics", METRICS, "--incidents", INCIDENTS, "--alertmanager", AM,
            "--fail-on", "missed>0", "--out", tmp / "review")
    return tmp / "review", separate


def test_each_sides_numbers_equal_separate_replay_notify_score_runs(runs):
    review, separate = runs
    report = json.loads((review / "diff.json").read_text())
    weeks = _weeks(json.loads((separate["base"] / "manifest.json").read_text()))
    rows = {row["rule"]: row for row in report["table"]}
    assert list(rows) == ["HighLatency", TOTAL]
    for side, run in separate.items():
        alerts, pages = pl.read_parquet(run / "alerts.parquet"), pl.read_parquet(run / "pages.parquet")
        quality = pl.read_parquet(run / "quality.parquet").filter(pl.col("rule") == "HighLatency").row(0, named=True)
        high = rows["HighLatency"]
        assert high[f"{side}_alerts"] == alerts.filter(pl.col("rule") == "HighLatency").height
        assert high[f"{side}_pages"] == pages.filter(pl.col("rule") == "HighLatency").height
        assert high[f"{side}_pages_per_week"] == pytest.approx(high[f"{side}_pages"] / weeks)
        assert high[f"{side}_incidents_caught"] == quality["incidents_detected"]
        assert high[f"{side}_ttd_median"] == quality["time_to_detect_median"].total_seconds()
        assert high[f"{side}_ttd_p90"] == quality["time_to_detect_p90"].total_seconds()
        assert rows[TOTAL][f"{side}_alerts"] == alerts.height
        assert rows[TOTAL][f"{side}_pages"] == pages.height
        # the side's own run directory holds the same frames
        assert pl.read_parquet(review / side / "alerts.parquet").equals(alerts)
        assert pl.read_parquet(review / side / "pages.parquet").drop("page_id").equals(pages.drop("page_id"))


def test_the_summary_is_a_pr_ready_table_with_the_same_numbers(runs):
    review, separate = runs
    summary = (review / "diff.md").read_text()
    base = pl.read_parquet(separate["base"] / "pages.parquet").filter(pl.col("rule") == "HighLatency").height
    head = pl.read_parquet(separate["head"] / "pages.parquet").filter(pl.col("rule") == "HighLatency").height
    weeks = _weeks(json.loads((review / "diff.json").read_text()))
    row = next(line for line in summary.splitlines() if line.startswith("| `HighLatency`"))
    assert f"{base / weeks:.1f} → {head / weeks:.1f}" in row
    assert "| Rule | Change | Pages/week |" in summary
    assert "<details><summary>" in summary and summary.count("<details>") == summary.count("</details>")
    assert "**Regression:** HighLatency: missed>0" in summary


CPU = {"name": "CPU", "kind": "threshold", "metric": "cpu", "op": ">", "value": 80}


@pytest.mark.parametrize(("base", "head", "changes"), [
    ([CPU], [CPU], [("CPU", "unchanged")]),
    ([CPU], [{**CPU, "value": 90}], [("CPU", "changed")]),
    ([CPU], [{**CPU, "name": "HostCPU"}], [("HostCPU", "renamed")]),
    ([CPU], [], [("CPU", "removed")]),
    ([], [CPU], [("CPU", "added")]),
    ([CPU], [{**CPU, "name": "HostCPU", "value": 90}], [("HostCPU", "added"), ("CPU", "removed")]),
])
def test_rules_are_matched_by_name_and_renames_by_content(base, head, changes):
    matched = match_rules(parse_rules({"rules": base}) if base else [], parse_rules({"rules": head}) if head else [])
    assert matched.select("rule", "change").rows() == changes


@pytest.mark.parametrize(("text", "row", "crossed"), [
    ("pages+50%", {"base_pages_per_week": 2.0, "head_pages_per_week": 3.5}, True),
    ("pages+50%", {"base_pages_per_week": 2.0, "head_pages_per_week": 2.9}, False),
    ("pages+50%", {"base_pages_per_week": 0.0, "head_pages_per_week": 0.1}, True),
    ("pages+1", {"base_pages_per_week": 2.0, "head_pages_per_week": 3.5}, True),
    ("missed>0", {"newly_missed": 1}, True),
    ("missed>0", {"newly_missed": 0}, False),
    ("pages>2", {"base_pages_per_week": 9.0, "head_pages_per_week": 1.5}, False),
    ("ttd_p90+5m", {"base_ttd_p90": timedelta(minutes=1), "head_ttd_p90": timedelta(minutes=7)}, True),
    ("sleep+0", {"base_sleep_pages_per_week": 1.0, "head_sleep_pages_per_week": 1.0}, False),
])
def test_fail_on_thresholds(text, row, crossed):
    assert (parse_fail_on(text).crossed(row) is not None) is crossed


@pytest.mark.parametrize("text", ["pages", "pages*2", "noise+1", "ttd_p90+soon"])
def test_a_bad_fail_on_names_what_is_allowed(text):
    with pytest.raises(ConfigError, match="METRIC"):
        parse_fail_on(text)


def test_a_directory_of_rule_files_is_one_side(tmp_path):
    from alertsim.datasets import load_sample

    (tmp_path / "base").mkdir()
    (tmp_path / "head").mkdir()
    (tmp_path / "base" / "cpu.yaml").write_text("rules:\n- {name: CPU, kind: threshold, metric: cpu, value: 80}\n")
    (tmp_path / "head" / "cpu.yaml").write_text("rules:\n- {name: CPU, kind: threshold, metric: cpu, value: 80}\n")
    (tmp_path / "head" / "queue.yml").write_text(
        "rules:\n- {name: Queue, kind: threshold, metric: queue_depth, value: 500, severity: ticket}\n")
    sample = load_sample()
    result = diff(sample.metrics, tmp_path / "base", tmp_path / "head")
    assert result.rules.select("rule", "change").rows() == [("CPU", "unchanged"), ("Queue", "added")]
    assert result.total["head_alerts"] == result.total["base_alerts"] + result.table.row(0, named=True)["head_alerts"]
    assert result.total["head_pages"] == result.total["base_pages"]  # a ticket is not a page


def test_a_rule_defined_twice_across_files_is_an_error(tmp_path):
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text("rules:\n- {name: CPU, kind: threshold, metric: cpu, value: 80}\n")
    from alertsim.diff import load_rule_source

    with pytest.raises(ConfigError, match=r"defined in .*a\.yaml and in .*b\.yaml"):
        load_rule_source(tmp_path)
