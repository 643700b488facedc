"""``alertsim lint``: the findings on the sample rule pack, each check on a bad rule, routes that page on
info, and the CLI's table, JSON and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from alertsim.cli import app
from alertsim.lint import exit_code, lint, lint_rules
from alertsim.rules import parse_rules

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "rules" / "sample.yaml"


def pairs(findings: Any) -> list[tuple[str | None, str]]:
    return findings.select("rule", "check").rows()


def write(tmp_path: Path, name: str, document: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document) if name.endswith(".json") else yaml.safe_dump(document, sort_keys=False))
    return path


def test_the_sample_rule_pack() -> None:
    findings = lint([SAMPLE])
    assert sorted(pairs(findings)) == [
        # The naive rules page on one sample and overlap their better candidates.
        ("HighCPU", "overlapping-rules"), ("HighCPU", "page-on-one-sample"),
        ("HighErrorRate", "overlapping-rules"),          # the same 99.9% SLO as Availability
        ("HighLatency", "overlapping-rules"), ("HighLatency", "page-on-one-sample"),
        # Ticket rules without a runbook link.
        ("LatencyWeekOverWeek", "no-runbook"), ("QueueBacklog", "no-runbook"), ("QueueLeak", "no-runbook"),
    ]
    assert set(findings["level"]) == {"warning"} and exit_code(findings) == 0 and exit_code(findings, strict=True) == 1


def native(*specs: dict[str, Any]) -> list[Any]:
    return parse_rules({"rules": list(specs)})


RUNBOOK = {"runbook": "https://runbooks.example/x"}


@pytest.mark.parametrize(("objective", "factor", "fires"), [
    (0.999, 14.4, True),
    (0.9, 14.4, False),            # the most a 90% objective can burn is 1/(1 − 0.9) = 10
    (0.9, 10.0, True),             # exactly 100% errors still reaches it
    (0.5, 2.5, False),
])
def test_burn_rate_factors_that_can_never_fire(objective: float, factor: float, fires: bool) -> None:
    rules = native({"name": "SLO", "kind": "burn_rate", "objective": objective, "bad": {"metric": "e"},
                    "total": {"metric": "r"}, "annotations": RUNBOOK,
                    "windows": [{"long": "1h", "short": "5m", "factor": factor, "severity": "page"}]})
    findings = lint_rules(rules)
    assert ("burn-rate-never-fires" in findings["check"].to_list()) == (not fires)
    if not fires:
        assert findings.filter(findings["check"] == "burn-rate-never-fires")["level"].to_list() == ["error"]


def test_workbook_tiers_on_a_low_objective() -> None:
    # SRE workbook §"Extreme availability goals": at 90% the 14.4 tier "could never fire".
    rules = native({"name": "SLO", "kind": "burn_rate", "objective": 0.9, "bad": {"metric": "e"},
                    "total": {"metric": "r"}, "annotations": RUNBOOK})
    messages = lint_rules(rules).filter(lambda_check("burn-rate-never-fires"))["message"].to_list()
    assert len(messages) == 1 and "1h/5m needs a burn rate of 14.4" in messages[0]


def lambda_check(check: str) -> Any:
    import polars as pl

    return pl.col("check") == check


@pytest.mark.parametrize(("spec", "expected"), [
    ({"name": "A", "metric": "cpu", "value": 90, "severity": "page", "for": "5m"}, ["no-runbook"]),
    ({"name": "A", "metric": "cpu", "value": 90, "severity": "page", "for": "5m",
      "annotations": {"description": "see https://wiki.example/cpu"}}, []),         # a URL anywhere counts
    ({"name": "A", "metric": "cpu", "value": 90, "severity": "info"}, []),          # info needs no runbook
    ({"name": "A", "metric": "cpu", "value": 90, "annotations": RUNBOOK, "for": "5m"}, ["no-severity"]),
    ({"name": "A", "metric": "cpu", "value": 90, "labels": {"severity": "page"}, "annotations": RUNBOOK,
      "for": "5m"}, []),
    ({"name": "A", "metric": "cpu", "value": 90, "severity": "page", "annotations": RUNBOOK},
     ["page-on-one-sample"]),
    ({"name": "A", "metric": "cpu", "value": 90, "severity": "ticket", "annotations": RUNBOOK}, []),
    ({"name": "A", "metric": "cpu", "value": 90, "severity": "page", "annotations": RUNBOOK,
      "over": {"fn": "avg", "window": "5m"}}, []),                                  # smoothed
    ({"name": "A", "metric": "errors_total", "value": 90, "severity": "page", "annotations": RUNBOOK}, []),
    # CloudWatch option set: one 1-minute datapoint pages; 3 of 3 does not.
    ({"name": "A", "metric": "cpu", "value": 90, "severity": "page", "annotations": RUNBOOK, "period": "1m"},
     ["page-on-one-sample"]),
    ({"name": "A", "metric": "cpu", "value": 90, "severity": "page", "annotations": RUNBOOK, "period": "1m",
      "evaluation_periods": 3}, []),
])
def test_single_rule_checks(tmp_path: Path, spec: dict[str, Any], expected: list[str]) -> None:
    findings = lint([write(tmp_path, "rules.yaml", {"rules": [spec]})])
    assert findings["check"].to_list() == expected


def test_duplicate_and_overlapping_rules(tmp_path: Path) -> None:
    base = {"metric": "cpu", "op": ">", "value": 90, "for": "5m", "severity": "page", "annotations": RUNBOOK}
    first = write(tmp_path, "a.yaml", {"rules": [{"name": "Hot", **base}, {"name": "Hotter", **base},
                                                {"name": "Warm", **{**base, "value": 80}},
                                                {"name": "Cold", **{**base, "op": "<", "value": 5}}]})
    second = write(tmp_path, "b.yaml", {"rules": [{"name": "Hot", **{**base, "metric": "mem"}}]})
    findings = lint([first, second])
    assert sorted(pairs(findings)) == [
        ("Hot", "duplicate-rule"),            # b.yaml reuses the name Hot
        ("Hot", "overlapping-rules"),         # Hot and Warm both page on cpu going up
        ("Hotter", "duplicate-rule"),         # same condition as Hot
    ]
    assert exit_code(findings) == 1


ALERTMANAGER = {
    "route": {"receiver": "chat", "routes": [{"matchers": ['severity=~"page|info"'], "receiver": "pager"}]},
    "receivers": [{"name": "chat", "slack_configs": [{"channel": "#alerts", "api_url": "https://hooks.example"}]},
                  {"name": "pager", "pagerduty_configs": [{"routing_key": "x"}]}],
}


def test_routes_that_page_on_info(tmp_path: Path) -> None:
    rules = write(tmp_path, "rules.yaml", {"rules": [{"name": "Disk", "metric": "disk", "value": 90,
                                                      "severity": "info"}]})
    config = write(tmp_path, "alertmanager.yml", ALERTMANAGER)
    findings = lint([rules, config])
    assert sorted(pairs(findings), key=str) == [("Disk", "info-pages"), (None, "info-pages")]
    # Passed with --alertmanager instead, the same.
    assert pairs(lint([rules], alertmanager=config)) == pairs(findings)
    fixed = {**ALERTMANAGER, "route": {**ALERTMANAGER["route"], "routes": [
        {"matchers": ['severity="page"'], "receiver": "pager"}]}}
    assert lint([rules, write(tmp_path, "fixed.yml", fixed)]).height == 0


def test_vendor_dialects(tmp_path: Path) -> None:
    monitor = {"name": "cpu", "type": "metric alert", "priority": 5,
               "query": "max(last_5m):avg:cpu{*} > 90", "message": "@pagerduty-core look"}
    policy = {"displayName": "latency", "combiner": "OR", "conditions": [{"displayName": "c", "conditionThreshold": {
        "filter": 'metric.type="latency"', "comparison": "COMPARISON_GT", "thresholdValue": 1}}]}
    findings = lint([write(tmp_path, "monitor.json", monitor), write(tmp_path, "policy.json", policy)])
    assert sorted(pairs(findings)) == [
        ("cpu", "info-pages"),               # P5 is info, but the message pages through @pagerduty
        ("latency", "no-runbook"), ("latency", "no-severity"),
        ("latency", "page-on-one-sample"),   # duration 0 on raw points
    ]
    alarms = lint([REPO / "data" / "cloud" / "cloudwatch-alarms.json", REPO / "data" / "cloud" / "gcp-policy.json",
                   REPO / "data" / "cloud" / "datadog-monitors.json"])
    assert alarms.height == 0


def test_prometheus_rule_files(tmp_path: Path) -> None:
    path = tmp_path / "prom.yaml"
    path.write_text("groups:\n- name: g\n  rules:\n  - alert: Up\n    expr: up == 0\n")
    assert sorted(pairs(lint([path]))) == [("Up", "no-runbook"), ("Up", "no-severity")]
    path.write_text("groups:\n- name: g\n  rules:\n  - alert: Up\n    expr: up == 0\n    labels: {severity: page}\n"
                    "    annotations: {runbook_url: 'https://r'}\n")
    assert pairs(lint([path])) == [("Up", "page-on-one-sample")]
    path.write_text("groups:\n- name: g\n  rules:\n  - alert: Up\n    expr: up == 0\n    labels: {severity: page}\n"
                    "    annotations: {runbook_url: 'https://r'}\n"
                    "  - alert: Odd\n    expr: histogram_fraction(0, 1, up) > 0\n")
    findings = lint([path])
    assert pairs(findings) == [("Up", "page-on-one-sample"), ("Odd", "unsupported-rule")]  # in file order
    odd = findings.filter(pl.col("rule") == "Odd").row(0, named=True)
    assert odd["message"].startswith("histogram_fraction") and odd["line"] == 9


def test_unreadable_files_are_errors(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.yaml", {"rules": [{"name": "A", "metric": "cpu", "value": 1, "colour": "red"}]})
    findings = lint([bad, tmp_path / "missing.yaml"])
    assert findings["check"].to_list() == ["invalid", "invalid"] and exit_code(findings) == 1
    assert "colour" in findings["message"][0]


def test_cli_table_json_and_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["lint", str(SAMPLE)])
    assert ok.exit_code == 0 and "0 errors, 8 warnings" in ok.output
    assert runner.invoke(app, ["lint", str(SAMPLE), "--strict"]).exit_code == 1
    out = runner.invoke(app, ["lint", str(SAMPLE), "--json"])
    body = json.loads(out.output)
    assert (body["errors"], body["warnings"], len(body["findings"])) == (0, 8, 8)
    assert set(body["findings"][0]) == {"file", "line", "rule", "check", "level", "message"}
    bad = write(tmp_path, "slo.yaml", {"rules": [{"name": "SLO", "kind": "burn_rate", "objective": 0.9,
                                                  "bad": {"metric": "e"}, "total": {"metric": "r"}}]})
    failed = runner.invoke(app, ["lint", str(bad)])
    assert failed.exit_code == 1 and "1 errors" in failed.output
    failed = runner.invoke(app, ["lint", str(bad), "--json"])
    assert failed.exit_code == 1 and json.loads(failed.output)["findings"][0]["check"] == "burn-rate-never-fires"


def test_lint_goes_on_past_bad_rules_and_names_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "mixed.yml"
    path.write_text("""groups:
