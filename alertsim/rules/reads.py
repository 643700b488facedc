"""What a set of rules reads: the raw series selectors, as PromQL text, and how far before an
evaluation each is read, so that exactly those series can be fetched from Prometheus.

>>> from alertsim.rules.prometheus import parse_prometheus_rules
>>> rules = parse_prometheus_rules('''
... groups:
... - name: api
...   rules:
...   - record: job:errors:rate5m
...     expr: sum by (job) (rate(errors_total{job="api"}[5m]))
...   - alert: ManyErrors
...     expr: job:errors:rate5m > 1 and on (job) up == 1
... ''')
>>> [(r.selector, r.reach.total_seconds()) for r in reads(rules)]
[('{__name__="errors_total",job="api"}', 600.0), ('{__name__="up"}', 300.0)]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from alertsim.errors import ConfigError
from alertsim.promql.ast import Matcher, selector_reaches
from alertsim.rules.prometheus import name_matches
from alertsim.series import LOOKBACK_US


@dataclass(frozen=True, kw_only=True)
class Read:
    """One series selector a rule reads and how far back from an evaluation instant it reads."""

    selector: str
    reach: timedelta


def _text(matchers: Iterable[Matcher]) -> str:
    ordered = sorted(matchers, key=lambda m: (m.name != "__name__", m.name, m.op, m.value))
    return "{" + ",".join(str(m) for m in ordered) + "}"


def _native(metric: str, matchers: Mapping[str, str]) -> str:
    return _text([Matcher(name="__name__", op="=", value=metric),
                  *(Matcher(name=k, op="=", value=v) for k, v in matchers.items())])


def _promql_reads(rule: Any) -> list[tuple[str, int]]:
    program = rule.program
    entries = program.entries if program is not None else ()
    recorded = [e.name for e in entries if e.kind == "record"]
    out = []
    for entry in entries:
        for selector, before in selector_reaches(entry.node):  # subqueries' ranges included
            reach = before + LOOKBACK_US
            names = [m for m in selector.matchers if m.name == "__name__"]
            if names and any(all(name_matches(m.op, m.value, r) for m in names) for r in recorded):
                continue  # read from a recording rule of the same file
            out.append((_text(selector.matchers), reach))
    return out


def _native_reads(rule: Any) -> list[tuple[str, int]]:
    window = timedelta(0)
    for name in ("window", "period", "train"):
        value = getattr(rule, name, None)
        if isinstance(value, timedelta):
            window = max(window, value)
    over = getattr(rule, "over", None)
    if over is not None:
        window = max(window, over.window)
    reach = int(window / timedelta(microseconds=1)) + LOOKBACK_US
    if getattr(rule, "kind", None) == "burn_rate":
        longest = max((w.long for w in rule.windows), default=timedelta(0))
        reach = int(longest / timedelta(microseconds=1)) + LOOKBACK_US
        return [(_native(s.metric, s.matchers), reach) for s in (rule.total, rule.good, rule.bad) if s is not None]
    return [(_native(rule.metric, rule.matchers), reach)]


def reads(rules: Iterable[Any]) -> list[Read]:
    """The distinct raw series selectors ``rules`` read, each with the longest reach, in first-read order.

    Prometheus rules (with their recording rules: a series a recording rule of the same file produces is
    not fetched, the series it reads are) and alertsim's native rules are understood; a vendor rule
    (CloudWatch, GCP, Datadog) reads a vendor's metrics, not Prometheus', and is a ``ConfigError``.
    """
    reach: dict[str, int] = {}
    programs: set[int] = set()
    for rule in rules:
        kind = getattr(rule, "kind", None)
        if kind == "promql":
            if id(rule.program) in programs:
                continue
            programs.add(id(rule.program))
            found = _promql_reads(rule)
        elif (hasattr(rule, "metric") and kind not in ("cloudwatch", "gcp", "datadog")) or kind == "burn_rate":
            found = _native_reads(rule)
        else:
            raise ConfigError(f"a {kind} rule reads a vendor's metrics, not Prometheus'; fetch them with "
                              f"`alertsim import`", rule=getattr(rule, "name", None), field="rules")
        for selector, us in found:
            reach[selector] = max(reach.get(selector, 0), us)
    return [Read(selector=s, reach=timedelta(microseconds=us)) for s, us in reach.items()]


__all__ = ["Read", "reads"]
