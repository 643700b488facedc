"""Fair schedules: assign rotation turns so sleep-hour and weekend burden is shared evenly.

:func:`balance` cuts a horizon into wall-clock turns, weighs each turn by the pages expected in it during
sleep hours (22:00–08:00) and on weekends or holidays (from a page history's hour-of-week profile, or
on-call hours when there is none), and proposes who takes which turn. The baseline is LinkedIn oncall's
default scheduler: each turn goes to the available person who has been off call the longest (people
who never had a turn first, roster order breaking ties). The proposal starts from the baseline and swaps
turns between people (so everyone keeps the baseline's number of turns) while the sum of the Gini
coefficients of sleep and weekend burden goes down, never giving anyone a turn while away nor, with
``no_back_to_back``, two turns in a row, and never raising the team's total burden (people in other
zones feel the same turn differently) beyond ``max_total_increase``.

>>> from datetime import datetime, timedelta
>>> result = balance(["a", "b", "c", "d", "e", "f", "g"], start=datetime(2026, 1, 5),
...                  end=datetime(2026, 3, 2), turn=timedelta(days=1), seed=1)
>>> result.report.filter(pl.col("measure") == "weekend_gini")["baseline"].round(2).item()
0.71
>>> result.report.filter(pl.col("measure") == "weekend_gini")["proposed"].item() < 0.1
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from alertsim.errors import ConfigError
from alertsim.frames import INSTANT, PAGES, validate
from alertsim.oncall._time import DAY_US, HOUR_US, WEEK_BUCKETS, LocalClock, local_to_utc_us, zone
from alertsim.oncall.schedule import Entry, FixedLayer, Schedule, TimeOff
from alertsim.quality.fairness import gini


@dataclass(frozen=True, kw_only=True)
class Balance:
    """The result of :func:`balance`.

    ``assignment`` and ``baseline``: one row per turn (``turn, start_at, end_at, responder,
    sleep_burden, weekend_burden``). ``people``: per person, turns and burdens under both. ``report``:
    per measure (``sleep_gini``, ``weekend_gini``, ``objective``, ``sleep_max``, ``weekend_max``,
    ``sleep_total``, ``weekend_total``)
    the baseline, the proposal and the relative improvement.
    """

    assignment: pl.DataFrame
    baseline: pl.DataFrame
    people: pl.DataFrame
    report: pl.DataFrame
    tz: str

    def schedule(self, name: str = "balanced") -> Schedule:
        """The proposed assignment as a :class:`Schedule` (one layer of explicit shifts)."""
        entries = tuple(Entry(user=row["responder"], start=row["start_at"], end=row["end_at"])
                        for row in self.assignment.iter_rows(named=True))
        return Schedule(name=name, tz=self.tz, layers=(FixedLayer(entries=entries, name=name),))


def _hourly_rate(pages: pl.DataFrame | None, tz: str) -> np.ndarray:
    """Expected pages per hour of the week (168) in ``tz``; 1.0 everywhere without history."""
    if pages is None:
        return np.ones(168)
    pages = validate(pages, PAGES, file="pages")
    if pages.height == 0:
        return np.ones(168)
    us = pages["paged_at"].dt.epoch("us").to_numpy().astype(np.int64)
    clock = LocalClock(tz, int(us.min()) - DAY_US, int(us.max()) + DAY_US)
    counts = np.bincount(clock.hour_of_week(us), minlength=168).astype(float)
    weeks = max((us.max() - us.min()) / (7 * DAY_US), 1.0)
    return counts / weeks


def _lru(turns: int, users: Sequence[str], available: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """LinkedIn oncall's default: the available person whose last turn ended earliest (never first)."""
    last_end = np.full(len(users), -1, dtype=np.int64)   # -1: never on call
    picks = np.empty(turns, dtype=np.int64)
    for t in range(turns):
        candidates = np.flatnonzero(available[t])
        if candidates.size == 0:
            raise ConfigError(f"nobody is available for turn {t} (everyone is away)", field="time_off")
        never = candidates[last_end[candidates] < 0]
        pick = never[0] if never.size else candidates[np.argmin(last_end[candidates])]
        picks[t] = pick
        last_end[pick] = ends[t]
    return picks


