"""Per-person on-call burden and fairness indices over it.

:func:`burden` measures each person's load from Shifts (and interruptions): on-call hours at level
1 and 2+, hours in business/off/sleep local time, weekend and holiday hours, interruptions by
bucket. :func:`fairness` scores every burden column with the indices below (the simulator reuses
them):

``gini``
    Gini coefficient, 0 = everyone carries the same, → 1 = one person carries it all.
``equity``
    PagerDuty's equity score ``100·(1 − CV)`` (population coefficient of variation), floored at 0.
``pairwise_balance``
    Grafana OnCall's balance: the mean over all pairs of ``min/max`` (pairs of zeros count as 1).
``max_mean_ratio`` and ``outliers``
    The heaviest burden over the mean; the people above 2 × the mean.

All indices take the burden of every person who *could* carry load (include zeros for people who
carried none) and return ``None`` when undefined (no people, or nobody carried anything).

>>> gini([1, 1, 1, 1])
0.0
>>> round(gini([0, 0, 0, 4]), 3)
0.75
>>> equity([2, 2, 2])
100.0
>>> pairwise_balance([1, 2])
0.5
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from alertsim.errors import ConfigError, InputError, Problem
from alertsim.frames import SHIFTS, check_zone, conform
from alertsim.quality.fatigue import HourBuckets, interrupted_hours, responder_zones

log = logging.getLogger(__name__)


def _values(burden: Sequence[float] | np.ndarray) -> np.ndarray:
    values = np.asarray(burden, dtype=float)
    if values.ndim != 1:
        raise ValueError("burden must be one value per person")
    if np.any(values < 0) or not np.all(np.isfinite(values)):
        raise ValueError("burden values must be finite and non-negative")
    return values


def gini(burden: Sequence[float] | np.ndarray) -> float | None:
    """Gini coefficient: 0 when everyone carries the same, → 1 when one person carries it all.

    Mean absolute difference over all ordered pairs divided by twice the mean.
    """
    values = _values(burden)
    if values.size == 0 or values.sum() == 0:
        return None
    ordered = np.sort(values)
    n = ordered.size
    ranks = np.arange(1, n + 1)
    value = (2 * np.sum(ranks * ordered) / (n * ordered.sum())) - (n + 1) / n
    return float(min(1.0, max(0.0, value)))  # clamp float round-off (equal burdens give −2e−16)


def equity(burden: Sequence[float] | np.ndarray) -> float | None:
    """PagerDuty-style equity score, ``100 · (1 − CV)`` with CV the population coefficient of
    variation, floored at 0. 100 is perfectly even."""
    values = _values(burden)
    if values.size == 0 or values.mean() == 0:
        return None
    cv = values.std() / values.mean()
    return float(max(0.0, 100.0 * (1.0 - cv)))


def pairwise_balance(burden: Sequence[float] | np.ndarray) -> float | None:
    """Grafana OnCall-style balance: the mean over all pairs of ``min/max`` (1 is perfectly even).

    Pairs where both carried nothing count as balanced (1).
    """
    values = _values(burden)
    if values.size < 2 or values.sum() == 0:
        return None
    i, j = np.triu_indices(values.size, k=1)
    low, high = np.minimum(values[i], values[j]), np.maximum(values[i], values[j])
    ratios = np.where(high > 0, low / np.where(high > 0, high, 1.0), 1.0)
    return float(ratios.mean())


def max_mean_ratio(burden: Sequence[float] | np.ndarray) -> float | None:
    """The heaviest burden over the mean burden (1 is perfectly even)."""
    values = _values(burden)
    if values.size == 0 or values.mean() == 0:
        return None
    return float(values.max() / values.mean())


def outliers(burden: Sequence[float] | np.ndarray, *, factor: float = 2.0) -> np.ndarray:
    """Indices of the people whose burden is above ``factor`` × the mean."""
    values = _values(burden)
    if values.size == 0 or values.mean() == 0:
        return np.array([], dtype=int)
    return np.flatnonzero(values > factor * values.mean())


def indices(burden: Sequence[float] | np.ndarray) -> dict[str, float | None]:
    """All indices at once: ``gini``, ``equity``, ``pairwise_balance``, ``max_mean_ratio``."""
    return {"gini": gini(burden), "equity": equity(burden),
            "pairwise_balance": pairwise_balance(burden), "max_mean_ratio": max_mean_ratio(burden)}


# --- per-person burden -------------------------------------------------------------------------

BURDEN_COLUMNS: tuple[str, ...] = ("oncall_hours", "off_hours", "sleep_hours", "weekend_hours",
                                   "interruptions", "off_hours_interruptions", "sleep_interruptions")
"""Burden columns :func:`fairness` scores by default: total load and off-hour/sleep load."""


def merge_intervals(frame: pl.DataFrame, by: str | list[str]) -> pl.DataFrame:
    """Union of the ``[start_at, end_at)`` intervals of each ``by`` group (overlaps and touching
    intervals merged), so concurrent shifts are not counted twice.

    >>> import polars as pl, datetime as dt
    >>> at = lambda h: dt.datetime(2026, 1, 5, h, tzinfo=dt.UTC)
    >>> frame = pl.DataFrame({"responder": ["a"] * 3, "start_at": [at(0), at(2), at(8)],
    ...                       "end_at": [at(4), at(6), at(9)]})
    >>> merged = merge_intervals(frame, "responder")
    >>> [(r["start_at"].hour, r["end_at"].hour) for r in merged.iter_rows(named=True)]
    [(0, 6), (8, 9)]
    """
    keys = [by] if isinstance(by, str) else list(by)
    return (frame.sort(*keys, "start_at", "end_at")
            .with_columns(__reach=pl.col("end_at").cum_max().shift(1).over(keys))
            .with_columns(__new=(pl.col("__reach").is_null() | (pl.col("start_at") > pl.col("__reach")))
                          .cast(pl.Int64).cum_sum().over(keys))
            .group_by(*keys, "__new", maintain_order=True)
            .agg(pl.col("start_at").min(), pl.col("end_at").max())
            .drop("__new"))


def _localize(naive: pl.Expr, zone: str) -> pl.Expr:
    """Naive local wall time → UTC instant; a time that does not exist (DST gap) moves 1 h later."""
    def place(wall: pl.Expr) -> pl.Expr:
        return wall.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")

    return pl.coalesce(place(naive), place(naive + pl.duration(hours=1))).dt.convert_time_zone("UTC")


def local_hours(intervals: pl.DataFrame, *, buckets: HourBuckets | None = None,
                holidays: Collection[date] = ()) -> pl.DataFrame:
    """Hours of each responder's intervals by local-time category.

    ``intervals`` has ``responder``, ``tz``, ``start_at``, ``end_at``. Returns ``responder``,
    ``business_hours``, ``off_hours`` (on call outside business hours, sleep included),
    ``sleep_hours``, ``weekend_hours`` (local days outside ``workdays``) and ``holiday_hours``
    (local dates in ``holidays``). DST days have their true length (23 or 25 hours).
    """
    buckets = buckets or HourBuckets()
    points = buckets.breakpoints()
    offsets = [timedelta(hours=t.hour, minutes=t.minute, seconds=t.second) for t in points]
    pieces = pl.DataFrame({"__from": offsets, "__to": [*offsets[1:], timedelta(days=1)]})
    weekend = [d for d in range(1, 8) if d not in buckets.workdays]
    parts = []
    for (zone,), part in intervals.group_by("tz"):
        zone = check_zone(str(zone))
        local = part.with_columns(
            __ls=pl.col("start_at").dt.convert_time_zone(zone).dt.replace_time_zone(None),
            __le=pl.col("end_at").dt.convert_time_zone(zone).dt.replace_time_zone(None))
        last_day = (pl.col("__le") - pl.duration(microseconds=1)).dt.date()
        days = (local.with_columns(__day=pl.date_ranges(pl.col("__ls").dt.date(), last_day, "1d"))
                .explode("__day").join(pieces, how="cross")
                .with_columns(__naive_from=pl.col("__day").cast(pl.Datetime("us")) + pl.col("__from"),
                              __naive_to=pl.col("__day").cast(pl.Datetime("us")) + pl.col("__to"))
                .with_columns(__bucket=buckets.expr(pl.col("__naive_from")),
                              __from_at=_localize(pl.col("__naive_from"), zone),
                              __to_at=_localize(pl.col("__naive_to"), zone))
                .with_columns(__hours=((pl.min_horizontal("end_at", "__to_at")
                                        - pl.max_horizontal("start_at", "__from_at"))
                                       .dt.total_microseconds().clip(lower_bound=0) / 3.6e9)))
        parts.append(days)
    if not parts:
        return pl.DataFrame(schema={"responder": pl.String, "business_hours": pl.Float64,
                                    "off_hours": pl.Float64, "sleep_hours": pl.Float64,
                                    "weekend_hours": pl.Float64, "holiday_hours": pl.Float64})
    hours = pl.col("__hours")
    return (pl.concat(parts).group_by("responder").agg(
        business_hours=hours.filter(pl.col("__bucket") == "business").sum(),
        off_hours=hours.filter(pl.col("__bucket") != "business").sum(),
        sleep_hours=hours.filter(pl.col("__bucket") == "sleep").sum(),
        weekend_hours=hours.filter(pl.col("__day").dt.weekday().is_in(weekend)).sum(),
        holiday_hours=hours.filter(pl.col("__day").is_in(sorted(holidays))).sum(),
    ).with_columns(pl.exclude("responder").cast(pl.Float64)))


def burden(shifts: pl.DataFrame, interruption_frame: pl.DataFrame | None = None, *,
           holidays: Collection[date] = (), buckets: HourBuckets | None = None,
           timezones: Mapping[str, str] | None = None, default_tz: str = "UTC",
           period: tuple[datetime, datetime] | None = None) -> pl.DataFrame:
    """Per-person on-call burden: hours by level and local-time category, and interruptions.

    Definitions: ``oncall_hours`` is the union of a person's shifts (concurrent shifts count
    once); ``level1_hours`` the union of their level-1 shifts and ``level2plus_hours`` of their
    level ≥ 2 shifts; ``business_hours``, ``off_hours`` (outside business hours, sleep included),
    ``sleep_hours``, ``weekend_hours`` and ``holiday_hours`` split ``oncall_hours`` by the
    person's local time (zone as in :mod:`alertsim.quality.fatigue`). From interruptions (see
    :func:`alertsim.quality.fatigue.interruptions`): ``interruptions``,
    ``business_interruptions``, ``off_hours_interruptions`` (off + sleep buckets),
    ``sleep_interruptions``, ``interrupted_hours`` and ``interruptions_per_oncall_hour`` (null
    with no on-call hours); all interruption columns are null without interruptions.

    Parameters
    ----------
    shifts
        Shifts frame (``alertsim.frames.SHIFTS``); everyone in it is a person, loaded or not.
    interruption_frame
        From :func:`alertsim.quality.fatigue.interruptions`; default None.
    holidays
        Local dates that count as holidays; default none.
    buckets
        Local-time boundaries; default :class:`alertsim.quality.fatigue.HourBuckets` ().
    timezones, default_tz
        Zone overrides, as in :func:`alertsim.quality.fatigue.interruptions`.
    period
        ``(start, end)`` to clip shifts to; default None (whole shifts).

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> at = lambda d, h: dt.datetime(2026, 1, d, h, tzinfo=dt.UTC)   # 2026-01-10 is a Saturday
    >>> shifts = pl.DataFrame({"schedule": ["web"] * 2, "level": [1, 2], "responder": ["ana", "bo"],
    ...     "start_at": [at(9, 8), at(9, 8)], "end_at": [at(10, 8), at(10, 8)], "tz": ["UTC"] * 2},
    ...     schema_overrides={"level": pl.Int32})
    >>> table = burden(shifts)
    >>> table.select("responder", "level1_hours", "business_hours", "sleep_hours", "weekend_hours").rows()
    [('ana', 24.0, 10.0, 10.0, 8.0), ('bo', 0.0, 10.0, 10.0, 8.0)]
    """
    shifts = _clipped_shifts(shifts, period)
    people = pl.DataFrame({"responder": sorted(set(shifts["responder"].to_list()))},
                          schema={"responder": pl.String})
    zones = responder_zones(people["responder"], shifts, timezones=timezones, default_tz=default_tz)

    def union_hours(frame: pl.DataFrame, name: str) -> pl.DataFrame:
        merged = merge_intervals(frame.select("responder", "start_at", "end_at"), "responder")
        return merged.group_by("responder").agg(
            (pl.col("end_at") - pl.col("start_at")).dt.total_microseconds().sum().truediv(3.6e9).alias(name))

    merged = merge_intervals(shifts.select("responder", "start_at", "end_at"), "responder").join(
        zones, on="responder", how="left")
    level = pl.col("level")
    table = (people
             .join(union_hours(shifts, "oncall_hours"), on="responder", how="left")
             .join(union_hours(shifts.filter(level == 1), "level1_hours"), on="responder", how="left")
             .join(union_hours(shifts.filter(level >= 2), "level2plus_hours"), on="responder", how="left")
             .join(local_hours(merged, buckets=buckets, holidays=holidays), on="responder", how="left")
             .with_columns(pl.exclude("responder").fill_null(0.0).cast(pl.Float64)))
    return _with_interruptions(table, interruption_frame)


_INTERRUPTION_COLUMNS = ["interruptions", "business_interruptions", "off_hours_interruptions",
                         "sleep_interruptions", "interrupted_hours"]


def _clipped_shifts(shifts: pl.DataFrame, period: tuple[datetime, datetime] | None) -> pl.DataFrame:
    """The shifts (checked) clipped to ``period``."""
    shifts = conform(shifts, SHIFTS, file="shifts")
    if period is not None:
        start, end = period
        if end < start:
            raise ConfigError(f"period ends ({end}) before it starts ({start})", field="period")
        shifts = (shifts.with_columns(start_at=pl.max_horizontal("start_at", pl.lit(start)),
                                      end_at=pl.min_horizontal("end_at", pl.lit(end)))
                  .filter(pl.col("end_at") > pl.col("start_at")))
    bad = shifts.filter(pl.col("end_at") < pl.col("start_at"))
    if bad.height:
        raise InputError("shifts end before they start",
                         [Problem(column="end_at",
                                  reason=f"{r['responder']}: {r['start_at']} → {r['end_at']}")
                          for r in bad.head(20).iter_rows(named=True)], file="shifts")
    return shifts


def _with_interruptions(table: pl.DataFrame, interruption_frame: pl.DataFrame | None) -> pl.DataFrame:
    """The hours table with each person's interruptions (null columns without an interruption frame);
    interrupted people without shifts join with 0 on-call hours."""
    columns = _INTERRUPTION_COLUMNS
    if interruption_frame is None:
        return (table.with_columns(*(pl.lit(None, dtype=pl.Int64).alias(c) for c in columns),
                                   interruptions_per_oncall_hour=pl.lit(None, dtype=pl.Float64))
                .sort("responder"))
    counts = (interruption_frame.group_by("responder").agg(
        interruptions=pl.len(), business_interruptions=(pl.col("bucket") == "business").sum(),
        off_hours_interruptions=(pl.col("bucket") != "business").sum(),
        sleep_interruptions=(pl.col("bucket") == "sleep").sum())
        .join(interrupted_hours(interruption_frame), on="responder", how="left"))
    extra = sorted(set(counts["responder"].to_list()) - set(table["responder"].to_list()))
    if extra:
        log.warning("%d interrupted people have no shifts (e.g. %s); they get 0 on-call hours",
                    len(extra), extra[0])
        unscheduled = (pl.DataFrame({"responder": extra}).join(table.head(0), on="responder", how="left")
                       .with_columns(pl.exclude("responder").fill_null(0.0)))
        table = pl.concat([table, unscheduled])
    return (table.join(counts, on="responder", how="left")
            .with_columns(pl.col(columns).fill_null(0).cast(pl.Int64))
            .with_columns(interruptions_per_oncall_hour=pl.when(pl.col("oncall_hours") > 0)
                          .then(pl.col("interruptions") / pl.col("oncall_hours")))
            .sort("responder"))


def fairness(burden_frame: pl.DataFrame, *, columns: Sequence[str] | None = None,
             factor: float = 2.0) -> pl.DataFrame:
    """Fairness indices for each burden column, over every person in ``burden_frame``.

    Returns one row per column: ``burden`` (the column), ``people``, ``total``, ``mean``, ``gini``,
    ``equity`` (PagerDuty, ``100·(1 − CV)``), ``pairwise_balance`` (Grafana, mean of min/max over
    pairs), ``max_mean_ratio`` and ``outliers`` (people above ``factor`` × the mean). Indices are
    null when undefined (nobody, or no load at all); a column that is entirely null is skipped.

    >>> import polars as pl
    >>> frame = pl.DataFrame({"responder": ["a", "b", "c", "d"], "interruptions": [0, 0, 0, 8]})
    >>> fairness(frame, columns=["interruptions"]).select("gini", "equity", "outliers").row(0)
    (0.75, 0.0, ['d'])
    """
    names = list(columns) if columns is not None else [c for c in BURDEN_COLUMNS if c in burden_frame.columns]
    missing = [c for c in names if c not in burden_frame.columns]
    if missing:
        raise ConfigError(f"burden has no column {missing[0]!r}; it has {burden_frame.columns}",
                          field="columns")
    rows = []
    people = burden_frame["responder"].to_list()
    for name in names:
        series = burden_frame[name]
        if series.null_count() == series.len() and series.len() > 0:
            continue
        values = series.fill_null(0).cast(pl.Float64).to_numpy()
        scores = indices(values)
        rows.append({"burden": name, "people": int(values.size), "total": float(values.sum()),
                     "mean": float(values.mean()) if values.size else None, **scores,
                     "outliers": [people[i] for i in outliers(values, factor=factor)]})
    schema: dict[str, pl.DataType] = {
        "burden": pl.String(), "people": pl.Int64(), "total": pl.Float64(), "mean": pl.Float64(),
        "gini": pl.Float64(), "equity": pl.Float64(), "pairwise_balance": pl.Float64(),
        "max_mean_ratio": pl.Float64(), "outliers": pl.List(pl.String())}
    return pl.DataFrame(rows, schema=schema)
