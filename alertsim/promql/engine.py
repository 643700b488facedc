"""Vectorised PromQL evaluation on an evaluation grid.

Every expression evaluates, for all its output series and all grid instants at once, to a
:class:`Vector` — label sets (one per row), a ``(rows, instants)`` float array and a ``present``
mask — or to a :class:`Scalar` (one value per instant). Semantics are Prometheus 2.42's
``promql/engine.go`` and ``functions.go`` per instant; only label bookkeeping loops over series,
never over samples:

* selectors take the newest sample within the 5-minute lookback (``offset`` shifts the instant);
  range selectors take the samples in ``[t − range, t]``, both ends closed (2.x);
* ``rate``/``increase``/``delta`` extrapolate exactly as ``extrapolatedRate`` does, in the same
  floating-point order; ``*_over_time`` follow Prometheus' (Kahan-compensated) running sums
  (:mod:`alertsim.series.over_time`, shared with the native rules);
* binary operators match series on signatures (``on``/``ignoring``), with ``group_left``/
  ``group_right``, ``bool`` and Prometheus' rules for dropping ``__name__``;
* aggregations group by the ``by``/``without`` labels and add in series order;
* per-instant errors Prometheus raises (many-to-many matching, duplicate output series) fail the
  evaluation at those instants only: a rule's evaluation records them in its :class:`Failures`
  (Prometheus skips the rule there and counts the failure); :func:`evaluate` raises
  :class:`EvaluationError` naming the instant and the series.

Series recorded by recording rules are kept as :class:`Recorded` blocks: a sample at every instant
its rule produced the series, and a stale marker (no sample) at every other one, so a selector
sees a recorded series only while its rule still produces it.

>>> import numpy as np
>>> from alertsim.series.vectors import Grid, SeriesSet
>>> data = SeriesSet.from_arrays(np.arange(6) * 60_000_000, np.arange(6) * 60.0)
>>> store = Store.from_series([(("__name__", "c"),)], data)
>>> out = evaluate("rate(c[2m])", store, Grid(t0=120_000_000, step=60_000_000, size=4))
>>> out.values.round(6).tolist()
[[1.0, 1.0, 1.0, 1.0]]
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from alertsim.errors import InputError, Problem
from alertsim.promql.ast import (
    Aggregate,
    Binary,
    Call,
    Matcher,
    MatrixSelector,
    Node,
    NumberLiteral,
    Paren,
    StringLiteral,
    Subquery,
    Unary,
    VectorMatching,
    VectorSelector,
    anchored,
)
from alertsim.promql.parser import DATE_FUNCTIONS, MATH_FUNCTIONS, parse
from alertsim.series.over_time import EXACT_BUDGET, kahan_inc, quantile_sorted, sort_nan_first, window_values
from alertsim.series.vectors import LOOKBACK_US, Grid, SeriesSet, instant, last_index

Labels = tuple[tuple[str, str], ...]
"""A label set: ``(name, value)`` pairs sorted by name, no empty values, ``__name__`` included."""

US = 1_000_000
NAME = "__name__"


class EvaluationError(InputError):
    """The data make Prometheus fail this expression at some instant (many-to-many matching,
    duplicate output series). Prometheus would skip that evaluation; alertsim stops instead of
    giving a silently different answer."""


@dataclass(eq=False)
class Failures:
    """Where a rule's evaluation failed: ``failed[k]`` is True at grid instant ``k`` (Prometheus fails
    the whole rule there: no sample, no state change) and ``errors`` the messages, each with the
    last instant it applies to.

    >>> failures = Failures.none(4)
    >>> failures.add(np.array([1, 2]), "many-to-many matching not allowed")
    >>> failures.failed.tolist(), failures.last()
    ([False, True, True, False], (2, 'many-to-many matching not allowed'))
    """

    failed: np.ndarray
    errors: list[tuple[int, str]] = field(default_factory=list)

    @classmethod
    def none(cls, size: int) -> Failures:
        return cls(np.zeros(size, dtype=bool))

    def add(self, columns: np.ndarray, message: str) -> None:
        columns = np.asarray(columns, dtype=np.int64)
        if len(columns):
            self.failed[columns] = True
            self.errors.append((int(columns.max()), message))

    def last(self) -> tuple[int, str] | None:
        """The latest failing instant and its error, or None."""
        return max(self.errors, key=lambda e: e[0]) if self.errors else None


def labels_of(mapping: Mapping[str, str]) -> Labels:
    """A label set from a mapping (empty values dropped)."""
    return tuple(sorted((k, v) for k, v in mapping.items() if v != ""))


def format_labels(labels: Labels) -> str:
    """``name{a="1",b="2"}`` — Prometheus' printing of a label set."""
    name = dict(labels).get(NAME, "")
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels if k != NAME)
    return f"{name}{{{inner}}}" if inner or not name else name


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _at(us: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(us))).isoformat()


# ------------------------------------------------------------------------------------------------
# Values.

@dataclass(frozen=True, eq=False)
class Vector:
    """An instant vector over a grid: ``labels[i]`` is row ``i``; ``values``/``present`` are
    ``(rows, instants)``. A row absent at an instant has ``NaN`` there and ``present`` False."""

    labels: list[Labels]
    values: np.ndarray
    present: np.ndarray

    @property
    def n(self) -> int:
        return len(self.labels)

    @classmethod
    def empty(cls, size: int) -> Vector:
        return cls([], np.zeros((0, size)), np.zeros((0, size), dtype=bool))

    def to_frame(self, grid: Grid) -> pl.DataFrame:
        """Long frame: ``timestamp``, ``series``, ``value`` for every present sample (and a column per
        label), the shape of a ``query_range`` result."""
        rows, cols = np.nonzero(self.present)
        names = sorted({k for lbl in self.labels for k, _ in lbl})
        data: dict[str, Any] = {
            "timestamp": pl.Series(grid.instants[cols]).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
            "series": [format_labels(self.labels[r]) for r in rows],
            "value": self.values[rows, cols],
        }
        for name in names:
            column = [dict(lbl).get(name, "") for lbl in self.labels]
            data[name] = [column[r] for r in rows]
        return pl.DataFrame(data)


@dataclass(frozen=True, eq=False)
class Scalar:
    """A scalar at every grid instant."""

    values: np.ndarray


# ------------------------------------------------------------------------------------------------
# Storage: raw series and series recorded by rules.

@dataclass(frozen=True, eq=False)
class Recorded:
    """Output of one recording rule on its group's grid (``order`` is the rule's position in the
    rule file, which decides whether a rule evaluated at the same instant sees it)."""

    labels: list[Labels]
    grid: Grid
    values: np.ndarray
    present: np.ndarray
    order: int
    table: pl.DataFrame = field(repr=False)
    #: Instants at which the rule failed: it wrote nothing then, not even stale markers, so a
    #: selector still sees its previous evaluation within the lookback.
    failed: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def build(cls, labels: list[Labels], grid: Grid, values: np.ndarray, present: np.ndarray,
              order: int, failed: np.ndarray | None = None) -> Recorded:
        if failed is not None and failed.any():
            present = present & ~failed[None, :]
        else:
            failed = None
        return cls(labels, grid, values, present, order, _label_table(labels), failed)

    def samples(self, rows: np.ndarray) -> SeriesSet:
        """The recorded samples of ``rows`` as a series set (times = instants where present)."""
        present = self.present[rows]
        counts = present.sum(axis=1)
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        r, c = np.nonzero(present)
        return SeriesSet(self.grid.instants[c].astype(np.int64), self.values[rows][r, c].astype(np.float64),
                         offsets)


def _label_table(labels: Sequence[Labels]) -> pl.DataFrame:
    names = sorted({k for lbl in labels for k, _ in lbl} | {NAME})
    dicts = [dict(lbl) for lbl in labels]
    return pl.DataFrame({name: pl.Series([d.get(name, "") for d in dicts], dtype=pl.String)
                         for name in names})


def _matcher_expr(m: Matcher, columns: Sequence[str]) -> pl.Expr:
    column = pl.col(m.name) if m.name in columns else pl.lit("")
    if m.op == "=":
        return column == m.value
    if m.op == "!=":
        return column != m.value
    hit = column.str.contains(f"^(?:{m.value})$")
    return hit if m.op == "=~" else ~hit