def _objective(sleep: np.ndarray, weekend: np.ndarray) -> float:
    return float((gini(sleep) or 0.0) + (gini(weekend) or 0.0))


def balance(users: Sequence[str], *, start: datetime, end: datetime, turn: timedelta, tz: str = "UTC",
            pages: pl.DataFrame | None = None, zones: Mapping[str, str] | None = None,
            time_off: Sequence[TimeOff] = (),
            holidays: Sequence[date] = (), no_back_to_back: bool = True,
            max_total_increase: float = 0.0, iterations: int = 20_000, seed: int = 7) -> Balance:
    """Propose who takes each turn over ``[start, end)`` to minimise sleep and weekend burden Gini.

    Parameters
    ----------
    users : the roster, in order (the baseline's tie-break).
    start, end : naive wall-clock times in ``tz`` (the first handoff and the horizon's end).
    turn : turn length (wall clock, DST-safe like a rotation layer).
    tz : IANA zone of the schedule (turn boundaries, holidays, the load profile); default UTC.
    pages : a page history (PAGES frame) whose hour-of-week profile (in ``tz``) forecasts the load;
        None (default) weighs on-call hours instead.
    zones : each person's IANA zone for their sleep and weekend hours (default: everyone in ``tz``).
    time_off : people's absences; nobody is given a turn that overlaps their time off.
    holidays : dates (in ``tz``) that count as weekend days.
    no_back_to_back : forbid the same person on consecutive turns (default True) in the proposal.
    max_total_increase : how much the team's total sleep (and weekend) burden may grow over the
        baseline's, as a fraction (default 0: never). With everyone in one zone a turn's burden does
        not depend on who takes it and the totals cannot change; across zones, evening turns cost some
        people sleep and others none, and evening out the Gini could otherwise cost more sleep overall.
    iterations : swap attempts of the local search (default 20 000).
    seed : seed of the local search (default 7).

    Returns
    -------
    Balance
    """
    zone(tz)
    users = list(users)
    starts, ends = _turn_bounds(users, start, end, turn, tz)
    turns = _Turns(users=users, starts=starts, ends=ends,
                   burden=_burdens(users, starts, ends, tz, pages, dict(zones or {}), holidays))
    available = _availability(users, starts, ends, time_off)
    base = _lru(turns.count, users, available, ends)
    picks = _swap_search(turns, base, available, no_back_to_back=no_back_to_back,
                         max_total_increase=max_total_increase, iterations=iterations, seed=seed)
    return Balance(assignment=turns.frame(picks), baseline=turns.frame(base), people=turns.people(base, picks),
                   report=turns.report(base, picks), tz=tz)


