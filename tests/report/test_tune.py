"""Tuning: one shared replay of a grid, scores per candidate, Pareto frontier, budget recommendations."""

from __future__ import annotations

import polars as pl
import pytest

from alertsim.errors import ConfigError
from alertsim.replay import replay
from alertsim.rules import parse_rules
from alertsim.series import prepare
from alertsim.tune import dominated, parse_budget, tune
from tests.report.conftest import GRID


@pytest.mark.parametrize(("text", "per_week"), [("2/week", 2.0), ("1/day", 7.0), ("30/month", 7.0),
                                                 ("0.5/week", 0.5), (3, 3.0)])
def test_budget_grammar(text, per_week):
    assert parse_budget(text) == pytest.approx(per_week)


@pytest.mark.parametrize("text", ["2 per week", "week", "-1/week", "2/fortnight", ""])
def test_bad_budget_is_a_config_error(text):
    with pytest.raises(ConfigError, match="budget"):
        parse_budget(text)


def test_domination_case_table():
    # recall ↑, pages ↓, ttd ↓: c is dominated by a (same recall, more pages, slower); b trades off.
    import numpy as np

    recall = np.array([1.0, 0.5, 1.0, np.nan])
    pages = np.array([2.0, 1.0, 3.0, 0.5])
    ttd = np.array([60.0, 30.0, 120.0, np.nan])
    assert dominated(recall, pages, ttd).tolist() == [False, False, True, False]


def test_tune_scores_every_candidate_once_and_recommends_within_budget(world):
    rules = parse_rules(GRID)
    result = tune(world["metrics"], rules, world["incidents"], budget="3/week")
    assert result.candidates.height == len(rules) == 8
    # The greedy recommendation picks one candidate per rule family.
    assert sorted(result.recommendations["family"].to_list()) == ["CPUZ", "HighCPU"]
    # Every recommended candidate is on its frontier.
    assert result.candidates.filter(pl.col("recommended"))["frontier"].all()
    # Scores agree with a separate replay of one candidate.
    one = next(r for r in rules if r.name == "HighCPU[value=70,for=5m]")
    alone = replay(world["metrics"], [one]).alerts
    row = result.candidates.filter(pl.col("rule") == one.name).row(0, named=True)
    assert row["alerts"] == alone.height
    assert row["recall"] == 1.0 and row["precision"] == 1.0


def test_features_are_computed_once_per_window(world):
    prepared = prepare(world["metrics"])
    rules = parse_rules(GRID)
    replay(prepared, rules)
    selection = next(v for k, v in prepared.cache.items() if k[0] == "select")
    value_keys = [k for k in selection.cache if k[0] == "value"]
    zscore_keys = [k for k in selection.cache if k[0] == "ZScoreRule"]
    assert len(value_keys) == 1 and len(zscore_keys) == 1


def _steps() -> dict[str, pl.DataFrame]:
    """Two weeks of a flat cpu series with four incidents of rising height (60, 70, 80, 95)."""
    import datetime as dt

    t0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    n = 14 * 1440
    value = [50.0] * n
    rows = []
    for k, (start, height) in enumerate(zip((2000, 6000, 12000, 17000), (60.0, 70.0, 80.0, 95.0), strict=True)):
        value[start:start + 30] = [height] * 30
        rows.append((f"INC-{k}", "checkout", t0 + dt.timedelta(minutes=start), t0 + dt.timedelta(minutes=start + 30),
                     "SEV2"))
    metrics = pl.DataFrame({"timestamp": [t0 + dt.timedelta(minutes=i) for i in range(n)], "metric": "cpu",
                            "value": value, "service": "checkout"}).with_columns(
        pl.col("timestamp").dt.cast_time_unit("us"))
    incidents = pl.DataFrame(rows, schema=["incident_id", "service", "started_at", "resolved_at", "severity"],
                             orient="row").with_columns(pl.col("started_at", "resolved_at").dt.cast_time_unit("us"))
    return {"metrics": metrics, "incidents": incidents}


