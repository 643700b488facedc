"""Write ``promtool test rules`` files from a replay, so a tuned Prometheus rule can be pinned as a
Prometheus unit test.

:func:`promtool_test` takes a Prometheus rule file, metrics and a time span; it writes the input
series in promtool's expanding notation (``0+600x60``, ``_x3``, ``stale``), replays the rules over
exactly those samples with alertsim, and lists the firing alerts it found at the chosen instants as
``alert_rule_test`` cases. ``promtool test rules`` then checks that Prometheus agrees.

promtool (2.42) starts every test at the Unix epoch, takes one sample per ``interval`` and evaluates
every group at every ``evaluation_interval``: the span is shifted to start at 0 (by a whole number of
evaluation intervals, so ``time()`` differs but alignment does not), samples must sit on multiples
of the series interval (else they are resampled: the newest sample at or before each step within
the lookback is kept, as an instant selector would see it), and every group of the rule file must
run at the evaluation interval.

>>> yaml_text = to_yaml({"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": []})
>>> yaml_text.splitlines()[0]
'rule_files:'
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

from alertsim.durations import Duration, format_duration, instant_us, parse_duration, to_datetime, to_microseconds
from alertsim.errors import ConfigError, InputError, Notice
from alertsim.frames import label_columns
from alertsim.io.gotemplate import Unsupported, go_float, render
from alertsim.io.metrics import read_metrics
from alertsim.io.rundir import read_manifest
from alertsim.promql.ast import selector_reaches
from alertsim.replay import replay
from alertsim.rules.prometheus import load_prometheus_rules

log = logging.getLogger(__name__)
US = 1_000_000


def format_value(value: float) -> str:
    """A float as promtool's series notation reads it back exactly."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def expanding_notation(values: Sequence[float | None]) -> str:
    """Compress a sample list into promtool's expanding notation.

    ``None`` is a missing sample (``_``). Runs of equal values become ``axN`` and arithmetic runs
    ``a+bxN`` when promtool's repeated addition reproduces every value exactly.

    >>> expanding_notation([0, 600, 1200, 1800, None, None, 5, 5, 5])
    '0+600x3 _x2 5x2'
    """
    out: list[str] = []
    i, n = 0, len(values)
    while i < n:
        v = values[i]
        if v is None:
            j = i
            while j + 1 < n and values[j + 1] is None:
                j += 1
            out.append("_" if j == i else f"_x{j - i + 1}")
            i = j + 1
            continue
        best = i
        step = None
        if i + 1 < n and values[i + 1] is not None and not math.isnan(v) and not math.isinf(v):
            step = float(values[i + 1]) - float(v)  # type: ignore[arg-type]
            if not math.isfinite(step):
                step = None
        if step is not None:
            acc = float(v)
            j = i
            while j + 1 < n and values[j + 1] is not None:
                nxt = acc + step
                if nxt != values[j + 1] or (step == 0 and format_value(nxt) != format_value(values[j + 1])):  # type: ignore[arg-type]
                    break
                acc = nxt
                j += 1
            best = j
        if best == i:
            same = i
            while same + 1 < n and values[same + 1] is not None and (
                    values[same + 1] == v or (math.isnan(v) and math.isnan(values[same + 1]))):  # type: ignore[arg-type]
                same += 1
            out.append(format_value(v) if same == i else f"{format_value(v)}x{same - i}")
            i = same + 1
            continue
        count = best - i
        assert step is not None  # a run longer than one value (best > i) needs a step
        if step == 0:
            out.append(f"{format_value(v)}x{count}")
        else:
            sign = "+" if step >= 0 else "-"
            out.append(f"{format_value(v)}{sign}{format_value(abs(step))}x{count}")  # type: ignore[arg-type]
        i = best + 1
    return " ".join(out)


