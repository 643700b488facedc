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
import math
import os
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

from alertsim.durations import Duration, format_duration, parse_duration, to_microseconds
from alertsim.errors import ConfigError, InputError
from alertsim.frames import label_columns
from alertsim.io.metrics import read_metrics
from alertsim.io.rundir import read_manifest
from alertsim.promql.ast import selector_reaches
from alertsim.replay import replay
from alertsim.rules.prometheus import load_prometheus_rules

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
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
    at = _EPOCH + timedelta(microseconds=at_us)
    return alerts.filter((pl.col("fired_at") <= at) & (pl.col("resolved_at").is_null() | (pl.col("resolved_at") > at)))


_TEMPLATE = re.compile(r"\{\{-?\s*(\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)|\.Labels\.([a-zA-Z_][a-zA-Z0-9_]*)|"
                       r"\$value|\.Value)\s*-?\}\}")


def _go_float(value: float) -> str:
    """Go's ``fmt`` ``%v`` of a float64 (what ``{{ $value }}`` prints)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(float(value))
    mantissa, _, exponent = text.partition("e")
    digits = mantissa.replace("-", "").replace(".", "")
    exp10 = int(exponent) if exponent else (len(mantissa.lstrip("-").split(".")[0]) - 1 if abs(value) >= 1 else
                                            -len(re.match(r"0\.(0*)", mantissa.lstrip("-")).group(1)) - 1)  # type: ignore[union-attr]
    if value == 0:
        return "0"
    if exp10 < -4 or exp10 >= 21:
        digits = digits.lstrip("0") or "0"
        head = digits[0] + ("." + digits[1:].rstrip("0") if digits[1:].rstrip("0") else "")
        sign = "-" if value < 0 else ""
        return f"{sign}{head}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    return format(float(value), "f").rstrip("0").rstrip(".") if "e" in text else (
        text[:-2] if text.endswith(".0") else text)


def expand_annotation(text: str, labels: Mapping[str, str], value: float, *, rule: str) -> str:
    """Expand the templates promtool would in an annotation: ``$labels.x``/``.Labels.x`` and
    ``$value``/``.Value``. Anything else raises ``ConfigError`` (use ``strip_annotations``)."""
    def substitute(match: re.Match[str]) -> str:
        name = match.group(2) or match.group(3)
        if name:
            return labels.get(name, "<no value>")
        return _go_float(value)

    expanded = _TEMPLATE.sub(substitute, text)
    if "{{" in expanded:
        raise ConfigError(f"annotation template {text!r} uses more than $labels.NAME and $value; export with "
                          "strip_annotations (--strip-annotations) to test the rule without its annotations",
                          rule=rule, field="annotations")
    return expanded


def promtool_test(rules_path: str | os.PathLike[str], metrics: pl.DataFrame, *, start: datetime | str,
                  end: datetime | str, eval_interval: Duration = "1m", series_interval: Duration | None = None,
                  at: Sequence[datetime | str] | None = None, warmup: Duration | None = None,
                  rule_file: str | None = None, strip_annotations: bool = False,
                  name: str = "alertsim replay") -> dict[str, Any]:
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
        False: annotations are expanded (``$labels``/``$value`` templates only).
    """
    rules = load_prometheus_rules(rules_path)
    step = to_microseconds(eval_interval, field="eval_interval")
    interval = to_microseconds(series_interval or eval_interval, field="series_interval")
    program = rules[0].program if rules else None
    if program is not None:
        other = sorted({e.group for e in program.entries if e.interval_us not in (None, step)})
        if other:
            raise ConfigError(f"promtool evaluates every group at evaluation_interval "
                              f"({format_duration(timedelta(microseconds=step))}); group(s) {other} use another "
                              "interval. Export with --eval-interval set to it, or edit the groups",
                              file=str(rules_path), field="interval")
    if warmup is None:
        reach = 3600 * US
        for entry in program.entries if program else ():
            for _, before in selector_reaches(entry.node):
                reach = max(reach, before + 300 * US)
        warmup_us = reach
    else:
        warmup_us = to_microseconds(warmup, field="warmup")
    first = _us(start)
    last = _us(end)
    if last < first:
        raise ConfigError("end is before start", field="end")
    unit = math.lcm(step, interval)
    origin = ((first - warmup_us) // unit) * unit
    first_test = -(-first // step) * step
    lists = sample_lists(metrics, first_us=origin, last_us=last, interval_us=interval)
    if not lists:
        raise InputError("no samples of any series fall in the exported span")
    series = input_series(lists)
    shifted = lists_frame(lists, first_us=0, interval_us=interval)
    result = replay(shifted, rules, eval_interval=timedelta(microseconds=step), start=_iso(0),
                    end=_iso(last - origin), evaluations=not strip_annotations)
    alerts = result.alerts
    if at is None:
        instants = _change_points(alerts, first_test - origin, last - origin, step)
    else:
        instants = sorted({_us(t) - origin for t in at})
        off = [t for t in instants if t % step]
        if off:
            raise ConfigError("test instants must be multiples of the evaluation interval", field="at")
    values = _values(result.evaluations) if result.evaluations is not None else {}
    cases = []
    by_rule = {r.name: r for r in rules}
    alertnames = sorted({r.alertname for r in rules})
    for t in instants:
        firing = _firing(alerts, t)
        for alertname in alertnames:
            rows = firing.filter(pl.col("labels").str.contains(f'"alertname": {json.dumps(alertname)}',
                                                               literal=True))
            expected = []
            for row in rows.iter_rows(named=True):
                labels = {k: v for k, v in json.loads(row["labels"]).items() if v is not None}
                if labels.get("alertname") != alertname:
                    continue
                labels.pop("alertname")
                item: dict[str, Any] = {"exp_labels": dict(sorted(labels.items()))}
                rule = by_rule[row["rule"]]
                if rule.annotations and not strip_annotations:
                    value = values.get((row["rule"], row["series"], t), math.nan)
                    item["exp_annotations"] = {k: expand_annotation(v, {**labels, "alertname": alertname}, value,
                                                                    rule=rule.name)
                                               for k, v in rule.annotations.items()}
                expected.append(item)
            expected.sort(key=lambda e: json.dumps(e, sort_keys=True))
            cases.append({"eval_time": format_duration(timedelta(microseconds=t)), "alertname": alertname,
                          "exp_alerts": expected})
    return {
        "rule_files": [rule_file or str(rules_path)],
        "evaluation_interval": format_duration(timedelta(microseconds=step)),
        "group_eval_order": [g for g in dict.fromkeys(e.group for e in program.entries)] if program else [],
        "tests": [{"name": f"{name}: {_iso(first)} to {_iso(last)} (t=0 is {_iso(origin)})",
                   "interval": format_duration(timedelta(microseconds=interval)),
                   "input_series": series, "alert_rule_test": cases}],
    }


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


def _us(value: datetime | str | int) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"{value!r} is not an ISO-8601 instant", field="start/end") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // timedelta(microseconds=1)


def _iso(us: int) -> str:
    return (_EPOCH + timedelta(microseconds=us)).isoformat().replace("+00:00", "Z")


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"' if value == "" or "{" in value
                                   or ":" in value or value.strip() != value else None)


_Dumper.add_representer(str, _str)


def to_yaml(document: Mapping[str, Any]) -> str:
    """The test document as YAML (series and labels quoted where YAML would misread them)."""
    return yaml.dump(dict(document), Dumper=_Dumper, sort_keys=False, width=10_000, allow_unicode=True)


def strip_rule_annotations(rules_path: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Write a copy of a rule file without annotations (for ``strip_annotations`` tests)."""
    document = yaml.safe_load(Path(rules_path).read_text(encoding="utf-8"))
    for group in document.get("groups", []):
        for rule in group.get("rules") or []:
            rule.pop("annotations", None)
    out = Path(out)
    out.write_text(yaml.safe_dump(document, sort_keys=False, width=10_000), encoding="utf-8")
    return out


def export_promtool(run_dir: str | os.PathLike[str], out: str | os.PathLike[str], *,
                    at: Sequence[datetime | str] | None = None, start: datetime | str | None = None,
                    end: datetime | str | None = None, series_interval: Duration | None = None,
                    strip_annotations: bool = False) -> Path:
    """Write ``out`` (a ``promtool test rules`` file) from a replay run directory.

    The run's rule file (copied into the run directory by ``alertsim replay``) must be a Prometheus
    rule file; its metrics are read again from the path in the manifest. By default the whole replay
    span is tested at the instants where firing alerts change. With ``strip_annotations`` a copy of
    the rules without annotations is written next to ``out`` and tested instead.
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
    if strip_annotations:
        target = strip_rule_annotations(rules_path, out.with_name(f"{out.stem}.rules.yml"))
    interval = manifest.get("eval_interval", "1m")
    document = promtool_test(target, metrics, start=start or manifest["start"], end=end or manifest["end"],
                             eval_interval=parse_duration(interval), series_interval=series_interval, at=at,
                             rule_file=os.path.relpath(target.resolve(), out.parent.resolve()),
                             strip_annotations=strip_annotations, name=f"alertsim replay {run_dir.name}")
    out.write_text(to_yaml(document), encoding="utf-8")
    return out


__all__ = ["expand_annotation", "expanding_notation", "export_promtool", "format_value", "input_series",
           "lists_frame", "promtool_test", "sample_lists", "strip_rule_annotations", "to_yaml"]
