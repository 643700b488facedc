"""Responder behaviour: how fast people acknowledge, how often they miss a page, how long work takes.

A :class:`ResponderModel` holds an ack-latency :class:`Distribution`, a miss probability, optional
hour-of-week factors in the responder's own zone (slower at night), an optional :class:`BusyEffect`
(slower while handling another page; off unless configured) and work-time distributions by urgency or
service. :class:`Responders` maps people to models over a ``default``; a person's model inherits every
field it leaves unset from the default.

Random quantities are drawn up front as uniforms (see :mod:`alertsim.oncall.simulate`); a model turns a
uniform into a latency with the distribution's quantile function, so the fast engine and the SimPy
reference model compute identical values from identical draws.

>>> model = ResponderModel(ack=Distribution(dist="exponential", mean=timedelta(minutes=4)), miss=0.0)
>>> round(float(model.ack.seconds(np.array([0.5]))[0]), 1)   # the median of Exp(mean 4m)
166.4
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from types import MappingProxyType
from typing import Literal

import numpy as np
import polars as pl

from alertsim.errors import ConfigError, InputError, Problem
from alertsim.frames import PAGES, validate
from alertsim.oncall._config import Section
from alertsim.oncall._time import BUCKETS, DAY_US, HOUR_US, WEEK_BUCKETS, LocalClock, zone

log = logging.getLogger(__name__)

DISTRIBUTIONS = ("exponential", "lognormal", "constant")


@dataclass(frozen=True, kw_only=True)
class Distribution:
    """A positive duration distribution.

    ``exponential`` takes ``mean``; ``lognormal`` takes ``sigma`` and either ``median`` or ``mean``
    (mean = median · e^(σ²/2)); ``constant`` takes ``mean`` (always that value, for what-ifs and tests).

    >>> Distribution(dist="lognormal", median=timedelta(minutes=2), sigma=1.0).mean_seconds() > 120
    True
    """

    dist: Literal["exponential", "lognormal", "constant"]
    mean: timedelta | None = None
    median: timedelta | None = None
    sigma: float | None = None

    def __post_init__(self) -> None:
        if self.dist not in DISTRIBUTIONS:
            raise ConfigError(f"unknown distribution {self.dist!r}; use one of {list(DISTRIBUTIONS)}",
                              field="dist")
        if self.dist == "lognormal":
            if (self.mean is None) == (self.median is None):
                raise ConfigError("a lognormal takes exactly one of mean or median", field="median")
            if self.sigma is None or not 0 < self.sigma <= 5:
                raise ConfigError(f"a lognormal needs sigma in (0, 5], got {self.sigma!r}", field="sigma")
        else:
            if self.mean is None or self.median is not None or self.sigma is not None:
                raise ConfigError(f"{self.dist} takes only mean", field="mean")
        for name in ("mean", "median"):
            value = getattr(self, name)
            if value is not None and value <= timedelta(0):
                raise ConfigError(f"{name} must be positive, got {value}", field=name)

    @property
    def mu(self) -> float:
        """log-scale location of a lognormal (log seconds)."""
        if self.median is not None:
            return math.log(self.median.total_seconds())
        return math.log(self.mean.total_seconds()) - (self.sigma or 0.0) ** 2 / 2  # type: ignore[union-attr]

    def mean_seconds(self) -> float:
        if self.dist == "lognormal":
            return math.exp(self.mu + (self.sigma or 0.0) ** 2 / 2)
        return self.mean.total_seconds()  # type: ignore[union-attr]

    def seconds(self, u: np.ndarray) -> np.ndarray:
        """Quantiles (seconds) at uniforms ``u`` in [0, 1)."""
        return quantile_seconds(self.code, *self.params, u)

    @property
    def code(self) -> int:
        return DISTRIBUTIONS.index(self.dist)

    @property
    def params(self) -> tuple[float, float]:
        """(a, b): exponential/constant (mean s, 0); lognormal (mu, sigma)."""
        if self.dist == "lognormal":
            return self.mu, float(self.sigma)  # type: ignore[arg-type]
        return self.mean.total_seconds(), 0.0  # type: ignore[union-attr]


def quantile_seconds(code: int | np.ndarray, a: float | np.ndarray, b: float | np.ndarray,
                     u: np.ndarray) -> np.ndarray:
    """Quantile function shared by both engines: codes index :data:`DISTRIBUTIONS`, (a, b) are
    :attr:`Distribution.params`; vectorised over all arguments (broadcast to ``u``'s shape)."""
    u = np.asarray(u, dtype=float)
    code = np.broadcast_to(np.asarray(code), u.shape)
    a = np.broadcast_to(np.asarray(a, dtype=float), u.shape)
    b = np.broadcast_to(np.asarray(b, dtype=float), u.shape)
    if u.size == 0:
        return np.empty(u.shape)
    low, high = int(code.min()), int(code.max())
    if low == high:
        return _quantile(low, a, b, u)
    out = np.zeros(u.shape)
    for value in range(max(low, 0), high + 1):
        where = code == value
        if where.any():
            out[where] = _quantile(value, a[where], b[where], u[where])
    return out


def _quantile(code: int, a: np.ndarray, b: np.ndarray, u: np.ndarray) -> np.ndarray:
    if code == 0:
        return -a * np.log1p(-u)
    if code == 1:
        from scipy.special import ndtri  # noqa: PLC0415  (scipy: 0.3 s to import, only log-normal draws need it)

        with np.errstate(divide="ignore"):
            return np.exp(a + b * ndtri(u))
    if code == 2:
        return a + 0.0 * u
    return np.zeros(u.shape)


def to_us(seconds: np.ndarray) -> np.ndarray:
    """Seconds as integer microseconds (rounded), the unit of every instant in the engines."""
    return np.rint(np.minimum(seconds, 1e12) * 1e6).astype(np.int64)


@dataclass(frozen=True, kw_only=True)
class BusyEffect:
    """While handling an earlier page (from its ack until it is resolved), a responder acks
    ``factor`` × slower and misses with probability ``miss`` (None keeps the usual miss rate)."""

    factor: float = 1.0
    miss: float | None = None

    def __post_init__(self) -> None:
        if not 0 < self.factor <= 1000:
            raise ConfigError(f"busy factor must be in (0, 1000], got {self.factor}", field="factor")
        if self.miss is not None and not 0 <= self.miss <= 1:
            raise ConfigError(f"busy miss must be in [0, 1], got {self.miss}", field="miss")


@dataclass(frozen=True, kw_only=True)
class ResponderModel:
    """One person's (or the default) behaviour; None fields inherit from the default model.

    Parameters
    ----------
    ack : ack-latency distribution from notification to acknowledgement.
    miss : probability that a notification is never acknowledged by this person.
    hour_factors : 168 latency multipliers by local hour of the week (Monday 00:00 first).
    busy : the busy effect, or None (off).
    work : time from the first ack to resolution by ``"high"``/``"low"`` urgency, ``"service:<name>"``
        or ``"default"``; a service entry beats an urgency entry beats ``default``.
    tz : the person's IANA zone (sleep hours and hour factors are in it).
    """

    ack: Distribution | None = None
    miss: float | None = None
    hour_factors: tuple[float, ...] | None = None
    busy: BusyEffect | None = None
    work: Mapping[str, Distribution] | None = None
    tz: str | None = None

    def __post_init__(self) -> None:
        if self.miss is not None and not 0 <= self.miss <= 1:
            raise ConfigError(f"miss must be a probability in [0, 1], got {self.miss}", field="miss")
        if self.hour_factors is not None and (len(self.hour_factors) != 168 or
                                              not all(0 < f <= 1000 for f in self.hour_factors)):
            raise ConfigError("hour_factors must be 168 positive multipliers", field="hour_factors")
        if self.tz is not None:
            zone(self.tz)
        if self.work is not None:
            object.__setattr__(self, "work", MappingProxyType(dict(self.work)))
            for key in self.work:
                if key not in ("default", "high", "low") and not key.startswith("service:"):
                    raise ConfigError(f"work key {key!r}; use default, high, low or service:<name>",
                                      field="work")

    def work_for(self, urgency: str, service: str | None) -> Distribution | None:
        if not self.work:
            return None
        if service is not None and f"service:{service}" in self.work:
            return self.work[f"service:{service}"]
        return self.work.get(urgency, self.work.get("default"))


@dataclass(frozen=True, kw_only=True)
class Responders:
    """People's models over a default: ``resolve(name)`` gives a complete model.

    >>> r = Responders(default=ResponderModel(ack=Distribution(dist="exponential",
    ...                                                         mean=timedelta(minutes=4)), miss=0.1),
    ...                people={"lead": ResponderModel(miss=0.0)})
    >>> r.resolve("lead").miss, r.resolve("ana").miss
    (0.0, 0.1)
    """

    default: ResponderModel = field(default_factory=ResponderModel)
    people: Mapping[str, ResponderModel] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "people", MappingProxyType(dict(self.people)))

    def __hash__(self) -> int:
        return hash((self.default.ack, self.default.miss, tuple(sorted(self.people))))

    def resolve(self, name: str) -> ResponderModel:
        own = self.people.get(name, ResponderModel())
        merged = {f: getattr(own, f) if getattr(own, f) is not None else getattr(self.default, f)
                  for f in ("ack", "miss", "hour_factors", "busy", "work", "tz")}
        if merged["ack"] is None:
            raise ConfigError(f"no ack model for {name!r}: give responders.default.ack or "
                              f"responders.{name}.ack", field=f"responders.{name}.ack")
        if merged["miss"] is None:
            merged["miss"] = 0.0
        return ResponderModel(**merged)

    @property
    def uses_busy(self) -> bool:
        return any(m.busy is not None for m in (self.default, *self.people.values()))

    @property
    def uses_work(self) -> bool:
        return any(m.work for m in (self.default, *self.people.values()))


