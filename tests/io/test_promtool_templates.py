"""``export promtool`` renders annotation templates as Prometheus does (Go text/template with
Prometheus' functions), leaves out with a notice the ones it cannot render, and its errors name options
``export promtool`` has. promtool itself checks the exported tests."""

from __future__ import annotations

import datetime as dt
import math
import re
import subprocess
from pathlib import Path

import polars as pl
import pytest
import typer
import yaml
from typer.testing import CliRunner

from alertsim.cli import app
from alertsim.io.gotemplate import Unsupported, go_float, render
from tests.conftest import require_binary

T0 = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("plain", "plain"),
    ("{{ 1 }}", "1"),
    ('{{ humanize 1234567.0 }}:{{ humanize 0.12 }}:{{ humanize 0.0 }}', "1.235M:120m:0"),
    ('{{ humanize1024 1048576.0 }}:{{ humanize1024 0.12 }}', "1Mi:0.12"),
    ('{{ humanizeDuration 86400 }}|{{ humanizeDuration 899.99 }}|{{ humanizeDuration 0.0001 }}|'
     '{{ humanizeDuration -187445 }}', "1d 0h 0m 0s|14m 59s|100us|-2d 4h 4m 5s"),
    ("{{ -0.22222 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}", "-22.22%:123.5%"),
    ("{{ 1435065584.128 | humanizeTimestamp }}", "2015-06-23 13:19:44.128 +0000 UTC"),
    ('{{ "aa bb CC" | title }} {{ "aa bb CC" | toUpper }} {{ "aA" | toLower }}', "Aa Bb CC AA BB CC aa"),
    ('{{ match "a+" "aa" }} {{ match "a+" "b" }} {{ reReplaceAll "(a)b" "x$1" "ab" }}', "true false xa"),
    ('{{ printf "%.2f%%" 12.3456 }} {{ printf "%s=%v" "a" 0.5 }} {{ printf "%d" 0.5 }}',
     "12.35% a=0.5 %!d(float64=0.5)"),
    ("a  {{- 1 -}}  b{{/* note */}}", "a1b"),
    ('{{ $x := "v" }}{{ $x }}{{ if eq $x "v" }}!{{ else }}?{{ end }}', "v!"),
    ('{{ with "" }}x{{ else }}empty{{ end }}', "empty"),
])
def test_prometheus_template_functions(text: str, expected: str) -> None:
    assert render(text) == expected


def test_labels_value_and_missing_labels() -> None:
    text = "{{ $labels.instance }} {{ .Labels.job }} [{{ $labels.nope }}] {{ $value }} {{ .Value | humanize }}"
    assert render(text, labels={"instance": "a:9100", "job": "node"}, value=1500000.0) == \
        "a:9100 node [] 1.5e+06 1.5M"
    assert render("{{ stripPort $labels.instance }} {{ index $labels \"job\" }}",
                  labels={"instance": "a:9100", "job": "node"}) == "a node"


@pytest.mark.parametrize("value", [0.5, 100.0, 123456.0, 1234567.0, 1e-4, 1e-5, 1e21, -2.5, 1 / 3, math.inf])
def test_values_print_as_go_does(value: float) -> None:
    expected = {0.5: "0.5", 100.0: "100", 123456.0: "123456", 1234567.0: "1.234567e+06", 1e-4: "0.0001",
                1e-5: "1e-05", 1e21: "1e+21", -2.5: "-2.5", 1 / 3: "0.3333333333333333", math.inf: "+Inf"}
    assert go_float(value) == expected[value]


@pytest.mark.parametrize("text", ['{{ range $labels }}x{{ end }}', '{{ query "up" | first | value }}',
                                  "{{ $nope }}", "{{ if 1 }}", "{{ template \"x\" }}"])
def test_what_needs_a_running_prometheus_is_unsupported(text: str) -> None:
    with pytest.raises(Unsupported):
        render(text)


