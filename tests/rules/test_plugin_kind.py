"""One contract for every rule kind: a kind defined outside alertsim (``tests/rules/toy_kind.py``) loads
from its own file format, replays, lints, replays partition by partition and is tuned, with no change to
alertsim — the engine, the linter and the partitioned replay call the contract and never ask a rule's kind."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from alertsim.io.ingest import ingest
from alertsim.lint import lint_rules
from alertsim.replay import replay
from alertsim.rules import DIALECTS, load_rules
from alertsim.scale import open_dataset, replay_dataset
from alertsim.tune import tune
from tests.rules.toy_kind import RISING, RisingRule

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
#: Two series sampled every minute: ``a`` rises for minutes 2..6, ``b`` never rises three times running.
VALUES = {"a": [5, 5, 6, 7, 8, 9, 10, 3, 3, 3], "b": [1, 2, 1, 2, 1, 2, 1, 2, 1, 2]}


@pytest.fixture
def metrics() -> pl.DataFrame:
    return pl.DataFrame({
        "timestamp": [T0 + dt.timedelta(minutes=m) for _ in VALUES for m in range(10)],
        "metric": "queue_depth",
        "value": [float(v) for values in VALUES.values() for v in values],
        "host": [host for host in VALUES for _ in range(10)],
    })


@pytest.fixture
def rule_file(tmp_path: Path) -> Path:
    path = tmp_path / "rising.yaml"
    path.write_text("rising:\n"
                    "- {name: QueueGrows, metric: queue_depth, steps: 3, annotations: {runbook: https://r}}\n"
                    "- {name: QueueTicks, metric: queue_depth, steps: 1}\n")
    return path


def test_a_kind_from_outside_loads_through_its_dialect(rule_file: Path) -> None:
    rules = load_rules(rule_file, dialects=(RISING, *DIALECTS))
    assert [(type(r), r.name, r.steps) for r in rules] == [(RisingRule, "QueueGrows", 3), (RisingRule, "QueueTicks", 1)]


def test_it_replays_with_the_prometheus_state_machine(rule_file: Path, metrics: pl.DataFrame) -> None:
    rules = load_rules(rule_file, dialects=(RISING, *DIALECTS))
    alerts = replay(metrics, rules[:1], eval_interval="1m").alerts
    # a has risen at minutes 2, 3 and 4 by minute 4, and keeps rising to minute 6; it falls at minute 7
    assert alerts.select("rule", "series", "fired_at", "resolved_at").rows() == [
        ("QueueGrows", 'queue_depth{host="a"}', T0 + dt.timedelta(minutes=4), T0 + dt.timedelta(minutes=7))]


def test_it_is_linted_through_the_hooks(rule_file: Path) -> None:
    rules = [*load_rules(rule_file, dialects=(RISING, *DIALECTS)), RisingRule(name="Always", metric="m", steps=0)]
    findings = lint_rules(rules).select("rule", "check", "level").rows()
    assert ("QueueTicks", "page-on-one-sample", "warning") in findings  # RuleBase.single_sample
    assert ("QueueTicks", "no-runbook", "warning") in findings  # what lint checks of every rule
    assert ("Always", "invalid", "error") in findings  # RuleBase.findings
    assert [f for f in findings if f[0] == "QueueGrows"] == []


def test_a_partitioned_replay_equals_the_in_memory_one(tmp_path: Path, rule_file: Path,
                                                        metrics: pl.DataFrame) -> None:
    rules = load_rules(rule_file, dialects=(RISING, *DIALECTS))
    ingest(metrics, tmp_path / "store", buckets=2)
    expected = replay(metrics, rules).alerts.drop("alert_id").sort("rule", "series", "active_at")
    got = replay_dataset(open_dataset(tmp_path / "store"), rules, max_points=10).alerts
    assert got.drop("alert_id").sort("rule", "series", "active_at").equals(expected)


def test_it_is_tuned_like_any_kind(metrics: pl.DataFrame) -> None:
    candidates = [RisingRule(name=f"Grows{steps}", base_name="Grows", metric="queue_depth", steps=steps)
                  for steps in (2, 3, 5)]
    incidents = pl.DataFrame({"incident_id": ["i1"], "service": ["queue"], "severity": ["page"],
                              "started_at": [T0 + dt.timedelta(minutes=2)],
                              "resolved_at": [T0 + dt.timedelta(minutes=7)]})
    tuning = tune(metrics, candidates, incidents, eval_interval="1m", match_on=[])
    table = tuning.candidates.sort("rule")
    assert table["kind"].to_list() == ["rising"] * 3
    # every candidate catches the incident; fewer steps catch it sooner (minute 3, 4 and 6 for 2, 3 and 5)
    assert table["recall"].to_list() == [1.0, 1.0, 1.0]
    assert [d.total_seconds() for d in table["time_to_detect_median"]] == [60, 120, 240]
