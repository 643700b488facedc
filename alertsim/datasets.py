"""A seeded, realistic sample: a fictional company's telemetry, incidents and on-call history.

Larkspur is a fictional online shop with three services, ``checkout``, ``search`` and ``payments``, two
instances each, scraped every minute. Traffic follows a daily curve (European afternoon and American
evening peaks), a weekly one (quieter weekends) and slow growth. On top of it the generator places
labelled incidents of five kinds (``spike``, ``level_shift``, ``ramp``, ``outage``, ``error_burst``)
and labelled noise that a naive threshold pages on (``flapping``, ``benign_spike``, ``deploy``).
The company's current, naive alert rules are evaluated on the generated metrics to produce a
PagerDuty-like page history, acknowledged by whoever was on call in a weekly primary/secondary
rotation of ten responders in Europe/Berlin and America/New_York.

Everything random is drawn from ``numpy.random.SeedSequence(seed)``: the same seed gives identical
frames, and :func:`write_sample` writes identical bytes.

>>> sample = generate(seed=1, days=7)
>>> sorted(sample.frames())
['incidents', 'metrics', 'noise', 'pages', 'roster', 'shifts']
>>> sample.metrics.select("metric").unique().sort("metric")["metric"].to_list()
['cpu', 'http_errors_total', 'http_requests_total', 'latency_p99', 'queue_depth']
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pyarrow
import pyarrow.parquet as pq

from alertsim.errors import ConfigError, InputError, Problem
from alertsim.frames import INCIDENTS, INSTANT, METRICS, PAGES, SHIFTS, Schema, validate
from alertsim.frames import problems as frame_problems

logger = logging.getLogger(__name__)

SAMPLE_SEED = 7
"""Seed of the committed sample in ``data/sample/``."""
SAMPLE_DAYS = 60
"""Length of the committed sample, in days."""
SAMPLE_START = datetime(2026, 3, 2, tzinfo=UTC)
"""First instant of the committed sample (a Monday; both DST changes fall inside the 60 days)."""
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
"""Where the committed sample lives in a source checkout."""
SAMPLE_COMMAND = "alertsim datasets generate --seed 7 --days 60 --out data/sample"
"""The command that regenerates ``data/sample/`` byte for byte."""

SERVICES = ("checkout", "search", "payments")
"""The fictional company's services; each runs two instances, ``<service>-1`` and ``<service>-2``."""
TEAMS = {"checkout": "storefront", "search": "storefront", "payments": "payments"}
"""Owning team (and on-call schedule) of each service."""
SCHEDULE_TZ = {"storefront": "Europe/Berlin", "payments": "America/New_York"}
"""Time zone of each team's schedule; the weekly handoff is Monday 10:00 in it."""
ROSTER = (
    ("anna", "Europe/Berlin", "storefront"),
    ("marcus", "America/New_York", "storefront"),
    ("lena", "Europe/Berlin", "storefront"),
    ("priya", "America/New_York", "storefront"),
    ("jonas", "Europe/Berlin", "storefront"),
    ("diego", "America/New_York", "storefront"),
    ("sofia", "Europe/Berlin", "payments"),
    ("grace", "America/New_York", "payments"),
    ("tobias", "Europe/Berlin", "payments"),
    ("kwame", "America/New_York", "payments"),
)
"""(responder, home time zone, team) of everyone on call."""
INCIDENT_KINDS = ("spike", "level_shift", "ramp", "outage", "error_burst")
NOISE_KINDS = ("flapping", "benign_spike", "deploy")

ESCALATION_TIMEOUT = timedelta(minutes=15)
"""An unacknowledged high-urgency page escalates from the primary to the secondary after this long."""
SLO_TARGET = 0.999
"""Availability objective of every service (errors / requests over 30 days)."""


@dataclass(frozen=True, kw_only=True)
class RuleSuggestion:
    """A naive rule that pages on the sample's noise, and a better one that does not.

    ``naive_threshold``/``naive_for`` drive the generated page history (the company's current rules).
    """

    rule: str
    metric: str
    urgency: str
    naive: str
    naive_threshold: float
    better: str
    why: str


SUGGESTED_RULES = (
    RuleSuggestion(
        rule="HighCPU", metric="cpu", urgency="high",
        naive="cpu > 80", naive_threshold=80.0,
        better="cpu > 90 for 15m",
        why="batch jobs hold cpu near 80 (flapping), GC and deploy warm-up spike it for 1-4 minutes"),
    RuleSuggestion(
        rule="HighLatency", metric="latency_p99", urgency="high",
        naive="latency_p99 > 0.5", naive_threshold=0.5,
        better="latency_p99 > 0.5 for 10m",
        why="benign spikes and deploy blips last under 5 minutes; real regressions last 15 minutes or more"),
    RuleSuggestion(
        rule="QueueBacklog", metric="queue_depth", urgency="low",
        naive="queue_depth > 500", naive_threshold=500.0,
        better="queue_depth > 500 for 20m",
        why="peak-hour backlogs oscillate around 500 with a 20-30 minute period; leaks grow for hours"),
    RuleSuggestion(
        rule="HighErrorRate", metric="http_errors_total", urgency="high",
        naive="sum by (service) (rate(http_errors_total[5m])) / "
              "sum by (service) (rate(http_requests_total[5m])) > 0.01",
        naive_threshold=0.01,
        better="multiwindow burn rate on a 99.9% SLO: error ratio > 14.4 × 0.001 over both 1h and 5m, "
               "or > 6 × 0.001 over both 6h and 30m",
        why="deploy restarts fail a few percent of requests for 1-2 minutes, which a 5m ratio pages on"),
)
"""Per metric: the naive rule behind the page history and a better one for the sample rule pack."""

_RULE_OF_METRIC = {s.metric: s for s in SUGGESTED_RULES}

ROSTER_SCHEMA = Schema(name="Roster", required={"responder": pl.String(), "tz": pl.String(),
                                                "team": pl.String()}, unique=("responder",))
NOISE_SCHEMA = Schema(
    name="Noise",
    required={"noise_id": pl.String(), "kind": pl.String(), "service": pl.String(),
              "instance": pl.String(), "metric": pl.String(), "started_at": INSTANT, "ended_at": INSTANT},
    nullable=frozenset({"instance", "metric"}),
    unique=("noise_id",),
)
FRAME_SCHEMAS: dict[str, Schema] = {"metrics": METRICS, "incidents": INCIDENTS, "pages": PAGES,
                                    "shifts": SHIFTS, "roster": ROSTER_SCHEMA, "noise": NOISE_SCHEMA}
"""The schema each frame of a :class:`Sample` meets."""

_MINUTE_US = 60_000_000
_SECOND_US = 1_000_000
_DAY_MIN = 1440
_WEEK_MIN = 7 * _DAY_MIN