@dataclass(eq=False)
class Store:
    """What selectors read: raw series (``labels``, ``data``) and recorded blocks.

    Raw series whose metric name a recording rule produces are hidden: the rule's output replaces
    them (a metrics export may contain the recorded series too).
    """

    labels: list[Labels]
    data: SeriesSet
    table: pl.DataFrame
    recorded: list[tuple[str, Recorded]] = field(default_factory=list)
    hidden: frozenset[str] = frozenset()
    cache: dict[Any, Any] = field(default_factory=dict)
    #: Failures of each recording rule (by its order in the file) and the grid it ran on.
    failures: dict[int, tuple[Failures, Grid]] = field(default_factory=dict)

    @classmethod
    def from_series(cls, labels: list[Labels], data: SeriesSet) -> Store:
        return cls(labels=list(labels), data=data, table=_label_table(labels))

    @classmethod
    def from_prepared(cls, prepared: Any) -> Store:
        """A store over ``alertsim.replay.prepare(metrics)``'s series."""
        table = prepared.table
        label_cols = list(prepared.labels)
        rows = table.select(["metric", *label_cols]).rows()
        labels = [labels_of({NAME: r[0], **dict(zip(label_cols, r[1:], strict=True))}) for r in rows]
        frame = table.select(pl.col("metric").alias(NAME), *[pl.col(c) for c in label_cols])
        return cls(labels=labels, data=prepared.data, table=frame)

    def with_recorded(self, name: str, block: Recorded) -> Store:
        return Store(labels=self.labels, data=self.data, table=self.table,
                     recorded=[*self.recorded, (name, block)], hidden=self.hidden | {name},
                     cache=self.cache, failures=self.failures)

    def hide(self, names: set[str]) -> Store:
        return Store(labels=self.labels, data=self.data, table=self.table, recorded=self.recorded,
                     hidden=self.hidden | frozenset(names), cache=self.cache)

    def raw_rows(self, matchers: tuple[Matcher, ...]) -> np.ndarray:
        key = ("raw", matchers, self.hidden)
        if key not in self.cache:
            mask = pl.lit(True)
            for m in matchers:
                mask = mask & _matcher_expr(m, self.table.columns)
            if self.hidden:
                mask = mask & ~pl.col(NAME).is_in(sorted(self.hidden))
            rows = self.table.with_row_index("_row").filter(mask)["_row"].to_numpy()
            self.cache[key] = rows.astype(np.int64)
        return self.cache[key]  # type: ignore[no-any-return]

    def raw_series(self, rows: np.ndarray) -> SeriesSet:
        key = ("take", rows.tobytes())
        if key not in self.cache:
            self.cache[key] = self.data.take(rows)
        return self.cache[key]  # type: ignore[no-any-return]

    def recorded_rows(self, matchers: tuple[Matcher, ...]) -> list[tuple[Recorded, np.ndarray]]:
        out = []
        for _, block in self.recorded:
            mask = pl.lit(True)
            for m in matchers:
                mask = mask & _matcher_expr(m, block.table.columns)
            rows = block.table.with_row_index("_row").filter(mask)["_row"].to_numpy().astype(np.int64)
            if len(rows):
                out.append((block, rows))
        return out


# ------------------------------------------------------------------------------------------------
# Evaluation context.

@dataclass(frozen=True, eq=False)
class Context:
    """Where and how to evaluate: the grid, the store, selector semantics and, for rules, the rule's
    position in its file (recorded series of later rules at the same instant are not visible yet)."""

    grid: Grid
    store: Store
    lookback: int = LOOKBACK_US
    left_open: bool = False
    order: int = 1 << 30
    rule: str | None = None
    expr: str = ""
    subquery_step: int | None = None
    #: Where a rule's failures are recorded; None raises :class:`EvaluationError` at the first.
    failures: Failures | None = None

    @property
    def default_step(self) -> int:
        """A subquery's step when it names none: the evaluation interval."""
        return self.subquery_step or self.grid.step

    def error(self, message: str, column: int) -> EvaluationError:
        at = _at(self.grid.t0 + self.grid.step * column)
        where = f"rule {self.rule!r}, " if self.rule else ""
        return EvaluationError(f"{where}{self.expr}: at {at}: {message}",
                               [Problem(reason=f"at {at}: {message}")])

    def fail(self, message: str, columns: np.ndarray) -> None:
        """The evaluation fails at ``columns`` (instant indices) with ``message``: recorded in
        ``failures``, or raised when there is nowhere to record it. What is computed at those
        instants afterwards is discarded."""
        if self.failures is None:
            raise self.error(message, int(np.min(columns)))
        self.failures.add(columns, message)


def evaluate(expr: str | Node, store: Store, grid: Grid, *, lookback: int = LOOKBACK_US,
             left_open: bool = False, subquery_step: int | None = None) -> Vector | Scalar:
    """Evaluate a PromQL expression at every instant of ``grid``.

    Parameters
    ----------
    expr : PromQL text (parsed with :func:`alertsim.promql.parse`) or a parsed node.
    store : the series to select from (:meth:`Store.from_prepared`).
    grid : the evaluation instants (microseconds since the epoch).
    lookback : instant-selector lookback in microseconds. Default 5 minutes.
    left_open : Prometheus 3's left-open range windows and lookback. Default False (2.x).
    subquery_step : the step of subqueries written without one (``x[1h:]``), in microseconds.
        Default: ``grid.step`` (Prometheus uses its global evaluation interval).
    """
    node = parse(expr) if isinstance(expr, str) else expr
    ctx = Context(grid=grid, store=store, lookback=lookback, left_open=left_open,
                  expr=expr if isinstance(expr, str) else "", subquery_step=subquery_step)
    return eval_node(node, ctx)


def eval_node(node: Node, ctx: Context) -> Vector | Scalar:
    if isinstance(node, Paren):
        return eval_node(node.expr, ctx)
    if isinstance(node, NumberLiteral):
        return Scalar(np.full(ctx.grid.size, node.value))
    if isinstance(node, VectorSelector):
        return _select_instant(node, ctx)
    if isinstance(node, Unary):
        value = eval_node(node.expr, ctx)
        if node.op == "+":
            return value
        if isinstance(value, Scalar):
            return Scalar(-value.values)
        labels = [_drop_name(lbl) for lbl in value.labels]
        return _merge(labels, -value.values, value.present, ctx, "vector cannot contain metrics with the "
                      "same labelset")
    if isinstance(node, Binary):
        return _binary(node, ctx)
    if isinstance(node, Aggregate):
        return _aggregate(node, ctx)
    if isinstance(node, Call):
        return _call(node, ctx)
    raise TypeError(f"cannot evaluate {type(node).__name__}")


def _drop_name(labels: Labels) -> Labels:
    return tuple(p for p in labels if p[0] != NAME)


def _merge(labels: list[Labels], values: np.ndarray, present: np.ndarray, ctx: Context,
           message: str) -> Vector:
    """One row per distinct label set: rows with equal labels are combined (they must never be
    present at the same instant — Prometheus fails that evaluation with ``message``)."""
    index: dict[Labels, list[int]] = defaultdict(list)
    for i, lbl in enumerate(labels):
        index[lbl].append(i)
    if len(index) == len(labels):
        return Vector(list(labels), values, present)
    out_labels: list[Labels] = []
    out_values = np.full((len(index), values.shape[1]), np.nan)
    out_present = np.zeros((len(index), values.shape[1]), dtype=bool)
    for k, (lbl, rows) in enumerate(index.items()):
        out_labels.append(lbl)
        if len(rows) == 1:
            out_values[k], out_present[k] = values[rows[0]], present[rows[0]]
            continue
        counts = present[rows].sum(axis=0)
        clash = np.flatnonzero(counts > 1)
        if len(clash):
            ctx.fail(f"{message}: {format_labels(lbl)}", clash)
        p = present[rows]
        out_present[k] = p.any(axis=0)
        out_values[k] = np.where(p, values[rows], 0.0).sum(axis=0)
        out_values[k][~out_present[k]] = np.nan
    return Vector(out_labels, out_values, out_present)


# ------------------------------------------------------------------------------------------------
# Selectors.

def _visible_strict(block: Recorded, ctx: Context, offset: int) -> bool:
    """A recorded sample at the evaluation instant itself is visible only to rules after its own."""
    return offset == 0 and block.order >= ctx.order


