"""Detection quality of alert rules against incidents: precision, recall, time to detect, noise.

Alerts are matched to incidents by :func:`alertsim.quality.matching.match_alerts` (an alert
*detects* an incident when it fires inside ``[started_at − early, resolved_at + late]`` and its
``match_on`` labels agree). Then, per rule:

``alerts``
    Alert episodes of the rule (rows of the Alerts frame).
``true_alerts`` / ``false_alerts``
    Alerts that matched at least one incident / matched none.
``precision``
    ``true_alerts / alerts``; null when the rule never fired.
``incidents``
    Incidents in the frame scored against (the recall denominator, the same for every rule:
    filter the incidents to what a rule is meant to catch before scoring it).
``incidents_detected``
    Distinct incidents matched by at least one of the rule's alerts.
``recall``
    ``incidents_detected / incidents``; null when there are no incidents.
``f1``
    ``2·P·R / (P + R)``; 0 when both are 0 (the limit), null when either is null.
``time_to_detect_median``, ``time_to_detect_p90``
    Over detected incidents, ``first matching fired_at − started_at`` (linear-interpolated
    quantiles); null when nothing was detected. Negative inside the ``early`` allowance.
``reset_time_median``
    Over detected incidents with a resolution, how long the rule kept firing after the incident
    was resolved: ``last resolved_at of the matching alerts − incident resolved_at``; negative
    when the rule stopped before the incident was over; an incident whose matching alert never
    resolved is left out; null when no incident qualifies (the workbook's "reset time").
``false_alerts_per_week``
    ``false_alerts`` per 7 days of the scoring period; null for an empty period.
``alerts_per_incident``
    Matched (alert, incident) pairs per detected incident (1 is ideal; more means repeats or
    flapping); null when nothing was detected.
``flapping``
    Alerts that fired again within ``flap_window`` of the previous episode of the same rule and
    series resolving.
``budget_at_detection_median``
    For SLO rules (Alerts with ``budget_at_detection``): median error-budget fraction consumed
    when the first matching alert fired, over detected incidents; null otherwise.

>>> import polars as pl, datetime as dt
>>> at = lambda h: dt.datetime(2026, 1, 5, h, tzinfo=dt.UTC)
>>> alerts = pl.DataFrame({"alert_id": [1, 2], "rule": ["HighErrors"] * 2, "series": ["s"] * 2,
...     "labels": ['{"service": "api"}'] * 2, "severity": ["page"] * 2,
...     "active_at": [at(1), at(8)], "fired_at": [at(1), at(8)], "resolved_at": [at(3), at(9)]})
>>> incidents = pl.DataFrame({"incident_id": ["INC-1"], "service": ["api"], "started_at": [at(0)],
...     "resolved_at": [at(2)], "severity": ["SEV2"]})
>>> row = score(alerts, incidents).row(0, named=True)
>>> row["precision"], row["recall"], row["time_to_detect_median"], row["reset_time_median"]
(0.5, 1.0, datetime.timedelta(seconds=3600), datetime.timedelta(seconds=3600))
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

import polars as pl

from alertsim.durations import Duration, parse_duration
from alertsim.errors import ConfigError
from alertsim.frames import ALERTS, DURATION, INCIDENTS, conform
from alertsim.quality.matching import MatchOn, duration_quantile, match_alerts

log = logging.getLogger(__name__)

WEEK = timedelta(days=7)

QUALITY_SCHEMA: dict[str, pl.DataType] = {
    "rule": pl.String(),
    "alerts": pl.Int64(), "true_alerts": pl.Int64(), "false_alerts": pl.Int64(), "precision": pl.Float64(),
    "incidents": pl.Int64(), "incidents_detected": pl.Int64(), "recall": pl.Float64(), "f1": pl.Float64(),
    "time_to_detect_median": DURATION, "time_to_detect_p90": DURATION, "reset_time_median": DURATION,
    "false_alerts_per_week": pl.Float64(), "alerts_per_incident": pl.Float64(), "flapping": pl.Int64(),
    "budget_at_detection_median": pl.Float64(),
}
"""Columns of :func:`score`'s table, in order."""


def scoring_period(alerts: pl.DataFrame, incidents: pl.DataFrame,
                   period: tuple[datetime, datetime] | None = None) -> tuple[datetime, datetime] | None:
    """The period rates are measured over: ``period`` if given, else from the earliest
    ``active_at``/``started_at`` to the latest instant in either frame; None when both are empty."""
    if period is not None:
        start, end = period
        if end < start:
            raise ConfigError(f"period ends ({end}) before it starts ({start})", field="period")
        return start, end
    instants = []
    for frame, columns in ((alerts, ("active_at", "fired_at", "resolved_at")),
                           (incidents, ("started_at", "resolved_at"))):
        for column in columns:
            if column in frame.columns and frame[column].null_count() < frame.height:
                instants += [frame[column].min(), frame[column].max()]
    if not instants:
        return None
    return min(instants), max(instants)  # type: ignore[type-var, return-value]


