"""Threshold rules: ``metric{matchers} op value``, optionally over ``<fn>_over_time[window]``, with optional
hysteresis (``clear``: a firing alert stays firing until the value is back past ``clear``).

>>> import polars as pl, datetime as dt
>>> from alertsim.series import Grid, Semantics, prepare
>>> t = [dt.datetime(2026, 1, 1, 0, m, tzinfo=dt.UTC) for m in range(4)]
>>> prepared = prepare(pl.DataFrame({"timestamp": t, "metric": "cpu", "value": [1.0, 9.0, 9.0, 1.0]}))
>>> rule = ThresholdRule(name="High", metric="cpu", op=">", value=5)
>>> grid = Grid(t0=prepared.first_us, step=60_000_000, size=4)
>>> rule.conditions(prepared, grid, Semantics())[0].enter.tolist()
[[False, True, True, False]]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from alertsim.rules.base import COUNTER, Condition, RuleBase
from alertsim.rules.model import Op, Over
from alertsim.series import Grid, Prepared, Semantics, value
from alertsim.series.vectors import compare


@dataclass(frozen=True, kw_only=True)
class ThresholdRule(RuleBase):
    metric: str
    matchers: Mapping[str, str] = field(default_factory=dict)
    op: Op = ">"
    value: float
    over: Over | None = None
    clear: float | None = None
    kind: str = field(init=False, default="threshold")

    partitionable = True

    def conditions(self, prepared: Prepared, grid: Grid, semantics: Semantics) -> list[Condition]:
        sel = prepared.select(self.metric, self.matchers)
        vec = value(sel, grid, self.over, semantics)
        enter = compare(vec.values, self.op, self.value)
        if not vec.complete:
            enter &= vec.present
        stay = None
        if self.clear is not None:
            stay = (compare(vec.values, self.op, self.clear) & vec.present) | enter
        return [Condition(rule=self, series=sel.table["series"].to_list(), labels=sel.label_dicts(),
                          enter=enter, stay=stay, present=vec.present, value=vec.values,
                          severity=self.severity)]

    def single_sample(self) -> str | None:
        return gauge_single_sample(self.metric, self.for_, self.over)

    def signal(self) -> tuple[str, dict[str, str], str] | None:
        return direction_signal(self.metric, dict(self.matchers), self.op)


def gauge_single_sample(metric: str, for_: timedelta, over: Over | None) -> str | None:
    """Why a rule on ``metric`` fires on one sample of a gauge (no ``for``, no window), or None."""
    if COUNTER.search(metric) or for_ > timedelta(0) or over is not None:
        return None
    return f"`for: 0` on the gauge {metric}: one sample over the line pages someone"


def direction_signal(metric: str, matchers: dict[str, str], op: str) -> tuple[str, dict[str, str], str] | None:
    """``(metric, matchers, "up" | "down")`` of a comparison, None for ``==``/``!=``."""
    direction = "up" if op in (">", ">=") else "down" if op in ("<", "<=") else None
    return (metric, matchers, direction) if direction else None


__all__ = ["ThresholdRule", "direction_signal", "gauge_single_sample"]
