"""Loading native rule files: every kind, grids of candidates and their names, and the ConfigError
each mistake gets (naming the file, the rule and the field)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from alertsim.errors import ConfigError
from alertsim.rules import (
    WORKBOOK_WINDOWS,
    BurnRateRule,
    BurnWindow,
    EwmaRule,
    HoltWintersRule,
    MadRule,
    Over,
    SeasonalRule,
    Selector,
    ThresholdRule,
    ZScoreRule,
    load_rules,
)

EVERY_KIND = """\
rules:
  - name: HighCPU
    kind: threshold
    metric: cpu
    matchers: {service: checkout}
    op: ">"
    value: 80
    over: {fn: avg, window: 5m}
    clear: 70
    for: 5m
    keep_firing_for: 1m
    severity: page
    labels: {team: payments}
    annotations: {runbook: "https://runbooks/cpu"}
  - {name: Latency, kind: zscore, metric: latency, window: 1h, threshold: 4, direction: up}
  - {name: Errors, kind: mad, metric: errors, window: 30m, threshold: 5, min_samples: 10}
  - {name: Queue, kind: ewma, metric: queue, halflife: 10m, warmup: 2h, direction: both}
  - {name: Traffic, kind: seasonal, metric: rps, period: 1w, mode: ratio, op: "<", value: 0.5}
  - {name: Orders, kind: holt_winters, metric: orders, season: 1d, train: 7d, refit: 6h, method: ets}
  - name: Availability
    kind: burn_rate
    objective: 0.999
    bad: {metric: http_requests_total, matchers: {code: "500"}}
    total: {metric: http_requests_total}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return path


def test_every_kind_loads_into_its_record(tmp_path):
    rules = load_rules(write(tmp_path, EVERY_KIND))
    assert [type(r) for r in rules] == [ThresholdRule, ZScoreRule, MadRule, EwmaRule, SeasonalRule,
                                        HoltWintersRule, BurnRateRule]
    assert rules[0] == ThresholdRule(
        name="HighCPU", metric="cpu", matchers={"service": "checkout"}, op=">", value=80.0,
        over=Over(fn="avg", window=timedelta(minutes=5)), clear=70.0, for_=timedelta(minutes=5),
        keep_firing_for=timedelta(minutes=1), severity="page", labels={"team": "payments"},
        annotations={"runbook": "https://runbooks/cpu"})
    assert rules[1] == ZScoreRule(name="Latency", metric="latency", window=timedelta(hours=1), threshold=4.0,
                                  direction="up")
    assert rules[4].period == timedelta(weeks=1) and rules[4].op == "<"
    assert rules[5].refit == timedelta(hours=6) and rules[5].method == "ets"
    slo = rules[6]
    assert slo.bad == Selector(metric="http_requests_total", matchers={"code": "500"})
    assert slo.period == timedelta(days=30)


def test_burn_rate_defaults_to_the_workbook_tiers():
    """Table 5-8 plus the 24h/2h ticket tier; each tier fires once `factor × long / period` of the
    budget is gone: 2%, 5%, 10%, 10%."""
    expected = (
        BurnWindow(long=timedelta(hours=1), short=timedelta(minutes=5), factor=14.4, severity="page"),
        BurnWindow(long=timedelta(hours=6), short=timedelta(minutes=30), factor=6.0, severity="page"),
        BurnWindow(long=timedelta(hours=24), short=timedelta(hours=2), factor=3.0, severity="ticket"),
        BurnWindow(long=timedelta(days=3), short=timedelta(hours=6), factor=1.0, severity="ticket"),
    )
    assert expected == WORKBOOK_WINDOWS
    budget = [w.factor * (w.long / timedelta(days=30)) for w in WORKBOOK_WINDOWS]
    assert budget == pytest.approx([0.02, 0.05, 0.10, 0.10])


def test_rule_without_kind_is_a_threshold(tmp_path):
    (rule,) = load_rules(write(tmp_path, "rules:\n  - {name: Hot, metric: temp, value: 30}\n"))
    assert rule == ThresholdRule(name="Hot", metric="temp", value=30.0)
    assert (rule.op, rule.for_, rule.keep_firing_for, rule.severity) == (">", timedelta(0), timedelta(0), "page")


@pytest.mark.parametrize(("spec", "names", "field", "values"), [
    ("value: [80, 85], for: [0s, 10m]",
     ["HighCPU[value=80,for=0s]", "HighCPU[value=80,for=10m]", "HighCPU[value=85,for=0s]",
      "HighCPU[value=85,for=10m]"],
     "value", [80.0, 80.0, 85.0, 85.0]),
    ("value: 80, for: [5m, 1m30s]", ["HighCPU[for=5m]", "HighCPU[for=1m30s]"],
     "for_", [timedelta(minutes=5), timedelta(seconds=90)]),
    ("value: 80, over: {fn: avg, window: [5m, 15m]}", ["HighCPU[over.window=5m]", "HighCPU[over.window=15m]"],
     "over", [Over(fn="avg", window=timedelta(minutes=5)), Over(fn="avg", window=timedelta(minutes=15))]),
    ("value: 80, over: {fn: [min, max], window: 5m}", ["HighCPU[over.fn=min]", "HighCPU[over.fn=max]"],
     "over", [Over(fn="min", window=timedelta(minutes=5)), Over(fn="max", window=timedelta(minutes=5))]),
    # Lists that are a parameter's natural value are not grids.
    ("value: 80, matchers: {service: checkout}, labels: {team: a}", ["HighCPU"], "value", [80.0]),
])
def test_lists_expand_into_named_candidates(tmp_path, spec, names, field, values):
    rules = load_rules(write(tmp_path, f"rules:\n  - {{name: HighCPU, metric: cpu, {spec}}}\n"))
    assert [r.name for r in rules] == names
    assert [getattr(r, field) for r in rules] == values
    assert {r.alertname for r in rules} == {"HighCPU"}