@dataclass(frozen=True, kw_only=True, eq=False)
class Sample:
    """The generated data set: telemetry, labelled truth and on-call history, as polars frames.

    Attributes
    ----------
    metrics : long Metrics frame (``timestamp, metric, value, service, instance``), one sample per
        series per minute; ``instance`` is null for per-service series.
    incidents : Incidents frame plus ``kind``, ``urgency``, ``title``; ``acknowledged_at`` and
        ``responder`` come from the first acknowledged page of the incident.
    pages : Pages frame plus ``escalations`` (0 or 1) and ``incident_id`` (null for noise).
    shifts : Shifts frame of both schedules, levels 1 (primary) and 2 (secondary).
    roster : ``responder, tz, team``.
    noise : labelled non-incident events: ``noise_id, kind, service, instance, metric, started_at,
        ended_at``.
    seed, days, start : the arguments that produced it.
    """

    metrics: pl.DataFrame
    incidents: pl.DataFrame
    pages: pl.DataFrame
    shifts: pl.DataFrame
    roster: pl.DataFrame
    noise: pl.DataFrame
    seed: int
    days: int
    start: datetime

    def frames(self) -> dict[str, pl.DataFrame]:
        """The frames by name, in a fixed order."""
        return {name: getattr(self, name) for name in FRAME_SCHEMAS}


# --------------------------------------------------------------------------------------------------
# arguments


def _check_args(seed: object, days: object, start: object) -> datetime:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"must be a non-negative integer, got {seed!r}", field="seed")
    if isinstance(days, bool) or not isinstance(days, int | np.integer) or not 7 <= days <= 366:
        raise ConfigError(f"must be an integer from 7 to 366, got {days!r}", field="days")
    if isinstance(start, datetime):
        moment = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
    elif isinstance(start, date):
        moment = datetime(start.year, start.month, start.day, tzinfo=UTC)
    else:
        raise ConfigError(f"must be a datetime or date, got {start!r}", field="start")
    if moment.second or moment.microsecond:
        raise ConfigError(f"must fall on a whole minute, got {moment.isoformat()}", field="start")
    return moment


# --------------------------------------------------------------------------------------------------
# signals


@dataclass(frozen=True, kw_only=True)
class _Profile:
    peak_rpm: float  # requests per minute at the daily peak, both instances together
    weekend: float  # traffic factor on Saturday and Sunday (UTC)
    latency: float  # p99 latency in seconds at zero load
    queue: float  # queue depth scale
    error_ratio: float  # background share of failed requests


_PROFILES = {
    "checkout": _Profile(peak_rpm=2400, weekend=0.85, latency=0.16, queue=120, error_ratio=0.0003),
    "search": _Profile(peak_rpm=9000, weekend=0.75, latency=0.09, queue=60, error_ratio=0.0002),
    "payments": _Profile(peak_rpm=700, weekend=0.80, latency=0.17, queue=120, error_ratio=0.0005),
}
_SHARES = (0.52, 0.48)  # of a service's traffic served by instance 1 and 2


def _instances(service: str) -> tuple[str, str]:
    return f"{service}-1", f"{service}-2"


def _smooth_noise(rng: np.random.Generator, n: int, tau: float = 8.0) -> np.ndarray:
    """Unit-variance noise correlated over about ``tau`` minutes (white noise through an exponential
    kernel)."""
    kernel = np.exp(-np.arange(int(6 * tau)) / tau)
    kernel /= np.sqrt(np.sum(kernel**2))
    white = rng.standard_normal(n + kernel.size)
    return np.convolve(white, kernel, mode="valid")[:n]


def _circular(hours: np.ndarray) -> np.ndarray:
    return (hours + 12.0) % 24.0 - 12.0


def _daily_curve(hour_of_day: np.ndarray) -> np.ndarray:
    """Traffic over a UTC day: a night floor, a European afternoon and a larger American evening."""
    def curve(h: np.ndarray) -> np.ndarray:
        europe = np.exp(-0.5 * (_circular(h - 13.0) / 3.2) ** 2)
        america = np.exp(-0.5 * (_circular(h - 19.5) / 3.5) ** 2)
        return 0.22 + 0.55 * europe + 0.65 * america
    return curve(hour_of_day) / curve(np.arange(1440) / 60.0).max()


def _envelope(length: int, rise: float, fall: float) -> np.ndarray:
    """1.0 in the middle of an event of ``length`` minutes, with linear edges."""
    j = np.arange(length, dtype=float)
    return np.clip(np.minimum((j + 1) / rise, (length - j) / fall), 0.0, 1.0)


@dataclass
class _Signals:
    """Mutable working arrays while effects are applied; frozen into frames at the end."""

    load: dict[str, np.ndarray]
    cpu: dict[str, np.ndarray]
    latency: dict[str, np.ndarray]
    queue: dict[str, np.ndarray]
    rate: dict[str, np.ndarray]  # expected requests per minute per instance
    error_ratio: dict[str, np.ndarray]
    resets: dict[str, list[int]]


