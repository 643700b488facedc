"""Import the metric exports that vendor alarms need into a Metrics frame (``alertsim.frames.METRICS``).

``read_cloudwatch_metric_data``
    The JSON of ``aws cloudwatch get-metric-data`` (``{"MetricDataResults": [{"Id", "Label",
    "Timestamps", "Values", "StatusCode"}]}``, or a list of such pages). The results carry no metric name
    or dimensions, so pass the ``--metric-data-queries`` JSON as ``queries``: each result's ``Id`` then
    maps to its ``MetricStat`` (``MetricName`` → ``metric``, ``Namespace`` → label ``namespace``, each
    dimension → a label). Without queries, ``metric`` is the result's ``Label`` (else its ``Id``).
    CloudWatch stamps a datapoint with the start of its period, which is what a replayed alarm expects.
``read_cloudwatch_csv``
    A graph downloaded from the CloudWatch console as CSV: a timestamp column, then one column per
    graphed metric headed by its label. AWS does not document the layout; alertsim reads this wide form.
    Each column becomes a series: ``metric`` is the header, or ``metric=`` with the header as the
    value of a ``label=`` label.
``read_gcp_time_series``
    The JSON of ``projects.timeSeries.list`` (``{"timeSeries": [{"metric": {"type", "labels"},
    "resource": {"type", "labels"}, "points": [{"interval": {"endTime"}, "value": {...}}]}]}``, or a list
    of pages). ``metric`` ← ``metric.type``; metric and resource labels become labels, ``resource.type``
    the label ``resource_type``, a ``metricKind`` of ``DELTA`` or ``CUMULATIVE`` the label ``metric_kind``
    (GAUGE, the common kind, adds none); a point is stamped with its ``endTime``; ``doubleValue``, ``int64Value``
    and ``boolValue`` (1/0) are read, a ``distributionValue`` as its ``mean``.
``read_datadog_query``
    The JSON of Datadog's ``GET /api/v1/query`` (``{"status": "ok", "series": [{"metric", "tag_set",
    "pointlist": [[ms, value], ...]}]}``, or a list of responses). ``metric`` ← ``metric``; each
    ``key:value`` of ``tag_set`` a label (keys made label-safe, ``availability-zone`` →
    ``availability_zone``; a bare tag ``foo`` becomes ``foo="true"``); null points are missing data.

All of them return a Metrics frame sorted by series then time; the pages of a paginated export may be
concatenated in one file (a JSON list of responses); identical duplicate samples are dropped, conflicting
ones (same series and time, different values) are an ``InputError``.

>>> import json, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "q.json"
>>> _ = path.write_text(json.dumps({"status": "ok", "series": [{"metric": "system.cpu.user",
...     "tag_set": ["host:web-1"], "pointlist": [[1767225600000, 12.5], [1767225660000, None]]}]}))
>>> read_datadog_query(path).select("metric", "value", "host").rows()
[('system.cpu.user', 12.5, 'web-1')]
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from alertsim.durations import iso_instant, to_us
from alertsim.errors import InputError, Problem
from alertsim.frames import INSTANT, LABEL_NAME, METRICS, label_name, validate

log = logging.getLogger(__name__)


def _load(path: str | os.PathLike[str]) -> tuple[Any, str]:
    file = os.fspath(path)
    try:
        return json.loads(Path(path).read_text(encoding="utf-8-sig")), file
    except (OSError, ValueError) as exc:
        raise InputError(f"{file}: not a readable JSON file ({exc})", file=file) from None


def _pages(body: Any, key: str, file: str, what: str) -> list[Mapping[str, Any]]:
    pages = body if isinstance(body, list) else [body]
    if not pages or not all(isinstance(p, Mapping) and isinstance(p.get(key), list) for p in pages):
        raise InputError(f"{file}: expected {what} ({{\"{key}\": [...]}}, or a list of such pages)", file=file)
    return pages  # type: ignore[return-value]


def _instant_us(value: Any) -> int | None:
    """ISO-8601 (naive means UTC) → microseconds since the epoch, or None."""
    moment = iso_instant(value)
    return None if moment is None else to_us(moment)


Chunk = tuple[str, dict[str, str], Any, Any]
"""One series' samples: (metric, labels, microseconds since the epoch, values), arrays or lists."""


