"""Replay: metrics × rules → evaluations → alert episodes, as Prometheus would have fired them.

Evaluation instants are multiples of ``eval_interval`` since the Unix epoch (:mod:`alertsim.series.grid`).
Each rule computes its condition for every series and every instant at once
(:meth:`~alertsim.rules.base.RuleBase.conditions`, on the instants of its
:meth:`~alertsim.rules.base.RuleBase.grid_on`); the engine never asks which kind a rule is. The alerting
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

import difflib
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from alertsim.durations import Duration, to_microseconds
from alertsim.errors import ArgumentError, ConfigError, Notice, check_type
from alertsim.frames import ALERTS, EVALUATIONS, INSTANT, Schema
from alertsim.rules.base import Condition, Health, RuleBase
from alertsim.series import Grid, Prepared, Semantics, make_grid, prepare, to_datetime

log = logging.getLogger(__name__)


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


def _held(state: np.ndarray, failed: np.ndarray) -> np.ndarray:
    """``state`` with each failed instant holding the value of the instant before it (false at 0)."""
    size = state.shape[1]
    source = np.maximum.accumulate(np.where(failed, -1, np.arange(size)))
    held = state[:, np.maximum(source, 0)]
    held[:, source < 0] = False
    return held


def episodes(enter: np.ndarray, *, for_steps: int, keep_steps: int,
             stay: np.ndarray | None = None, failed: np.ndarray | None = None) -> Episodes:
    """Alert episodes from a boolean ``(series, instants)`` condition, Prometheus' state machine.

    ``for_steps``/``keep_steps`` are ``ceil(for / interval)`` and ``ceil(keep_firing_for / interval)``.
    ``failed`` marks instants at which the rule's evaluation failed: nothing changes there (an alert
    neither starts, fires, resets nor resolves); what was due happens at the next instant evaluated.

    >>> on = np.array([[True, True, True, True, False]])
    >>> e = episodes(on, for_steps=2, keep_steps=0, failed=np.array([False, False, True, False, False]))
    >>> e.active.tolist(), e.fired.tolist(), e.resolved.tolist()
    ([0], [3], [4])
    """
    if failed is not None and failed.any():
        enter = _held(enter, failed)
        stay = None if stay is None else _held(stay, failed)
        ok = np.append(np.flatnonzero(~failed), enter.shape[1])
        # The first instant at or after k that is evaluated (size when none).
        due = ok[np.searchsorted(ok, np.arange(enter.shape[1] + 1))]
        return _shift(_episodes(enter, for_steps, keep_steps, stay, due), due, enter.shape[1])
    return _episodes(enter, for_steps, keep_steps, stay)


def _shift(eps: Episodes, due: np.ndarray, size: int) -> Episodes:
    """Move firing and resolution instants that fell on failed evaluations to the next one evaluated;
    an alert whose firing moves to or past its resolution never fired."""
    fired = due[np.minimum(eps.fired, size)]
    resolved = np.where(eps.resolved < 0, -1, due[np.minimum(np.maximum(eps.resolved, 0), size)])
    resolved = np.where(resolved >= size, -1, resolved)
    keep = ((resolved < 0) | (fired < resolved)) & (fired < size)
    return Episodes(eps.row[keep], eps.active[keep], fired[keep], resolved[keep])


def _episodes(enter: np.ndarray, for_steps: int, keep_steps: int, stay: np.ndarray | None,
              due: np.ndarray | None = None) -> Episodes:
    if stay is not None:
        return _episodes_hysteresis(enter, stay, for_steps, keep_steps)
    size = enter.shape[1]
    row, start, end = _runs(enter)
    fires = (start + for_steps if due is None else due[np.minimum(start + for_steps, size)]) < end
    if keep_steps == 0:
        resolved = np.where(end < size, end, -1)
        return Episodes(row[fires], start[fires], (start + for_steps)[fires], resolved[fires])
    count = len(row)
    idx = np.arange(count)
    joinable = np.zeros(count, dtype=bool)
    # A firing alert with keep_firing_for resolves at the first instant evaluated keep_steps after its
    # condition ended (``due``, when evaluations failed); a run starting by then continues it.
    last_chance = end + keep_steps if due is None else due[np.minimum(end + keep_steps, size)]
    if count > 1:
        joinable[1:] = (row[1:] == row[:-1]) & (start[1:] <= last_chance[:-1])
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

#: Rule health: rules whose evaluation failed, how often over the replay, and the last error.
HEALTH = Schema(
    name="RuleHealth",
    required={"rule": pl.String(), "kind": pl.String(), "file": pl.String(), "line": pl.Int64(),
              "evaluation_failures": pl.Int64(), "last_error": pl.String(), "last_error_at": INSTANT},
    nullable=frozenset({"file", "line"}),
)



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
    #: Rules whose evaluation failed at some instants (a RuleHealth frame, one row per such rule).
    health: pl.DataFrame = field(default_factory=lambda: HEALTH.empty())

    @property
    def start(self) -> datetime:
        return to_datetime(self.grid.t0)

    @property
    def end(self) -> datetime:
        return to_datetime(self.grid.t0 + self.grid.step * max(self.grid.size - 1, 0))

    def summary(self) -> pl.DataFrame:
        """Alerts and firing hours per rule (rules with no alert included)."""
        end = self.end
        per_rule = (self.alerts.with_columns(
            ((pl.col("resolved_at").fill_null(pl.lit(end, dtype=INSTANT)) - pl.col("fired_at"))
             .dt.total_seconds() / 3600).alias("hours"))
            .group_by("rule").agg(pl.len().alias("alerts"), pl.col("hours").sum().alias("firing_hours")))
        names = pl.DataFrame({"rule": [r.name for r in self.rules],
                              "kind": [r.kind for r in self.rules]})
        summary = (names.join(per_rule, on="rule", how="left")
                   .with_columns(pl.col("alerts").fill_null(0).cast(pl.Int64),
                                 pl.col("firing_hours").fill_null(0.0)))
        if not self.health.height:
            return summary
        failed = self.health.filter(pl.col("kind") == "alerting").select("rule", "evaluation_failures", "last_error")
        return summary.join(failed, on="rule", how="left").with_columns(pl.col("evaluation_failures").fill_null(0))



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
        "state": pl.Series(state).set(pl.Series((~cond.present if cond.failed is None
                                                 else ~cond.present | cond.failed[None, :]).ravel()), None),
        "value": pl.Series(cond.value.ravel()),
        "score": pl.Series(cond.score.ravel() if cond.score is not None else np.full(n * size, np.nan)),
        "bound": pl.Series(_resolve(cond.bound).ravel() if cond.bound is not None else np.full(n * size, np.nan)),
    })
    return frame.with_columns(pl.col(c).fill_nan(None) for c in ("value", "score", "bound"))


def replay(metrics: pl.DataFrame | Prepared, rules: Sequence[RuleBase] | RuleBase, *,
           eval_interval: Duration = "1m", start: datetime | str | None = None,
           end: datetime | str | None = None, evaluations: bool = False,
           semantics: Semantics | None = None,
           progress: Callable[[RuleBase], None] | None = None, eval_offset: Duration = "0s") -> Replay:
    """Replay ``rules`` over ``metrics`` (a Metrics frame) and return the alerts they would have fired.

    Parameters
    ----------
    metrics : Metrics frame (``timestamp``, ``metric``, ``value`` + label columns) or a ``prepare()``-d one.
    rules : rules from :func:`alertsim.load_rules` or built directly.
    eval_interval : the rule evaluation interval. Default ``"1m"``.
    eval_offset : evaluate at ``offset + k·interval`` since the epoch instead of multiples of the interval,
        as Prometheus evaluates each rule group at its own offset within the interval (``alertsim
        fidelity`` reports the offset production used). Default 0.
    start, end : the first and last instant to evaluate. Default: the metrics' first and last sample.
    evaluations : also return every evaluation (rule, series, at, state, value, score, bound). Default False.
    semantics : ``Semantics(left_open=True)`` for Prometheus 3's left-open windows. Default: 2.x.
    progress : called with each rule once it is replayed.

    A history larger than memory is replayed partition by partition, locally or on Dask, by
    :func:`alertsim.scale.replay_dataset`.
    """
    if isinstance(rules, RuleBase):
        rules = [rules]
    loaded = tuple(getattr(rules, "notices", ()))  # rules left out of a rule file (LoadedRules)
    if isinstance(rules, str | bytes) or not hasattr(rules, "__iter__"):
        raise ArgumentError(f"expected rules (a RuleBase or a list of them, e.g. from alertsim.load_rules), got "
                            f"{type(rules).__name__} {rules!r:.60}; load a rule file with load_rules(path)",
                            field="rules")
    rules = tuple(rules)
    for rule in rules:
        check_type(rule, RuleBase, name="rules", expected="rules built by alertsim (RuleBase), e.g. from load_rules")
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ConfigError(f"rule names must be unique; repeated: {dup}", field="name")
    prepared = prepare(metrics) if not isinstance(metrics, Prepared) else metrics
    notices: list[Notice] = list(loaded)
    grid = make_grid(prepared, eval_interval, start, end, notices, eval_offset)
    sem = semantics or Semantics()
    columns: dict[str, list[Any]] = {k: [] for k in ("rule", "series", "labels", "severity", "active_at",
                                                      "fired_at", "resolved_at", "budget_at_detection")}
    evals = []
    health: dict[tuple[str | None, int | None, str], tuple[Health, int]] = {}
    for rule in rules:
        # A rule of a Prometheus rule group or a vendor alarm runs on its own interval.
        rule_grid = rule.grid_on(grid)
        conds = rule.conditions(prepared, rule_grid, sem)
        notices += rule_notices(rule, conds, prepared)
        for cond in conds:
            for h in cond.health:
                health.setdefault((h.file, h.line, h.rule), (h, rule_grid.size))
            eps = episodes(cond.enter, for_steps=_steps(to_microseconds(rule.for_), rule_grid.step),
                           keep_steps=_steps(to_microseconds(rule.keep_firing_for), rule_grid.step),
                           stay=cond.stay, failed=cond.failed)
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
    notices += [h.notice(size) for h, size in health.values()]
    log.info("replayed %d rules over %d series: %d alerts", len(rules), prepared.data.n, alerts.height)
    for notice in notices[len(loaded):]:  # load_rules logged the rules it left out
        log.warning("%s", notice)
    return Replay(alerts=alerts, rules=rules, grid=grid, evaluations=evaluation_frame, notices=tuple(notices),
                  health=_health_frame([h for h, _ in health.values()]))


def _health_frame(health: Sequence[Health]) -> pl.DataFrame:
    return pl.DataFrame({
        "rule": [h.rule for h in health], "kind": [h.kind for h in health], "file": [h.file for h in health],
        "line": [h.line for h in health], "evaluation_failures": [h.failures for h in health],
        "last_error": [h.last_error for h in health],
        "last_error_at": pl.Series([h.last_error_at for h in health], dtype=pl.Int64).cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC"),
    }, schema=dict(HEALTH.required))


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


__all__ = ["HEALTH", "Episodes", "Health", "Replay", "episodes", "replay"]
