"""AWS CloudWatch metric alarms, replayed with CloudWatch's own semantics.

``load_rules()`` reads the JSON of ``aws cloudwatch describe-alarms`` (``{"MetricAlarms": [...]}``,
:mod:`alertsim.rules.cloudwatch_alarms`): every metric alarm becomes a :class:`CloudWatchAlarm`
(``kind="cloudwatch"``). A native ``threshold``
rule with any of the options ``period``, ``statistic``, ``evaluation_periods``,
``datapoints_to_alarm`` or ``treat_missing_data`` becomes one too (see :func:`from_threshold`).

How an alarm is evaluated (reference: cloud-alarms-and-incident-exports.md §1):

* **Cadence.** Every minute on the minute for ``Period >= 60``; every 10 seconds for 10/20/30-second
  periods, whatever the replay's ``eval_interval`` (the alarm runs on its own grid).
* **Datapoints.** At evaluation instant ``t`` the newest datapoint is the ``Statistic`` of the samples in
  ``[t − Period, t)`` (CloudWatch stamps a datapoint with the start of its period); the one before covers
  ``[t − 2·Period, t − Period)``, and so on: the period buckets slide with the evaluation minute (the
  default ``SlidingWindow``). With ``WallClockWindow`` they are aligned to multiples of the period
  since the epoch (UTC). A bucket without samples is a missing datapoint.
* **Evaluation range.** CloudWatch looks at more datapoints than ``EvaluationPeriods`` (N): the
  *evaluation range*, ``N + 2`` slots by default (the size AWS leaves undocumented; its only example,
  N = 3, has 5). The three-case procedure of the user guide, the "premature alarm" rule, and
  ``DatapointsToAlarm`` (M, default N) then decide the state; :func:`alarm_states` is that rule, vectorised,
  and it reproduces all 40 cells of AWS's two tables.
* **TreatMissingData** ``missing`` (default), ``ignore`` (keep the current state), ``breaching``,
  ``notBreaching``. ``EvaluateLowSampleCountPercentile: ignore`` keeps the state while a percentile
  alarm's newest period has fewer than ``10/(1−p)`` samples (``10/p`` below the median). Alarms on the
  ``AWS/DynamoDB`` namespace without a ``TreatMissingData`` ignore missing data.
* **Start of the data.** Datapoints before the first sample of the metrics are unknown history rather
  than missing data: an evaluation whose range reaches back before it, with fewer than N real datapoints,
  leaves the alarm in its initial state.
* **States → episodes.** A new alarm starts ``INSUFFICIENT_DATA``. Each span of ``ALARM`` evaluations is
  one alert episode (``active_at = fired_at`` = the first ``ALARM`` evaluation, ``resolved_at`` = the first
  evaluation in ``OK`` or ``INSUFFICIENT_DATA``); ``OK`` and ``INSUFFICIENT_DATA`` raise no alert, and
  ``INSUFFICIENT_DATA`` evaluations are the "no data" (``state`` null) evaluations.
* **Series.** An alarm reads exactly its dimension set (each combination of dimensions is its own
  metric): ``MetricName`` → ``metric``, each dimension → a label of the same name (dimension names
  are made label-safe: ``availability-zone`` → ``availability_zone``), every other label must be
  empty. ``Namespace`` is matched against a ``namespace`` label only when the metrics have one (the
  CloudWatch importers write it). An alarm whose metric has no data still has a state (its datapoints
  are all missing, so ``breaching`` alarms). A native threshold rule keeps Prometheus' subset matching:
  one alarm state per matching series.
* **Anomaly bands.** ``LessThanLowerOrGreaterThanUpperThreshold``, ``LessThanLowerThreshold`` and
  ``GreaterThanUpperThreshold`` with ``ThresholdMetricId`` naming ``ANOMALY_DETECTION_BAND(m1, w)``
  compare each datapoint with a band of width ``w`` sigmas from one of alertsim's anomaly rules (AWS's
  model is not published): by default a seasonal STL model (1-day season) refit daily on the trailing
  14 days, like CloudWatch's two weeks of training. Replays of band alarms are approximate.

Undocumented edge cases are explicit options (an ``"Alertsim"`` object on the alarm in JSON, or
``dataclasses.replace`` on the record):

``evaluation_range``
    slots in the evaluation range (default ``N + 2``).
``stale_breach``
    ``"count"`` (default): with fewer than N real datapoints, every real breaching datapoint in the
    range counts ("all real data points in the evaluation range are included"); ``"ignore"``: only
    those within the newest N slots.
``premature``
    what ``- - - - X`` with M = 3 does under ``missing``/``ignore`` (not yet old enough for the
    premature-alarm rule): ``"ok"`` (default, as the tables imply) or ``"retain"`` the current state
    ("does not go immediately into ALARM").
``ignore_partial``
    under ``ignore``, when real data is present but cannot decide alone (``0 - X - -`` with 2 of 3):
    ``"evaluate"`` (default, what AWS's table says: OK) or ``"retain"``.

>>> import numpy as np
>>> alarm_state("- - X - -", evaluation_periods=3, datapoints_to_alarm=3, treat_missing_data="missing")
'ALARM'
>>> alarm_state("0 - X - -", evaluation_periods=3, datapoints_to_alarm=2, treat_missing_data="breaching")
'ALARM'
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import polars as pl

from alertsim.durations import to_microseconds
from alertsim.errors import ConfigError
from alertsim.frames import label_name, series_name
from alertsim.rules._vendor import (
    RETAIN,
    cadence_grid,
    episode_notifications,
    extended,
    hold_or_set,
    series_set,
)
from alertsim.rules.base import Condition, RuleBase, Sent
from alertsim.rules.threshold import direction_signal
from alertsim.series import Grid, Prepared, Semantics
from alertsim.series.over_time import over_time
from alertsim.series.vectors import compare

log = logging.getLogger(__name__)

# Datapoint codes and alarm states (int8 arrays).
MISSING, GOOD, BAD = 0, 1, 2
INSUFFICIENT_DATA, OK, ALARM = 0, 1, 2
STATE_NAMES = {INSUFFICIENT_DATA: "INSUFFICIENT_DATA", OK: "OK", ALARM: "ALARM"}

TreatMissingData = Literal["missing", "ignore", "breaching", "notBreaching"]
TREATMENTS: tuple[str, ...] = ("missing", "ignore", "breaching", "notBreaching")

STATIC_OPERATORS: dict[str, str] = {
    "GreaterThanThreshold": ">", "GreaterThanOrEqualToThreshold": ">=",
    "LessThanThreshold": "<", "LessThanOrEqualToThreshold": "<=",
}
BAND_OPERATORS: tuple[str, ...] = (
    "LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold")
STATISTICS: dict[str, str] = {"Average": "avg", "Sum": "sum", "Minimum": "min", "Maximum": "max",
                              "SampleCount": "count"}
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d{1,10})?|100)$")
DATAPOINTS = "__datapoints__"
"""Metric name of the datapoint series a band rule is fitted on."""


@dataclass(frozen=True, kw_only=True)
class CloudWatchAlarm(RuleBase):
    """One CloudWatch metric alarm (see the module docstring for the semantics of each field)."""

    metric: str
    dimensions: Mapping[str, str] = field(default_factory=dict)
    namespace: str | None = None
    #: Exactly this dimension set (CloudWatch); ``False``: any series with these labels (native rules).
    exact_dimensions: bool = True
    #: ``Average``, ``Sum``, ``Minimum``, ``Maximum``, ``SampleCount`` or a percentile ``p99``, ``p99.9``.
    statistic: str = "Average"
    period: timedelta = timedelta(minutes=1)
    evaluation_periods: int = 1
    #: M of "M out of N"; ``None`` means N.
    datapoints_to_alarm: int | None = None
    comparison: str = "GreaterThanThreshold"
    threshold: float | None = None
    treat_missing_data: TreatMissingData = "missing"
    evaluate_low_sample_count_percentile: Literal["evaluate", "ignore"] = "evaluate"
    evaluation_window: Literal["sliding", "wall_clock"] = "sliding"
    evaluation_range: int | None = None
    stale_breach: Literal["count", "ignore"] = "count"
    premature: Literal["ok", "retain"] = "ok"
    ignore_partial: Literal["evaluate", "retain"] = "evaluate"
    #: For band operators: the anomaly rule whose band (``band_width`` sigmas) the datapoints must stay in.
    band: RuleBase | None = None
    band_width: float = 2.0
    #: Whether entering ALARM / returning to OK runs actions (``AlarmActions``/``OKActions``, enabled).
    alarm_actions: bool = True
    ok_actions: bool = False
    kind: str = field(init=False, default="cloudwatch")

    @property
    def m(self) -> int:
        return self.datapoints_to_alarm or self.evaluation_periods

    @property
    def slots(self) -> int:
        """Datapoints in the evaluation range."""
        return self.evaluation_range or self.evaluation_periods + 2

    @property
    def cadence_us(self) -> int:
        return 60_000_000 if self.period >= timedelta(minutes=1) else 10_000_000

    def grid_on(self, grid: Grid) -> Grid:
        """CloudWatch evaluates every minute (every 10 s for sub-minute periods), whatever the replay's
        interval."""
        return cadence_grid(grid, self.cadence_us)

    #: An alarm reads exactly one dimension set: one series at a time.
    partitionable = True

    def conditions(self, prepared: Prepared, grid: Grid, semantics: Semantics) -> list[Condition]:
        return evaluate(self, prepared, grid, semantics)

    def notifications(self, alert: Mapping[str, Any], end: datetime | None) -> list[Sent]:
        """Actions run on state changes only: entering ALARM (``AlarmActions``) and back to OK
        (``OKActions``)."""
        return episode_notifications(alert["fired_at"], alert["resolved_at"], end, fire=self.alarm_actions,
                                     close=self.ok_actions)

    def single_sample(self) -> str | None:
        if self.m == 1 and self.period <= timedelta(minutes=1):
            return "1 datapoint of 1 minute to alarm: one sample over the line pages someone"
        return None

    def signal(self) -> tuple[str, dict[str, str], str] | None:
        if self.comparison not in STATIC_OPERATORS:
            return None
        return direction_signal(self.metric, dict(self.dimensions), STATIC_OPERATORS[self.comparison])


# --------------------------------------------------------------------------------------------------
# The state rule, vectorised over (series, evaluations).

def _outcomes(slots: np.ndarray, n: int, m: int, treat_missing_data: str, stale_breach: str, premature: str,
              ignore_partial: str) -> np.ndarray:
    """The outcome (a state, or ``RETAIN``) of each evaluation range in ``slots`` (``(..., range)`` codes)."""
    n_slots = slots.shape[-1]
    real = slots != MISSING
    bad = slots == BAD
    n_real = real.sum(axis=-1)
    # The newest N real datapoints: count real ones from the newest slot backwards.
    newer_or_same = np.cumsum(real[..., ::-1], axis=-1)[..., ::-1]
    bad_newest = (bad & real & (newer_or_same <= n)).sum(axis=-1)
    full = np.where(bad_newest >= m, ALARM, OK)

    counted = bad if stale_breach == "count" else bad & (np.arange(n_slots) >= n_slots - n)
    bad_real = counted.sum(axis=-1)
    fill = n - n_real
    if treat_missing_data == "breaching":
        partial = np.where(bad_real + fill >= m, ALARM, OK)
        empty = np.full(n_real.shape, ALARM)
    elif treat_missing_data == "notBreaching":
        partial = np.where(bad_real >= m, ALARM, OK)
        empty = np.full(n_real.shape, OK)
    else:
        last_n = bad[..., n_slots - n:]
        any_good = (slots == GOOD).any(axis=-1)
        has_bad = last_n.any(axis=-1)
        oldest_age = n - np.argmax(last_n, axis=-1)          # age 1 = the newest slot
        candidate = ~any_good & has_bad
        fires = candidate & (oldest_age >= m)
        partial = np.where(bad_real >= m, ALARM, OK)
        if premature == "retain":
            partial = np.where(candidate & ~fires, RETAIN, partial)
        if treat_missing_data == "ignore" and ignore_partial == "retain":
            undecided = (bad_real < m) & (bad_real + fill >= m)
            partial = np.where(undecided & ~fires, RETAIN, partial)
        partial = np.where(fires, ALARM if treat_missing_data == "missing" else RETAIN, partial)
        empty = np.full(n_real.shape, INSUFFICIENT_DATA if treat_missing_data == "missing" else RETAIN)
    out = np.where(n_real == 0, empty, np.where(n_real >= n, full, partial)).astype(np.int8)
    return out


@functools.lru_cache(maxsize=64)
def _outcome_table(n_slots: int, n: int, m: int, treat_missing_data: str, stale_breach: str, premature: str,
                   ignore_partial: str) -> np.ndarray:
    """The outcome of every one of the ``3^range`` evaluation ranges, indexed by the range read as a base-3
    number (oldest slot most significant)."""
    combos = np.indices((3,) * n_slots, dtype=np.int8).reshape(n_slots, -1).T
    return _outcomes(combos, n, m, treat_missing_data, stale_breach, premature, ignore_partial)


_TABLE_SLOTS = 12
"""Ranges up to this many slots are decided by table lookup (3^12 = 531,441 entries at most)."""


def alarm_states(slots: np.ndarray, *, evaluation_periods: int, datapoints_to_alarm: int | None = None,
                 treat_missing_data: str = "missing", initial: int = INSUFFICIENT_DATA,
                 hold: np.ndarray | None = None, stale_breach: str = "count", premature: str = "ok",
                 ignore_partial: str = "evaluate") -> np.ndarray:
    """The alarm state after each evaluation, from the datapoints of its evaluation range.

    Parameters
    ----------
    slots : int array ``(series, evaluations, range)``: ``MISSING`` (0), ``GOOD`` (1) or ``BAD`` (2) for
        each slot of the evaluation range, oldest first.
    evaluation_periods, datapoints_to_alarm : N and M (default M = N).
    treat_missing_data : ``missing``, ``ignore``, ``breaching`` or ``notBreaching``.
    initial : the state before the first evaluation (``INSUFFICIENT_DATA``, as for a new alarm).
    hold : ``(series, evaluations)`` booleans: evaluations that keep the current state regardless.
    stale_breach, premature, ignore_partial : the undocumented edge cases (module docstring).

    Returns
    -------
    numpy.ndarray
        int8 ``(series, evaluations)``: ``INSUFFICIENT_DATA`` (0), ``OK`` (1) or ``ALARM`` (2).

    The rule, per evaluation (reference §1.5):

    1. no real datapoint in the range → by treatment: INSUFFICIENT_DATA / keep / ALARM / OK;
    2. at least N real datapoints → the newest N real ones decide: ALARM when M of them breach;
    3. fewer → ``breaching``/``notBreaching`` fill the missing N − real slots and count; ``missing`` and
       ``ignore`` apply the premature-alarm rule (no real non-breaching datapoint in the range, and the
       oldest breaching one of the newest N slots is at least M slots old: ALARM, or keep for ``ignore``),
       else ALARM when M real datapoints breach.
    """
    n_slots = slots.shape[-1]
    n = evaluation_periods
    m = datapoints_to_alarm or n
    if not 1 <= m <= n <= n_slots:
        raise ConfigError(f"need 1 <= DatapointsToAlarm ({m}) <= EvaluationPeriods ({n}) <= evaluation range "
                          f"({n_slots})", field="datapoints_to_alarm")
    if treat_missing_data not in TREATMENTS:
        raise ConfigError(f"TreatMissingData {treat_missing_data!r} is not one of {list(TREATMENTS)}",
                          field="treat_missing_data")
    if n_slots <= _TABLE_SLOTS:
        # Each range is a base-3 number: look its outcome up instead of evaluating the rule per range.
        code = slots[..., 0].astype(np.int32)
        for j in range(1, n_slots):
            code *= 3
            code += slots[..., j]
        table = _outcome_table(n_slots, n, m, treat_missing_data, stale_breach, premature, ignore_partial)
        out = table[code]
    else:
        out = _outcomes(slots, n, m, treat_missing_data, stale_breach, premature, ignore_partial)
    if hold is not None:
        out = np.where(hold, RETAIN, out).astype(np.int8)
    if out.ndim == 1:
        return hold_or_set(out[None, :], initial=initial)[0]
    return hold_or_set(out, initial=initial)


def alarm_state(datapoints: str, *, evaluation_periods: int, datapoints_to_alarm: int | None = None,
                treat_missing_data: str = "missing", current: str = "INSUFFICIENT_DATA", **options: Any) -> str:
    """The state one evaluation gives, in the notation of AWS's tables: ``datapoints`` is the evaluation
    range oldest first, ``0`` not breaching, ``X`` breaching, ``-`` missing (spaces ignored); ``current``
    is the state before it."""
    codes = {"0": GOOD, "X": BAD, "-": MISSING}
    try:
        row = [codes[c] for c in datapoints.replace(" ", "")]
    except KeyError as exc:
        raise ConfigError(f"datapoints use 0, X and - only, got {datapoints!r}", field="datapoints") from exc
    states = {v: k for k, v in STATE_NAMES.items()}
    out = alarm_states(np.array([[row]], dtype=np.int8), evaluation_periods=evaluation_periods,
                       datapoints_to_alarm=datapoints_to_alarm, treat_missing_data=treat_missing_data,
                       initial=states[current], **options)
    return STATE_NAMES[int(out[0, 0])]


# --------------------------------------------------------------------------------------------------
# Evaluation on the metrics.

def statistic_function(statistic: str) -> tuple[str, float | None]:
    """The ``*_over_time`` function (and quantile) of a CloudWatch statistic (``Average``, ``p99``, ...)."""
    if statistic in STATISTICS:
        return STATISTICS[statistic], None
    match = _PERCENTILE.match(statistic)
    if match:
        return "quantile", float(match.group(1)) / 100
    raise ConfigError(f"statistic {statistic!r} is not supported; use Average, Sum, Minimum, Maximum, "
                      "SampleCount or a percentile such as p99 (trimmed/winsorized statistics are not replayed)",
                      field="statistic")


def _matchers(alarm: CloudWatchAlarm, labels: tuple[str, ...]) -> dict[str, str]:
    matchers = {label_name(k): v for k, v in alarm.dimensions.items()}
    if alarm.namespace and "namespace" in labels:
        matchers["namespace"] = alarm.namespace
    if alarm.exact_dimensions:
        matchers.update({label: "" for label in labels if label not in matchers})
    return matchers


def _low_sample_minimum(q: float) -> float:
    return 10 / (1 - q) if q >= 0.5 else 10 / max(q, 1e-12)


def evaluate(alarm: CloudWatchAlarm, prepared: Prepared, grid: Grid, sem: Semantics) -> list[Condition]:
    """The alarm state of every matching series at every evaluation of ``grid`` (the alarm's own cadence,
    see :meth:`CloudWatchAlarm.grid_on`)."""
    sel = prepared.select(alarm.metric, _matchers(alarm, prepared.labels))
    if sel.table.height == 0:
        log.warning("CloudWatch alarm %r matches no series of %s%s: every datapoint is missing", alarm.name,
                    alarm.metric, dict(alarm.dimensions))
    fn, q = statistic_function(alarm.statistic)
    period = to_microseconds(alarm.period)
    shift = period // grid.step
    n_slots = alarm.slots
    # Evaluate from earlier on, so the first evaluations see the datapoints before the replay starts.
    wide, extra = extended(grid, n_slots * period)

    def compute() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        vec = over_time(sel.data, wide, fn, period - 1, q=q, offset=1)  # type: ignore[arg-type]  # [t − P, t)
        counts = over_time(sel.data, wide, "count", period - 1, offset=1).values
        return vec.values, vec.present, np.nan_to_num(counts)

    values, present, counts = sel.cached(("cloudwatch", wide, fn, q, period), compute)
    series, labels = sel.table["series"].to_list(), sel.label_dicts()
    if not series and alarm.exact_dimensions:
        # The alarm exists whether or not its metric has data: one series whose datapoints are all missing.
        labels = [{label_name(k): v for k, v in alarm.dimensions.items() if v}]
        series = [series_name(alarm.metric, labels[0])]
        values, counts = np.full((1, wide.size), np.nan), np.zeros((1, wide.size))
        present = np.zeros((1, wide.size), dtype=bool)
    if alarm.band is not None:
        breach = _band_breach(alarm, values, present, wide)
    else:
        breach = compare(values, STATIC_OPERATORS[alarm.comparison], float(alarm.threshold or 0.0)) & present
    codes = np.where(present, np.where(breach, BAD, GOOD), MISSING).astype(np.int8)

    k = np.arange(extra, wide.size)
    if alarm.evaluation_window == "wall_clock":
        instants = wide.instants[k]
        base = (instants // period * period - wide.t0) // wide.step
    else:
        base = k
    slots = np.full((codes.shape[0], grid.size, n_slots), MISSING, dtype=np.int8)
    for j in range(n_slots):                      # j = 0 is the newest datapoint
        index = base - j * shift
        ok = index >= 0
        slots[:, ok, n_slots - 1 - j] = codes[:, index[ok]]
    # Before the metrics begin, missing datapoints are unknown history, not missing data: an evaluation
    # whose range reaches back before the first sample and has fewer than N real datapoints keeps the
    # alarm INSUFFICIENT_DATA (it "has just started") instead of filling in breaching/not-breaching points.
    range_start = wide.t0 + base * wide.step - n_slots * period
    hold = (range_start < prepared.first_us)[None, :] & ((slots != MISSING).sum(axis=-1) < alarm.evaluation_periods)
    if q is not None and alarm.evaluate_low_sample_count_percentile == "ignore":
        newest = np.where(base >= 0, base, 0)
        hold |= counts[:, newest] < _low_sample_minimum(q)
    treat = alarm.treat_missing_data
    states = alarm_states(slots, evaluation_periods=alarm.evaluation_periods,
                          datapoints_to_alarm=alarm.datapoints_to_alarm, treat_missing_data=treat, hold=hold,
                          stale_breach=alarm.stale_breach, premature=alarm.premature,
                          ignore_partial=alarm.ignore_partial)
    newest_value = np.where(base >= 0, base, 0)
    value = np.where((base >= 0)[None, :], values[:, newest_value], np.nan)
    return [Condition(rule=alarm, series=series, labels=labels, enter=states == ALARM,
                      present=states != INSUFFICIENT_DATA, value=value, severity=alarm.severity)]


def _band_breach(alarm: CloudWatchAlarm, values: np.ndarray, present: np.ndarray, grid: Grid) -> np.ndarray:
    """Which datapoints fall outside the band of ``alarm.band`` (fitted on the datapoint series)."""
    assert alarm.band is not None
    data = series_set(values, present, grid.instants)
    names = [f"{DATAPOINTS}{{row=\"{i}\"}}" for i in range(len(values))]
    table = pl.DataFrame({"metric": [DATAPOINTS] * len(values), "row": [str(i) for i in range(len(values))],
                          "series": names}, schema={"metric": pl.String, "row": pl.String, "series": pl.String})
    synthetic = Prepared(data=data, table=table, labels=("row",))
    band = replace(alarm.band, metric=DATAPOINTS, matchers={}, threshold=alarm.band_width,  # type: ignore[call-arg]
                   direction="both")
    conds = band.conditions(synthetic, grid, Semantics())
    score = conds[0].score if conds and conds[0].score is not None else np.full(values.shape, np.nan)
    with np.errstate(invalid="ignore"):
        if alarm.comparison == "GreaterThanUpperThreshold":
            outside = score > alarm.band_width
        elif alarm.comparison == "LessThanLowerThreshold":
            outside = score < -alarm.band_width
        else:
            outside = np.abs(score) > alarm.band_width
    # Until the model has a band, a datapoint cannot breach it.
    return outside & present & ~np.isnan(score)


class AlarmContext:
    """Where a setting of an alarm comes from (file and alarm), for errors that name it."""

    def __init__(self, file: str | None, rule: str | None):
        self.file, self.rule = file, rule

    def error(self, message: str, field: str | None = None) -> ConfigError:
        return ConfigError(message, file=self.file, rule=self.rule, field=field)


def check_period(seconds: int, evaluation_periods: int, ctx: AlarmContext) -> None:
    """CloudWatch's limits: 10, 20, 30 or a multiple of 60 seconds; Period × N at most 7 days (1 day
    for periods under an hour)."""
    if seconds not in (10, 20, 30) and seconds % 60:
        raise ctx.error(f"Period must be 10, 20, 30 or a multiple of 60 seconds, got {seconds}", "Period")
    cap = 86_400 if seconds < 3600 else 604_800
    if seconds * evaluation_periods > cap:
        raise ctx.error(f"Period × EvaluationPeriods is {seconds * evaluation_periods} s; CloudWatch allows at "
                        f"most {cap} s for a {seconds} s period", "EvaluationPeriods")


# --------------------------------------------------------------------------------------------------
# Native YAML: a threshold rule with the CloudWatch option set.

CLOUDWATCH_OPTIONS: tuple[str, ...] = ("period", "statistic", "evaluation_periods", "datapoints_to_alarm",
                                       "treat_missing_data")
_NATIVE_OPS = {v: k for k, v in STATIC_OPERATORS.items()}


def from_threshold(fields: Mapping[str, Any], *, file: str | None = None) -> CloudWatchAlarm:
    """A native ``threshold`` rule (its parsed fields) with any of :data:`CLOUDWATCH_OPTIONS`, as a
    CloudWatch alarm over every series the rule matches (``exact_dimensions=False``).

    Defaults: ``period: 1m``, ``statistic: Average``, ``evaluation_periods: 1``, ``datapoints_to_alarm`` =
    ``evaluation_periods``, ``treat_missing_data: missing``. ``for``, ``keep_firing_for``, ``over`` and
    ``clear`` do not combine with them (M of N replaces ``for``).
    """
    name = fields.get("name")
    ctx = AlarmContext(file, fields.get("base_name") or name)
    for key, shown in (("for_", "for"), ("keep_firing_for", "keep_firing_for"), ("over", "over"),
                       ("clear", "clear")):
        if fields.get(key):
            raise ctx.error(f"{shown} does not combine with the CloudWatch options {list(CLOUDWATCH_OPTIONS)}; "
                            "use evaluation_periods and datapoints_to_alarm", shown)
    op = fields.get("op", ">")
    if op not in _NATIVE_OPS:
        raise ctx.error(f"CloudWatch alarms compare with >, >=, < or <=, not {op!r}", "op")
    statistic = fields.get("statistic", "Average")
    try:
        statistic_function(statistic)
    except ConfigError as exc:
        raise ctx.error(str(exc).split(": ", 1)[-1], "statistic") from None
    period = fields.get("period", timedelta(minutes=1))
    seconds = period.total_seconds()
    if seconds != int(seconds) or seconds < 1:
        raise ctx.error(f"period must be whole seconds, got {period}", "period")
    n = int(fields.get("evaluation_periods", 1))
    check_period(int(seconds), n, ctx)
    m = fields.get("datapoints_to_alarm")
    if m is not None and m > n:
        raise ctx.error(f"datapoints_to_alarm ({m}) cannot exceed evaluation_periods ({n})", "datapoints_to_alarm")
    keep = {k: fields[k] for k in ("name", "severity", "labels", "annotations", "base_name") if k in fields}
    return CloudWatchAlarm(**keep, metric=fields["metric"], dimensions=dict(fields.get("matchers", {})),
                           exact_dimensions=False, statistic=statistic, period=period, evaluation_periods=n,
                           datapoints_to_alarm=m, comparison=_NATIVE_OPS[op], threshold=float(fields["value"]),
                           treat_missing_data=fields.get("treat_missing_data", "missing"))


__all__ = ["ALARM", "BAD", "CLOUDWATCH_OPTIONS", "GOOD", "INSUFFICIENT_DATA", "MISSING", "OK", "AlarmContext",
           "CloudWatchAlarm", "alarm_state", "alarm_states", "check_period", "evaluate", "from_threshold",
           "statistic_function"]