def test_burn_rate_windows_list_is_not_a_grid(tmp_path):
    (rule,) = load_rules(write(tmp_path, """\
rules:
  - name: Slo
    kind: burn_rate
    objective: 0.99
    good: {metric: ok}
    total: {metric: all}
    windows: [{long: 1h, short: 5m, factor: 14.4}, {long: 6h, short: 30m, factor: 6, severity: ticket}]
"""))
    assert rule.name == "Slo"
    assert rule.windows == (BurnWindow(long=timedelta(hours=1), short=timedelta(minutes=5), factor=14.4,
                                       severity="page"),
                            BurnWindow(long=timedelta(hours=6), short=timedelta(minutes=30), factor=6.0,
                                       severity="ticket"))


def test_objective_grid_over_burn_rate(tmp_path):
    rules = load_rules(write(tmp_path, """\
rules:
  - {name: Slo, kind: burn_rate, objective: [0.99, 0.999], good: {metric: ok}, total: {metric: all}}
"""))
    assert [(r.name, r.objective) for r in rules] == [("Slo[objective=0.99]", 0.99), ("Slo[objective=0.999]", 0.999)]


# --------------------------------------------------------------------------------------------------
# Mistakes: a ConfigError naming the file, the rule and the field, with what is allowed.

@pytest.mark.parametrize(("rules", "rule", "field", "says"), [
    ("- {name: A, metric: cpu, value: 1, treshold: 3}", "A", "treshold", "unknown key"),
    ("- {name: A, metric: cpu, value: high}", "A", "value", "expected a number, got 'high'"),
    ("- {name: A, metric: cpu, value: 1, for: 5 min}", "A", "for", "'5 min' is not a duration"),
    ("- {name: A, metric: cpu, value: 1, keep_firing_for: -5m}", "A", "keep_firing_for", "not a duration"),
    ("- {name: A, kind: spike, metric: cpu}", "A", "kind", "unknown kind 'spike'; use one of threshold"),
    ("- {name: A, metric: cpu, value: 1}\n- {name: A, metric: mem, value: 2}", "A", "name", "duplicate"),
    ("- {name: A, metric: cpu, value: 1, op: '=>'}", "A", "op", "'=>' is not allowed"),
    ("- {name: A, metric: cpu}", "A", "value", "needs `value`"),
    ("- {name: A, metric: cpu, value: 1, over: {fn: avg, window: 5m, size: 3}}", "A", "over",
     "unknown key(s) ['size']"),
    ("- {name: A, metric: cpu, value: 1, over: {fn: median, window: 5m}}", "A", "over.fn", "'median' is not allowed"),
    ("- {name: A, metric: cpu, value: 1, over: {fn: quantile, window: 5m}}", "A", "over", "needs q"),
    ("- {name: A, metric: cpu, value: 1, for: []}", "A", "for", "empty list"),
    ("- {name: A, metric: cpu, value: 1, labels: {team: [a]}}", "A", "labels", "scalar values"),
    ("- {name: A, metric: cpu, value: 1, clear: 3}", "A", "clear", "resolving side"),
    ("- {name: A, kind: zscore, metric: cpu, threshold: -1}", "A", "threshold", "positive number"),
    ("- {name: A, kind: ewma, metric: cpu, direction: sideways}", "A", "direction", "'sideways' is not allowed"),
    ("- {name: S, kind: burn_rate, objective: 99.9, bad: {metric: e}, total: {metric: t}}", "S", "objective",
     "strictly between 0 and 1"),
    ("- {name: S, kind: burn_rate, objective: 0.999, bad: {metric: e}, total: {metric: t},"
     " windows: [{long: 1 hour, short: 5m, factor: 14.4}]}", "S", "windows.0.long", "'1 hour' is not a duration"),
    ("- {name: S, kind: burn_rate, objective: 0.999, bad: {metric: e}, total: {metric: t},"
     " windows: [{long: 5m, short: 1h, factor: 14.4}]}", "S", "windows.0", "short window must not be longer"),
    ("- {name: S, kind: burn_rate, objective: 0.999, bad: {metrc: e}, total: {metric: t}}", "S", "bad",
     "unknown key(s) ['metrc']"),
])
def test_mistakes_name_file_rule_and_field(tmp_path, rules, rule, field, says):
    path = write(tmp_path, f"rules:\n{rules}\n")
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    error = caught.value
    assert (error.file, error.rule, error.field) == (str(path), rule, field)
    message = str(error)
    assert message.startswith(f"{path}, rule {rule!r}, field {field!r}: ")
    assert says in message


@pytest.mark.parametrize(("text", "says", "line"), [
    ("rules: []\nextra: 1\n", "unknown top-level key(s) ['extra']", None),
    ("rule:\n  - {name: A, metric: cpu, value: 1}\n", "a rule file is a mapping with a `rules:` list", None),
    ("rules:\n  - {name: A, metric: cpu, value: 1\n", "not valid YAML", 3),
    ("rules:\n  - just a string\n", "rule #1 must be a mapping", None),
])
def test_file_level_mistakes(tmp_path, text, says, line):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    assert caught.value.file == str(path)
    assert caught.value.line == line
    assert says in str(caught.value)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read rule file") as caught:
        load_rules(tmp_path / "absent.yaml")
    assert caught.value.file == str(tmp_path / "absent.yaml")
