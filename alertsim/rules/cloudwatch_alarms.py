"""Reading ``aws cloudwatch describe-alarms`` output: every metric alarm becomes a
:class:`~alertsim.rules.cloudwatch.CloudWatchAlarm` (``kind="cloudwatch"``), replayed with CloudWatch's own
semantics (see :mod:`alertsim.rules.cloudwatch`).

Alarms may carry an ``"Alertsim"`` object with the options for CloudWatch's undocumented edge cases
(``evaluation_range``, ``stale_breach``, ``premature``, ``ignore_partial``), a ``band`` (a native anomaly
rule without name and metric, for ``ANOMALY_DETECTION_BAND`` alarms) and ``severity``.

>>> alarms = parse_cloudwatch({"MetricAlarms": [{"AlarmName": "Hot", "MetricName": "cpu", "Period": 60,
...     "EvaluationPeriods": 3, "Statistic": "Average", "ComparisonOperator": "GreaterThanThreshold",
...     "Threshold": 80}]})
>>> alarms[0].kind, alarms[0].m
('cloudwatch', 3)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Literal

from alertsim.errors import ConfigError
from alertsim.rules._recognise import cloudwatch_alarms as recognises
from alertsim.rules.anomaly import AnomalyBase, HoltWintersRule
from alertsim.rules.base import RuleBase
from alertsim.rules.cloudwatch import (
    BAND_OPERATORS,
    DATAPOINTS,
    STATIC_OPERATORS,
    TREATMENTS,
    AlarmContext,
    CloudWatchAlarm,
    check_period,
    statistic_function,
)
from alertsim.rules.config import parse_rules

_BAND = re.compile(r"^\s*ANOMALY_DETECTION_BAND\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:,\s*([0-9]*\.?[0-9]+)\s*)?\)\s*$")

_KNOWN = frozenset({
    "ActionsEnabled", "AlarmActions", "AlarmArn", "AlarmConfigurationUpdatedTimestamp", "AlarmDescription",
    "AlarmName", "ComparisonOperator", "DatapointsToAlarm", "Dimensions", "EvaluateLowSampleCountPercentile",
    "EvaluationPeriods", "EvaluationState", "ExtendedStatistic", "InsufficientDataActions", "MetricName",
    "Metrics", "Namespace", "OKActions", "Period", "StateReason", "StateReasonData",
    "StateTransitionedTimestamp", "StateUpdatedTimestamp", "StateValue", "Statistic", "Threshold",
    "ThresholdMetricId", "TreatMissingData", "Unit", "EvaluationWindow", "EvaluationCriteria",
    "EvaluationInterval", "Tags", "Alertsim",
})
_OPTIONS = {"evaluation_range", "stale_breach", "premature", "ignore_partial", "band", "severity"}
_TOP = {"MetricAlarms", "CompositeAlarms", "NextToken"}


def _int(value: Any, ctx: AlarmContext, field: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or value < minimum:
        raise ctx.error(f"expected a whole number >= {minimum}, got {value!r}", field)
    return int(value)


def _number(value: Any, ctx: AlarmContext, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ctx.error(f"expected a number, got {value!r}", field)
    return float(value)


def _dimensions(value: Any, ctx: AlarmContext) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise ctx.error(f"expected a list of {{Name, Value}}, got {value!r}", "Dimensions")
    out: dict[str, str] = {}
    for item in value:
        if (not isinstance(item, Mapping) or set(item) != {"Name", "Value"}
                or not isinstance(item["Name"], str) or not isinstance(item["Value"], str)):
            raise ctx.error(f"each dimension is {{\"Name\": ..., \"Value\": ...}}, got {item!r}", "Dimensions")
        if item["Name"] in out:
            raise ctx.error(f"dimension {item['Name']!r} given twice", "Dimensions")
        out[item["Name"]] = item["Value"]
    return out


def _metric_math(spec: Mapping[str, Any], ctx: AlarmContext) -> tuple[dict[str, Any], float | None]:
    """The metric and band of an alarm with ``Metrics``: one ``MetricStat`` (``ReturnData``), optionally with
    an ``ANOMALY_DETECTION_BAND`` expression named by ``ThresholdMetricId``. Other metric math is refused."""
    metrics = spec["Metrics"]
    if not isinstance(metrics, list) or not metrics:
        raise ctx.error("Metrics must be a non-empty list of MetricDataQuery objects", "Metrics")
    stats = [m for m in metrics if isinstance(m, Mapping) and "MetricStat" in m]
    exprs = [m for m in metrics if isinstance(m, Mapping) and "Expression" in m]
    band_id = spec.get("ThresholdMetricId")
    width = None
    for expr in exprs:
        match = _BAND.match(str(expr["Expression"]))
        if not match or expr.get("Id") != band_id:
            raise ctx.error(f"metric math expression {expr.get('Expression')!r} is not supported; alertsim replays "
                            "single-metric alarms and ANOMALY_DETECTION_BAND(m, width) named by ThresholdMetricId",
                            "Metrics")
        width = float(match.group(2)) if match.group(2) else 2.0
        if match.group(1) not in {m.get("Id") for m in stats}:
            raise ctx.error(f"ANOMALY_DETECTION_BAND refers to {match.group(1)!r}, which is not a MetricStat Id",
                            "Metrics")
    if len(stats) != 1:
        raise ctx.error(f"expected exactly one MetricStat query, got {len(stats)}", "Metrics")
    stat = stats[0]["MetricStat"]
    metric = stat.get("Metric", {}) if isinstance(stat, Mapping) else {}
    if not isinstance(metric, Mapping) or "MetricName" not in metric:
        raise ctx.error("MetricStat needs Metric{Namespace, MetricName, Dimensions}", "Metrics")
    return {"Namespace": metric.get("Namespace"), "MetricName": metric["MetricName"],
            "Dimensions": metric.get("Dimensions"), "Period": stat.get("Period"),
            "Statistic": stat.get("Stat")}, width


def _band_rule(value: Any, ctx: AlarmContext, name: str, period: timedelta) -> RuleBase:
    if value is None:
        return HoltWintersRule(name=f"{name} band", metric=DATAPOINTS, direction="both", season=timedelta(days=1),
                               train=timedelta(days=14), refit=timedelta(days=1),
                               resolution=max(period, timedelta(minutes=15)), method="stl")
    if not isinstance(value, Mapping) or "kind" not in value:
        raise ctx.error("Alertsim.band is a native anomaly rule without name/metric, e.g. "
                        "{\"kind\": \"zscore\", \"window\": \"3h\"}", "Alertsim.band")
    spec = {"name": f"{name} band", "metric": DATAPOINTS, **value}
    rule = parse_rules({"rules": [spec]}, file=ctx.file)[0]
    if not isinstance(rule, AnomalyBase):
        raise ctx.error(f"a band needs an anomaly rule (zscore, mad, ewma, holt_winters), got {rule.kind!r}",
                        "Alertsim.band")
    return rule


def _alarm(spec: Any, index: int, file: str | None) -> CloudWatchAlarm:
    ctx, name = _context(spec, index, file)
    source, width = _source(spec, ctx)
    operator = _comparison(spec, width, ctx)
    metric, statistic = _metric_statistic(source, ctx)
    n = _int(spec.get("EvaluationPeriods"), ctx, "EvaluationPeriods")
    period_s = _int(source.get("Period"), ctx, "Period")
    check_period(period_s, n, ctx)
    m = _int(spec["DatapointsToAlarm"], ctx, "DatapointsToAlarm") if "DatapointsToAlarm" in spec else None
    if m is not None and m > n:
        raise ctx.error(f"DatapointsToAlarm ({m}) cannot exceed EvaluationPeriods ({n})", "DatapointsToAlarm")
    namespace = source.get("Namespace")
    treat, low = _missing_data(spec, namespace, ctx)
    window = _evaluation_window(spec.get("EvaluationWindow"), period_s, ctx)
    options = spec.get("Alertsim") or {}
    if not isinstance(options, Mapping) or set(options) - _OPTIONS:
        raise ctx.error(f"Alertsim options are {sorted(_OPTIONS)}, got {options!r}", "Alertsim")
    enabled = spec.get("ActionsEnabled", True) is not False
    actions = bool(spec.get("AlarmActions")) and enabled
    severity = options.get("severity", "page" if actions else "info")
    if not isinstance(severity, str) or not severity:
        raise ctx.error(f"severity must be a non-empty string, got {severity!r}", "Alertsim.severity")
    period = timedelta(seconds=period_s)
    extra = _extra_options(options, n, ctx)
    annotations = {}
    if isinstance(spec.get("AlarmDescription"), str) and spec["AlarmDescription"]:
        annotations["description"] = spec["AlarmDescription"]
    band = None
    if width is not None:
        band = _band_rule(options.get("band"), ctx, name, period)
    elif "band" in options:
        raise ctx.error("Alertsim.band applies to anomaly-band alarms only", "Alertsim.band")
    return CloudWatchAlarm(
        name=name, severity=severity, annotations=annotations, metric=metric,
        dimensions=_dimensions(source.get("Dimensions"), ctx), namespace=namespace if isinstance(namespace, str)
        else None, statistic=statistic, period=period, evaluation_periods=n, datapoints_to_alarm=m,
        comparison=operator, threshold=_number(spec["Threshold"], ctx, "Threshold") if "Threshold" in spec else None,
        treat_missing_data=treat, evaluate_low_sample_count_percentile=low,  # type: ignore[arg-type]
        evaluation_window=window,
        band=band, band_width=width if width is not None else 2.0, alarm_actions=actions,
        ok_actions=bool(spec.get("OKActions")) and enabled, **extra)


def _context(spec: Any, index: int, file: str | None) -> tuple[AlarmContext, str]:
    """The alarm's error context and name, after checking its keys."""
    if not isinstance(spec, Mapping):
        raise ConfigError(f"MetricAlarms[{index}] must be an object", file=file, field="MetricAlarms")
    name = spec.get("AlarmName")
    ctx = AlarmContext(file, name if isinstance(name, str) and name else f"MetricAlarms[{index}]")
    if not isinstance(name, str) or not name:
        raise ctx.error("every alarm needs a non-empty AlarmName", "AlarmName")
    unknown = sorted(set(spec) - _KNOWN)
    if unknown:
        raise ctx.error(f"unknown key(s) {unknown}; a MetricAlarm has {sorted(_KNOWN - {'Alertsim'})} "
                        "(and alertsim's own options under \"Alertsim\")", unknown[0])
    if "EvaluationCriteria" in spec:
        raise ctx.error("PromQL alarms (EvaluationCriteria) are not replayed as CloudWatch alarms; put the query "
                        "in a Prometheus rule file (groups:) and replay that", "EvaluationCriteria")
    return ctx, name


