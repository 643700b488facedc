"""Alert fatigue from pages: how often, when, whom, and which rules are noisy.

Definitions (``oncall-and-response-metrics.md`` §2.1, §2.6, §5.1, §5.2):

responder of a page
    The page's ``responder`` when it has one (history), else the level-1 on-call of the
    page's schedule at ``paged_at`` (replayed pages, from Shifts). A page in a coverage gap has
    no responder and interrupts nobody (it still counts in page totals).
time zone of a responder
    ``timezones[responder]`` if given, else the ``tz`` of the responder's shifts (the most
    frequent), else ``default_tz``.
interruption
    Pages to the same responder within 60 seconds of the *first* page of an interruption are one
    interruption (PagerDuty's "notifications that arrive within 60 seconds of each other are
    counted as a single interruption"), so every page of an interruption is within 60 s of every
    other.
bucket of an instant
    In the responder's local time: ``sleep`` every day 22:00–08:00, ``business`` Mon–Fri
    08:00–18:00, ``off`` the rest (Mon–Fri 18:00–22:00, Sat–Sun 08:00–22:00); the boundaries
    are a :class:`HourBuckets`. An interruption takes the bucket of its first page.
interrupted hours
    Distinct local clock hours with at least one interruption (PagerDuty's "hours interrupted").
per week / per month
    Counts divided by the period length in weeks (7 d) or months (365.25/12 d).
PagerDuty band
    Non-business (off + sleep) interruptions per month: ``good`` ≤ 2, ``moderate`` < 7, ``bad``
    < 19, ``burnout`` ≥ 19 (2/7/19, State of Digital Operations 2021).
SRE check
    Pages per 12 hours of a shift ≤ 2 (Google SRE book: at most 2 incidents per 12-hour shift);
    a page stands for an incident.
noisy rule
    A rule's pages, their share of all pages, and (with incidents) the share of its pages whose
    ``paged_at`` falls in no incident of the same service (``[started_at − early,
    resolved_at + late]``).

>>> import polars as pl, datetime as dt
>>> at = lambda d, h, m=0: dt.datetime(2026, 1, d, h, m, tzinfo=dt.UTC)
>>> pages = pl.DataFrame({"page_id": ["p1", "p2", "p3"], "paged_at": [at(5, 3), at(5, 3, 1), at(5, 12)],
...     "urgency": ["high"] * 3, "responder": ["ana"] * 3})
>>> interruptions(pages).select("responder", "bucket", "pages").rows()
[('ana', 'sleep', 2), ('ana', 'business', 1)]
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import numpy as np
import polars as pl

from alertsim.durations import Duration, parse_duration
from alertsim.errors import ConfigError
from alertsim.frames import INCIDENTS, INSTANT, PAGES, SHIFTS, check_zone, conform
from alertsim.quality.matching import match_events

log = logging.getLogger(__name__)

WEEK = timedelta(days=7)
MONTH = timedelta(days=365.25 / 12)
BUCKETS = ("business", "off", "sleep")
BANDS = ((2.0, "good"), (7.0, "moderate"), (19.0, "bad"))
SRE_PAGES_PER_12H = 2.0


@dataclass(frozen=True, kw_only=True)
class HourBuckets:
    """Local-time boundaries of PagerDuty's interruption buckets (defaults: the disjoint split).

    ``sleep`` is ``[sleep_start, sleep_end)`` every day (it wraps midnight); ``business`` is
    ``[business_start, business_end)`` on ``workdays`` (ISO numbers, 1 = Monday); ``off`` is the rest.
    """

    business_start: time = time(8)
    business_end: time = time(18)
    sleep_start: time = time(22)
    sleep_end: time = time(8)
    workdays: tuple[int, ...] = (1, 2, 3, 4, 5)

    def __post_init__(self) -> None:
        if not self.business_start < self.business_end:
            raise ConfigError("business_start must be before business_end", field="business_start")
        if any(d not in range(1, 8) for d in self.workdays):
            raise ConfigError(f"workdays must be ISO weekdays 1..7, got {self.workdays}", field="workdays")

    def expr(self, local: pl.Expr) -> pl.Expr:
        """The bucket (``business``/``off``/``sleep``) of naive local datetimes ``local``."""
        clock = local.dt.time()
        if self.sleep_start > self.sleep_end:
            asleep = (clock >= self.sleep_start) | (clock < self.sleep_end)
        else:
            asleep = (clock >= self.sleep_start) & (clock < self.sleep_end)
        working = (local.dt.weekday().is_in(list(self.workdays))
                   & (clock >= self.business_start) & (clock < self.business_end))
        return (pl.when(asleep).then(pl.lit("sleep"))
                .when(working).then(pl.lit("business")).otherwise(pl.lit("off")))

    def breakpoints(self) -> list[time]:
        """Times of day at which the bucket can change, sorted, starting at midnight."""
        return sorted({time(0), self.business_start, self.business_end, self.sleep_start, self.sleep_end})


def interruption_band(per_month: float | None) -> str | None:
    """PagerDuty's 2/7/19 band for non-business interruptions per month (None stays None).

    >>> [interruption_band(x) for x in (0, 2, 6.9, 7, 19, None)]
    ['good', 'good', 'moderate', 'bad', 'burnout', None]
    """
    if per_month is None:
        return None
    good, moderate, bad = (limit for limit, _ in BANDS)
    if per_month <= good:
        return "good"
    if per_month < moderate:
        return "moderate"
    return "bad" if per_month < bad else "burnout"


def band_expr(column: str) -> pl.Expr:
    good, moderate, bad = (limit for limit, _ in BANDS)
    value = pl.col(column)
    return (pl.when(value.is_null()).then(None).when(value <= good).then(pl.lit("good"))
            .when(value < moderate).then(pl.lit("moderate")).when(value < bad).then(pl.lit("bad"))
            .otherwise(pl.lit("burnout")))


def local_time(frame: pl.DataFrame, instant: str, tz_column: str, out: str) -> pl.DataFrame:
    """``frame`` plus ``out``: the naive local wall-clock time of UTC ``instant`` in each row's
    zone ``tz_column`` (vectorised per distinct zone)."""
    if frame.is_empty():
        return frame.with_columns(pl.lit(None, dtype=pl.Datetime("us")).alias(out))
    parts = []
    for (zone,), part in frame.with_row_index("__row").group_by(tz_column):
        local = part[instant].dt.convert_time_zone(check_zone(str(zone), field=tz_column))
        parts.append(part.with_columns(local.dt.replace_time_zone(None).alias(out)))
    return pl.concat(parts).sort("__row").drop("__row")


def _shift_zones(shifts: pl.DataFrame | None) -> pl.DataFrame:
    if shifts is None or shifts.is_empty():
        return pl.DataFrame(schema={"responder": pl.String, "__shift_tz": pl.String})
    return (shifts.group_by("responder", "tz").agg(n=pl.len())
            .sort(["responder", "n", "tz"], descending=[False, True, False])
            .group_by("responder", maintain_order=True).first()
            .select("responder", pl.col("tz").alias("__shift_tz")))


def responder_zones(responders: pl.Series, shifts: pl.DataFrame | None, *,
                    timezones: Mapping[str, str] | None = None, default_tz: str = "UTC") -> pl.DataFrame:
    """``responder``, ``tz`` for each distinct responder (see the module doc for the rule)."""
    people = pl.DataFrame({"responder": responders.unique().drop_nulls().sort()},
                          schema={"responder": pl.String})
    given = pl.DataFrame({"responder": list((timezones or {}).keys()),
                          "__given_tz": list((timezones or {}).values())},
                         schema={"responder": pl.String, "__given_tz": pl.String})
    return (people.join(given, on="responder", how="left")
            .join(_shift_zones(shifts), on="responder", how="left")
            .select("responder", tz=pl.coalesce("__given_tz", "__shift_tz", pl.lit(default_tz))))


@dataclass(frozen=True, kw_only=True)
class Routing:
    """Which schedule a page goes to when shifts hold several.

    The first non-null of the page columns ``by`` (default ``team``, then ``service``) is looked up
    in ``schedules`` (``{value: schedule}``); a value missing from ``schedules`` is itself the
    schedule name. With a single schedule in the shifts every page goes to it.
    """

    by: tuple[str, ...] = ("team", "service")
    schedules: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.by, str) or not self.by:
            raise ConfigError(f"by must be a non-empty tuple of page columns, got {self.by!r}", field="by")

    def expr(self, pages: pl.DataFrame) -> pl.Expr:
        present = [c for c in self.by if c in pages.columns]
        if not present:
            raise ConfigError(f"pages have none of the columns {list(self.by)} to route them to a schedule; "
                              f"they have {pages.columns}", field="routing")
        key = pl.coalesce(present) if len(present) > 1 else pl.col(present[0])
        if not self.schedules:
            return key
        return key.replace(dict(self.schedules))


def assign_responders(pages: pl.DataFrame, shifts: pl.DataFrame | None, *, level: int = 1,
                      routing: Routing = Routing()) -> pl.DataFrame:
    """Fill each page's missing ``responder`` with the on-call at ``paged_at`` (see module doc).

    With one schedule in ``shifts`` every page goes to it; with several, ``routing`` names the
    page's schedule. Pages outside every shift keep a null responder.

    >>> import polars as pl, datetime as dt
    >>> at = lambda h: dt.datetime(2026, 1, 5, h, tzinfo=dt.UTC)
    >>> pages = pl.DataFrame({"page_id": ["p1", "p2"], "paged_at": [at(1), at(13)], "urgency": ["high"] * 2})
    >>> shifts = pl.DataFrame({"schedule": ["web"] * 2, "level": [1, 1], "responder": ["ana", "bo"],
    ...     "start_at": [at(0), at(12)], "end_at": [at(12), at(23)], "tz": ["UTC"] * 2},
    ...     schema_overrides={"level": pl.Int32})
    >>> assign_responders(pages, shifts)["responder"].to_list()
    ['ana', 'bo']
    """
    pages = conform(pages, PAGES, file="pages")
    if "responder" not in pages.columns:
        pages = pages.with_columns(responder=pl.lit(None, dtype=pl.String))
    if shifts is None or shifts.is_empty() or pages["responder"].null_count() == 0:
        return pages
    shifts = conform(shifts, SHIFTS, file="shifts")
    on_level = shifts.filter(pl.col("level") == level)
    schedules = on_level["schedule"].unique().to_list()
    need = pages.with_row_index("__row").filter(pl.col("responder").is_null())
    if len(schedules) == 1:
        need = need.with_columns(__schedule=pl.lit(schedules[0]))
    else:
        need = need.with_columns(__schedule=routing.expr(pages))
    candidates = on_level.select(pl.col("schedule").alias("__schedule"),
                                 pl.col("responder").alias("__oncall"), "start_at", "end_at")
    found = (need.select("__row", "__schedule", "paged_at")
             .join_where(candidates, pl.col("__schedule") == pl.col("__schedule_right"),
                         pl.col("paged_at") >= pl.col("start_at"), pl.col("paged_at") < pl.col("end_at"))
             if not need.is_empty() and not candidates.is_empty() else
             pl.DataFrame(schema={"__row": pl.UInt32, "__oncall": pl.String, "start_at": INSTANT}))
    # Overlapping shifts on one schedule: the one that started last is on call.
    found = (found.sort("__row", "start_at", descending=[False, True])
             .group_by("__row", maintain_order=True).first())
    unassigned = need.height - found.height
    if unassigned:
        log.info("%d pages fell in coverage gaps and interrupt nobody", unassigned)
    return (pages.with_row_index("__row").join(found.select("__row", "__oncall"), on="__row", how="left")
            .with_columns(responder=pl.coalesce("responder", "__oncall")).drop("__row", "__oncall"))


def interruptions(pages: pl.DataFrame, shifts: pl.DataFrame | None = None, *, dedupe: Duration = "60s",
                  timezones: Mapping[str, str] | None = None, default_tz: str = "UTC",
                  buckets: HourBuckets = HourBuckets(), routing: Routing = Routing(),
                  urgencies: Collection[str] | None = None) -> pl.DataFrame:
    """Interruptions: pages to one responder, de-duplicated within ``dedupe`` and bucketed by local time.

    Parameters
    ----------
    pages
        Pages frame (``alertsim.frames.PAGES``), replayed or historical.
    shifts
        Shifts frame to find who was paged and their time zone; default None (pages carry
        ``responder``).
    dedupe
        Pages within this long of an interruption's first page join it; default "60s".
    timezones
        ``{responder: IANA zone}`` overriding the shifts' zones; default None.
    default_tz
        Zone of a responder nobody gave a zone for; default "UTC".
    buckets
        Local-time bucket boundaries; default :class:`HourBuckets` ().
    routing
        Which schedule a page goes to when shifts hold several; default :class:`Routing` ()
        (the page's ``team``, else its ``service``).
    urgencies
        Only pages of these urgencies interrupt (e.g. ``{"high"}``); default None = every page.

    Returns
    -------
    polars.DataFrame
        One row per interruption, in time order: ``responder``, ``interrupted_at`` (UTC), ``tz``,
        ``local_at`` (naive local time), ``bucket``, ``pages`` (count), ``page_ids``.
    """
    window = parse_duration(dedupe, field="dedupe")
    paged = assign_responders(pages, shifts, routing=routing)
    if urgencies is not None:
        paged = paged.filter(pl.col("urgency").is_in(list(urgencies)))
    paged = paged.filter(pl.col("responder").is_not_null()).sort("responder", "paged_at", "page_id")
    schema: dict[str, pl.DataType] = {
        "responder": pl.String(), "interrupted_at": INSTANT, "tz": pl.String(), "local_at": pl.Datetime("us"),
        "bucket": pl.String(), "pages": pl.Int64(), "page_ids": pl.List(pl.String())}
    if paged.is_empty():
        return pl.DataFrame(schema=schema)
    who = paged["responder"].to_numpy()
    at = paged["paged_at"].dt.epoch("us").to_numpy()
    limit = int(window / timedelta(microseconds=1))
    starts = np.zeros(paged.height, dtype=np.int64)
    number = 0
    first = at[0]
    for i in range(1, paged.height):  # one iteration per page (events, not samples)
        if who[i] != who[i - 1] or at[i] - first > limit:
            number += 1
            first = at[i]
        starts[i] = number
    zones = responder_zones(paged["responder"], shifts, timezones=timezones, default_tz=default_tz)
    grouped = (paged.with_columns(__interruption=pl.Series(starts))
               .group_by("__interruption", maintain_order=True)
               .agg(responder=pl.col("responder").first(), interrupted_at=pl.col("paged_at").first(),
                    pages=pl.len(), page_ids=pl.col("page_id"))
               .join(zones, on="responder", how="left"))
    located = local_time(grouped, "interrupted_at", "tz", "local_at")
    return (located.with_columns(bucket=buckets.expr(pl.col("local_at")))
            .select(list(schema)).cast(schema).sort("interrupted_at", "responder"))  # type: ignore[arg-type]


def interrupted_hours(interruption_frame: pl.DataFrame) -> pl.DataFrame:
    """``responder``, ``interrupted_hours``: distinct local clock hours with an interruption."""
    return (interruption_frame
            .with_columns(__hour=pl.col("local_at").dt.truncate("1h"),
                          __offset=pl.col("local_at") - pl.col("interrupted_at").dt.replace_time_zone(None))
            .group_by("responder").agg(interrupted_hours=pl.struct("__hour", "__offset").n_unique())
            .with_columns(pl.col("interrupted_hours").cast(pl.Int64)))


def _period(pages: pl.DataFrame, shifts: pl.DataFrame | None,
            period: tuple[datetime, datetime] | None) -> tuple[datetime, datetime] | None:
    if period is not None:
        if period[1] < period[0]:
            raise ConfigError(f"period ends ({period[1]}) before it starts ({period[0]})", field="period")
        return period
    instants = []
    if pages.height:
        instants += [pages["paged_at"].min(), pages["paged_at"].max()]
    if shifts is not None and shifts.height:
        instants += [shifts["start_at"].min(), shifts["end_at"].max()]
    return (min(instants), max(instants)) if instants else None  # type: ignore[type-var, return-value]


def _per(count: pl.Expr, span: timedelta | None, unit: timedelta) -> pl.Expr:
    if span is None or span <= timedelta(0):
        return pl.lit(None, dtype=pl.Float64)
    return count / (span / unit)


def pages_per_week(pages: pl.DataFrame, interruption_frame: pl.DataFrame | None = None, *,
                   period: tuple[datetime, datetime] | None = None) -> pl.DataFrame:
    """``week`` (Monday 00:00 UTC), ``pages``, ``interruptions``, ``off_hours_interruptions``,
    ``sleep_interruptions`` for every week of the period (weeks without pages count 0).

    ``period`` is ``[start, end)``; default the span from the first to the last page."""
    pages = conform(pages, PAGES, file="pages")
    span = _period(pages, None, period)
    schema: dict[str, pl.DataType] = {"week": INSTANT, "pages": pl.Int64(), "interruptions": pl.Int64(),
                                      "off_hours_interruptions": pl.Int64(), "sleep_interruptions": pl.Int64()}
    if span is None:
        return pl.DataFrame(schema=schema)
    # An explicit period ends just before its end instant; a data span includes its last page.
    last = span[1] - timedelta(microseconds=1) if period is not None and span[1] > span[0] else span[1]
    weeks = pl.DataFrame({"week": pl.datetime_range(pl.lit(span[0]).dt.truncate("1w"),
                                                    pl.lit(last).dt.truncate("1w"), "1w", eager=True,
                                                    time_zone="UTC")})
    counted = pages.group_by(week=pl.col("paged_at").dt.truncate("1w")).agg(pages=pl.len())
    table = weeks.join(counted, on="week", how="left")
    if interruption_frame is not None:
        table = table.join(interruption_frame.group_by(week=pl.col("interrupted_at").dt.truncate("1w")).agg(
            interruptions=pl.len(), off_hours_interruptions=(pl.col("bucket") == "off").sum(),
            sleep_interruptions=(pl.col("bucket") == "sleep").sum()), on="week", how="left")
        table = table.with_columns(pl.exclude("week").fill_null(0))
    else:
        table = table.with_columns(pl.col("pages").fill_null(0), interruptions=None,
                                   off_hours_interruptions=None, sleep_interruptions=None)
    return table.select(list(schema)).cast(schema).sort("week")  # type: ignore[arg-type]


def pages_per_team(pages: pl.DataFrame, interruption_frame: pl.DataFrame | None = None, *,
                   period: tuple[datetime, datetime] | None = None) -> pl.DataFrame:
    """``team``, ``pages``, ``pages_per_week``, ``high_urgency_pages``, ``sleep_pages`` per team (the
    page's ``team``, else its ``service``; a page with neither is team null)."""
    pages = conform(pages, PAGES, file="pages")
    span = _period(pages, None, period)
    key = [c for c in ("team", "service") if c in pages.columns]
    team = pl.coalesce(*key) if key else pl.lit(None, dtype=pl.String)
    sleeping = pl.lit(None, dtype=pl.Boolean)
    frame = pages.with_columns(team=team)
    if interruption_frame is not None:
        asleep = (interruption_frame.filter(pl.col("bucket") == "sleep").select(pl.col("page_ids").explode())
                  .to_series().to_list())
        sleeping = pl.col("page_id").is_in(asleep)
    table = (frame.group_by("team").agg(pages=pl.len(),
                                        high_urgency_pages=(pl.col("urgency") == "high").sum(),
                                        sleep_pages=sleeping.sum() if interruption_frame is not None
                                        else pl.lit(None, dtype=pl.Int64))
             .with_columns(pages_per_week=_per(pl.col("pages"), span and span[1] - span[0], WEEK)))
    schema = {"team": pl.String, "pages": pl.Int64, "pages_per_week": pl.Float64,
              "high_urgency_pages": pl.Int64, "sleep_pages": pl.Int64}
    return table.select(list(schema)).cast(schema).sort("pages", "team", descending=[True, False])  # type: ignore[arg-type]


def pages_per_shift(pages: pl.DataFrame, shifts: pl.DataFrame, *, routing: Routing = Routing()) -> pl.DataFrame:
    """Every shift with the pages its responder got during it, and the SRE-book check.

    Returns the Shifts columns plus ``hours``, ``pages``, ``pages_per_12h`` (null for an empty
    shift) and ``sre_ok`` (``pages_per_12h <= 2``).
    """
    shifts = conform(shifts, SHIFTS, file="shifts")
    paged = assign_responders(pages, shifts, routing=routing).filter(pl.col("responder").is_not_null())
    indexed = shifts.with_row_index("__shift")
    if paged.is_empty() or shifts.is_empty():
        counts = pl.DataFrame(schema={"__shift": pl.UInt32, "pages": pl.UInt32})
    else:
        counts = (indexed.select("__shift", pl.col("responder").alias("__who"), "start_at", "end_at")
                  .join_where(paged.select("responder", "paged_at"), pl.col("__who") == pl.col("responder"),
                              pl.col("paged_at") >= pl.col("start_at"), pl.col("paged_at") < pl.col("end_at"))
                  .group_by("__shift").agg(pages=pl.len()))
    hours = (pl.col("end_at") - pl.col("start_at")).dt.total_microseconds() / 3.6e9
    return (indexed.join(counts, on="__shift", how="left")
            .with_columns(pages=pl.col("pages").fill_null(0).cast(pl.Int64), hours=hours)
            .with_columns(pages_per_12h=pl.when(pl.col("hours") > 0)
                          .then(pl.col("pages") * 12 / pl.col("hours")))
            .with_columns(sre_ok=pl.col("pages_per_12h") <= SRE_PAGES_PER_12H)
            .drop("__shift").sort("start_at", "schedule", "level"))


def responder_fatigue(interruption_frame: pl.DataFrame, *, responders: Collection[str] = (),
                      pages: pl.DataFrame | None = None, zones: pl.DataFrame | None = None,
                      period: tuple[datetime, datetime] | None = None) -> pl.DataFrame:
    """Per responder: interruptions by bucket, interrupted hours, monthly rates and PagerDuty band.

    ``responders`` adds people who were on call but never interrupted (their counts are 0);
    ``zones`` (``responder``, ``tz``) gives their zones; ``pages`` (with ``responder``) counts pages.
    Returns ``responder``, ``tz``, ``pages``, ``interruptions``, ``business``, ``off_hours``,
    ``sleep``, ``interrupted_hours``, ``interruptions_per_month``,
    ``off_hours_interruptions_per_month`` (off + sleep) and ``band``.
    """
    span = period
    if span is None and interruption_frame.height:
        span = (interruption_frame["interrupted_at"].min(),  # type: ignore[assignment]
                interruption_frame["interrupted_at"].max())
    length = span[1] - span[0] if span else None
    everyone = set(responders) | set(interruption_frame["responder"].to_list())
    people = pl.DataFrame({"responder": sorted(everyone)}, schema={"responder": pl.String})
    counts = interruption_frame.group_by("responder").agg(
        tz=pl.col("tz").first(), pages=pl.col("pages").sum(), interruptions=pl.len(),
        business=(pl.col("bucket") == "business").sum(), off_hours=(pl.col("bucket") == "off").sum(),
        sleep=(pl.col("bucket") == "sleep").sum())
    if pages is not None and "responder" in pages.columns:
        counts = counts.drop("pages").join(pages.group_by("responder").agg(pages=pl.len()), on="responder",
                                           how="full", coalesce=True)
    table = people.join(counts, on="responder", how="left")
    if zones is not None:
        table = (table.join(zones.rename({"tz": "__zone"}), on="responder", how="left")
                 .with_columns(tz=pl.coalesce("tz", "__zone")).drop("__zone"))
    table = (table.join(interrupted_hours(interruption_frame), on="responder", how="left")
             .with_columns(pl.col("pages", "interruptions", "business", "off_hours", "sleep",
                                  "interrupted_hours").fill_null(0).cast(pl.Int64))
             .with_columns(interruptions_per_month=_per(pl.col("interruptions"), length, MONTH),
                           off_hours_interruptions_per_month=_per(pl.col("off_hours") + pl.col("sleep"),
                                                                  length, MONTH))
             .with_columns(band=band_expr("off_hours_interruptions_per_month")))
    columns = ["responder", "tz", "pages", "interruptions", "business", "off_hours", "sleep",
               "interrupted_hours", "interruptions_per_month", "off_hours_interruptions_per_month", "band"]
    return table.select(columns).sort("interruptions", "responder", descending=[True, False])


def noisy_rules(pages: pl.DataFrame, incidents: pl.DataFrame | None = None, *, early: Duration = "0m",
                late: Duration = "0m") -> pl.DataFrame:
    """Rules by pages, loudest first: ``rule``, ``pages``, ``share`` of all pages, and with incidents
    ``unmatched_pages`` / ``unmatched_share`` (pages in no incident of their service; null without
    incidents). Pages without a ``rule`` are grouped under rule null."""
    pages = conform(pages, PAGES, file="pages")
    if "rule" not in pages.columns:
        pages = pages.with_columns(rule=pl.lit(None, dtype=pl.String))
    total = pages.height
    unmatched = pl.lit(None, dtype=pl.Boolean)
    if incidents is not None:
        incidents = conform(incidents, INCIDENTS, file="incidents")
        keys = {"service": "service"} if "service" in pages.columns else {}
        matched = match_events(pages.select("page_id", "paged_at", *keys), incidents, at="paged_at",
                               keys=keys, early=early, late=late)["page_id"].unique().to_list()
        unmatched = ~pl.col("page_id").is_in(matched)
    table = (pages.group_by("rule").agg(pages=pl.len(),
                                        unmatched_pages=unmatched.sum() if incidents is not None
                                        else pl.lit(None, dtype=pl.Int64))
             .with_columns(share=pl.col("pages") / total if total else None,
                           unmatched_share=pl.col("unmatched_pages") / pl.col("pages")))
    schema = {"rule": pl.String, "pages": pl.Int64, "share": pl.Float64, "unmatched_pages": pl.Int64,
              "unmatched_share": pl.Float64}
    return table.select(list(schema)).cast(schema).sort("pages", "rule", descending=[True, False])  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True)
class Fatigue:
    """Every fatigue table for one set of pages (see :func:`fatigue`)."""

    interruptions: pl.DataFrame = field(repr=False)
    weekly: pl.DataFrame = field(repr=False)
    teams: pl.DataFrame = field(repr=False)
    shifts: pl.DataFrame | None = field(repr=False)
    responders: pl.DataFrame = field(repr=False)
    rules: pl.DataFrame = field(repr=False)

    def frames(self) -> dict[str, pl.DataFrame]:
        """Name → frame, as written into a run directory (``fatigue_<name>``)."""
        out = {"interruptions": self.interruptions, "fatigue_weekly": self.weekly,
               "fatigue_teams": self.teams, "fatigue_responders": self.responders,
               "fatigue_rules": self.rules}
        if self.shifts is not None:
            out["fatigue_shifts"] = self.shifts
        return out


def fatigue(pages: pl.DataFrame, shifts: pl.DataFrame | None = None, *, incidents: pl.DataFrame | None = None,
            period: tuple[datetime, datetime] | None = None, dedupe: Duration = "60s",
            timezones: Mapping[str, str] | None = None, default_tz: str = "UTC",
            buckets: HourBuckets = HourBuckets(), routing: Routing = Routing(),
            urgencies: Collection[str] | None = None, early: Duration = "0m",
            late: Duration = "0m") -> Fatigue:
    """All fatigue tables from pages (and who was on call): weekly, per team, per shift (with the
    SRE check), per responder (with the PagerDuty band) and the noisiest rules.

    Parameters are those of :func:`interruptions`, plus ``incidents`` (to find pages that were
    noise), ``period`` (``(start, end)`` for rates; default the span of pages and shifts) and
    ``early``/``late`` (incident matching allowance for the noise share). With a ``period``, only
    pages in ``[start, end)`` are counted.

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> at = lambda d, h: dt.datetime(2026, 1, d, h, tzinfo=dt.UTC)
    >>> pages = pl.DataFrame({"page_id": ["p1", "p2"], "paged_at": [at(5, 3), at(6, 12)],
    ...     "urgency": ["high", "high"], "responder": ["ana", "bo"], "rule": ["Disk", "Disk"]})
    >>> report = fatigue(pages, period=(at(5, 0), at(12, 0)))
    >>> report.responders.select("responder", "sleep", "business").rows()
    [('ana', 1, 0), ('bo', 0, 1)]
    >>> report.weekly["pages"].to_list()      # one week: the period ends before Monday the 12th
    [2]
    """
    pages = conform(pages, PAGES, file="pages")
    if shifts is not None:
        shifts = conform(shifts, SHIFTS, file="shifts")
    span = _period(pages, shifts, period)
    if period is not None:
        inside = pages.filter(pl.col("paged_at").is_between(period[0], period[1], closed="left"))
        if inside.height < pages.height:
            log.info("%d pages outside the period are left out", pages.height - inside.height)
        pages = inside
    found = interruptions(pages, shifts, dedupe=dedupe, timezones=timezones, default_tz=default_tz,
                          buckets=buckets, routing=routing, urgencies=urgencies)
    assigned = assign_responders(pages, shifts, routing=routing)
    people = set(shifts["responder"].to_list()) if shifts is not None else set()
    paged_people = assigned["responder"].drop_nulls().to_list()
    zones = responder_zones(pl.Series([*people, *paged_people], dtype=pl.String), shifts,
                            timezones=timezones, default_tz=default_tz)
    return Fatigue(
        interruptions=found,
        weekly=pages_per_week(pages, found, period=span),
        teams=pages_per_team(pages, found, period=span),
        shifts=pages_per_shift(pages, shifts, routing=routing) if shifts is not None else None,
        responders=responder_fatigue(found, responders=people, pages=assigned, zones=zones, period=span),
        rules=noisy_rules(pages, incidents, early=early, late=late),
    )


def pages_from_incidents(incidents: pl.DataFrame, *, default_urgency: str = "high") -> pl.DataFrame:
    """An incident history (PagerDuty/Opsgenie import) as Pages: every incident paged someone once.

    ``page_id`` ← incident_id, ``paged_at`` ← started_at, ``urgency`` ← urgency (else
    ``default_urgency``), ``service``, ``team`` (when present), ``acknowledged_at``, ``resolved_at``,
    ``responder`` ← the first assignee (when the import kept ``assignees``), else ``responder``, and
    ``rule`` ← title, so :func:`noisy_rules` lists the most frequent incident titles (PagerDuty's
    "most frequent incidents").

    >>> import polars as pl, datetime as dt
    >>> at = dt.datetime(2026, 1, 5, 3, tzinfo=dt.UTC)
    >>> incidents = pl.DataFrame({"incident_id": ["PX1"], "service": ["web"], "started_at": [at],
    ...     "resolved_at": [None], "severity": [None], "responder": ["ana"], "title": ["Disk full"]})
    >>> pages_from_incidents(incidents).select("page_id", "urgency", "responder", "rule").row(0)
    ('PX1', 'high', 'ana', 'Disk full')
    """
    incidents = conform(incidents, INCIDENTS, file="incidents")

    def optional(name: str, dtype: pl.DataType) -> pl.Expr:
        return pl.col(name) if name in incidents.columns else pl.lit(None, dtype=dtype)

    first_assignee = (pl.col("assignees").list.first() if "assignees" in incidents.columns
                      else pl.lit(None, dtype=pl.String))
    pages = incidents.select(
        page_id=pl.col("incident_id"), paged_at=pl.col("started_at"),
        urgency=optional("urgency", pl.String()).fill_null(default_urgency),
        service=pl.col("service"), team=optional("team", pl.String()),
        acknowledged_at=optional("acknowledged_at", INSTANT), resolved_at=pl.col("resolved_at"),
        responder=pl.coalesce(first_assignee, optional("responder", pl.String())),
        rule=optional("title", pl.String()),
    )
    return conform(pages, PAGES, file="pages")
