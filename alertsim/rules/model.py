"""Rule records: frozen, keyword-only dataclasses, one per ``kind``.

Every rule has a ``name``, a ``severity``, ``for_`` (Prometheus' ``for``), ``keep_firing_for``,
``labels`` and ``annotations``. What it watches and when it is true depends on the kind:

========================  =====================================================================
``ThresholdRule``         ``metric{matchers} op value``, optionally over ``<fn>_over_time[window]``,
                          with optional hysteresis ``clear``
``ZScoreRule``            ``|x − mean| / std`` over the trailing ``window`` (excluding ``t``)
``MadRule``               ``|x − median| / (1.4826·MAD)`` over the trailing ``window``
``EwmaRule``              EWMA control chart: ``|x − ewma| / ewm_std`` with ``halflife``
``SeasonalRule``          ``x`` against ``x offset period`` as a ratio or a difference
``HoltWintersRule``       outside a prediction band of a model refit on a trailing window
``BurnRateRule``          multiwindow, multi-burn-rate SLO alerts over counters
========================  =====================================================================

>>> from datetime import timedelta
>>> ThresholdRule(name="HighCPU", metric="cpu", op=">", value=80.0, for_=timedelta(minutes=5)).kind
'threshold'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

Op = Literal[">", ">=", "<", "<=", "==", "!="]
Direction = Literal["up", "down", "both"]
OPS: tuple[str, ...] = (">", ">=", "<", "<=", "==", "!=")
SEVERITIES: tuple[str, ...] = ("page", "ticket", "info")


def _frozen(mapping: Mapping[str, str] | None) -> Mapping[str, str]:
    return dict(sorted((mapping or {}).items()))


@dataclass(frozen=True, kw_only=True)
class Selector:
    """A metric name and label-equality matchers: ``{metric: http_requests_total, matchers: {...}}``."""

    metric: str
    matchers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Over:
    """A ``<fn>_over_time(x[window])`` applied before comparing (``q`` for ``quantile``)."""

    fn: Literal["avg", "min", "max", "sum", "count", "last", "quantile", "stddev"]
    window: timedelta
    q: float | None = None


@dataclass(frozen=True, kw_only=True)
class RuleBase:
    """Fields every rule has."""

    name: str
    severity: str = "page"
    for_: timedelta = timedelta(0)
    keep_firing_for: timedelta = timedelta(0)
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    kind: str = field(init=False, default="")
    #: The rule's name before grid expansion (``HighCPU`` for ``HighCPU[value=85]``).
    base_name: str | None = None

    @property
    def alertname(self) -> str:
        return self.base_name or self.name


@dataclass(frozen=True, kw_only=True)
class ThresholdRule(RuleBase):
    metric: str
    matchers: Mapping[str, str] = field(default_factory=dict)
    op: Op = ">"
    value: float
    over: Over | None = None
    clear: float | None = None
    kind: str = field(init=False, default="threshold")


@dataclass(frozen=True, kw_only=True)
class AnomalyBase(RuleBase):
    metric: str
    matchers: Mapping[str, str] = field(default_factory=dict)
    threshold: float = 3.0
    direction: Direction = "both"


@dataclass(frozen=True, kw_only=True)
class ZScoreRule(AnomalyBase):
    window: timedelta = timedelta(hours=1)
    #: Fewest samples in the window for a score (default: half the window's instants).
    min_samples: int | None = None
    kind: str = field(init=False, default="zscore")


@dataclass(frozen=True, kw_only=True)
class MadRule(AnomalyBase):
    window: timedelta = timedelta(hours=1)
    min_samples: int | None = None
    kind: str = field(init=False, default="mad")


@dataclass(frozen=True, kw_only=True)
class EwmaRule(AnomalyBase):
    halflife: timedelta = timedelta(minutes=30)
    #: Instants to observe before the chart may alert.
    warmup: timedelta = timedelta(hours=1)
    kind: str = field(init=False, default="ewma")


@dataclass(frozen=True, kw_only=True)
class SeasonalRule(RuleBase):
    metric: str
    matchers: Mapping[str, str] = field(default_factory=dict)
    period: timedelta = timedelta(days=1)
    mode: Literal["ratio", "difference"] = "ratio"
    op: Op = ">"
    value: float
    over: Over | None = None
    kind: str = field(init=False, default="seasonal")


@dataclass(frozen=True, kw_only=True)
class HoltWintersRule(AnomalyBase):
    season: timedelta = timedelta(days=1)
    train: timedelta = timedelta(days=7)
    refit: timedelta = timedelta(days=1)
    #: Resample to this step before fitting (keeps seasonal models small); the band is held between.
    resolution: timedelta = timedelta(minutes=15)
    method: Literal["ets", "stl"] = "stl"
    kind: str = field(init=False, default="holt_winters")


@dataclass(frozen=True, kw_only=True)
class BurnWindow:
    """One tier of a multiwindow burn-rate alert: both windows must burn faster than ``factor``."""

    long: timedelta
    short: timedelta
    factor: float
    severity: str


#: The SRE Workbook's table 5-8 plus its 24h/2h ticket tier (Sloth's google-30d defaults).
WORKBOOK_WINDOWS: tuple[BurnWindow, ...] = (
    BurnWindow(long=timedelta(hours=1), short=timedelta(minutes=5), factor=14.4, severity="page"),
    BurnWindow(long=timedelta(hours=6), short=timedelta(minutes=30), factor=6.0, severity="page"),
    BurnWindow(long=timedelta(hours=24), short=timedelta(hours=2), factor=3.0, severity="ticket"),
    BurnWindow(long=timedelta(days=3), short=timedelta(hours=6), factor=1.0, severity="ticket"),
)


@dataclass(frozen=True, kw_only=True)
class BurnRateRule(RuleBase):
    """An SLO over counters: error ratio = ``bad/total`` (or ``1 − good/total``), compared per tier
    with ``factor × (1 − objective)`` over a long and a short window (both must exceed)."""

    objective: float
    total: Selector
    bad: Selector | None = None
    good: Selector | None = None
    period: timedelta = timedelta(days=30)
    windows: tuple[BurnWindow, ...] = WORKBOOK_WINDOWS
    #: Labels the SLO is computed per (``sum by (...)``); empty = one SLO over all matched series.
    by: tuple[str, ...] = ()
    kind: str = field(init=False, default="burn_rate")


Rule = (ThresholdRule | ZScoreRule | MadRule | EwmaRule | SeasonalRule | HoltWintersRule | BurnRateRule)

RULE_KINDS: dict[str, type[RuleBase]] = {
    "threshold": ThresholdRule,
    "zscore": ZScoreRule,
    "mad": MadRule,
    "ewma": EwmaRule,
    "seasonal": SeasonalRule,
    "holt_winters": HoltWintersRule,
    "burn_rate": BurnRateRule,
}
