"""Rule files come as Prometheus writes them, as prometheus-operator ``PrometheusRule`` manifests (one
or several per file, or inside a Kubernetes ``List``) and as multi-document YAML (Sloth's generated
files). Every shape loads the same rules; the real kube-prometheus and Sloth files load or fail only on
a PromQL construct of one rule, never on their shape."""

from __future__ import annotations

import contextlib
import logging
import re
from pathlib import Path

import pytest

from alertsim.errors import ConfigError
from alertsim.rules import load_rules

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"

GROUPS = """\
groups:
- name: api
  rules:
  - record: job:errors:rate5m
    expr: sum by (job) (rate(errors_total[5m]))
  - alert: ManyErrors
    expr: job:errors:rate5m > 1
    for: 5m
    labels: {severity: page}
"""
MANIFEST = """\
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: api
  namespace: monitoring
spec:
""" + "".join(f"  {line}\n" for line in GROUPS.splitlines())
LIST = "apiVersion: v1\nkind: List\nitems:\n- " + MANIFEST.replace("\n", "\n  ").rstrip() + "\n"
STREAM = "---\n# generated\n" + MANIFEST + "---\n" + GROUPS.replace("api", "web").replace("ManyErrors", "WebErrors")


@pytest.mark.parametrize(("text", "alerts"), [
    pytest.param(GROUPS, ["ManyErrors"], id="rule file"),
    pytest.param(MANIFEST, ["ManyErrors"], id="PrometheusRule"),
    pytest.param(LIST, ["ManyErrors"], id="List of PrometheusRule"),
    pytest.param(STREAM, ["ManyErrors", "WebErrors"], id="multi-document"),
])
def test_every_shape_loads_the_same_rules(tmp_path: Path, text: str, alerts: list[str]) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    rules = load_rules(path)
    assert [r.name for r in rules] == alerts
    assert rules[0].expr == "job:errors:rate5m > 1" and rules[0].for_.total_seconds() == 300
    assert rules[0].program is not None and [e.name for e in rules[0].program.recording][:1] == ["job:errors:rate5m"]


def test_lines_point_into_the_manifest(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(MANIFEST.replace("job:errors:rate5m > 1", "job:errors:rate5m >"))
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    assert caught.value.line == MANIFEST.splitlines().index("    - alert: ManyErrors") + 2


def test_other_kubernetes_objects_in_a_stream_are_skipped_with_a_warning(tmp_path: Path, caplog) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {}\n---\n" + MANIFEST)
    with caplog.at_level(logging.WARNING):
        assert [r.name for r in load_rules(path)] == ["ManyErrors"]
    assert "document 1 is a v1 ConfigMap, not rules; skipped" in caplog.text


@pytest.mark.parametrize(("text", "message"), [
    ("apiVersion: apps/v1\nkind: Deployment\nspec: {}\n", "got a apps/v1 Deployment"),
    ("apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: Secret\n", "a stream of documents without rules"),
    (MANIFEST + "  - name: api\n    rules: []\n", "groupname: 'api' is repeated"),
    (MANIFEST.replace("spec:\n", "spec:\n  extra: 1\n"), "unknown top-level key(s) ['extra']"),
])
def test_wrong_shapes_say_what_alertsim_reads(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    assert message in str(caught.value)


def test_a_group_name_may_repeat_in_different_manifests(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(MANIFEST + "---\n" + MANIFEST.replace("ManyErrors", "Other"))
    assert [r.name for r in load_rules(path)] == ["ManyErrors", "Other"]


REAL_FILES = sorted([*REAL.glob("kube-prometheus/*-prometheusRule.yaml"), *REAL.glob("sloth/*.y*ml")])


@pytest.mark.parametrize("path", REAL_FILES, ids=[f"{p.parent.name}/{p.name}" for p in REAL_FILES])
def test_real_files_load_or_fail_only_on_one_rule(path: Path) -> None:
    try:
        load_rules(path, strict=True)
    except ConfigError as exc:
        # Only a construct of one rule (its expression or a label name), never the file's shape.
        if "no alerting rule of the file can be replayed" not in str(exc):
            assert exc.rule is not None and exc.field in ("expr", "labels"), str(exc)
            assert exc.line is not None
    # Without strict, each alerting rule replays or is listed as skipped, by line (a rule Prometheus 2
    # rejects — an unknown function, a bad label name — still refuses the file, as Prometheus does; so
    # does a file none of whose alerting rules can replay, listing why).
    try:
        rules = load_rules(path)
    except ConfigError as exc:
        assert "no alerting rule of the file can be replayed" in str(exc) or (
            exc.rule is not None and exc.field in ("expr", "labels") and exc.line is not None), str(exc)
        assert "not supported" not in str(exc) or "no alerting rule" in str(exc)
        return
    records = set(re.findall(r"record: *['\"]?([^'\"\s]+)", path.read_text()))
    skipped = [n for n in rules.notices if n.rule not in records]  # type: ignore[attr-defined]
    assert all(n.line is not None and n.field in ("expr", "labels") for n in skipped)
    assert len(rules) + len(skipped) == path.read_text().count("alert:")


def test_most_real_files_load() -> None:
    loaded = []
    for path in REAL_FILES:
        with contextlib.suppress(ConfigError):
            loaded.append((path.name, len(load_rules(path))))
    names = dict(loaded)
    assert names["prometheusOperator-prometheusRule.yaml"] == 9
    assert names["k8s-multifile.yml"] == 4 and names["multifile.yml"] == 4
    assert len(loaded) >= 15
