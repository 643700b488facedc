"""Datadog metric monitors (the monitor JSON of the API or the UI's export), replayed as Datadog
evaluates them.

``load_rules()`` reads one monitor (``{"type": "metric alert", "query": ..., "options": {...}}``) or a list
of them (``GET /api/v1/monitor``). Each becomes a :class:`DatadogMonitor` (``kind="datadog"``).

Query: ``time_aggr(last_N[mhdw]):space_aggr:metric{tag:value,...} [by {key,...}] op threshold`` with
``time_aggr`` ``avg``, ``sum``, ``min``, ``max`` or ``percentile(pNN)`` and ``space_aggr`` ``avg``, ``sum``,
``min``, ``max`` or ``pNN``; ``.as_count()``/``.as_rate()`` are accepted (values are aggregated as stored).
Tag keys are made label-safe (``availability-zone`` → ``availability_zone``), as the Datadog importer
writes them. Anomaly, outlier and forecast monitors, ``change``/``pct_change``, arithmetic and formulas,
negated or wildcard tags, cumulative or custom schedules are a ``ConfigError``.

How a monitor is evaluated (reference: cloud-alarms-and-incident-exports.md §3):

* **Space, then time.** Each matching series is rolled up into one-minute points (the mean of its
  samples in ``(t − 1m, t]``); the points of a group (one group per ``by`` value, or a single group) are
  combined with ``space_aggr``; ``time_aggr`` reduces the window ``(t − window − evaluation_delay,
  t − evaluation_delay]`` of those points to one value, compared with the thresholds. (``max`` therefore
  alerts when any point crosses ``>``, ``min`` when all do; below-threshold monitors reverse this.)
* **Cadence.** Every minute for windows under 24 h, every 10 minutes up to 48 h, every 30 minutes beyond
  (the monitor runs on its own grid).
* **require_full_window.** With it, an evaluation runs only when the first bucket of the window has a
  point and at most three buckets are empty (buckets of 1 minute for minute windows, 10 minutes for hour
  windows, 1 hour for day and week windows); otherwise it is skipped and the state is unchanged.
* **Thresholds.** ``critical`` (the query's), ``warning``, ``critical_recovery``, ``warning_recovery``.
  An ``ALERT`` recovers only when the value passes the recovery threshold (``> t`` recovers at ``<= r``,
  ``>= t`` at ``< r``, ``< t`` at ``>= r``, ``<= t`` at ``> r``); without one, as soon as the alert
  condition no longer holds. ``WARN`` works the same with the warning thresholds; ``ALERT`` wins.
* **No data.** ``on_missing_data``: ``show_no_data`` / ``show_and_notify_no_data`` set ``NO DATA`` once a
  group that reported before has had no point for the window; ``resolve`` sets ``OK``; ``default`` (or
  unset) evaluates an empty ``sum`` window as 0 and otherwise keeps the last state. Legacy
  ``notify_no_data`` sets ``NO DATA`` after ``no_data_timeframe`` minutes (default twice the window).
  ``timeout_h`` resolves a group after that many hours without data. ``new_group_delay`` (default 60 s
  for multi-alert monitors) skips a group's evaluations until it has reported for that long.
* **States → episodes.** Each span of ``ALERT`` evaluations of a group is one alert episode (severity from
  ``priority``: 1–2 ``page``, 3 ``ticket``, 4–5 ``info``, unset ``page``); ``WARN`` spans are episodes
  with severity ``ticket`` and label ``datadog_status="warn"``; ``NO DATA`` spans of a notifying monitor
  are episodes labelled ``datadog_status="no data"``. ``renotify_interval`` (minutes),
  ``renotify_occurrences`` and ``renotify_statuses`` are kept on the record for the notification layer.

>>> monitor = parse_datadog({"name": "cpu", "type": "metric alert",
...     "query": "avg(last_5m):avg:cpu{service:checkout} by {instance} > 90",
...     "options": {"thresholds": {"critical": 90, "critical_recovery": 80}}})[0]
>>> monitor.metric, dict(monitor.tags), monitor.by, monitor.critical_recovery
('cpu', {'service': 'checkout'}, ('instance',), 80.0)
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np

from alertsim.durations import format_duration, to_microseconds
from alertsim.errors import ConfigError
from alertsim.frames import label_name, series_name
from alertsim.rules._recognise import datadog_monitors as recognises
from alertsim.rules._recognise import unwrap_monitor as _unwrap
from alertsim.rules._vendor import (
    MINUTE_US,
    cadence_grid,
    episode_notifications,
    extended,
    group_rows,
    latch,
    reduce_groups,
    series_set,
)
from alertsim.rules.base import Condition, RuleBase, Sent
from alertsim.rules.threshold import direction_signal
from alertsim.series import Grid, Prepared, Semantics, SeriesSet
from alertsim.series.over_time import over_time
from alertsim.series.vectors import compare, instant

log = logging.getLogger(__name__)

TIME_AGGREGATIONS = ("avg", "sum", "min", "max", "percentile")
SPACE_AGGREGATIONS = ("avg", "sum", "min", "max")
RECOVERY: dict[str, str] = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}
PRIORITY_SEVERITY = {1: "page", 2: "page", 3: "ticket", 4: "info", 5: "info"}
MISSING_DATA = ("default", "show_no_data", "show_and_notify_no_data", "resolve")
#: Notification handles in a monitor's message that page someone.
PAGING_HANDLES = re.compile(r"@(pagerduty|opsgenie|victorops|splunk-oncall)", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class DatadogMonitor(RuleBase):
    """One metric monitor (see the module docstring for the semantics)."""

    metric: str
    tags: Mapping[str, str] = field(default_factory=dict)
    by: tuple[str, ...] = ()
    time_aggregation: str = "avg"
    space_aggregation: str = "avg"
    #: The percentile of ``percentile(pNN)`` / ``pNN`` aggregations.
    q: float | None = None
    window: timedelta = timedelta(minutes=5)
    #: ``m``, ``h``, ``d`` or ``w``: sets the bucket size of ``require_full_window``.
    window_unit: Literal["m", "h", "d", "w"] = "m"
    op: str = ">"
    critical: float
    critical_recovery: float | None = None
    warning: float | None = None
    warning_recovery: float | None = None
    require_full_window: bool = False
    evaluation_delay: timedelta = timedelta(0)
    new_group_delay: timedelta | None = None
    notify_no_data: bool = False
    no_data_timeframe: timedelta | None = None
    on_missing_data: str | None = None
    timeout: timedelta | None = None
    renotify_interval: timedelta | None = None
    renotify_occurrences: int | None = None
    renotify_statuses: tuple[str, ...] = ()
    priority: int | None = None
    kind: str = field(init=False, default="datadog")

    @property
    def cadence(self) -> timedelta:
        """The evaluation frequency of the window."""
        if self.window < timedelta(hours=24):
            return timedelta(minutes=1)
        if self.window < timedelta(hours=48):
            return timedelta(minutes=10)
        return timedelta(minutes=30)

    @property
    def bucket(self) -> timedelta:
        """``require_full_window`` bucket size."""
        return {"m": timedelta(minutes=1), "h": timedelta(minutes=10)}.get(self.window_unit, timedelta(hours=1))

    def grid_on(self, grid: Grid) -> Grid:
        """Datadog's evaluation frequency for the window, whatever the replay's interval."""
        return cadence_grid(grid, to_microseconds(self.cadence))

    severity_field = "priority 1-5"

    def conditions(self, prepared: Prepared, grid: Grid, semantics: Semantics) -> list[Condition]:
        return evaluate(self, prepared, grid, semantics)

    def notifications(self, alert: Mapping[str, Any], end: datetime | None) -> list[Sent]:
        """A notification on each transition to ALERT, WARN or NO DATA, re-notification every
        ``renotify_interval`` while the status is one of ``renotify_statuses`` (default alert and no data), at
        most ``renotify_occurrences`` times, and the recovery."""
        status = json.loads(alert["labels"]).get("datadog_status", "alert")
        statuses = self.renotify_statuses or ("alert", "no data")
        repeat = self.renotify_interval if status in statuses else None
        return episode_notifications(alert["fired_at"], alert["resolved_at"], end, repeat=repeat,
                                     limit=self.renotify_occurrences)

    def single_sample(self) -> str | None:
        window, aggregation, op = self.window, self.time_aggregation, self.op
        if window <= timedelta(minutes=1):
            return f"a {format_duration(window)} window: one point over the line pages someone"
        if (aggregation == "max" and op in (">", ">=")) or (aggregation == "min" and op in ("<", "<=")):
            return (f"{aggregation}(last_{format_duration(window)}) {op}: any single point over the line pages "
                    "someone")
        return None

    def signal(self) -> tuple[str, dict[str, str], str] | None:
        return direction_signal(self.metric, dict(self.tags), self.op)

    def findings(self) -> list[tuple[str, str]]:
        handle = PAGING_HANDLES.search(self.annotations.get("message", ""))
        if self.priority in (4, 5) and handle:
            return [("info-pages", f"priority P{self.priority} (info) but its message notifies {handle.group(0)}, "
                                   "which pages")]
        return []

    def severity_given(self, explicit: bool | None) -> bool:
        return self.priority is not None if explicit is None else explicit


# --------------------------------------------------------------------------------------------------
# Evaluation.

def _recovered(value: np.ndarray, present: np.ndarray, op: str, threshold: float, recovery: float | None
               ) -> np.ndarray:
    if recovery is None:
        return present & ~compare(value, op, threshold)
    return present & compare(value, RECOVERY[op], recovery)


def evaluate(monitor: DatadogMonitor, prepared: Prepared, grid: Grid, sem: Semantics) -> list[Condition]:
    """The monitor's state per group at each of its evaluations."""
    window = to_microseconds(monitor.window)
    delay = to_microseconds(monitor.evaluation_delay)
    nodata_span = to_microseconds(monitor.no_data_timeframe or 2 * monitor.window) if monitor.notify_no_data \
        else window
    warmup = max(window, nodata_span) + delay
    wide, extra = extended(grid, warmup)
    data, groups = _group_points(monitor, prepared, wide, warmup)
    fn = {"percentile": "quantile"}.get(monitor.time_aggregation, monitor.time_aggregation)
    vec = over_time(data, wide, fn, window, q=monitor.q, offset=delay, left_open=True)  # type: ignore[arg-type]
    value, present = vec.values, vec.present
    seen = instant(data, wide, lookback=2**62, offset=delay).present

    skip = ~present
    if monitor.require_full_window:
        skip |= ~_full_window(monitor, data, wide, window, delay, value.shape)
    nodata = np.zeros(value.shape, dtype=bool)
    if monitor.notify_no_data or monitor.on_missing_data in ("show_no_data", "show_and_notify_no_data", "resolve"):
        recent = over_time(data, wide, "count", nodata_span, offset=delay, left_open=True).present
        nodata = seen & ~recent
    if monitor.on_missing_data in (None, "default") and monitor.time_aggregation == "sum":
        zero = seen & ~present
        value = np.where(zero, 0.0, value)
        present = present | zero
        skip &= ~zero
    reset = np.zeros(value.shape, dtype=bool)
    if monitor.timeout is not None:
        quiet = over_time(data, wide, "count", to_microseconds(monitor.timeout), offset=delay,
                          left_open=True).present
        reset |= seen & ~quiet
    shown = nodata if monitor.on_missing_data != "resolve" else np.zeros_like(nodata)
    reset |= nodata
    if monitor.new_group_delay is not None and monitor.by:
        first_seen = instant(data, wide, lookback=2**62, offset=delay + to_microseconds(monitor.new_group_delay))
        skip |= ~first_seen.present
    return _states(monitor, groups, value, present, skip, reset, nodata, shown, extra)


