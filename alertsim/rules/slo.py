"""Multiwindow, multi-burn-rate SLO alerts (SRE Workbook ch. 5, approach 6).

For each tier ``{long, short, factor}`` the error ratio over both windows must exceed
``factor × (1 − objective)``. The error ratio over a window ``W`` is
``sum(rate(bad[W])) / sum(rate(total[W]))`` (or ``1 − sum(rate(good[W])) / sum(rate(total[W]))``),
summed per the ``by`` labels, with ``rate`` exactly as Prometheus computes it (counter resets and
extrapolation included) — the expression Sloth and Pyrra generate.

Each alert records ``budget_at_detection``: the share of the period's error budget burnt in the
long window at the instant it fired, ``burn_rate_long × long / period`` (scaled by the share of the
window the counters have data for, so a series born mid-outage is not charged for a whole window).
When the burn rate crosses the factor gradually, that is the workbook's ``factor × long / period``
(2% for 14.4× over 1h of 30d).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import polars as pl

from alertsim.durations import format_duration, to_microseconds
from alertsim.frames import series_name
from alertsim.rules.base import Condition, RuleBase
from alertsim.rules.model import Selector
from alertsim.series import Grid, Prepared, Selection, Semantics
from alertsim.series.vectors import extrapolated, windows


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

    #: Partitions keep every series of one ``by`` group together (see :meth:`colocated`).
    partitionable = True

    def conditions(self, prepared: Prepared, grid: Grid, semantics: Semantics) -> list[Condition]:
        return burn_rate(self, prepared, grid, semantics)

    def colocated(self) -> tuple[list[tuple[str, Mapping[str, str]]], tuple[str, ...]]:
        selectors = [s for s in (self.total, self.bad, self.good) if s is not None]
        return [(s.metric, s.matchers) for s in selectors], self.by

    def findings(self) -> list[tuple[str, str]]:
        ceiling = 1.0 / (1.0 - self.objective)
        return [("burn-rate-never-fires", (
            f"tier {format_duration(tier.long)}/{format_duration(tier.short)} needs a burn rate of {tier.factor:g}, "
            f"but the most a {self.objective:.6g} objective can burn is 1/(1−{self.objective:.6g}) = {ceiling:.4g} "
            "(every request failing): it can never fire"))
            for tier in self.windows if tier.factor > ceiling * (1 + 1e-12)]

    def severity_given(self, explicit: bool | None) -> bool:
        return True  # every tier names its severity

    def overlaps(self, other: RuleBase) -> str | None:
        if isinstance(other, BurnRateRule) and (self.total, self.bad, self.good, self.by) == (
                other.total, other.bad, other.good, other.by):
            return (f"alerts on the same SLO as {other.alertname!r} ({self.objective:.6g} vs {other.objective:.6g}): "
                    "one burn, two pages; keep one, or inhibit the slower tiers")
        return None


def _groups(sel: Selection, by: tuple[str, ...]) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Group index of each selected series and the distinct ``by`` label values."""
    cols = [pl.col(c) if c in sel.labels else pl.lit("").alias(c) for c in by]
    keys = sel.table.select(cols).rows() if by else [()] * sel.table.height
    distinct: dict[tuple[str, ...], int] = {}
    index = np.array([distinct.setdefault(tuple(k), len(distinct)) for k in keys], dtype=np.int64)
    return index, list(distinct)


def _summed_rate(prepared: Prepared, selector: Selector, by: tuple[str, ...], grid: Grid, width: int,
                 sem: Semantics, groups: dict[tuple[str, ...], int]) -> np.ndarray:
    """``sum by (by) (rate(selector[width]))`` as a (groups, instants) array, NaN where no series had
    a rate. Cached per selector, grouping and window, so tiers and candidates share it."""
    key = ("summed_rate", selector.metric, tuple(sorted(selector.matchers.items())), by, grid, width, sem,
           tuple(groups))
    return prepared.cached(key, lambda: _compute_summed_rate(prepared, selector, by, grid, width, sem,
                                                             groups))  # type: ignore[no-any-return]


