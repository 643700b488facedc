"""Replay: metrics × rules → evaluations → alert episodes, as Prometheus would have fired them.

Evaluation instants are multiples of ``eval_interval`` since the Unix epoch. Each rule's condition is
computed for every series and every instant at once (see :mod:`alertsim.vectors`); the alerting
state machine of Prometheus' ``rules/alerting.go`` then runs over *runs* of true instants, not over
samples:

* pending at the first true instant (``active_at``); firing at the first instant ``>= active_at + for``
  (``fired_at``); any instant without the condition while pending resets;
* with ``keep_firing_for``, a firing alert stays firing until ``keep_firing_for`` after its first false
  instant; the condition coming back in time resets that;
* ``resolved_at`` is the instant it resolves, null if it is still firing at the end.

>>> import polars as pl, datetime as dt
>>> from alertsim.rules import ThresholdRule
>>> t = [dt.datetime(2026, 1, 1, 0, m, tzinfo=dt.UTC) for m in range(10)]
>>> metrics = pl.DataFrame({"timestamp": t, "metric": "cpu", "value": [0., 0, 9, 9, 9, 9, 0, 0, 0, 0]})
>>> rule = ThresholdRule(name="High", metric="cpu", op=">", value=5, for_=dt.timedelta(minutes=2))
>>> [str(t.time()) for t in replay(metrics, [rule]).alerts.select("fired_at", "resolved_at").row(0)]
['00:04:00', '00:06:00']
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from alertsim.budget import check_size
from alertsim.durations import Duration, format_duration, to_microseconds
from alertsim.errors import ArgumentError, ConfigError, InputError, Notice, check_type
from alertsim.frames import ALERTS, EVALUATIONS, INSTANT, METRICS, label_columns, problems, series_name
from alertsim.rules.model import RuleBase, ThresholdRule
from alertsim.vectors import LOOKBACK_US, Grid, SeriesSet, Vector, compare, instant, over_time

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------------
# Prepared metrics: every series back to back, selectable by metric and label matchers.

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
        if self.data.layout is not None:
            return self.data.layout.t0
        return int(self.data.times.min()) if len(self.data.times) else 0

    @property
    def last_us(self) -> int:
        if self.data.layout is not None:
            return self.data.layout.t0 + self.data.layout.step * (self.data.layout.size - 1)
        return int(self.data.times.max()) if len(self.data.times) else 0

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
    """Rows where a new series begins (any key differs from the row before)."""
    if not frame.height:
        return np.zeros(0, dtype=np.int64)
    mask = frame.select(
        pl.any_horizontal([pl.col(k) != pl.col(k).shift(1) for k in keys]).fill_null(True)
    ).to_series()
    return np.flatnonzero(mask.to_numpy()).astype(np.int64)


def prepare(metrics: pl.DataFrame | Prepared) -> Prepared:
    """Check a Metrics frame and lay it out for evaluation (sorted by series, then time).

    Raises ``InputError`` when the frame breaks the Metrics schema.
    """
    if isinstance(metrics, Prepared):
        return metrics
    check_type(metrics, pl.DataFrame, name="metrics",
               expected="a Metrics frame (polars.DataFrame, e.g. from alertsim.read_metrics) or a prepare()-d one")
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
    starts = _series_starts(frame, keys)
    t = frame["t"].to_numpy()
    table = frame.select(keys)[starts.tolist()] if len(starts) else pl.DataFrame(
        schema={k: pl.String for k in keys})
    within = np.ones(len(t), dtype=bool)
    within[starts] = False
    unsorted = bool(np.any((np.diff(t, prepend=t[:1]) < 0) & within)) if len(t) else False
    if unsorted or table.is_duplicated().any():
        frame = frame.sort([*keys, "t"], maintain_order=True)
        starts = _series_starts(frame, keys)
        table = frame.select(keys)[starts.tolist()]
    offsets = np.append(starts, frame.height).astype(np.int64)
    names = [series_name(row[0], dict(zip(labels, row[1:], strict=True)))
             for row in table.iter_rows()]
    table = table.with_columns(pl.Series("series", names, dtype=pl.String))
    data = SeriesSet.from_arrays(frame["t"].to_numpy(), frame["value"].to_numpy(), offsets)
    data = replace(data, layout=data.find_layout())  # regular data: selection needs no timestamp pass
    return Prepared(data=data, table=table, labels=labels)


# --------------------------------------------------------------------------------------------------
# Conditions: what each rule kind computes on the grid.

@dataclass(frozen=True, eq=False)
class Condition:
    """One alerting condition evaluated for ``n`` series on a grid (arrays are ``(n, instants)``).

    ``enter`` is the condition; ``stay`` (hysteresis) the condition that keeps a firing alert firing.
    ``present`` marks instants where the rule had data to evaluate (``state`` null otherwise).
    """

    rule: RuleBase
    series: list[str]
    labels: list[dict[str, str]]
    enter: np.ndarray
    present: np.ndarray
    value: np.ndarray
    severity: str
    stay: np.ndarray | None = None
    score: np.ndarray | None = None
    #: An array, or a function computing it: anomaly bounds are only built when evaluations are kept.
    bound: np.ndarray | Callable[[], np.ndarray] | None = None
    budget: np.ndarray | None = None
    extra_labels: Mapping[str, str] = field(default_factory=dict)


Evaluator = Callable[[Any, Prepared, Grid, "Semantics"], list[Condition]]


@dataclass(frozen=True, kw_only=True)
class Semantics:
    """Selector semantics: Prometheus 2.x (closed windows) by default; ``left_open`` for 3.x."""

    lookback: int = LOOKBACK_US
    left_open: bool = False


def _value(sel: Selection, grid: Grid, over: Any, sem: Semantics, offset: int = 0) -> Vector:
    """The instant value (or ``<fn>_over_time``) of every selected series at every instant, cached."""
    return sel.cached(("value", grid, over, sem, offset),  # type: ignore[no-any-return]
                      lambda: _compute_value(sel, grid, over, sem, offset))


def _compute_value(sel: Selection, grid: Grid, over: Any, sem: Semantics, offset: int) -> Vector:
    if over is None:
        return instant(sel.data, grid, lookback=sem.lookback, offset=offset, left_open=sem.left_open)
    return over_time(sel.data, grid, over.fn, to_microseconds(over.window), q=over.q, offset=offset,
                     left_open=sem.left_open)


def _threshold(rule: ThresholdRule, prepared: Prepared, grid: Grid, sem: Semantics) -> list[Condition]:
    sel = prepared.select(rule.metric, rule.matchers)
    vec = _value(sel, grid, rule.over, sem)
    enter = compare(vec.values, rule.op, rule.value)
    if not vec.complete:
        enter &= vec.present
    stay = None
    if rule.clear is not None:
        stay = (compare(vec.values, rule.op, rule.clear) & vec.present) | enter
    return [Condition(rule=rule, series=sel.table["series"].to_list(), labels=sel.label_dicts(),
                      enter=enter, stay=stay, present=vec.present, value=vec.values,
                      severity=rule.severity)]


def _evaluators() -> dict[str, Evaluator]:
    from alertsim.promql import rules as promql_rules
    from alertsim.rules import anomaly, cloudwatch, datadog, gcp, slo

    return {
        "threshold": _threshold,
        "zscore": anomaly.zscore,
        "mad": anomaly.mad,
        "ewma": anomaly.ewma,
        "seasonal": anomaly.seasonal,
        "holt_winters": anomaly.holt_winters,
        "burn_rate": slo.burn_rate,
        "promql": promql_rules.evaluate_rule,
        "cloudwatch": cloudwatch.evaluate,
        "gcp": gcp.evaluate,
        "datadog": datadog.evaluate,
    }


def conditions(rule: RuleBase, prepared: Prepared, grid: Grid, semantics: Semantics | None = None
               ) -> list[Condition]:
    """Evaluate one rule's condition(s) for every matching series at every grid instant."""
    evaluator = _evaluators().get(rule.kind)
    if evaluator is None:
        raise ConfigError(f"no evaluator for rule kind {rule.kind!r}", rule=rule.name, field="kind")
    return evaluator(rule, prepared, grid, semantics or Semantics())