def _group_points(monitor: DatadogMonitor, prepared: Prepared, wide: Grid, warmup: int
                  ) -> tuple[SeriesSet, list[dict[str, str]]]:
    """A one-minute rollup of every selected series, then the space aggregation per group: one series per
    group, and the groups' labels."""
    sel = prepared.select(monitor.metric, {label_name(k): v for k, v in monitor.tags.items()})
    minutes = Grid.covering(wide.t0 - warmup - MINUTE_US, wide.t0 + wide.step * max(wide.size - 1, 0), MINUTE_US)
    rollup = over_time(sel.data, minutes, "avg", MINUTE_US, left_open=True)
    index, groups = group_rows(sel.label_dicts(), [label_name(k) for k in monitor.by])
    how = {"avg": "mean", "sum": "sum", "min": "min", "max": "max"}.get(monitor.space_aggregation, "quantile")
    points, has = reduce_groups(rollup.values, rollup.present, index, len(groups), how, monitor.q)
    return series_set(points, has, minutes.instants), groups


def _full_window(monitor: DatadogMonitor, data: SeriesSet, wide: Grid, window: int, delay: int,
                 shape: tuple[int, ...]) -> np.ndarray:
    """Where the window is full enough to evaluate (``require_full_window``): its first bucket has data and
    at most three buckets are empty."""
    bucket = to_microseconds(monitor.bucket)
    n_buckets = max(1, window // bucket)
    empty = np.zeros(shape, dtype=np.int64)
    first = None
    for b in range(n_buckets):
        filled = over_time(data, wide, "count", bucket, offset=delay + (n_buckets - 1 - b) * bucket,
                           left_open=True).present
        empty += ~filled
        if b == 0:
            first = filled
    assert first is not None
    return first & (empty <= 3)


def _states(monitor: DatadogMonitor, groups: list[dict[str, str]], value: np.ndarray, present: np.ndarray,
            skip: np.ndarray, reset: np.ndarray, nodata: np.ndarray, shown: np.ndarray, extra: int
            ) -> list[Condition]:
    """The alert, warn and no-data conditions per group (on the replay's grid, after ``extra`` warm-up
    instants)."""
    crit = compare(value, monitor.op, monitor.critical) & present & ~skip
    alert = latch(crit, (_recovered(value, present, monitor.op, monitor.critical, monitor.critical_recovery)
                         & ~skip) | reset, hold=None)
    conditions = []
    names = [series_name(monitor.metric, {**{label_name(k): v for k, v in monitor.tags.items()}, **g})
             for g in groups]
    group_labels = [{**{label_name(k): v for k, v in monitor.tags.items()}, **g} for g in groups]
    value_out = np.where(present, value, np.nan)[:, extra:]
    evaluated = (~skip | nodata)[:, extra:]

    def emit(state: np.ndarray, severity: str, status: str | None) -> None:
        conditions.append(Condition(rule=monitor, series=names, labels=group_labels, enter=state[:, extra:],
                                    present=evaluated, value=value_out, severity=severity,
                                    extra_labels={"datadog_status": status} if status else {}))

    severity = monitor.severity
    emit(alert & ~shown, severity, None)
    if monitor.warning is not None:
        warn_hit = compare(value, monitor.op, monitor.warning) & present & ~skip
        warn = latch(warn_hit, (_recovered(value, present, monitor.op, monitor.warning, monitor.warning_recovery)
                                & ~skip) | reset)
        emit(warn & ~alert & ~shown, "info" if severity == "info" else "ticket", "warn")
    if monitor.notify_no_data or monitor.on_missing_data == "show_and_notify_no_data":
        emit(shown, severity, "no data")
    return conditions


# --------------------------------------------------------------------------------------------------
# Monitor JSON → records.

_MONITOR_KEYS = {"id", "name", "type", "query", "message", "tags", "options", "priority", "restricted_roles",
                 "multi", "created", "creator", "modified", "deleted", "overall_state", "state",
                 "matching_downtimes", "org_id", "created_at", "draft_status", "overall_state_modified",
                 "classification"}
_OPTION_KEYS = {"thresholds", "threshold_windows", "notify_no_data", "no_data_timeframe", "on_missing_data",
                "require_full_window", "evaluation_delay", "new_group_delay", "new_host_delay", "timeout_h",
                "renotify_interval", "renotify_occurrences", "renotify_statuses", "escalation_message",
                "include_tags", "notify_audit", "silenced", "variables", "locked", "notify_by",
                "groupby_simple_monitor", "scheduling_options", "notification_preset_name", "min_failure_duration",
                "enable_logs_sample", "enable_samples", "group_retention_duration", "aggregation"}
_THRESHOLD_KEYS = {"critical", "critical_recovery", "warning", "warning_recovery"}
_TYPES = ("metric alert", "query alert")
_QUERY = re.compile(
    r"^\s*(?P<time>avg|sum|min|max|percentile)\s*\(\s*last_(?P<n>\d+)(?P<unit>[mhdw])\s*\)\s*:\s*"
    r"(?P<space>avg|sum|min|max|p\d{1,2}(?:\.\d+)?)\s*:\s*(?P<metric>[A-Za-z0-9_.\-]+)\s*"
    r"\{(?P<tags>[^{}]*)\}\s*(?P<mods1>(?:\.as_(?:count|rate)\(\)\s*)*)"
    r"(?:by\s*\{(?P<by>[^{}]*)\}\s*)?(?P<mods2>(?:\.as_(?:count|rate)\(\)\s*)*)"
    r"(?P<op><=|>=|<|>)\s*(?P<threshold>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"
    r"(?:by\s*\{(?P<by_after>[^{}]*)\}\s*)?$")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


#: The monitor template wrapper of Datadog's integrations and of the UI's "export monitor" with metadata:
#: ``{"version": 2, "title", "description", "tags", ..., "definition": {monitor}}``.
_WRAPPER_KEYS = {"version", "created_at", "last_updated_at", "title", "tags", "description", "definition",
                 "author", "recommended_monitor_metadata", "integration", "id", "name"}


class _Ctx:
    def __init__(self, file: str | None, rule: str | None):
        self.file, self.rule = file, rule

    def error(self, message: str, field: str | None = None) -> ConfigError:
        return ConfigError(message, file=self.file, rule=self.rule, field=field)


def _number(value: Any, ctx: _Ctx, field: str) -> float:
    if isinstance(value, str):  # Datadog's API and its templates also write numbers as strings ("0")
        try:
            value = float(value)
        except ValueError:
            raise ctx.error(f"expected a number, got {value!r}", field) from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ctx.error(f"expected a number, got {value!r}", field)
    return float(value)


def _ignore_unknown(keys: list[str], where: str, ctx: _Ctx) -> None:
    """Keys Datadog adds over time (``restriction_policy``, ``avalanche_window``, ...) do not change how a
    metric monitor evaluates its query as far as alertsim knows; they are named in a warning and ignored."""
    for key in keys:
        log.warning("%s: monitor %r: %s%s is not a key alertsim knows; ignored", ctx.file or "monitor", ctx.rule,
                    where, key)


def _minutes(value: Any, ctx: _Ctx, field: str) -> timedelta:
    return timedelta(minutes=_number(value, ctx, field))


def _seconds(value: Any, ctx: _Ctx, field: str) -> timedelta:
    number = _number(value, ctx, field)
    if number < 0:
        raise ctx.error(f"must not be negative, got {value!r}", field)
    return timedelta(seconds=number)


def parse_query(query: Any, ctx: _Ctx) -> dict[str, Any]:
    """The parts of a metric monitor query, or a ``ConfigError`` saying what is not replayed."""
    if not isinstance(query, str) or not query.strip():
        raise ctx.error(f"query must be a non-empty string, got {query!r}", "query")
    lowered = query.lower()
    for word in ("anomalies(", "outliers(", "forecast("):
        if word in lowered:
            raise ctx.error(f"{word[:-1]} monitors are not replayed (Datadog's models are not published); use "
                            "alertsim's own anomaly rules (kind: zscore, mad, ewma, seasonal or holt_winters) "
                            "on the same metric", "query")
    if lowered.lstrip().startswith(("change(", "pct_change(")):
        raise ctx.error("change and pct_change monitors are not replayed; use alertsim's seasonal rule "
                        "(mode: difference or ratio) for change over a period", "query")
    match = _QUERY.match(query)
    if match is None:
        raise ctx.error(f"query {query!r} is not replayed; alertsim reads `time_aggr(last_N[mhdw]):space_aggr:"
                        "metric{tag:value,...} [by {key}] op threshold` (one metric, no arithmetic or functions)",
                        "query")
    tags: dict[str, str] = {}
    text = match.group("tags").strip()
    if text and text != "*":
        for part in (p.strip() for p in re.split(r",|\s+AND\s+", text)):
            if not part:
                continue
            if part.startswith(("!", "-")) or "*" in part or "$" in part or ":" not in part or " OR " in part:
                raise ctx.error(f"tag filter {part!r} is not replayed; use key:value tags joined by commas "
                                "(no negation, wildcards, template variables or OR)", "query")
            key, value = part.split(":", 1)
            tags[key.strip()] = value.strip()
    if match.group("by") is not None and match.group("by_after") is not None:
        raise ctx.error("the query groups twice (`by {...}` before and after the threshold); give one", "query")
    grouping = match.group("by") if match.group("by") is not None else match.group("by_after")
    by = tuple(k.strip() for k in (grouping or "").split(",") if k.strip())
    time, space = match.group("time"), match.group("space")
    q = None
    if space.startswith("p"):
        q = float(space[1:]) / 100
    if time == "percentile" and q is None:
        raise ctx.error("percentile(last_N) needs a pNN space aggregation, e.g. percentile(last_5m):p99:metric{*}",
                        "query")
    window = int(match.group("n")) * _UNITS[match.group("unit")]
    if window <= timedelta(0) or window > timedelta(days=31):
        raise ctx.error("the evaluation window must be between 1 minute and 1 month", "query")
    return {"metric": match.group("metric"), "tags": tags, "by": by, "time_aggregation": time,
            "space_aggregation": space, "q": q, "window": window, "window_unit": match.group("unit"),
            "op": match.group("op"), "critical": float(match.group("threshold"))}


def _check_recovery(op: str, alert: float, recovery: float | None, what: str, ctx: _Ctx) -> None:
    if recovery is None:
        return
    if not (recovery < alert if op in (">", ">=") else recovery > alert):
        side = "below" if op in (">", ">=") else "above"
        raise ctx.error(f"{what}_recovery ({recovery:g}) must be {side} {what} ({alert:g}) for a `{op}` monitor",
                        f"options.thresholds.{what}_recovery")


def _monitor(spec: Any, index: int, file: str | None) -> DatadogMonitor:
    spec, ctx, name = _context(spec, index, file)
    parts = parse_query(spec.get("query"), ctx)
    options = _options(spec, ctx)
    values, warning = _thresholds(options, parts["op"], parts["critical"], ctx)
    missing = options.get("on_missing_data")
    if missing is not None and missing not in MISSING_DATA:
        raise ctx.error(f"on_missing_data {missing!r} is not one of {list(MISSING_DATA)}", "options.on_missing_data")
    notify_no_data = bool(options.get("notify_no_data", False))
    if missing is not None and notify_no_data:
        raise ctx.error("on_missing_data replaces notify_no_data; give one of them", "options.on_missing_data")
    priority = spec.get("priority")
    if priority is not None and (isinstance(priority, bool) or priority not in PRIORITY_SEVERITY):
        raise ctx.error(f"priority must be 1 to 5, got {priority!r}", "priority")
    statuses = options.get("renotify_statuses") or ()
    if not isinstance(statuses, list | tuple) or not all(s in ("alert", "warn", "no data") for s in statuses):
        raise ctx.error(f"renotify_statuses are 'alert', 'warn' and 'no data', got {statuses!r}",
                        "options.renotify_statuses")
    extra = _timing(options, bool(parts["by"]), ctx)
    tags = spec.get("tags") or []
    labels = {}
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, str) and ":" in tag:
            key, value = tag.split(":", 1)
            labels[label_name(key)] = value
    severity = PRIORITY_SEVERITY[priority] if priority is not None else "page"
    annotations = {"message": spec["message"]} if isinstance(spec.get("message"), str) and spec["message"] else {}
    return DatadogMonitor(
        name=name, severity=severity, labels=labels, annotations=annotations, **parts,
        critical_recovery=values.get("critical_recovery"), warning=warning,
        warning_recovery=values.get("warning_recovery"),
        require_full_window=bool(options.get("require_full_window", False)), notify_no_data=notify_no_data,
        on_missing_data=missing, renotify_statuses=tuple(statuses), priority=priority, **extra)