def _select_instant(node: VectorSelector, ctx: Context, *, stamps: bool = False) -> Vector:
    """The selected series at every instant; with ``stamps``, each value is replaced by the selected
    sample's timestamp in seconds (what ``timestamp(selector)`` returns)."""
    grid, store = ctx.grid, ctx.store
    labels: list[Labels] = []
    values: list[np.ndarray] = []
    present: list[np.ndarray] = []
    rows = store.raw_rows(node.matchers)
    if len(rows):
        key = ("instant", rows.tobytes(), grid, node.offset_us, ctx.lookback, ctx.left_open)
        if key not in store.cache:
            store.cache[key] = instant(store.raw_series(rows), grid, lookback=ctx.lookback,
                                       offset=node.offset_us, left_open=ctx.left_open)
        vec = store.cache[key]
        labels += [store.labels[r] for r in rows]
        present.append(vec.present)
        if stamps:
            series = store.raw_series(rows)
            idx = np.maximum(last_index(series, grid, shift=-node.offset_us), 0)
            values.append(np.where(vec.present, _ms(series.times)[idx] / 1000, np.nan))
        else:
            values.append(vec.values)
    for block, brow in store.recorded_rows(node.matchers):
        v, p = _recorded_instant(block, brow, ctx, node.offset_us, stamps=stamps)
        labels += [block.labels[r] for r in brow]
        values.append(v)
        present.append(p)
    if not labels:
        return Vector.empty(grid.size)
    order = sorted(range(len(labels)), key=labels.__getitem__)
    message = "vector cannot contain metrics with the same labelset"
    if len(values) == 1 and order == list(range(len(order))):
        return _merge(labels, values[0], present[0], ctx, message)       # already in order: no copy
    return _merge([labels[i] for i in order], np.concatenate(values)[order], np.concatenate(present)[order],
                  ctx, message)


