"""Alertmanager ``time_intervals``: when a route is muted (``mute_time_intervals``) or active
(``active_time_intervals``).

A :class:`TimeInterval` matches an instant when every field it sets matches, in its ``location``
(UTC by default): ``times`` are ``[start, end)`` minutes of the local day, ``weekdays`` run Sunday=0
to Saturday=6, ``days_of_month`` may count from the end (-1 is the last day; ranges are clamped to
the month), ``months`` and ``years`` are inclusive ranges. Semantics follow Alertmanager's
``timeinterval.ContainsTime``.

:func:`minute_mask` evaluates intervals for every minute of a span at once; every field is constant
within a UTC minute (time-zone offsets are whole minutes), so the mask is exact.

>>> import datetime as dt
>>> weekend = TimeInterval(weekdays=((6, 6), (0, 0)))
>>> weekend.contains(dt.datetime(2026, 1, 3, 12, 0, tzinfo=dt.UTC))   # a Saturday
True
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import polars as pl

from alertsim.errors import ConfigError

Range = tuple[int, int]
_TIME = re.compile(r"^((([01][0-9])|(2[0-3])):[0-5][0-9])$|(^24:00$)")
WEEKDAYS = {"sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5,
            "saturday": 6}
MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MINUTE_US = 60_000_000


@dataclass(frozen=True, kw_only=True)
class TimeInterval:
    """One ``<time_interval>`` entry. ``None`` for a field means "any"; an empty tuple matches nothing.

    ``times`` holds ``(start_minute, end_minute)`` pairs of the local day, end exclusive;
    the other fields hold inclusive ``(begin, end)`` ranges.
    """

    times: tuple[Range, ...] | None = None
    weekdays: tuple[Range, ...] | None = None
    days_of_month: tuple[Range, ...] | None = None
    months: tuple[Range, ...] | None = None
    years: tuple[Range, ...] | None = None
    location: str = "UTC"

    def contains(self, instant: datetime) -> bool:
        """Whether ``instant`` (timezone-aware) falls in this interval."""
        local = instant.astimezone(ZoneInfo(self.location))
        if self.times is not None:
            minute = local.hour * 60 + local.minute
            if not any(start <= minute < end for start, end in self.times):
                return False
        if self.days_of_month is not None:
            days = calendar.monthrange(local.year, local.month)[1]
            if not any(_day_in(local.day, days, begin, end) for begin, end in self.days_of_month):
                return False
        if self.months is not None and not any(b <= local.month <= e for b, e in self.months):
            return False
        if self.weekdays is not None:
            weekday = (local.weekday() + 1) % 7
            if not any(b <= weekday <= e for b, e in self.weekdays):
                return False
        return self.years is None or any(b <= local.year <= e for b, e in self.years)


def _day_in(day: int, days: int, begin: int, end: int) -> bool:
    b = days + begin + 1 if begin < 0 else begin
    e = days + end + 1 if end < 0 else end
    if b > days:
        return False
    b = min(max(b, -days), days)
    e = min(max(e, -days), days)
    return b <= day <= e


def _ranges_expr(column: pl.Expr, ranges: tuple[Range, ...]) -> pl.Expr:
    if not ranges:
        return pl.lit(False)
    return pl.any_horizontal([(column >= b) & (column <= e) for b, e in ranges])


def _interval_expr(interval: TimeInterval, frame: pl.DataFrame) -> pl.Series:
    local = frame["minute"].dt.convert_time_zone(interval.location)
    parts = pl.DataFrame({
        "minute_of_day": local.dt.hour().cast(pl.Int32) * 60 + local.dt.minute().cast(pl.Int32),
        "day": local.dt.day().cast(pl.Int32),
        "month": local.dt.month().cast(pl.Int32),
        "year": local.dt.year().cast(pl.Int32),
        "weekday": local.dt.weekday().cast(pl.Int32) % 7,
    })
    conditions: list[pl.Expr] = []
    if interval.times is not None:
        conditions.append(pl.any_horizontal([(pl.col("minute_of_day") >= s) & (pl.col("minute_of_day") < e)
                                             for s, e in interval.times]) if interval.times else pl.lit(False))
    if interval.days_of_month is not None:
        days = pl.date(pl.col("year"), pl.col("month"), 1).dt.month_end().dt.day().cast(pl.Int32)
        alternatives: list[pl.Expr] = []
        for begin, end in interval.days_of_month:
            b = days + begin + 1 if begin < 0 else pl.lit(begin)
            e = days + end + 1 if end < 0 else pl.lit(end)
            b_clamped = pl.min_horizontal(pl.max_horizontal(b, -days), days)
            e_clamped = pl.min_horizontal(pl.max_horizontal(e, -days), days)
            alternatives.append((b <= days) & (pl.col("day") >= b_clamped) & (pl.col("day") <= e_clamped))
        conditions.append(pl.any_horizontal(alternatives) if alternatives else pl.lit(False))
    if interval.months is not None:
        conditions.append(_ranges_expr(pl.col("month"), interval.months))
    if interval.weekdays is not None:
        conditions.append(_ranges_expr(pl.col("weekday"), interval.weekdays))
    if interval.years is not None:
        conditions.append(_ranges_expr(pl.col("year"), interval.years))
    if not conditions:
        return pl.Series(np.ones(frame.height, dtype=bool))
    return parts.select(pl.all_horizontal(conditions).alias("in"))["in"]


def minute_mask(intervals: Sequence[TimeInterval], start_us: int, end_us: int) -> tuple[int, np.ndarray]:
    """Which minutes of ``[start, end]`` fall in any of ``intervals``.

    Returns the first minute (µs since the epoch, floored to the minute) and one bool per minute.
    """
    first = start_us - start_us % _MINUTE_US
    count = max(1, (end_us - first) // _MINUTE_US + 1)
    minutes = (pl.Series(np.arange(count, dtype=np.int64) * _MINUTE_US + first)
               .cast(pl.Datetime("us", "UTC")))
    frame = pl.DataFrame({"minute": minutes})
    mask = np.zeros(count, dtype=bool)
    for interval in intervals:
        mask |= _interval_expr(interval, frame).to_numpy().astype(bool)
    return first, mask


def mask_boundaries(first: int, mask: np.ndarray) -> list[int]:
    """Turn a per-minute mask into flat ``[start, end, start, end, ...]`` µs boundaries of its runs.

    A run still true at the last minute ends one minute after it.
    """
    if mask.size == 0:
        return []
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [int(first + i * _MINUTE_US) for i in edges]


# --- parsing -------------------------------------------------------------------------------------

def _parse_clock(text: Any, *, field: str) -> int:
    if not isinstance(text, str) or not _TIME.match(text):
        raise ConfigError(f"{text!r} is not a time of day; use HH:MM from 00:00 to 24:00", field=field)
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _member(text: str, names: Mapping[str, int] | None, *, field: str, allow_numbers: bool) -> int:
    key = text.strip().lower()
    if names is not None and key in names:
        return names[key]
    if allow_numbers:
        try:
            return int(key)
        except ValueError:
            pass
    allowed = f"one of {', '.join(names)}" if names else "an integer"
    raise ConfigError(f"{text!r} is not valid here; expected {allowed}", field=field)


def _parse_range(item: Any, names: Mapping[str, int] | None, *, field: str,
                 allow_numbers: bool = True) -> Range:
    if isinstance(item, bool) or not isinstance(item, str | int):
        raise ConfigError(f"expected a string such as 'monday:friday' or '1:5', got {item!r}", field=field)
    text = str(item).lower()
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 2:
            raise ConfigError(f"couldn't parse range {item!r}, invalid format", field=field)
        return (_member(parts[0], names, field=field, allow_numbers=allow_numbers),
                _member(parts[1], names, field=field, allow_numbers=allow_numbers))
    value = _member(text, names, field=field, allow_numbers=allow_numbers)
    return (value, value)


def _list(value: Any, *, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"expected a list, got {value!r}", field=field)
    return value


def parse_time_interval(raw: Any, *, field: str) -> TimeInterval:
    """Parse one ``<time_interval>`` mapping (``times``, ``weekdays``, ``days_of_month``, ``months``,
    ``years``, ``location``), validating it the way Alertmanager does."""
    if not isinstance(raw, dict):
        raise ConfigError(f"expected a mapping, got {raw!r}", field=field)
    for key in raw:
        if key not in _PARSERS:
            raise ConfigError(f"unknown key {key!r}; allowed: {', '.join(sorted(_PARSERS))}",
                              field=f"{field}.{key}")
    return TimeInterval(**{key: parse(raw[key], f"{field}.{key}") for key, parse in _PARSERS.items() if key in raw})


def _times(value: Any, field: str) -> tuple[tuple[int, int], ...]:
    times = []
    for i, item in enumerate(_list(value, field=field)):
        where = f"{field}[{i}]"
        if not isinstance(item, dict) or set(item) - {"start_time", "end_time"}:
            raise ConfigError("expected {start_time: HH:MM, end_time: HH:MM}", field=where)
        if not item.get("start_time") or not item.get("end_time"):
            raise ConfigError("both start_time and end_time must be provided", field=where)
        start = _parse_clock(item["start_time"], field=f"{where}.start_time")
        end = _parse_clock(item["end_time"], field=f"{where}.end_time")
        if start >= end:
            raise ConfigError("start_time must be before end_time", field=where)
        times.append((start, end))
    return tuple(times)


def _weekdays(value: Any, field: str) -> tuple[Range, ...]:
    ranges = []
    for i, item in enumerate(_list(value, field=field)):
        where = f"{field}[{i}]"
        b, e = _parse_range(item, WEEKDAYS, field=where, allow_numbers=False)
        if b > e:
            raise ConfigError(f"start day {item!r} is after the end day", field=where)
        ranges.append((b, e))
    return tuple(ranges)


def _days_of_month(value: Any, field: str) -> tuple[Range, ...]:
    ranges = []
    for i, item in enumerate(_list(value, field=field)):
        where = f"{field}[{i}]"
        b, e = _parse_range(item, None, field=where)
        for day in (b, e):
            if day == 0 or day < -31 or day > 31:
                raise ConfigError(f"{day} is not a valid day of the month (1..31 or -31..-1)", field=where)
        if b < 0 < e:
            raise ConfigError("end day must be negative if start day is negative", field=where)
        if (28 + b if b < 0 else b) > (28 + e if e < 0 else e):
            raise ConfigError(f"end day {e} is always before start day {b}", field=where)
        ranges.append((b, e))
    return tuple(ranges)


def _months(value: Any, field: str) -> tuple[Range, ...]:
    ranges = []
    for i, item in enumerate(_list(value, field=field)):
        where = f"{field}[{i}]"
        b, e = _parse_range(item, MONTHS, field=where)
        if not (1 <= b <= 12 and 1 <= e <= 12):
            raise ConfigError(f"{item!r} is not a valid month (1..12 or january..december)", field=where)
        if b > e:
            raise ConfigError(f"end month is before start month in {item!r}", field=where)
        ranges.append((b, e))
    return tuple(ranges)


def _years(value: Any, field: str) -> tuple[Range, ...]:
    ranges = []
    for i, item in enumerate(_list(value, field=field)):
        where = f"{field}[{i}]"
        b, e = _parse_range(item, None, field=where)
        if b > e:
            raise ConfigError(f"end year is before start year in {item!r}", field=where)
        ranges.append((b, e))
    return tuple(ranges)


def _location(location: Any, field: str) -> str:
    if not isinstance(location, str) or location == "Local":
        raise ConfigError(f"location must be an IANA time zone name such as 'Europe/Berlin', got "
                          f"{location!r} ('Local' depends on the machine and is not reproducible)", field=field)
    try:
        ZoneInfo(location)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {location!r}", field=field) from None
    return location


#: Each field of a ``<time_interval>`` and its parser, in the order they are checked.
_PARSERS: dict[str, Callable[[Any, str], Any]] = {
    "times": _times, "weekdays": _weekdays, "days_of_month": _days_of_month, "months": _months, "years": _years,
    "location": _location,
}