def _series_text(metric: str, labels: Mapping[str, str]) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()) if v)
    return f"{metric}{{{inner}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def sample_lists(metrics: pl.DataFrame, *, first_us: int, last_us: int, interval_us: int,
                 lookback_us: int = 300 * US) -> list[tuple[str, dict[str, str], list[float | None]]]:
    """Each series' values at ``first + k·interval`` up to ``last`` (``None`` = no sample).

    Samples off the steps are resampled: a step takes the newest sample at or before it within the
    lookback, each sample at most once (what an instant selector sees at the step)."""
    labels = label_columns(metrics)
    frame = metrics.with_columns(pl.col("timestamp").dt.epoch("us").alias("_t")).filter(
        (pl.col("_t") >= first_us - lookback_us) & (pl.col("_t") <= last_us))
    steps = (last_us - first_us) // interval_us + 1
    instants = first_us + interval_us * np.arange(steps, dtype=np.int64)
    out = []
    keys = ["metric", *labels]
    for key, group in frame.sort([*keys, "_t"]).group_by(keys, maintain_order=True):
        t = group["_t"].to_numpy()
        v = group["value"].to_numpy()
        values: list[float | None] = [None] * steps
        on_grid = ((t - first_us) % interval_us == 0) & (t >= first_us)
        if on_grid.all():
            for ti, vi in zip(t, v, strict=True):
                values[int((ti - first_us) // interval_us)] = float(vi)
        else:
            idx = np.searchsorted(t, instants, side="right") - 1
            ok = (idx >= 0) & (instants - t[np.maximum(idx, 0)] <= lookback_us)
            seen: set[int] = set()
            for k in np.flatnonzero(ok):
                if int(idx[k]) in seen:
                    continue
                seen.add(int(idx[k]))
                values[k] = float(v[idx[k]])
        if any(x is not None for x in values):
            label_map = {name: value for name, value in zip(labels, key[1:], strict=True) if value}
            out.append((str(key[0]), label_map, values))
    return out


def input_series(lists: Sequence[tuple[str, dict[str, str], list[float | None]]]) -> list[dict[str, str]]:
    """promtool ``input_series`` entries for :func:`sample_lists`' output."""
    return [{"series": _series_text(metric, labels), "values": expanding_notation(values)}
            for metric, labels, values in lists]


def lists_frame(lists: Sequence[tuple[str, dict[str, str], list[float | None]]], *, first_us: int,
                interval_us: int) -> pl.DataFrame:
    """The Metrics frame promtool loads from the same sample lists (times from ``first``)."""
    names = sorted({k for _, labels, _ in lists for k in labels})
    columns: dict[str, list[Any]] = {"timestamp": [], "metric": [], "value": [], **{n: [] for n in names}}
    for metric, labels, values in lists:
        for k, value in enumerate(values):
            if value is None:
                continue
            columns["timestamp"].append(first_us + interval_us * k)
            columns["metric"].append(metric)
            columns["value"].append(value)
            for n in names:
                columns[n].append(labels.get(n, ""))
    return pl.DataFrame({
        "timestamp": pl.Series(columns["timestamp"], dtype=pl.Int64).cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC"),
        "metric": pl.Series(columns["metric"], dtype=pl.String),
        "value": pl.Series(columns["value"], dtype=pl.Float64),
        **{n: pl.Series(columns[n], dtype=pl.String) for n in names},
    })


def _firing(alerts: pl.DataFrame, at_us: int) -> pl.DataFrame:
    at = to_datetime(at_us)
    return alerts.filter((pl.col("fired_at") <= at) & (pl.col("resolved_at").is_null() | (pl.col("resolved_at") > at)))


def _go_float(value: float) -> str:
    """Go's ``fmt`` ``%v`` of a float64 (what ``{{ $value }}`` prints)."""
    return go_float(value)


class _SampleLabels(dict[str, str]):
    """An alert's ``$labels`` as far as a replay knows them: the labels of the sample the expression
    returned. A label the rule itself sets (or ``__name__``) may or may not have been on the sample, so
    a template that reads one cannot be rendered for sure."""

    def __init__(self, labels: Mapping[str, str], unknown: frozenset[str]):
        super().__init__({k: v for k, v in labels.items() if k not in unknown})
        self.unknown = unknown

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        if key in self.unknown:
            raise Unsupported(f"$labels.{key}: the rule sets {key!r} itself, so whether the sample had it "
                              "is not known" if key != "__name__" else "$labels.__name__ is not kept by a replay")
        return super().get(key, default)

    __getitem__ = get  # type: ignore[assignment]


def expand_annotation(text: str, labels: Mapping[str, str], value: float, *, rule: str,
                      rule_labels: Mapping[str, str] | None = None,
                      external_labels: Mapping[str, str] | None = None) -> str:
    """An annotation as Prometheus expands it for an alert (see :mod:`alertsim.io.gotemplate`):
    ``labels`` are the alert's labels (``alertname`` and the labels the rule sets itself, ``rule_labels``,
    are not the sample's and are left out of ``$labels``), ``value`` the sample's value.

    Raises ``ConfigError`` for a template outside what can be rendered (``query``, ``range``, a label
    the rule sets itself, ...)."""
    unknown = frozenset({"__name__", *(rule_labels or {})})
    sample = _SampleLabels({k: v for k, v in labels.items() if k != "alertname"}, unknown)
    try:
        return render(text, labels=sample, value=value, external_labels=external_labels)
    except Unsupported as exc:
        raise ConfigError(f"annotation template {text!r} cannot be rendered here ({exc}); test without it "
                          "(strip_annotations=True), or pass unrendered={} to leave out only such "
                          "annotations", rule=rule, field="annotations") from None


def promtool_test(rules_path: str | os.PathLike[str], metrics: pl.DataFrame, *, start: datetime | str,
                  end: datetime | str, eval_interval: Duration = "1m", series_interval: Duration | None = None,
                  at: Sequence[datetime | str] | None = None, warmup: Duration | None = None,
                  rule_file: str | None = None, strip_annotations: bool = False,
                  name: str = "alertsim replay",
                  unrendered: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    """A ``promtool test rules`` document pinning what ``rules_path`` fires on ``metrics``.

    Parameters
    ----------
    rules_path : a Prometheus rule file (``groups:``).
    metrics : Metrics frame with the rules' input series.
    start, end : the span whose alerts are tested.
    eval_interval : promtool's ``evaluation_interval``; every group of the file must use it. Default ``1m``.
    series_interval : spacing of the input samples. Default: ``eval_interval``.
    at : instants to test. Default: every evaluation instant where the set of firing alerts changes,
        the one before it, and ``end``.
    warmup : history before ``start`` written as input (windows and ``for`` need it). Default: the
        longest range selector + offset + 5m lookback in the file, at least one hour.
    rule_file : how the test file names the rule file. Default: ``rules_path`` as given.
    strip_annotations : test without annotations (write the rule file without them yourself). Default
        False: annotations are expanded as Prometheus would (:mod:`alertsim.io.gotemplate`).
    unrendered : when given, an annotation whose template cannot be rendered here is left out of the
        test and recorded as ``{alert name: {annotation: reason}}`` (the rule file the test names must then
        lack it: :func:`export_promtool` writes such a copy); default: ``ConfigError``.
    """
    rules = load_prometheus_rules(rules_path)
    step = to_microseconds(eval_interval, field="eval_interval")
    interval = to_microseconds(series_interval or eval_interval, field="series_interval")
    program = rules[0].program if rules else None
    _check_group_intervals(program, step, rules_path)
    warmup_us = _warmup_us(program) if warmup is None else to_microseconds(warmup, field="warmup")
    first = _us(start, "start")
    last = _us(end, "end")
    if last < first:
        raise ConfigError(f"end ({_iso(last)}) is before start ({_iso(first)})", field="end")
    unit = math.lcm(step, interval)
    origin = ((first - warmup_us) // unit) * unit
    lists = sample_lists(metrics, first_us=origin, last_us=last, interval_us=interval)
    if not lists:
        raise InputError("no samples of any series fall in the exported span")
    shifted = lists_frame(lists, first_us=0, interval_us=interval)
    result = replay(shifted, rules, eval_interval=timedelta(microseconds=step), start=_iso(0),
                    end=_iso(last - origin), evaluations=not strip_annotations)
    if at is None:
        instants = _change_points(result.alerts, -(-first // step) * step - origin, last - origin, step)
    else:
        instants = _given_instants(at, origin, step)
    values = _values(result.evaluations) if result.evaluations is not None else {}
    cases = _alert_cases(result.alerts, rules, instants, values, strip_annotations=strip_annotations,
                         unrendered=unrendered)
    return {
        "rule_files": [rule_file or str(rules_path)],
        "evaluation_interval": format_duration(timedelta(microseconds=step)),
        "group_eval_order": [g for g in dict.fromkeys(e.group for e in program.entries)] if program else [],
        "tests": [{"name": f"{name}: {_iso(first)} to {_iso(last)} (t=0 is {_iso(origin)})",
                   "interval": format_duration(timedelta(microseconds=interval)),
                   "input_series": input_series(lists), "alert_rule_test": cases}],
    }


def _check_group_intervals(program: Any, step: int, rules_path: str | os.PathLike[str]) -> None:
    """promtool evaluates every group at one interval: a group with another one cannot be tested."""
    if program is None:
        return
    other = sorted({e.group for e in program.entries if e.interval_us not in (None, step)})
    if other:
        raise ConfigError(f"promtool evaluates every group at evaluation_interval "
                          f"({format_duration(timedelta(microseconds=step))}, the replay's); group(s) {other} "
                          "use another interval: replay again with `alertsim replay --eval-interval` set to "
                          "theirs, or give every group the same interval",
                          file=str(rules_path), field="interval")


def _warmup_us(program: Any) -> int:
    """The history the rules read before an instant: the longest range selector + offset + the 5m
    lookback, at least one hour."""
    reach = 3600 * US
    for entry in program.entries if program else ():
        for _, before in selector_reaches(entry.node):
            reach = max(reach, before + 300 * US)
    return reach


def _given_instants(at: Sequence[datetime | str], origin: int, step: int) -> list[int]:
    """The test instants asked for, relative to ``origin``; each must be an evaluation instant."""
    instants = sorted({_us(t, "at") - origin for t in at})
    off = [t for t in instants if t % step]
    if off:
        raise ConfigError(f"test instants must fall on the replay's evaluation instants (every "
                          f"{format_duration(timedelta(microseconds=step))} from {_iso(origin)}); "
                          f"{_iso(off[0] + origin)} does not", field="at")
    return instants


def _alert_cases(alerts: pl.DataFrame, rules: Sequence[Any], instants: Sequence[int],
                 values: Mapping[tuple[str, str, int], float], *, strip_annotations: bool,
                 unrendered: dict[str, dict[str, str]] | None) -> list[dict[str, Any]]:
    """One ``alert_rule_test`` case per instant and alert name: the alerts firing then, with their labels
    and (unless stripped) annotations; an annotation left out for one alert is left out for all."""
    cases = []
    by_rule = {r.name: r for r in rules}
    annotated: list[tuple[str, dict[str, Any]]] = []
    for t in instants:
        firing = _firing(alerts, t)
        for alertname in sorted({r.alertname for r in rules}):
            rows = firing.filter(pl.col("labels").str.contains(f'"alertname": {json.dumps(alertname)}',
                                                               literal=True))
            expected = []
            for row in rows.iter_rows(named=True):
                labels = {k: v for k, v in json.loads(row["labels"]).items() if v is not None}
                if labels.pop("alertname", None) != alertname:
                    continue
                item: dict[str, Any] = {"exp_labels": dict(sorted(labels.items()))}
                rule = by_rule[row["rule"]]
                if rule.annotations and not strip_annotations:
                    value = values.get((row["rule"], row["series"], t), math.nan)
                    item["exp_annotations"] = _annotations(rule, alertname, labels, value, unrendered)
                    annotated.append((alertname, item))
                expected.append(item)
            cases.append({"eval_time": format_duration(timedelta(microseconds=t)), "alertname": alertname,
                          "exp_alerts": expected})
    for alertname, item in annotated:
        for key in (unrendered or {}).get(alertname, {}):
            item["exp_annotations"].pop(key, None)
        if not item["exp_annotations"]:
            del item["exp_annotations"]
    for case in cases:
        case["exp_alerts"].sort(key=lambda e: json.dumps(e, sort_keys=True))
    return cases


def _annotations(rule: Any, alertname: str, labels: Mapping[str, str], value: float,
                 unrendered: dict[str, dict[str, str]] | None) -> dict[str, str]:
    """A firing alert's annotations as Prometheus expands them; one that cannot be rendered here is
    recorded in ``unrendered`` (or raises when that is None)."""
    rendered = {}
    for key, text in rule.annotations.items():
        try:
            rendered[key] = expand_annotation(text, labels, value, rule=rule.name,
                                              rule_labels=getattr(rule, "labels", None))
        except ConfigError as exc:
            if unrendered is None:
                raise
            reason = str(exc).split("cannot be rendered here (", 1)[-1].rsplit("); test", 1)[0]
            unrendered.setdefault(alertname, {}).setdefault(key, reason)
    return rendered


def _values(evaluations: pl.DataFrame) -> dict[tuple[str, str, int], float]:
    frame = evaluations.filter(pl.col("state").fill_null(False)).select(
        "rule", "series", pl.col("at").dt.epoch("us"), "value")
    return {(r, s, t): (math.nan if v is None else v) for r, s, t, v in frame.iter_rows()}


def _change_points(alerts: pl.DataFrame, first: int, last: int, step: int) -> list[int]:
    """Instants where firing alerts change (and the instant before each), plus the ends."""
    points = {first, last - (last - first) % step}
    for column in ("fired_at", "resolved_at"):
        for value in alerts[column].drop_nulls().dt.epoch("us").to_list():
            for t in (value, value - step):
                if first <= t <= last:
                    points.add(t)
    return sorted(points)


def _us(value: datetime | str | int, field: str = "start") -> int:
    """Microseconds since the epoch of an instant (an int passes through; naive means UTC)."""
    return value if isinstance(value, int) else instant_us(value, field=field)


def _iso(us: int) -> str:
    return to_datetime(us).isoformat().replace("+00:00", "Z")


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"' if value == "" or "{" in value
                                   or ":" in value or value.strip() != value else None)


_Dumper.add_representer(str, _str)


def to_yaml(document: Mapping[str, Any]) -> str:
    """The test document as YAML (series and labels quoted where YAML would misread them)."""
    return yaml.dump(dict(document), Dumper=_Dumper, sort_keys=False, width=10_000, allow_unicode=True)


def strip_rule_annotations(rules_path: str | os.PathLike[str], out: str | os.PathLike[str], *,
                           only: Mapping[str, Sequence[str]] | None = None) -> Path:
    """Write a copy of a rule file without annotations (for ``strip_annotations`` tests); with ``only``
    (``{alert name: [annotation, ...]}``), without just those."""
    document = yaml.safe_load(Path(rules_path).read_text(encoding="utf-8"))
    for group in document.get("groups", []):
        for rule in group.get("rules") or []:
            if only is None:
                rule.pop("annotations", None)
            elif rule.get("alert") in only and isinstance(rule.get("annotations"), dict):
                for key in only[rule["alert"]]:
                    rule["annotations"].pop(key, None)
                if not rule["annotations"]:
                    rule.pop("annotations")
    out = Path(out)
    out.write_text(yaml.safe_dump(document, sort_keys=False, width=10_000), encoding="utf-8")
    return out


def export_promtool(run_dir: str | os.PathLike[str], out: str | os.PathLike[str], *,
                    at: Sequence[datetime | str] | None = None, start: datetime | str | None = None,
                    end: datetime | str | None = None, series_interval: Duration | None = None,
                    strip_annotations: bool = False, notices: list[Notice] | None = None) -> Path:
    """Write ``out`` (a ``promtool test rules`` file) from a replay run directory.

    The run's rule file (copied into the run directory by ``alertsim replay``) must be a Prometheus
    rule file; its metrics are read again from the path in the manifest. By default the whole replay
    span is tested at the instants where firing alerts change.

    Annotations are expanded as Prometheus expands them (``$labels``, ``$value``, ``if``, ``printf``,
    the ``humanize`` functions: :mod:`alertsim.io.gotemplate`). An annotation that cannot be rendered
    without a running Prometheus (``query``, ``range``, a label the rule sets itself) is left out: the
    test names a copy of the rules without it (``<out>.rules.yml`` next to ``out``), and a
    :class:`~alertsim.errors.Notice` (``annotation-not-rendered``) saying so is appended to ``notices``.
    With ``strip_annotations`` the copy has no annotations at all.
    """
    run_dir, out = Path(run_dir), Path(out)
    manifest = read_manifest(run_dir)
    copies = sorted(p for p in run_dir.glob("rules.*") if p.suffix in (".yml", ".yaml"))
    rules_path = copies[0] if copies else Path(manifest.get("rules", {}).get("path", ""))
    if not rules_path.is_file():
        raise InputError(f"{run_dir}: the run's rule file is missing (looked for rules.yml and "
                         f"{manifest.get('rules', {}).get('path')})", file=str(run_dir))
    text = rules_path.read_text(encoding="utf-8")
    if "groups" not in (yaml.safe_load(text) or {}):
        raise ConfigError("promtool tests Prometheus rule files (groups:); this run used alertsim's native "
                          "rule format", file=str(rules_path))
    metrics_info = manifest.get("metrics", {})
    metrics = read_metrics(metrics_info.get("path"), metric=metrics_info.get("metric"),
                           table=metrics_info.get("table"))
    out.parent.mkdir(parents=True, exist_ok=True)
    target = rules_path
    copy = out.with_name(f"{out.stem}.rules.yml")
    if strip_annotations:
        target = strip_rule_annotations(rules_path, copy)
    interval = manifest.get("eval_interval", "1m")
    unrendered: dict[str, dict[str, str]] = {}
    document = promtool_test(target, metrics, start=start or manifest["start"], end=end or manifest["end"],
                             eval_interval=parse_duration(interval), series_interval=series_interval, at=at,
                             rule_file=os.path.relpath(target.resolve(), out.parent.resolve()),
                             strip_annotations=strip_annotations, name=f"alertsim replay {run_dir.name}",
                             unrendered=unrendered)
    if unrendered:
        strip_rule_annotations(rules_path, copy, only={k: list(v) for k, v in unrendered.items()})
        document["rule_files"] = [os.path.relpath(copy.resolve(), out.parent.resolve())]
        for alertname, keys in unrendered.items():
            for key, reason in keys.items():
                notice = Notice(code="annotation-not-rendered", rule=alertname, field=f"annotations.{key}",
                                file=str(rules_path), message=f"{reason}; the annotation is left out of the test, "
                                f"which runs on {copy.name}, a copy of the rules without it")
                log.warning("%s", notice)
                if notices is not None:
                    notices.append(notice)
    out.write_text(to_yaml(document), encoding="utf-8")
    return out


__all__ = ["expand_annotation", "expanding_notation", "export_promtool", "format_value", "input_series",
           "lists_frame", "promtool_test", "sample_lists", "strip_rule_annotations", "to_yaml"]
