"""The native YAML rule file, and grids of candidates.

.. code-block:: yaml

    rules:
      - name: HighCPU                 # unique
        kind: threshold               # threshold | zscore | mad | ewma | range | cusum | seasonal |
                                      # seasonal_band | holt_winters | likelihood | burn_rate
        metric: cpu
        matchers: {service: checkout}
        op: ">"
        value: [80, 85, 90]           # any scalar parameter may be a list: a grid of candidates
        over: {fn: avg, window: 5m}
        for: [0s, 5m]
        severity: page

A list expands into the cartesian product of candidates named ``HighCPU[value=85,for=5m]`` (only the
varied parameters, in file order). Unknown keys, wrong types, bad durations and unknown kinds are a
``ConfigError`` naming the file, the rule and the field.

>>> rules = parse_rules({"rules": [{"name": "Hi", "kind": "threshold", "metric": "cpu",
...                                 "value": [80, 90], "for": "5m"}]})
>>> [r.name for r in rules]
['Hi[value=80]', 'Hi[value=90]']
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from alertsim.durations import format_duration, parse_duration
from alertsim.errors import ConfigError
from alertsim.rules.anomaly import (
    CusumRule,
    EwmaRule,
    HoltWintersRule,
    LikelihoodRule,
    MadRule,
    RangeRule,
    SeasonalBandRule,
    SeasonalRule,
    ZScoreRule,
)
from alertsim.rules.base import RuleBase
from alertsim.rules.cloudwatch import from_threshold
from alertsim.rules.model import OPS, Over, Selector
from alertsim.rules.slo import WORKBOOK_WINDOWS, BurnRateRule, BurnWindow
from alertsim.rules.threshold import ThresholdRule

Rule = (ThresholdRule | ZScoreRule | MadRule | EwmaRule | RangeRule | CusumRule | SeasonalRule | SeasonalBandRule
        | HoltWintersRule | LikelihoodRule | BurnRateRule)

RULE_KINDS: dict[str, type[RuleBase]] = {
    "threshold": ThresholdRule,
    "zscore": ZScoreRule,
    "mad": MadRule,
    "ewma": EwmaRule,
    "range": RangeRule,
    "cusum": CusumRule,
    "seasonal": SeasonalRule,
    "seasonal_band": SeasonalBandRule,
    "holt_winters": HoltWintersRule,
    "likelihood": LikelihoodRule,
    "burn_rate": BurnRateRule,
}

Parser = Callable[[Any, "_Ctx"], Any]


class _Ctx:
    def __init__(self, file: str | None, rule: str | None, field: str):
        self.file, self.rule, self.field = file, rule, field

    def error(self, message: str) -> ConfigError:
        return ConfigError(message, file=self.file, rule=self.rule, field=self.field)

    def sub(self, name: str) -> _Ctx:
        return _Ctx(self.file, self.rule, f"{self.field}.{name}")


def _duration(value: Any, ctx: _Ctx) -> timedelta:
    try:
        return parse_duration(value, field=ctx.field)
    except ConfigError as exc:
        raise ctx.error(str(exc).split(": ", 1)[-1]) from None


def _number(value: Any, ctx: _Ctx) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ctx.error(f"expected a number, got {value!r}")
    return float(value)


def _positive(value: Any, ctx: _Ctx) -> float:
    number = _number(value, ctx)
    if not number > 0 or math.isinf(number):
        raise ctx.error(f"must be a positive number, got {value!r}")
    return number


def _string(value: Any, ctx: _Ctx) -> str:
    if not isinstance(value, str) or not value:
        raise ctx.error(f"expected a non-empty string, got {value!r}")
    return value


def _choice(*allowed: str) -> Parser:
    def parse(value: Any, ctx: _Ctx) -> str:
        if value not in allowed:
            raise ctx.error(f"{value!r} is not allowed; use one of {', '.join(map(repr, allowed))}")
        return str(value)
    return parse


def _string_map(value: Any, ctx: _Ctx) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ctx.error(f"expected a mapping of names to strings, got {value!r}")
    out = {}
    for key, item in value.items():
        if not isinstance(key, str) or isinstance(item, Mapping | list) or item is None:
            raise ctx.error(f"expected string keys and scalar values, got {key!r}: {item!r}")
        out[key] = str(item)
    return dict(sorted(out.items()))


def _int(value: Any, ctx: _Ctx) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ctx.error(f"expected a positive integer, got {value!r}")
    return int(value)


def _probability(value: Any, ctx: _Ctx) -> float:
    number = _number(value, ctx)
    if not 0 < number < 1:
        raise ctx.error(f"must be strictly between 0 and 1 (e.g. 0.999), got {value!r}")
    return number


def _strict_mapping(value: Any, ctx: _Ctx, allowed: Mapping[str, Parser], required: tuple[str, ...]
                    ) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ctx.error(f"expected a mapping with keys {sorted(allowed)}, got {value!r}")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ctx.error(f"unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    missing = [k for k in required if k not in value]
    if missing:
        raise ctx.error(f"missing required key(s) {missing}")
    return {k: allowed[k](v, ctx.sub(k)) for k, v in value.items()}


def _over(value: Any, ctx: _Ctx) -> Over | None:
    if value is None:
        return None
    fields = _strict_mapping(value, ctx, {
        "fn": _choice("avg", "min", "max", "sum", "count", "last", "quantile", "stddev"),
        "window": _duration, "q": _number}, ("fn", "window"))
    if fields["fn"] == "quantile" and "q" not in fields:
        raise ctx.error("fn: quantile needs q (e.g. q: 0.99)")
    if fields["window"] <= timedelta(0):
        raise ctx.sub("window").error("must be longer than 0s")
    return Over(**fields)


def _selector(value: Any, ctx: _Ctx) -> Selector:
    fields = _strict_mapping(value, ctx, {"metric": _string, "matchers": _string_map}, ("metric",))
    return Selector(**fields)


def _windows(value: Any, ctx: _Ctx) -> tuple[BurnWindow, ...]:
    if not isinstance(value, list) or not value:
        raise ctx.error("expected a non-empty list of {long, short, factor, severity}")
    out = []
    for i, item in enumerate(value):
        fields = _strict_mapping(item, ctx.sub(str(i)), {
            "long": _duration, "short": _duration, "factor": _positive, "severity": _string},
            ("long", "short", "factor"))
        fields.setdefault("severity", "page")
        if fields["short"] > fields["long"]:
            raise ctx.sub(str(i)).error("short window must not be longer than the long window")
        out.append(BurnWindow(**fields))
    return tuple(out)


def _bool(value: Any, ctx: _Ctx) -> bool:
    if not isinstance(value, bool):
        raise ctx.error(f"expected true or false, got {value!r}")
    return value


def _inner_rule(value: Any, ctx: _Ctx) -> dict[str, Any]:
    """The rule a likelihood wraps: a mapping with ``kind`` and that kind's fields, without ``name`` or
    ``metric`` (they are the likelihood rule's); built in :func:`_build`."""
    if not isinstance(value, Mapping) or "kind" not in value:
        raise ctx.error("expected a rule without name and metric, e.g. {kind: zscore, window: 1d}")
    kind = value["kind"]
    if kind not in _SCORED:
        raise ctx.sub("kind").error(f"{kind!r} has no score to wrap; use one of {', '.join(_SCORED)}")
    allowed = {k: v for k, v in FIELDS[kind].items() if k not in ("metric", "matchers")}
    unknown = sorted(set(value) - set(allowed) - {"kind"})
    if unknown:
        raise ctx.error(f"unknown key(s) {unknown} for a {kind} score; allowed: {sorted(allowed)}")
    out = {"kind": kind}
    for key, item in value.items():
        if key != "kind":
            attr, parse = allowed[key]
            out[attr] = parse(item, ctx.sub(key))
    return out


def _labels_list(value: Any, ctx: _Ctx) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ctx.error(f"expected a list of label names, got {value!r}")
    return tuple(value)


_COMMON: dict[str, tuple[str, Parser]] = {
    "name": ("name", _string),
    "kind": ("kind", _string),
    "severity": ("severity", _string),
    "for": ("for_", _duration),
    "keep_firing_for": ("keep_firing_for", _duration),
    "labels": ("labels", _string_map),
    "annotations": ("annotations", _string_map),
}
_SERIES: dict[str, tuple[str, Parser]] = {
    "metric": ("metric", _string),
    "matchers": ("matchers", _string_map),
}
_ANOMALY: dict[str, tuple[str, Parser]] = {
    **_SERIES,
    "threshold": ("threshold", _positive),
    "direction": ("direction", _choice("up", "down", "both")),
    "lookback": ("lookback", _duration),
    "cooldown": ("cooldown", _duration),
}
_WINDOWED: dict[str, tuple[str, Parser]] = {
    **_ANOMALY, "window": ("window", _duration), "min_samples": ("min_samples", _int)}
FIELDS: dict[str, dict[str, tuple[str, Parser]]] = {
    "threshold": {**_SERIES, "op": ("op", _choice(*OPS)), "value": ("value", _number),
                  "over": ("over", _over), "clear": ("clear", _number),
                  # CloudWatch-style options: the rule is then evaluated as a CloudWatch alarm.
                  "period": ("period", _duration), "statistic": ("statistic", _string),
                  "evaluation_periods": ("evaluation_periods", _int),
                  "datapoints_to_alarm": ("datapoints_to_alarm", _int),
                  "treat_missing_data": ("treat_missing_data",
                                         _choice("missing", "ignore", "breaching", "notBreaching"))},
    "zscore": _WINDOWED,
    "mad": _WINDOWED,
    "range": _WINDOWED,
    "cusum": {**_WINDOWED, "drift": ("drift", _positive), "clip": ("clip", _positive)},
    "ewma": {**_ANOMALY, "halflife": ("halflife", _duration), "warmup": ("warmup", _duration),
             "min_samples": ("min_samples", _int)},
    "seasonal": {**_SERIES, "period": ("period", _duration), "mode": ("mode", _choice("ratio", "difference")),
                 "op": ("op", _choice(*OPS)), "value": ("value", _number), "over": ("over", _over),
                 "two_sided": ("two_sided", _bool), "lookback": ("lookback", _duration),
                 "cooldown": ("cooldown", _duration)},
    "seasonal_band": {**_ANOMALY, "period": ("period", _duration), "seasons": ("seasons", _int),
                      "smooth": ("smooth", _duration), "floor": ("floor", _number)},
    "holt_winters": {**_ANOMALY, "season": ("season", _duration), "train": ("train", _duration),
                     "refit": ("refit", _duration), "resolution": ("resolution", _duration),
                     "method": ("method", _choice("ets", "stl"))},
    "likelihood": {**_WINDOWED, "of": ("of", _inner_rule), "short": ("short", _duration),
                   "threshold": ("threshold", _probability)},
    "burn_rate": {"objective": ("objective", _probability), "period": ("period", _duration),
                  "good": ("good", _selector), "bad": ("bad", _selector), "total": ("total", _selector),
                  "windows": ("windows", _windows), "by": ("by", _labels_list)},
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "threshold": ("metric", "value"),
    "zscore": ("metric",),
    "mad": ("metric",),
    "ewma": ("metric",),
    "seasonal": ("metric", "value"),
    "holt_winters": ("metric",),
    "range": ("metric",),
    "cusum": ("metric",),
    "seasonal_band": ("metric",),
    "likelihood": ("metric", "of"),
    "burn_rate": ("objective", "total"),
}
#: Kinds with a continuous score that a likelihood can wrap.
_SCORED = ("zscore", "mad", "ewma", "range", "cusum", "seasonal", "seasonal_band", "holt_winters")
_CLOUDWATCH_OPTIONS = ("period", "statistic", "evaluation_periods", "datapoints_to_alarm", "treat_missing_data")
#: Keys whose natural value is itself a list or mapping: a list there is not a grid.
_STRUCTURED = {"windows", "by", "matchers", "labels", "annotations", "good", "bad", "total"}


def _grid_axes(spec: Mapping[str, Any]) -> list[tuple[tuple[str, ...], list[Any]]]:
    """(path, values) for every list-valued scalar parameter, in file order (nested in ``over``)."""
    axes: list[tuple[tuple[str, ...], list[Any]]] = []
    for key, value in spec.items():
        if key in _STRUCTURED:
            continue
        if isinstance(value, list):
            axes.append(((key,), value))
        elif key in ("over", "of") and isinstance(value, Mapping):
            axes += [((key, k), v) for k, v in value.items() if isinstance(v, list)]
    return axes


def _show(value: Any) -> str:
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _expand(spec: Mapping[str, Any], ctx: _Ctx) -> list[tuple[dict[str, Any], str | None]]:
    axes = _grid_axes(spec)
    if not axes:
        return [(dict(spec), None)]
    for path, values in axes:
        if not values:
            raise _Ctx(ctx.file, ctx.rule, ".".join(path)).error("an empty list gives no candidates")
    out: list[tuple[dict[str, Any], str | None]] = []
    for combo in itertools.product(*(values for _, values in axes)):
        concrete: dict[str, Any] = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in spec.items()}
        parts = []
        for (path, _), value in zip(axes, combo, strict=True):
            if len(path) == 1:
                concrete[path[0]] = value
            else:
                concrete[path[0]][path[1]] = value
            parts.append(f"{'.'.join(path)}={value}")
        out.append((concrete, ",".join(parts)))
    return out


