"""Prometheus rule files (``groups:`` → ``rules:``) as replayable rules.

Every alerting rule becomes a :class:`PromQLRule` (``kind="promql"``); recording rules are evaluated
so that alerts (and later recording rules) can select what they record, exactly as Prometheus'
rule manager does:

* rules of a group run in file order at every multiple of the group's ``interval`` (default: the
  replay's evaluation interval); a rule sees what an earlier rule recorded at the same instant and
  what a later rule recorded before it;
* a recording rule's output series get ``__name__`` = ``record`` and the rule's labels; a series the
  rule stops producing is stale at once (no 5-minute lookback);
* an alert's series are the expression's output series without ``__name__``, plus the rule's
  labels and ``alertname`` (a rule label with an empty value removes the label);
* ``for`` and ``keep_firing_for`` run on the group's own evaluation instants;
* ``limit`` is enforced: exceeding it fails the rule at that evaluation, as in Prometheus (an
  alerting rule also drops its pending and firing alerts there);
* an evaluation that fails (duplicate label sets, many-to-many matching) fails that rule at that
  instant only, as Prometheus' rule manager does: no sample and no state change there, the failure
  counted in the rule's health (:class:`alertsim.rules.base.Health`); the other rules never notice.

A rule outside alertsim's PromQL subset (an unsupported function, a templated rule label, a group
key of a newer Prometheus) is skipped, as is every rule that reads what a skipped recording rule
records; each gets a :class:`~alertsim.errors.Notice` (``unsupported-rule``) naming the file and
line, the rule and the construct, and the other rules load (``strict=True`` raises ``ConfigError``
instead). Anything Prometheus itself would reject is a ``ConfigError``.

>>> rules = parse_prometheus_rules('''
... groups:
... - name: example
...   rules:
...   - record: job:errors:rate5m
...     expr: sum by (job) (rate(errors_total[5m]))
...   - alert: ManyErrors
...     expr: job:errors:rate5m > 1
...     for: 5m
...     labels: {severity: page}
... ''')
>>> [(r.name, r.kind, r.group) for r in rules]
[('ManyErrors', 'promql', 'example')]
"""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from alertsim._yaml import load_yaml_documents
from alertsim.durations import parse_duration, to_microseconds
from alertsim.errors import ConfigError, Notice
from alertsim.frames import series_name
from alertsim.promql.ast import Node, anchored, selector_reaches
from alertsim.promql.engine import (
    NAME,
    Context,
    EvaluationError,
    Failures,
    Labels,
    Recorded,
    Scalar,
    Store,
    Vector,
    _merge,
    eval_node,
    format_labels,
    labels_of,
)
from alertsim.promql.parser import PromQLSyntaxError, Unsupported, line_of, parse
from alertsim.rules.base import Condition, Health, LoadedRules, RuleBase
from alertsim.series import LOOKBACK_US, Grid, Prepared, Semantics

log = logging.getLogger(__name__)

METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_GROUP_KEYS = {"name", "interval", "limit", "rules"}
_RULE_KEYS = {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
_IGNORED_GROUP_KEYS = {"partial_response_strategy": "a Thanos Ruler option; a replay has no partial responses"}
_NEWER_GROUP_KEYS = {"query_offset": "a group's query_offset (Prometheus 2.53+)",
                     "labels": "group labels (Prometheus 3.0+)"}


@dataclass(frozen=True, eq=False)
class Entry:
    """One rule of a rule file, recording or alerting, parsed."""

    kind: str
    name: str
    expr: str
    node: Node
    group: str
    interval_us: int | None
    limit: int
    order: int
    labels: Mapping[str, str]
    deleted: frozenset[str]
    line: int | None


@dataclass(frozen=True, eq=False)
class RuleProgram:
    """Every rule of one rule file in file order; evaluates the recording rules on demand."""

    file: str | None
    entries: tuple[Entry, ...]

    @property
    def recording(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "record"]

    def producers(self, entry: Entry) -> dict[int, int]:
        """Recording rules ``entry`` reads (by order) and how far back it reads them (µs)."""
        out: dict[int, int] = {}
        for selector, before in selector_reaches(entry.node):
            reach = before + LOOKBACK_US
            names = [m for m in selector.matchers if m.name == NAME]
            for producer in self.recording:
                if all(name_matches(m.op, m.value, producer.name) for m in names):
                    out[producer.order] = max(out.get(producer.order, 0), reach)
        return out

    def evaluation_order(self) -> list[Entry]:
        """Recording rules, each after the rules it reads (file order otherwise)."""
        by_order = {e.order: e for e in self.recording}
        done: list[Entry] = []
        state: dict[int, int] = {}

        def visit(entry: Entry, path: list[Entry]) -> None:
            if state.get(entry.order) == 2:
                return
            if state.get(entry.order) == 1:
                cycle = " → ".join(e.name for e in [*path[path.index(entry):], entry])
                raise ConfigError(f"recording rules read each other in a cycle ({cycle}); alertsim "
                                  "evaluates a rule for all instants at once and cannot replay that",
                                  file=self.file, rule=entry.name, line=entry.line, field="expr")
            state[entry.order] = 1
            for order in sorted(self.producers(entry)):
                visit(by_order[order], [*path, entry])
            state[entry.order] = 2
            done.append(entry)

        for entry in self.recording:
            visit(entry, [])
        return done

    def reaches(self) -> dict[int, int]:
        """How far before the first alert instant each recording rule must be evaluated (µs)."""
        consumers: dict[int, list[tuple[Entry, int]]] = {}
        for entry in self.entries:
            for order, reach in self.producers(entry).items():
                consumers.setdefault(order, []).append((entry, reach))
        memo: dict[int, int] = {}

        def reach_of(entry: Entry) -> int:
            if entry.kind != "record":
                return 0
            if entry.order not in memo:
                memo[entry.order] = 0
                memo[entry.order] = max([reach_of(c) + r for c, r in consumers.get(entry.order, [])],
                                        default=0)
            return memo[entry.order]

        return {e.order: reach_of(e) for e in self.recording}

    def store(self, prepared: Any, grid: Grid, lookback: int, left_open: bool) -> Store:
        """The raw series plus every recording rule's output, evaluated once per replay."""
        base_step = getattr(grid, "base_step", grid.step)
        end = grid.t0 + grid.step * max(grid.size - 1, 0)
        key = ("promql-store", self, base_step, grid.t0, end, lookback, left_open)
        return prepared.cached(key, lambda: self._record(prepared, grid.t0, end, base_step, lookback,
                                                         left_open))  # type: ignore[no-any-return]

    def _record(self, prepared: Any, first: int, end: int, base_step: int, lookback: int,
                left_open: bool) -> Store:
        store = prepared.cached(("promql-raw",), lambda: Store.from_prepared(prepared))
        store = store.hide({e.name for e in self.recording})
        reaches = self.reaches()
        data_first = prepared.first_us
        for entry in self.evaluation_order():
            step = entry.interval_us or base_step
            start = max(first - reaches[entry.order], min(data_first, first))
            grid = Grid.covering(start, end, step, first % base_step)
            failures = Failures.none(grid.size)
            ctx = Context(grid=grid, store=store, lookback=lookback, left_open=left_open, order=entry.order,
                          rule=entry.name, expr=entry.expr, subquery_step=base_step, failures=failures)
            out = _evaluate_entry(entry, ctx, {NAME: entry.name, **entry.labels},
                                  "vector contains metrics with the same labelset after applying rule labels")
            failures.add(_over_limit(out, entry), f"exceeded limit of {entry.limit} series (group {entry.group!r})")
            store = store.with_recorded(entry.name, Recorded.build(out.labels, grid, out.values, out.present,
                                                                    entry.order, failures.failed))
            store.failures[entry.order] = (failures, grid)
            log.debug("recorded %s: %d series on %d instants", entry.name, out.n, grid.size)
        return store

    def health(self, store: Store, since: int, orders: set[int]) -> list[Health]:
        """Health of the recording rules ``orders`` from instant ``since`` on (failures before it, while
        warming up, are not the replay's)."""
        out = []
        for order in sorted(orders):
            failures, grid = store.failures.get(order, (None, None))
            if failures is None or grid is None:
                continue
            first = max(0, -(-(since - grid.t0) // grid.step))
            health = Health.of(self.entries[order].name, "recording", failures, grid, first=first, file=self.file,
                               line=self.entries[order].line)
            if health is not None:
                out.append(health)
        return out

    def upstream(self, entry: Entry) -> set[int]:
        """Every recording rule ``entry`` reads, directly or through other recording rules."""
        seen: set[int] = set()
        todo = list(self.producers(entry))
        while todo:
            order = todo.pop()
            if order not in seen:
                seen.add(order)
                todo += list(self.producers(self.entries[order]))
        return seen


def name_matches(op: str, pattern: str, name: str) -> bool:
    """Whether the metric name ``name`` satisfies the ``__name__`` matcher ``op pattern``."""
    if op == "=":
        return name == pattern
    if op == "!=":
        return name != pattern
    hit = anchored(pattern).fullmatch(name) is not None
    return hit if op == "=~" else not hit


def _as_vector(value: Vector | Scalar, size: int) -> Vector:
    """A scalar result is one series without labels, as Prometheus' rule query function returns."""
    if isinstance(value, Scalar):
        return Vector([()], value.values[None, :].copy(), np.ones((1, size), dtype=bool))
    return value


def _relabel(labels: Labels, set_: Mapping[str, str], deleted: frozenset[str]) -> Labels:
    out = {k: v for k, v in labels if k not in deleted}
    out.update(set_)
    return labels_of(out)


def _over_limit(vec: Vector, entry: Entry) -> np.ndarray:
    """Instants at which ``vec`` has more series than the group's ``limit`` allows."""
    if entry.limit <= 0 or not vec.n:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(vec.present.sum(axis=0) > entry.limit)


def _evaluate_entry(entry: Entry, ctx: Context, set_: Mapping[str, str], duplicate: str) -> Vector:
    """The rule's output series (labels relabelled with ``set_``) at every instant of ``ctx.grid``;
    failures go to ``ctx.failures``. An error the engine cannot place at instants (inside a subquery,
    say) fails them all."""
    size = ctx.grid.size
    try:
        vec = _as_vector(eval_node(entry.node, ctx), size)
        drop = frozenset() if NAME in set_ else frozenset({NAME})
        labels = [_relabel(tuple(p for p in lbl if p[0] not in drop), set_, entry.deleted) for lbl in vec.labels]
        return _merge(labels, vec.values, vec.present, ctx, duplicate)
    except EvaluationError as error:
        if ctx.failures is None:
            raise
        ctx.failures.add(np.arange(size), str(error))
        return Vector.empty(size)


@dataclass(frozen=True, kw_only=True)
class GroupGrid(Grid):
    """A rule group's own evaluation instants; ``base_step`` is the replay's evaluation interval,
    used by groups without an ``interval``."""

    base_step: int


@dataclass(frozen=True, kw_only=True)
class PromQLRule(RuleBase):
    """An alerting rule of a Prometheus rule file.

    ``name`` is the alert name, made unique within the file (``ErrorBudgetBurn[2]``) when several
    rules share it; ``alertname`` is the alert name itself.
    """

    expr: str
    group: str = ""
    interval: timedelta | None = None
    program: RuleProgram | None = field(default=None, compare=False, repr=False)
    order: int = 0
    line: int | None = None
    kind: str = field(init=False, default="promql")

    @property
    def alert(self) -> str:
        return self.alertname

    def grid_on(self, grid: Grid) -> Grid:
        """The instants this rule is evaluated at within the replay's ``grid``: its group's interval."""
        if self.interval is None:
            return grid
        step = to_microseconds(self.interval)
        last = grid.t0 + grid.step * max(grid.size - 1, 0)
        covering = Grid.covering(grid.t0, last, step, grid.t0 % getattr(grid, "base_step", grid.step))
        return GroupGrid(t0=covering.t0, step=covering.step, size=covering.size,
                         base_step=getattr(grid, "base_step", grid.step))

    def conditions(self, prepared: Prepared, grid: Grid, semantics: Semantics) -> list[Condition]:
        return evaluate_rule(self, prepared, grid, semantics)

    def single_sample(self) -> str | None:
        if self.for_ > timedelta(0) or _RANGE_FUNCTION.search(self.expr):
            return None
        return "`for: 0` on an instant gauge expression: one evaluation over the line pages someone"

    def severity_given(self, explicit: bool | None) -> bool:
        return self.severity is not None if explicit is None else explicit


#: A function over a range of samples: a rule using one does not fire on a single gauge sample.
_RANGE_FUNCTION = re.compile(r"\b(rate|irate|increase|_over_time|histogram_quantile)\s*\(")


def _entry_of(rule: PromQLRule) -> Entry:
    assert rule.program is not None
    return rule.program.entries[rule.order]


def evaluate_rule(rule: PromQLRule, prepared: Prepared, grid: Grid, semantics: Semantics) -> list[Condition]:
    """One condition, a row per alert series."""
    if rule.program is None:
        program = parse_prometheus_rules({"groups": [{"name": rule.group or "alertsim", "rules": [
            {"alert": rule.alertname, "expr": rule.expr}]}]})[0].program
        assert program is not None
        entry = program.entries[0]
    else:
        program, entry = rule.program, _entry_of(rule)
    lookback = semantics.lookback
    left_open = semantics.left_open
    store = program.store(prepared, grid, lookback, left_open)
    failures = Failures.none(grid.size)
    ctx = Context(grid=grid, store=store, lookback=lookback, left_open=left_open, order=entry.order,
                  rule=rule.name, expr=rule.expr, subquery_step=getattr(grid, "base_step", grid.step),
                  failures=failures)
    out = _evaluate_entry(entry, ctx, {**entry.labels, "alertname": rule.alertname},
                          "vector contains metrics with the same labelset after applying alert labels")
    enter = out.present & ~failures.failed[None, :]
    # Over its limit, an alerting rule fails and drops every pending and firing alert (no hold).
    over = _over_limit(out, entry)
    failures.add(over, f"exceeded limit of {entry.limit} alerts (group {entry.group!r})")
    held = failures.failed.copy()
    held[over] = False
    enter[:, over] = False
    plain = [{k: v for k, v in lbl if k != "alertname"} for lbl in out.labels]
    health = Health.of(rule.name, "alerting", failures, grid, file=program.file, line=entry.line)
    return [Condition(rule=rule, series=[series_name(rule.alertname, lbl) for lbl in plain], labels=plain,
                      enter=enter, present=np.ones_like(out.present), value=out.values,
                      severity=entry.labels.get("severity"),  # type: ignore[arg-type]
                      failed=held if held.any() else None,
                      health=(*([health] if health else []),
                              *program.health(store, grid.t0, program.upstream(entry))))]


# ------------------------------------------------------------------------------------------------
# Loading.

class _Marks:
    """Line numbers (1-based) of the YAML nodes of a rule file, by path below ``prefix``."""

    def __init__(self, root: Any = None, prefix: tuple[str | int, ...] = ()):
        self.root, self.prefix = root, prefix

    def node(self, *path: str | int) -> Any:
        node = self.root
        for key in (*self.prefix, *path):
            if node is None:
                return None
            if isinstance(key, int):
                node = node.value[key] if isinstance(node, yaml.SequenceNode) and key < len(node.value) else None
            elif isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
            else:
                return None
        return node

    def line(self, *path: str | int) -> int | None:
        node = self.node(*path)
        return node.start_mark.line + 1 if node is not None else None

    def expr_line(self, path: tuple[str | int, ...], text: str, pos: int) -> int | None:
        """The file line of byte ``pos`` of an ``expr`` value (exact for single-line and ``|`` blocks)."""
        node = self.node(*path)
        if node is None:
            return None
        first = node.start_mark.line + 1
        if getattr(node, "style", None) in ("|", ">"):
            first += 1
        return first + line_of(text, pos)


def _nodes(text: str) -> list[Any]:
    try:
        return list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return []


_OPERATOR_API = "monitoring.coreos.com/"


def _is_prometheus_rule(document: Any) -> bool:
    return (isinstance(document, Mapping) and document.get("kind") == "PrometheusRule"
            and str(document.get("apiVersion", "")).startswith(_OPERATOR_API))


def rule_sources(document: Any, path: tuple[str | int, ...] = ()) -> list[tuple[Mapping[str, Any],
                                                                                 tuple[str | int, ...], str]]:
    """The rule files held by one YAML document: ``(mapping with groups, its path, what it is)``.

    A Prometheus rule file is itself; a prometheus-operator ``PrometheusRule`` manifest holds one under
    ``spec``; a Kubernetes ``List`` holds one per ``PrometheusRule`` item. Anything else holds none.

    >>> doc = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
    ...        "metadata": {"name": "api"}, "spec": {"groups": []}}
    >>> [(p, what) for _, p, what in rule_sources({"apiVersion": "v1", "kind": "List", "items": [doc]})]
    [(('items', 0, 'spec'), 'PrometheusRule api')]
    """
    if not isinstance(document, Mapping):
        return []
    if _is_prometheus_rule(document):
        spec = document.get("spec")
        name = (document.get("metadata") or {}).get("name") if isinstance(document.get("metadata"), Mapping) else None
        return [(spec if isinstance(spec, Mapping) else {"groups": None}, (*path, "spec"),
                 f"PrometheusRule {name}" if name else "PrometheusRule")]
    if document.get("kind") == "List" and isinstance(document.get("items"), list):
        return [source for i, item in enumerate(document["items"])
                for source in rule_sources(item, (*path, "items", i))]
    if "groups" in document and "apiVersion" not in document:
        return [(document, path, "rule file")]
    return []


def recognises(document: Any) -> bool:
    """True for a Prometheus rule file, a ``PrometheusRule`` manifest or a ``List`` holding one."""
    return bool(rule_sources(document))


def _describe(document: Any) -> str:
    if isinstance(document, Mapping) and "kind" in document:
        return f"a {document.get('apiVersion', '?')} {document['kind']}"
    return "not a rule file" if document is not None else "empty"


def _error(message: str, *, file: str | None, rule: str | None, line: int | None, field: str | None = None
           ) -> ConfigError:
    return ConfigError(message, file=file, rule=rule, line=line, field=field)


class UnsupportedRule(ConfigError):
    """A valid rule that alertsim cannot replay (a construct outside its subset)."""


def _skipped(error: ConfigError) -> Notice:
    message = str(error).split(": ", 1)[-1] if error.file or error.rule or error.field else str(error)
    return Notice(code="unsupported-rule", file=error.file, line=error.line, rule=error.rule, field=error.field,
                  message=message + SKIPPED)


#: How the notice of a rule left out of a file ends.
SKIPPED = "; the rule is skipped, the others replay"


def _string_map(value: Any, what: str, *, file: str | None, rule: str, line: int | None) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _error(f"{what} must be a mapping of names to strings, got {value!r}", file=file, rule=rule,
                     line=line, field=what)
    out = {}
    for key, item in value.items():
        if not isinstance(key, str) or isinstance(item, Mapping | list):
            raise _error(f"{what} must map names to strings, got {key!r}: {item!r}", file=file, rule=rule,
                         line=line, field=what)
        out[key] = "" if item is None else (str(item).lower() if isinstance(item, bool) else str(item))
    return out


def _duration(value: Any, what: str, *, file: str | None, rule: str, line: int | None) -> timedelta:
    try:
        return parse_duration(str(value) if isinstance(value, int) else value, field=what)
    except ConfigError as exc:
        raise _error(str(exc).split(": ", 1)[-1], file=file, rule=rule, line=line, field=what) from None


def parse_prometheus_rules(source: str | Mapping[str, Any], *, file: str | None = None,
                           strict: bool = False) -> LoadedRules:
    """The alerting rules of a Prometheus rule file (YAML text or an already-loaded document).

    The text may hold several YAML documents (``---``), each a rule file, a prometheus-operator
    ``PrometheusRule`` manifest (rules under ``spec.groups``) or a Kubernetes ``List`` of them, as
    kube-prometheus and Sloth write them; other Kubernetes objects in the stream are skipped with a
    warning naming them. Group names are unique within each rule file or manifest, as Prometheus and the
    operator require. Recording rules are kept in each rule's ``program`` and evaluated during replay.
    Raises ``ConfigError`` naming the file, line, rule and field for anything Prometheus would reject. A
    rule outside alertsim's subset is skipped with a notice in the result's ``notices`` (with ``strict``,
    it is a ``ConfigError`` too); if no alerting rule is left, that is a ``ConfigError``.

    >>> rules = parse_prometheus_rules('''
    ... groups:
    ... - name: g
    ...   rules:
    ...   - {alert: Odd, expr: 'histogram_fraction(0, 1, x) > 0'}
    ...   - {alert: High, expr: x > 1}
    ... ''', file="r.yml")
    >>> [r.name for r in rules], [str(n) for n in rules.notices]  # doctest: +ELLIPSIS
    (['High'], ["r.yml:5, rule 'Odd', field 'expr': histogram_fraction: ...; the rule is skipped, ..."])
    """
    sources = _rule_sources(source, file)
    entries: list[Entry] = []
    specs: list[dict[str, Any]] = []
    notices: list[Notice] = []
    skipped_records: dict[str, Notice] = {}

    def skip(error: ConfigError, records: list[str]) -> None:
        if strict:
            raise error
        notices.append(_skipped(error))
        for record in records:
            skipped_records.setdefault(record, notices[-1])

    for document, marks, what in sources:
        read, read_specs = _source_entries(document, marks, what, first=len(entries), file=file, skip=skip)
        entries += read
        specs += read_specs
    if skipped_records:
        entries, specs = _drop_readers(entries, specs, skipped_records, skip)
    out = _alerting_rules(entries, specs, file)
    for notice in notices:
        log.warning("%s", notice)
    if notices and not out:
        raise ConfigError("no alerting rule of the file can be replayed:\n" + "\n".join(f"  - {n}" for n in notices),
                          file=file)
    return LoadedRules(out, notices=notices)


def _rule_sources(source: str | Mapping[str, Any], file: str | None
                  ) -> list[tuple[Mapping[str, Any], _Marks, str]]:
    """Every rule file (or manifest ``spec``) in ``source``'s documents, with its line marks and what it is;
    other Kubernetes objects are skipped with a warning, and no rules at all is a ``ConfigError``."""
    if isinstance(source, str):
        documents = load_yaml_documents(source, file=file)
        nodes = _nodes(source)
        if len(nodes) != len(documents):
            nodes = [None] * len(documents)
    else:
        documents, nodes = [source], [None]
    sources: list[tuple[Mapping[str, Any], _Marks, str]] = []
    for d, (document, node) in enumerate(zip(documents, nodes, strict=True)):
        found = rule_sources(document)
        where = f"document {d + 1}" if len(documents) > 1 else "the file"
        if not found and document is not None and len(documents) > 1:
            log.warning("%s: %s is %s, not rules; skipped", file or "rules", where, _describe(document))
        sources += [(spec, _Marks(node, path), what) for spec, path, what in found]
    if not sources:
        what = _describe(documents[0]) if len(documents) == 1 else "a stream of documents without rules"
        raise ConfigError(f"a Prometheus rule file is a mapping with a `groups:` list, a PrometheusRule manifest "
                          f"(apiVersion monitoring.coreos.com/v1, rules under spec.groups) or a List of them; "
                          f"got {what}", file=file, field="groups")
    return sources


def _alerting_rules(entries: list[Entry], specs: list[dict[str, Any]], file: str | None) -> list[PromQLRule]:
    """The alerting rules of ``entries`` over one program with every recording rule (names repeated in a
    file get ``[n]``)."""
    program = RuleProgram(file=file, entries=tuple(entries))
    program.evaluation_order()  # cycles are a ConfigError now, not at replay
    counts = Counter(e.name for e in entries if e.kind == "alert")
    occurrence: Counter[str] = Counter()
    out = []
    for entry in entries:
        if entry.kind != "alert":
            continue
        occurrence[entry.name] += 1
        unique = entry.name if counts[entry.name] == 1 else f"{entry.name}[{occurrence[entry.name]}]"
        spec = specs[entry.order]
        out.append(PromQLRule(
            name=unique, base_name=entry.name, expr=entry.expr, group=entry.group,
            interval=None if entry.interval_us is None else timedelta(microseconds=entry.interval_us),
            for_=spec["for"], keep_firing_for=spec["keep_firing_for"], labels=dict(sorted(entry.labels.items())),
            annotations=spec["annotations"], severity=entry.labels.get("severity"),  # type: ignore[arg-type]
            program=program, order=entry.order, line=entry.line))
    return out


def _source_entries(document: Mapping[str, Any], marks: _Marks, what: str, *, first: int, file: str | None,
                    skip: Callable[[ConfigError, list[str]], None]) -> tuple[list[Entry], list[dict[str, Any]]]:
    """The rules of one rule file (or one manifest's ``spec``), numbered from ``first``, and their
    ``for``/``keep_firing_for``/``annotations``; ``skip`` is told about rules outside the subset."""
    if not isinstance(document.get("groups"), list):
        raise ConfigError(f"{what}: `groups` must be a list of rule groups", file=file,
                          line=marks.line("groups") or marks.line(), field="groups")
    allowed_top = {"groups"}
    unknown = sorted(set(document) - allowed_top)
    if unknown:
        raise ConfigError(f"unknown top-level key(s) {unknown}; a Prometheus rule file has only `groups`",
                          file=file, line=marks.line(unknown[0]))
    entries: list[Entry] = []
    specs: list[dict[str, Any]] = []
    seen_groups: set[str] = set()
    for g, group in enumerate(document["groups"]):
        gline = marks.line("groups", g)
        if not isinstance(group, Mapping):
            raise ConfigError(f"group #{g + 1} must be a mapping", file=file, line=gline, field="groups")
        name = group.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError("Groupname must not be empty", file=file, line=gline, field="name")
        if name in seen_groups:
            raise ConfigError(f"groupname: {name!r} is repeated in the same file", file=file, line=gline,
                              field="name")
        seen_groups.add(name)
        newer = [key for key in group if key in _NEWER_GROUP_KEYS]
        if newer:
            listed = group.get("rules")
            skip(UnsupportedRule(f"{_NEWER_GROUP_KEYS[newer[0]]} is not supported: every rule of group {name!r} "
                                 "is skipped", file=file, line=marks.line("groups", g, newer[0]), rule=f"group {name}",
                                 field=newer[0]),
                 [str(r["record"]) for r in (listed if isinstance(listed, list) else [])
                  if isinstance(r, Mapping) and r.get("record")])
            continue
        for key in group:
            if key in _IGNORED_GROUP_KEYS:
                log.warning("%s:%s: group %r: %s is ignored (%s)", file or "rules", marks.line("groups", g, key),
                            name, key, _IGNORED_GROUP_KEYS[key])
        unknown = sorted(set(group) - _GROUP_KEYS - set(_IGNORED_GROUP_KEYS))
        if unknown:
            raise ConfigError(f"group {name!r}: unknown key(s) {unknown}; allowed: {sorted(_GROUP_KEYS)}",
                              file=file, line=marks.line("groups", g, unknown[0]), field=unknown[0])
        interval_us = None
        if group.get("interval") is not None:
            interval = _duration(group["interval"], "interval", file=file, rule=f"group {name}",
                                 line=marks.line("groups", g, "interval"))
            interval_us = to_microseconds(interval) or None
        limit = group.get("limit", 0) or 0
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ConfigError(f"group {name!r}: limit must be a non-negative integer, got {limit!r}", file=file,
                              line=marks.line("groups", g, "limit"), field="limit")
        rules = group.get("rules") or []
        if not isinstance(rules, list):
            raise ConfigError(f"group {name!r}: rules must be a list", file=file,
                              line=marks.line("groups", g, "rules"), field="rules")
        for r, spec in enumerate(rules):
            try:
                entry = _entry(spec, marks, ("groups", g, "rules", r), group=name, interval_us=interval_us,
                               limit=limit, order=first + len(entries), file=file)
            except UnsupportedRule as error:
                skip(error, [str(spec["record"])] if isinstance(spec, Mapping) and spec.get("record") else [])
                continue
            entries.append(entry)
            specs.append(_spec(spec))
    return entries, specs


def _spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """``for``, ``keep_firing_for`` and ``annotations`` of a rule (already checked by ``_entry``)."""
    annotations = spec.get("annotations") or {}
    return {
        "for": parse_duration(_text(spec.get("for", "0"))),
        "keep_firing_for": parse_duration(_text(spec.get("keep_firing_for", "0"))),
        "annotations": {str(k): "" if v is None else str(v) for k, v in sorted(annotations.items())},
    }


def _reads(entry: Entry, names: Mapping[str, Any]) -> str | None:
    """The first of ``names`` (recorded series) that a selector of ``entry`` names, if any."""
    for selector, _ in selector_reaches(entry.node):
        matchers = [m for m in selector.matchers if m.name == NAME]
        for name in names:
            if matchers and all(name_matches(m.op, m.value, name) for m in matchers):
                return name
    return None


def _drop_readers(entries: list[Entry], specs: list[dict[str, Any]], skipped: dict[str, Notice],
                  skip: Any) -> tuple[list[Entry], list[dict[str, Any]]]:
    """Leave out every rule that reads a series recorded by a skipped rule (transitively); the rules
    left are renumbered in file order."""
    kept = list(zip(entries, specs, strict=True))
    changed = True
    while changed:
        changed = False
        for pair in list(kept):
            entry = pair[0]
            name = _reads(entry, skipped)
            if name is None:
                continue
            cause = skipped[name]
            where = f"{cause.file}:{cause.line}" if cause.file and cause.line else f"rule {cause.rule!r}"
            skip(UnsupportedRule(f"reads {name!r}, recorded by a rule that is skipped ({where})", file=cause.file,
                                 line=entry.line, rule=entry.name, field="expr"),
                 [entry.name] if entry.kind == "record" else [])
            kept.remove(pair)
            changed = True
    return ([replace(e, order=i) for i, (e, _) in enumerate(kept)], [spec for _, spec in kept])


def _text(value: Any) -> str:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _entry(spec: Any, marks: _Marks, path: tuple[str | int, ...], *, group: str, interval_us: int | None,
           limit: int, order: int, file: str | None) -> Entry:
    line = marks.line(*path)
    if not isinstance(spec, Mapping):
        raise ConfigError(f"rule #{path[-1] + 1} of group {group!r} must be a mapping",  # type: ignore[operator]
                          file=file, line=line)
    record, alert = spec.get("record"), spec.get("alert")
    name = str(alert if alert not in (None, "") else record if record not in (None, "") else f"#{order + 1}")
    if record not in (None, "") and alert not in (None, ""):
        raise _error("only one of 'record' and 'alert' must be set", file=file, rule=name, line=line)
    if record in (None, "") and alert in (None, ""):
        raise _error("one of 'record' or 'alert' must be set", file=file, rule=name, line=line)
    unknown = sorted(set(spec) - _RULE_KEYS)
    if unknown:
        raise _error(f"unknown key(s) {unknown}; allowed: {sorted(_RULE_KEYS)}", file=file, rule=name,
                     line=marks.line(*path, unknown[0]) or line, field=unknown[0])
    kind = "alert" if alert not in (None, "") else "record"
    expr = spec.get("expr")
    if expr is None or (isinstance(expr, str) and not expr.strip()):
        raise _error("field 'expr' must be set in rule", file=file, rule=name, line=line, field="expr")
    if isinstance(expr, bool) or not isinstance(expr, str | int | float):
        raise _error(f"expr must be a PromQL expression, got {expr!r}", file=file, rule=name, line=line,
                     field="expr")
    expr = str(expr)
    if kind == "record":
        for key in ("annotations", "for", "keep_firing_for"):
            if spec.get(key):
                raise _error(f"invalid field '{key}' in recording rule", file=file, rule=name,
                             line=marks.line(*path, key) or line, field=key)
        if not METRIC_NAME.match(name):
            raise _error(f"invalid recording rule name: {name}", file=file, rule=name, line=line, field="record")
    for key in ("for", "keep_firing_for"):
        if spec.get(key) is not None:
            _duration(_text(spec[key]), key, file=file, rule=name, line=marks.line(*path, key) or line)
    labels = _string_map(spec.get("labels"), "labels", file=file, rule=name, line=marks.line(*path, "labels"))
    annotations = _string_map(spec.get("annotations"), "annotations", file=file, rule=name,
                              line=marks.line(*path, "annotations"))
    for key, value in labels.items():
        if not LABEL_NAME.match(key) or key == NAME:
            raise _error(f"invalid label name: {key}", file=file, rule=name, line=marks.line(*path, "labels"),
                         field="labels")
        if "{{" in value:
            raise UnsupportedRule(f"label {key}: templated label values ({value!r}) are not supported: they make "
                                  "the alert's identity depend on its value", file=file, rule=name,
                                  line=marks.line(*path, "labels", key), field="labels")
    for key in annotations:
        if not LABEL_NAME.match(key):
            raise _error(f"invalid annotation name: {key}", file=file, rule=name,
                         line=marks.line(*path, "annotations"), field="annotations")
    try:
        node = parse(expr)
    except Unsupported as exc:
        raise UnsupportedRule(f"{exc.construct}: {exc}", file=file, rule=name,
                              line=marks.expr_line((*path, "expr"), expr, exc.pos) or line, field="expr") from None
    except PromQLSyntaxError as exc:
        raise _error(f"could not parse expression: {exc}", file=file, rule=name,
                     line=marks.expr_line((*path, "expr"), expr, exc.pos) or line, field="expr") from None
    return Entry(kind=kind, name=name, expr=expr, node=node, group=group, interval_us=interval_us, limit=limit,
                 order=order, labels={k: v for k, v in labels.items() if v != ""},
                 deleted=frozenset(k for k, v in labels.items() if v == ""), line=line)


def load_prometheus_rules(path: str | os.PathLike[str], *, strict: bool = False) -> LoadedRules:
    """:func:`parse_prometheus_rules` of a file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read rule file: {exc}", file=str(path)) from None
    return parse_prometheus_rules(text, file=str(path), strict=strict)


def recorded_series(rules: list[PromQLRule], prepared: Any, grid: Grid) -> dict[str, Vector]:
    """What the recording rules of ``rules``' file record on ``grid``'s span (for inspection)."""
    if not rules or rules[0].program is None:
        return {}
    store = rules[0].program.store(prepared, grid, LOOKBACK_US, False)
    return {name: Vector(block.labels, block.values, block.present) for name, block in store.recorded}


__all__ = ["EvaluationError", "GroupGrid", "PromQLRule", "RuleProgram", "UnsupportedRule", "evaluate_rule",
           "format_labels", "load_prometheus_rules", "parse_prometheus_rules", "recognises", "recorded_series",
           "rule_sources"]