def _source(spec: Mapping[str, Any], ctx: AlarmContext) -> tuple[dict[str, Any], float | None]:
    """The alarm's metric fields (from ``Metrics`` when it has them) and its anomaly band width (None for a
    static threshold)."""
    source = dict(spec)
    width = None
    if "Metrics" in spec:
        for key in ("MetricName", "Namespace", "Dimensions", "Statistic", "ExtendedStatistic", "Period"):
            if key in spec:
                raise ctx.error(f"{key} and Metrics are mutually exclusive", key)
        found, width = _metric_math(spec, ctx)
        source.update({k: v for k, v in found.items() if v is not None})
    return source, width


def _comparison(spec: Mapping[str, Any], width: float | None, ctx: AlarmContext) -> str:
    """The ``ComparisonOperator``, with what it needs (a Threshold, or an anomaly band)."""
    operator = spec.get("ComparisonOperator")
    if operator not in STATIC_OPERATORS and operator not in BAND_OPERATORS:
        raise ctx.error(f"ComparisonOperator {operator!r} is not one of {[*STATIC_OPERATORS, *BAND_OPERATORS]}",
                        "ComparisonOperator")
    if operator in BAND_OPERATORS and width is None:
        raise ctx.error(f"{operator} needs Metrics with an ANOMALY_DETECTION_BAND expression named by "
                        "ThresholdMetricId", "ThresholdMetricId")
    if operator in STATIC_OPERATORS and "Threshold" not in spec:
        raise ctx.error(f"{operator} needs a Threshold", "Threshold")
    if "Threshold" in spec and "ThresholdMetricId" in spec:
        raise ctx.error("Threshold and ThresholdMetricId are mutually exclusive", "Threshold")
    return operator