def _context(spec: Any, index: int, file: str | None) -> tuple[Mapping[str, Any], _Ctx, str]:
    """The monitor (unwrapped from a template), its error context and name, after checking its keys and type."""
    wrapper = spec if isinstance(spec, Mapping) and _unwrap(spec) is not spec else None
    spec = _unwrap(spec)
    if not isinstance(spec, Mapping):
        raise ConfigError(f"monitor #{index + 1} must be an object", file=file)
    name = spec.get("name")
    ctx = _Ctx(file, name if isinstance(name, str) and name else f"monitor #{index + 1}")
    if not isinstance(name, str) or not name:
        raise ctx.error("a monitor needs a name", "name")
    if wrapper is not None:
        _ignore_unknown(sorted(set(wrapper) - _WRAPPER_KEYS), "", ctx)
    _ignore_unknown(sorted(set(spec) - _MONITOR_KEYS), "", ctx)
    if spec.get("type") not in _TYPES:
        raise ctx.error(f"monitor type {spec.get('type')!r} is not replayed; alertsim replays {list(_TYPES)}", "type")
    return spec, ctx, name


def _options(spec: Mapping[str, Any], ctx: _Ctx) -> Mapping[str, Any]:
    """The monitor's ``options``, refusing what is not replayed (custom schedules, formulas)."""
    options = spec.get("options") or {}
    if not isinstance(options, Mapping):
        raise ctx.error("options must be an object", "options")
    _ignore_unknown(sorted(set(options) - _OPTION_KEYS), "options.", ctx)
    if options.get("scheduling_options"):
        raise ctx.error("custom schedules and cumulative windows (scheduling_options) are not replayed",
                        "options.scheduling_options")
    if options.get("variables"):
        raise ctx.error("formula and function queries (variables) are not replayed", "options.variables")
    return options