def incidents_outside(incidents: pl.DataFrame, period: tuple[datetime, datetime] | None) -> pl.DataFrame:
    """The incidents that do not overlap ``period`` (an incident still open counts as open until the end):
    no replay of ``period`` could have caught them, so :func:`score` leaves them out of recall and
    the CLI lists them.

    >>> from datetime import UTC, datetime as d
    >>> inc = pl.DataFrame({"incident_id": ["a", "b"], "started_at": [d(2026, 1, 2, tzinfo=UTC), d(2026, 3, 1,
    ...     tzinfo=UTC)], "resolved_at": [d(2026, 1, 2, 1, tzinfo=UTC), None]})
    >>> incidents_outside(inc, (d(2026, 1, 1, tzinfo=UTC), d(2026, 1, 8, tzinfo=UTC)))["incident_id"].to_list()
    ['b']
    """
    if period is None or incidents.height == 0:
        return incidents.clear()
    start, end = (pl.lit(p, dtype=pl.Datetime("us", "UTC")) for p in period)
    resolved = pl.col("resolved_at") if "resolved_at" in incidents.columns else pl.col("started_at")
    return incidents.filter((pl.col("started_at") > end) | (resolved.fill_null(pl.col("started_at")) < start)
                            & resolved.is_not_null())


def flapping_alerts(alerts: pl.DataFrame, *, window: Duration = "1h") -> pl.DataFrame:
    """The alerts that re-fired within ``window`` of the previous episode of the same rule and
    series resolving (``fired_at − previous resolved_at <= window``).

    >>> import polars as pl, datetime as dt
    >>> at = lambda m: dt.datetime(2026, 1, 1, 0, m, tzinfo=dt.UTC)
    >>> alerts = pl.DataFrame({"alert_id": [1, 2, 3], "rule": ["r"] * 3, "series": ["s"] * 3,
    ...     "fired_at": [at(0), at(10), at(59)], "resolved_at": [at(5), at(20), None]})
    >>> flapping_alerts(alerts, window="30m")["alert_id"].to_list()
    [2]
    """
    gap = parse_duration(window, field="flap_window")
    return (alerts.sort("rule", "series", "fired_at", "alert_id")
            .with_columns(previous_resolved_at=pl.col("resolved_at").shift(1).over("rule", "series"))
            .filter((pl.col("fired_at") - pl.col("previous_resolved_at")) <= pl.lit(gap)))


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    return pl.when(denominator > 0).then(numerator / denominator).otherwise(None)


def score(alerts: pl.DataFrame, incidents: pl.DataFrame, *, early: Duration = "0m", late: Duration = "0m",
          match_on: MatchOn = ("service",), flap_window: Duration = "1h",
          period: tuple[datetime, datetime] | None = None, rules: Sequence[str] = ()) -> pl.DataFrame:
    """Score every rule's alerts against incidents: one row per rule (definitions in the module doc).

    Parameters
    ----------
    alerts
        Alerts frame (``alertsim.frames.ALERTS``), e.g. ``replay(...).alerts``.
    incidents
        Incidents frame (``alertsim.frames.INCIDENTS``): the truth.
    early, late
        Matching allowance before ``started_at`` and after ``resolved_at``; default "0m".
    match_on
        Labels that must agree with incident columns; default ``("service",)``; ``[]`` = time only.
    flap_window
        A re-fire within this long after the previous episode resolved is a flap; default "1h".
    period
        ``(start, end)`` over which per-week rates are measured; default None = the span of the
        data (earliest to latest instant of alerts and incidents).
    rules
        Rule names to include even if they never fired (they get ``alerts = 0``); default none.

    Returns
    -------
    polars.DataFrame
        Columns :data:`QUALITY_SCHEMA`, sorted by rule name.

    Raises
    ------
    InputError, ConfigError
        Invalid frames, durations or ``match_on``.
    """
    alerts = conform(alerts, ALERTS, file="alerts")
    incidents = _in_period(conform(incidents, INCIDENTS, file="incidents"), period)
    matches = match_alerts(alerts, incidents, early=early, late=late, match_on=match_on)
    span = scoring_period(alerts, incidents, period)
    weeks = (span[1] - span[0]) / WEEK if span is not None else 0.0
    names = pl.DataFrame({"rule": sorted(set(alerts["rule"].to_list()) | set(rules))},
                         schema={"rule": pl.String})
    per_alert = (alerts.select("alert_id", "rule")
                 .join(matches.group_by("alert_id").agg(matched=pl.len()), on="alert_id", how="left")
                 .group_by("rule")
                 .agg(alerts=pl.len(), true_alerts=pl.col("matched").is_not_null().sum(),
                      pairs=pl.col("matched").sum()))
    flaps = flapping_alerts(alerts, window=flap_window).group_by("rule").agg(flapping=pl.len())
    table = (names.join(per_alert, on="rule", how="left")
             .join(_per_rule_incidents(alerts, matches), on="rule", how="left")
             .join(flaps, on="rule", how="left"))
    return _rates(table, incidents.height, weeks).select(list(QUALITY_SCHEMA)).cast(
        QUALITY_SCHEMA).sort("rule")  # type: ignore[arg-type]


