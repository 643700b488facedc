"""Google Cloud Monitoring alerting policies (``AlertPolicy`` JSON or YAML), replayed as Cloud Monitoring
evaluates them.

``load_rules()`` reads one policy (``{"displayName": ..., "conditions": [...], ...}``), the
``{"alertPolicies": [...]}`` response of ``projects.alertPolicies.list``, or a list of policies. Keys are
the REST API's camelCase (snake_case is accepted too). Metric-threshold and metric-absence conditions
become one :class:`GcpPolicy` (``kind="gcp"``) per policy; PromQL conditions
(``conditionPrometheusQueryLanguage``) go through alertsim's Prometheus path as rules of their own;
forecast, MQL, SQL and log-match conditions are a ``ConfigError``.

How a policy is evaluated (reference: cloud-alarms-and-incident-exports.md §2):

* **Cadence.** Every minute on the minute (the policy runs on its own one-minute grid).
* **Series.** ``filter`` is a conjunction (``AND``) of equalities: ``metric.type`` → ``metric``;
  ``metric.label(s).K``, ``resource.label(s).K`` and ``metadata.*_labels.K`` → label ``K``;
  ``resource.type`` and ``project`` are matched against ``resource_type``/``project`` labels when the
  metrics have them (the GCP importer writes ``resource_type``). Other operators are a ``ConfigError``.
* **Alignment.** At minute ``t`` each series is aligned over ``(t − alignmentPeriod, t]`` (the window
  slides with the minute): ``ALIGN_MEAN/MIN/MAX/SUM/COUNT/STDDEV``, ``ALIGN_PERCENTILE_99/95/50/05``
  (linear interpolation), ``ALIGN_NEXT_OLDER`` (the newest sample), ``ALIGN_DELTA`` and ``ALIGN_RATE``
  (Prometheus ``increase``/``rate``, counter resets included, for CUMULATIVE metrics;
  a series the importer marked ``metric_kind="DELTA"`` holds changes already: their sum over the
  alignment period, and that sum per second). No aggregation (or ``ALIGN_NONE``): the
  newest sample of the minute ``(t − 1m, t]``. ``crossSeriesReducer``
  (``REDUCE_MEAN/MIN/MAX/SUM/COUNT/STDDEV/PERCENTILE_xx``) then reduces the aligned series grouped by
  ``groupByFields``.
* **Retest window.** ``duration``: a series fails once every evaluation in the last ``duration`` violated
  (``duration / 1m`` consecutive violating evaluations; ``0`` means one). A measurement that does not
  violate resets it.
* **Missing data** (``evaluationMissingData``): ``INACTIVE`` counts a minute without data as not
  violating, ``ACTIVE`` as violating (only after the series has reported once), ``NO_OP`` (and unset)
  neither: an open incident stays open. ``alertStrategy.autoClose`` closes it after that long without
  data.
* **Absence** (``conditionAbsent``): a series (or group) fails when it reported before and has had no
  sample for ``duration``.
* **Trigger.** ``{count: n}`` (default 1) or ``{percent: p}`` of the condition's series must fail at the
  same minute for the condition to be met.
* **Combiner.** ``OR``: each condition raises its own alerts; ``AND``: a failing series raises an alert
  only while every condition is met; ``AND_WITH_MATCHING_RESOURCE``: while every condition fails on a
  series with the same labels.
* **Incidents → episodes.** Cloud Monitoring opens one incident per failing time series and condition:
  each is one alert episode (``active_at = fired_at`` = the first minute it fails with the condition met,
  ``resolved_at`` = the first minute it does not). Severity: ``CRITICAL``/``ERROR`` → ``page``,
  ``WARNING`` → ``ticket``, unset → ``page``. ``documentation`` becomes annotations.

>>> policy = parse_gcp({"displayName": "High latency", "combiner": "OR", "conditions": [{
...     "displayName": "p99 > 0.5 s for 5m", "conditionThreshold": {
...         "filter": 'metric.type="latency_p99" AND metric.labels.service="checkout"',
...         "aggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_MEAN"}],
...         "comparison": "COMPARISON_GT", "thresholdValue": 0.5, "duration": "300s"}}]})[0]
>>> policy.policy_conditions[0].matchers, policy.policy_conditions[0].duration
({'service': 'checkout'}, datetime.timedelta(seconds=300))
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np

from alertsim.durations import format_duration, to_microseconds
from alertsim.errors import ConfigError
from alertsim.frames import series_name
from alertsim.rules._recognise import gcp_policies as recognises
from alertsim.rules._vendor import (
    MINUTE_US,
    cadence_grid,
    episode_notifications,
    extended,
    gap_lengths,
    group_rows,
    labels_key,
    reduce_groups,
    run_lengths,
    seconds,
)
from alertsim.rules.base import Condition, RuleBase, Sent
from alertsim.rules.prometheus import parse_prometheus_rules
from alertsim.rules.threshold import direction_signal
from alertsim.series import Grid, Prepared, Selection, Semantics
from alertsim.series.over_time import over_time
from alertsim.series.vectors import compare, extrapolated, instant

log = logging.getLogger(__name__)

COMPARISONS: dict[str, str] = {"COMPARISON_GT": ">", "COMPARISON_GE": ">=", "COMPARISON_LT": "<",
                               "COMPARISON_LE": "<=", "COMPARISON_EQ": "==", "COMPARISON_NE": "!="}
ALIGNERS: dict[str, tuple[str, float | None]] = {
    "ALIGN_NONE": ("none", None), "ALIGN_MEAN": ("avg", None), "ALIGN_MIN": ("min", None),
    "ALIGN_MAX": ("max", None), "ALIGN_SUM": ("sum", None), "ALIGN_COUNT": ("count", None),
    "ALIGN_STDDEV": ("stddev", None), "ALIGN_NEXT_OLDER": ("last", None), "ALIGN_DELTA": ("increase", None),
    "ALIGN_RATE": ("rate", None), "ALIGN_PERCENTILE_99": ("quantile", 0.99),
    "ALIGN_PERCENTILE_95": ("quantile", 0.95), "ALIGN_PERCENTILE_50": ("quantile", 0.5),
    "ALIGN_PERCENTILE_05": ("quantile", 0.05),
}
REDUCERS: dict[str, tuple[str, float | None]] = {
    "REDUCE_NONE": ("none", None), "REDUCE_MEAN": ("mean", None), "REDUCE_MIN": ("min", None),
    "REDUCE_MAX": ("max", None), "REDUCE_SUM": ("sum", None), "REDUCE_COUNT": ("count", None),
    "REDUCE_STDDEV": ("stddev", None), "REDUCE_PERCENTILE_99": ("quantile", 0.99),
    "REDUCE_PERCENTILE_95": ("quantile", 0.95), "REDUCE_PERCENTILE_50": ("quantile", 0.5),
    "REDUCE_PERCENTILE_05": ("quantile", 0.05),
}
MISSING_DATA = ("EVALUATION_MISSING_DATA_UNSPECIFIED", "EVALUATION_MISSING_DATA_INACTIVE",
                "EVALUATION_MISSING_DATA_ACTIVE", "EVALUATION_MISSING_DATA_NO_OP")
SEVERITIES = {"CRITICAL": "page", "ERROR": "page", "WARNING": "ticket", "SEVERITY_UNSPECIFIED": "page"}
COMBINERS = ("OR", "AND", "AND_WITH_MATCHING_RESOURCE", "COMBINE_UNSPECIFIED")


@dataclass(frozen=True, kw_only=True)
class Aggregation:
    """``aggregations[0]``: align each series, then reduce across series per group."""

    alignment_period: timedelta = timedelta(minutes=1)
    per_series_aligner: str = "ALIGN_NONE"
    cross_series_reducer: str = "REDUCE_NONE"
    group_by_fields: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class GcpCondition:
    """A metric-threshold or metric-absence condition of a policy."""

    name: str
    type: Literal["threshold", "absence"] = "threshold"
    metric: str
    matchers: Mapping[str, str] = field(default_factory=dict)
    #: Matched only when the metrics have the label (``resource_type``, ``project``).
    optional_matchers: Mapping[str, str] = field(default_factory=dict)
    aggregation: Aggregation | None = None
    comparison: str = "COMPARISON_GT"
    threshold: float | None = None
    duration: timedelta = timedelta(0)
    trigger_count: int | None = None
    trigger_percent: float | None = None
    missing_data: str = "EVALUATION_MISSING_DATA_NO_OP"


@dataclass(frozen=True, kw_only=True)
class GcpPolicy(RuleBase):
    """An alerting policy's metric-threshold and metric-absence conditions."""

    #: The policy's ``conditions`` (threshold and absence).
    policy_conditions: tuple[GcpCondition, ...]
    combiner: str = "OR"
    auto_close: timedelta | None = None
    #: ``alertStrategy.notificationChannelStrategy[0].renotifyInterval``: reminders while an incident is open.
    renotify_interval: timedelta | None = None
    #: ``alertStrategy.notificationPrompts`` includes ``CLOSED`` (the default).
    notify_on_close: bool = True
    kind: str = field(init=False, default="gcp")

    def grid_on(self, grid: Grid) -> Grid:
        """Cloud Monitoring evaluates every minute, whatever the replay's interval."""
        return cadence_grid(grid, MINUTE_US)

    def conditions(self, prepared: Prepared, grid: Grid, semantics: Semantics) -> list[Condition]:
        return evaluate(self, prepared, grid, semantics)

    def notifications(self, alert: Mapping[str, Any], end: datetime | None) -> list[Sent]:
        """A notification when an incident opens, every ``renotify_interval`` while it stays open, and when
        it closes unless ``notificationPrompts`` leaves ``CLOSED`` out."""
        return episode_notifications(alert["fired_at"], alert["resolved_at"], end, repeat=self.renotify_interval,
                                     close=self.notify_on_close)

    def single_sample(self) -> str | None:
        for cond in self.policy_conditions:
            agg = cond.aggregation
            if cond.type == "threshold" and cond.duration == timedelta(0) and (
                    agg is None or agg.alignment_period <= timedelta(minutes=1)):
                return f"condition {cond.name!r} has duration 0 on a 1-minute alignment: one sample pages"
        return None

    def signal(self) -> tuple[str, dict[str, str], str] | None:
        conds = [c for c in self.policy_conditions if c.type == "threshold"]
        if len(conds) != 1:
            return None
        return direction_signal(conds[0].metric, dict(conds[0].matchers), COMPARISONS[conds[0].comparison])