def _build(spec: Mapping[str, Any], ctx: _Ctx, suffix: str | None) -> Rule:
    kind = spec["kind"]
    fields = {**_COMMON, **FIELDS[kind]}
    kwargs: dict[str, Any] = {}
    for key, value in spec.items():
        attr, parse = fields[key]
        if key == "kind":
            continue
        kwargs[attr] = parse(value, _Ctx(ctx.file, ctx.rule, key))
    if suffix is not None:
        kwargs["base_name"] = kwargs["name"]
        kwargs["name"] = f"{kwargs['name']}[{suffix}]"
    if kind == "burn_rate":
        if ("good" in kwargs) == ("bad" in kwargs):
            raise ctx.error("a burn_rate rule needs exactly one of `good` or `bad` (plus `total`)")
        kwargs.setdefault("windows", WORKBOOK_WINDOWS)
        if "by" in kwargs:
            kwargs["by"] = tuple(kwargs["by"])
    if kind == "threshold" and kwargs.get("clear") is not None:
        op, value, clear = kwargs.get("op", ">"), kwargs["value"], kwargs["clear"]
        if (op in (">", ">=") and clear > value) or (op in ("<", "<=") and clear < value):
            raise _Ctx(ctx.file, ctx.rule, "clear").error(
                f"with op {op!r} the clear level must be on the resolving side of value {value}: "
                f"{'<=' if op in ('>', '>=') else '>='} {_show(value)}, got {_show(clear)}")
        if op in ("==", "!="):
            raise _Ctx(ctx.file, ctx.rule, "clear").error("clear needs op >, >=, < or <=")
    for key in ("window", "halflife", "period", "short", "smooth"):
        if key in kwargs and isinstance(kwargs[key], timedelta) and kwargs[key] <= timedelta(0):
            raise _Ctx(ctx.file, ctx.rule, key).error("must be longer than 0s")
    if kind == "seasonal" and kwargs.get("two_sided") and kwargs.get("mode", "ratio") == "ratio" \
            and not kwargs["value"] > 1:
        raise _Ctx(ctx.file, ctx.rule, "value").error(
            f"a two-sided ratio fires outside [1/value, value], so value must be above 1, got {kwargs['value']}")
    if kind == "likelihood":
        inner = dict(kwargs["of"])
        inner_kind = inner.pop("kind")
        inner_type: Any = RULE_KINDS[inner_kind]
        kwargs["of"] = inner_type(name=f"{kwargs['name']}.of", metric=kwargs["metric"],
                                  matchers=kwargs.get("matchers", {}), **inner)
    if kind == "threshold" and not kwargs.keys().isdisjoint(_CLOUDWATCH_OPTIONS):
        return from_threshold(kwargs, file=ctx.file)  # type: ignore[return-value]
    return RULE_KINDS[kind](**kwargs)  # type: ignore[return-value]


