"""On-call schedules: PagerDuty-style layers rendered to a Shifts frame.

A :class:`Schedule` stacks :class:`Layer` s (the last layer wins where layers overlap) and puts
:class:`Override` s on top. A layer rotates an ordered list of users in turns of fixed wall-clock
length counted from ``start`` (the rotation's virtual start) in the layer's IANA zone, so a weekly
handoff at Monday 09:00 stays at 09:00 local time through daylight-saving changes.

Restrictions mask a layer to daily or weekly windows. With ``turns="elapse"`` (PagerDuty) turns keep
counting during restricted time; with ``turns="active"`` (Grafana OnCall's masked days) a turn that is
entirely masked does not use up a user. People on :class:`TimeOff` are covered by the next user of the
layer who is not away; ``holidays`` mask layers marked ``holidays="skip"``. A :class:`FixedLayer`
holds explicit shifts (an imported iCal feed, a balanced assignment).

Only one person is on call per schedule at a time; instants where nobody is are coverage gaps.

>>> from datetime import datetime, timedelta, UTC
>>> primary = Schedule(name="primary", tz="Europe/Berlin", layers=(
...     Layer(users=("ana", "bo"), turn=timedelta(weeks=1), start=datetime(2026, 1, 5, 9)),))
>>> on_call(primary, datetime(2026, 1, 12, 8, 0, tzinfo=UTC))   # 09:00 Berlin: bo's turn begins
'bo'
>>> shifts(primary, datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 19, tzinfo=UTC)).height
3
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from alertsim.errors import ConfigError, InputError, Problem
from alertsim.frames import INSTANT, SHIFTS
from alertsim.oncall._config import Section
from alertsim.oncall._time import (
    from_us,
    local_to_utc_us,
    parse_instant_us,
    parse_local,
    to_us,
    utc_us_to_local,
    zone,
)

_DAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}


@dataclass(frozen=True, kw_only=True)
class Restriction:
    """A window in which a layer may assign, on the layer's wall clock (PagerDuty semantics).

    ``kind="daily"``: every day from ``start`` for ``duration`` (at most a day; may cross midnight).
    ``kind="weekly"``: every week from ISO weekday ``day`` (1 = Monday) at ``start`` for ``duration``
    (at most a week).
    """

    kind: Literal["daily", "weekly"]
    start: time
    duration: timedelta
    day: int | None = None

    def __post_init__(self) -> None:
        limit = timedelta(days=1) if self.kind == "daily" else timedelta(days=7)
        if self.kind not in ("daily", "weekly"):
            raise ConfigError(f"restriction kind {self.kind!r}; use 'daily' or 'weekly'", field="type")
        if not timedelta(0) < self.duration <= limit:
            raise ConfigError(f"{self.kind} restriction duration must be > 0 and <= {limit}, "
                              f"got {self.duration}", field="duration")
        if self.kind == "weekly" and (self.day is None or not 1 <= self.day <= 7):
            raise ConfigError(f"weekly restriction needs day 1-7 (1 = Monday), got {self.day!r}",
                              field="day")
        if self.kind == "daily" and self.day is not None:
            raise ConfigError("a daily restriction takes no day", field="day")


@dataclass(frozen=True, kw_only=True)
class Layer:
    """A rotation: ``users`` take turns of length ``turn`` from ``start`` (naive wall clock in ``tz``).

    Parameters
    ----------
    users : ordered user names; the position is the order of turns.
    turn : turn length (hours to weeks), counted on the wall clock (DST-safe handoffs).
    start : the rotation's virtual start, a naive wall-clock time in the layer's zone; its time of day
        is the handoff time.
    tz : IANA zone of this layer; None (default) uses the schedule's zone. Follow-the-sun schedules give
        each regional layer its own zone and a daily restriction.
    restrictions : windows the layer may cover; empty (default) means always.
    turns : ``"elapse"`` (default, PagerDuty: turns count through restricted time) or ``"active"``
        (a turn entirely outside the restrictions, or on skipped holidays, uses up no one).
    since, until : optional naive wall-clock bounds of the layer.
    holidays : ``"work"`` (default) or ``"skip"``: the layer does not cover the schedule's holidays.
    name : optional label.
    """

    users: tuple[str, ...]
    turn: timedelta
    start: datetime
    tz: str | None = None
    restrictions: tuple[Restriction, ...] = ()
    turns: Literal["elapse", "active"] = "elapse"
    since: datetime | None = None
    until: datetime | None = None
    holidays: Literal["work", "skip"] = "work"
    name: str = ""

    def __post_init__(self) -> None:
        if not self.users or not all(isinstance(u, str) and u for u in self.users):
            raise ConfigError(f"a layer needs a non-empty list of user names, got {self.users!r}",
                              field="users")
        if self.turn < timedelta(minutes=1) or self.turn > timedelta(days=366):
            raise ConfigError(f"turn must be between 1m and 1y, got {self.turn}", field="turn")
        if self.start.tzinfo is not None:
            raise ConfigError("start must be a naive wall-clock time in the layer's zone", field="start")
        if self.tz is not None:
            zone(self.tz)
        if self.turns not in ("elapse", "active"):
            raise ConfigError(f"turns {self.turns!r}; use 'elapse' or 'active'", field="turns")
        if self.holidays not in ("work", "skip"):
            raise ConfigError(f"holidays {self.holidays!r}; use 'work' or 'skip'", field="holidays")
        if self.since and self.until and self.until <= self.since:
            raise ConfigError("until must be after since", field="until")


@dataclass(frozen=True, kw_only=True)
class Entry:
    """One explicit shift of a :class:`FixedLayer` (aware instants)."""

    user: str
    start: datetime
    end: datetime


@dataclass(frozen=True, kw_only=True)
class FixedLayer:
    """A layer of explicit shifts: an imported iCal feed or a balanced assignment."""

    entries: tuple[Entry, ...]
    name: str = ""


@dataclass(frozen=True, kw_only=True)
class Override:
    """``user`` is on call from ``start`` to ``end`` (aware instants), above every layer."""

    user: str
    start: datetime
    end: datetime


@dataclass(frozen=True, kw_only=True)
class TimeOff:
    """``user`` is away from ``start`` to ``end`` (aware instants); the next user of each layer covers."""

    user: str
    start: datetime
    end: datetime


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """Layers (last wins), overrides on top, time off and holidays; one person on call at a time.

    ``tz`` is the schedule's IANA zone: the default for its layers and the zone of ``holidays``.
    """

    name: str
    tz: str
    layers: tuple[Layer | FixedLayer, ...]
    overrides: tuple[Override, ...] = ()
    time_off: tuple[TimeOff, ...] = ()
    holidays: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        zone(self.tz)
        if not self.layers:
            raise ConfigError(f"schedule {self.name!r} has no layers", field="layers")
        spans: tuple[Override | TimeOff, ...] = (*self.overrides, *self.time_off)
        for item in spans:
            if item.end <= item.start:
                raise ConfigError(f"{type(item).__name__.lower()} for {item.user!r} ends before it "
                                  f"starts ({item.start} → {item.end})", field=self.name)

    @property
    def users(self) -> tuple[str, ...]:
        """Everyone who can be on call on this schedule, in first-appearance order."""
        seen: dict[str, None] = {}
        for layer in self.layers:
            names = layer.users if isinstance(layer, Layer) else tuple(e.user for e in layer.entries)
            seen.update(dict.fromkeys(names))
        seen.update(dict.fromkeys(o.user for o in self.overrides))
        return tuple(seen)


# --------------------------------------------------------------------------------------- rendering


def _merge(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(intervals):
        if hi <= lo:
            continue
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _intersect(a: list[tuple[datetime, datetime]], b: list[tuple[datetime, datetime]]
               ) -> list[tuple[datetime, datetime]]:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _subtract(a: list[tuple[datetime, datetime]], b: list[tuple[datetime, datetime]]
              ) -> list[tuple[datetime, datetime]]:
    out = []
    for lo, hi in a:
        pieces = [(lo, hi)]
        for blo, bhi in b:
            if bhi <= lo or blo >= hi:
                continue
            pieces = [p for q in pieces for p in ((q[0], min(q[1], blo)), (max(q[0], bhi), q[1]))
                      if p[0] < p[1]]
        out += pieces
    return out


def _restriction_windows(layer: Layer, lo: datetime, hi: datetime) -> list[tuple[datetime, datetime]]:
    windows = []
    for r in layer.restrictions:
        if r.kind == "daily":
            day = datetime.combine(lo.date() - timedelta(days=1), r.start)
            while day < hi:
                windows.append((day, day + r.duration))
                day += timedelta(days=1)
        else:
            monday = datetime.combine(lo.date() - timedelta(days=lo.weekday() + 7), time())
            while monday < hi:
                begin = monday + timedelta(days=(r.day or 1) - 1) + timedelta(
                    hours=r.start.hour, minutes=r.start.minute, seconds=r.start.second)
                windows.append((begin, begin + r.duration))
                monday += timedelta(days=7)
    return _merge(windows)


def _visible(layer: Layer, lo: datetime, hi: datetime, holidays: tuple[date, ...]
             ) -> list[tuple[datetime, datetime]]:
    """Wall-clock pieces of [lo, hi) in which ``layer`` may assign."""
    if layer.since is not None:
        lo = max(lo, layer.since)
    if layer.until is not None:
        hi = min(hi, layer.until)
    if hi <= lo:
        return []
    pieces = [(lo, hi)]
    if layer.restrictions:
        pieces = _intersect(pieces, _restriction_windows(layer, lo, hi))
    if layer.holidays == "skip" and holidays:
        days = [(datetime.combine(d, time()), datetime.combine(d, time()) + timedelta(days=1))
                for d in holidays if lo.date() - timedelta(days=1) <= d <= hi.date()]
        pieces = _subtract(pieces, days)
    return pieces


def _render_rotation(layer: Layer, tz: str, holidays: tuple[date, ...], w0: int, w1: int
                     ) -> list[tuple[int, int, str]]:
    """(start_us, end_us, user) segments of a rotation layer over [w0, w1)."""
    local0 = utc_us_to_local(w0, tz) - timedelta(days=1)
    local1 = utc_us_to_local(w1, tz) + timedelta(days=1)
    k0 = (local0 - layer.start) // layer.turn - 1
    k1 = (local1 - layer.start) // layer.turn + 1
    n = len(layer.users)

    def bounds(k: int) -> tuple[datetime, datetime]:
        return layer.start + k * layer.turn, layer.start + (k + 1) * layer.turn

    ordinal: dict[int, int] = {}
    if layer.turns == "active":
        # Count only turns with visible time, from the virtual start (turn 0) outwards.
        count = 0
        for k in range(0, max(k1, 0) + 1):
            ordinal[k] = count
            if _visible(layer, *bounds(k), holidays):
                count += 1
        count = 0
        for k in range(-1, min(k0, 0) - 1, -1):
            if _visible(layer, *bounds(k), holidays):
                count += 1
            ordinal[k] = -count
    segments = []
    for k in range(k0, k1 + 1):
        lo, hi = bounds(k)
        pieces = _visible(layer, lo, hi, holidays)
        user = layer.users[(ordinal[k] if layer.turns == "active" else k) % n]
        for plo, phi in pieces:
            a, b = max(local_to_utc_us(plo, tz), w0), min(local_to_utc_us(phi, tz), w1)
            if a < b:
                segments.append((a, b, user))
    return segments


def _apply_time_off(segments: list[tuple[int, int, str]], order: tuple[str, ...] | None,
                    away: Mapping[str, list[tuple[int, int]]]) -> list[tuple[int, int, str]]:
    """Cover away users by the next user in ``order`` who is not away (None: leave a gap)."""
    if not away:
        return segments
    cuts = sorted({t for spans in away.values() for span in spans for t in span})
    out = []
    for a, b, user in segments:
        inner = [t for t in cuts if a < t < b]
        for lo, hi in zip([a, *inner], [*inner, b], strict=True):
            def is_away(name: str, lo: int = lo) -> bool:
                return any(s <= lo < e for s, e in away.get(name, ()))
            if not is_away(user):
                out.append((lo, hi, user))
            elif order is not None:
                start = order.index(user)
                cover = next((order[(start + i) % len(order)] for i in range(1, len(order))
                              if not is_away(order[(start + i) % len(order)])), None)
                if cover is not None:
                    out.append((lo, hi, cover))
    return out


@lru_cache(maxsize=64)
def _render(schedule: Schedule, w0: int, w1: int) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Final schedule over [w0, w1): sorted disjoint (start_us, end_us) arrays and their users."""
    away: dict[str, list[tuple[int, int]]] = {}
    for item in schedule.time_off:
        away.setdefault(item.user, []).append((to_us(item.start), to_us(item.end)))
    stacks: list[list[tuple[int, int, str]]] = []
    for layer in schedule.layers:
        if isinstance(layer, Layer):
            segs = _render_rotation(layer, layer.tz or schedule.tz, schedule.holidays, w0, w1)
            segs = _apply_time_off(segs, layer.users, away)
        else:
            segs = [(max(to_us(e.start), w0), min(to_us(e.end), w1), e.user) for e in layer.entries]
            segs = _apply_time_off([s for s in segs if s[0] < s[1]], None, away)
        stacks.append(sorted(segs))
    overrides = [(max(to_us(o.start), w0), min(to_us(o.end), w1), o.user) for o in schedule.overrides]
    stacks.append(sorted(s for s in overrides if s[0] < s[1]))

    cuts = np.unique(np.array([w0, w1] + [t for stack in stacks for s in stack for t in s[:2]],
                              dtype=np.int64))
    lefts, rights = cuts[:-1], cuts[1:]
    index: dict[str, int] = {}
    owner = np.full(lefts.size, -1, dtype=np.int64)
    for stack in stacks:  # later stacks (then overrides) win
        if not stack:
            continue
        # Overlapping entries within one stack (fixed layers, overrides): the later-starting wins.
        starts = np.array([s[0] for s in stack], dtype=np.int64)
        ends = np.array([s[1] for s in stack], dtype=np.int64)
        codes = np.array([index.setdefault(s[2], len(index)) for s in stack], dtype=np.int64)
        pos = np.searchsorted(starts, lefts, side="right") - 1
        ok = pos >= 0
        safe = np.maximum(pos, 0)
        if np.all(ends[:-1] <= starts[1:]):  # disjoint entries: the one starting last before covers
            chosen = np.where(ok & (lefts < ends[safe]), codes[safe], -1)
        else:  # overlapping entries (explicit shifts, overrides): the latest-starting cover wins
            chosen = np.full(lefts.size, -1, dtype=np.int64)
            reach = np.maximum.accumulate(ends)
            for i in np.flatnonzero(ok & (lefts < reach[safe])):
                j = pos[i]
                while ends[j] <= lefts[i]:
                    j -= 1
                chosen[i] = codes[j]
        owner = np.where(chosen >= 0, chosen, owner)
    lookup = {code: name for name, code in index.items()}
    keep = owner >= 0
    starts, ends, users = lefts[keep], rights[keep], owner[keep]
    if starts.size:  # merge touching intervals of the same user
        new = np.ones(starts.size, dtype=bool)
        new[1:] = (users[1:] != users[:-1]) | (starts[1:] != ends[:-1])
        ends = np.maximum.reduceat(ends, np.flatnonzero(new))
        starts, users = starts[new], users[new]
    starts.setflags(write=False)
    ends.setflags(write=False)
    return starts, ends, tuple(lookup[int(u)] for u in users)