- name: g
  rules:
  - alert: Good
    expr: up == 0
    for: 5m
    labels: {severity: page}
    annotations: {runbook_url: 'https://r'}
  - alert: Native
    expr: histogram_fraction(0, 1, up) > 0
  - alert: Broken
    expr: sum by (x) (up) ) > 1
  - alert: Unknown
    expr: foo_bar(up) > 1
  - alert: BadFor
    expr: rate(x[5m]) > 1
    for: banana
  - alert: AtStart
    expr: up @ start() > 1
""")
    findings = lint([path])
    rows = {r["rule"]: r for r in findings.iter_rows(named=True)}
    assert {r: (rows[r]["check"], rows[r]["line"]) for r in ("Native", "Broken", "Unknown", "BadFor", "AtStart")} == {
        "Native": ("unsupported-rule", 9), "Broken": ("invalid", 12), "Unknown": ("invalid", 13),
        "BadFor": ("invalid", 15), "AtStart": ("unsupported-rule", 18)}
    assert "Good" not in rows  # linted, and clean
    assert all(str(path) not in m for m in findings["message"])  # the file is a column of its own
    native_file = write(tmp_path, "n.yaml", {"rules": [
        {"name": "A", "metric": "cpu", "value": 90, "severity": "page", "for": "5m", "annotations": RUNBOOK},
        {"name": "B", "metric": "cpu", "value": 90, "kind": "nonsense"},
        {"name": "C", "metric": "cpu", "op": "~", "value": 90}]})
    found = lint([native_file])
    text = native_file.read_text().splitlines()
    at = {name: text.index(f"- name: {name}") + 1 for name in "BC"}
    assert found.select("rule", "check", "line").rows() == [("B", "invalid", at["B"]), ("C", "invalid", at["C"])]
    out = CliRunner().invoke(app, ["lint", str(native_file), str(path)], env={"COLUMNS": "250"})
    assert out.exit_code == 1 and all(f"{native_file}:{line}" in out.output for line in at.values())
    assert f"{path}:12" in out.output and f"{path}:18" in out.output


@pytest.mark.parametrize(("for_", "flagged"), [("0s", False), ("5m", True)])
def test_a_range_rule_with_for_almost_never_fires(for_: str, flagged: bool) -> None:
    rules = native({"name": "NewHigh", "kind": "range", "metric": "latency", "window": "7d", "threshold": 0.05,
                    "for": for_, "severity": "page", "annotations": RUNBOOK})
    findings = lint_rules(rules).filter(lambda_check("range-with-for"))
    assert findings.height == int(flagged)
    if flagged:
        assert findings["level"].to_list() == ["warning"] and "drop `for`" in findings["message"][0]
