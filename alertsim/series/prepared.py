"""Prepared metrics: every series back to back as flat arrays, selectable by metric and label matchers,
and the selector semantics every rule evaluates them with.

:func:`prepare` checks a Metrics frame once and lays it out (sorted by series, then time) in a
:class:`~alertsim.series.vectors.SeriesSet` plus a series table; :meth:`Prepared.select` picks the series of
one metric and label matchers; :func:`value` is the instant value (or ``<fn>_over_time``) of a selection at
every instant of a grid, computed once per data and shared by every rule that asks for it.

>>> import polars as pl, datetime as dt
>>> t = [dt.datetime(2026, 1, 1, 0, m, tzinfo=dt.UTC) for m in range(3)]
>>> prepared = prepare(pl.DataFrame({"timestamp": t, "metric": "cpu", "value": [1.0, 2.0, 3.0]}))
>>> prepared.select("cpu").table["series"].to_list()
['cpu']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl

from alertsim.durations import to_microseconds
from alertsim.errors import InputError, check_type
from alertsim.frames import METRICS, label_columns, problems, series_name
from alertsim.series.over_time import over_time
from alertsim.series.vectors import LOOKBACK_US, Grid, SeriesSet, Vector, instant


@dataclass(frozen=True, eq=False)
class Prepared:
    """Metrics as flat arrays plus a series table (one row per series: metric, labels, ``series``)."""

    data: SeriesSet
    table: pl.DataFrame
    labels: tuple[str, ...]
    #: Selections and features computed so far, shared by every rule evaluated on this data (a sweep
    #: over thresholds computes each rolling window once).
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    def cached(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per ``key`` for this data."""
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    @property
    def first_us(self) -> int:
        """The earliest sample's time (each series is sorted: the smallest of the series' first samples)."""
        if self.data.layout is not None:
            return self.data.layout.t0
        ends = self.data.ends()
        return int(ends[0].min()) if len(ends[0]) else 0

    @property
    def last_us(self) -> int:
        """The latest sample's time (the largest of the series' last samples)."""
        if self.data.layout is not None:
            return self.data.layout.t0 + self.data.layout.step * (self.data.layout.size - 1)
        ends = self.data.ends()
        return int(ends[1].max()) if len(ends[1]) else 0

    def select(self, metric: str, matchers: Mapping[str, str] | None = None) -> Selection:
        """The series of ``metric`` whose labels equal every matcher (a missing label equals "")."""
        key = ("select", metric, tuple(sorted((matchers or {}).items())))
        return self.cached(key, lambda: self._select(metric, matchers))  # type: ignore[no-any-return]

    def _select(self, metric: str, matchers: Mapping[str, str] | None) -> Selection:
        mask = pl.col("metric") == metric
        for label, value in (matchers or {}).items():
            column = pl.col(label) if label in self.labels else pl.lit("")
            mask = mask & (column == value)
        rows = self.table.with_row_index("_row").filter(mask)
        index = rows["_row"].to_numpy().astype(np.int64)
        return Selection(data=self.data.take(index), table=rows.drop("_row"), labels=self.labels)


@dataclass(frozen=True, eq=False)
class Selection(Prepared):
    def label_dicts(self) -> list[dict[str, str]]:
        """Each selected series' labels (non-empty only), without the metric name."""
        cols = [c for c in self.labels]
        return [{k: v for k, v in zip(cols, row, strict=True) if v}
                for row in self.table.select(cols).iter_rows()] if cols else [{}] * self.table.height


def _series_starts(frame: pl.DataFrame, keys: list[str]) -> np.ndarray:
    """Rows where a new series begins (any key differs from the row before): the union of the keys'
    run starts, from their run lengths (no shifted copy of a label column)."""
    if not frame.height:
        return np.zeros(0, dtype=np.int64)
    runs = frame.select(pl.col(k).rle().struct.field("len").cast(pl.Int64).implode().alias(k) for k in keys)
    lengths = [runs[k].explode().to_numpy() for k in keys]
    starts = [np.cumsum(run) - run for run in lengths]
    return np.unique(np.concatenate(starts)) if len(starts) > 1 else starts[0]