# ------------------------------------------------------------------------------------------ parsing

_BUCKET_KEYS = {"sleep", "off", "business"}


def _distribution(raw: object, path: str, file: str | None) -> Distribution:
    s = Section(raw, path=path, file=file, allowed={"dist", "mean", "median", "sigma"})
    try:
        return Distribution(dist=s.text("dist", required=True, choices=DISTRIBUTIONS),  # type: ignore[arg-type]
                            mean=s.duration("mean"), median=s.duration("median"),
                            sigma=s.number("sigma", low=0))
    except ConfigError as exc:
        if exc.file:
            raise
        raise s.error(exc.field, str(exc).split(": ", 1)[-1]) from None


def hour_factors_from(value: object, *, where: str = "hour_factors", file: str | None = None
                      ) -> tuple[float, ...]:
    """168 hour-of-week factors from a mapping of buckets (``sleep``/``off``/``business``, missing
    ones 1.0), a list of 24 (by local hour, every day) or a list of 168.

    >>> hour_factors_from({"sleep": 2.0})[23], hour_factors_from({"sleep": 2.0})[12]
    (2.0, 1.0)
    """
    if isinstance(value, Mapping):
        unknown = sorted(set(map(str, value)) - _BUCKET_KEYS)
        if unknown:
            raise ConfigError(f"unknown bucket(s) {unknown}; use {sorted(_BUCKET_KEYS)}", file=file,
                              field=where)
        per_bucket = [float(value.get(b, 1.0)) for b in BUCKETS]
        factors = tuple(per_bucket[int(k)] for k in WEEK_BUCKETS)
    elif isinstance(value, list | tuple) and len(value) in (24, 168):
        factors = tuple(float(v) for v in (list(value) * 7 if len(value) == 24 else value))
    else:
        raise ConfigError("expected {sleep: x, off: y, business: z} or a list of 24 or 168 factors, "
                          f"got {value!r}", file=file, field=where)
    if not all(0 < f <= 1000 for f in factors):
        raise ConfigError("hour factors must be positive", file=file, field=where)
    return factors