def test_a_candidate_far_below_todays_recall_says_consider_removing():
    from alertsim.tune import FAR_BELOW, action

    world = _steps()
    today = parse_rules({"rules": [{"name": "HighCPU", "metric": "cpu", "value": 55,
                                    "labels": {"team": "payments"}}]})
    grid = parse_rules({"rules": [{"name": "HighCPU", "metric": "cpu", "value": [75, 90],
                                   "labels": {"team": "payments"}}]})
    roomy = tune(world["metrics"], grid, world["incidents"], budget="5/week", current=today)
    row = roomy.recommendations.row(0, named=True)
    assert row["current_recall"] == 1.0 and row["current_pages_per_week"] == pytest.approx(2.0, rel=1e-3)
    assert row["rule"] == "HighCPU (today)" and row["action"] == "keep"
    # Within 0.6 pages a week only value=90 fits: it catches one incident in four.
    tight = tune(world["metrics"], grid, world["incidents"], budget="0.6/week", current=today)
    row = tight.recommendations.row(0, named=True)
    assert (row["rule"], row["recall"], row["action"]) == ("HighCPU[value=90]", 0.25, "consider removing")
    assert any(n.code == "consider-removing" and "consider removing" in n.message for n in tight.notices)
    # Within 1.1 a week value=75 fits (half the incidents): still far below today's.
    half = tune(world["metrics"], grid, world["incidents"], budget="1.1/week", current=today)
    assert half.recommendations.select("rule", "recall", "action").row(0) == (
        "HighCPU[value=75]", 0.5, "consider removing")
    # Without today's rules there is nothing to compare with.
    plain = tune(world["metrics"], grid, world["incidents"], budget="0.6/week")
    assert plain.recommendations["action"].to_list() == ["retune"]
    assert plain.recommendations["current_recall"].to_list() == [None]
    assert action(0.79, 1.0) == "consider removing" and action(0.8, 1.0) == "retune" and FAR_BELOW == 0.8


def test_the_report_never_retunes_silently_to_a_much_worse_rule(world):
    from alertsim.report.html import recommendations

    quality = pl.DataFrame({"rule": ["HighCPU"], "recall": [1.0], "precision": [0.9]})
    alerts = pl.DataFrame({"rule": ["HighCPU"] * 6, "severity": ["page"] * 6})
    tuned = pl.DataFrame({"family": ["HighCPU"], "rule": ["HighCPU[value=90]"], "pages_per_week": [0.5],
                          "recall": [0.25]})
    recs = recommendations({"quality": quality, "alerts": alerts, "tune_recommendations": tuned}, weeks=2.0)
    assert recs["action"][0].startswith("consider removing") and "25%" in recs["action"][0]
    assert recs["recall_lost"][0] == 1.0 and recs["pages_saved_per_week"][0] == 3.0
    kept = tuned.with_columns(pl.lit(0.9).alias("recall"))
    recs = recommendations({"quality": quality, "alerts": alerts, "tune_recommendations": kept}, weeks=2.0)
    assert recs["action"][0] == "retune to HighCPU[value=90]"


def test_tune_cli_prints_the_action(tmp_path):
    from typer.testing import CliRunner

    from alertsim.cli import app

    world = _steps()
    world["metrics"].write_parquet(tmp_path / "m.parquet")
    world["incidents"].write_csv(tmp_path / "i.csv")
    import yaml

    (tmp_path / "grid.yaml").write_text(yaml.safe_dump({"rules": [
        {"name": "HighCPU", "metric": "cpu", "value": [75, 90], "labels": {"team": "payments"}}]}))
    (tmp_path / "today.yaml").write_text(yaml.safe_dump({"rules": [
        {"name": "HighCPU", "metric": "cpu", "value": 55, "labels": {"team": "payments"}}]}))
    result = CliRunner().invoke(app, ["tune", str(tmp_path / "m.parquet"), "--rules", str(tmp_path / "grid.yaml"),
                                      "--incidents", str(tmp_path / "i.csv"), "--budget", "0.6/week", "--current",
                                      str(tmp_path / "today.yaml"), "--out", str(tmp_path / "run")],
                                env={"COLUMNS": "150"})
    assert result.exit_code == 0, result.output
    assert "consider removing" in result.stdout and "consider removing" in result.stderr


def test_the_reports_tuning_table_compares_with_todays_rules(tmp_path):
    from alertsim.io.rundir import write_run
    from alertsim.report.html import build_report

    world = _steps()
    grid = parse_rules({"rules": [{"name": "HighCPU", "metric": "cpu", "value": [75, 90],
                                   "labels": {"team": "payments"}}]})
    tuned = tune(world["metrics"], grid, world["incidents"], budget="0.6/week")
    assert tuned.recommendations["action"].to_list() == ["retune"]  # nothing to compare with here
    from alertsim.quality.detection import score

    today = replay(world["metrics"], parse_rules({"rules": [{"name": "HighCPU", "metric": "cpu", "value": 55}]}))
    quality = score(today.alerts, world["incidents"], rules=["HighCPU"])
    assert quality["recall"].to_list() == [1.0]
    run = write_run(tmp_path / "run", {"quality": quality, "tune_candidates": tuned.candidates,
                                       "tune_recommendations": tuned.recommendations},
                    manifest={"command": "test"})
    markdown = (build_report(run, tmp_path / "report") / "report.md").read_text()
    row = next(line for line in markdown.splitlines() if line.startswith("| HighCPU | payments"))
    assert row.rstrip(" |").endswith("consider removing")