def _recorded_instant(block: Recorded, rows: np.ndarray, ctx: Context, offset: int, *, stamps: bool = False
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Newest evaluation of the recording rule at or before each instant (before it, when the rule
    comes later in the file and the instants coincide); absent if the rule did not produce the
    series then (a stale marker) or that evaluation is older than the lookback."""
    g = block.grid
    ref = ctx.grid.instants - offset
    rel = ref - g.t0
    if _visible_strict(block, ctx, offset):
        j = -(-rel // g.step) - 1
    else:
        j = rel // g.step
    j = np.minimum(j, g.size - 1)
    if block.failed is not None and g.size:
        # A failed evaluation wrote nothing: the newest one that succeeded is what a selector sees.
        last_ok = np.maximum.accumulate(np.where(block.failed, -1, np.arange(g.size)))
        j = np.where(j >= 0, last_ok[np.clip(j, 0, g.size - 1)], -1)
    age = ref - (g.t0 + g.step * j)
    ok = (j >= 0) & ((age < ctx.lookback) if ctx.left_open else (age <= ctx.lookback))
    jj = np.clip(j, 0, max(g.size - 1, 0))
    if g.size == 0:
        shape = (len(rows), ctx.grid.size)
        return np.full(shape, np.nan), np.zeros(shape, dtype=bool)
    present = block.present[rows][:, jj] & ok[None, :]
    if stamps:
        at = _ms(g.t0 + g.step * jj) / 1000
        return np.where(present, at[None, :], np.nan), present
    values = np.where(present, block.values[rows][:, jj], np.nan)
    return values, present


@dataclass(frozen=True, eq=False)
class Windows:
    """Samples of each selected series in ``[t − range, t]`` at every instant: global index bounds
    ``lo..hi`` into ``series`` and ``count``."""

    series: SeriesSet
    labels: list[Labels]
    lo: np.ndarray
    hi: np.ndarray
    count: np.ndarray
    range_us: int
    offset_us: int


def _windows(series: SeriesSet, grid: Grid, width: int, offset: int, *, strict_end: bool,
             left_open: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    hi = last_index(series, grid, shift=-offset, strict=strict_end)
    before = last_index(series, grid, shift=-offset - width, strict=not left_open)
    lo = np.where(before >= 0, before + 1, series.offsets[:-1, None])
    count = np.where(hi >= 0, hi - lo + 1, 0)
    np.maximum(count, 0, out=count)
    return lo, hi, count


def _select_range(node: Node, ctx: Context) -> list[Windows]:
    """The windows of a range selector or a subquery at every instant of ``ctx.grid``."""
    node = _unwrap(node)
    if isinstance(node, Subquery):
        return [_subquery_windows(node, ctx)]
    assert isinstance(node, MatrixSelector)
    sel, grid, store = node.selector, ctx.grid, ctx.store
    out = []
    rows = store.raw_rows(sel.matchers)
    if len(rows):
        key = ("range", rows.tobytes(), grid, node.range_us, sel.offset_us, ctx.left_open)
        if key not in store.cache:
            series = store.raw_series(rows)
            lo, hi, count = _windows(series, grid, node.range_us, sel.offset_us, strict_end=False,
                                     left_open=ctx.left_open)
            store.cache[key] = Windows(series, [store.labels[r] for r in rows], lo, hi, count,
                                       node.range_us, sel.offset_us)
        out.append(store.cache[key])
    for block, brow in store.recorded_rows(sel.matchers):
        series = block.samples(brow)
        lo, hi, count = _windows(series, grid, node.range_us, sel.offset_us,
                                 strict_end=_visible_strict(block, ctx, sel.offset_us),
                                 left_open=ctx.left_open)
        out.append(Windows(series, [block.labels[r] for r in brow], lo, hi, count, node.range_us,
                           sel.offset_us))
    return out


def _subquery_windows(node: Subquery, ctx: Context) -> Windows:
    """``expr[range:step] offset d``: ``expr`` evaluated at the multiples of ``step`` since the epoch
    that any window ``[t − d − range, t − d]`` of the grid reaches, kept where it has a value, and
    windowed like stored samples (Prometheus' ``evalSubquery``)."""
    grid = ctx.grid
    step = node.step_us or ctx.default_step
    last = grid.t0 + grid.step * max(grid.size - 1, 0) - node.offset_us
    inner = Grid.covering(grid.t0 - node.offset_us - node.range_us, last, step)
    if grid.size == 0:
        inner = Grid(t0=inner.t0, step=step, size=0)
    value = eval_node(node.expr, Context(grid=inner, store=ctx.store, lookback=ctx.lookback,
                                         left_open=ctx.left_open, order=ctx.order, rule=ctx.rule,
                                         expr=ctx.expr, subquery_step=ctx.default_step))
    assert isinstance(value, Vector)
    counts = value.present.sum(axis=1)
    offsets = np.zeros(value.n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    r, c = np.nonzero(value.present)
    series = SeriesSet(inner.instants[c].astype(np.int64), value.values[r, c].astype(np.float64), offsets)
    lo, hi, count = _windows(series, grid, node.range_us, node.offset_us, strict_end=False,
                             left_open=ctx.left_open)
    return Windows(series, list(value.labels), lo, hi, count, node.range_us, node.offset_us)


# ------------------------------------------------------------------------------------------------
# Range-vector functions, in Prometheus' floating-point order.

def _ms(us: np.ndarray | int) -> Any:
    return np.floor_divide(us, 1000)


def _extrapolated(w: Windows, grid: Grid, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """``extrapolatedRate``: rate/increase (counters) and delta (gauges)."""
    present = w.count >= 2
    lo = np.where(present, w.lo, 0)
    hi = np.where(present, w.hi, 0)
    t, v = w.series.times, w.series.values
    is_counter = kind != "delta"
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        result = v[hi] - v[lo]
        if is_counter and len(v):
            result = _add_resets(w.series, lo, hi, present, result)
        t_ms = _ms(t)
        instants_ms = _ms(grid.instants)[None, :]
        range_start = instants_ms - (w.range_us + w.offset_us) // 1000
        range_end = instants_ms - w.offset_us // 1000
        to_start = (t_ms[lo] - range_start) / 1000
        to_end = (range_end - t_ms[hi]) / 1000
        sampled = (t_ms[hi] - t_ms[lo]) / 1000
        average = sampled / np.maximum(w.count - 1, 1).astype(np.float64)
        if is_counter:
            use = (result > 0) & (v[lo] >= 0)
            to_zero = sampled * (v[lo] / result)
            to_start = np.where(use & (to_zero < to_start), to_zero, to_start)
        threshold = average * 1.1
        interval = sampled + np.where(to_start < threshold, to_start, average / 2)
        interval = interval + np.where(to_end < threshold, to_end, average / 2)
        factor = interval / sampled
        if kind == "rate":
            factor = factor / (w.range_us / US)
        result = result * factor
    return np.where(present, result, np.nan), present


def _add_resets(series: SeriesSet, lo: np.ndarray, hi: np.ndarray, present: np.ndarray,
                result: np.ndarray) -> np.ndarray:
    """Add the value before every counter reset in ``(lo, hi]``, in order (as Prometheus does)."""
    v = series.values
    prev = np.concatenate(([np.inf], v[:-1]))
    first = np.zeros(len(v), dtype=bool)
    starts = series.offsets[:-1][np.diff(series.offsets) > 0]
    first[starts] = True
    is_reset = (v < prev) & ~first
    if not is_reset.any():
        return result
    where = np.flatnonzero(is_reset)
    cum = np.concatenate(([0], np.cumsum(is_reset)))
    start = cum[lo + 1]
    n = np.where(present, cum[hi + 1] - start, 0)
    most = int(n.max()) if n.size else 0
    if most * n.size > EXACT_BUDGET:
        pc = np.concatenate(([0.0], np.cumsum(np.where(is_reset, prev, 0.0))))
        return result + (pc[hi + 1] - pc[lo + 1])
    for k in range(most):
        mask = n > k
        idx = where[np.minimum(start + k, len(where) - 1)]
        result = np.where(mask, result + prev[idx], result)
    return result


def _instant_value(w: Windows, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """``irate``/``idelta`` from the last two samples."""
    enough = w.count >= 2
    hi = np.where(enough, w.hi, 1)
    prv = hi - 1
    t, v = w.series.times, w.series.values
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "irate":
            diff = np.where(v[hi] < v[prv], v[hi], v[hi] - v[prv])
        else:
            diff = v[hi] - v[prv]
        interval = _ms(t[hi]) - _ms(t[prv])
        present = enough & (interval != 0)
        if kind == "irate":
            diff = diff / (interval / 1000)
    return np.where(present, diff, np.nan), present


def _steps(w: Windows, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """``changes``/``resets``: adjacent pairs of window samples that differ (NaN equals NaN) or go
    down, counted with prefix sums over each series."""
    v = w.series.values
    prev = np.concatenate(([np.nan], v[:-1]))
    with np.errstate(invalid="ignore"):
        if kind == "changes":
            hit = (v != prev) & ~(np.isnan(v) & np.isnan(prev))
        else:
            hit = v < prev
    hit[w.series.offsets[:-1][np.diff(w.series.offsets) > 0]] = False  # a series' first sample
    cum = np.concatenate(([0], np.cumsum(hit)))
    present = w.count > 0
    lo = np.where(present, w.lo, 0)
    hi = np.where(present, w.hi, 0)
    out = (cum[hi + 1] - cum[lo + 1]).astype(np.float64)
    return np.where(present, out, np.nan), present


def _regression(w: Windows, grid: Grid, duration: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``deriv`` (``duration`` None) and ``predict_linear``: ``linearRegression`` over every window at
    once, x in seconds from the intercept time (the first sample for deriv, the evaluation instant
    for predict_linear); a constant window gives slope 0 (NaN if that constant is infinite)."""
    present = w.count >= 2
    shape = w.count.shape
    t_ms, v = _ms(w.series.times), w.series.values
    lo = np.where(present, w.lo, 0)
    origin = t_ms[lo] if duration is None else np.broadcast_to(_ms(grid.instants)[None, :], shape)
    most = int(w.count.max()) if w.count.size else 0
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        if most * w.count.size <= EXACT_BUDGET:
            sx, sy, sxy, sx2 = _regression_sums(t_ms, v, lo, w.count, origin)
        else:
            sx, sy, sxy, sx2 = _regression_prefix(w, t_ms, v, lo, origin)
        n = w.count.astype(np.float64)
        slope = (sxy - sx * sy / n) / (sx2 - sx * sx / n)
        intercept = sy / n - slope * sx / n
        neq = np.concatenate(([False], v[1:] != v[:-1]))  # NaN differs from NaN, as in Go
        changed = np.concatenate(([0], np.cumsum(neq)))
        constant = changed[np.maximum(w.hi, 0) + 1] - changed[lo + 1] == 0
        first_y = v[lo] if len(v) else np.zeros(shape)
        inf = np.isinf(first_y)
        slope = np.where(constant, np.where(inf, np.nan, 0.0), slope)
        intercept = np.where(constant, np.where(inf, np.nan, first_y), intercept)
        out = (slope if duration is None else slope * duration[None, :] + intercept).astype(np.float64)
    return np.where(present, out, np.nan), present


def _regression_sums(t_ms: np.ndarray, v: np.ndarray, lo: np.ndarray, count: np.ndarray, origin: np.ndarray
                     ) -> tuple[np.ndarray, ...]:
    """Σx, Σy, Σxy, Σx² of every window, Kahan-compensated and added in sample order as Prometheus'
    ``kahanSumInc`` does (one step per sample position in the window)."""
    shape = count.shape
    sums = [np.zeros(shape) for _ in range(8)]  # sum and compensation of x, y, xy, x²
    last = max(len(v) - 1, 0)
    for k in range(int(count.max()) if count.size else 0):
        active = count > k
        idx = np.minimum(lo + k, last)
        y = v[idx]
        x = (t_ms[idx] - origin) / 1e3
        for j, term in enumerate((x, y, x * y, x * x)):
            t, c = kahan_inc(term, sums[2 * j], sums[2 * j + 1])
            sums[2 * j] = np.where(active, t, sums[2 * j])
            sums[2 * j + 1] = np.where(active, c, sums[2 * j + 1])
    return tuple(sums[2 * j] + sums[2 * j + 1] for j in range(4))


def _regression_prefix(w: Windows, t_ms: np.ndarray, v: np.ndarray, lo: np.ndarray, origin: np.ndarray
                       ) -> tuple[np.ndarray, ...]:
    """The same sums from long-double prefix sums over each series (times relative to the series'
    first sample), for windows too long to add sequentially; windows holding NaN or ±Inf are added
    sequentially still."""
    offsets = w.series.offsets
    sizes = np.diff(offsets)
    first = np.repeat(t_ms[offsets[:-1][sizes > 0]], sizes[sizes > 0]) if len(t_ms) else t_ms
    t = (t_ms - first).astype(np.longdouble) / 1000
    finite = np.isfinite(v)
    # y centred on its series' mean: the covariance does not change and loses fewer digits.
    clean = np.where(finite, v, 0.0)
    means = np.add.reduceat(clean, offsets[:-1][sizes > 0]) / np.maximum(
        np.add.reduceat(finite.astype(np.float64), offsets[:-1][sizes > 0]), 1) if len(v) else clean
    centre = np.repeat(means, sizes[sizes > 0]) if len(v) else clean
    y = np.where(finite, clean - centre, 0).astype(np.longdouble)
    prefix = [np.concatenate(([0], np.cumsum(a))) for a in (t, y, t * y, t * t)]
    end = np.maximum(w.hi, 0) + 1
    s1, sy, sty, st2 = (p[end] - p[lo] for p in prefix)
    n = w.count.astype(np.longdouble)
    o = (origin - t_ms[lo]).astype(np.longdouble) / 1000 + t[lo]  # the intercept time on the same scale
    mean_y = centre[lo].astype(np.longdouble)
    sums = [s1 - n * o, sy + n * mean_y, sty - o * sy + mean_y * (s1 - n * o), st2 - 2 * o * s1 + n * o * o]
    special = np.concatenate(([0], np.cumsum(~finite)))
    odd = (special[end] - special[lo]) > 0
    if odd.any():
        exact = _regression_sums(t_ms, v, lo[odd], w.count[odd], np.asarray(origin)[odd])
        for a, b in zip(sums, exact, strict=True):
            a[odd] = b
    return tuple(sums)


def _over_time(w: Windows, fn: str, q: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``<fn>_over_time`` in Prometheus' floating-point order (:mod:`alertsim.series.over_time`)."""
    out = window_values(w.series.values, w.lo, w.hi, w.count, fn, q=None if q is None else q[None, :],
                        rounding="prometheus")
    return out, w.count > 0


# ------------------------------------------------------------------------------------------------
# Function calls.

_OVER_TIME = {f"{fn}_over_time": fn for fn in
              ("avg", "min", "max", "sum", "count", "last", "present", "quantile", "stddev", "stdvar")}


def _scalar_arg(node: Node, ctx: Context) -> np.ndarray:
    value = eval_node(node, ctx)
    assert isinstance(value, Scalar)
    return value.values


def _vector_arg(node: Node, ctx: Context) -> Vector:
    value = eval_node(node, ctx)
    assert isinstance(value, Vector)
    return value


def _unwrap(node: Node) -> Node:
    while isinstance(node, Paren):
        node = node.expr
    return node


def _call(node: Call, ctx: Context) -> Vector | Scalar:
    """A function call: range functions, then the families (date, math), then one evaluator per name."""
    name = node.func
    if name in _RANGE_FUNCTIONS or name in _OVER_TIME:
        return _range_call(node, ctx)
    if name in DATE_FUNCTIONS:
        return _date_call(node, ctx)
    if name in MATH_FUNCTIONS or name == "round":
        return _math_call(node, ctx)
    call = _CALLS.get(name)
    if call is None:
        raise TypeError(f"function {name} has no evaluator")
    return call(node, ctx)


def _range_call(node: Call, ctx: Context) -> Vector:
    """``rate``, ``deriv``, ``<fn>_over_time``...: one value per series of the range selector's windows."""
    name, args, grid = node.func, node.args, ctx.grid
    matrix = next(a for a in args if a.type == "matrix")
    q = _scalar_arg(args[0], ctx) if name == "quantile_over_time" else None
    duration = _scalar_arg(args[1], ctx) if name == "predict_linear" else None
    labels: list[Labels] = []
    originals: list[Labels] = []
    value_rows: list[np.ndarray] = []
    present_rows: list[np.ndarray] = []
    for w in _select_range(matrix, ctx):
        if name in ("rate", "increase", "delta"):
            v, p = _extrapolated(w, grid, name)
        elif name in ("irate", "idelta"):
            v, p = _instant_value(w, name)
        elif name in ("changes", "resets"):
            v, p = _steps(w, name)
        elif name in ("deriv", "predict_linear"):
            v, p = _regression(w, grid, duration)
        else:
            v, p = _over_time(w, _OVER_TIME[name], q)
        keep_name = name == "last_over_time"
        originals += w.labels
        labels += [lbl if keep_name else _drop_name(lbl) for lbl in w.labels]
        value_rows.append(v)
        present_rows.append(p)
    if not labels:
        return Vector.empty(grid.size)
    order = sorted(range(len(labels)), key=originals.__getitem__)
    return _merge([labels[i] for i in order], np.concatenate(value_rows)[order],
                  np.concatenate(present_rows)[order], ctx, "vector cannot contain metrics with the same labelset")


def _time_call(node: Call, ctx: Context) -> Scalar:
    return Scalar(_ms(ctx.grid.instants) / 1000)


def _pi_call(node: Call, ctx: Context) -> Scalar:
    return Scalar(np.full(ctx.grid.size, math.pi))


def _vector_call(node: Call, ctx: Context) -> Vector:
    values = _scalar_arg(node.args[0], ctx)
    return Vector([()], values[None, :].copy(), np.ones((1, ctx.grid.size), dtype=bool))


def _scalar_call(node: Call, ctx: Context) -> Scalar:
    """The value of the only series, NaN where there is not exactly one."""
    vec = _vector_arg(node.args[0], ctx)
    one = vec.present.sum(axis=0) == 1
    value = np.where(vec.present, vec.values, 0.0).sum(axis=0) if vec.n else np.zeros(ctx.grid.size)
    return Scalar(np.where(one, value, np.nan))


def _absent_over_time_call(node: Call, ctx: Context) -> Vector:
    seen = np.zeros(ctx.grid.size, dtype=bool)
    for w in _select_range(node.args[0], ctx):
        seen |= (w.count > 0).any(axis=0)
    return Vector([_absent_labels(_unwrap(node.args[0]))], np.where(seen, np.nan, 1.0)[None, :], ~seen[None, :])


def _absent_call(node: Call, ctx: Context) -> Vector:
    vec = _vector_arg(node.args[0], ctx)
    absent = ~np.any(vec.present, axis=0) if vec.n else np.ones(ctx.grid.size, dtype=bool)
    return Vector([_absent_labels(_unwrap(node.args[0]))], np.where(absent, 1.0, np.nan)[None, :],
                  absent[None, :].copy())


def _timestamp_call(node: Call, ctx: Context) -> Vector:
    """A selector gives its samples' timestamps; any other expression, the evaluation instant."""
    arg = _unwrap(node.args[0])
    if isinstance(arg, VectorSelector):
        vec = _select_instant(arg, ctx, stamps=True)
        values = vec.values
    else:
        vec = _vector_arg(arg, ctx)
        values = np.where(vec.present, (_ms(ctx.grid.instants) / 1000)[None, :], np.nan)
    return _merge([_drop_name(lbl) for lbl in vec.labels], values, vec.present, ctx,
                  "vector cannot contain metrics with the same labelset")


def _sort_call(node: Call, ctx: Context) -> Vector:
    return _vector_arg(node.args[0], ctx)  # order is not part of a rule's result


def _relabel(node: Call, ctx: Context) -> Vector:
    return _relabel_call(node, _vector_arg(node.args[0], ctx), ctx)


def _date_call(node: Call, ctx: Context) -> Vector:
    """``hour()``, ``day_of_week(v)``...: of the evaluation instant without an argument."""
    name, args, grid = node.func, node.args, ctx.grid
    if not args:
        seconds = (_ms(grid.instants) // 1000).astype(np.float64)
        return Vector([()], _date_field(name, seconds)[None, :], np.ones((1, grid.size), dtype=bool))
    vec = _vector_arg(args[0], ctx)
    return _merge([_drop_name(lbl) for lbl in vec.labels],
                  np.where(vec.present, _date_field(name, vec.values), np.nan), vec.present, ctx,
                  "vector cannot contain metrics with the same labelset")


def _math_call(node: Call, ctx: Context) -> Vector:
    name, args = node.func, node.args
    vec = _vector_arg(args[0], ctx)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if name == "round":
            to_nearest = _scalar_arg(args[1], ctx) if len(args) > 1 else np.ones(ctx.grid.size)
            inverse = (1.0 / to_nearest)[None, :]
            values = np.floor(vec.values * inverse + 0.5) / inverse
        else:
            values = _MATH[name](vec.values)
    return _merge([_drop_name(lbl) for lbl in vec.labels], np.where(vec.present, values, np.nan),
                  vec.present, ctx, "vector cannot contain metrics with the same labelset")


def _clamp_call(node: Call, ctx: Context) -> Vector:
    name, args = node.func, node.args
    vec = _vector_arg(args[0], ctx)
    with np.errstate(invalid="ignore"):
        if name == "clamp_min":
            values, present = _go_max(_scalar_arg(args[1], ctx)[None, :], vec.values), vec.present
        elif name == "clamp_max":
            values, present = _go_min(_scalar_arg(args[1], ctx)[None, :], vec.values), vec.present
        else:
            lo, hi = _scalar_arg(args[1], ctx), _scalar_arg(args[2], ctx)
            values = _go_max(lo[None, :], _go_min(hi[None, :], vec.values))
            present = vec.present & ~(hi < lo)[None, :]
    return _merge([_drop_name(lbl) for lbl in vec.labels], np.where(present, values, np.nan), present,
                  ctx, "vector cannot contain metrics with the same labelset")


def _histogram_quantile_call(node: Call, ctx: Context) -> Vector:
    return _histogram_quantile(_scalar_arg(node.args[0], ctx), _vector_arg(node.args[1], ctx), ctx)


_CALLS: dict[str, Callable[[Call, Context], Vector | Scalar]] = {
    "time": _time_call, "pi": _pi_call, "vector": _vector_call, "scalar": _scalar_call,
    "absent_over_time": _absent_over_time_call, "absent": _absent_call, "timestamp": _timestamp_call,
    "sort": _sort_call, "sort_desc": _sort_call, "label_replace": _relabel, "label_join": _relabel,
    "clamp": _clamp_call, "clamp_min": _clamp_call, "clamp_max": _clamp_call,
    "histogram_quantile": _histogram_quantile_call,
}


_RANGE_FUNCTIONS = ("rate", "increase", "delta", "irate", "idelta", "changes", "resets", "deriv",
                    "predict_linear")


def _sgn(x: np.ndarray) -> np.ndarray:
    return np.where(x < 0, -1.0, np.where(x > 0, 1.0, x))  # keeps NaN and signed zero


_MATH: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "abs": np.abs, "ceil": np.ceil, "floor": np.floor, "exp": np.exp, "sqrt": np.sqrt, "ln": np.log,
    "log2": np.log2, "log10": np.log10, "sgn": _sgn, "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh,
    "tanh": np.tanh, "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
    "deg": lambda x: x * (180 / math.pi), "rad": lambda x: x * (math.pi / 180),
}


_CUMULATIVE_DAYS = np.array([0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334])
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _date_field(name: str, seconds: np.ndarray) -> np.ndarray:
    """A calendar field (UTC, proleptic Gregorian) of seconds since the epoch, as Go's
    ``time.Unix(int64(v), 0)`` gives it: truncated toward zero; NaN, ±Inf and anything outside int64
    become the smallest int64 (amd64's conversion), whose date Go computes after its absolute-time
    offset wraps around 2⁶⁴ — the instant 2⁶³ seconds after the epoch."""
    with np.errstate(invalid="ignore"):
        inside = np.isfinite(seconds) & (seconds >= -(2.0 ** 63)) & (seconds < 2.0 ** 63)
        whole = np.where(inside, np.trunc(np.where(inside, seconds, 0)), 0).astype(np.int64)
    out = _calendar(name, np.floor_divide(whole, 86400), np.mod(whole, 86400))
    if not inside.all():
        wrapped = 2 ** 63
        out = np.where(inside, out, _calendar(name, wrapped // 86400, wrapped % 86400))
    return np.asarray(out, dtype=np.float64)


def _calendar(name: str, days: Any, second_of_day: Any) -> Any:
    """``name``'s field from whole days since the epoch and the second of the day (numpy int64 arrays
    or Python ints; Howard Hinnant's civil-from-days arithmetic)."""
    if name == "minute":
        return (second_of_day // 60) % 60
    if name == "hour":
        return second_of_day // 3600
    if name == "day_of_week":
        return (days + 4) % 7  # 1970-01-01 was a Thursday
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 - 12 * (mp >= 10)
    year = yoe + era * 400 + (month <= 2)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    if name == "day_of_month":
        return day
    if name == "month":
        return month
    if name == "year":
        return year
    if name == "day_of_year":
        return _CUMULATIVE_DAYS[month - 1] + day + (leap & (month > 2))
    return _MONTH_DAYS[month - 1] + (leap & (month == 2))  # days_in_month


def _go_expand(template: str, match: re.Match[str]) -> str:
    """Go's ``Regexp.Expand``: ``$1``, ``${1}``, ``$name``, ``${name}`` (a name as long as possible:
    ``$1x`` is group ``1x``), ``$$`` for a dollar; unknown groups expand to nothing."""
    out: list[str] = []
    i = 0
    while i < len(template):
        c = template[i]
        if c != "$" or i + 1 >= len(template):
            out.append(c)
            i += 1
            continue
        nxt = template[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        if nxt == "{":
            end = template.find("}", i + 2)
            name = template[i + 2:end] if end > 0 else ""
            if end < 0 or not re.fullmatch(r"[A-Za-z0-9_]+", name):
                out.append(c)
                i += 1
                continue
            i = end + 1
        else:
            m = re.match(r"[A-Za-z0-9_]+", template[i + 1:])
            if m is None:
                out.append(c)
                i += 1
                continue
            name = m.group(0)
            i += 1 + len(name)
        if name.isdigit():
            k = int(name)
            out.append((match.group(k) or "") if k <= (match.re.groups or 0) else "")
        else:
            out.append((match.group(name) or "") if name in match.re.groupindex else "")
    return "".join(out)


def _relabel_call(node: Call, vec: Vector, ctx: Context) -> Vector:
    """``label_replace(v, dst, replacement, src, regex)`` (regex anchored at both ends; no match
    leaves the series as it is; an empty result removes ``dst``) and ``label_join(v, dst, sep,
    src...)``. Both keep the metric name."""
    strings = [_string_arg(a) for a in node.args[1:]]
    out_labels: list[Labels] = []
    if node.func == "label_replace":
        dst, replacement, src, pattern = strings
        regex = anchored(pattern)
        for lbl in vec.labels:
            labels = dict(lbl)
            match = regex.fullmatch(labels.get(src, ""))
            if match is None:
                out_labels.append(lbl)
                continue
            labels.pop(dst, None)
            labels[dst] = _go_expand(replacement, match)
            out_labels.append(labels_of(labels))
    else:
        dst, sep, *sources = strings
        for lbl in vec.labels:
            labels = dict(lbl)
            labels[dst] = sep.join(labels.get(src, "") for src in sources)
            out_labels.append(labels_of(labels))
    return _merge(out_labels, vec.values, vec.present, ctx, "vector cannot contain metrics with the same labelset")


def _string_arg(node: Node) -> str:
    node = _unwrap(node)
    assert isinstance(node, StringLiteral)
    return node.value


def _go_max(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Go's ``math.Max``: NaN if either is NaN."""
    return np.maximum(a, b)


def _go_min(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.minimum(a, b)


def _absent_labels(node: Node) -> Labels:
    if isinstance(node, MatrixSelector):
        node = node.selector
    if not isinstance(node, VectorSelector):
        return ()
    out: dict[str, str] = {}
    seen: set[str] = set()
    for m in node.matchers:
        if m.name == NAME:
            continue
        if m.op == "=" and m.name not in seen:
            out[m.name] = m.value
            seen.add(m.name)
        else:
            out.pop(m.name, None)
    return labels_of(out)


def _parse_le(value: str) -> float | None:
    text = value.strip().lower() if value else ""
    if not text or value != value.strip():
        return None
    try:
        if text.startswith(("0x", "+0x", "-0x")):
            return float.fromhex(text)
        if text.lstrip("+-") in ("inf", "infinity"):
            return -math.inf if text.startswith("-") else math.inf
        return float(text) if "_" not in text else None
    except ValueError:
        return None


def _histogram_quantile(q: np.ndarray, vec: Vector, ctx: Context) -> Vector:
    """``histogram_quantile`` over classic ``le`` buckets (``bucketQuantile``)."""
    size = ctx.grid.size
    groups: dict[Labels, list[tuple[float, int]]] = defaultdict(list)
    for i, lbl in enumerate(vec.labels):
        le = _parse_le(dict(lbl).get("le", ""))
        if le is None:
            continue
        groups[tuple(p for p in lbl if p[0] != "le")].append((le, i))
    out_labels, out_values, out_present = [], [], []
    for key, members in groups.items():
        bounds = sorted({b for b, _ in members})
        m = len(bounds)
        counts = np.zeros((m, size))
        pres = np.zeros((m, size), dtype=bool)
        for j, b in enumerate(bounds):
            for bb, row in members:
                if bb == b:
                    p = vec.present[row]
                    counts[j] = np.where(p & pres[j], counts[j] + vec.values[row],
                                         np.where(p, vec.values[row], counts[j]))
                    pres[j] |= p
        value, has = _bucket_quantile(q, np.array(bounds), counts, pres)
        out_labels.append(_drop_name(key))
        out_values.append(value)
        out_present.append(has)
    if not out_labels:
        return Vector.empty(size)
    return _merge(out_labels, np.array(out_values), np.array(out_present), ctx,
                  "vector cannot contain metrics with the same labelset")


def _bucket_quantile(q: np.ndarray, bounds: np.ndarray, counts: np.ndarray, pres: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    m, size = counts.shape
    has = np.any(pres, axis=0)
    n = pres.sum(axis=0)
    c = counts.copy()
    # ensureMonotonic over the present buckets, in bound order.
    top = np.full(size, np.nan)
    seen = np.zeros(size, dtype=bool)
    for j in range(m):
        p = pres[j]
        first = p & ~seen
        with np.errstate(invalid="ignore"):
            raise_top = p & seen & (c[j] > top)
            lower = p & seen & (c[j] < top)
        top = np.where(first | raise_top, c[j], top)
        c[j] = np.where(lower, top, c[j])
        seen |= p
    last_j = np.where(has, m - 1 - np.argmax(pres[::-1], axis=0), 0)
    cols = np.arange(size)
    observations = c[last_j, cols]
    rank = q * observations
    # The first present bucket among the first n-1 with count >= rank.
    pos = np.zeros(size, dtype=np.int64)
    found = np.zeros(size, dtype=bool)
    b_j = np.zeros(size, dtype=np.int64)
    b_pos = np.zeros(size, dtype=np.int64)
    prev_j = np.full(size, -1)
    b_prev = np.full(size, -1)
    second_last = np.zeros(size, dtype=np.int64)
    for j in range(m):
        p = pres[j]
        with np.errstate(invalid="ignore"):
            hit = p & ~found & (pos <= n - 2) & (c[j] >= rank)
        b_j = np.where(hit, j, b_j)
        b_pos = np.where(hit, pos, b_pos)
        b_prev = np.where(hit, prev_j, b_prev)
        found |= hit
        second_last = np.where(p & (pos == n - 2), j, second_last)
        prev_j = np.where(p, j, prev_j)
        pos = pos + p
    with np.errstate(invalid="ignore", divide="ignore"):
        start = np.where(b_prev >= 0, bounds[np.maximum(b_prev, 0)], 0.0)
        end = bounds[b_j]
        prev_count = np.where(b_prev >= 0, c[np.maximum(b_prev, 0), cols], 0.0)
        count = c[b_j, cols] - prev_count
        r = rank - prev_count
        interp = start + (end - start) * (r / count)
        result = np.where(~found, bounds[second_last], np.where((b_pos == 0) & (end <= 0), end, interp))
        result = np.where((n < 2) | ~np.isposinf(bounds[last_j]) | (observations == 0), np.nan, result)
        result = np.where(np.isnan(q), np.nan, np.where(q < 0, -np.inf, np.where(q > 1, np.inf, result)))
    return np.where(has, result, np.nan), has


# ------------------------------------------------------------------------------------------------
# Aggregations.

def _group_key(labels: Labels, grouping: tuple[str, ...], without: bool) -> Labels:
    if without:
        drop = set(grouping) | {NAME}
        return tuple(p for p in labels if p[0] not in drop)
    keep = set(grouping)
    return tuple(p for p in labels if p[0] in keep)


def _aggregate(node: Aggregate, ctx: Context) -> Vector:
    if node.op == "count_values":
        assert node.param is not None
        return _count_values(node, _string_arg(node.param), _vector_arg(node.expr, ctx), ctx)
    vec = _vector_arg(node.expr, ctx)
    size = ctx.grid.size
    param = _scalar_arg(node.param, ctx) if node.param is not None else None
    if vec.n == 0:
        return Vector.empty(size)
    if node.op in ("topk", "bottomk"):
        assert param is not None
        return _top(node, vec, param, ctx)
    keys: dict[Labels, int] = {}
    group = np.array([keys.setdefault(_group_key(lbl, node.grouping, node.without), len(keys))
                      for lbl in vec.labels], dtype=np.int64)
    n_groups = len(keys)
    members: list[list[int]] = [[] for _ in range(n_groups)]
    for row, g in enumerate(group):
        members[g].append(row)
    width = max(len(m) for m in members)
    table = np.full((n_groups, width), -1, dtype=np.int64)
    for g, member_rows in enumerate(members):
        table[g, :len(member_rows)] = member_rows
    present = np.zeros((n_groups, size), dtype=bool)
    for k in range(width):
        rows = table[:, k]
        has = rows >= 0
        present[has] |= vec.present[rows[has]]
    op = node.op
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        if op == "quantile":
            assert param is not None
            value = np.full((n_groups, size), np.nan)
            for g, member_rows in enumerate(members):
                block = vec.values[member_rows].T
                valid = vec.present[member_rows].T
                block = sort_nan_first(block, valid)
                value[g] = quantile_sorted(block, valid.sum(axis=1), param)
        else:
            value = _fold(op, vec, table, present, size)
    return Vector(list(keys), np.where(present, value, np.nan), present)


def _fold(op: str, vec: Vector, table: np.ndarray, present: np.ndarray, size: int) -> np.ndarray:
    """sum/avg/min/max/count per group, adding members in row order as Prometheus does."""
    n_groups, width = table.shape
    value = np.zeros((n_groups, size))
    count = np.zeros((n_groups, size))
    mean = np.zeros((n_groups, size))
    for k in range(width):
        rows = table[:, k]
        has = rows >= 0
        g = np.flatnonzero(has)
        p = vec.present[rows[has]]
        x = vec.values[rows[has]]
        cur, cnt = value[g], count[g]
        first = p & (cnt == 0)
        new_cnt = cnt + p
        if op == "sum":
            nxt = np.where(first, x, cur + x)
        elif op == "count":
            nxt = cur
        elif op == "max":
            nxt = np.where(first | (cur < x) | np.isnan(cur), x, cur)
        elif op == "min":
            nxt = np.where(first | (cur > x) | np.isnan(cur), x, cur)
        elif op == "group":
            nxt = np.ones_like(cur)
        elif op in ("stddev", "stdvar"):  # Welford: value is the running sum of squares
            m = mean[g]
            delta = x - m
            new_mean = np.where(first, x, m + delta / np.maximum(new_cnt, 1))
            nxt = np.where(first, 0.0, cur + delta * (x - new_mean))
            mean[g] = np.where(p, new_mean, m)
        else:  # avg: incremental mean with Prometheus' handling of infinities
            skip = np.isinf(cur) & ((np.isinf(x) & ((cur > 0) == (x > 0))) | (~np.isinf(x) & ~np.isnan(x)))
            step = cur + (x / np.maximum(new_cnt, 1) - cur / np.maximum(new_cnt, 1))
            nxt = np.where(first, x, np.where(skip, cur, step))
        value[g] = np.where(p, nxt, cur)
        count[g] = new_cnt
    if op == "count":
        return count
    if op in ("stddev", "stdvar"):
        var = value / np.maximum(count, 1)
        return np.sqrt(var) if op == "stddev" else var
    return value


def _top(node: Aggregate, vec: Vector, param: np.ndarray, ctx: Context) -> Vector:
    """``topk``/``bottomk``: the input series themselves (labels kept), present where they are among
    the ``k`` largest (smallest) of their group at that instant; NaN ranks below every number for
    both. Where a tie straddles the k-th place, Prometheus' heap decides which series stay, so those
    instants replay its heap operations in input order."""
    size = ctx.grid.size
    bad = ~((param >= -(2.0 ** 63)) & (param <= 2.0 ** 63 - 1))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ctx.error(f"Scalar value {param[k]} overflows int64", k)
    k_of = np.trunc(param).astype(np.int64)
    top = node.op == "topk"
    present = np.zeros_like(vec.present)
    groups: dict[Labels, list[int]] = defaultdict(list)
    for row, lbl in enumerate(vec.labels):
        groups[_group_key(lbl, node.grouping, node.without)].append(row)
    for rows in groups.values():
        p = vec.present[rows]
        x = vec.values[rows]
        # Rank key: larger is better; NaN and absent last.
        key = np.where(p & ~np.isnan(x), x if top else -x, -np.inf)
        order = np.argsort(-key, axis=0, kind="stable")
        ranked = np.take_along_axis(key, order, axis=0)
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(len(rows))[:, None].repeat(size, axis=1), axis=0)
        k = np.minimum(k_of, len(rows))
        chosen = (rank < k[None, :]) & p
        # A tie across the boundary (or NaNs in play) leaves the choice to Prometheus' heap.
        kth = np.take_along_axis(ranked, np.clip(k - 1, 0, len(rows) - 1)[None, :], axis=0)[0]
        after = np.take_along_axis(ranked, np.clip(k, 0, len(rows) - 1)[None, :], axis=0)[0]
        n_present = p.sum(axis=0)
        has_nan = (p & np.isnan(x)).any(axis=0)
        ambiguous = (k >= 1) & (k < n_present) & ((kth == after) | has_nan)
        for col in np.flatnonzero(ambiguous):
            chosen[:, col] = False
            for j in heap_select([r for r in range(len(rows)) if p[r, col]], x[:, col], int(k_of[col]), top):
                chosen[j, col] = True
        chosen = np.where((k >= n_present)[None, :], p, chosen) & (k_of >= 1)[None, :]
        present[rows] = chosen
    return Vector(list(vec.labels), np.where(present, vec.values, np.nan), present)


def heap_select(members: list[int], x: np.ndarray, k: int, top: bool) -> list[int]:
    """The members Prometheus' ``topk``/``bottomk`` keep: a bounded heap fed in input order, with
    ``Less`` putting NaN first (Go's ``container/heap`` push/pop, replayed)."""
    def less(a: int, b: int) -> bool:
        if math.isnan(x[a]):
            return True
        return bool(x[a] < x[b]) if top else bool(x[a] > x[b])

    def up(h: list[int], j: int) -> None:
        while j > 0:
            parent = (j - 1) // 2
            if parent == j or not less(h[j], h[parent]):
                break
            h[parent], h[j] = h[j], h[parent]
            j = parent

    def down(h: list[int], i0: int, n: int) -> None:
        i = i0
        while True:
            j1 = 2 * i + 1
            if j1 >= n or j1 < 0:
                break
            j = j1
            j2 = j1 + 1
            if j2 < n and less(h[j2], h[j1]):
                j = j2
            if not less(h[j], h[i]):
                break
            h[i], h[j] = h[j], h[i]
            i = j

    heap: list[int] = []
    for m in members:
        if not heap:
            heap.append(m)
            continue
        head = x[heap[0]]
        better = (head < x[m]) if top else (head > x[m])
        if len(heap) < k or better or math.isnan(head):
            if len(heap) == k:
                if k == 1:
                    heap[0] = m
                    continue
                last = len(heap) - 1
                heap[0], heap[last] = heap[last], heap[0]
                down(heap, 0, last)
                heap.pop()
            heap.append(m)
            up(heap, len(heap) - 1)
    return heap


def format_value(value: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'f', -1, 64)``: the shortest digits that read back, never an
    exponent."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return np.format_float_positional(value, unique=True, trim="-")


def _count_values(node: Aggregate, label: str, vec: Vector, ctx: Context) -> Vector:
    """``count_values("label", v)``: per group and distinct value (formatted as Go does), how many
    series have that value at each instant."""
    size = ctx.grid.size
    if not label:
        raise ctx.error(f"invalid label name {label!r}", 0)
    if vec.n == 0:
        return Vector.empty(size)
    rows, cols = np.nonzero(vec.present)
    values = vec.values[rows, cols]
    distinct, which = np.unique(values.view(np.int64), return_inverse=True)
    texts = [format_value(v) for v in distinct.view(np.float64)]
    grouping = node.grouping if node.without else (*node.grouping, label)
    pairs, pair_of = np.unique(rows * len(distinct) + which.reshape(-1), return_inverse=True)
    keys: dict[Labels, int] = {}
    key_of_pair = np.empty(len(pairs), dtype=np.int64)
    for i, pair in enumerate(pairs.tolist()):
        labels = dict(vec.labels[pair // len(distinct)])
        labels[label] = texts[pair % len(distinct)]
        key_of_pair[i] = keys.setdefault(_group_key(labels_of(labels), grouping, node.without), len(keys))
    out_row = key_of_pair[pair_of.reshape(-1)]
    counts = np.zeros((len(keys), size))
    np.add.at(counts, (out_row, cols), 1.0)
    present = counts > 0
    return Vector(list(keys), np.where(present, counts, np.nan), present)


# ------------------------------------------------------------------------------------------------
# Binary operators.

def _arith(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        if op == "%":
            return np.fmod(a, b)
        if op == "^":
            return np.power(a, b)
        if op == "atan2":
            return np.arctan2(a, b)
    raise ValueError(op)


def _compare(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return {"==": np.equal, "!=": np.not_equal, ">": np.greater, "<": np.less,
                ">=": np.greater_equal, "<=": np.less_equal}[op](a, b)


_ARITH = ("+", "-", "*", "/", "%", "^", "atan2")


def _binary(node: Binary, ctx: Context) -> Vector | Scalar:
    lhs, rhs = eval_node(node.lhs, ctx), eval_node(node.rhs, ctx)
    op = node.op
    if isinstance(lhs, Scalar) and isinstance(rhs, Scalar):
        if op in _ARITH:
            return Scalar(_arith(op, lhs.values, rhs.values))
        return Scalar(_compare(op, lhs.values, rhs.values).astype(np.float64))
    if isinstance(lhs, Vector) and isinstance(rhs, Vector):
        matching = node.matching or VectorMatching()
        if op in ("and", "or", "unless"):
            return _set_operation(op, lhs, rhs, matching, ctx)
        return _vector_binop(op, lhs, rhs, matching, node.return_bool, ctx)
    swap = isinstance(lhs, Scalar)
    vec = rhs if swap else lhs
    scalar = (lhs if swap else rhs)
    assert isinstance(vec, Vector) and isinstance(scalar, Scalar)
    s = scalar.values[None, :]
    a, b = (s, vec.values) if swap else (vec.values, s)
    if op in _ARITH:
        values, present = _arith(op, a, b), vec.present
    else:
        keep = _compare(op, a, b)
        if node.return_bool:
            values, present = keep.astype(np.float64), vec.present
        else:
            values, present = vec.values, vec.present & keep
    labels = vec.labels
    if op in _ARITH or node.return_bool:
        labels = [_drop_name(lbl) for lbl in labels]
    return _merge(labels, np.where(present, values, np.nan), present, ctx,
                  "vector cannot contain metrics with the same labelset")


def _signature(labels: Labels, matching: VectorMatching) -> Labels:
    if matching.on:
        keep = set(matching.labels)
        return tuple(p for p in labels if p[0] in keep)
    drop = set(matching.labels) | {NAME}
    return tuple(p for p in labels if p[0] not in drop)


def _any_by_signature(vec: Vector, matching: VectorMatching) -> tuple[list[Labels], dict[Labels, np.ndarray]]:
    sigs = [_signature(lbl, matching) for lbl in vec.labels]
    out: dict[Labels, np.ndarray] = {}
    for i, sig in enumerate(sigs):
        out[sig] = out[sig] | vec.present[i] if sig in out else vec.present[i].copy()
    return sigs, out


def _set_operation(op: str, lhs: Vector, rhs: Vector, matching: VectorMatching, ctx: Context) -> Vector:
    size = ctx.grid.size
    none = np.zeros(size, dtype=bool)
    if op == "or":
        lsigs, lany = _any_by_signature(lhs, matching)
        rsigs = [_signature(lbl, matching) for lbl in rhs.labels]
        rpresent = np.array([rhs.present[i] & ~lany.get(sig, none) for i, sig in enumerate(rsigs)],
                            dtype=bool).reshape(rhs.n, size)
        present = np.concatenate([lhs.present, rpresent])
        values = np.where(present, np.concatenate([lhs.values, rhs.values]), np.nan)
        return _merge([*lhs.labels, *rhs.labels], values, present, ctx,
                      "vector cannot contain metrics with the same labelset")
    rsigs, rany = _any_by_signature(rhs, matching)
    lsigs = [_signature(lbl, matching) for lbl in lhs.labels]
    match = np.array([rany.get(sig, none) for sig in lsigs], dtype=bool).reshape(lhs.n, size)
    present = lhs.present & (match if op == "and" else ~match)
    return Vector(list(lhs.labels), np.where(present, lhs.values, np.nan), present)


def _result_labels(many: Labels, one: Labels, op: str, matching: VectorMatching, return_bool: bool
                   ) -> Labels:
    out = dict(many)
    if op in _ARITH:
        out.pop(NAME, None)
    if matching.card == "one-to-one":
        if matching.on:
            out = {k: v for k, v in out.items() if k in set(matching.labels)}
        else:
            for name in matching.labels:
                out.pop(name, None)
    one_map = dict(one)
    for name in matching.include:
        if one_map.get(name):
            out[name] = one_map[name]
        else:
            out.pop(name, None)
    if return_bool:
        out.pop(NAME, None)
    return labels_of(out)


def _vector_binop(op: str, lhs: Vector, rhs: Vector, matching: VectorMatching, return_bool: bool,
                  ctx: Context) -> Vector:
    size = ctx.grid.size
    if lhs.n == 0 or rhs.n == 0:
        return Vector.empty(size)
    swapped = matching.card == "one-to-many"
    many, one = (rhs, lhs) if swapped else (lhs, rhs)
    active = many.present.any(axis=0) & one.present.any(axis=0)
    one_sigs = [_signature(lbl, matching) for lbl in one.labels]
    by_sig: dict[Labels, list[int]] = defaultdict(list)
    for i, sig in enumerate(one_sigs):
        by_sig[sig].append(i)
    side = "left" if swapped else "right"
    for sig, rows in by_sig.items():
        if len(rows) > 1:
            counts = one.present[rows].sum(axis=0)
            clash = np.flatnonzero((counts > 1) & active)
            if len(clash):
                k = int(clash[0])
                names = [format_labels(one.labels[r]) for r in rows if one.present[r, k]]
                ctx.fail(f"found duplicate series for the match group {format_labels(sig)} on the "
                         f"{side} hand-side of the operation: [{', '.join(names[:2])}];many-to-many "
                         "matching not allowed: matching labels must be unique on one side", clash)
    pairs_many, pairs_one, labels = [], [], []
    many_sigs = [_signature(lbl, matching) for lbl in many.labels]
    for m, sig in enumerate(many_sigs):
        for o in by_sig.get(sig, ()):
            pairs_many.append(m)
            pairs_one.append(o)
            labels.append(_result_labels(many.labels[m], one.labels[o], op, matching, return_bool))
    if not pairs_many:
        return Vector.empty(size)
    pm, po = np.array(pairs_many), np.array(pairs_one)
    present = many.present[pm] & one.present[po]
    vm, vo = many.values[pm], one.values[po]
    vl, vr = (vo, vm) if swapped else (vm, vo)
    if op in _ARITH:
        values = _arith(op, vl, vr)
        emitted = present
    else:
        keep = _compare(op, vl, vr)
        if return_bool:
            values, emitted = keep.astype(np.float64), present
        else:
            values, emitted = vl, present & keep
    if matching.card == "one-to-one":
        per_sig: dict[Labels, list[int]] = defaultdict(list)
        for k, m in enumerate(pairs_many):
            per_sig[many_sigs[m]].append(k)
        for rows in per_sig.values():
            if len({pairs_many[k] for k in rows}) > 1:
                clash = np.flatnonzero(emitted[rows].sum(axis=0) > 1)
                if len(clash):
                    ctx.fail("multiple matches for labels: many-to-one matching must be explicit "
                             "(group_left/group_right)", clash)
    message = ("multiple matches for labels: grouping labels must ensure unique matches"
               if matching.card != "one-to-one" else "vector cannot contain metrics with the same labelset")
    return _merge(labels, np.where(emitted, values, np.nan), emitted, ctx, message)


__all__ = ["Context", "EvaluationError", "Failures", "Labels", "Recorded", "Scalar", "Store", "Vector", "eval_node",
           "evaluate", "format_labels", "labels_of"]