def _metric_statistic(source: Mapping[str, Any], ctx: AlarmContext) -> tuple[str, str]:
    """The metric name and the statistic (``Statistic`` or ``ExtendedStatistic``)."""
    metric = source.get("MetricName")
    if not isinstance(metric, str) or not metric:
        raise ctx.error("needs a MetricName (or Metrics)", "MetricName")
    if ("Statistic" in source) == ("ExtendedStatistic" in source):
        raise ctx.error("give exactly one of Statistic and ExtendedStatistic", "Statistic")
    statistic = source.get("Statistic", source.get("ExtendedStatistic"))
    if not isinstance(statistic, str):
        raise ctx.error(f"expected a statistic name, got {statistic!r}", "Statistic")
    try:
        statistic_function(statistic)
    except ConfigError as exc:
        raise ctx.error(str(exc).split(": ", 1)[-1], "Statistic") from None
    return metric, statistic


def _missing_data(spec: Mapping[str, Any], namespace: Any, ctx: AlarmContext) -> tuple[str, str]:
    """``TreatMissingData`` (DynamoDB's default is ``ignore``) and ``EvaluateLowSampleCountPercentile``."""
    treat = spec.get("TreatMissingData")
    if treat is None:
        treat = "ignore" if namespace == "AWS/DynamoDB" else "missing"
    if treat not in TREATMENTS:
        raise ctx.error(f"TreatMissingData {treat!r} is not one of {list(TREATMENTS)}", "TreatMissingData")
    low = spec.get("EvaluateLowSampleCountPercentile") or "evaluate"
    if low not in ("evaluate", "ignore"):
        raise ctx.error(f"EvaluateLowSampleCountPercentile must be 'evaluate' or 'ignore', got {low!r}",
                        "EvaluateLowSampleCountPercentile")
    return treat, low


