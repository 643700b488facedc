"""Match alerts (or pages) to the incidents they are about.

**Definition.** An alert *matches* an incident when

1. it fires inside the incident's detection window:
   ``started_at − early <= fired_at <= resolved_at + late`` (an incident that is not resolved has
   an open-ended window), and
2. its labels agree with the incident on every ``match_on`` key: the alert's label ``k`` equals
   the incident's column ``k`` (or, with a mapping ``{label: column}``, the named column). An
   alert without the label matches nothing.

An alert that was already firing before ``started_at − early`` is *not* a detection of the
incident, however long it keeps firing: detection means the rule reacted to it. Use ``early`` to
forgive incident records that were opened some minutes after the problem began.

One alert may match several incidents and one incident many alerts; every pair is a row.

>>> import polars as pl, datetime as dt
>>> at = lambda m: dt.datetime(2026, 1, 1, 0, m, tzinfo=dt.UTC)
>>> alerts = pl.DataFrame({"alert_id": [1, 2], "rule": ["HighErrors"] * 2, "series": ["s"] * 2,
...     "labels": ['{"service": "api"}', '{"service": "db"}'], "severity": ["page"] * 2,
...     "active_at": [at(1), at(2)], "fired_at": [at(3), at(4)], "resolved_at": [at(20), None]})
>>> incidents = pl.DataFrame({"incident_id": ["INC-1"], "service": ["api"], "started_at": [at(0)],
...     "resolved_at": [at(30)], "severity": ["SEV2"]})
>>> match_alerts(alerts, incidents).select("alert_id", "incident_id", "time_to_detect").rows()
[(1, 'INC-1', datetime.timedelta(seconds=180))]
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import polars as pl

from alertsim.durations import Duration, parse_duration
from alertsim.errors import ConfigError, InputError, Problem
from alertsim.frames import ALERTS, DURATION, INCIDENTS, INSTANT, conform

MatchOn = Sequence[str] | Mapping[str, str]
"""Label names that must agree (alert label = incident column of the same name), or a mapping
``{alert_label: incident_column}``."""

FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)

MATCHES_SCHEMA: dict[str, pl.DataType] = {
    "alert_id": pl.Int64(), "incident_id": pl.String(), "rule": pl.String(), "series": pl.String(),
    "fired_at": INSTANT, "alert_resolved_at": INSTANT, "started_at": INSTANT, "resolved_at": INSTANT,
    "time_to_detect": DURATION,
}


def duration_quantile(expr: pl.Expr, quantile: float | None = None) -> pl.Expr:
    """Mean (``quantile=None``) or linear-interpolated quantile of a Duration expression, rounded to
    the nearest microsecond (polars would truncate the float result)."""
    micro = expr.dt.total_microseconds()
    value = micro.mean() if quantile is None else micro.quantile(quantile, interpolation="linear")
    return value.round(0).cast(pl.Int64).cast(DURATION)


def match_pairs(match_on: MatchOn) -> dict[str, str]:
    """``match_on`` as ``{alert_label: incident_column}``; rejects non-string keys."""
    if isinstance(match_on, str):
        raise ConfigError(f"match_on must be a list of label names, got the string {match_on!r}; "
                          f"use [{match_on!r}]", field="match_on")
    pairs = dict(match_on) if isinstance(match_on, Mapping) else {name: name for name in match_on}
    for label, column in pairs.items():
        if not isinstance(label, str) or not isinstance(column, str) or not label or not column:
            raise ConfigError(f"match_on entries must be non-empty strings, got {label!r}: {column!r}",
                              field="match_on")
    return pairs


def label_values(frame: pl.DataFrame, names: Sequence[str], *, column: str = "labels",
                 file: str | None = None) -> pl.DataFrame:
    """``frame`` with one String column per label in ``names``, read from the JSON ``labels`` column.

    A missing label is null. Raises ``InputError`` listing the rows whose ``labels`` is not a JSON
    object of strings.
    """
    if not names:
        return frame
    distinct = frame.select(pl.col(column).unique()).to_series().to_list()
    parsed: dict[str | None, dict[str, str | None]] = {}
    bad: set[str] = set()
    for text in distinct:
        if text is None:
            parsed[text] = {}
            continue
        try:
            body = json.loads(text)
        except ValueError:
            bad.add(text)
            continue
        if not isinstance(body, dict):
            bad.add(text)
            continue
        parsed[text] = {n: (None if body.get(n) is None else str(body.get(n))) for n in names}
    if bad:
        rows = frame.with_row_index("row").filter(pl.col(column).is_in(list(bad)))["row"].head(20).to_list()
        raise InputError(f"{file or 'alerts'}: labels must be a JSON object such as "
                         '{"alertname": "X", "service": "api"}',
                         [Problem(file=file, row=r + 1, column=column, reason="not a JSON object")
                          for r in rows], file=file)
    keys = [t for t in distinct if t is not None]
    lookup = pl.DataFrame({column: keys, **{f"__label_{n}": [parsed[t][n] for t in keys] for n in names}},
                          schema={column: pl.String, **{f"__label_{n}": pl.String for n in names}})
    return frame.join(lookup, on=column, how="left", nulls_equal=False)


def _window(early: Duration, late: Duration) -> tuple[pl.Expr, pl.Expr]:
    before = parse_duration(early, field="early")
    after = parse_duration(late, field="late")
    return (pl.col("started_at") - pl.lit(before),
            pl.col("resolved_at").fill_null(FAR_FUTURE) + pl.lit(after))


def match_events(events: pl.DataFrame, incidents: pl.DataFrame, *, at: str,
                 keys: Mapping[str, str], early: Duration = "0m", late: Duration = "0m") -> pl.DataFrame:
    """Pairs (event, incident) where the event's instant ``at`` lies in the incident's window and
    the event columns ``keys`` equal the incident columns they map to. Used for alerts and pages.

    ``events`` must already carry the key columns; returns the event columns plus
    ``incident_id``, ``started_at``, ``resolved_at``.
    """
    lower, upper = _window(early, late)
    names = [f"__key{i}" for i in range(len(keys))]
    right = incidents.select("incident_id", "started_at", "resolved_at", __lower=lower, __upper=upper,
                             **{n: pl.col(c).cast(pl.String) for n, c in zip(names, keys.values(), strict=True)})
    left = events.with_columns(**{n: pl.col(c).cast(pl.String) for n, c in zip(names, keys, strict=True)})
    inside = [pl.col(at) >= pl.col("__lower"), pl.col(at) <= pl.col("__upper")]
    parts = [left.head(0).join(right.head(0).drop(names), how="cross")]
    if not left.is_empty() and not right.is_empty():
        # An equality predicate would make join_where pair every event with every incident of its key;
        # one inequality join (IEJoin) per key value is far cheaper. The loop is over key values.
        groups = right.partition_by(names, as_dict=True, include_key=False) if names else {(): right}
        for key, events_part in (left.partition_by(names, as_dict=True) if names else {(): left}).items():
            incidents_part = groups.get(key)
            if incidents_part is None or any(k is None for k in key):
                continue
            parts.append(events_part.join_where(incidents_part, *inside))
    return pl.concat(parts, how="vertical_relaxed").drop("__lower", "__upper", *names)


def match_alerts(alerts: pl.DataFrame, incidents: pl.DataFrame, *, early: Duration = "0m",
                 late: Duration = "0m", match_on: MatchOn = ("service",)) -> pl.DataFrame:
    """Every (alert, incident) pair where the alert detects the incident (see the module docstring).

    Parameters
    ----------
    alerts
        An Alerts frame (``alertsim.frames.ALERTS``).
    incidents
        An Incidents frame (``alertsim.frames.INCIDENTS``).
    early, late
        How long before ``started_at`` / after ``resolved_at`` a firing still counts; default "0m".
    match_on
        Label names (or ``{label: incident_column}``) that must agree; default ``("service",)``.
        ``[]`` matches on time alone.

    Returns
    -------
    polars.DataFrame
        ``alert_id``, ``incident_id``, ``rule``, ``series``, ``fired_at``, ``alert_resolved_at``,
        ``started_at``, ``resolved_at`` (the incident's), ``time_to_detect = fired_at − started_at``
        (negative when the alert fired inside the ``early`` allowance).

    Raises
    ------
    ConfigError
        ``match_on`` names an incident column that does not exist, or a label no alert carries.
    InputError
        A frame breaks its schema or an alert's labels are not a JSON object.
    """
    alerts = conform(alerts, ALERTS, file="alerts")
    incidents = conform(incidents, INCIDENTS, file="incidents")
    pairs = match_pairs(match_on)
    missing = [c for c in pairs.values() if c not in incidents.columns]
    if missing:
        raise ConfigError(f"incidents have no column {missing[0]!r} to match on; they have "
                          f"{incidents.columns}", field="match_on")
    events = label_values(alerts, list(pairs), file="alerts")
    for label in pairs:
        if alerts.height and events[f"__label_{label}"].null_count() == alerts.height:
            raise ConfigError(f"no alert carries the label {label!r}, so none could match an incident; "
                              "choose labels the alerts have, or match_on=[] to match on time alone",
                              field="match_on")
    keyed = {f"__label_{label}": column for label, column in pairs.items()}
    events = events.select("alert_id", "rule", "series", "fired_at",
                           pl.col("resolved_at").alias("alert_resolved_at"), *keyed)
    joined = match_events(events, incidents.with_columns(pl.col(list(dict.fromkeys(pairs.values())))
                                                         .cast(pl.String)),
                          at="fired_at", keys=keyed, early=early, late=late)
    return (joined.with_columns(time_to_detect=pl.col("fired_at") - pl.col("started_at"))
            .select(list(MATCHES_SCHEMA))
            .cast(MATCHES_SCHEMA)  # type: ignore[arg-type]
            .sort("alert_id", "incident_id"))