def prepare(metrics: pl.DataFrame | Prepared, *, series_starts: np.ndarray | None = None) -> Prepared:
    """Check a Metrics frame and lay it out for evaluation (sorted by series, then time).

    ``series_starts`` are the rows where each series begins (any of metric and labels differs from the
    row before), when the caller has found them already — ``alertsim.io.metrics.load_metrics`` does
    (``MetricsRead.series_starts``) — to save a pass over the label columns; the time order is checked
    all the same. Raises ``InputError`` when the frame breaks the Metrics schema.
    """
    if isinstance(metrics, Prepared):
        return metrics
    check_type(metrics, pl.DataFrame, name="metrics",
               expected="a Metrics frame (polars.DataFrame, e.g. from alertsim.read_metrics) or a prepare()-d one; "
                        "a Dataset larger than memory replays with alertsim.scale.replay_dataset")
    found = problems(metrics, METRICS)
    if found:
        raise InputError("metrics are not a valid Metrics frame", found)
    labels = tuple(label_columns(metrics))
    keys = ["metric", *labels]
    frame = metrics.select(
        pl.col("timestamp").dt.epoch("us").alias("t"),
        pl.col("value"),
        pl.col("metric"),
        *[pl.col(c).fill_null("") for c in labels],
    )
    starts = (_series_starts(frame, keys) if series_starts is None
              else np.asarray(series_starts, dtype=np.int64))
    t = frame["t"].to_numpy()
    table = frame.select(keys)[starts.tolist()] if len(starts) else pl.DataFrame(
        schema={k: pl.String for k in keys})
    # One comparison pass: times may only go back where a new series begins.
    back = np.flatnonzero(t[1:] < t[:-1]) + 1 if len(t) > 1 else np.zeros(0, dtype=np.int64)
    unsorted = bool(len(back)) and not bool(np.isin(back, starts).all())
    if unsorted or table.is_duplicated().any():
        frame = frame.sort([*keys, "t"], maintain_order=True)
        starts = _series_starts(frame, keys)
        table = frame.select(keys)[starts.tolist()]
        t = frame["t"].to_numpy()
    offsets = np.append(starts, frame.height).astype(np.int64)
    names = [series_name(row[0], dict(zip(labels, row[1:], strict=True)))
             for row in table.iter_rows()]
    table = table.with_columns(pl.Series("series", names, dtype=pl.String))
    data = SeriesSet.from_arrays(t, frame["value"].to_numpy(), offsets)  # t: a frame in many chunks copies
    data = replace(data, layout=data.find_layout())  # regular data: selection needs no timestamp pass
    return Prepared(data=data, table=table, labels=labels)



@dataclass(frozen=True, kw_only=True)
class Semantics:
    """Selector semantics: Prometheus 2.x (closed windows) by default; ``left_open`` for 3.x."""

    lookback: int = LOOKBACK_US
    left_open: bool = False


def value(sel: Selection, grid: Grid, over: Any, sem: Semantics, offset: int = 0) -> Vector:
    """The instant value (or ``<fn>_over_time``, ``over`` having ``fn``, ``window`` and ``q``) of every selected
    series at every instant, computed once per selection."""
    return sel.cached(("value", grid, over, sem, offset),  # type: ignore[no-any-return]
                      lambda: _compute_value(sel, grid, over, sem, offset))


def _compute_value(sel: Selection, grid: Grid, over: Any, sem: Semantics, offset: int) -> Vector:
    if over is None:
        return instant(sel.data, grid, lookback=sem.lookback, offset=offset, left_open=sem.left_open)
    return over_time(sel.data, grid, over.fn, to_microseconds(over.window), q=over.q, offset=offset,
                     left_open=sem.left_open)


__all__ = ["Prepared", "Selection", "Semantics", "prepare", "value"]