def _extra_options(options: Mapping[str, Any], n: int, ctx: AlarmContext) -> dict[str, Any]:
    """alertsim's own options of the alarm (``Alertsim``): evaluation range and edge-case behaviours."""
    extra: dict[str, Any] = {}
    if "evaluation_range" in options:
        extra["evaluation_range"] = _int(options["evaluation_range"], ctx, "Alertsim.evaluation_range", minimum=n)
    for key, allowed in (("stale_breach", ("count", "ignore")), ("premature", ("ok", "retain")),
                         ("ignore_partial", ("evaluate", "retain"))):
        if key in options:
            if options[key] not in allowed:
                raise ctx.error(f"{key} must be one of {list(allowed)}, got {options[key]!r}", f"Alertsim.{key}")
            extra[key] = options[key]
    return extra


def _evaluation_window(value: Any, period_s: int, ctx: AlarmContext) -> Literal["sliding", "wall_clock"]:
    if value is None:
        return "sliding"
    if not isinstance(value, Mapping) or len(value) != 1 or next(iter(value)) not in ("SlidingWindow",
                                                                                        "WallClockWindow"):
        raise ctx.error(f"EvaluationWindow has exactly one of SlidingWindow, WallClockWindow; got {value!r}",
                        "EvaluationWindow")
    if "SlidingWindow" in value:
        return "sliding"
    wall = value["WallClockWindow"] or {}
    zone = wall.get("Timezone", wall.get("TimeZone")) if isinstance(wall, Mapping) else None
    if zone not in (None, "UTC", "Etc/UTC"):
        raise ctx.error(f"WallClockWindow in time zone {zone!r} is not replayed; only UTC alignment is supported",
                        "EvaluationWindow")
    if period_s not in (60, 300, 3600, 86_400, 604_800):
        raise ctx.error(f"WallClockWindow needs a Period of 60, 300, 3600, 86400 or 604800 s, got {period_s}",
                        "EvaluationWindow")
    return "wall_clock"


def parse_cloudwatch(document: Any, *, file: str | None = None) -> list[CloudWatchAlarm]:
    """The metric alarms of a ``describe-alarms`` document as :class:`CloudWatchAlarm` records.

    Composite alarms are refused with a ``ConfigError`` (their state depends on other alarms' state
    histories, which a replay of metrics alone does not have).
    """
    if not recognises(document):
        raise ConfigError("expected the output of `aws cloudwatch describe-alarms` ({\"MetricAlarms\": [...]})",
                          file=file)
    unknown = sorted(set(document) - _TOP)
    if unknown:
        raise ConfigError(f"unknown top-level key(s) {unknown}; allowed: {sorted(_TOP)}", file=file)
    if document.get("CompositeAlarms"):
        names = [a.get("AlarmName") for a in document["CompositeAlarms"] if isinstance(a, Mapping)]
        raise ConfigError(f"composite alarms {names} are not replayed; replay their underlying metric alarms",
                          file=file, field="CompositeAlarms")
    alarms = document.get("MetricAlarms") or []
    if not isinstance(alarms, list):
        raise ConfigError("MetricAlarms must be a list", file=file, field="MetricAlarms")
    out = [_alarm(spec, i, file) for i, spec in enumerate(alarms)]
    names = [a.name for a in out]
    repeated = sorted({str(n) for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"alarm names must be unique; repeated: {repeated}", file=file, field="AlarmName")
    if not out:
        raise ConfigError("no metric alarms in the file", file=file, field="MetricAlarms")
    return out




__all__ = ["parse_cloudwatch", "recognises"]