def parse_rules(document: Any, *, file: str | None = None) -> list[Rule]:
    """Rules from an already-parsed native rule document (``{"rules": [...]}``)."""
    top = _Ctx(file, None, "rules")
    if not isinstance(document, Mapping) or "rules" not in document:
        raise top.error("a rule file is a mapping with a `rules:` list")
    unknown = sorted(set(document) - {"rules"})
    if unknown:
        raise ConfigError(f"unknown top-level key(s) {unknown}; allowed: ['rules']", file=file)
    if not isinstance(document["rules"], list):
        raise top.error("`rules` must be a list")
    if not document["rules"]:
        raise top.error("`rules` is empty: the file holds no rules to replay (add at least one)")
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, spec in enumerate(document["rules"]):
        if not isinstance(spec, Mapping):
            raise ConfigError(f"rule #{index + 1} must be a mapping", file=file, field="rules")
        name = spec.get("name")
        ctx = _Ctx(file, name if isinstance(name, str) else f"#{index + 1}", "name")
        if not isinstance(name, str) or not name:
            raise ctx.error("every rule needs a non-empty `name`")
        if name in seen:
            raise ctx.error("duplicate rule name; names must be unique")
        seen.add(name)
        kind = spec.get("kind", "threshold")
        if kind not in RULE_KINDS:
            raise _Ctx(file, name, "kind").error(
                f"unknown kind {kind!r}; use one of {', '.join(RULE_KINDS)}")
        spec = {"kind": kind, **spec}
        allowed = {**_COMMON, **FIELDS[kind]}
        unknown = [k for k in spec if k not in allowed]
        if unknown:
            raise _Ctx(file, name, unknown[0]).error(
                f"unknown key for a {kind} rule; allowed: {', '.join(sorted(allowed))}")
        missing = [k for k in REQUIRED[kind] if k not in spec]
        if missing:
            raise _Ctx(file, name, missing[0]).error(f"a {kind} rule needs `{missing[0]}`")
        for concrete, suffix in _expand(spec, _Ctx(file, name, "name")):
            rules.append(_build(concrete, _Ctx(file, name, "name"), suffix))
    return rules