def _model(raw: object, path: str, file: str | None) -> ResponderModel:
    s = Section(raw, path=path, file=file, allowed={"ack", "miss", "hour_factors", "busy", "work", "tz"})
    busy = None
    if s.has("busy"):
        b = Section(s.raw("busy"), path=s.where("busy"), file=file, allowed={"factor", "miss"})
        try:
            busy = BusyEffect(factor=b.number("factor", 1.0), miss=b.number("miss", low=0, high=1))  # type: ignore[arg-type]
        except ConfigError as exc:
            raise b.error(exc.field, str(exc).split(": ", 1)[-1]) from None
    work = None
    if s.has("work"):
        w = s.mapping("work")
        work = {}
        for key, value in w.items():
            if key not in ("default", "high", "low") and not str(key).startswith("service:"):
                raise s.error(f"work.{key}", "use default, high, low or service:<name>")
            work[str(key)] = _distribution(value, f"{s.where('work')}.{key}", file)
    tz = s.time_zone()
    return ResponderModel(
        ack=_distribution(s.raw("ack"), s.where("ack"), file) if s.has("ack") else None,
        miss=s.number("miss", low=0, high=1),
        hour_factors=hour_factors_from(s.raw("hour_factors"), where=s.where("hour_factors"), file=file)
        if s.has("hour_factors") else None,
        busy=busy, work=work, tz=tz)


