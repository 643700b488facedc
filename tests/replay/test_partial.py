"""Partial replay, as Prometheus' rule manager behaves: one rule alertsim cannot replay, or one rule
failing at one instant, never takes the other rules of the file down with it.

* A rule outside the supported subset is left out with a warning naming file:line, rule and
  construct (``--strict`` refuses the file instead); rules reading what it records are left out too.
* A rule whose evaluation fails at an instant (duplicate label sets after dropping ``__name__``,
  many-to-many matching) fails there only: no state change, the failure counted in its health; the
  other rules' alerts are exactly what they are without it (a Hypothesis property); promtool —
  Prometheus' own rule engine — fails the rule at the same first instant.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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


def test_a_warning_is_printed_once_by_the_real_command(tmp_path: Path) -> None:
    # in a process of its own: logged while the rules load, kept in the result, printed once
    path = _file(tmp_path, UNSUPPORTED["a function"][0])
    write_frame(_metrics(), tmp_path / "m.parquet")
    done = subprocess.run([str(Path(sys.executable).parent / "alertsim"), "replay", str(tmp_path / "m.parquet"),
                           "--rules", str(path), "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "300"})
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "histogram_fraction" in line]
    assert len(lines) == 1 and lines[0].startswith("warning: "), done.stderr


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


# ------------------------------------------------------------------ a rule failing at some instants

PG = (Path(__file__).resolve().parents[1] / "fixtures" / "rulepacks" / "awesome-prometheus-alerts" / "rules"
      / "postgresql" / "postgres-exporter.yml")
CHANGED = "PostgresqlConfigurationChanged"


def _postgres(minutes: int = 120) -> pl.DataFrame:
    """A Postgres exporter's series: three settings of one instance (two change together at minute 30,
    which fails the rule; one alone at 60; one at 90 and another while its alert fires, at 92) and
    ``pg_up`` (down from minute 40 to 50)."""
    settings = {"pg_settings_max_connections": {30: 200.0, 60: 300.0},
                "pg_settings_work_mem_bytes": {30: 8e6, 92: 16e6},
                "pg_settings_shared_buffers_bytes": {90: 2e9}}
    rows = []
    for name, changes in settings.items():
        value = 1.0
        for m in range(minutes):
            value = changes.get(m, value)
            rows.append((T0 + timedelta(minutes=m), name, value, "db1:9187", "postgres"))
    rows += [(T0 + timedelta(minutes=m), "pg_up", 0.0 if 40 <= m < 50 else 1.0, "db1:9187", "postgres")
             for m in range(minutes)]
    return pl.DataFrame(rows, schema={"timestamp": pl.Datetime("us", "UTC"), "metric": pl.String,
                                      "value": pl.Float64, "instance": pl.String, "job": pl.String}, orient="row")


def _at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def test_a_duplicate_label_set_fails_that_rule_at_those_instants_only() -> None:
    rules = al.load_rules(PG)
    result = al.replay(_postgres(), rules)
    # Minutes 30-34: two settings differ from 5 minutes before, and once __name__ is dropped their
    # alerts have the same labels — Prometheus fails the rule there. Minutes 92-94 likewise, while the
    # alert of minute 90 fires: it keeps firing through the failures (no state change).
    [health] = result.health.to_dicts()
    assert (health["rule"], health["kind"], health["evaluation_failures"]) == (CHANGED, "alerting", 8)
    assert health["last_error_at"] == _at(94) and health["line"] == 127
    assert "vector contains metrics with the same labelset after applying alert labels" in health["last_error"]
    changed = result.alerts.filter(pl.col("rule") == CHANGED)
    assert changed.select("fired_at", "resolved_at").rows() == [(_at(60), _at(65)), (_at(90), _at(97))]
    down = result.alerts.filter(pl.col("rule") == "PostgresqlDown")
    assert down.select("fired_at", "resolved_at").rows() == [(_at(41), _at(50))]  # for: 1m
    summary = result.summary().filter(pl.col("rule") == CHANGED)
    assert summary["evaluation_failures"].to_list() == [8] and summary["alerts"].to_list() == [2]
    [notice] = [n for n in result.notices if n.code == "evaluation-failed"]
    assert (notice.rule, notice.line, notice.file) == (CHANGED, 127, str(PG))
    assert "failed at 8 of 120 instants" in notice.message


def test_the_failing_rule_leaves_the_others_exactly_as_without_it(tmp_path: Path) -> None:
    text = PG.read_text()
    start = text.index(f"    - alert: {CHANGED}")
    without = tmp_path / "without.yml"
    without.write_text(text[:start] + text[text.index("    - alert:", start + 10):])
    ours = al.replay(_postgres(), al.load_rules(PG)).alerts.filter(pl.col("rule") != CHANGED)
    alone = al.replay(_postgres(), al.load_rules(without)).alerts
    assert ours.drop("alert_id").equals(alone.drop("alert_id"))


def test_evaluations_at_failed_instants_have_no_state() -> None:
    result = al.replay(_postgres(), al.load_rules(PG), evaluations=True)
    assert result.evaluations is not None
    states = (result.evaluations.filter((pl.col("rule") == CHANGED) & pl.col("at").is_between(_at(30), _at(34)))
              ["state"].unique().to_list())
    assert states == [None]


def test_the_cli_counts_failures_in_summary_and_manifest_and_strict_refuses(tmp_path: Path) -> None:
    metrics = tmp_path / "pg.parquet"
    write_frame(_postgres(), metrics)
    code, text = _invoke(["replay", str(metrics), "--rules", str(PG), "--out", str(tmp_path / "run")])
    assert code == 0, text
    assert "evaluation" in text and CHANGED in text
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    [health] = manifest["rule_health"]
    assert (health["rule"], health["evaluation_failures"]) == (CHANGED, 8)
    assert [n["rule"] for n in manifest["notices"] if n["code"] == "evaluation-failed"] == [CHANGED]
    code, text = _invoke(["replay", str(metrics), "--rules", str(PG), "--out", str(tmp_path / "strict"), "--strict"])
    assert code == 2 and CHANGED in text and not (tmp_path / "strict").exists()


def test_prometheus_fails_the_rule_at_the_first_instant_alertsim_counts(promtool: str, tmp_path: Path) -> None:
    """promtool's own rule engine agrees with alertsim on every instant before the failure and fails
    PostgresqlConfigurationChanged at the first instant alertsim counts as failed (minute 30, 70 minutes
    after the test's origin). promtool stops a unit test at the first failing evaluation, so what
    follows it is checked against the state machine above, not against promtool."""
    from alertsim.io.promtool import promtool_test, strip_rule_annotations, to_yaml

    rules = strip_rule_annotations(PG, tmp_path / "rules.yml")
    frame = _postgres()

    def run(minutes: range) -> subprocess.CompletedProcess[str]:
        document = promtool_test(rules, frame, start=_at(20), end=_at(118), at=[_at(m) for m in minutes],
                                 rule_file="rules.yml", strip_annotations=True)
        (tmp_path / "test.yml").write_text(to_yaml(document))
        return subprocess.run([promtool, "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True,
                              text=True, check=False)

    done = run(range(20, 30))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    done = run(range(20, 119))
    errors = re.findall(r"rule: (\w+), time: (\S+), err: vector contains metrics with the same labelset",
                        done.stdout + done.stderr)
    assert errors == [(CHANGED, "1h10m0s")], done.stdout[-3000:] + done.stderr[-3000:]


@st.composite
def _files_with_and_without_a_failing_rule(draw: st.DrawFn) -> tuple[str, str, int]:
    """A rule file of 2-4 rules on ``load`` and the same file with, at a drawn position, a rule whose
    evaluation fails whenever both instances exceed a drawn level (their alert labels collide)."""
    count = draw(st.integers(2, 4))
    position = draw(st.integers(0, count))
    rules = [f"  - alert: R{i}\n    expr: load > {draw(st.sampled_from([0.5, 2, 5, 8]))}\n"
             f"    for: {draw(st.sampled_from(['0s', '1m', '3m']))}\n"
             f"    keep_firing_for: {draw(st.sampled_from(['0s', '2m']))}\n" for i in range(count)]
    level = draw(st.sampled_from([0.5, 2.0, 6.0]))
    failing = f"  - alert: Fails\n    expr: load > {level}\n    labels: {{instance: same}}\n"
    return HEAD + "".join(rules), HEAD + "".join([*rules[:position], failing, *rules[position:]]), \
        draw(st.integers(0, 2**16))


def _noisy(seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    frame = _metrics()
    return frame.with_columns(pl.Series("value", np.round(rng.uniform(0, 10, frame.height), 1)))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_files_with_and_without_a_failing_rule())
def test_one_failing_rule_never_changes_the_alerts_of_the_others(tmp_path: Path, case: tuple[str, str, int]
                                                                 ) -> None:
    without, with_failing, seed = case
    metrics = _noisy(seed)
    (tmp_path / "without.yml").write_text(without)
    (tmp_path / "with.yml").write_text(with_failing)
    result = al.replay(metrics, al.load_rules(tmp_path / "with.yml"))
    assert set(result.health["rule"].to_list()) <= {"Fails"}
    alone = al.replay(metrics, al.load_rules(tmp_path / "without.yml")).alerts
    assert result.alerts.filter(pl.col("rule") != "Fails").drop("alert_id").equals(alone.drop("alert_id"))
