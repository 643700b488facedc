"""Response times: MTTA and MTTR with percentiles, by any grouping, and their weekly trend.

Definitions (``oncall-and-response-metrics.md`` §2.1, §2.3, §2.6):

time to acknowledge (TTA), PagerDuty style
    ``acknowledged_at − started_at`` over incidents that were acknowledged; unacknowledged
    incidents are excluded ("Excludes incidents that were not acknowledged").
time to acknowledge, Opsgenie style
    Over *closed* incidents only (``resolved_at`` known), ``(acknowledged_at, or resolved_at when
    closed without an ack) − started_at`` ("the close time counts as its ack time").
time to resolve (TTR)
    ``resolved_at − started_at`` over resolved incidents (PagerDuty and Opsgenie agree).
``mtta`` / ``mttr``
    The mean; ``*_median``, ``*_p90``, ``*_p95`` are linear-interpolated quantiles. All are null
    for a group with nothing to measure, never 0.
``unacknowledged_share`` / ``unresolved_share``
    Share of the group's incidents with no ack / no resolution (always reported next to MTTA, as
    PagerDuty's definition hides them).

Groupings (``by``): any incident column (``service``, ``urgency``, ``responder``, ``severity``,
``team``...), plus ``hour`` (hour of day of ``started_at`` in ``tz``) and ``weekday`` (1 = Monday).

>>> import polars as pl, datetime as dt
>>> at = lambda m: dt.datetime(2026, 1, 5, 9, m, tzinfo=dt.UTC)
>>> incidents = pl.DataFrame({"incident_id": ["a", "b", "c"], "service": ["api"] * 3,
...     "started_at": [at(0)] * 3, "acknowledged_at": [at(2), at(4), None],
...     "resolved_at": [at(10), at(20), at(30)], "severity": ["SEV2"] * 3})
>>> mtta(incidents)["mtta"].to_list()
[datetime.timedelta(seconds=180)]
>>> mtta(incidents, style="opsgenie")["mtta"].to_list()
[datetime.timedelta(seconds=720)]
>>> mttr(incidents)["ttr_median"].to_list()
[datetime.timedelta(seconds=1200)]
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import numpy as np
import polars as pl

from alertsim.errors import ConfigError, InputError, Problem
from alertsim.frames import DURATION, INCIDENTS, INSTANT, PAGES, check_zone, conform
from alertsim.quality.matching import duration_quantile

log = logging.getLogger(__name__)

Style = Literal["pagerduty", "opsgenie"]
STYLES = ("pagerduty", "opsgenie")
DERIVED_GROUPS = ("hour", "weekday")


def _groups(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def _check_order(incidents: pl.DataFrame, column: str) -> None:
    if column not in incidents.columns:
        return
    bad = incidents[column].is_not_null() & (incidents[column] < incidents["started_at"])
    if bad.any():
        raise InputError(f"incidents: {column} is before started_at",
                         [Problem(row=r + 1, column=column, reason=f"{column} before started_at")
                          for r in bad.arg_true().head(20).to_list()], file="incidents")


def _prepare(incidents: pl.DataFrame, by: str | Sequence[str] | None,
             tz: str) -> tuple[pl.DataFrame, list[str]]:
    incidents = conform(incidents, INCIDENTS, file="incidents")
    if "acknowledged_at" not in incidents.columns:
        incidents = incidents.with_columns(acknowledged_at=pl.lit(None, dtype=INSTANT))
    _check_order(incidents, "acknowledged_at")
    _check_order(incidents, "resolved_at")
    groups = _groups(by)
    unknown = [g for g in groups if g not in incidents.columns and g not in DERIVED_GROUPS]
    if unknown:
        raise ConfigError(f"cannot group by {unknown[0]!r}: incidents have columns {incidents.columns}, "
                          f"and {list(DERIVED_GROUPS)} are derived", field="by")
    local = pl.col("started_at").dt.convert_time_zone(check_zone(tz))
    derived = {"hour": local.dt.hour().cast(pl.Int32), "weekday": local.dt.weekday().cast(pl.Int32)}
    extra = {g: derived[g] for g in groups if g in DERIVED_GROUPS and g not in incidents.columns}
    return incidents.with_columns(**extra), groups


def time_to_acknowledge(incidents: pl.DataFrame, *, style: Style = "pagerduty") -> pl.Expr:
    """The TTA expression for ``style`` (null where the incident is not measured)."""
    if style not in STYLES:
        raise ConfigError(f"style {style!r} is not one of {list(STYLES)}", field="style")
    if style == "pagerduty":
        return pl.col("acknowledged_at") - pl.col("started_at")
    return (pl.when(pl.col("resolved_at").is_not_null())
            .then(pl.coalesce("acknowledged_at", "resolved_at") - pl.col("started_at")))


def _summary(frame: pl.DataFrame, groups: list[str], value: pl.Expr, prefix: str, mean_name: str,
             missing_share: tuple[str, pl.Expr]) -> pl.DataFrame:
    share_name, missing = missing_share
    aggregations = [
        pl.len().alias("incidents"),
        pl.col("__value").count().alias("measured"),
        missing.mean().alias(share_name),
        duration_quantile(pl.col("__value")).alias(mean_name),
        duration_quantile(pl.col("__value"), 0.5).alias(f"{prefix}_median"),
        duration_quantile(pl.col("__value"), 0.9).alias(f"{prefix}_p90"),
        duration_quantile(pl.col("__value"), 0.95).alias(f"{prefix}_p95"),
    ]
    data = frame.with_columns(__value=value)
    if groups:
        table = data.group_by(groups).agg(aggregations).sort(groups, nulls_last=True)
    else:
        table = data.select(aggregations)
    schema = {"incidents": pl.Int64(), "measured": pl.Int64(), share_name: pl.Float64(),
              mean_name: DURATION, f"{prefix}_median": DURATION, f"{prefix}_p90": DURATION,
              f"{prefix}_p95": DURATION}
    return table.cast(schema)  # type: ignore[arg-type]


def mtta(incidents: pl.DataFrame, *, style: Style = "pagerduty", by: str | Sequence[str] | None = None,
         tz: str = "UTC") -> pl.DataFrame:
    """Mean (and median, p90, p95) time to acknowledge, overall or per group.

    Parameters
    ----------
    incidents
        Incidents frame with ``acknowledged_at`` (a frame without it has every incident unacked).
    style
        ``"pagerduty"`` (default: exclude unacknowledged) or ``"opsgenie"`` (closed incidents; a
        close without ack counts as the ack).
    by
        Column(s) to group by, or the derived ``"hour"``/``"weekday"``; default None (one row).
    tz
        IANA zone for ``hour``/``weekday``; default "UTC".

    Returns
    -------
    polars.DataFrame
        ``by`` columns, ``incidents``, ``measured``, ``unacknowledged_share``, ``mtta``,
        ``tta_median``, ``tta_p90``, ``tta_p95``.
    """
    frame, groups = _prepare(incidents, by, tz)
    return _summary(frame, groups, time_to_acknowledge(frame, style=style), "tta", "mtta",
                    ("unacknowledged_share", pl.col("acknowledged_at").is_null()))


def mttr(incidents: pl.DataFrame, *, by: str | Sequence[str] | None = None, tz: str = "UTC") -> pl.DataFrame:
    """Mean (and median, p90, p95) time to resolve, over resolved incidents, overall or per group.

    Returns ``by`` columns, ``incidents``, ``measured``, ``unresolved_share``, ``mttr``,
    ``ttr_median``, ``ttr_p90``, ``ttr_p95`` (see :func:`mtta` for the parameters).
    """
    frame, groups = _prepare(incidents, by, tz)
    return _summary(frame, groups, pl.col("resolved_at") - pl.col("started_at"), "ttr", "mttr",
                    ("unresolved_share", pl.col("resolved_at").is_null()))


def response_times(incidents: pl.DataFrame, *, style: Style = "pagerduty",
                   by: str | Sequence[str] | None = None, tz: str = "UTC") -> pl.DataFrame:
    """MTTA and MTTR side by side (the :func:`mtta` and :func:`mttr` columns, joined on ``by``)."""
    groups = _groups(by)
    acknowledge = mtta(incidents, style=style, by=by, tz=tz)
    resolve = mttr(incidents, by=by, tz=tz).drop("incidents", "measured")
    if not groups:
        return pl.concat([acknowledge.rename({"measured": "acknowledged"}), resolve], how="horizontal")
    return (acknowledge.rename({"measured": "acknowledged"})
            .join(resolve, on=groups, how="left", nulls_equal=True))


def _durations(incidents: pl.DataFrame, metric: Literal["tta", "ttr"], style: Style) -> pl.DataFrame:
    frame, _ = _prepare(incidents, None, "UTC")
    if metric == "tta":
        value = time_to_acknowledge(frame, style=style)
    elif metric == "ttr":
        value = pl.col("resolved_at") - pl.col("started_at")
    else:
        raise ConfigError(f"metric {metric!r} is not 'tta' or 'ttr'", field="metric")
    return (frame.select("started_at", seconds=value.dt.total_microseconds() / 1e6)
            .drop_nulls("seconds").sort("started_at"))


def weekly_trend(incidents: pl.DataFrame, *, metric: Literal["tta", "ttr"] = "tta",
                 style: Style = "pagerduty", statistic: Literal["median", "mean"] = "median",
                 confidence: float = 0.95, resamples: int = 2000,
                 seed: int | np.random.Generator = 0) -> pl.DataFrame:
    """The weekly median (or mean) TTA/TTR with percentile-bootstrap confidence intervals.

    Weeks start Monday 00:00 UTC (by ``started_at``); every week from the first to the last is a
    row, and a week with nothing measured has ``measured = 0`` and null value and bounds. A week
    with a single measurement has its value as both bounds.

    Parameters
    ----------
    metric
        ``"tta"`` (default) or ``"ttr"``.
    style
        TTA style, as in :func:`mtta`.
    statistic
        ``"median"`` (default) or ``"mean"``.
    confidence
        Two-sided level of the interval; default 0.95.
    resamples
        Bootstrap resamples per week; default 2000.
    seed
        Seed or ``numpy.random.Generator``; default 0 (reproducible).

    Returns
    -------
    polars.DataFrame
        ``week``, ``measured``, ``value``, ``ci_low``, ``ci_high`` (durations).
    """
    if statistic not in ("median", "mean"):
        raise ConfigError(f"statistic {statistic!r} is not 'median' or 'mean'", field="statistic")
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be in (0, 1), got {confidence}", field="confidence")
    if resamples < 1:
        raise ConfigError(f"resamples must be positive, got {resamples}", field="resamples")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    data = _durations(incidents, metric, style).with_columns(week=pl.col("started_at").dt.truncate("1w"))
    schema: dict[str, pl.DataType] = {"week": INSTANT, "measured": pl.Int64(), "value": DURATION,
                                      "ci_low": DURATION, "ci_high": DURATION}
    if data.is_empty():
        return pl.DataFrame(schema=schema)
    first, last = data["week"].min(), data["week"].max()
    weeks = pl.datetime_range(first, last, "1w", eager=True, time_zone="UTC")  # type: ignore[arg-type]
    reduce = np.median if statistic == "median" else np.mean
    tail = (1 - confidence) / 2
    rows: list[tuple[Any, ...]] = []
    grouped = {key[0]: frame["seconds"].to_numpy() for key, frame in data.group_by("week")}
    for week in weeks.to_list():  # type: ignore[union-attr]  # one iteration per week: events, not samples
        values = grouped.get(week)
        if values is None or values.size == 0:
            rows.append((week, 0, None, None, None))
            continue
        draws = rng.integers(0, values.size, size=(resamples, values.size))
        boot = reduce(values[draws], axis=1)
        low, high = np.quantile(boot, [tail, 1 - tail])
        rows.append((week, int(values.size), timedelta(seconds=float(reduce(values))),
                     timedelta(seconds=float(low)), timedelta(seconds=float(high))))
    return pl.DataFrame(rows, schema=schema, orient="row")


@dataclass(frozen=True, kw_only=True)
class Trend:
    """A linear trend in TTA/TTR over time and its significance."""

    metric: str
    statistic: str
    slope_per_week: timedelta | None
    """Change of the statistic per week (negative = getting faster); None with too little data."""
    p_value: float | None
    """Two-sided p-value of "no trend"; None with too little data."""
    measured: int
    method: str


def trend_test(incidents: pl.DataFrame, *, metric: Literal["tta", "ttr"] = "tta", style: Style = "pagerduty",
               statistic: Literal["median", "mean"] = "median") -> Trend:
    """Test whether TTA/TTR drifts over time, with statsmodels, on the individual incidents.

    ``statistic="median"`` fits a median (quantile 0.5) regression of the duration on time since
    the first incident (robust to the long tails of response times); ``"mean"`` fits ordinary
    least squares with HC3 robust errors. The slope is reported per week. Fewer than 3 measured
    incidents, or all at one instant, give ``None`` slope and p-value.

    >>> import polars as pl, datetime as dt
    >>> start = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    >>> incidents = pl.DataFrame({"incident_id": [str(i) for i in range(8)], "service": ["api"] * 8,
    ...     "started_at": [start + dt.timedelta(weeks=i) for i in range(8)],
    ...     "acknowledged_at": [start + dt.timedelta(weeks=i, minutes=10 - i, seconds=9 * (i % 2))
    ...                         for i in range(8)],
    ...     "resolved_at": [None] * 8, "severity": [None] * 8})
    >>> trend = trend_test(incidents, statistic="mean")
    >>> round(trend.slope_per_week.total_seconds()), trend.p_value < 0.001
    (-60, True)
    """
    import statsmodels.api as sm  # noqa: PLC0415  (heavy, about 1 s: only the trend test needs it)

    if statistic not in ("median", "mean"):
        raise ConfigError(f"statistic {statistic!r} is not 'median' or 'mean'", field="statistic")
    data = _durations(incidents, metric, style)
    method = ("median regression (statsmodels QuantReg, q=0.5)" if statistic == "median"
              else "least squares (statsmodels OLS, HC3 errors)")
    empty = Trend(metric=metric, statistic=statistic, slope_per_week=None, p_value=None,
                  measured=data.height, method=method)
    if data.height < 3:
        return empty
    elapsed = data["started_at"] - data["started_at"].min()
    weeks = (elapsed.dt.total_microseconds() / (7 * 86_400e6)).to_numpy()
    if np.ptp(weeks) == 0:
        return empty
    y = data["seconds"].to_numpy()
    design = sm.add_constant(weeks)
    if statistic == "median":
        fit = sm.QuantReg(y, design).fit(q=0.5)
    else:
        fit = sm.OLS(y, design).fit(cov_type="HC3")
    slope, p_value = float(fit.params[1]), float(fit.pvalues[1])
    return Trend(metric=metric, statistic=statistic, slope_per_week=timedelta(seconds=round(slope, 6)),
                 p_value=None if np.isnan(p_value) else p_value, measured=data.height, method=method)


def incidents_from_pages(pages: pl.DataFrame) -> pl.DataFrame:
    """A page history as an Incidents frame, for MTTA/MTTR of pages (each page is one PagerDuty
    incident): ``incident_id`` ← page_id, ``service`` ← service (else team, else ``"(none)"``),
    ``started_at`` ← paged_at, and ``acknowledged_at``, ``resolved_at``, ``urgency``, ``responder``
    as the pages have them (null when absent).

    >>> import polars as pl, datetime as dt
    >>> at = dt.datetime(2026, 1, 5, 3, tzinfo=dt.UTC)
    >>> pages = pl.DataFrame({"page_id": ["P1"], "paged_at": [at], "urgency": ["high"], "team": ["web"],
    ...                       "acknowledged_at": [at + dt.timedelta(minutes=4)]})
    >>> mtta(incidents_from_pages(pages))["mtta"].item()
    datetime.timedelta(seconds=240)
    """
    pages = conform(pages, PAGES, file="pages")
    present = [c for c in ("service", "team") if c in pages.columns]
    service = pl.coalesce(*present, pl.lit("(none)")) if present else pl.lit("(none)")

    def optional(name: str, dtype: pl.DataType) -> pl.Expr:
        return (pl.col(name) if name in pages.columns else pl.lit(None, dtype=dtype)).alias(name)

    return pages.select(
        pl.col("page_id").alias("incident_id"), service.alias("service"), pl.col("paged_at").alias("started_at"),
        optional("resolved_at", INSTANT), pl.lit(None, dtype=pl.String).alias("severity"),
        optional("acknowledged_at", INSTANT), pl.col("urgency"), optional("responder", pl.String()))