def _frame(chunks: list[Chunk], file: str) -> pl.DataFrame:
    """A validated Metrics frame from per-series chunks, sorted by series then time."""
    labels = sorted({k for _, lbl, _, _ in chunks for k in lbl})
    bad = [k for k in labels if not LABEL_NAME.match(k)]
    if bad:
        raise InputError(f"{file}: label names {bad} are not valid (letters, digits, _)", file=file)
    clash = [k for k in labels if k in METRICS.columns]
    if clash:
        raise InputError(f"{file}: labels {clash} clash with the Metrics columns timestamp, metric, value",
                         file=file)
    # Chunks of the same series (pages, repeated queries) are merged, then sorted by time in numpy.
    merged: dict[tuple[str | None, ...], list[tuple[Any, Any]]] = {}
    for metric, lbl, times, values in chunks:
        merged.setdefault((*(lbl.get(k) for k in labels), metric), []).append((times, values))
    schema = {"timestamp": pl.Int64, "metric": pl.String, "value": pl.Float64, **{k: pl.String for k in labels}}
    parts, problems = [], []
    for key in sorted(merged, key=lambda k: tuple((v is not None, v or "") for v in k)):
        times = np.concatenate([np.asarray(t, dtype=np.int64) for t, _ in merged[key]])
        values = np.concatenate([np.asarray(v, dtype=float) for _, v in merged[key]])
        if not len(times):
            continue
        order = np.lexsort((values, times))
        times, values = times[order], values[order]
        same = np.flatnonzero(np.diff(times) == 0)
        if len(same):
            differ = same[(values[same] != values[same + 1]) & ~(np.isnan(values[same]) & np.isnan(values[same + 1]))]
            for i in differ[:20]:
                problems.append(Problem(file=file, column="value", reason=(
                    f"{key[-1]} {dict(zip(labels, key[:-1], strict=True))} at {times[i]} µs: values {values[i]} "
                    f"and {values[i + 1]}")))
            keep = np.ones(len(times), dtype=bool)
            keep[same + 1] = False
            times, values = times[keep], values[keep]
        parts.append(pl.DataFrame({"timestamp": times, "value": values}).with_columns(
            pl.lit(key[-1], pl.String).alias("metric"),
            *[pl.lit(v, pl.String).alias(k) for k, v in zip(labels, key[:-1], strict=True)]).select(list(schema)))
    if problems:
        raise InputError(f"{file}: samples share a series and timestamp with different values", problems, file=file)
    frame = pl.concat(parts) if parts else pl.DataFrame(schema=schema)
    frame = frame.with_columns(pl.col("timestamp").cast(pl.Datetime("us")).dt.replace_time_zone("UTC").cast(INSTANT))
    log.info("%s: %d samples of %d series", file, frame.height, len(parts))
    return validate(frame, METRICS, file=file)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


# --------------------------------------------------------------------------------------------------
# CloudWatch.

def _queries(queries: str | os.PathLike[str] | Sequence[Mapping[str, Any]] | None, file: str
             ) -> dict[str, tuple[str, dict[str, str]]]:
    """``Id`` → (metric, labels) from a ``--metric-data-queries`` document."""
    if queries is None:
        return {}
    if isinstance(queries, str | os.PathLike):
        doc, qfile = _load(queries)
        doc = doc.get("MetricDataQueries", doc) if isinstance(doc, Mapping) else doc
    else:
        doc, qfile = list(queries), file
    if not isinstance(doc, list):
        raise InputError(f"{qfile}: expected a list of MetricDataQuery objects", file=qfile)
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for i, query in enumerate(doc, start=1):
        if not isinstance(query, Mapping) or not isinstance(query.get("Id"), str):
            raise InputError(f"{qfile}: query {i} needs an Id", [Problem(file=qfile, row=i, column="Id",
                                                                        reason="missing Id")], file=qfile)
        stat = query.get("MetricStat")
        if not isinstance(stat, Mapping):
            out[query["Id"]] = (str(query.get("Label") or query["Id"]), {})
            continue
        metric = stat.get("Metric") or {}
        labels = {label_name(str(d["Name"])): str(d["Value"]) for d in metric.get("Dimensions") or []
                  if isinstance(d, Mapping) and "Name" in d and "Value" in d}
        if metric.get("Namespace"):
            labels["namespace"] = str(metric["Namespace"])
        out[query["Id"]] = (str(metric.get("MetricName") or query.get("Label") or query["Id"]), labels)
    return out


