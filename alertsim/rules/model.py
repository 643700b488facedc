"""The vocabulary the native rule kinds share: operators, severities, selectors and ``<fn>_over_time``.

Every rule has a ``name``, a ``severity``, ``for_`` (Prometheus' ``for``), ``keep_firing_for``,
``labels`` and ``annotations`` (:class:`~alertsim.rules.base.RuleBase`). The native kinds live with their
evaluation (``threshold``, ``anomaly``, ``slo``); what each watches and when it is true:

========================  =====================================================================
``ThresholdRule``         ``metric{matchers} op value``, optionally over ``<fn>_over_time[window]``,
                          with optional hysteresis ``clear``
``ZScoreRule``            ``|x − mean| / std`` over the trailing ``window`` (excluding ``t``)
``MadRule``               ``|x − median| / (1.4826·MAD)`` over the trailing ``window``
``EwmaRule``              EWMA control chart: ``|x − ewma| / ewm_std`` with ``halflife`` (in time)
``RangeRule``             outside the range of the trailing ``window``, in units of that range
``CusumRule``             two-sided CUSUM of the trailing-window z-score (level shifts)
``SeasonalRule``          ``x`` against ``x offset period`` as a ratio or a difference (or two-sided)
``SeasonalBandRule``      robust band of the same phase of past seasons
``HoltWintersRule``       outside a prediction band of a model refit on a trailing window
``LikelihoodRule``        anomaly likelihood (Ahmad et al. 2017) of another kind's score
``BurnRateRule``          multiwindow, multi-burn-rate SLO alerts over counters
========================  =====================================================================

>>> from datetime import timedelta
>>> Over(fn="avg", window=timedelta(minutes=5)).fn
'avg'
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