def parse_responders(raw: object, *, file: str | None = None, path: str = "responders") -> Responders:
    """:class:`Responders` from a design file's ``responders`` mapping (``default`` + people).

    >>> parse_responders({"default": {"ack": {"dist": "exponential", "mean": "4m"}}}).resolve("x").miss
    0.0
    """
    s = Section(raw if raw is not None else {}, path=path, file=file,
                allowed=set(raw) if isinstance(raw, Mapping) else set())
    default = _model(s.raw("default", {}), s.where("default"), file)
    people = {str(name): _model(value, s.where(str(name)), file)
              for name, value in s.data.items() if name != "default"}
    return Responders(default=default, people=people)


# ------------------------------------------------------------------------------------------ fitting


def _fit_distribution(seconds: np.ndarray, dist: str) -> Distribution:
    seconds = seconds[seconds > 0]
    if dist == "exponential":
        return Distribution(dist="exponential", mean=timedelta(seconds=float(seconds.mean())))
    logs = np.log(seconds)
    sigma = float(max(logs.std(ddof=1) if logs.size > 1 else 0.0, 1e-3))
    return Distribution(dist="lognormal", median=timedelta(seconds=float(np.exp(logs.mean()))),
                        sigma=min(sigma, 5.0))


def _best_distribution(seconds: np.ndarray, dist: str) -> Distribution:
    """Fit ``dist``, or with ``"auto"`` the better of exponential and lognormal by AIC."""
    seconds = seconds[seconds > 0]
    if dist != "auto":
        return _fit_distribution(seconds, dist)
    expo = _fit_distribution(seconds, "exponential")
    logn = _fit_distribution(seconds, "lognormal")
    mean = expo.mean_seconds()
    ll_expo = float(np.sum(-np.log(mean) - seconds / mean))
    mu, sigma = logn.mu, float(logn.sigma)  # type: ignore[arg-type]
    logs = np.log(seconds)
    ll_logn = float(np.sum(-logs - np.log(sigma * math.sqrt(2 * math.pi))
                           - (logs - mu) ** 2 / (2 * sigma ** 2)))
    return expo if 2 * 1 - 2 * ll_expo <= 2 * 2 - 2 * ll_logn else logn


def _as_pages(history: pl.DataFrame) -> pl.DataFrame:
    """An Incidents frame (``incident_id``, ``started_at``, ...) renamed into the PAGES shape."""
    if "page_id" in history.columns or "incident_id" not in history.columns:
        return history
    frame = history.rename({"incident_id": "page_id", "started_at": "paged_at"})
    urgency = pl.col("urgency").fill_null("high") if "urgency" in frame.columns else pl.lit("high")
    keep = [c for c in ("page_id", "paged_at", "service", "acknowledged_at", "resolved_at", "responder")
            if c in frame.columns]
    return frame.select(*keep, urgency.alias("urgency"))