def _thresholds(options: Mapping[str, Any], op: str, critical: float, ctx: _Ctx
                ) -> tuple[dict[str, float], float | None]:
    """``options.thresholds`` as numbers, checked against the query's threshold and each other; and the
    warning threshold."""
    thresholds = options.get("thresholds") or {}
    if not isinstance(thresholds, Mapping) or set(thresholds) - _THRESHOLD_KEYS:
        raise ctx.error(f"thresholds has keys {sorted(_THRESHOLD_KEYS)}, got {thresholds!r}", "options.thresholds")
    values = {k: _number(v, ctx, f"options.thresholds.{k}") for k, v in thresholds.items() if v is not None}
    if "critical" in values and values["critical"] != critical:
        raise ctx.error(f"options.thresholds.critical ({values['critical']:g}) differs from the query's threshold "
                        f"({critical:g})", "options.thresholds.critical")
    _check_recovery(op, critical, values.get("critical_recovery"), "critical", ctx)
    warning = values.get("warning")
    if warning is not None:
        fine = warning < critical if op in (">", ">=") else warning > critical
        if not fine and warning != critical:
            raise ctx.error(f"warning ({warning:g}) must be less severe than critical ({critical:g})",
                            "options.thresholds.warning")
        _check_recovery(op, warning, values.get("warning_recovery"), "warning", ctx)
    elif "warning_recovery" in values:
        raise ctx.error("warning_recovery needs a warning threshold", "options.thresholds.warning_recovery")
    return values, warning