def _in_period(incidents: pl.DataFrame, period: tuple[datetime, datetime] | None) -> pl.DataFrame:
    """The incidents inside the scored period: those outside could not have been caught, so they are not
    misses (a warning names them)."""
    if period is None:
        return incidents
    outside = incidents_outside(incidents, period)
    if outside.height:
        log.warning("%d incident(s) outside the scored period are left out of recall: %s", outside.height,
                    ", ".join(map(str, outside["incident_id"].head(10).to_list())))
        incidents = incidents.join(outside.select("incident_id"), on="incident_id", how="anti")
    return incidents


def _per_rule_incidents(alerts: pl.DataFrame, matches: pl.DataFrame) -> pl.DataFrame:
    """Per rule: incidents detected, time to detect (median, p90), reset time and error budget left at
    detection (medians), each incident counted at its rule's first matching alert."""
    has_budget = "budget_at_detection" in alerts.columns
    budget = alerts.select("alert_id", pl.col("budget_at_detection") if has_budget
                           else pl.lit(None, dtype=pl.Float64).alias("budget_at_detection"))
    per_incident = (matches.join(budget, on="alert_id", how="left")
                    .sort("fired_at", "alert_id")
                    .group_by("rule", "incident_id")
                    .agg(time_to_detect=pl.col("time_to_detect").first(),
                         budget=pl.col("budget_at_detection").first(),
                         reset=pl.when(pl.col("alert_resolved_at").null_count() == 0)
                         .then(pl.col("alert_resolved_at").max() - pl.col("resolved_at").first())))
    return per_incident.group_by("rule").agg(
        incidents_detected=pl.len(),
        time_to_detect_median=duration_quantile(pl.col("time_to_detect"), 0.5),
        time_to_detect_p90=duration_quantile(pl.col("time_to_detect"), 0.9),
        reset_time_median=duration_quantile(pl.col("reset"), 0.5),
        budget_at_detection_median=pl.col("budget").median(),
    )


def _rates(table: pl.DataFrame, incident_count: int, weeks: float) -> pl.DataFrame:
    """The counts per rule with their rates: false alerts, precision, recall, alerts per incident, F1 and
    false alerts per week."""
    precision, recall = pl.col("precision"), pl.col("recall")
    return (
        table
        .with_columns(pl.col("alerts", "true_alerts", "pairs", "incidents_detected", "flapping")
                      .fill_null(0).cast(pl.Int64))
        .with_columns(
            false_alerts=pl.col("alerts") - pl.col("true_alerts"),
            incidents=pl.lit(incident_count, dtype=pl.Int64),
            precision=_ratio(pl.col("true_alerts"), pl.col("alerts")),
            recall=_ratio(pl.col("incidents_detected"), pl.lit(incident_count)),
            alerts_per_incident=_ratio(pl.col("pairs"), pl.col("incidents_detected")),
        )
        .with_columns(
            f1=pl.when(precision.is_null() | recall.is_null()).then(None)
            .when(precision + recall == 0).then(0.0)
            .otherwise(2 * precision * recall / (precision + recall)),
            false_alerts_per_week=(pl.col("false_alerts") / weeks) if weeks > 0 else pl.lit(None, pl.Float64),
        )
    )


def missed_incidents(alerts: pl.DataFrame, incidents: pl.DataFrame, *, early: Duration = "0m",
                     late: Duration = "0m", match_on: MatchOn = ("service",)) -> pl.DataFrame:
    """The incidents no alert of any rule detected (same matching as :func:`score`), in start order.

    >>> import polars as pl, datetime as dt
    >>> at = lambda h: dt.datetime(2026, 1, 5, h, tzinfo=dt.UTC)
    >>> alerts = pl.DataFrame({"alert_id": [1], "rule": ["r"], "series": ["s"],
    ...     "labels": ['{"service": "api"}'], "severity": [None], "active_at": [at(1)],
    ...     "fired_at": [at(1)], "resolved_at": [at(2)]})
    >>> incidents = pl.DataFrame({"incident_id": ["A", "B"], "service": ["api", "db"],
    ...     "started_at": [at(0), at(0)], "resolved_at": [at(3), at(3)], "severity": [None, None]})
    >>> missed_incidents(alerts, incidents)["incident_id"].to_list()
    ['B']
    """
    matches = match_alerts(alerts, incidents, early=early, late=late, match_on=match_on)
    return (incidents.join(matches.select("incident_id").unique(), on="incident_id", how="anti")
            .sort("started_at", "incident_id"))
