"""Published rule packs as they are: every alerting rule of awesome-prometheus-alerts and of
kube-prometheus' PrometheusRule manifests (copies under tests/fixtures/rulepacks and
tests/fixtures/real, with their licences) must load, and replay over synthetic series of every
metric it reads.

Each rule is loaded with the recording rules of its group (kube-prometheus' alerts read them), and
replayed for two hours of one-minute samples: two series per selected metric, labelled to satisfy the
selector's equality and regex matchers, counters rising with a reset, gauges wandering, ``le``
buckets for ``*_bucket`` metrics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import yaml

from alertsim.promql.ast import VectorSelector, anchored, walk
from alertsim.replay import replay
from alertsim.rules.prometheus import PromQLRule, parse_prometheus_rules

FIXTURES = Path(__file__).parents[1] / "fixtures"
PACKS = {"awesome-prometheus-alerts": FIXTURES / "rulepacks" / "awesome-prometheus-alerts" / "rules",
         "kube-prometheus": FIXTURES / "real" / "kube-prometheus"}
T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
MINUTES = 120
COMMON = {"instance": ("host-a:9100", "host-b:9100"), "job": ("node", "node"), "namespace": ("default", "kube-system"),
          "pod": ("p-1", "p-2"), "service": ("svc", "svc"), "container": ("c", "c"), "cluster": ("", "")}


def groups(path: Path) -> list[dict[str, Any]]:
    """The rule groups of a Prometheus rule file or of PrometheusRule manifests."""
    out: list[dict[str, Any]] = []
    for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if isinstance(doc, dict) and doc.get("kind") == "PrometheusRule":
            out += doc["spec"]["groups"]
        elif isinstance(doc, dict) and "groups" in doc:
            out += doc["groups"]
    return out


def alerting_rules(pack: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(``file:alert``, a one-group document holding the alert and its group's recording rules)."""
    for path in sorted(PACKS[pack].rglob("*.y*ml")):
        for group in groups(path):
            records = [r for r in group.get("rules") or [] if "record" in r]
            for rule in group.get("rules") or []:
                if "alert" in rule:
                    yield (f"{path.relative_to(PACKS[pack])}:{rule['alert']}",
                           {"groups": [{"name": group["name"], "rules": [*records, rule]}]})


def _value_for(matchers: list[Any], label: str, k: int) -> str:
    for m in matchers:
        if m.name == label and m.op == "=":
            return str(m.value)
    for m in matchers:
        if m.name == label and m.op == "=~":
            for option in [*m.value.split("|"), m.value.replace(".*", "x").replace(".+", "x")]:
                if anchored(m.value).fullmatch(option):
                    return option
    value = COMMON.get(label, (f"{label}-1", f"{label}-2"))[k]
    for m in matchers:
        if m.name == label and ((m.op == "!=" and m.value == value) or (
                m.op == "!~" and anchored(m.value).fullmatch(value))):
            value = f"{value}-other"
    return value


def synthetic(rule: PromQLRule, seed: int) -> pl.DataFrame:
    """Two series of every metric the rule's file reads (recorded metrics excluded)."""
    assert rule.program is not None
    recorded = {e.name for e in rule.program.recording}
    selectors = [n for e in rule.program.entries for n in walk(e.node) if isinstance(n, VectorSelector)]
    rng = np.random.default_rng(seed)
    times = pl.datetime_range(T0, T0 + dt.timedelta(minutes=MINUTES - 1), "1m", eager=True, time_zone="UTC")
    frames = []
    for selector in selectors:
        names = [m.value for m in selector.matchers if m.name == "__name__" and m.op == "="]
        if not names or names[0] in recorded:
            continue
        labels = sorted({m.name for m in selector.matchers if m.name != "__name__"} | {"instance", "job"})
        for k in range(2):
            values = np.cumsum(rng.poisson(5, MINUTES)).astype(float)
            if names[0].endswith(("_total", "_count", "_sum", "_bucket")):
                values[MINUTES // 2:] -= values[MINUTES // 2 - 1]  # a counter reset
            else:
                values = np.round(rng.normal(50, 20, MINUTES), 2)
            buckets = ("0.1", "1", "+Inf") if names[0].endswith("_bucket") else ("",)
            for j, le in enumerate(buckets):
                row = {label: _value_for(list(selector.matchers), label, k) for label in labels}
                if le:
                    row["le"] = le
                frames.append(pl.DataFrame({"timestamp": times, "metric": names[0], "value": values * (j + 1)})
                              .with_columns(**{key: pl.lit(value) for key, value in row.items()}))
    if not frames:
        return pl.DataFrame({"timestamp": times, "metric": "unrelated", "value": 1.0})
    return pl.concat(frames, how="diagonal").fill_null("").unique(maintain_order=True)


@cache
def outcome(pack: str) -> tuple[int, int, int, list[str]]:
    """(rules, loaded, replayed, failures) for a pack."""
    total = loaded = replayed = 0
    failures = []
    for seed, (name, document) in enumerate(alerting_rules(pack)):
        total += 1
        try:
            rules = parse_prometheus_rules(document, file=name)
            loaded += 1
            metrics = synthetic(rules[0], seed)
            metrics = metrics.unique(subset=[c for c in metrics.columns if c != "value"], keep="first")
            replay(metrics, rules)
            replayed += 1
        except Exception as error:  # every failure is reported with its rule below
            failures.append(f"{name}: {type(error).__name__}: {str(error)[:200]}")
    return total, loaded, replayed, failures


@pytest.mark.slow
@pytest.mark.parametrize("pack", ["awesome-prometheus-alerts", "kube-prometheus"])
def test_rule_packs_load_and_replay(pack: str) -> None:
    total, loaded, replayed, failures = outcome(pack)
    assert total > 100
    assert loaded == total, failures[:10]
    assert replayed >= 0.98 * total, failures[:10]