def _base_signals(rng: np.random.Generator, n: int, start_minute: int) -> _Signals:
    minutes = start_minute + np.arange(n, dtype=np.int64)
    hour = (minutes % _DAY_MIN) / 60.0
    weekday = (minutes // _DAY_MIN + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    day = np.arange(n) / _DAY_MIN
    growth = 1.0 + 0.3 * (1.0 - np.exp(-day / 150.0))
    daily = _daily_curve(hour)
    signals = _Signals(load={}, cpu={}, latency={}, queue={}, rate={}, error_ratio={}, resets={})
    days = n // _DAY_MIN + 2
    for service in SERVICES:
        profile = _PROFILES[service]
        day_factor = np.clip(rng.normal(1.0, 0.04, days), 0.92, 1.08)
        wobble = np.interp(day, np.arange(days) - 0.5, day_factor)
        weekly = np.where(weekday >= 5, profile.weekend, 1.0)
        load = daily * weekly * growth * wobble
        signals.load[service] = load
        signals.latency[service] = (profile.latency * (1.0 + 0.6 * load**2)
                                    * np.exp(0.045 * _smooth_noise(rng, n, 10.0)
                                             + 0.035 * rng.standard_normal(n)))
        signals.queue[service] = (profile.queue * (0.3 + load**2) * (1.0 + 0.12 * _smooth_noise(rng, n, 6.0))
                                  + rng.normal(0.0, 6.0, n))
        for instance, share in zip(_instances(service), _SHARES, strict=True):
            signals.cpu[instance] = (8.0 + 45.0 * load * share / 0.5 + 1.8 * _smooth_noise(rng, n, 12.0)
                                     + 0.8 * rng.standard_normal(n))
            signals.rate[instance] = profile.peak_rpm * share * load
            signals.error_ratio[instance] = np.full(n, profile.error_ratio) * (1.0 + 0.5 * load)
            signals.resets[instance] = []
    return signals


# --------------------------------------------------------------------------------------------------
# events


@dataclass(frozen=True, kw_only=True)
class _Event:
    kind: str
    service: str
    start: int  # minute index, inclusive
    end: int  # minute index, exclusive
    instance: str | None = None
    metric: str | None = None


class _Calendar:
    """Occupied minutes per service, so events of one service never overlap (with padding)."""

    def __init__(self, n: int, origin: datetime):
        self.n, self.origin = n, origin
        self.busy: dict[str, list[tuple[int, int]]] = {s: [] for s in SERVICES}

    def free(self, service: str, start: int, end: int, pad: int) -> bool:
        return all(start >= b + pad or end + pad <= a for a, b in self.busy[service])

    def take(self, service: str, start: int, end: int) -> None:
        self.busy[service].append((start, end))

    def office_hours(self, service: str, start: int) -> bool:
        """Whether minute ``start`` is 09:30-16:30 on a weekday where the service's team works."""
        local = (self.origin + timedelta(minutes=start)).astimezone(ZoneInfo(SCHEDULE_TZ[TEAMS[service]]))
        return local.weekday() < 5 and 9 * 60 + 30 <= local.hour * 60 + local.minute < 16 * 60 + 30


def _place(rng: np.random.Generator, calendar: _Calendar, service: str, length: int, *, pad: int,
           lo: int, reference: bool, office: bool = False) -> int:
    """A random start for an event of ``length`` minutes on ``service`` that overlaps nothing.

    With ``reference`` the same window one week earlier must be free too (and is then kept free),
    so every incident can be compared with a quiet week-earlier baseline. With ``office`` the event
    starts in the owning team's office hours (deploys happen then).
    """
    hi = calendar.n - length - 60
    for _ in range(20_000):
        start = int(rng.integers(lo, max(lo + 1, hi)))
        if not calendar.free(service, start, start + length, pad):
            continue
        if office and not calendar.office_hours(service, start):
            continue
        if reference and not calendar.free(service, start - _WEEK_MIN, start - _WEEK_MIN + length, pad):
            continue
        calendar.take(service, start, start + length)
        if reference:
            calendar.take(service, start - _WEEK_MIN, start - _WEEK_MIN + length)
        return start
    raise ConfigError(f"cannot fit the sample's events into the period; use more days "
                      f"(an event of {length} minutes on {service!r} found no free slot)", field="days")


_INCIDENT_MINUTES = {"spike": (15, 35), "level_shift": (120, 360), "ramp": (240, 600),
                     "outage": (15, 50), "error_burst": (12, 45)}
_SEVERITY = {"spike": "sev3", "level_shift": "sev2", "ramp": "sev2", "outage": "sev1", "error_burst": "sev2"}


def _place_events(rng: np.random.Generator, n: int, start: datetime) -> tuple[list[_Event], list[_Event]]:
    days = n // _DAY_MIN
    calendar = _Calendar(n, start)
    lo_incident = _WEEK_MIN + 60 if days >= 14 else 60
    incidents: list[_Event] = []
    per_kind = max(1, round(days / 15))
    for k, kind in enumerate(INCIDENT_KINDS):
        offset = int(rng.integers(len(SERVICES)))
        for j in range(per_kind):
            service = SERVICES[(k + j + offset) % len(SERVICES)]
            low, high = _INCIDENT_MINUTES[kind]
            length = int(rng.integers(low, high + 1))
            at = _place(rng, calendar, service, length, pad=180, lo=lo_incident, reference=days >= 14,
                        office=kind == "level_shift")
            instance = _instances(service)[int(rng.integers(2))] if kind in ("ramp", "error_burst") else None
            incidents.append(_Event(kind=kind, service=service, start=at, end=at + length, instance=instance))

    noise: list[_Event] = []
    for j in range(max(1, round(days / 5))):
        service = SERVICES[int(rng.integers(len(SERVICES)))]
        length = int(rng.integers(60, 181))
        at = _place(rng, calendar, service, length, pad=45, lo=60, reference=False)
        if j % 2 == 0:
            instance = _instances(service)[int(rng.integers(2))]
            noise.append(_Event(kind="flapping", service=service, start=at, end=at + length,
                                instance=instance, metric="cpu"))
        else:
            noise.append(_Event(kind="flapping", service=service, start=at, end=at + length,
                                metric="queue_depth"))
    for _ in range(max(2, round(days / 1.5))):
        service = SERVICES[int(rng.integers(len(SERVICES)))]
        length = int(rng.integers(1, 5))
        at = _place(rng, calendar, service, length, pad=45, lo=60, reference=False)
        if rng.random() < 0.5:
            instance = _instances(service)[int(rng.integers(2))]
            noise.append(_Event(kind="benign_spike", service=service, start=at, end=at + length,
                                instance=instance, metric="cpu"))
        else:
            noise.append(_Event(kind="benign_spike", service=service, start=at, end=at + length,
                                metric="latency_p99"))
    for service in SERVICES:
        for _ in range(max(1, round(days * 3 / 7))):
            at = _place(rng, calendar, service, 8, pad=45, lo=60, reference=False, office=True)
            noise.append(_Event(kind="deploy", service=service, start=at, end=at + 8))
    incidents.sort(key=lambda e: (e.start, e.service))
    noise.sort(key=lambda e: (e.start, e.service, e.kind))
    return incidents, noise


def _apply_incident(rng: np.random.Generator, s: _Signals, event: _Event, n: int) -> None:
    a, b, length, service = event.start, event.end, event.end - event.start, event.service
    instances = _instances(service)
    if event.kind == "spike":
        env = _envelope(length, 2, 3)
        s.latency[service][a:b] += rng.uniform(0.8, 2.0) * env
        s.queue[service][a:b] += rng.uniform(400, 1200) * env
        for instance in instances:
            s.cpu[instance][a:b] += rng.uniform(20, 35) * env
            s.error_ratio[instance][a:b] += 0.003 * env
    elif event.kind == "level_shift":  # a bad deploy, rolled back at the end
        env = _envelope(length, 3, 3)
        s.latency[service][a:b] += rng.uniform(0.45, 0.7) * env
        for k, instance in enumerate(instances):
            s.cpu[instance][a:b] += rng.uniform(10, 16) * env
            s.error_ratio[instance][a:b] += 0.0005 * env
            s.resets[instance] += [a + 2 * k, b - 4 + 2 * k]
    elif event.kind == "ramp":  # a consumer leaks until it is restarted
        x = np.linspace(0.0, 1.0, length)
        s.queue[service][a:b] += rng.uniform(1500, 2500) * x
        tail = min(n, b + 15)
        s.queue[service][b:tail] += s.queue[service][b - 1] * np.exp(-np.arange(tail - b) / 3.0) * 0.5
        s.latency[service][a:b] += rng.uniform(0.45, 0.65) * x**2
        leaking = event.instance or instances[0]
        s.cpu[leaking][a:b] += rng.uniform(25, 35) * x
        if b < n:
            s.resets[leaking].append(b)
    elif event.kind == "outage":  # the service fails every request until both instances restart
        env = _envelope(length, 1, 2)
        timeout = rng.uniform(8.0, 10.0)
        s.latency[service][a:b] = (1 - env) * s.latency[service][a:b] + env * timeout
        backlog = 3000.0 * np.linspace(0.0, 1.0, length)
        s.queue[service][a:b] += backlog
        tail = min(n, b + 20)
        s.queue[service][b:tail] += backlog[-1] * np.exp(-np.arange(1, tail - b + 1) / 5.0)
        for k, instance in enumerate(instances):
            idle = rng.uniform(2.0, 6.0)
            s.cpu[instance][a:b] = (1 - env) * s.cpu[instance][a:b] + env * idle
            s.error_ratio[instance][a:b] = ((1 - env) * s.error_ratio[instance][a:b]
                                            + env * rng.uniform(0.97, 1.0))
            s.rate[instance][a:b] *= 1.0 + 0.4 * env  # clients retry
            if b + k < n:
                s.resets[instance].append(b + k)
    elif event.kind == "error_burst":
        env = _envelope(length, 2, 3)
        s.latency[service][a:b] += 0.05 * env
        for instance in instances:
            extra = rng.uniform(0.2, 0.5) if instance == event.instance else rng.uniform(0.0, 0.04)
            s.error_ratio[instance][a:b] += extra * env


def _apply_noise(rng: np.random.Generator, s: _Signals, event: _Event, n: int) -> None:
    a, b, length, service = event.start, event.end, event.end - event.start, event.service
    j = np.arange(length)
    if event.kind == "flapping":  # a batch job holds the metric right at the naive threshold
        env = _envelope(length, 10, 10)
        period, phase = rng.uniform(20, 30), rng.uniform(0, 2 * math.pi)
        wave = np.sin(2 * math.pi * j / period + phase)
        if event.metric == "cpu" and event.instance is not None:
            target = 79.5 + rng.uniform(4, 7) * wave + rng.normal(0.0, 0.8, length)
            s.cpu[event.instance][a:b] = (1 - env) * s.cpu[event.instance][a:b] + env * target
        else:
            target = 490 + rng.uniform(60, 120) * wave + rng.normal(0.0, 10.0, length)
            s.queue[service][a:b] = (1 - env) * s.queue[service][a:b] + env * target
    elif event.kind == "benign_spike":
        env = _envelope(length, 1, 1.5)
        if event.metric == "cpu" and event.instance is not None:
            s.cpu[event.instance][a:b] += rng.uniform(25, 40) * env
        else:
            s.latency[service][a:b] += rng.uniform(0.4, 1.2) * env
    elif event.kind == "deploy":  # a rolling restart: instance k restarts at minute 3k
        s.latency[service][a:a + 6] += rng.uniform(0.15, 0.35) * _envelope(6, 1, 3)
        failing = rng.random() < 0.5
        for k, instance in enumerate(_instances(service)):
            r = a + 3 * k
            s.resets[instance].append(r)
            s.cpu[instance][r:r + 3] += np.array([20.0, 14.0, 8.0])
            if failing and k == 0:  # the first restarted instance drops in-flight requests
                s.error_ratio[instance][r:r + 2] += rng.uniform(0.06, 0.12)


def _counters(rng: np.random.Generator, s: _Signals, instance: str, n: int,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-minute increments and counter values of requests and errors, reset to zero at restarts."""
    requests = rng.poisson(np.maximum(s.rate[instance], 0.0)).astype(np.int64)
    errors = rng.binomial(requests, np.clip(s.error_ratio[instance], 0.0, 1.0)).astype(np.int64)
    resets = np.unique(np.asarray([r for r in s.resets[instance] if 0 < r < n], dtype=np.int64))
    offset_requests = int(rng.integers(1_000_000, 50_000_000))
    offset_errors = int(offset_requests * _PROFILES[instance.rsplit("-", 1)[0]].error_ratio)

    def accumulate(increments: np.ndarray, offset: int) -> np.ndarray:
        total = np.cumsum(increments)
        before = total - increments  # counted before each minute
        segment = np.searchsorted(resets, np.arange(n), side="right")
        base = np.concatenate([[-offset], before[resets]])
        return (total - base[segment]).astype(np.float64)

    return requests, errors, accumulate(requests, offset_requests), accumulate(errors, offset_errors)


# --------------------------------------------------------------------------------------------------
# rotation and pages


def _weekly_shifts(rng: np.random.Generator, start: datetime, end: datetime) -> pl.DataFrame:
    """Weekly primary/secondary turns per team, handed off Monday 10:00 in the schedule's zone.

    The secondary is next week's primary. Turns are counted from a fixed Monday so the rotation does
    not depend on ``start``; the ring order is shuffled by the seed.
    """
    rows: list[tuple[str, int, str, datetime, datetime, str]] = []
    anchor = date(2026, 1, 5)
    for team, tz in SCHEDULE_TZ.items():
        zone = ZoneInfo(tz)
        members = [r for r, _, t in ROSTER if t == team]
        ring = [members[i] for i in rng.permutation(len(members))]
        first = start.astimezone(zone).date() - timedelta(days=7)
        monday = first - timedelta(days=first.weekday())
        while True:
            begin = datetime(monday.year, monday.month, monday.day, 10, tzinfo=zone).astimezone(UTC)
            following = monday + timedelta(days=7)
            finish = datetime(following.year, following.month, following.day, 10, tzinfo=zone).astimezone(UTC)
            if begin >= end + timedelta(days=7):
                break
            turn = (monday - anchor).days // 7
            for level in (1, 2):
                rows.append((team, level, ring[(turn + level - 1) % len(ring)], begin, finish, tz))
            monday = following
    return pl.DataFrame(rows, schema={"schedule": pl.String(), "level": pl.Int32(), "responder": pl.String(),
                                      "start_at": INSTANT, "end_at": INSTANT, "tz": pl.String()},
                        orient="row").sort("schedule", "start_at", "level")


def _episodes(condition: np.ndarray, merge_gap: int = 5) -> list[tuple[int, int]]:
    """Runs of true as (first index, index after the last), merging runs less than ``merge_gap`` apart."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], condition.astype(np.int8), [0]])))
    starts, ends = edges[0::2], edges[1::2]
    if starts.size == 0:
        return []
    keep = np.concatenate([[True], starts[1:] - ends[:-1] > merge_gap])
    merged_ends = np.concatenate([ends[np.flatnonzero(keep)[1:] - 1], ends[-1:]])
    return list(zip(starts[keep].tolist(), merged_ends.tolist(), strict=True))


def _naive_conditions(metrics: Mapping[tuple[str, str, str | None], np.ndarray],
                      increments: Mapping[tuple[str, str], np.ndarray]) -> dict[tuple[str, str], np.ndarray]:
    """Where each naive rule holds, per (rule, service), on the generated samples."""
    found: dict[tuple[str, str], np.ndarray] = {}
    for service in SERVICES:
        one, two = _instances(service)
        cpu = _RULE_OF_METRIC["cpu"]
        found[cpu.rule, service] = ((metrics["cpu", service, one] > cpu.naive_threshold)
                                    | (metrics["cpu", service, two] > cpu.naive_threshold))
        for metric in ("latency_p99", "queue_depth"):
            rule = _RULE_OF_METRIC[metric]
            found[rule.rule, service] = metrics[metric, service, None] > rule.naive_threshold
        errors = increments["errors", one] + increments["errors", two]
        requests = increments["requests", one] + increments["requests", two]

        def window(x: np.ndarray, width: int = 5) -> np.ndarray:
            total = np.cumsum(x)
            return total - np.concatenate([np.zeros(width, dtype=total.dtype), total[:-width]])

        rule = _RULE_OF_METRIC["http_errors_total"]
        ratio = window(errors) / np.maximum(window(requests), 1)
        found[rule.rule, service] = ratio > rule.naive_threshold
    return found


class _OnCall:
    def __init__(self, shifts: pl.DataFrame):
        self.table: dict[tuple[str, int], tuple[np.ndarray, list[str]]] = {}
        for (schedule, level), part in shifts.group_by("schedule", "level", maintain_order=True):
            ordered = part.sort("start_at")
            starts = ordered["start_at"].dt.epoch("us").to_numpy()
            self.table[str(schedule), int(level)] = (starts, ordered["responder"].to_list())

    def at(self, schedule: str, level: int, instant_us: int) -> str:
        starts, responders = self.table[schedule, level]
        return responders[int(np.searchsorted(starts, instant_us, side="right")) - 1]


def _is_night(instant_us: int, tz: str) -> bool:
    hour = datetime.fromtimestamp(instant_us // _SECOND_US, tz=ZoneInfo(tz)).hour
    return hour >= 22 or hour < 7


def _next_business_morning(instant_us: int, tz: str) -> int:
    """The instant (us) of the next 09:00 on a weekday in ``tz``, or ``instant_us`` if within 09-18."""
    zone = ZoneInfo(tz)
    local = datetime.fromtimestamp(instant_us // _SECOND_US, tz=zone)
    if local.weekday() < 5 and 9 <= local.hour < 18:
        return instant_us
    day = local.date() + timedelta(days=1 if local.hour >= 9 else 0)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    morning = datetime(day.year, day.month, day.day, 9, tzinfo=zone)
    return int(morning.timestamp()) * _SECOND_US


def _ack_delay_us(rng: np.random.Generator, night: bool) -> int:
    median_minutes = 6.0 if night else 1.8
    return int(rng.lognormal(math.log(median_minutes * 60), 0.9)) * _SECOND_US


def _respond(rng: np.random.Generator, oncall: _OnCall, home_tz: Mapping[str, str], *, team: str,
             urgency: str, paged_us: int, clear_us: int | None) -> tuple[int | None, str, int, int | None]:
    """Who acknowledges a page and when: (acknowledged_at, responder, escalations, resolved_at) in us.

    High urgency: the primary acknowledges after a lognormal delay (median 1.8 min by day, 6 min at
    night in their zone) unless they miss it or take longer than the
    escalation timeout; then the secondary is paged. Low urgency never escalates and waits for the
    primary's business hours. A page whose alert clears before anyone acknowledges auto-resolves.
    Missed pages: 8% by day, 25% at night for the primary; 3% and 10% for the secondary.
    """
    primary, secondary = oncall.at(team, 1, paged_us), oncall.at(team, 2, paged_us)
    responder, escalations = primary, 0
    ack_us: int | None
    if urgency == "high":
        night = _is_night(paged_us, home_tz[primary])
        missed = rng.random() < (0.25 if night else 0.08)
        delay = _ack_delay_us(rng, night)
        ack_us = None if missed else paged_us + delay
        escalate_us = paged_us + int(ESCALATION_TIMEOUT.total_seconds()) * _SECOND_US
        if ack_us is None or ack_us >= escalate_us:
            night2 = _is_night(escalate_us, home_tz[secondary])
            missed2 = rng.random() < (0.10 if night2 else 0.03)
            delay2 = _ack_delay_us(rng, night2)
            if clear_us is None or escalate_us < clear_us:
                responder, escalations = secondary, 1
                ack_us = None if missed2 else escalate_us + delay2
            else:
                ack_us = None
    else:
        opens = _next_business_morning(paged_us, home_tz[primary])
        delay = int(rng.lognormal(math.log(35 * 60), 0.8)) * _SECOND_US
        ack_us = max(opens + int(rng.integers(0, 45 * 60)) * _SECOND_US, paged_us + delay) \
            if opens > paged_us else paged_us + delay
    if ack_us is not None and clear_us is not None and ack_us >= clear_us:
        ack_us = None
    work_us = int(rng.integers(2 * 60, 20 * 60)) * _SECOND_US
    if clear_us is None:
        resolved_us = None
    elif ack_us is None:
        resolved_us = clear_us
    else:
        resolved_us = max(clear_us, ack_us + work_us)
    return ack_us, responder, escalations, resolved_us


def _pages(rng: np.random.Generator, conditions: Mapping[tuple[str, str], np.ndarray], times_us: np.ndarray,
           incidents: list[_Event], shifts: pl.DataFrame) -> pl.DataFrame:
    """One page per episode of a naive rule on a service (PagerDuty deduplicates re-triggers of an
    open incident, so episodes less than 5 minutes apart are one page), acknowledged per :func:`_respond`.
    """
    n = times_us.size
    urgency_of = {s.rule: s.urgency for s in SUGGESTED_RULES}
    episodes = sorted(((first, service, rule, end) for (rule, service), condition in conditions.items()
                       for first, end in _episodes(condition)))
    oncall = _OnCall(shifts)
    home_tz = {r: tz for r, tz, _ in ROSTER}
    rows = []
    for number, (first, service, rule, end) in enumerate(episodes, start=1):
        paged_us = int(times_us[first]) + (30 + int(rng.integers(0, 60))) * _SECOND_US
        clear_us = int(times_us[end]) + int(rng.integers(0, 300)) * _SECOND_US if end < n else None
        team, urgency = TEAMS[service], urgency_of[rule]
        ack_us, responder, escalations, resolved_us = _respond(
            rng, oncall, home_tz, team=team, urgency=urgency, paged_us=paged_us, clear_us=clear_us)
        incident_id = None
        for index, incident in enumerate(incidents):
            if incident.service == service and first < incident.end + 30 and end > incident.start:
                incident_id = _incident_id(index)
                break
        rows.append((f"P{number:04d}", paged_us, urgency, service, team, rule, ack_us, resolved_us,
                     responder, escalations, incident_id))
    frame = pl.DataFrame(
        rows,
        schema={"page_id": pl.String(), "paged_at": pl.Int64(), "urgency": pl.String(),
                "service": pl.String(), "team": pl.String(), "rule": pl.String(),
                "acknowledged_at": pl.Int64(), "resolved_at": pl.Int64(), "responder": pl.String(),
                "escalations": pl.Int64(), "incident_id": pl.String()},
        orient="row",
    ).with_columns(pl.col("paged_at", "acknowledged_at", "resolved_at").cast(pl.Datetime("us"))
                   .dt.replace_time_zone("UTC"))
    return frame.sort("paged_at", "page_id")


def _incident_id(index: int) -> str:
    return f"INC-{index + 1:03d}"


_TITLES = {"spike": "{service}: p99 latency spike", "level_shift": "{service}: latency regression after deploy",
           "ramp": "{service}: queue backlog growing (consumer leak on {instance})",
           "outage": "{service}: full outage", "error_burst": "{service}: elevated 5xx on {instance}"}


def _incident_frame(incidents: list[_Event], pages: pl.DataFrame, start_us: int) -> pl.DataFrame:
    rows = []
    for index, event in enumerate(incidents):
        incident_id = _incident_id(index)
        linked = pages.filter(pl.col("incident_id") == incident_id)
        acked = linked.filter(pl.col("acknowledged_at").is_not_null()).sort("acknowledged_at")
        if acked.height:
            acknowledged_at, responder = acked["acknowledged_at"][0], acked["responder"][0]
        else:
            acknowledged_at, responder = None, (linked["responder"][0] if linked.height else None)
        rows.append({
            "incident_id": incident_id, "service": event.service,
            "started_at": datetime.fromtimestamp((start_us + event.start * _MINUTE_US) / _SECOND_US, tz=UTC),
            "resolved_at": datetime.fromtimestamp((start_us + event.end * _MINUTE_US) / _SECOND_US, tz=UTC),
            "severity": _SEVERITY[event.kind], "acknowledged_at": acknowledged_at, "responder": responder,
            "kind": event.kind, "urgency": "high",
            "title": _TITLES[event.kind].format(service=event.service, instance=event.instance),
        })
    schema = {"incident_id": pl.String(), "service": pl.String(), "started_at": INSTANT,
              "resolved_at": INSTANT, "severity": pl.String(), "acknowledged_at": INSTANT,
              "responder": pl.String(), "kind": pl.String(), "urgency": pl.String(), "title": pl.String()}
    return pl.DataFrame(rows, schema=schema)


def _noise_frame(noise: list[_Event], start_us: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"noise_id": [f"N-{i + 1:03d}" for i in range(len(noise))],
         "kind": [e.kind for e in noise], "service": [e.service for e in noise],
         "instance": [e.instance for e in noise], "metric": [e.metric for e in noise],
         "started_at": [start_us + e.start * _MINUTE_US for e in noise],
         "ended_at": [start_us + e.end * _MINUTE_US for e in noise]},
        schema={"noise_id": pl.String(), "kind": pl.String(), "service": pl.String(), "instance": pl.String(),
                "metric": pl.String(), "started_at": pl.Int64(), "ended_at": pl.Int64()},
    ).with_columns(pl.col("started_at", "ended_at").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))


def _metrics_frame(series: Mapping[tuple[str, str, str | None], np.ndarray], times_us: np.ndarray,
                   ) -> pl.DataFrame:
    keys = sorted(series, key=lambda k: (k[0], k[1], k[2] or ""))
    n = times_us.size
    index = pl.DataFrame({"metric": [k[0] for k in keys], "service": [k[1] for k in keys],
                          "instance": [k[2] for k in keys]}, schema={"metric": pl.String(),
                                                                      "service": pl.String(),
                                                                      "instance": pl.String()})
    values = np.concatenate([series[k] for k in keys])
    return pl.DataFrame({
        "timestamp": pl.Series(np.tile(times_us, len(keys))).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        "metric": index["metric"].gather(np.repeat(np.arange(len(keys)), n)),
        "value": values,
        "service": index["service"].gather(np.repeat(np.arange(len(keys)), n)),
        "instance": index["instance"].gather(np.repeat(np.arange(len(keys)), n)),
    })


# --------------------------------------------------------------------------------------------------
# public API


def generate(*, seed: int = SAMPLE_SEED, days: int = SAMPLE_DAYS, start: datetime | date = SAMPLE_START,
             ) -> Sample:
    """Generate the fictional company's telemetry, incidents, noise, rotation and page history.

    Parameters
    ----------
    seed : int, default 7
        Seeds every random draw; the same seed gives identical frames.
    days : int, default 60
        Length of the period, 7 to 366 days, at one sample per minute per series.
    start : datetime or date, default 2026-03-02 00:00 UTC
        First instant, on a whole minute; naive datetimes and dates mean UTC.

    Returns
    -------
    Sample
        Frozen record of polars frames; see :class:`Sample`.

    Raises
    ------
    ConfigError
        A bad ``seed``, ``days`` or ``start``.

    Examples
    --------
    >>> sample = generate(seed=3, days=14)
    >>> sample.metrics.height == 24 * 14 * 1440
    True
    >>> sorted(sample.incidents["kind"].unique())
    ['error_burst', 'level_shift', 'outage', 'ramp', 'spike']
    """
    moment = _check_args(seed, days, start)
    days = int(days)
    n = days * _DAY_MIN
    event_rng, signal_rng, counter_rng, roster_rng, response_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(5))
    start_us = int(moment.timestamp()) * _SECOND_US
    times_us = start_us + np.arange(n, dtype=np.int64) * _MINUTE_US

    signals = _base_signals(signal_rng, n, start_us // _MINUTE_US)
    incidents, noise = _place_events(event_rng, n, moment)
    for event in incidents:
        _apply_incident(event_rng, signals, event, n)
    for event in noise:
        _apply_noise(event_rng, signals, event, n)

    series: dict[tuple[str, str, str | None], np.ndarray] = {}
    increments: dict[tuple[str, str], np.ndarray] = {}
    for service in SERVICES:
        series["latency_p99", service, None] = np.round(np.maximum(signals.latency[service], 0.005), 4)
        series["queue_depth", service, None] = np.round(np.maximum(signals.queue[service], 0.0))
        for instance in _instances(service):
            series["cpu", service, instance] = np.round(np.clip(signals.cpu[instance], 0.0, 100.0), 2)
            requests, errors, requests_total, errors_total = _counters(counter_rng, signals, instance, n)
            increments["requests", instance], increments["errors", instance] = requests, errors
            series["http_requests_total", service, instance] = requests_total
            series["http_errors_total", service, instance] = errors_total

    shifts = _weekly_shifts(roster_rng, moment, moment + timedelta(days=days))
    conditions = _naive_conditions(series, increments)
    pages = _pages(response_rng, conditions, times_us, incidents, shifts)
    sample = Sample(
        metrics=_metrics_frame(series, times_us),
        incidents=_incident_frame(incidents, pages, start_us),
        pages=pages,
        shifts=shifts,
        roster=pl.DataFrame(list(ROSTER), schema={"responder": pl.String(), "tz": pl.String(),
                                                  "team": pl.String()}, orient="row"),
        noise=_noise_frame(noise, start_us),
        seed=int(seed), days=days, start=moment,
    )
    for name, frame in sample.frames().items():
        validate(frame, FRAME_SCHEMAS[name], file=f"generated {name}")
    logger.info("generated %d days from seed %d: %d samples, %d incidents, %d noise events, %d pages",
                days, seed, sample.metrics.height, sample.incidents.height, sample.noise.height,
                sample.pages.height)
    return sample


# --------------------------------------------------------------------------------------------------
# files

_CSV_FRAMES = ("incidents", "pages", "shifts", "roster", "noise")
MANIFEST = "manifest.json"


def _write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Write through ``write(temporary)`` and rename into place, so a reader never sees half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Parquet written the same way every time: zstd, delta-encoded timestamps, dictionary labels.

    pyarrow's writer is byte-deterministic for the same input and version (the version goes into the
    file footer), and delta encoding makes a minute grid of timestamps almost free.
    """
    table = frame.to_arrow()
    encodings: dict[str, str] = {}
    dictionary = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime | pl.Int64 | pl.Int32):
            encodings[name] = "DELTA_BINARY_PACKED"
        elif dtype == pl.Float64():
            encodings[name] = "PLAIN"
        else:
            dictionary.append(name)
    _write_atomically(path, lambda target: pq.write_table(
        table, target, compression="zstd", compression_level=12, use_dictionary=dictionary,
        column_encoding=encodings, write_statistics=True))


def _csv_text(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col(name).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
                              for name, dtype in frame.schema.items() if isinstance(dtype, pl.Datetime))


def _command(sample: Sample) -> str:
    if (sample.seed, sample.days, sample.start) == (SAMPLE_SEED, SAMPLE_DAYS, SAMPLE_START):
        return SAMPLE_COMMAND
    start = "" if sample.start == SAMPLE_START else f" --start {sample.start.strftime('%Y-%m-%dT%H:%MZ')}"
    return f"alertsim datasets generate --seed {sample.seed} --days {sample.days}{start} --out DIR"


def write_sample(sample: Sample, directory: str | os.PathLike[str]) -> Path:
    """Write ``sample`` to ``directory``: one Parquet file per frame, CSV copies of the small frames,
    ``manifest.json`` and a generated ``README.md``.

    Every file is written to a temporary name and renamed into place. The same sample gives the same
    bytes (for the same pyarrow version, recorded in the manifest).

    Parameters
    ----------
    sample : Sample
        What :func:`generate` returned.
    directory : path
        Created if missing; files of the same names are replaced, others are left alone.

    Returns
    -------
    Path
        ``directory``.

    Examples
    --------
    >>> import tempfile
    >>> out = write_sample(generate(seed=1, days=7), tempfile.mkdtemp())
    >>> sorted(p.name for p in out.iterdir())[:3]
    ['README.md', 'incidents.csv', 'incidents.parquet']
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, object]] = {}
    for name, frame in sample.frames().items():
        _write_parquet(frame, out / f"{name}.parquet")
        files[f"{name}.parquet"] = {"frame": name, "rows": frame.height}
        if name in _CSV_FRAMES:
            _write_atomically(out / f"{name}.csv", _csv_text(frame).write_csv)
            files[f"{name}.csv"] = {"frame": name, "rows": frame.height}
    manifest = {
        "generator": "alertsim.datasets.generate",
        "seed": sample.seed,
        "days": sample.days,
        "start": sample.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": _command(sample),
        "files": files,
        "written_with": {"pyarrow": pyarrow.__version__, "polars": pl.__version__, "numpy": np.__version__},
    }
    _write_atomically(out / MANIFEST,
                      lambda target: target.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8"))
    _write_atomically(out / "README.md",
                      lambda target: target.write_text(describe_sample(sample), encoding="utf-8"))
    logger.info("wrote the sample to %s", out)
    return out


def read_sample(directory: str | os.PathLike[str]) -> Sample:
    """Read a sample written by :func:`write_sample`, checking every frame against its schema.

    Raises
    ------
    InputError
        Listing every missing or unreadable file and every schema problem.
    """
    root = Path(directory)
    problems: list[Problem] = []
    manifest: dict[str, object] = {}
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        problems.append(Problem(file=str(root / MANIFEST), reason=f"cannot read the manifest: {error}"))
    frames: dict[str, pl.DataFrame] = {}
    for name, schema in FRAME_SCHEMAS.items():
        path = root / f"{name}.parquet"
        try:
            frames[name] = pl.read_parquet(path)
        except (OSError, pl.exceptions.PolarsError) as error:
            problems.append(Problem(file=str(path), reason=f"cannot read: {error}"))
            continue
        problems += frame_problems(frames[name], schema, file=str(path))
    if problems:
        raise InputError(f"{root} is not a complete sample directory", problems, file=str(root))
    try:
        seed, days = int(manifest["seed"]), int(manifest["days"])  # type: ignore[call-overload]
        start = datetime.strptime(str(manifest["start"]), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"{root / MANIFEST} lacks seed, days or start", [
            Problem(file=str(root / MANIFEST), reason=f"seed, days and start (YYYY-MM-DDTHH:MM:SSZ) are "
                                                      f"required: {error}")], file=str(root)) from None
    return Sample(**frames, seed=seed, days=days, start=start)


def load_sample() -> Sample:
    """The committed sample: ``data/sample/`` of a source checkout when present, otherwise the same
    data generated from the documented seed (``generate(seed=7, days=60)``).

    Examples
    --------
    >>> load_sample().seed
    7
    """
    if (SAMPLE_DIR / MANIFEST).exists():
        return read_sample(SAMPLE_DIR)
    logger.info("%s not found; generating the sample from seed %d", SAMPLE_DIR, SAMPLE_SEED)
    return generate(seed=SAMPLE_SEED, days=SAMPLE_DAYS, start=SAMPLE_START)


# --------------------------------------------------------------------------------------------------
# README

_COLUMNS = {
    "metrics": [
        ("timestamp", "instant (UTC), every minute on the minute"),
        ("metric", "`cpu` (percent of one instance), `latency_p99` (seconds, per service), `queue_depth` "
                   "(jobs waiting, per service), `http_requests_total` and `http_errors_total` (Prometheus "
                   "counters per instance: monotonic, reset to 0 when the instance restarts)"),
        ("value", "float; cpu to 0.01, latency to 0.1 ms, queue depth and counters whole numbers"),
        ("service", "`checkout`, `search` or `payments`"),
        ("instance", "`<service>-1` or `<service>-2`; null for the per-service series"),
    ],
    "incidents": [
        ("incident_id", "`INC-001`, ... in order of start"),
        ("service", "affected service"),
        ("started_at", "when the fault began to show in the metrics"),
        ("resolved_at", "when it was mitigated (metrics back to normal within minutes)"),
        ("severity", "`sev1` (outage), `sev2`, `sev3`"),
        ("acknowledged_at", "first acknowledgement of any page linked to the incident; null if none"),
        ("responder", "who made that acknowledgement (else the first page's assignee)"),
        ("kind", "`spike`, `level_shift`, `ramp`, `outage`, `error_burst`"),
        ("urgency", "`high`"),
        ("title", "one line, as a responder would write it"),
    ],
    "pages": [
        ("page_id", "`P0001`, ... in order of `paged_at`"),
        ("paged_at", "when PagerDuty notified the primary (group_wait 30 s plus up to a minute)"),
        ("urgency", "`high` (escalates) or `low` (QueueBacklog: waits for office hours, never escalates)"),
        ("service, team", "where it came from and which schedule it went to"),
        ("rule", "the naive alert rule that fired (see thresholds below)"),
        ("acknowledged_at", "null when the alert cleared before anyone acknowledged (auto-resolved)"),
        ("resolved_at", "alert cleared, or the responder resolved it after acknowledging; null if "
                        "still open at the end of the period"),
        ("responder", "who acknowledged; for unacknowledged pages the last person it was assigned to"),
        ("escalations", "1 when the primary did not acknowledge within 15 minutes and the secondary "
                        "was paged"),
        ("incident_id", "the incident the page belongs to; null for noise"),
    ],
    "shifts": [
        ("schedule", "`storefront` (checkout, search) or `payments`"),
        ("level", "1 primary, 2 secondary"),
        ("responder", "who is on call"),
        ("start_at, end_at", "the turn, handed off Monday 10:00 in the schedule's zone (DST-aware)"),
        ("tz", "the schedule's IANA zone"),
    ],
    "roster": [("responder", "name"), ("tz", "home IANA zone (decides what is night for them)"),
               ("team", "schedule they rotate in")],
    "noise": [
        ("noise_id", "`N-001`, ..."),
        ("kind", "`flapping` (a batch job holds cpu or queue depth at the naive threshold for 1-3 h), "
                 "`benign_spike` (1-4 minutes of cpu or latency), `deploy` (rolling restart: counters "
                 "reset, cpu warm-up, a latency blip, and in half of them a 2-minute error blip)"),
        ("service, instance, metric", "what it touched (instance and metric are null for deploys)"),
        ("started_at, ended_at", "its extent"),
    ],
}


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return lines


def describe_sample(sample: Sample) -> str:
    """The sample's ``README.md``: the company, the files and columns, the incidents, the page history
    and suggested naive and better thresholds per metric."""
    lines = [*_intro(sample), *_files(sample), *_incidents(sample), *_noise(sample), *_page_history(sample),
             *_suggested()]
    return "\n".join(lines)


def _intro(sample: Sample) -> list[str]:
    """The title, how to regenerate and load the sample, its period and the company."""
    end = sample.start + timedelta(days=sample.days)
    return [
        "# Larkspur: a generated sample of telemetry, incidents and on-call history",
        "",
        "Larkspur is a fictional online shop. Everything here is synthetic, generated by "
        "`alertsim.datasets.generate` from a seed; the same command always writes the same bytes "
        f"(for the library versions in `{MANIFEST}`).",
        "",
        "```sh",
        f"{_command(sample)}    # regenerates this directory",
        "```",
        "",
        "```python",
        "import alertsim as al",
        "sample = al.load_sample()       # frames: metrics, incidents, pages, shifts, roster, noise",
        "```",
        "",
        f"Period: {sample.start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC ({sample.days} days, seed "
        f"{sample.seed}), one sample per series per minute.",
        "",
        "## The company",
        "",
        "- Services `checkout`, `search` and `payments`, each on two instances (`checkout-1`, `checkout-2`, "
        "...). Peak traffic about "
        + ", ".join(f"{_PROFILES[s].peak_rpm:,.0f} requests/min ({s})" for s in SERVICES) + ".",
        "- Daily seasonality in UTC: a night floor near 04:00, a European afternoon peak (13:00) and a "
        "larger American evening peak (19:30); weekends are 15-25% quieter; traffic grows about 10% over "
        "60 days, with day-to-day variation of a few percent. CPU, latency and queue depth follow load.",
        f"- Availability SLO {SLO_TARGET:.1%} per service; background error ratio 0.02-0.08%.",
        "- Teams: `storefront` owns checkout and search (schedule in Europe/Berlin), `payments` owns "
        "payments (schedule in America/New_York). Each schedule rotates weekly, handing off Monday 10:00 "
        "local time; the secondary (level 2) is next week's primary.",
        f"- Escalation: a high-urgency page not acknowledged within {ESCALATION_TIMEOUT.seconds // 60} "
        "minutes goes to the secondary.",
        "",
    ]


def _files(sample: Sample) -> list[str]:
    """The files with their rows, and every frame's columns."""
    lines = ["## Files", ""]
    describe = {"metrics": "long Metrics frame (Parquet only)", "incidents": "labelled incidents (truth)",
                "pages": "PagerDuty-like page history", "shifts": "rendered on-call rotation",
                "roster": "responders", "noise": "labelled non-incident events"}
    file_rows: list[list[object]] = []
    for name, frame in sample.frames().items():
        shown = f"`{name}.parquet`" + (f", `{name}.csv`" if name in _CSV_FRAMES else "")
        file_rows.append([shown, f"{frame.height:,}", describe[name]])
    lines += _table(["file", "rows", "what"], file_rows)
    lines += ["", f"`{MANIFEST}` records the seed, days, start, command and writer versions. CSV instants "
              "are ISO-8601 UTC (`2026-03-02T10:00:00Z`).", "", "## Columns", ""]
    for name, columns in _COLUMNS.items():
        lines += [f"**{name}**", ""]
        lines += [f"- `{column}`: {what}" if "," not in column else
                  f"- {', '.join(f'`{c.strip()}`' for c in column.split(','))}: {what}"
                  for column, what in columns]
        lines.append("")
    return lines


def _incidents(sample: Sample) -> list[str]:
    """Each incident, and what each kind of incident does to the metrics."""
    lines = ["## Incidents", "",
              "Each incident is visible in the metrics and is paged by at least one naive rule. Incidents "
              "never overlap another event of the same service, and the same hours one week earlier are "
              "quiet, so a week-over-week comparison shows each one.", ""]
    incident_rows: list[list[object]] = []
    for row in sample.incidents.iter_rows(named=True):
        minutes = int((row["resolved_at"] - row["started_at"]).total_seconds() // 60)
        ack = (f"{int((row['acknowledged_at'] - row['started_at']).total_seconds() // 60)} min"
               if row["acknowledged_at"] is not None else "never")
        incident_rows.append([row["incident_id"], row["kind"], row["service"], row["severity"],
                              row["started_at"], f"{minutes} min", ack, row["responder"], row["title"]])
    lines += _table(["id", "kind", "service", "severity", "started (UTC)", "lasted", "acknowledged after",
                     "responder", "title"], incident_rows)
    lines += ["", "What each kind does to the metrics:", "",
              "- `spike` (15-35 min): p99 latency +0.8-2 s, cpu +20-35 on both instances, queue +400-1200.",
              "- `level_shift` (2-6 h, starts with a deploy in office hours, ends with the rollback): "
              "latency +0.45-0.7 s, cpu +10-16.",
              "- `ramp` (4-10 h, a leaking consumer): queue depth grows linearly by 1500-2500, cpu of one "
              "instance by 25-35, p99 latency by 0.45-0.65 s (quadratically, so it shows late); ends "
              "when that instance restarts (its counters reset).",
              "- `outage` (15-50 min): 97-100% of requests fail, clients retry (+40% requests), latency at "
              "the 8-10 s timeout, cpu idles, the queue backs up to 3000 and drains after both instances "
              "restart.",
              "- `error_burst` (12-45 min): 20-50% of one instance's requests fail (0-4% of the other's).",
              ""]
    return lines


def _noise(sample: Sample) -> list[str]:
    lines = ["## Noise", ""]
    counts = (sample.noise.group_by("kind", "metric").len().sort("kind", "metric", nulls_last=True)
              .iter_rows())
    lines += _table(["kind", "metric", "events"], [[k, m or "(all)", c] for k, m, c in counts])
    lines.append("")
    return lines


def _page_history(sample: Sample) -> list[str]:
    """The page history per rule and urgency, how it was made, and who was on call."""
    pages = sample.pages
    noise_pages = pages.filter(pl.col("incident_id").is_null()).height
    lines = ["## Pages", "",
              f"{pages.height} pages, {noise_pages} of them noise (no incident); "
              f"{pages['acknowledged_at'].null_count()} never acknowledged (the alert cleared first); "
              f"{int(pages['escalations'].sum())} escalated to the secondary.", ""]
    by_rule = (pages.group_by("rule", "urgency")
               .agg(pl.len().alias("pages"), pl.col("incident_id").is_null().sum().alias("noise"),
                    pl.col("acknowledged_at").is_null().sum().alias("unacknowledged"),
                    ((pl.col("acknowledged_at") - pl.col("paged_at")).dt.total_seconds().median() / 60)
                    .round(1).alias("median minutes to ack"))
               .sort("rule"))
    lines += _table(by_rule.columns, [list(r) for r in by_rule.iter_rows()])
    lines += ["", "How the history was made: the naive rules below were evaluated on every sample; each run "
              "of firing (runs less than 5 minutes apart merged, as PagerDuty deduplicates re-triggers of "
              "an open incident) is one page to whoever was on call at `paged_at`. The primary "
              "acknowledges after a lognormal delay (median 1.8 minutes by day, 6 at night, 22:00-07:00 in "
              "their own zone) or misses the page (8% by day, 25% at night); after 15 minutes the "
              "secondary is paged. Low-urgency pages wait for the primary's office hours (09:00-18:00 on "
              "weekdays).", "", "## On call", ""]
    lines += _table(["responder", "tz", "team", "pages"],
                    [[r, tz, team, pages.filter(pl.col("responder") == r).height] for r, tz, team in ROSTER])
    lines.append("")
    return lines


def _suggested() -> list[str]:
    """The naive and the better rule per metric."""
    lines = ["## Suggested thresholds", "",
              "The naive rule pages on the noise; the better one pages on every incident and on none of the "
              "noise (checked by `tests/test_datasets.py` with one-minute evaluation).", ""]
    lines += _table(["metric", "rule", "urgency", "naive (pages on noise)", "better", "why"],
                    [[f"`{s.metric}`", s.rule, s.urgency, f"`{s.naive}`", s.better if "burn" in s.better
                      else f"`{s.better}`", s.why] for s in SUGGESTED_RULES])
    lines.append("")
    return lines