def read_cloudwatch_metric_data(path: str | os.PathLike[str], *,
                                queries: str | os.PathLike[str] | Sequence[Mapping[str, Any]] | None = None
                                ) -> pl.DataFrame:
    """Read ``aws cloudwatch get-metric-data`` output as Metrics (module docstring).

    Parameters
    ----------
    path
        The JSON output (one page or a list of pages).
    queries
        The ``--metric-data-queries`` JSON file (or its list) the data was fetched with; default none.

    Raises
    ------
    InputError
        Unreadable JSON, results whose ``Timestamps`` and ``Values`` differ in length, bad timestamps or
        values, results whose ``Id`` is not among the queries: every problem listed.
    """
    body, file = _load(path)
    by_id = _queries(queries, file)
    problems: list[Problem] = []
    chunks: list[Chunk] = []
    index = 0
    for page in _pages(body, "MetricDataResults", file, "get-metric-data output"):
        for result in page["MetricDataResults"]:
            index += 1
            if not isinstance(result, Mapping):
                problems.append(Problem(file=file, row=index, reason="a result must be an object"))
                continue
            rid = str(result.get("Id", ""))
            if by_id and rid not in by_id:
                problems.append(Problem(file=file, row=index, column="Id",
                                        reason=f"result {rid!r} is not one of the queries {sorted(by_id)}"))
                continue
            metric, labels = by_id.get(rid) or (str(result.get("Label") or rid), {})
            stamps, values = result.get("Timestamps") or [], result.get("Values") or []
            if len(stamps) != len(values):
                problems.append(Problem(file=file, row=index, column="Values",
                                        reason=f"{len(stamps)} Timestamps but {len(values)} Values"))
                continue
            if result.get("StatusCode") not in (None, "Complete"):
                log.warning("%s: result %s has StatusCode %s; fetch the remaining pages (NextToken) too", file, rid,
                            result.get("StatusCode"))
            times, numbers = [], []
            for stamp, value in zip(stamps, values, strict=True):
                us, number = _instant_us(stamp), _number(value)
                if us is None or number is None:
                    problems.append(Problem(file=file, row=index, column="Timestamps" if us is None else "Values",
                                            reason=f"cannot read {stamp!r}: {value!r}"))
                    continue
                times.append(us)
                numbers.append(number)
            chunks.append((metric, labels, times, numbers))
    if problems:
        raise InputError(f"{file} cannot be imported", problems, file=file)
    return _frame(chunks, file)


def read_cloudwatch_csv(path: str | os.PathLike[str], *, metric: str | None = None, label: str = "label"
                        ) -> pl.DataFrame:
    """Read a CloudWatch console graph CSV (a timestamp column, then one column per metric) as Metrics.

    Parameters
    ----------
    path
        The CSV.
    metric
        One metric name for every column, the header becoming the value of ``label``; default: each
        header is its column's metric name.
    label
        The label that holds the header when ``metric`` is given; default ``"label"``.
    """
    file = os.fspath(path)
    try:
        table = pl.read_csv(Path(path), infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"{file}: not a readable CSV file ({exc})", file=file) from None
    if table.width < 2:
        raise InputError(f"{file}: expected a timestamp column and at least one metric column", file=file)
    if metric is not None and not LABEL_NAME.match(label):
        raise InputError(f"label {label!r} is not a valid label name", file=file)
    stamp = table.columns[0]
    problems: list[Problem] = []
    stamps = [_instant_us(v) for v in table[stamp].to_list()]
    problems += [Problem(file=file, row=r, column=stamp, reason=f"{v!r} is not ISO-8601")
                 for r, (v, us) in enumerate(zip(table[stamp].to_list(), stamps, strict=True), start=1) if us is None]
    chunks: list[Chunk] = []
    for column in table.columns[1:]:
        times, numbers = [], []
        for r, (us, text) in enumerate(zip(stamps, table[column].to_list(), strict=True), start=1):
            if us is None or text is None or not text.strip():
                continue
            number = _number(text)
            if number is None:
                problems.append(Problem(file=file, row=r, column=column, reason=f"{text!r} is not a number"))
                continue
            times.append(us)
            numbers.append(number)
        chunks.append((metric, {label: column}, times, numbers) if metric else (column, {}, times, numbers))
    if problems:
        raise InputError(f"{file} cannot be imported", problems, file=file)
    return _frame(chunks, file)


# --------------------------------------------------------------------------------------------------
# Cloud Monitoring.

def _gcp_value(value: Any) -> float | None:
    if not isinstance(value, Mapping) or len(value) != 1:
        return None
    kind, item = next(iter(value.items()))
    if kind in ("doubleValue", "int64Value"):
        return _number(item)
    if kind == "boolValue":
        return 1.0 if item in (True, "true") else 0.0 if item in (False, "false") else None
    if kind == "distributionValue" and isinstance(item, Mapping):
        return _number(item.get("mean", 0.0))
    return None