def fit_responders(page_history: pl.DataFrame, *, dist: Literal["auto", "exponential", "lognormal"]
                   = "auto", min_pages: int = 20, tz: str | Mapping[str, str] = "UTC") -> Responders:
    """Estimate responder models from a page history (PAGES frame with ``acknowledged_at``,
    ``resolved_at`` and ``responder``).

    - ack latency = ``acknowledged_at − paged_at``, fitted per person with at least ``min_pages``
      acknowledged pages, and pooled over everyone for the default;
    - miss probability = share of a person's pages never acknowledged;
    - hour factors: mean latency in sleep and off hours over business hours (each bucket needs 5
      acks, else 1.0), in each person's zone (``tz``: one zone or a mapping person → zone);
    - work time = ``resolved_at − acknowledged_at`` by urgency (pooled; ``default`` over all).

    Parameters
    ----------
    page_history : PAGES frame with the optional columns above, or an Incidents frame (a PagerDuty
        or Opsgenie import: ``incident_id`` → page, ``started_at`` → paged, urgency ``high`` when
        missing).
    dist : ``"auto"`` (default: exponential or lognormal by AIC), ``"exponential"`` or ``"lognormal"``.
    min_pages : acknowledged pages a person needs for their own ack model (default 20).
    tz : responders' zones for the hour factors (default UTC).

    Returns
    -------
    Responders, with a fitted ``default`` and per-person models; ``people`` entries carry only what
    differs from the default (their own ack model, miss rate and hour factors).

    Notes
    -----
    Latency from ``paged_at`` includes any escalation before the acknowledging person was notified;
    with escalations in the history this overstates the first responder's latency.

    >>> import datetime as dt
    >>> t0 = dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)
    >>> history = pl.DataFrame({"page_id": [f"p{i}" for i in range(40)],
    ...     "paged_at": [t0 + dt.timedelta(hours=i) for i in range(40)], "urgency": ["high"] * 40,
    ...     "acknowledged_at": [t0 + dt.timedelta(hours=i, minutes=3) for i in range(40)],
    ...     "resolved_at": [t0 + dt.timedelta(hours=i, minutes=33) for i in range(40)],
    ...     "responder": ["ana"] * 40})
    >>> fit_responders(history, dist="exponential").resolve("ana").ack.mean
    datetime.timedelta(seconds=180)
    """
    frame = _latencies(page_history, dist)
    acked = frame.filter(pl.col("ack_s").is_not_null())
    if acked.height == 0:
        raise InputError("page history has no acknowledged pages to fit", file="page_history")
    zones = tz if isinstance(tz, Mapping) else {}

    def person_tz(name: str | None) -> str:
        return zones.get(name or "", "UTC") if isinstance(tz, Mapping) else tz

    total = frame.height
    default = ResponderModel(ack=_best_distribution(acked["ack_s"].to_numpy(), dist),
                             miss=float((total - acked.height) / total),
                             hour_factors=_hour_factors(acked, person_tz), work=_work(frame, dist, min_pages),
                             tz=None if isinstance(tz, Mapping) else tz)
    people: dict[str, ResponderModel] = {}
    for (name,), rows in frame.filter(pl.col("responder").is_not_null()).group_by("responder"):
        mine = rows.filter(pl.col("ack_s").is_not_null())
        model = ResponderModel(miss=float((rows.height - mine.height) / rows.height),
                               tz=zones.get(str(name)) if isinstance(tz, Mapping) else None)
        if mine.height >= min_pages:
            model = replace(model, ack=_best_distribution(mine["ack_s"].to_numpy(), dist),
                            hour_factors=_hour_factors(mine, person_tz))
        people[str(name)] = model
    log.info("fitted responder models for %d people from %d pages", len(people), total)
    return Responders(default=default, people=dict(sorted(people.items())))