def _window(start: datetime | str, end: datetime | str) -> tuple[int, int]:
    w0 = parse_instant_us(start, field="start")
    w1 = parse_instant_us(end, field="end")
    if w1 <= w0:
        raise ConfigError(f"end ({end}) must be after start ({start})", field="end")
    return w0, w1


def render_us(schedule: Schedule, start_us: int, end_us: int
              ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """The final schedule over [start_us, end_us) as (starts, ends, users): for the simulator."""
    return _render(schedule, int(start_us), int(end_us))


def shifts(schedule: Schedule, start: datetime | str, end: datetime | str, *, level: int = 1
           ) -> pl.DataFrame:
    """The final schedule over ``[start, end)`` as a Shifts frame (truncated at the window bounds).

    Parameters
    ----------
    schedule : the schedule.
    start, end : aware datetimes or ISO strings (naive means UTC).
    level : escalation level recorded in the ``level`` column (default 1).

    >>> from datetime import datetime, timedelta, UTC
    >>> s = Schedule(name="s", tz="UTC", layers=(Layer(users=("a", "b"), turn=timedelta(days=1),
    ...                                                  start=datetime(2026, 1, 1)),))
    >>> shifts(s, "2026-01-01", "2026-01-03")["responder"].to_list()
    ['a', 'b']
    """
    w0, w1 = _window(start, end)
    starts, ends, users = _render(schedule, w0, w1)
    return pl.DataFrame({
        "schedule": pl.Series([schedule.name] * len(users), dtype=pl.String),
        "level": pl.Series([level] * len(users), dtype=pl.Int32),
        "responder": pl.Series(list(users), dtype=pl.String),
        "start_at": pl.Series(starts, dtype=pl.Int64).cast(INSTANT),
        "end_at": pl.Series(ends, dtype=pl.Int64).cast(INSTANT),
        "tz": pl.Series([schedule.tz] * len(users), dtype=pl.String),
    }, schema=dict(SHIFTS.required))


def coverage_gaps(schedule: Schedule, start: datetime | str, end: datetime | str) -> pl.DataFrame:
    """Intervals of ``[start, end)`` where nobody is on call: ``schedule, start_at, end_at``.

    >>> from datetime import datetime, time, timedelta
    >>> day = Layer(users=("a",), turn=timedelta(days=1), start=datetime(2026, 1, 1),
    ...             restrictions=(Restriction(kind="daily", start=time(8), duration=timedelta(hours=10)),))
    >>> coverage_gaps(Schedule(name="s", tz="UTC", layers=(day,)), "2026-01-01", "2026-01-02").height
    2
    """
    w0, w1 = _window(start, end)
    starts, ends, _ = _render(schedule, w0, w1)
    edges = np.concatenate([[w0], ends]), np.concatenate([starts, [w1]])
    keep = edges[0] < edges[1]
    return pl.DataFrame({
        "schedule": pl.Series([schedule.name] * int(keep.sum()), dtype=pl.String),
        "start_at": pl.Series(edges[0][keep], dtype=pl.Int64).cast(INSTANT),
        "end_at": pl.Series(edges[1][keep], dtype=pl.Int64).cast(INSTANT),
    })


def on_call(schedule: Schedule, at: datetime | str | Sequence[datetime] | pl.Series
            ) -> str | pl.Series | None:
    """Who is on call at ``at``: a name or None for one instant; a String Series for many.

    >>> from datetime import datetime, timedelta, UTC
    >>> s = Schedule(name="s", tz="UTC", layers=(Layer(users=("a", "b"), turn=timedelta(hours=12),
    ...                                                  start=datetime(2026, 1, 1)),))
    >>> on_call(s, datetime(2026, 1, 1, 13, tzinfo=UTC))
    'b'
    """
    if isinstance(at, datetime | str):
        instant = parse_instant_us(at, field="at")
        users = _render(schedule, instant, instant + 1)[2]
        return users[0] if users else None
    series = at if isinstance(at, pl.Series) else pl.Series("at", list(at))
    if not isinstance(series.dtype, pl.Datetime):
        raise ConfigError(f"at must hold datetimes, got {series.dtype}", field="at")
    if series.dtype.time_zone is None:  # type: ignore[union-attr]
        series = series.dt.replace_time_zone("UTC")
    epoch = series.dt.convert_time_zone("UTC").cast(pl.Datetime("us", "UTC")).dt.epoch("us")
    present = epoch.is_not_null().to_numpy()
    us = epoch.fill_null(0).to_numpy().astype(np.int64)
    if not present.any():
        return pl.Series("responder", [None] * len(series), dtype=pl.String)
    starts, ends, names_ = _render(schedule, int(us[present].min()), int(us[present].max()) + 1)
    names = np.array([*names_, None], dtype=object)
    pos = np.searchsorted(starts, us, side="right") - 1
    hit = present & (pos >= 0) & (us < ends[np.maximum(pos, 0)]) if starts.size else present & False
    return pl.Series("responder", names[np.where(hit, pos, len(names_))].tolist(), dtype=pl.String)


# ------------------------------------------------------------------------------------------- iCal


def to_ical(schedule: Schedule, start: datetime | str, end: datetime | str) -> bytes:
    """The final schedule over ``[start, end)`` as an RFC 5545 calendar, one VEVENT per shift.

    Each event's summary is ``On call: <user> (<schedule>)``; :func:`read_ical` reads it back.
    """
    from icalendar import Calendar, Event  # noqa: PLC0415  (0.3 s to import: only iCal export needs it)

    w0, w1 = _window(start, end)
    starts, ends, users = _render(schedule, w0, w1)
    cal = Calendar()
    cal.add("prodid", "-//alertsim//on-call schedule//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"On call: {schedule.name}")
    for a, b, user in zip(starts.tolist(), ends.tolist(), users, strict=True):
        event = Event()
        uid = hashlib.sha256(f"{schedule.name}|{user}|{a}|{b}".encode()).hexdigest()[:32]
        event.add("uid", f"{uid}@alertsim")
        event.add("summary", f"On call: {user} ({schedule.name})")
        event.add("dtstart", from_us(a))
        event.add("dtend", from_us(b))
        event.add("dtstamp", from_us(w0))
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    return cal.to_ical()


_SUMMARY_PATTERNS = (
    re.compile(r"^On call: (?P<user>.+?)(?: \(.*\))?$"),          # alertsim's own export
    re.compile(r"^On[- ]?Call\s*-\s*(?P<user>[^-]+?)\s*-\s*.*$", re.IGNORECASE),  # "On Call - Name - EP"
)


def read_ical(source: str | os.PathLike[str] | bytes, *, name: str, tz: str = "UTC",
              user_pattern: str | None = None) -> Schedule:
    """Import an iCal on-call feed as a :class:`Schedule` with one :class:`FixedLayer`.

    Each VEVENT is a shift; its user comes from the ``user`` group of ``user_pattern`` applied to the
    SUMMARY (default: alertsim's ``On call: <user> (...)``, then ``On Call - <user> - ...``, else the
    whole summary). Recurring events (RRULE) are not supported: export the feed expanded.

    >>> from datetime import datetime, timedelta
    >>> s = Schedule(name="p", tz="UTC", layers=(Layer(users=("a", "b"), turn=timedelta(days=1),
    ...                                                  start=datetime(2026, 1, 1)),))
    >>> back = read_ical(to_ical(s, "2026-01-01", "2026-01-03"), name="p")
    >>> [e.user for e in back.layers[0].entries]
    ['a', 'b']
    """
    from icalendar import Calendar  # noqa: PLC0415  (0.3 s to import: only iCal import needs it)

    label = "<bytes>" if isinstance(source, bytes) else str(source)
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        calendar = Calendar.from_ical(data)
    except OSError as exc:
        raise InputError(f"cannot read iCal feed {label}: {exc}", file=label) from None
    except ValueError as exc:
        raise InputError(f"{label} is not an iCal calendar: {exc}", file=label) from None
    patterns = (re.compile(user_pattern),) if user_pattern else _SUMMARY_PATTERNS
    entries, problems = [], []
    for number, event in enumerate(calendar.walk("VEVENT"), start=1):
        if event.get("rrule") is not None:
            problems.append(Problem(row=number, file=label, column="RRULE",
                                    reason="recurring events are not supported; export expanded"))
            continue
        summary = str(event.get("summary", "")).strip()
        user = next((m.group("user").strip() for p in patterns if (m := p.match(summary))), None)
        if user is None and user_pattern is None:
            user = summary or None
        begin, finish = event.get("dtstart"), event.get("dtend")
        if user is None or begin is None or finish is None:
            problems.append(Problem(row=number, file=label, reason=f"event {summary!r} has no user, "
                                    "DTSTART or DTEND"))
            continue
        a, b = (_ical_instant(v.dt, tz) for v in (begin, finish))
        if b <= a:
            problems.append(Problem(row=number, file=label, reason=f"event {summary!r} ends before it "
                                    "starts"))
            continue
        entries.append(Entry(user=user, start=a, end=b))
    if problems:
        raise InputError(f"{label}: cannot import every on-call event", problems, file=label)
    if not entries:
        raise InputError(f"{label} holds no on-call events (VEVENT)", file=label)
    entries.sort(key=lambda e: (e.start, e.end))
    return Schedule(name=name, tz=tz, layers=(FixedLayer(entries=tuple(entries), name="ical"),))


def _ical_instant(value: datetime | date, tz: str) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return from_us(local_to_utc_us(value, tz))
        return value.astimezone(UTC)
    return from_us(local_to_utc_us(datetime.combine(value, time()), tz))


# ----------------------------------------------------------------------------------- design files


def _clock(value: object, section: Section, key: str) -> time:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        # YAML 1.1 reads an unquoted 09:00 as a sexagesimal integer (540 minutes).
        return time(value // 60, value % 60)
    if isinstance(value, str):
        try:
            return time.fromisoformat(value.strip())
        except ValueError:
            pass
    if isinstance(value, time):
        return value
    raise section.error(key, f"expected a time of day such as '09:00', got {value!r}")


def _restriction(raw: object, path: str, file: str | None) -> Restriction:
    s = Section(raw, path=path, file=file, allowed={"type", "start", "duration", "day"})
    kind = s.text("type", required=True, choices=("daily", "weekly"))
    day_raw = s.raw("day")
    day = None
    if day_raw is not None:
        if isinstance(day_raw, str) and day_raw[:3].lower() in _DAYS:
            day = _DAYS[day_raw[:3].lower()]
        elif isinstance(day_raw, int) and not isinstance(day_raw, bool) and 1 <= day_raw <= 7:
            day = day_raw
        else:
            raise s.error("day", f"expected 1-7 (1 = Monday) or mon..sun, got {day_raw!r}")
    try:
        return Restriction(kind=kind, start=_clock(s.raw("start", required=True), s, "start"),  # type: ignore[arg-type]
                           duration=s.duration("duration", required=True), day=day)  # type: ignore[arg-type]
    except ConfigError as exc:
        if exc.file:
            raise
        raise s.error(exc.field, str(exc).split(": ", 1)[-1]) from None


def _interval_items(s: Section, key: str, tz: str, kind: type) -> tuple:
    out = []
    for i, raw in enumerate(s.items(key)):
        item = Section(raw, path=f"{s.where(key)}[{i}]", file=s.file, allowed={"user", "start", "end"})
        user = item.text("user", required=True)
        start = parse_local(item.raw("start", required=True), tz, field=item.where("start"))
        end = parse_local(item.raw("end", required=True), tz, field=item.where("end"), end_of_day=True)
        a, b = from_us(local_to_utc_us(start, tz)), from_us(local_to_utc_us(end, tz))
        if b <= a:
            raise item.error("end", f"must be after start ({start} → {end})")
        out.append(kind(user=user, start=a, end=b))
    return tuple(out)


def parse_schedule(name: str, raw: object, *, file: str | None = None, path: str | None = None,
                   base_dir: str | os.PathLike[str] | None = None,
                   time_off: Sequence[object] = ()) -> Schedule:
    """A :class:`Schedule` from a design file's mapping (keys documented in data/designs/README.md).

    >>> parse_schedule("primary", {"tz": "UTC", "layers": [
    ...     {"users": ["ana", "bo"], "turn": "1w", "start": "2026-01-05T09:00"}]}).users
    ('ana', 'bo')
    """
    where = path or f"schedules.{name}"
    s = Section(raw, path=where, file=file,
                allowed={"tz", "layers", "overrides", "time_off", "holidays", "ical"})
    tz = s.time_zone(default="UTC")
    layers: list[Layer | FixedLayer] = []
    if s.has("ical"):
        relative = str(s.text("ical"))
        feed = Path(relative) if base_dir is None else Path(base_dir) / relative
        layers += list(read_ical(feed, name=name, tz=str(tz)).layers)
    for i, raw_layer in enumerate(s.items("layers")):
        layers.append(_layer(raw_layer, f"{where}.layers[{i}]", file, tz))  # type: ignore[arg-type]
    if not layers:
        raise s.error("layers", "a schedule needs at least one layer (or an ical feed)")
    holidays = []
    for i, value in enumerate(s.items("holidays")):
        day = value if isinstance(value, date) and not isinstance(value, datetime) else None
        if day is None:
            try:
                day = date.fromisoformat(str(value))
            except ValueError:
                raise s.error(f"holidays[{i}]", f"expected a date such as '2026-12-25', got {value!r}"
                              ) from None
        holidays.append(day)
    pseudo = Section({"time_off": [*s.items("time_off"), *time_off]}, path=where, file=file,
                     allowed={"time_off"})
    try:
        return Schedule(name=name, tz=tz, layers=tuple(layers),  # type: ignore[arg-type]
                        overrides=_interval_items(s, "overrides", tz, Override),  # type: ignore[arg-type]
                        time_off=_interval_items(pseudo, "time_off", tz, TimeOff),  # type: ignore[arg-type]
                        holidays=tuple(sorted(holidays)))
    except ConfigError as exc:
        if exc.file:
            raise
        raise s.error(None, str(exc)) from None


def _layer(raw: object, path: str, file: str | None, tz: str) -> Layer | FixedLayer:
    s = Section(raw, path=path, file=file,
                allowed={"name", "users", "turn", "start", "handoff", "tz", "restrictions", "turns",
                         "since", "until", "holidays", "shifts"})
    name = s.text("name") or ""
    if s.has("shifts"):
        extra = sorted(k for k in s.data if k not in ("name", "shifts", "tz"))
        if extra:
            raise s.error(None, f"a layer of explicit shifts takes only name, tz and shifts, not {extra}")
        shift_tz = s.text("tz", tz) or tz
        items = _interval_items(s, "shifts", shift_tz, Entry)
        return FixedLayer(entries=tuple(sorted(items, key=lambda e: (e.start, e.end))), name=name)
    ltz = s.time_zone()
    start = parse_local(s.raw("start", required=True), ltz or tz, field=s.where("start"))
    if s.has("handoff"):
        start = datetime.combine(start.date(), _clock(s.raw("handoff"), s, "handoff"))
    restrictions = tuple(_restriction(r, f"{s.where('restrictions')}[{i}]", file)
                         for i, r in enumerate(s.items("restrictions")))
    since = parse_local(s.raw("since"), ltz or tz, field=s.where("since")) if s.has("since") else None
    until = parse_local(s.raw("until"), ltz or tz, field=s.where("until"),
                        end_of_day=True) if s.has("until") else None
    try:
        return Layer(users=s.strings("users", required=True), turn=s.duration("turn", required=True),  # type: ignore[arg-type]
                     start=start, tz=ltz, restrictions=restrictions,
                     turns=s.text("turns", "elapse", choices=("elapse", "active")),  # type: ignore[arg-type]
                     since=since, until=until,
                     holidays=s.text("holidays", "work", choices=("work", "skip")),  # type: ignore[arg-type]
                     name=name)
    except ConfigError as exc:
        if exc.file:
            raise
        raise s.error(exc.field, str(exc).split(": ", 1)[-1]) from None


__all__ = ["Entry", "FixedLayer", "Layer", "Override", "Restriction", "Schedule", "TimeOff",
           "coverage_gaps", "on_call", "parse_schedule", "read_ical", "render_us", "shifts",
           "to_ical"]