# --------------------------------------------------------------------------------------------------
# Evaluation.

@dataclass(frozen=True, eq=False)
class _Outcome:
    series: list[str]
    labels: list[dict[str, str]]
    failing: np.ndarray
    met: np.ndarray
    value: np.ndarray
    present: np.ndarray


def _selection(cond: GcpCondition, prepared: Prepared) -> Selection:
    matchers = dict(cond.matchers)
    matchers.update({k: v for k, v in cond.optional_matchers.items() if k in prepared.labels})
    return prepared.select(cond.metric, matchers)


def _aligned(sel: Selection, agg: Aggregation | None, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    if agg is None or agg.per_series_aligner == "ALIGN_NONE":
        # Raw points: the newest one of each evaluation minute, so a minute without data is missing.
        vec = over_time(sel.data, grid, "last", MINUTE_US, left_open=True)
        return vec.values, vec.present
    fn, q = ALIGNERS[agg.per_series_aligner]
    width = to_microseconds(agg.alignment_period)
    if fn not in ("increase", "rate"):
        vec = over_time(sel.data, grid, fn, width, q=q, left_open=True)  # type: ignore[arg-type]
        return vec.values, vec.present
    vec = extrapolated(sel.data, grid, width, kind=fn, left_open=True)  # type: ignore[arg-type]
    delta = np.array([lbl.get("metric_kind") == "DELTA" for lbl in sel.label_dicts()], dtype=bool)
    if not delta.any():
        return vec.values, vec.present
    # A DELTA point already is the change over its own interval: the aligned delta is their sum over
    # the alignment period, the rate that sum per second (GCP's ALIGN_DELTA and ALIGN_RATE of DELTA kinds).
    sums = over_time(sel.data, grid, "sum", width, left_open=True)
    summed = sums.values if fn == "increase" else sums.values / (width / 1e6)
    values = np.where(delta[:, None], summed, vec.values)
    present = np.where(delta[:, None], sums.present, vec.present)
    return values, present


def _outcome(cond: GcpCondition, prepared: Prepared, grid: Grid, auto_close: timedelta | None) -> _Outcome:
    sel = _selection(cond, prepared)
    labels = sel.label_dicts()
    agg = cond.aggregation
    back = max(to_microseconds(cond.duration), to_microseconds(agg.alignment_period) if agg else 0) + grid.step
    wide, extra = extended(grid, back)
    if cond.type == "absence":
        width = to_microseconds(cond.duration)
        counts = over_time(sel.data, wide, "count", width, left_open=True)
        values, present = counts.values, counts.present
        seen = instant(sel.data, wide, lookback=2**62).present
    else:
        values, present = sel.cached(("gcp_aligned", agg, wide), lambda: _aligned(sel, agg, wide))
        seen = np.maximum.accumulate(present, axis=1) if present.size else present
    names = sel.table["series"].to_list()
    reducer = REDUCERS[agg.cross_series_reducer][0] if agg else "none"
    if reducer != "none" or (agg is not None and agg.group_by_fields and cond.type == "absence"):
        assert agg is not None
        index, group_labels = group_rows(labels, agg.group_by_fields)
        n_groups = len(group_labels)
        how, q = REDUCERS[agg.cross_series_reducer] if reducer != "none" else ("count", None)
        values, present = reduce_groups(values, present, index, n_groups, how, q)
        seen = reduce_groups(seen.astype(float), seen, index, n_groups, "max")[1]
        labels = group_labels
        names = [series_name(cond.metric, lbl) for lbl in labels]
    if cond.type == "absence":
        failing = seen & ~present
    else:
        violating = compare(values, COMPARISONS[cond.comparison], float(cond.threshold or 0.0)) & present
        calm = present & ~violating
        if cond.missing_data == "EVALUATION_MISSING_DATA_INACTIVE":
            calm = calm | ~present
        elif cond.missing_data == "EVALUATION_MISSING_DATA_ACTIVE":
            violating = violating | (~present & seen)
            calm = calm & seen | ~seen
        needed = max(1, to_microseconds(cond.duration) // grid.step)
        failing = run_lengths(violating, calm) >= needed
    if auto_close is not None and cond.type == "threshold":
        failing &= gap_lengths(present) < max(1, to_microseconds(auto_close) // grid.step)
    failing = failing[:, extra:]
    values, present = values[:, extra:], present[:, extra:]
    count = failing.sum(axis=0)
    if cond.trigger_percent is not None:
        total = np.maximum(seen[:, extra:].sum(axis=0), 1)
        met = 100.0 * count / total >= cond.trigger_percent
    else:
        met = count >= (cond.trigger_count or 1)
    return _Outcome(series=names, labels=labels, failing=failing, met=met, value=values, present=present)


def evaluate(policy: GcpPolicy, prepared: Prepared, grid: Grid, sem: Semantics) -> list[Condition]:
    """One alert condition per policy condition, a row per time series."""
    outcomes = [_outcome(c, prepared, grid, policy.auto_close) for c in policy.policy_conditions]
    all_met = np.logical_and.reduce([o.met for o in outcomes]) if outcomes else np.zeros(grid.size, bool)
    out = []
    for cond, outcome in zip(policy.policy_conditions, outcomes, strict=True):
        enter = outcome.failing & outcome.met[None, :]
        if policy.combiner == "AND":
            enter &= all_met[None, :]
        elif policy.combiner == "AND_WITH_MATCHING_RESOURCE":
            for other in outcomes:
                if other is outcome:
                    continue
                rows = {labels_key(lbl): i for i, lbl in enumerate(other.labels)}
                same = np.zeros_like(enter)
                for r, lbl in enumerate(outcome.labels):
                    j = rows.get(labels_key(lbl))
                    if j is not None:
                        same[r] = other.failing[j] & other.met
                enter &= same
        extra = {"condition": cond.name} if len(policy.policy_conditions) > 1 else {}
        out.append(Condition(rule=policy, series=outcome.series, labels=outcome.labels, enter=enter,
                             present=outcome.present, value=np.where(outcome.present, outcome.value, np.nan),
                             severity=policy.severity, extra_labels=extra))
    return out


# --------------------------------------------------------------------------------------------------
# AlertPolicy documents → records.

_POLICY_KEYS = {"name", "displayName", "documentation", "userLabels", "conditions", "combiner", "enabled",
                "validity", "notificationChannels", "creationRecord", "mutationRecord", "alertStrategy", "severity"}
_CONDITION_KEYS = {"name", "displayName", "conditionThreshold", "conditionAbsent", "conditionMatchedLog",
                   "conditionMonitoringQueryLanguage", "conditionPrometheusQueryLanguage", "conditionSql"}
_THRESHOLD_KEYS = {"filter", "aggregations", "denominatorFilter", "denominatorAggregations", "forecastOptions",
                   "comparison", "thresholdValue", "duration", "trigger", "evaluationMissingData"}
_ABSENT_KEYS = {"filter", "aggregations", "duration", "trigger"}
_AGG_KEYS = {"alignmentPeriod", "perSeriesAligner", "crossSeriesReducer", "groupByFields"}
_STRATEGY_KEYS = {"autoClose", "notificationRateLimit", "notificationPrompts", "notificationChannelStrategy"}
_PROMQL_KEYS = {"query", "duration", "evaluationInterval", "labels", "ruleGroup", "alertRule",
                "disableMetricValidation"}
_FREE = {"userLabels", "labels"}          # mappings whose keys are user data, not field names


def _camel(value: Any) -> Any:
    """snake_case keys → the REST API's camelCase (user label maps kept as they are)."""
    if isinstance(value, list):
        return [_camel(v) for v in value]
    if not isinstance(value, Mapping):
        return value
    out = {}
    for key, item in value.items():
        name = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key) if isinstance(key, str) else key
        out[name] = item if name in _FREE else _camel(item)
    return out


class _Ctx:
    def __init__(self, file: str | None, rule: str | None, prefix: str = ""):
        self.file, self.rule, self.prefix = file, rule, prefix

    def error(self, message: str, field: str | None = None) -> ConfigError:
        where = ".".join(p for p in (self.prefix, field) if p) or None
        return ConfigError(message, file=self.file, rule=self.rule, field=where)

    def sub(self, name: str) -> _Ctx:
        return _Ctx(self.file, self.rule, ".".join(p for p in (self.prefix, name) if p))


def _keys(value: Any, allowed: set[str], ctx: _Ctx, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ctx.error(f"{what} must be an object, got {value!r}")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ctx.error(f"unknown key(s) {unknown} in {what}; allowed: {sorted(allowed)}", unknown[0])
    return value


_TERM = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*$')
_LABEL_KEY = re.compile(r"^(?:metric|resource)\.labels?\.([A-Za-z_][A-Za-z0-9_]*)$|"
                        r"^metadata\.(?:user|system)_labels\.\"?([A-Za-z_][A-Za-z0-9_]*)\"?$")


def parse_filter(text: Any, ctx: _Ctx) -> tuple[str, dict[str, str], dict[str, str]]:
    """``metric.type = "x" AND metric.labels.k = "v" ...`` → (metric, matchers, optional matchers)."""
    if not isinstance(text, str) or not text.strip():
        raise ctx.error(f"filter must be a non-empty string, got {text!r}", "filter")
    terms = [t for t in re.split(r"\s+AND\s+", text.strip()) if t]
    metric = None
    matchers: dict[str, str] = {}
    optional: dict[str, str] = {}
    for term in terms:
        match = _TERM.match(term)
        if match is None:
            raise ctx.error(f"filter term {term.strip()!r} is not supported; alertsim reads `key = \"value\"` terms "
                            "joined by AND (no OR, !=, starts_with, one_of or regular expressions)", "filter")
        key, value = match.group(1), match.group(2).replace('\\"', '"')
        label = _LABEL_KEY.match(key)
        if key == "metric.type":
            metric = value
        elif key == "resource.type":
            optional["resource_type"] = value
        elif key == "project":
            optional["project"] = value
        elif label:
            matchers[label.group(1) or label.group(2)] = value
        else:
            raise ctx.error(f"filter key {key!r} is not supported; use metric.type, resource.type, project, "
                            "metric.labels.K, resource.labels.K or metadata.user_labels.K", "filter")
    if metric is None:
        raise ctx.error("the filter needs a metric.type = \"...\" term", "filter")
    return metric, matchers, optional


def _aggregation(value: Any, ctx: _Ctx) -> Aggregation | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ctx.error("aggregations must be a list", "aggregations")
    if not value:
        return None
    if len(value) > 1:
        raise ctx.error("alertsim replays one aggregation step (align, then reduce); got "
                        f"{len(value)}", "aggregations")
    spec = _keys(value[0], _AGG_KEYS, ctx.sub("aggregations[0]"), "an aggregation")
    aligner = spec.get("perSeriesAligner", "ALIGN_NONE")
    if aligner not in ALIGNERS:
        raise ctx.error(f"perSeriesAligner {aligner!r} is not replayed; use one of {list(ALIGNERS)}",
                        "aggregations[0].perSeriesAligner")
    reducer = spec.get("crossSeriesReducer", "REDUCE_NONE")
    if reducer not in REDUCERS:
        raise ctx.error(f"crossSeriesReducer {reducer!r} is not replayed; use one of {list(REDUCERS)}",
                        "aggregations[0].crossSeriesReducer")
    period = timedelta(minutes=1)
    if "alignmentPeriod" in spec:
        period = seconds(spec["alignmentPeriod"], file=ctx.file, rule=ctx.rule,
                         field=f"{ctx.prefix}.aggregations[0].alignmentPeriod", minimum=60)
        if period > timedelta(seconds=90_000):
            raise ctx.error("alignmentPeriod can be at most 90000s (25 hours) in an alerting policy",
                            "aggregations[0].alignmentPeriod")
    fields = spec.get("groupByFields", [])
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise ctx.error("groupByFields must be a list of label paths", "aggregations[0].groupByFields")
    labels = []
    for path in fields:
        match = _LABEL_KEY.match(path)
        if match is None and path not in ("resource.type", "project"):
            raise ctx.error(f"groupByFields entry {path!r} is not a label path such as metric.label.k",
                            "aggregations[0].groupByFields")
        labels.append(match.group(1) or match.group(2) if match else
                      ("resource_type" if path == "resource.type" else "project"))
    return Aggregation(alignment_period=period, per_series_aligner=aligner, cross_series_reducer=reducer,
                       group_by_fields=tuple(labels))


def _trigger(value: Any, ctx: _Ctx) -> tuple[int | None, float | None]:
    if value is None:
        return None, None
    spec = _keys(value, {"count", "percent"}, ctx.sub("trigger"), "a trigger")
    if len(spec) != 1:
        raise ctx.error("a trigger has exactly one of count and percent", "trigger")
    if "count" in spec:
        count = spec["count"]
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ctx.error(f"trigger.count must be a whole number >= 1, got {count!r}", "trigger.count")
        return count, None
    percent = spec["percent"]
    if isinstance(percent, bool) or not isinstance(percent, int | float) or not 0 < percent <= 100:
        raise ctx.error(f"trigger.percent must be in (0, 100], got {percent!r}", "trigger.percent")
    return None, float(percent)


def _condition(spec: Any, index: int, ctx: _Ctx) -> GcpCondition | dict[str, Any]:
    """A threshold/absence condition record, or a PromQL condition's spec (a dict)."""
    where = ctx.sub(f"conditions[{index}]")
    spec = _keys(spec, _CONDITION_KEYS, where, "a condition")
    name = spec.get("displayName") or spec.get("name") or f"condition {index + 1}"
    kinds = [k for k in _CONDITION_KEYS if k.startswith("condition") and k in spec]
    if len(kinds) != 1:
        raise where.error(f"a condition has exactly one condition type, got {kinds or 'none'}")
    kind = kinds[0]
    if kind == "conditionPrometheusQueryLanguage":
        promql = _keys(spec[kind], _PROMQL_KEYS, where.sub(kind), "a PromQL condition")
        if not isinstance(promql.get("query"), str):
            raise where.error("a PromQL condition needs a query", f"{kind}.query")
        return {"name": name, **promql}
    if kind in ("conditionMonitoringQueryLanguage", "conditionSql", "conditionMatchedLog"):
        what = {"conditionMonitoringQueryLanguage": "MQL", "conditionSql": "SQL",
                "conditionMatchedLog": "log-match"}[kind]
        raise where.error(f"{what} conditions are not replayed; write the condition as a metric-threshold, "
                          "metric-absence or PromQL condition", kind)
    body_ctx = where.sub(kind)
    if kind == "conditionThreshold":
        body = _keys(spec[kind], _THRESHOLD_KEYS, body_ctx, "a metric-threshold condition")
        if "forecastOptions" in body:
            raise body_ctx.error("forecast conditions are not replayed (Google's forecast model is not "
                                 "published); use a threshold, or alertsim's holt_winters rule", "forecastOptions")
        if "denominatorFilter" in body or "denominatorAggregations" in body:
            raise body_ctx.error("ratio conditions (denominatorFilter) are not replayed; use a PromQL condition "
                                 "or alertsim's burn_rate rule", "denominatorFilter")
    else:
        body = _keys(spec[kind], _ABSENT_KEYS, body_ctx, "a metric-absence condition")
    metric, matchers, optional = parse_filter(body.get("filter"), body_ctx)
    duration = timedelta(0)
    if "duration" in body:
        duration = seconds(body["duration"], file=ctx.file, rule=ctx.rule, field=f"{body_ctx.prefix}.duration")
        if duration.total_seconds() % 60:
            raise body_ctx.error("duration must be a whole number of minutes (0s, 60s, 120s, ...)", "duration")
    count, percent = _trigger(body.get("trigger"), body_ctx)
    if kind == "conditionAbsent":
        if duration < timedelta(seconds=120):
            raise body_ctx.error(f"a metric-absence duration is at least 120s, got {format_duration(duration)}",
                                 "duration")
        return GcpCondition(name=name, type="absence", metric=metric, matchers=matchers, optional_matchers=optional,
                            aggregation=_aggregation(body.get("aggregations"), body_ctx), duration=duration,
                            trigger_count=count, trigger_percent=percent)
    comparison = body.get("comparison")
    if comparison not in COMPARISONS:
        raise body_ctx.error(f"comparison {comparison!r} is not one of {list(COMPARISONS)}", "comparison")
    threshold = body.get("thresholdValue", 0.0)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise body_ctx.error(f"thresholdValue must be a number, got {threshold!r}", "thresholdValue")
    missing = body.get("evaluationMissingData", "EVALUATION_MISSING_DATA_UNSPECIFIED")
    if missing not in MISSING_DATA:
        raise body_ctx.error(f"evaluationMissingData {missing!r} is not one of {list(MISSING_DATA)}",
                             "evaluationMissingData")
    if missing == "EVALUATION_MISSING_DATA_UNSPECIFIED":
        missing = "EVALUATION_MISSING_DATA_NO_OP"
    return GcpCondition(name=name, metric=metric, matchers=matchers, optional_matchers=optional,
                        aggregation=_aggregation(body.get("aggregations"), body_ctx), comparison=comparison,
                        threshold=float(threshold), duration=duration, trigger_count=count, trigger_percent=percent,
                        missing_data=missing)


def _annotations(policy: Mapping[str, Any]) -> dict[str, str]:
    doc = policy.get("documentation") or {}
    out: dict[str, str] = {}
    if isinstance(doc, Mapping):
        if isinstance(doc.get("content"), str) and doc["content"]:
            out["documentation"] = doc["content"]
        if isinstance(doc.get("subject"), str) and doc["subject"]:
            out["summary"] = doc["subject"]
        for link in doc.get("links") or []:
            if isinstance(link, Mapping) and isinstance(link.get("url"), str):
                key = re.sub(r"[^a-z0-9]+", "_", str(link.get("displayName") or "link").lower()).strip("_")
                out[key or "link"] = link["url"]
    return out


def _policy(raw: Any, index: int, file: str | None) -> list[RuleBase]:
    spec = _camel(raw)
    name = spec.get("displayName") or spec.get("name") if isinstance(spec, Mapping) else None
    ctx = _Ctx(file, name if isinstance(name, str) and name else f"policy #{index + 1}")
    spec = _keys(spec, _POLICY_KEYS, ctx, "an AlertPolicy")
    if not isinstance(name, str) or not name:
        raise ctx.error("a policy needs a displayName", "displayName")
    conditions = spec.get("conditions")
    if not isinstance(conditions, list) or not 1 <= len(conditions) <= 6:
        raise ctx.error("a policy has one to six conditions", "conditions")
    combiner = spec.get("combiner", "OR")
    if combiner not in COMBINERS:
        raise ctx.error(f"combiner {combiner!r} is not one of {list(COMBINERS)}", "combiner")
    combiner = "OR" if combiner == "COMBINE_UNSPECIFIED" else combiner
    severity = spec.get("severity")
    if severity is not None and severity not in SEVERITIES:
        raise ctx.error(f"severity {severity!r} is not one of {list(SEVERITIES)}", "severity")
    strategy = _keys(spec.get("alertStrategy") or {}, _STRATEGY_KEYS, ctx.sub("alertStrategy"), "alertStrategy")
    auto_close = None
    if "autoClose" in strategy:
        auto_close = seconds(strategy["autoClose"], file=file, rule=ctx.rule, field="alertStrategy.autoClose",
                             minimum=1)
    renotify = None
    strategies = strategy.get("notificationChannelStrategy") or []
    if strategies and isinstance(strategies[0], Mapping) and strategies[0].get("renotifyInterval") is not None:
        renotify = seconds(strategies[0]["renotifyInterval"], file=file, rule=ctx.rule, minimum=1,
                           field="alertStrategy.notificationChannelStrategy[0].renotifyInterval")
    prompts = strategy.get("notificationPrompts") or ["OPENED", "CLOSED"]
    labels = spec.get("userLabels") or {}
    if not isinstance(labels, Mapping):
        raise ctx.error("userLabels must be a mapping", "userLabels")
    common: dict[str, Any] = {"severity": SEVERITIES.get(severity or "", "page"), "annotations": _annotations(spec),
              "labels": {str(k): str(v) for k, v in labels.items()}}
    parsed = [_condition(c, i, ctx) for i, c in enumerate(conditions)]
    records = tuple(c for c in parsed if isinstance(c, GcpCondition))
    promql = [c for c in parsed if isinstance(c, dict)]
    if promql and records and combiner != "OR":
        raise ctx.error(f"combiner {combiner} across PromQL and metric conditions is not replayed; PromQL "
                        "conditions are replayed as rules of their own (combiner OR)", "combiner")
    if spec.get("enabled") is False:
        log.warning("%s: policy %r is disabled (enabled: false); it is replayed as if it were enabled", file, name)
    out: list[RuleBase] = []
    if records:
        out.append(GcpPolicy(name=name, policy_conditions=records, combiner=combiner, auto_close=auto_close,
                             renotify_interval=renotify, notify_on_close="CLOSED" in prompts, **common))
    if promql:
        out += _promql_rules(name, promql, common, ctx)
    return out


def _promql_rules(policy: str, specs: Sequence[Mapping[str, Any]], common: Mapping[str, Any], ctx: _Ctx
                  ) -> list[RuleBase]:
    """PromQL conditions through alertsim's Prometheus rule-file path (one group per condition)."""
    groups = []
    for i, spec in enumerate(specs):
        rule: dict[str, Any] = {"alert": policy, "expr": spec["query"],
                                "labels": {**common["labels"], **(spec.get("labels") or {}),
                                           "severity": common["severity"]},
                                "annotations": dict(common["annotations"])}
        if "duration" in spec:
            rule["for"] = format_duration(seconds(spec["duration"], file=ctx.file, rule=ctx.rule,
                                                  field=f"conditions[{i}].duration"))
        group: dict[str, Any] = {"name": spec.get("ruleGroup") or f"{policy} #{i + 1}", "rules": [rule]}
        if "evaluationInterval" in spec:
            group["interval"] = format_duration(seconds(spec["evaluationInterval"], file=ctx.file, rule=ctx.rule,
                                                        field=f"conditions[{i}].evaluationInterval", minimum=30))
        groups.append(group)
    return list(parse_prometheus_rules({"groups": groups}, file=ctx.file))


def parse_gcp(document: Any, *, file: str | None = None) -> list[RuleBase]:
    """The rules of one AlertPolicy, an ``alertPolicies.list`` response or a list of policies."""
    if not recognises(document):
        raise ConfigError("expected an AlertPolicy ({\"displayName\", \"conditions\", ...}), an alertPolicies list "
                          "response or a list of policies", file=file)
    if isinstance(document, Mapping) and ("alertPolicies" in document or "alert_policies" in document):
        unknown = sorted(set(document) - {"alertPolicies", "alert_policies", "nextPageToken", "totalSize"})
        if unknown:
            raise ConfigError(f"unknown top-level key(s) {unknown}", file=file)
        policies = document.get("alertPolicies", document.get("alert_policies"))
    elif isinstance(document, Mapping):
        policies = [document]
    else:
        policies = document
    if not isinstance(policies, list) or not policies:
        raise ConfigError("no alert policies in the file", file=file, field="alertPolicies")
    rules = [rule for i, p in enumerate(policies) for rule in _policy(p, i, file)]
    names = [r.name for r in rules]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"policy names (displayName) must be unique; repeated: {repeated}", file=file,
                          field="displayName")
    return rules



__all__ = ["Aggregation", "GcpCondition", "GcpPolicy", "evaluate", "parse_filter", "parse_gcp", "recognises"]