# --------------------------------------------------------------------------------------------------
# The alerting state machine, over runs of true instants.

@dataclass(frozen=True, eq=False)
class Episodes:
    """Alert episodes as grid indices: ``row`` (series), ``active``, ``fired``, ``resolved`` (-1 = still
    firing at the end of the grid)."""

    row: np.ndarray
    active: np.ndarray
    fired: np.ndarray
    resolved: np.ndarray


def _steps(duration_us: int, step_us: int) -> int:
    """Instants needed for ``t − since >= duration``: ceil(duration / step)."""
    return -(-duration_us // step_us)


def _runs(state: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of True in each row: (row, start, end-exclusive), in row-major order."""
    n, size = state.shape
    padded = np.zeros((n, size + 2), dtype=bool)
    padded[:, 1:-1] = state
    # Every change of state, row-major; a row starts and ends false, so starts and ends alternate.
    change = np.flatnonzero(padded[:, 1:] != padded[:, :-1])
    start, end = change[0::2], change[1::2]
    row = start // (size + 1)
    return row, start - row * (size + 1), end - row * (size + 1)


def episodes(enter: np.ndarray, *, for_steps: int, keep_steps: int,
             stay: np.ndarray | None = None) -> Episodes:
    """Alert episodes from a boolean ``(series, instants)`` condition, Prometheus' state machine.

    ``for_steps``/``keep_steps`` are ``ceil(for / interval)`` and ``ceil(keep_firing_for / interval)``.
    """
    if stay is not None:
        return _episodes_hysteresis(enter, stay, for_steps, keep_steps)
    size = enter.shape[1]
    row, start, end = _runs(enter)
    fires = start + for_steps < end
    if keep_steps == 0:
        resolved = np.where(end < size, end, -1)
        return Episodes(row[fires], start[fires], (start + for_steps)[fires], resolved[fires])
    count = len(row)
    idx = np.arange(count)
    joinable = np.zeros(count, dtype=bool)
    if count > 1:
        joinable[1:] = (row[1:] == row[:-1]) & (start[1:] - end[:-1] <= keep_steps)
    last_fire = np.maximum.accumulate(np.where(fires, idx, -1)) if count else idx
    last_break = np.maximum.accumulate(np.where(~joinable, idx, -1)) if count else idx
    in_chain = last_fire >= last_break
    continues = np.zeros(count, dtype=bool)
    if count > 1:
        continues[1:] = joinable[1:] & in_chain[:-1]
    first = in_chain & ~continues
    # The last run of each chain: the next run does not continue it.
    last = in_chain.copy()
    if count > 1:
        last[:-1] &= ~continues[1:]
    first_idx, last_idx = np.flatnonzero(first), np.flatnonzero(last)
    resolve_at = end[last_idx] + keep_steps
    resolved = np.where((end[last_idx] < size) & (resolve_at < size), resolve_at, -1)
    return Episodes(row[first_idx], start[first_idx], start[first_idx] + for_steps, resolved)


def _next_index(state: np.ndarray, value: bool) -> np.ndarray:
    """For each (row, k): the smallest j >= k with state[row, j] == value, or size if none."""
    _n, size = state.shape
    hit = np.where(state == value, np.arange(size)[None, :], size)
    return np.minimum.accumulate(hit[:, ::-1], axis=1)[:, ::-1]


def _episodes_hysteresis(enter: np.ndarray, stay: np.ndarray, for_steps: int, keep_steps: int) -> Episodes:
    """The state machine when firing alerts stay on a looser condition (``clear``): loops over alerts."""
    n, size = enter.shape
    next_enter, next_exit = _next_index(enter, True), _next_index(enter, False)
    next_stay, next_unstay = _next_index(stay, True), _next_index(stay, False)
    out: list[tuple[int, int, int, int]] = []
    for r in range(n):
        pos = 0
        while pos < size:
            a = int(next_enter[r, pos])
            if a >= size:
                break
            e = int(next_exit[r, a])
            f = a + for_steps
            if f >= e:
                pos = e
                continue
            s = int(next_unstay[r, f])
            while True:
                if s >= size:
                    resolved = -1
                    break
                g = s + keep_steps
                back = int(next_stay[r, s])
                if keep_steps and back <= g and back < size:
                    s = int(next_unstay[r, back])
                    continue
                resolved = g if g < size else -1
                break
            out.append((r, a, f, resolved))
            if resolved < 0:
                break
            pos = resolved + 1
    arr = np.array(out, dtype=np.int64).reshape(-1, 4)
    return Episodes(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3])


# --------------------------------------------------------------------------------------------------
# Replay.

@dataclass(frozen=True, eq=False)
class Replay:
    """What a replay produced: ``alerts`` (an Alerts frame), ``evaluations`` when asked for, the grid
    and the rules."""

    alerts: pl.DataFrame
    rules: tuple[RuleBase, ...]
    grid: Grid
    evaluations: pl.DataFrame | None = None
    #: What the alerts cannot show: rules that selected no series, a window without data, ...
    notices: tuple[Notice, ...] = ()

    @property
    def start(self) -> datetime:
        return _to_datetime(self.grid.t0)

    @property
    def end(self) -> datetime:
        return _to_datetime(self.grid.t0 + self.grid.step * max(self.grid.size - 1, 0))

    def summary(self) -> pl.DataFrame:
        """Alerts and firing hours per rule (rules with no alert included)."""
        end = self.end
        per_rule = (self.alerts.with_columns(
            ((pl.col("resolved_at").fill_null(pl.lit(end, dtype=INSTANT)) - pl.col("fired_at"))
             .dt.total_seconds() / 3600).alias("hours"))
            .group_by("rule").agg(pl.len().alias("alerts"), pl.col("hours").sum().alias("firing_hours")))
        names = pl.DataFrame({"rule": [r.name for r in self.rules],
                              "kind": [r.kind for r in self.rules]})
        return (names.join(per_rule, on="rule", how="left")
                .with_columns(pl.col("alerts").fill_null(0).cast(pl.Int64),
                              pl.col("firing_hours").fill_null(0.0)))


def _to_datetime(us: int) -> datetime:
    from datetime import UTC

    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(us))


def _instant_us(value: datetime | str | None, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"{value!r} is not an ISO-8601 instant", field=field) from None
    if value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return int((value - _to_datetime(0)) / timedelta(microseconds=1))


#: Bytes a replay holds per (series, instant) while it evaluates a rule (condition, presence, value,
#: index), used to refuse grids that cannot fit before any work starts.
BYTES_PER_POINT = 24


def make_grid(prepared: Prepared, eval_interval: Duration, start: datetime | str | None,
              end: datetime | str | None, notices: list[Notice] | None = None) -> Grid:
    """The evaluation grid: ``start``/``end`` when given, else the span of the *bulk* of the samples.

    A few samples far outside the rest (a stray timestamp from 1970 in a week of data) do not stretch
    the grid: they are left out of it and reported in ``notices``. The grid's size is checked against
    the memory budget (:mod:`alertsim.budget`) before anything is evaluated.
    """
    step = to_microseconds(eval_interval, field="eval_interval")
    if step <= 0:
        raise ConfigError("must be longer than 0s", field="eval_interval")
    first = _instant_us(start, "start")
    last = _instant_us(end, "end")
    bulk_first, bulk_last = _bulk_span(prepared, notices if notices is not None else [])
    first = bulk_first if first is None else first
    last = bulk_last if last is None else last
    if last < first:
        raise ConfigError(f"end ({_to_datetime(last)}) is before start ({_to_datetime(first)})", field="end")
    instants = (last - first) // step + 1
    check_size(float(instants) * max(prepared.data.n, 1) * BYTES_PER_POINT,
               what=f"a grid of {instants:,} instants × {prepared.data.n:,} series", field="eval_interval",
               advice="narrow --start/--end or lengthen --eval-interval")
    if notices is not None and prepared.data.n and (first > prepared.last_us or last < prepared.first_us):
        notices.append(Notice(code="no-data-in-window", field="start",
                              message=f"no samples between {_to_datetime(first)} and {_to_datetime(last)}; the "
                                      f"metrics span {_to_datetime(prepared.first_us)} to "
                                      f"{_to_datetime(prepared.last_us)}"))
    return Grid.covering(first, last, step)


def _bulk_span(prepared: Prepared, notices: list[Notice]) -> tuple[int, int]:
    """First and last sample of the bulk of the data: samples more than ten bulk-widths before the
    0.1 % quantile or after the 99.9 % quantile are outliers, left out and reported."""
    first, last = prepared.first_us, prepared.last_us
    times = prepared.data.times
    if prepared.data.layout is not None or len(times) < 1000:
        return first, last
    lo, hi = (int(v) for v in np.quantile(times, [0.001, 0.999], method="nearest"))
    width = max(hi - lo, 1)
    keep_lo, keep_hi = lo - 10 * width, hi + 10 * width
    if first >= keep_lo and last <= keep_hi:
        return first, last
    inside = times[(times >= keep_lo) & (times <= keep_hi)]
    outside = times[(times < keep_lo) | (times > keep_hi)]
    notices.append(Notice(
        code="stray-samples", field="timestamp",
        message=f"{len(outside):,} sample(s) lie far outside the bulk of the data ({_to_datetime(int(outside.min()))}"
                f" … {_to_datetime(int(outside.max()))}); the grid covers {_to_datetime(int(inside.min()))} to "
                f"{_to_datetime(int(inside.max()))} (pass --start/--end to include them)"))
    return int(inside.min()), int(inside.max())


def rule_notices(rule: RuleBase, conds: Sequence[Condition], prepared: Prepared) -> list[Notice]:
    """What a rule's result cannot show: it selected no series (with close names from the data), or
    its threshold is NaN (it can never fire)."""
    found: list[Notice] = []
    value = getattr(rule, "value", None)
    if isinstance(value, float) and np.isnan(value):
        found.append(Notice(code="nan-threshold", rule=rule.name, field="value",
                            message="the threshold is NaN, so the condition is never true and the rule never fires"))
    if prepared.data.n and not any(len(c.series) for c in conds):
        found.append(Notice(code="no-series", rule=rule.name, field=_missing_field(rule, prepared),
                            message="selected no series: " + _why_empty(rule, prepared)))
    return found


def _missing_field(rule: RuleBase, prepared: Prepared) -> str | None:
    metric = getattr(rule, "metric", None)
    if isinstance(metric, str):
        return "metric" if metric not in set(prepared.table["metric"].to_list()) else "matchers"
    return None


def _why_empty(rule: RuleBase, prepared: Prepared) -> str:
    import difflib

    metric = getattr(rule, "metric", None)
    if not isinstance(metric, str):
        return "its expression matches none of the metrics' series"
    names = sorted(set(prepared.table["metric"].to_list()))
    if metric not in names:
        close = difflib.get_close_matches(metric, names, n=3)
        return f"no metric {metric!r} in the data" + (f" (did you mean {', '.join(map(repr, close))}?)" if close
                                                      else f" ({len(names)} metrics, e.g. {names[:3]})")
    unknown = [k for k in getattr(rule, "matchers", {}) if k not in prepared.labels]
    if unknown:
        hints = {k: difflib.get_close_matches(k, list(prepared.labels), n=1) for k in unknown}
        said = ", ".join(f"{k!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for k, h in hints.items())
        return f"the data has no label {said}"
    return f"no series of {metric!r} has the labels {dict(getattr(rule, 'matchers', {}))}"


def _alert_rows(cond: Condition, eps: Episodes, grid: Grid) -> dict[str, list[Any]]:
    rule = cond.rule
    base = {**rule.labels, "alertname": rule.alertname, **cond.extra_labels}
    if cond.severity is not None:
        base["severity"] = cond.severity
    rows = eps.row.tolist()
    per_series = {r: json.dumps(dict(sorted({**cond.labels[r], **base}.items()))) for r in set(rows)}
    labels = [per_series[r] for r in rows]
    budget = None
    if cond.budget is not None:
        budget = cond.budget[eps.row, eps.fired].tolist()
    return {
        "rule": [rule.name] * len(eps.row),
        "series": [cond.series[r] for r in rows],
        "labels": labels,
        "severity": [cond.severity] * len(eps.row),
        "active_at": (grid.t0 + grid.step * eps.active).tolist(),
        "fired_at": (grid.t0 + grid.step * eps.fired).tolist(),
        "resolved_at": [None if k < 0 else grid.t0 + grid.step * int(k) for k in eps.resolved],
        "budget_at_detection": budget if budget is not None else [None] * len(eps.row),
    }


def _resolve(values: np.ndarray | Callable[[], np.ndarray]) -> np.ndarray:
    return values() if callable(values) else values


def _evaluation_frame(cond: Condition, grid: Grid) -> pl.DataFrame:
    n, size = cond.enter.shape
    at = np.tile(grid.instants, n)
    state = cond.enter.ravel()
    frame = pl.DataFrame({
        "rule": pl.Series([cond.rule.name] * (n * size), dtype=pl.String),
        "series": pl.Series(np.repeat(np.array(cond.series, dtype=object), size).tolist(), dtype=pl.String),
        "at": pl.Series(at).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        "state": pl.Series(state).set(pl.Series(~cond.present.ravel()), None),
        "value": pl.Series(cond.value.ravel()),
        "score": pl.Series(cond.score.ravel() if cond.score is not None else np.full(n * size, np.nan)),
        "bound": pl.Series(_resolve(cond.bound).ravel() if cond.bound is not None else np.full(n * size, np.nan)),
    })
    return frame.with_columns(pl.col(c).fill_nan(None) for c in ("value", "score", "bound"))


def replay(metrics: pl.DataFrame | Prepared | Any, rules: Sequence[RuleBase] | RuleBase, *,
           eval_interval: Duration = "1m", start: datetime | str | None = None,
           end: datetime | str | None = None, evaluations: bool = False,
           semantics: Semantics | None = None,
           progress: Callable[[RuleBase], None] | None = None,
           engine: str = "memory", scheduler: Any = None) -> Replay:
    """Replay ``rules`` over ``metrics`` (a Metrics frame) and return the alerts they would have fired.

    Parameters
    ----------
    metrics : Metrics frame (``timestamp``, ``metric``, ``value`` + label columns) or a ``prepare()``-d one.
    rules : rules from :func:`alertsim.load_rules` or built directly.
    eval_interval : the rule evaluation interval. Default ``"1m"``.
    start, end : the first and last instant to evaluate. Default: the metrics' first and last sample.
    evaluations : also return every evaluation (rule, series, at, state, value, score, bound). Default False.
    semantics : ``Semantics(left_open=True)`` for Prometheus 3's left-open windows. Default: 2.x.
    engine : ``"memory"`` (default), or ``"local"``/``"dask"`` to replay an out-of-memory
        :class:`alertsim.scale.Dataset` partition by partition (see :mod:`alertsim.scale`); a Dataset
        passed as ``metrics`` implies ``"local"``.
    scheduler : Dask scheduler address or Client for ``engine="dask"``; default a local cluster.
    """
    if isinstance(rules, RuleBase):
        rules = [rules]
    if isinstance(rules, str | bytes) or not hasattr(rules, "__iter__"):
        raise ArgumentError(f"expected rules (a RuleBase or a list of them, e.g. from alertsim.load_rules), got "
                            f"{type(rules).__name__} {rules!r:.60}; load a rule file with load_rules(path)",
                            field="rules")
    rules = tuple(rules)
    for rule in rules:
        check_type(rule, RuleBase, name="rules", expected="rules built by alertsim (RuleBase), e.g. from load_rules")
    # alertsim.scale (and DuckDB with it) is imported only for a partitioned replay: a Dataset exists only
    # once alertsim.scale has been imported.
    scale = sys.modules.get("alertsim.scale")
    if engine != "memory" or (scale is not None and isinstance(metrics, scale.Dataset)):
        from alertsim.scale import Dataset, replay_dataset

        if not isinstance(metrics, Dataset):
            raise ConfigError(f"engine {engine!r} replays a Dataset (alertsim.scale.open_dataset); "
                              "an in-memory frame uses engine='memory'", field="engine")
        if evaluations:
            raise ConfigError("evaluations are only kept for in-memory replays", field="evaluations")
        return replay_dataset(metrics, rules, eval_interval=eval_interval, start=start, end=end,
                              semantics=semantics, engine="local" if engine == "memory" else engine,  # type: ignore[arg-type]
                              scheduler=scheduler)
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ConfigError(f"rule names must be unique; repeated: {dup}", field="name")
    prepared = prepare(metrics) if not isinstance(metrics, Prepared) else metrics
    notices: list[Notice] = []
    grid = make_grid(prepared, eval_interval, start, end, notices)
    sem = semantics or Semantics()
    columns: dict[str, list[Any]] = {k: [] for k in ("rule", "series", "labels", "severity", "active_at",
                                                      "fired_at", "resolved_at", "budget_at_detection")}
    evals = []
    for rule in rules:
        # A rule of a Prometheus rule file runs on its group's own interval (PromQLRule.grid_on).
        rule_grid = rule.grid_on(grid) if hasattr(rule, "grid_on") else grid
        conds = conditions(rule, prepared, rule_grid, sem)
        notices += rule_notices(rule, conds, prepared)
        for cond in conds:
            eps = episodes(cond.enter, for_steps=_steps(to_microseconds(rule.for_), rule_grid.step),
                           keep_steps=_steps(to_microseconds(rule.keep_firing_for), rule_grid.step),
                           stay=cond.stay)
            for key, values in _alert_rows(cond, eps, rule_grid).items():
                columns[key].extend(values)
            if evaluations:
                evals.append(_evaluation_frame(cond, rule_grid))
        if progress:
            progress(rule)
    alerts = _alerts_frame(columns)
    evaluation_frame = None
    if evaluations:
        evaluation_frame = (pl.concat(evals) if evals else EVALUATIONS.empty().with_columns(
            pl.lit(None, pl.Float64).alias("score"), pl.lit(None, pl.Float64).alias("bound")))
    log.info("replayed %d rules over %d series: %d alerts", len(rules), prepared.data.n, alerts.height)
    for notice in notices:
        log.warning("%s", notice)
    return Replay(alerts=alerts, rules=rules, grid=grid, evaluations=evaluation_frame, notices=tuple(notices))


def _alerts_frame(columns: Mapping[str, list[Any]]) -> pl.DataFrame:
    def instants(values: Iterable[Any]) -> pl.Series:
        return pl.Series(list(values), dtype=pl.Int64).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")

    frame = pl.DataFrame({
        "rule": pl.Series(columns["rule"], dtype=pl.String),
        "series": pl.Series(columns["series"], dtype=pl.String),
        "labels": pl.Series(columns["labels"], dtype=pl.String),
        "severity": pl.Series(columns["severity"], dtype=pl.String),
        "active_at": instants(columns["active_at"]),
        "fired_at": instants(columns["fired_at"]),
        "resolved_at": instants(columns["resolved_at"]),
        "budget_at_detection": pl.Series(columns["budget_at_detection"], dtype=pl.Float64),
    })
    frame = frame.with_row_index("alert_id").with_columns(pl.col("alert_id").cast(pl.Int64))
    return frame.select(*ALERTS.columns)


__all__ = ["Condition", "Episodes", "Prepared", "Replay", "Semantics", "conditions", "episodes",
           "format_duration", "prepare", "replay"]
