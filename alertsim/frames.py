"""Declared schemas of the frames that pass between stages, and :func:`validate`.

Every instant is ``pl.Datetime("us", "UTC")``, every duration ``pl.Duration("us")``. Keys end in
``_id``, instants in ``_at``. Missing is ``null``, never 0 or False.

>>> import polars as pl, datetime as dt
>>> frame = pl.DataFrame({"timestamp": [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)],
...                       "metric": ["cpu"], "value": [0.5]})
>>> validate(frame, METRICS).height
1
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from alertsim.errors import ConfigError, InputError, Problem

INSTANT = pl.Datetime("us", "UTC")
DURATION = pl.Duration("us")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
METRIC_NAME_RULE = "any non-empty text without control characters (as Prometheus 3 allows)"


def metric_name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a metric name, or ``None`` when it can.

    One policy for every reader, importer and rule dialect: a metric name is kept exactly as its source
    wrote it. Prometheus' classic names (``http_requests_total``), Datadog's dotted names
    (``system.cpu.user``) and GCP's metric types (``compute.googleapis.com/instance/cpu/utilization``)
    are all metric names, as Prometheus 3 accepts them (quoted in PromQL: ``{"system.cpu.user"}``).

    >>> [metric_name_problem(n) for n in ("up", "system.cpu.user", "compute.googleapis.com/instance/cpu/utilization")]
    [None, None, None]
    >>> metric_name_problem("")
    'empty metric name'
    >>> metric_name_problem("cpu load"), metric_name_problem("cpu\\tload") is None
    (None, False)
    """
    if not isinstance(name, str):
        return f"{name!r} is not text"
    if not name:
        return "empty metric name"
    if _CONTROL.search(name):
        return f"{name!r} holds a control character; a metric name is {METRIC_NAME_RULE}"
    return None


@dataclass(frozen=True, kw_only=True)
class Schema:
    """A frame's contract: required and optional columns with dtypes, and which may hold nulls.

    ``labels=True`` lets any further column through as a ``String`` label column (Metrics).
    """

    name: str
    required: Mapping[str, pl.DataType]
    optional: Mapping[str, pl.DataType] = field(default_factory=dict)
    nullable: frozenset[str] = frozenset()
    labels: bool = False
    unique: tuple[str, ...] = ()

    @property
    def columns(self) -> dict[str, pl.DataType]:
        return {**self.required, **self.optional}

    def empty(self) -> pl.DataFrame:
        """An empty frame with the required columns."""
        return pl.DataFrame(schema=dict(self.required))


METRICS = Schema(
    name="Metrics",
    required={"timestamp": INSTANT, "metric": pl.String(), "value": pl.Float64()},
    labels=True,
)
EVALUATIONS = Schema(
    name="Evaluations",
    required={"rule": pl.String(), "series": pl.String(), "at": INSTANT,
              "state": pl.Boolean(), "value": pl.Float64()},
    optional={"score": pl.Float64(), "bound": pl.Float64()},
    nullable=frozenset({"state", "value", "score", "bound"}),
)
ALERTS = Schema(
    name="Alerts",
    required={"alert_id": pl.Int64(), "rule": pl.String(), "series": pl.String(),
              "labels": pl.String(), "severity": pl.String(), "active_at": INSTANT,
              "fired_at": INSTANT, "resolved_at": INSTANT},
    optional={"budget_at_detection": pl.Float64()},
    nullable=frozenset({"resolved_at", "budget_at_detection", "severity"}),
    unique=("alert_id",),
)
NOTIFICATIONS = Schema(
    name="Notifications",
    required={"notification_id": pl.Int64(), "group_key": pl.String(), "receiver": pl.String(),
              "sent_at": INSTANT, "kind": pl.String(), "alert_ids": pl.List(pl.Int64())},
    unique=("notification_id",),
)
PAGES = Schema(
    name="Pages",
    required={"page_id": pl.String(), "paged_at": INSTANT, "urgency": pl.String()},
    optional={"service": pl.String(), "team": pl.String(), "rule": pl.String(),
              "acknowledged_at": INSTANT, "resolved_at": INSTANT, "responder": pl.String(),
              "notification_id": pl.Int64(), "alert_ids": pl.List(pl.Int64())},
    nullable=frozenset({"service", "team", "rule", "acknowledged_at", "resolved_at",
                        "responder", "notification_id", "alert_ids"}),
    unique=("page_id",),
)
INCIDENTS = Schema(
    name="Incidents",
    required={"incident_id": pl.String(), "service": pl.String(), "started_at": INSTANT,
              "resolved_at": INSTANT, "severity": pl.String()},
    optional={"acknowledged_at": INSTANT, "responder": pl.String(), "kind": pl.String(),
              "urgency": pl.String(), "title": pl.String()},
    nullable=frozenset({"resolved_at", "severity", "acknowledged_at", "responder", "kind",
                        "urgency", "title"}),
    unique=("incident_id",),
)
SHIFTS = Schema(
    name="Shifts",
    required={"schedule": pl.String(), "level": pl.Int32(), "responder": pl.String(),
              "start_at": INSTANT, "end_at": INSTANT, "tz": pl.String()},
)

SCHEMAS: dict[str, Schema] = {s.name.lower(): s for s in
                              (METRICS, EVALUATIONS, ALERTS, NOTIFICATIONS, PAGES, INCIDENTS, SHIFTS)}


