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
    the label ``resource_type``; a point is stamped with its ``endTime``; ``doubleValue``, ``int64Value``
    and ``boolValue`` (1/0) are read, a ``distributionValue`` as its ``mean``.
``read_datadog_query``
    The JSON of Datadog's ``GET /api/v1/query`` (``{"status": "ok", "series": [{"metric", "tag_set",
    "pointlist": [[ms, value], ...]}]}``, or a list of responses). ``metric`` ← ``metric``; each
    ``key:value`` of ``tag_set`` a label (keys made label-safe, ``availability-zone`` →
    ``availability_zone``; a bare tag ``foo`` becomes ``foo="true"``); null points are missing data.

All of them return a Metrics frame sorted by series then time; identical duplicate samples are dropped,
conflicting ones (same series and time, different values) are an ``InputError``.

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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from alertsim.errors import InputError, Problem
from alertsim.frames import INSTANT, LABEL_NAME, METRICS, validate
from alertsim.rules._vendor import label_name

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH


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
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICRO


def _frame(rows: list[tuple[int, str, float, dict[str, str]]], file: str) -> pl.DataFrame:
    """A validated Metrics frame from (µs, metric, value, labels) rows."""
    labels = sorted({k for *_, lbl in rows for k in lbl})
    bad = [k for k in labels if not LABEL_NAME.match(k)]
    if bad:
        raise InputError(f"{file}: label names {bad} are not valid (letters, digits, _)", file=file)
    clash = [k for k in labels if k in METRICS.columns]
    if clash:
        raise InputError(f"{file}: labels {clash} clash with the Metrics columns timestamp, metric, value",
                         file=file)
    data: dict[str, list[Any]] = {"timestamp": [r[0] for r in rows], "metric": [r[1] for r in rows],
                                  "value": [r[2] for r in rows]}
    for key in labels:
        data[key] = [r[3].get(key) for r in rows]
    schema = {"timestamp": pl.Int64, "metric": pl.String, "value": pl.Float64, **{k: pl.String for k in labels}}
    frame = pl.DataFrame(data, schema=schema).with_columns(
        pl.col("timestamp").cast(pl.Datetime("us")).dt.replace_time_zone("UTC").cast(INSTANT))
    keys = ["metric", *labels, "timestamp"]
    frame = frame.unique(maintain_order=True)
    conflicts = frame.filter(pl.struct(keys).is_duplicated())
    if conflicts.height:
        shown = [Problem(file=file, column="value", reason=f"{row['metric']} {labels_of(row)} at {row['timestamp']}: "
                                                          f"value {row['value']}")
                 for row in conflicts.head(20).iter_rows(named=True)]
        raise InputError(f"{file}: {conflicts.height} samples share a series and timestamp with different values",
                         shown, file=file)
    frame = frame.sort([*labels, "metric", "timestamp"], nulls_last=False)
    log.info("%s: %d samples of %d series", file, frame.height, frame.select(keys[:-1]).n_unique())
    return validate(frame, METRICS, file=file)


def labels_of(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in METRICS.columns and v is not None}


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
    rows: list[tuple[int, str, float, dict[str, str]]] = []
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
            for stamp, value in zip(stamps, values, strict=True):
                us, number = _instant_us(stamp), _number(value)
                if us is None or number is None:
                    problems.append(Problem(file=file, row=index, column="Timestamps" if us is None else "Values",
                                            reason=f"cannot read {stamp!r}: {value!r}"))
                    continue
                rows.append((us, metric, number, labels))
    if problems:
        raise InputError(f"{file} cannot be imported", problems, file=file)
    return _frame(rows, file)


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
        table = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"{file}: not a readable CSV file ({exc})", file=file) from None
    if table.width < 2:
        raise InputError(f"{file}: expected a timestamp column and at least one metric column", file=file)
    if metric is not None and not LABEL_NAME.match(label):
        raise InputError(f"label {label!r} is not a valid label name", file=file)
    stamp = table.columns[0]
    problems: list[Problem] = []
    rows: list[tuple[int, str, float, dict[str, str]]] = []
    for r, record in enumerate(table.iter_rows(named=True), start=1):
        us = _instant_us(record[stamp])
        if us is None:
            problems.append(Problem(file=file, row=r, column=stamp, reason=f"{record[stamp]!r} is not ISO-8601"))
            continue
        for column in table.columns[1:]:
            text = record[column]
            if text is None or not text.strip():
                continue
            number = _number(text)
            if number is None:
                problems.append(Problem(file=file, row=r, column=column, reason=f"{text!r} is not a number"))
                continue
            rows.append((us, metric, number, {label: column}) if metric else (us, column, number, {}))
    if problems:
        raise InputError(f"{file} cannot be imported", problems, file=file)
    return _frame(rows, file)


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
    rows: list[tuple[int, str, float, dict[str, str]]] = []
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
            for point in series.get("points") or []:
                interval = point.get("interval") if isinstance(point, Mapping) else None
                us = _instant_us(interval.get("endTime")) if isinstance(interval, Mapping) else None
                number = _gcp_value(point.get("value")) if isinstance(point, Mapping) else None
                if us is None or number is None:
                    problems.append(Problem(file=file, row=index, column="points",
                                            reason=f"cannot read point {point!r} (need interval.endTime and a "
                                                   "double, int64, bool or distribution value)"))
                    continue
                rows.append((us, metric["type"], number, labels))
    if problems:
        raise InputError(f"{file} cannot be imported", problems, file=file)
    return _frame(rows, file)


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
    rows: list[tuple[int, str, float, dict[str, str]]] = []
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
            for point in series.get("pointlist") or []:
                if not isinstance(point, list | tuple) or len(point) != 2 or _number(point[0]) is None:
                    problems.append(Problem(file=file, row=index, column="pointlist",
                                            reason=f"a point is [milliseconds, value], got {point!r}"))
                    continue
                if point[1] is None:
                    continue
                number = _number(point[1])
                if number is None:
                    problems.append(Problem(file=file, row=index, column="pointlist",
                                            reason=f"{point[1]!r} is not a number"))
                    continue
                rows.append((round(float(point[0]) * 1000), series["metric"], number, labels))
    if problems:
        raise InputError(f"{file} cannot be imported", problems, file=file)
    return _frame(rows, file)


__all__ = ["read_cloudwatch_csv", "read_cloudwatch_metric_data", "read_datadog_query", "read_gcp_time_series"]