RULES = """groups:
- name: cpu
  rules:
  - alert: HotCPU
    expr: cpu > 80
    for: 2m
    labels:
      severity: page
    annotations:
      summary: "{{ $labels.instance }} of {{ $labels.job }} is hot"
      value: "{{ $value | humanize }} ({{ printf \\"%.1f\\" $value }}%)"
      level: "{{ if gt $value 95.0 }}critical{{ else }}high{{ end }}"
      top: "{{ with query \\"topk(1, cpu)\\" }}{{ . | first | label \\"instance\\" }}{{ end }}"
      sev: "{{ $labels.severity }}"
      runbook: "https://runbooks.example/cpu"
"""


def _run(tmp_path: Path) -> Path:
    times = [T0 + dt.timedelta(minutes=i) for i in range(60)]
    values = [50.0] * 20 + [90.0 + (i % 10) for i in range(25)] + [50.0] * 15
    pl.DataFrame({"timestamp": times, "metric": "cpu", "value": values, "instance": "a:9100",
                  "job": "node"}).write_csv(tmp_path / "metrics.csv")
    (tmp_path / "rules.yml").write_text(RULES)
    done = CliRunner().invoke(app, ["replay", str(tmp_path / "metrics.csv"), "--rules", str(tmp_path / "rules.yml"),
                                    "--out", str(tmp_path / "run")])
    assert done.exit_code == 0, done.output
    return tmp_path / "run"


def test_export_renders_templates_and_leaves_out_what_it_cannot(tmp_path: Path) -> None:
    run = _run(tmp_path)
    result = CliRunner().invoke(app, ["export", "promtool", str(run), "--out", str(tmp_path / "test.yml")])
    assert result.exit_code == 0, result.output
    warnings = result.stderr
    assert "annotations.top" in warnings and "query" in warnings and "test.rules.yml" in warnings
    assert "annotations.sev" in warnings and "severity" in warnings   # a label the rule sets itself
    document = yaml.safe_load((tmp_path / "test.yml").read_text())
    assert document["rule_files"] == ["test.rules.yml"]
    copy = yaml.safe_load((tmp_path / "test.rules.yml").read_text())
    assert set(copy["groups"][0]["rules"][0]["annotations"]) == {"summary", "value", "level", "runbook"}
    firing = [a for case in document["tests"][0]["alert_rule_test"] for a in case["exp_alerts"]]
    assert firing
    for alert in firing:
        notes = alert["exp_annotations"]
        assert notes["summary"] == "a:9100 of node is hot"
        value = float(re.search(r"\(([\d.]+)%\)", notes["value"]).group(1))
        assert notes["level"] == ("critical" if value > 95 else "high")
        assert set(notes) == {"summary", "value", "level", "runbook"}
    promtool = require_binary("promtool", package="prometheus")
    check = subprocess.run([promtool, "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def _options(name: str) -> set[str]:
    group = typer.main.get_group(app).get_command(None, "export")
    return {o for p in group.commands[name].params for o in (*p.opts, *p.secondary_opts)}


@pytest.mark.parametrize("args", [
    ["--start", "yesterday"],
    ["--start", "2026-04-01T00:40:00Z", "--end", "2026-04-01T00:10:00Z"],
    ["--at", "2026-04-01T00:30:30Z"],
    ["--series-interval", "banana"],
])
def test_export_errors_name_options_it_has(tmp_path: Path, args: list[str]) -> None:
    run = _run(tmp_path)
    result = CliRunner().invoke(app, ["export", "promtool", str(run), "--out", str(tmp_path / "t.yml"), *args])
    assert result.exit_code == 2 and "error:" in result.output and "Traceback" not in result.output
    named = set(re.findall(r"--[a-z][a-z-]+", result.output))
    assert named <= _options("promtool"), (named, result.output)


def test_a_group_interval_error_points_at_replay(tmp_path: Path) -> None:
    run = _run(tmp_path)
    rules = (run / "rules.yml").read_text().replace("- name: cpu\n", "- name: cpu\n  interval: 30s\n")
    (run / "rules.yml").write_text(rules)
    result = CliRunner().invoke(app, ["export", "promtool", str(run), "--out", str(tmp_path / "t.yml")])
    assert result.exit_code == 2
    assert "alertsim replay --eval-interval" in " ".join(result.output.split())