def _rows(mask: pl.Series, limit: int = 20) -> list[int]:
    """1-based row numbers where ``mask`` is true (at most ``limit``)."""
    return [i + 1 for i in mask.arg_true().head(limit).to_list()]


def _row_problems(mask: pl.Series, *, column: str, reason: str, file: str | None,
                  limit: int = 20) -> list[Problem]:
    """One problem per row where ``mask`` holds, the first ``limit`` of them, then a summary."""
    found = [Problem(column=column, row=r, file=file, reason=reason) for r in _rows(mask, limit)]
    more = int(mask.sum()) - limit
    if more > 0:
        found.append(Problem(column=column, file=file, reason=f"{reason} in {more} more rows"))
    return found


def problems(frame: pl.DataFrame, schema: Schema, *, file: str | None = None) -> list[Problem]:
    """Every way ``frame`` breaks ``schema``: missing columns, wrong dtypes, nulls, duplicate keys."""
    found: list[Problem] = []
    for name in schema.required:
        if name not in frame.columns:
            found.append(Problem(column=name, file=file,
                                 reason=f"missing column; {schema.name} needs {list(schema.required)}"))
    for name in frame.columns:
        expected = schema.columns.get(name)
        actual = frame.schema[name]
        if expected is None:
            if not schema.labels:
                continue
            if not LABEL_NAME.match(name):
                found.append(Problem(column=name, file=file,
                                     reason="label names must match [a-zA-Z_][a-zA-Z0-9_]*"))
            elif actual != pl.String():
                found.append(Problem(column=name, file=file,
                                     reason=f"label columns must be String, got {actual}"))
            continue
        if actual != expected:
            found.append(Problem(column=name, file=file, reason=f"dtype {actual}, expected {expected}"))
            continue
        if name not in schema.nullable and frame[name].null_count():
            found += _row_problems(frame[name].is_null(), column=name, reason="null value", file=file)
    for key in schema.unique:
        if key in frame.columns:
            dup = frame[key].is_duplicated() & frame[key].is_not_null()
            found += _row_problems(dup, column=key, reason="duplicate key", file=file)
    return found


def validate(frame: pl.DataFrame, schema: Schema, *, file: str | None = None) -> pl.DataFrame:
    """Return ``frame`` unchanged if it meets ``schema``; else raise ``InputError`` listing every problem."""
    found = problems(frame, schema, file=file)
    if found:
        raise InputError(f"{file or 'frame'} is not a valid {schema.name} frame", found, file=file)
    return frame


def label_columns(frame: pl.DataFrame) -> list[str]:
    """The label columns of a Metrics frame, sorted by name."""
    return sorted(c for c in frame.columns if c not in METRICS.columns)


def _escape(expr: pl.Expr) -> pl.Expr:
    return (expr.str.replace_all("\\", "\\\\", literal=True)
            .str.replace_all('"', '\\"', literal=True)
            .str.replace_all("\n", "\\n", literal=True))


def series_expr(labels: list[str], metric: str | pl.Expr = "metric") -> pl.Expr:
    """A polars expression printing each row's series identity Prometheus-style.

    ``cpu{instance="a",service="checkout"}``: labels sorted by name, empty labels left out (an empty
    label is the same as a missing one in Prometheus).
    """
    name = pl.col(metric) if isinstance(metric, str) else metric
    if not labels:
        return name.alias("series")
    parts = [
        pl.when(pl.col(label).fill_null("") != "")
        .then(pl.lit(f'{label}="') + _escape(pl.col(label)) + pl.lit('"'))
        .otherwise(None)
        for label in sorted(labels)
    ]
    inner = pl.concat_str(parts, separator=",", ignore_nulls=True)
    return (name + pl.when(inner != "").then(pl.lit("{") + inner + pl.lit("}")).otherwise(pl.lit(""))
            ).alias("series")


def series_name(metric: str, labels: Mapping[str, str]) -> str:
    """Prometheus-style identity of one series: ``series_name("cpu", {"b": "2", "a": "1"})``
    gives ``'cpu{a="1",b="2"}'``."""
    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    inner = ",".join(f'{k}="{esc(v)}"' for k, v in sorted(labels.items()) if v)
    return f"{metric}{{{inner}}}" if inner else metric


def conform(frame: pl.DataFrame, schema: Schema, *, file: str | None = None) -> pl.DataFrame:
    """Validate ``frame`` against ``schema`` after giving all-null columns (dtype ``Null``, as a
    hand-written ``[None, None]`` column gets) their declared dtype. Returns the conformed frame."""
    nulls = {name: dtype for name, dtype in schema.columns.items()
             if name in frame.columns and frame.schema[name] == pl.Null()}
    if nulls:
        frame = frame.cast(nulls)  # type: ignore[arg-type]
    return validate(frame, schema, file=file)


def check_zone(tz: str, *, field: str = "tz") -> str:
    """``tz`` if it is an IANA time zone, else ``ConfigError`` naming ``field``."""
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigError(f"{tz!r} is not an IANA time zone such as 'Europe/Berlin'", field=field) from None
    return tz


_LABEL = re.compile(r"[^a-zA-Z0-9_]")


def label_name(key: str) -> str:
    """A vendor tag or dimension name as an alertsim label name (``availability-zone`` →
    ``availability_zone``; a leading digit gets an underscore)."""
    name = _LABEL.sub("_", key.strip())
    if not name or name[0].isdigit():
        name = f"_{name}"
    return name