def _timing(options: Mapping[str, Any], grouped: bool, ctx: _Ctx) -> dict[str, Any]:
    """The monitor's timing options: no-data timeframe, evaluation delay, new-group delay, auto-resolve
    timeout and re-notification."""
    extra: dict[str, Any] = {}
    if options.get("no_data_timeframe") is not None:
        extra["no_data_timeframe"] = _minutes(options["no_data_timeframe"], ctx, "options.no_data_timeframe")
    if options.get("evaluation_delay") is not None:
        extra["evaluation_delay"] = _seconds(options["evaluation_delay"], ctx, "options.evaluation_delay")
        if extra["evaluation_delay"] > timedelta(days=1):
            raise ctx.error("evaluation_delay is at most 86400 seconds", "options.evaluation_delay")
    if grouped:
        extra["new_group_delay"] = _seconds(options.get("new_group_delay", 60), ctx, "options.new_group_delay")
    if options.get("timeout_h") is not None:
        hours = _number(options["timeout_h"], ctx, "options.timeout_h")
        if not 0 <= hours <= 24:
            raise ctx.error(f"timeout_h is between 0 (never) and 24 hours, got {options['timeout_h']!r}",
                            "options.timeout_h")
        if hours:
            extra["timeout"] = timedelta(hours=hours)
    if options.get("renotify_interval") is not None:
        extra["renotify_interval"] = _minutes(options["renotify_interval"], ctx, "options.renotify_interval")
    if options.get("renotify_occurrences") is not None:
        extra["renotify_occurrences"] = int(_number(options["renotify_occurrences"], ctx,
                                                    "options.renotify_occurrences"))
    return extra


def parse_datadog(document: Any, *, file: str | None = None) -> list[DatadogMonitor]:
    """The monitors of a monitor JSON object or list as :class:`DatadogMonitor` records."""
    if not recognises(document):
        raise ConfigError("expected a Datadog monitor ({\"type\", \"query\", \"options\", ...}), a monitor template "
                          "({\"version\", \"definition\": {...}}) or a list of them",
                          file=file)
    specs = document if isinstance(document, list) else [document]
    monitors = [_monitor(spec, i, file) for i, spec in enumerate(specs)]
    names = [m.name for m in monitors]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"monitor names must be unique; repeated: {repeated}", file=file, field="name")
    return monitors



__all__ = ["DatadogMonitor", "evaluate", "parse_datadog", "parse_query", "recognises"]
