"""Partial replay, as Prometheus' rule manager behaves: one rule alertsim cannot replay, or one rule
failing at one instant, never takes the other rules of the file down with it.

* A rule outside the supported subset is left out with a warning naming file:line, rule and
  construct (``--strict`` refuses the file instead); rules reading what it records are left out too.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import alertsim as al
from alertsim.cli import app
from alertsim.errors import ConfigError
from alertsim.io.rundir import write_frame

runner = CliRunner()
T0 = datetime(2026, 3, 2, tzinfo=UTC)


def _metrics(minutes: int = 120) -> pl.DataFrame:
    rows = []
    for instance in ("a", "b"):
        for m in range(minutes):
            value = 9.0 if 30 <= m < 60 and instance == "a" else 1.0
            rows.append((T0 + timedelta(minutes=m), "load", value, instance))
    return pl.DataFrame(rows, schema={"timestamp": pl.Datetime("us", "UTC"), "metric": pl.String,
                                      "value": pl.Float64, "instance": pl.String}, orient="row")


def _invoke(args: list[str]) -> tuple[int, str]:
    result = runner.invoke(app, args)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


# ------------------------------------------------------------------------ rules outside the subset

HEAD = "groups:\n- name: g\n  rules:\n"
FINE = "  - alert: High\n    expr: load > 5\n    for: 2m\n"

#: case → (rules before FINE, notices as (rule, line, field, words)).
UNSUPPORTED = {
    "a function": ("  - alert: Odd\n    expr: histogram_fraction(0, 1, load) > 0\n",
                   [("Odd", 5, "expr", "histogram_fraction")]),
    "a templated label": ("  - alert: Templ\n    expr: load > 1\n    labels:\n      sev: '{{ $value }}'\n",
                          [("Templ", 7, "labels", "templated label values")]),
    "a recording rule and its reader": (
        "  - record: load:odd\n    expr: histogram_fraction(0, 1, load)\n"
        "  - alert: ReadsOdd\n    expr: load:odd > 0\n",
        [("load:odd", 5, "expr", "histogram_fraction"),
         ("ReadsOdd", 6, "expr", "reads 'load:odd', recorded by a rule that is skipped")]),
}


def _file(tmp_path: Path, before: str) -> Path:
    path = tmp_path / "rules.yml"
    path.write_text(HEAD + before + FINE)
    return path


@pytest.mark.parametrize("case", sorted(UNSUPPORTED))
def test_a_rule_outside_the_subset_is_skipped_with_a_warning(tmp_path: Path, case: str) -> None:
    before, expected = UNSUPPORTED[case]
    path = _file(tmp_path, before)
    rules = al.load_rules(path)
    assert [r.name for r in rules] == ["High"]
    found = [(n.rule, n.line, n.field) for n in rules.notices]  # type: ignore[attr-defined]
    assert found == [(rule, line, field) for rule, line, field, _ in expected]
    for notice, (_, _, _, words) in zip(rules.notices, expected, strict=True):  # type: ignore[attr-defined]
        assert notice.code == "unsupported-rule" and notice.file == str(path) and words in notice.message
    # The replay carries the warnings, and the rule that loaded replays as if it were alone.
    result = al.replay(_metrics(), rules)
    assert [n.code for n in result.notices] == ["unsupported-rule"] * len(expected)
    alone = tmp_path / "alone.yml"
    alone.write_text(HEAD + FINE)
    assert result.alerts.equals(al.replay(_metrics(), al.load_rules(alone)).alerts)
    assert result.alerts.height == 1
    with pytest.raises(ConfigError, match=expected[0][3]):
        al.load_rules(path, strict=True)


@pytest.mark.parametrize("case", sorted(UNSUPPORTED))
def test_the_cli_warns_lists_in_the_manifest_and_refuses_with_strict(tmp_path: Path, case: str) -> None:
    before, expected = UNSUPPORTED[case]
    path = _file(tmp_path, before)
    metrics = tmp_path / "m.parquet"
    write_frame(_metrics(), metrics)
    code, text = _invoke(["replay", str(metrics), "--rules", str(path), "--out", str(tmp_path / "run")])
    assert code == 0, text
    first_rule, first_line, _, words = expected[0]
    assert "warning" in text and f"{path.name}:{first_line}" in text.replace("\n", "") and first_rule in text
    notices = json.loads((tmp_path / "run" / "manifest.json").read_text())["notices"]
    assert [(n["code"], n["rule"], n["line"]) for n in notices] == [
        ("unsupported-rule", rule, line) for rule, line, _, _ in expected]
    code, text = _invoke(["replay", str(metrics), "--rules", str(path), "--out", str(tmp_path / "strict"),
                          "--strict"])
    assert code == 2 and words in text.replace("\n", "") and not (tmp_path / "strict").exists()


def test_a_group_of_a_newer_prometheus_is_skipped_whole(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text("groups:\n- name: new\n  query_offset: 1m\n  rules:\n  - record: r\n    expr: load\n"
                    "- name: old\n  rules:\n  - alert: ReadsR\n    expr: r > 1\n" + FINE)
    rules = al.load_rules(path)
    assert [r.name for r in rules] == ["High"]
    assert [(n.rule, n.field, n.line) for n in rules.notices] == [  # type: ignore[attr-defined]
        ("group new", "query_offset", 3), ("ReadsR", "expr", 9)]


def test_a_file_with_nothing_left_to_replay_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(HEAD + "  - alert: Odd\n    expr: histogram_fraction(0, 1, load) > 0\n")
    with pytest.raises(ConfigError, match="no alerting rule of the file can be replayed") as info:
        al.load_rules(path)
    assert "histogram_fraction" in str(info.value) and info.value.file == str(path)
