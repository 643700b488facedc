"""Durations in Prometheus' grammar (``500ms``, ``30s``, ``5m``, ``1h30m``, ``7d``, ``2w``, ``1y``) and
instants in ISO 8601 / RFC 3339 — the one parser of both for every option, file and API argument.

Units must appear largest first, each at most once; ``0`` alone means zero. A ``timedelta`` passes
through unchanged, so every API that takes a duration accepts either. An instant is an aware or naive
``datetime`` or an ISO-8601 string (``Z`` allowed); naive means UTC unless the caller requires an offset.

>>> parse_duration("1h30m")
datetime.timedelta(seconds=5400)
>>> format_duration(parse_duration("90s"))
'1m30s'
>>> parse_instant("2026-03-02T00:00:00Z", field="start")
datetime.datetime(2026, 3, 2, 0, 0, tzinfo=datetime.timezone.utc)
>>> instant_us("1970-01-01T00:00:01", field="start")
1000000
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from alertsim.errors import ConfigError

_UNITS_MS = {"y": 365 * 86_400_000, "w": 7 * 86_400_000, "d": 86_400_000, "h": 3_600_000,
             "m": 60_000, "s": 1000, "ms": 1}
_PATTERN = re.compile(  # ASCII digits only: "\d" would also take other scripts' digits
    r"(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?"
)
_MAX_MS = timedelta.max // timedelta(milliseconds=1)
_ORDER = ("y", "w", "d", "h", "m", "s", "ms")

Duration = timedelta | str
"""Anything accepted where a duration is expected."""


def parse_duration(value: Duration, *, field: str = "duration") -> timedelta:
    """Parse a Prometheus duration string (or pass a ``timedelta`` through).

    Raises ``ConfigError`` naming ``field`` for anything else, e.g. ``"5 min"``, ``"1.5h"``,
    ``"30m1h"`` or a negative ``timedelta``.
    """
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise ConfigError(f"must not be negative, got {value}", field=field)
        return value
    if not isinstance(value, str):
        raise ConfigError(
            f"expected a duration such as '30s', '5m', '1h30m', got {value!r} ({type(value).__name__})",
            field=field,
        )
    text = value.strip()
    if text == "0":
        return timedelta(0)
    match = _PATTERN.fullmatch(text)
    if not text or match is None:
        raise ConfigError(
            f"{value!r} is not a duration; use integers with units ms, s, m, h, d, w, y, "
            "largest unit first, e.g. '500ms', '30s', '5m', '1h30m', '7d', '2w'",
            field=field,
        )
    total_ms = sum(int(n) * _UNITS_MS[u] for n, u in zip(match.groups(), _ORDER, strict=True) if n)
    if total_ms > _MAX_MS:
        raise ConfigError(f"{value!r} is too long a duration (at most about 2.7 million years)", field=field)
    return timedelta(milliseconds=total_ms)


def format_duration(value: timedelta) -> str:
    """Format a ``timedelta`` in Prometheus' grammar, the inverse of :func:`parse_duration`.

    The grammar's smallest unit is the millisecond, so a finer duration is rounded to the nearest one.
    """
    total_us = value // timedelta(microseconds=1)
    total_ms = (total_us + 500) // 1000
    if total_ms < 0:
        raise ConfigError(f"cannot format a negative duration {value}", field="duration")
    if total_ms == 0:
        return "0s"
    parts = []
    for unit in _ORDER:
        n, total_ms = divmod(total_ms, _UNITS_MS[unit])
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts)


def to_microseconds(value: Duration, *, field: str = "duration") -> int:
    """A duration as integer microseconds, the unit of alertsim's instants."""
    return parse_duration(value, field=field) // timedelta(microseconds=1)


def describe_span(span: timedelta) -> str:
    """A replayed window for a person: days from two days on, hours below (never "0 days").

    >>> describe_span(timedelta(days=60)), describe_span(timedelta(hours=5, minutes=30))
    ('60 days', '5.5 hours')
    """
    if span >= timedelta(days=2):
        return f"{span / timedelta(days=1):.0f} days"
    return f"{span / timedelta(hours=1):.1f} hours"


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EXAMPLE_INSTANT = "2026-03-02T00:00:00Z"


def _from_iso(text: str) -> datetime | None:
    """The ISO-8601 / RFC 3339 grammar itself: ``Z``/``z`` mean UTC, surrounding spaces are ignored; None
    when ``text`` is not an instant (naive when it has no offset)."""
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None


def iso_instant(value: Any) -> datetime | None:
    """An ISO-8601 string as an aware ``datetime`` (no offset means UTC), or None when ``value`` is not
    one — for readers of exports that skip a malformed stamp; :func:`parse_instant` raises instead.

    >>> iso_instant("2026-03-02T10:00:00Z") == iso_instant("2026-03-02 10:00:00")
    True
    >>> iso_instant("yesterday") is None
    True
    """
    parsed = _from_iso(value) if isinstance(value, str) else None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def parse_instant(value: Any, *, field: str, file: str | None = None, naive_is_utc: bool = True,
                  relative: bool = False) -> datetime:
    """An instant as an aware ``datetime``: a ``datetime`` or an ISO-8601 / RFC 3339 string.

    ``naive_is_utc=False`` refuses an instant without an offset (Alertmanager's API always has one);
    ``relative=True`` also takes ``now`` and ``now-30d`` (a duration before the present).
    A ``ConfigError`` names ``field`` (and ``file``) and shows the accepted form.
    """
    allowed = f"an ISO-8601 instant such as {EXAMPLE_INSTANT}" + (", 'now' or 'now-30d'" if relative else "")
    if isinstance(value, str):
        text = value.strip()
        if relative and text.lower() == "now":
            return datetime.now(UTC)
        if relative and text.lower().startswith("now-") and text[4:].strip() and _PATTERN.fullmatch(text[4:].strip()):
            return datetime.now(UTC) - parse_duration(text[4:], field=field)
        found = _from_iso(text)
        if found is None:
            raise ConfigError(f"{value!r} is not {allowed}", field=field, file=file)
        parsed = found
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise ConfigError(f"expected {allowed}, got {value!r} ({type(value).__name__})", field=field, file=file)
    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise ConfigError(f"{value!r} has no time zone offset; write e.g. {EXAMPLE_INSTANT}",
                              field=field, file=file)
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def to_us(instant: datetime) -> int:
    """An aware ``datetime`` as integer microseconds since the epoch, alertsim's unit of time."""
    return (instant - EPOCH) // timedelta(microseconds=1)


def to_datetime(us: int) -> datetime:
    """The UTC instant ``us`` microseconds after the epoch."""
    return EPOCH + timedelta(microseconds=int(us))


def instant_us(value: Any, *, field: str, naive_is_utc: bool = True, relative: bool = False) -> int:
    """:func:`parse_instant` as microseconds since the epoch."""
    return to_us(parse_instant(value, field=field, naive_is_utc=naive_is_utc, relative=relative))