def _turn_bounds(users: list[str], start: datetime, end: datetime, turn: timedelta, tz: str
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Each turn's start and end (UTC microseconds): wall-clock turns of ``turn`` from ``start``."""
    if len(users) < 2 or len(set(users)) != len(users):
        raise ConfigError(f"balance needs at least two distinct users, got {users!r}", field="users")
    if turn < timedelta(hours=1):
        raise ConfigError(f"turn must be at least 1h, got {turn}", field="turn")
    count = int((end - start) // turn)
    if count < 2:
        raise ConfigError(f"the horizon {start} → {end} holds fewer than two turns of {turn}", field="end")
    bounds = np.array([local_to_utc_us(start + k * turn, tz) for k in range(count + 1)], dtype=np.int64)
    return bounds[:-1], bounds[1:]


def _burdens(users: list[str], starts: np.ndarray, ends: np.ndarray, tz: str, pages: pl.DataFrame | None,
             zones: dict[str, str], holidays: Sequence[date]) -> tuple[np.ndarray, np.ndarray]:
    """Expected sleep-hour and weekend pages of each turn for each person (two ``(turns, people)`` arrays),
    from an hourly grid over the horizon: expected pages, and per person's zone whether it is sleep /
    weekend."""
    count = starts.size
    clock = LocalClock(tz, int(starts[0]) - DAY_US, int(ends[-1]) + DAY_US)
    hours = np.arange(starts[0] // HOUR_US * HOUR_US, ends[-1], HOUR_US, dtype=np.int64)
    rate = _hourly_rate(pages, tz)[clock.hour_of_week(hours)]
    holiday_hour = np.zeros(hours.size, dtype=bool)
    if holidays:
        local_days = pl.Series(hours).cast(pl.Datetime("us", "UTC")).dt.convert_time_zone(tz).dt.date()
        holiday_hour = local_days.is_in(list(holidays)).to_numpy()
    owner = np.searchsorted(starts, hours, side="right") - 1
    inside = (owner >= 0) & (hours < ends[np.maximum(owner, 0)])
    unknown = sorted(set(zones) - set(users))
    if unknown:
        raise ConfigError(f"zones for people not in users: {unknown}", field="zones")
    by_zone: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in {zones.get(u, tz) for u in users}:
        zone(name, field="zones")
        how = LocalClock(name, int(starts[0]) - DAY_US, int(ends[-1]) + DAY_US
                         ).hour_of_week(hours)
        sleep_hour = WEEK_BUCKETS[how] == 0
        weekend_hour = (how >= 5 * 24) | holiday_hour
        by_zone[name] = (np.bincount(owner[inside], weights=(rate * sleep_hour)[inside], minlength=count),
                         np.bincount(owner[inside], weights=(rate * weekend_hour)[inside], minlength=count))
    return (np.stack([by_zone[zones.get(u, tz)][0] for u in users], axis=1),
            np.stack([by_zone[zones.get(u, tz)][1] for u in users], axis=1))


def _availability(users: list[str], starts: np.ndarray, ends: np.ndarray, time_off: Sequence[TimeOff]
                  ) -> np.ndarray:
    """Whether each person (column) may take each turn (row): no turn overlaps their time off."""
    available = np.ones((starts.size, len(users)), dtype=bool)
    index = {u: i for i, u in enumerate(users)}
    for item in time_off:
        if item.user not in index:
            raise ConfigError(f"time off for {item.user!r}, who is not in users", field="time_off")
        a, b = int(item.start.timestamp() * 1e6), int(item.end.timestamp() * 1e6)
        available[(starts < b) & (ends > a), index[item.user]] = False
    return available


@dataclass(frozen=True)
class _Turns:
    """The turns of a horizon and what each costs each person (``burden``: sleep and weekend arrays of
    shape (turns, people))."""

    users: list[str]
    starts: np.ndarray
    ends: np.ndarray
    burden: tuple[np.ndarray, np.ndarray]

    @property
    def count(self) -> int:
        return int(self.starts.size)

    def totals(self, assign: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each person's sleep and weekend burden under ``assign`` (a person per turn)."""
        rows = np.arange(self.count)
        sleep_turn, weekend_turn = self.burden
        return (np.bincount(assign, weights=sleep_turn[rows, assign], minlength=len(self.users)),
                np.bincount(assign, weights=weekend_turn[rows, assign], minlength=len(self.users)))

    def frame(self, assign: np.ndarray) -> pl.DataFrame:
        rows = np.arange(self.count)
        sleep_turn, weekend_turn = self.burden
        return pl.DataFrame({
            "turn": pl.Series(rows, dtype=pl.Int64),
            "start_at": pl.Series(self.starts, dtype=pl.Int64).cast(INSTANT),
            "end_at": pl.Series(self.ends, dtype=pl.Int64).cast(INSTANT),
            "responder": pl.Series([self.users[k] for k in assign], dtype=pl.String),
            "sleep_burden": pl.Series(sleep_turn[rows, assign], dtype=pl.Float64),
            "weekend_burden": pl.Series(weekend_turn[rows, assign], dtype=pl.Float64)})

    def people(self, base: np.ndarray, picks: np.ndarray) -> pl.DataFrame:
        (base_sleep, base_weekend), (new_sleep, new_weekend) = self.totals(base), self.totals(picks)
        return pl.DataFrame({
            "responder": self.users,
            "turns_baseline": np.bincount(base, minlength=len(self.users)),
            "turns_proposed": np.bincount(picks, minlength=len(self.users)),
            "sleep_baseline": base_sleep, "sleep_proposed": new_sleep,
            "weekend_baseline": base_weekend, "weekend_proposed": new_weekend})

    def report(self, base: np.ndarray, picks: np.ndarray) -> pl.DataFrame:
        before, after = _measures(*self.totals(base)), _measures(*self.totals(picks))
        return pl.DataFrame({
            "measure": list(before),
            "baseline": [before[k] for k in before],
            "proposed": [after[k] for k in before],
            "improvement": [None if not before[k] else (before[k] - (after[k] or 0.0)) / before[k]  # type: ignore[operator]
                            for k in before]},
            schema={"measure": pl.String, "baseline": pl.Float64, "proposed": pl.Float64,
                    "improvement": pl.Float64})


def _measures(s: np.ndarray, w: np.ndarray) -> dict[str, float | None]:
    return {"sleep_gini": gini(s), "weekend_gini": gini(w),
            "objective": _objective(s, w), "sleep_max": float(s.max()), "weekend_max": float(w.max()),
            "sleep_total": float(s.sum()), "weekend_total": float(w.sum())}


def _swap_search(turns: _Turns, base: np.ndarray, available: np.ndarray, *, no_back_to_back: bool,
                 max_total_increase: float, iterations: int, seed: int) -> np.ndarray:
    """From ``base``, swap turns between two people while the objective goes down and the team's totals
    stay under the cap; returns the proposal (a person per turn)."""
    count = turns.count
    sleep_turn, weekend_turn = turns.burden
    picks = base.copy()

    def adjacent_ok(assign: np.ndarray, t: int, person: int) -> bool:
        return not no_back_to_back or ((t == 0 or assign[t - 1] != person) and
                                       (t == count - 1 or assign[t + 1] != person))

    sleep, weekend = turns.totals(picks)
    best = _objective(sleep, weekend)
    if max_total_increase < 0:
        raise ConfigError(f"max_total_increase must be >= 0, got {max_total_increase}",
                          field="max_total_increase")
    cap_sleep = sleep.sum() * (1 + max_total_increase) + 1e-9
    cap_weekend = weekend.sum() * (1 + max_total_increase) + 1e-9
    rng = np.random.default_rng(seed)
    pairs = rng.integers(0, count, size=(iterations, 2))
    for i, j in pairs:
        a, b = picks[i], picks[j]
        if a == b or not (available[i, b] and available[j, a]):
            continue
        picks[i], picks[j] = b, a
        if not (adjacent_ok(picks, i, b) and adjacent_ok(picks, j, a)):
            picks[i], picks[j] = a, b
            continue
        # a gives turn i to b and takes turn j; burdens depend on each person's zone
        change = ((a, sleep_turn[j, a] - sleep_turn[i, a], weekend_turn[j, a] - weekend_turn[i, a]),
                  (b, sleep_turn[i, b] - sleep_turn[j, b], weekend_turn[i, b] - weekend_turn[j, b]))
        for person, ds, dw in change:
            sleep[person] += ds
            weekend[person] += dw
        value = _objective(np.maximum(sleep, 0), np.maximum(weekend, 0))
        if value < best - 1e-12 and sleep.sum() <= cap_sleep and weekend.sum() <= cap_weekend:
            best = value
        else:  # undo
            picks[i], picks[j] = a, b
            for person, ds, dw in change:
                sleep[person] -= ds
                weekend[person] -= dw
    return picks


def time_off_from(mapping: Mapping[str, Sequence[tuple[datetime, datetime]]]) -> tuple[TimeOff, ...]:
    """``{user: [(start, end), ...]}`` (aware datetimes) as :class:`TimeOff` records."""
    return tuple(TimeOff(user=u, start=a, end=b) for u, spans in mapping.items() for a, b in spans)


__all__ = ["Balance", "balance", "time_off_from"]