def read_gcp_time_series(path: str | os.PathLike[str]) -> pl.DataFrame:
    """Read ``projects.timeSeries.list`` JSON as Metrics (module docstring).

    Raises
    ------
    InputError
        Unreadable JSON, series without ``metric.type``, points without ``endTime`` or with string
        values, a metric and a resource label of the same name with different values.
    """
    body, file = _load(path)
    problems: list[Problem] = []
    chunks: list[Chunk] = []
    index = 0
    for page in _pages(body, "timeSeries", file, "timeSeries.list output"):
        for series in page["timeSeries"]:
            index += 1
            metric = series.get("metric") if isinstance(series, Mapping) else None
            if not isinstance(metric, Mapping) or not isinstance(metric.get("type"), str):
                problems.append(Problem(file=file, row=index, column="metric.type", reason="missing metric.type"))
                continue
            resource = series.get("resource") or {}
            labels = {label_name(str(k)): str(v) for k, v in (metric.get("labels") or {}).items()}
            for key, value in (resource.get("labels") or {}).items():
                name = label_name(str(key))
                if name in labels and labels[name] != str(value):
                    problems.append(Problem(file=file, row=index, column=f"resource.labels.{key}",
                                            reason=f"differs from metric label {key}={labels[name]!r}"))
                labels[name] = str(value)
            if resource.get("type"):
                labels["resource_type"] = str(resource["type"])
            kind = series.get("metricKind")
            if kind in ("DELTA", "CUMULATIVE"):
                labels["metric_kind"] = str(kind)  # how aligners read it: a DELTA point is not a counter
            times, numbers = [], []
            for point in series.get("points") or []:
                interval = point.get("interval") if isinstance(point, Mapping) else None
                us = _instant_us(interval.get("endTime")) if isinstance(interval, Mapping) else None
                number = _gcp_value(point.get("value")) if isinstance(point, Mapping) else None
                if us is None or number is None:
                    problems.append(Problem(file=file, row=index, column="points",
                                            reason=f"cannot read point {point!r} (need interval.endTime and a "
                                                   "double, int64, bool or distribution value)"))
                    continue
                times.append(us)
                numbers.append(number)
            chunks.append((metric["type"], labels, times, numbers))
    if problems:
        raise InputError(f"{file} cannot be imported", problems, file=file)
    return _frame(chunks, file)


# --------------------------------------------------------------------------------------------------
# Datadog.

def read_datadog_query(path: str | os.PathLike[str]) -> pl.DataFrame:
    """Read Datadog query API JSON (``GET /api/v1/query``) as Metrics (module docstring).

    Raises
    ------
    InputError
        Unreadable JSON, a response whose ``status`` is not ``ok``, series without ``metric``, points that
        are not ``[milliseconds, value]``.
    """
    body, file = _load(path)
    problems: list[Problem] = []
    chunks: list[Chunk] = []
    index = 0
    for page in _pages(body, "series", file, "query API output"):
        if page.get("status", "ok") != "ok":
            raise InputError(f"{file}: the query failed: {page.get('error') or page.get('message') or page['status']}",
                             file=file)
        for series in page["series"]:
            index += 1
            if not isinstance(series, Mapping) or not isinstance(series.get("metric"), str):
                problems.append(Problem(file=file, row=index, column="metric", reason="missing metric"))
                continue
            labels: dict[str, str] = {}
            for tag in series.get("tag_set") or []:
                key, _, value = str(tag).partition(":")
                labels[label_name(key)] = value if _ else "true"
            points = series.get("pointlist") or []
            try:
                # [[ms, value-or-null], ...] as one float array (null → NaN, which is missing data).
                array = np.asarray(points, dtype=float).reshape(-1, 2) if points else np.zeros((0, 2))
                if len(array) != len(points) or any(not isinstance(p, list | tuple) for p in points):
                    raise ValueError
            except (TypeError, ValueError):
                problems += [Problem(file=file, row=index, column="pointlist",
                                     reason=f"a point is [milliseconds, number or null], got {point!r}")
                             for point in points if not (isinstance(point, list | tuple) and len(point) == 2
                                                         and _number(point[0]) is not None
                                                         and (point[1] is None or _number(point[1]) is not None))]
                continue
            keep = ~np.isnan(array[:, 1]) & ~np.isnan(array[:, 0])
            chunks.append((series["metric"], labels, np.round(array[keep, 0] * 1000).astype(np.int64),
                           array[keep, 1]))
    if problems:
        raise InputError(f"{file} cannot be imported", problems, file=file)
    return _frame(chunks, file)


__all__ = ["read_cloudwatch_csv", "read_cloudwatch_metric_data", "read_datadog_query", "read_gcp_time_series"]