def _latencies(page_history: pl.DataFrame, dist: str) -> pl.DataFrame:
    """Each page's responder, urgency, time (µs), ack latency and work time (seconds; null when not
    acknowledged or resolved), after checking the history and ``dist``."""
    page_history = _as_pages(page_history)
    for name in ("acknowledged_at", "resolved_at", "responder"):
        if name not in page_history.columns:
            raise InputError("page history lacks a column fit_responders needs",
                             [Problem(column=name, reason="missing; fit_responders needs paged_at, "
                                      "acknowledged_at, resolved_at and responder")])
    pages = validate(page_history, PAGES, file="page_history")
    if dist not in ("auto", "exponential", "lognormal"):
        raise ConfigError(f"dist {dist!r}; use 'auto', 'exponential' or 'lognormal'", field="dist")
    frame = pages.select(
        pl.col("responder"), pl.col("urgency"),
        pl.col("paged_at").dt.epoch("us").alias("paged_us"),
        ((pl.col("acknowledged_at") - pl.col("paged_at")).dt.total_microseconds() / 1e6).alias("ack_s"),
        ((pl.col("resolved_at") - pl.col("acknowledged_at")).dt.total_microseconds() / 1e6)
        .alias("work_s"),
    )
    bad = frame.select((pl.col("ack_s") < 0) | (pl.col("work_s") < 0)).to_series().fill_null(False)
    if bad.any():
        raise InputError("page history has acknowledgements before pages or resolutions before acks",
                         [Problem(row=r + 1, column="acknowledged_at", reason="out of order")
                          for r in bad.arg_true().head(20).to_list()], file="page_history")
    return frame


def _hour_factors(rows: pl.DataFrame, person_tz: Callable[[str | None], str]) -> tuple[float, ...] | None:
    """Mean ack latency in sleep and off hours over business hours (each bucket needs 5 acks), per hour
    of the week in each person's zone; None when there is no business-hours base or nothing differs."""
    if rows.height == 0:
        return None
    by_zone = []
    for (zone_name,), group in rows.with_columns(
            pl.col("responder").map_elements(person_tz, return_dtype=pl.String).alias("zone")
    ).group_by("zone"):
        us = group["paged_us"].to_numpy()
        clock = LocalClock(str(zone_name), int(us.min()) - DAY_US, int(us.max()) + HOUR_US)
        by_zone.append((WEEK_BUCKETS[clock.hour_of_week(us)], group["ack_s"].to_numpy()))
    buckets = np.concatenate([b for b, _ in by_zone])
    latency = np.concatenate([v for _, v in by_zone])
    means = [latency[buckets == k].mean() if (buckets == k).sum() >= 5 else None for k in range(3)]
    base = means[2] if means[2] else None
    if base is None:
        return None
    per_bucket = [(m / base if m else 1.0) for m in means]
    if all(abs(f - 1.0) < 1e-9 for f in per_bucket):
        return None
    return tuple(float(per_bucket[int(k)]) for k in WEEK_BUCKETS)


def _work(frame: pl.DataFrame, dist: str, min_pages: int) -> dict[str, Distribution] | None:
    """Work time (resolution after acknowledgement) pooled (``default``) and per urgency with at least
    ``min_pages`` pages; None without any."""
    work: dict[str, Distribution] = {}
    done = frame.filter(pl.col("work_s").is_not_null() & (pl.col("work_s") > 0))
    if done.height:
        work["default"] = _best_distribution(done["work_s"].to_numpy(), dist)
        for urgency in sorted(done["urgency"].unique().to_list()):
            rows = done.filter(pl.col("urgency") == urgency)
            if rows.height >= min_pages and urgency in ("high", "low"):
                work[urgency] = _best_distribution(rows["work_s"].to_numpy(), dist)
    return work or None


__all__ = ["DISTRIBUTIONS", "BusyEffect", "Distribution", "ResponderModel", "Responders",
           "fit_responders", "hour_factors_from", "parse_responders", "quantile_seconds"]