def _compute_summed_rate(prepared: Prepared, selector: Selector, by: tuple[str, ...], grid: Grid,
                         width: int, sem: Semantics, groups: dict[tuple[str, ...], int]) -> np.ndarray:
    sel = prepared.select(selector.metric, selector.matchers)
    index, keys = _groups(sel, by)
    vec = extrapolated(sel.data, grid, width, kind="rate", left_open=sem.left_open)
    out = np.zeros((len(groups), grid.size))
    seen = np.zeros((len(groups), grid.size), dtype=bool)
    for local, key in enumerate(keys):
        if key not in groups:
            continue
        members = index == local
        g = groups[key]
        out[g] = np.nansum(np.where(vec.present[members], vec.values[members], 0.0), axis=0)
        seen[g] = vec.present[members].any(axis=0)
    return np.where(seen, out, np.nan)


def _coverage(prepared: Prepared, rule: BurnRateRule, grid: Grid, width: int, sem: Semantics,
              groups: dict[tuple[str, ...], int]) -> np.ndarray:
    """The share of the long window the ``total`` counters have data for, per group and instant (1 once
    the series has a full window of history). Scales ``budget_at_detection`` so a series that starts in
    the middle of an outage is not charged for a whole window of it."""
    def compute() -> np.ndarray:
        sel = prepared.select(rule.total.metric, rule.total.matchers)
        index, keys = _groups(sel, rule.by)
        win = windows(sel.data, grid, width, left_open=sem.left_open)
        first = sel.data.times[np.minimum(win.lo, max(len(sel.data.times) - 1, 0))] if len(sel.data.times) else 0
        span = np.where(win.count >= 2, (grid.instants[None, :] - first) / width, 0.0)
        share = np.clip(span, 0.0, 1.0)
        out = np.zeros((len(groups), grid.size))
        for local, key in enumerate(keys):
            if key in groups:
                out[groups[key]] = share[index == local].max(axis=0, initial=0.0)
        return out

    key = ("coverage", rule.total.metric, tuple(sorted(rule.total.matchers.items())), rule.by, grid, width, sem,
           tuple(groups))
    return prepared.cached(key, compute)  # type: ignore[no-any-return]


def burn_rate(rule: BurnRateRule, prepared: Prepared, grid: Grid, sem: Semantics) -> list[Condition]:
    total_sel = prepared.select(rule.total.metric, rule.total.matchers)
    _, keys = _groups(total_sel, rule.by)
    groups = {k: i for i, k in enumerate(keys)}
    budget = 1.0 - rule.objective
    period_us = to_microseconds(rule.period)
    widths = sorted({to_microseconds(w.long) for w in rule.windows}
                    | {to_microseconds(w.short) for w in rule.windows})
    ratio: dict[int, np.ndarray] = {}
    for width in widths:
        total = _summed_rate(prepared, rule.total, rule.by, grid, width, sem, groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            if rule.bad is not None:
                bad = _summed_rate(prepared, rule.bad, rule.by, grid, width, sem, groups)
                ratio[width] = bad / total
            else:
                assert rule.good is not None
                good = _summed_rate(prepared, rule.good, rule.by, grid, width, sem, groups)
                ratio[width] = 1.0 - good / total
    label_rows: list[Mapping[str, str]] = [
        {k: v for k, v in zip(rule.by, key, strict=True) if v} for key in keys]
    out = []
    for tier in rule.windows:
        long_us, short_us = to_microseconds(tier.long), to_microseconds(tier.short)
        limit = tier.factor * budget
        long_ratio, short_ratio = ratio[long_us], ratio[short_us]
        present = ~np.isnan(long_ratio) & ~np.isnan(short_ratio)
        with np.errstate(invalid="ignore"):
            enter = (long_ratio > limit) & (short_ratio > limit) & present
            burn = long_ratio / budget
        tier_labels = {"long": format_duration(tier.long), "short": format_duration(tier.short)}
        # Each tier is its own alert identity (as Pyrra labels its tiers), so its series names the tier.
        names = [series_name(f"slo:{rule.alertname}", {**lbl, **tier_labels}) for lbl in label_rows]
        out.append(Condition(
            rule=rule, series=names, labels=[dict(lbl) for lbl in label_rows], enter=enter,
            present=present, value=burn, severity=tier.severity, score=burn,
            bound=np.full(burn.shape, tier.factor),
            budget=burn * (long_us / period_us) * _coverage(prepared, rule, grid, long_us, sem, groups),
            extra_labels=tier_labels,
        ))
    return out
