"""Wall-clock arithmetic in IANA time zones, on integer microseconds since the Unix epoch (UTC).

Rotations and restrictions are defined on the *wall clock* of a zone: a handoff at 09:00 stays at 09:00
across daylight-saving changes. Converting a wall-clock time to an instant follows two rules:

- an ambiguous time (the repeated hour when clocks go back) is its *first* occurrence;
- a non-existent time (the skipped hour when clocks go forward) is the instant of the transition,
  so wall-clock boundaries map to non-decreasing instants.

Local hour-of-week lookups over many instants use a table with one entry per 15 minutes (every zone's
current offset is a multiple of 15 minutes), so they vectorise over numpy arrays.

>>> from datetime import datetime
>>> us = local_to_utc_us(datetime(2026, 3, 29, 2, 30), "Europe/Berlin")   # skipped hour
>>> utc_us_to_local(us, "Europe/Berlin")
datetime.datetime(2026, 3, 29, 3, 0)
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import polars as pl

from alertsim.durations import to_datetime as from_us
from alertsim.durations import to_us
from alertsim.errors import ConfigError

US = 1_000_000
MINUTE_US = 60 * US
HOUR_US = 3600 * US
DAY_US = 24 * HOUR_US
SLOT_US = 15 * MINUTE_US
NEVER = np.iinfo(np.int64).max
"""Sentinel for 'no such instant' in int64 microsecond arrays (never reached)."""

SLEEP, OFF, BUSINESS = 0, 1, 2
BUCKETS = ("sleep", "off", "business")
"""PagerDuty's disjoint partition of the week in a person's own zone: sleep every day 22:00–08:00,
business Mon–Fri 08:00–18:00, off hours the rest (weekday evenings, weekend days)."""


@lru_cache(maxsize=256)
def zone(name: str, *, field: str = "tz") -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA name; ``ConfigError`` naming ``field`` when unknown."""
    if not isinstance(name, str) or not name:
        raise ConfigError(f"expected an IANA time zone name such as 'Europe/Berlin', got {name!r}",
                          field=field)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {name!r}; use an IANA name such as 'Europe/Berlin', "
                          "'America/New_York' or 'UTC'", field=field) from None


def local_to_utc_us(wall: datetime, tz: str) -> int:
    """A naive wall-clock time in ``tz`` as microseconds since the epoch (rules in the module doc)."""
    info = zone(tz)
    first = wall.replace(tzinfo=info, fold=0)
    us = to_us(first)
    if from_us(us).astimezone(info).replace(tzinfo=None) == wall:
        return us
    # Non-existent: the transition lies between the readings with the new and the old offset.
    low = to_us(wall.replace(tzinfo=info, fold=1))
    high = us
    low, high = min(low, high), max(low, high)
    offset_high = from_us(high).astimezone(info).utcoffset()
    while high - low > MINUTE_US:
        mid = (low + high) // 2 // MINUTE_US * MINUTE_US
        if mid <= low:
            break
        if from_us(mid).astimezone(info).utcoffset() == offset_high:
            high = mid
        else:
            low = mid
    return high


def utc_us_to_local(us: int, tz: str) -> datetime:
    """Microseconds since the epoch as a naive wall-clock time in ``tz``."""
    return from_us(us).astimezone(zone(tz)).replace(tzinfo=None)


def parse_local(value: object, tz: str, *, field: str, end_of_day: bool = False) -> datetime:
    """A design-file time as a naive wall-clock time in ``tz``.

    Accepts ``datetime`` / ``date`` objects (YAML parses unquoted timestamps) and ISO-8601 strings;
    an aware value is converted to ``tz``. A bare date means its midnight, or the next midnight when
    ``end_of_day`` (so an inclusive end date covers the whole day).
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00")) if "T" in text or " " in text \
                else date.fromisoformat(text)
        except ValueError:
            raise ConfigError(f"{value!r} is not an ISO-8601 date or time such as '2026-01-05T09:00'",
                              field=field) from None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(zone(tz)).replace(tzinfo=None)
        return value
    if isinstance(value, date):
        day = datetime(value.year, value.month, value.day)
        return day + timedelta(days=1) if end_of_day else day
    raise ConfigError(f"expected an ISO-8601 date or time such as '2026-01-05T09:00', got {value!r}",
                      field=field)


def parse_instant_us(value: object, *, field: str) -> int:
    """An instant given as an aware ``datetime``, ISO string or ``date`` (UTC) as microseconds."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return to_us(value)
    wall = parse_local(value, "UTC", field=field)
    return to_us(wall.replace(tzinfo=UTC))


def week_bucket_table() -> np.ndarray:
    """The bucket (``SLEEP``/``OFF``/``BUSINESS``) of each hour of the week, Monday 00:00 first."""
    table = np.full(168, OFF, dtype=np.int8)
    for day in range(7):
        for hour in range(24):
            if hour >= 22 or hour < 8:
                table[day * 24 + hour] = SLEEP
            elif day < 5 and 8 <= hour < 18:
                table[day * 24 + hour] = BUSINESS
    return table


WEEK_BUCKETS = week_bucket_table()


@lru_cache(maxsize=512)
def _hour_of_week_slots(tz: str, first_slot: int, count: int) -> np.ndarray:
    instants = pl.Series(np.arange(first_slot, first_slot + count, dtype=np.int64) * SLOT_US)
    local = instants.cast(pl.Datetime("us", "UTC")).dt.convert_time_zone(tz)
    table = ((local.dt.weekday().cast(pl.Int16) - 1) * 24 + local.dt.hour().cast(pl.Int16)).to_numpy()
    table.setflags(write=False)
    return table


class LocalClock:
    """Hour-of-week (Monday 00:00 = 0 … Sunday 23:00 = 167) of instants in one zone, vectorised.

    Covers ``[start_us, end_us)`` rounded out to whole days; :meth:`hour_of_week` raises for instants
    outside (callers size the horizon).
    """

    def __init__(self, tz: str, start_us: int, end_us: int):
        self.tz = tz
        zone(tz)
        self.first_slot = (start_us // DAY_US) * (DAY_US // SLOT_US)
        last_slot = -(-end_us // DAY_US) * (DAY_US // SLOT_US)
        self.table = _hour_of_week_slots(tz, self.first_slot, max(1, last_slot - self.first_slot))

    def hour_of_week(self, us: np.ndarray) -> np.ndarray:
        index = np.floor_divide(us, SLOT_US) - self.first_slot
        if index.size and (index.min() < 0 or index.max() >= self.table.size):
            raise ValueError("instant outside the clock's horizon")
        return self.table[index]


def hour_of_week(us: int, tz: str) -> int:
    """Hour of the week of one instant in ``tz`` (Monday 00:00 = 0), straight from ``zoneinfo``."""
    local = from_us(us).astimezone(zone(tz))
    return local.weekday() * 24 + local.hour


def bucket(us: int, tz: str) -> str:
    """``'sleep'``, ``'off'`` or ``'business'`` for one instant in ``tz``."""
    return BUCKETS[int(WEEK_BUCKETS[hour_of_week(us, tz)])]
