"""Anomaly rules on the evaluation grid: every kind computes a continuous, causal **score** per series
and evaluation instant, and fires where the score passes its ``threshold``.

Causality: the score at instant ``t`` uses only samples at or before ``t`` (baselines use instants
strictly before ``t``; fitted models are refit on a trailing window on a fixed schedule), so appending
future data never changes past scores or alerts.

Every kind shares these fields (besides :class:`~alertsim.rules.base.RuleBase`'s ``for``,
``keep_firing_for``, ``severity``, ...):

``threshold`` / ``direction``
    fire where the score is above ``threshold`` (``up``), below ``−threshold`` (``down``) or either.
``lookback``
    how old the newest sample may be and still give the series a value (default Prometheus' 5m; set
    it to the scrape interval or more for sparse series).
``cooldown``
    after a firing run of the condition ends, a new run starting within ``cooldown`` is suppressed
    (one incident, one page). On scores (:func:`anomaly_score`) the same duration suppresses every
    score that does not exceed the highest score of the previous ``cooldown`` — or, for ``cusum``,
    whose sums restart after every alarm, every score in the ``cooldown`` after an alarm.

Scores are first-class: :meth:`AnomalyBase.scores` returns the signed score (in the kind's units —
sigmas, band widths, a likelihood) with the baseline it was measured against, and
:func:`anomaly_score` maps any rule's score to NAB's ``[0, 1]`` with ``0.5`` at the rule's threshold,
so scores of different kinds can be combined (by their maximum) and thresholds optimised.

Features are computed once per (series, feature settings) and shared through ``Prepared.cached``: the
candidates of a grid that differ only in ``threshold``, ``direction``, ``for``, ``keep_firing_for`` or
``cooldown`` evaluate from the same arrays (a Holt-Winters grid refits its models once).

Kinds: ``zscore``, ``mad``, ``ewma``, ``range``, ``cusum``, ``seasonal``, ``seasonal_band``,
``holt_winters`` and ``likelihood`` (which wraps any other kind's score).
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Literal

import bottleneck as bn
import numpy as np

from alertsim.durations import format_duration, to_microseconds
from alertsim.rules.base import Condition, RuleBase
from alertsim.rules.model import Direction, Op, Over
from alertsim.rules.threshold import gauge_single_sample
from alertsim.series import Grid, Prepared, Selection, Semantics, SeriesSet, value
from alertsim.series.vectors import _each_block, _series_blocks, compare, compiled_pays, last_index

MAD_SCALE = 1.4826  # makes the MAD a consistent estimator of the standard deviation for normal data
MEAN_AD_SCALE = 1.2533  # the same for the mean absolute deviation (sqrt(pi/2))
#: Fewest samples a trailing window must hold before a kind scores (counted in samples, not instants,
#: so hourly series score as soon as 5-minute ones do).
MIN_SAMPLES = 10
#: Threads computing z-score features side by side.
_ZSCORE_WORKERS = max(1, min(2, os.cpu_count() or 1))
#: Cells of z-score work from which its compiled pass pays for loading numba (about 0.5 s per process):
#: the numpy pass costs about 40 ns more per cell. A one-off replay of 10 M cells stays with numpy
#: (a whole `alertsim replay` of 10 M realistic points: 1.35 s that way, 1.7 s with the load).
_ZSCORE_COMPILED_FROM = 12_000_000


# --------------------------------------------------------------------------------------------- scores

@dataclass(frozen=True, eq=False)
class Scores:
    """A rule's continuous score for every selected series (rows) at every grid instant (columns).

    ``score`` is signed, in the kind's units, NaN where the kind cannot score (``valid`` False);
    ``centre`` and ``spread`` are what ``value`` was measured against: the alert bound is
    ``centre ± threshold·spread``.
    """

    sel: Selection
    value: np.ndarray
    score: np.ndarray
    valid: np.ndarray
    centre: np.ndarray | None = None
    spread: np.ndarray | None = None

    def tail(self, skip: int) -> Scores:
        """These scores without their first ``skip`` instants (views, no copies)."""
        def cut(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[:, skip:]
        return Scores(sel=self.sel, value=self.value[:, skip:], score=self.score[:, skip:],
                      valid=self.valid[:, skip:], centre=cut(self.centre), spread=cut(self.spread))


def _history_steps(sel: Selection, grid: Grid, history: timedelta) -> int:
    """Whole steps to extend ``grid`` back for ``history``, no further than the selected data reaches."""
    if grid.size == 0 or not len(sel.data.times):
        return 0
    firsts = sel.data.times[sel.data.offsets[:-1][np.diff(sel.data.offsets) > 0]]
    reach = grid.t0 - int(firsts.min())
    if reach <= 0:
        return 0
    wanted = -(-to_microseconds(history) // grid.step)
    return int(min(wanted, -(-reach // grid.step)))


def _shifted(a: np.ndarray) -> np.ndarray:
    """``a`` one instant later along axis 1 (NaN at the first instant): the value "before t"."""
    out = np.empty_like(a, dtype=np.float64)
    out[:, :1] = np.nan
    out[:, 1:] = a[:, :-1]
    return out


def _ratio(dev: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """``dev / spread``, ``±inf`` where the spread is 0 and the deviation is not, 0 where both are."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(spread > 0, dev / spread, np.where(dev == 0, 0.0, np.sign(dev) * np.inf))


def sample_counts(sel: Selection, grid: Grid, width: int) -> np.ndarray:
    """Samples of each series with time in ``[t − width, t)`` at every instant (µs width).

    When ``width`` is whole steps, the window's start is an instant of the grid extended ``width``
    back, so one selection over that longer grid gives both ends of every window.
    """
    out = np.empty((sel.data.n, grid.size))
    _window_counts(sel.data, grid, width, out)
    return out


def enough_samples(sel: Selection, grid: Grid, width: int, need: int) -> np.ndarray:
    """``sample_counts(sel, grid, width) >= need``, without the counts' array."""
    out = np.empty((sel.data.n, grid.size), dtype=bool)
    _window_counts(sel.data, grid, width, out, need)
    return out


@dataclass(frozen=True, eq=False)
class SampleWindow:
    """At each instant ``t`` of ``grid``, at least ``need`` samples of ``data`` with time in
    ``[t − width, t)`` (``width`` in microseconds): what :func:`enough_samples` gives, asked of
    the z-score's rows together with their scores."""

    data: SeriesSet
    grid: Grid
    width: int
    need: int


#: Cells per block of rows in the window counts: a block's temporaries stay in cache.
_COUNT_BLOCK = 1 << 16


def _window_counts(data: SeriesSet, grid: Grid, width: int, out: np.ndarray, need: int | None = None) -> None:
    """Window sample counts into ``out`` (float64), or ``count >= need`` (bool): for each block of
    series (small enough to stay in cache, on two threads) the newest-sample indices at both ends of
    every window, then ``max(end, first − 1) − max(start, first − 1)``."""
    size = grid.size
    if out.size == 0:
        return
    lag, rest = divmod(width, grid.step)
    if rest == 0 and data.regular_on(grid):
        # One sample at every instant and none elsewhere: instant i's window holds min(i, lag) samples.
        counts = np.minimum(np.arange(size), lag)
        row = counts.astype(np.float64) if need is None else counts >= need
        out[...] = row[None, :]
        return

    def work(block: tuple[int, int]) -> None:
        part = data.take(np.arange(block[0], block[1]))     # consecutive series: views, no copies
        if rest == 0:
            ends = last_index(part, Grid(t0=grid.t0 - width, step=grid.step, size=size + lag), strict=True)
            before, start = ends[:, lag:], ends[:, :size]
        else:
            before = last_index(part, grid, strict=True)
            start = last_index(part, grid, shift=-width, strict=True)
        floor = part.offsets[:-1][:, None] - 1
        h = np.maximum(before, floor)
        h -= np.maximum(start, floor)
        if need is None:
            out[block[0]:block[1]] = h
        else:
            np.greater_equal(h, need, out=out[block[0]:block[1]])

    # Blocks of half last_index's own size, so that each is one block there (no threads inside threads).
    _each_block(work, _series_blocks(data.offsets, 2 * (size + lag) + 2))


def _fresh(sel: Selection, grid: Grid, present: np.ndarray) -> np.ndarray:
    """Instants at which a series shows a sample it did not show at the instant before."""
    idx = last_index(sel.data, grid)
    fresh = np.ones(idx.shape, dtype=bool)
    fresh[:, 1:] = idx[:, 1:] != idx[:, :-1]
    return fresh & present


def _window_sums(a: np.ndarray, width: int, *, inclusive: bool = False) -> np.ndarray:
    """Sum over the ``width`` instants before each instant (``inclusive``: ending at it), NaN as 0."""
    n, size = a.shape
    c = np.zeros((n, size + 1))
    np.cumsum(np.nan_to_num(a), axis=1, out=c[:, 1:])
    hi = np.arange(size) + (1 if inclusive else 0)
    lo = np.maximum(hi - width, 0)
    return c[:, hi] - c[:, lo]


def _strength(score: np.ndarray, threshold: float, direction: Direction) -> np.ndarray:
    """How far past the threshold the score is: the directional score over the threshold (1 = at it)."""
    with np.errstate(invalid="ignore"):
        if direction == "up":
            s = np.maximum(score, 0.0)
        elif direction == "down":
            s = np.maximum(-score, 0.0)
        else:
            s = np.abs(score)
    return s / threshold


def nab_scale(strength: np.ndarray) -> np.ndarray:
    """A strength (1 = at the rule's threshold) as a NAB anomaly score in ``[0, 1]``: ``s / (1 + s)``,
    0 where there is no score.

    >>> nab_scale(np.array([0.0, 1.0, 3.0, np.inf, np.nan])).tolist()
    [0.0, 0.5, 0.75, 1.0, 0.0]
    """
    with np.errstate(invalid="ignore"):
        out = np.where(np.isinf(strength), 1.0, strength / (1.0 + strength))
    return np.nan_to_num(out, nan=0.0)


def peak_cooldown(score: np.ndarray, width: int) -> np.ndarray:
    """Scores that do not exceed the highest score of the ``width`` instants before become 0.

    Whatever threshold a score is later compared with, a detection is then followed by ``width``
    instants of silence unless the score climbs above its previous peak.

    >>> peak_cooldown(np.array([[0.1, 0.6, 0.7, 0.6, 0.2, 0.1, 0.65]]), 3).tolist()
    [[0.1, 0.6, 0.7, 0.0, 0.0, 0.0, 0.65]]
    """
    if width <= 0 or score.shape[1] == 0:
        return score
    from scipy.ndimage import maximum_filter1d  # noqa: PLC0415 - scipy is heavy: loaded when a cooldown is used

    filled = np.nan_to_num(score, nan=-np.inf)
    # maximum over [i - width, i - 1]: a window of `width` ending one before i.
    prior = maximum_filter1d(filled, size=width, axis=1, origin=(width - 1) // 2, mode="constant",
                             cval=-np.inf)
    prior = np.concatenate([np.full((score.shape[0], 1), -np.inf), prior[:, :-1]], axis=1)
    return np.where(filled > prior, score, 0.0)


def alarm_cooldown(score: np.ndarray, width: int, level: float = 0.5) -> np.ndarray:
    """Every score in the ``width`` instants after an alarm (a score above ``level``) becomes 0; an alarm
    inside that silence is dropped and does not extend it.

    For a chart whose score restarts after each alarm (CUSUM), where a later score's size says nothing
    about whether the incident got worse: the score's counterpart of an alert rule's ``cooldown``.

    >>> alarm_cooldown(np.array([[0.2, 0.6, 0.1, 0.7, 0.3, 0.55, 0.4]]), 3).tolist()
    [[0.2, 0.6, 0.0, 0.0, 0.0, 0.55, 0.0]]
    """
    if width <= 0 or score.shape[1] == 0:
        return score
    out = score.copy()
    with np.errstate(invalid="ignore"):
        alarms = score > level
    for row in np.flatnonzero(alarms.any(axis=1)).tolist():
        until = -1
        for i in np.flatnonzero(alarms[row]).tolist():
            if i > until:
                out[row, i + 1:i + 1 + width] = 0.0
                until = i + width
    return out


def cooldown_enter(enter: np.ndarray, width: int) -> np.ndarray:
    """``enter`` without the runs that start within ``width`` instants after the previous kept run ended.

    >>> cooldown_enter(np.array([[1, 1, 0, 1, 0, 0, 0, 1]], dtype=bool), 3).astype(int).tolist()
    [[1, 1, 0, 0, 0, 0, 0, 1]]
    """
    if width <= 0 or not enter.any():
        return enter
    out = enter.copy()
    for row in range(enter.shape[0]):
        edges = np.diff(enter[row].astype(np.int8), prepend=0, append=0)
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        last_end: int | None = None
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            if last_end is not None and start - last_end < width:
                out[row, start:end] = False
            else:
                last_end = end
    return out


def _steps(duration: timedelta, grid: Grid) -> int:
    return max(0, to_microseconds(duration) // grid.step)


# ----------------------------------------------------------------------------------------- the kinds

@dataclass(frozen=True, kw_only=True)
class AnomalyBase(RuleBase):
    """Fields and evaluation shared by the anomaly kinds (see the module docstring)."""

    metric: str
    matchers: Mapping[str, str] = field(default_factory=dict)
    threshold: float = 3.0
    direction: Direction = "both"
    #: Newest-sample age that still counts as a value (default: the replay's, 5m in Prometheus).
    lookback: timedelta | None = None
    #: Suppress a new firing run starting within this long after the previous one ended.
    cooldown: timedelta = timedelta(0)

    partitionable = True

    def single_sample(self) -> str | None:
        return gauge_single_sample(self.metric, self.for_, None)

    # What a kind implements --------------------------------------------------------------------------

    def feature_key(self) -> tuple[Any, ...]:
        """The settings its features depend on (not threshold, direction, timing or cooldown)."""
        raise NotImplementedError

    def compute(self, sel: Selection, grid: Grid, sem: Semantics) -> Scores:
        raise NotImplementedError

    # Shared ------------------------------------------------------------------------------------------

    def semantics(self, sem: Semantics) -> Semantics:
        return sem if self.lookback is None else replace(sem, lookback=to_microseconds(self.lookback))

    def scores(self, prepared: Prepared, grid: Grid, sem: Semantics) -> Scores:
        """The score of every selected series at every instant, computed once per feature settings."""
        return self.scores_of(prepared.select(self.metric, self.matchers), grid, sem)

    def history(self) -> timedelta:
        """How far before an instant the kind's features reach (its trailing window by default)."""
        window = getattr(self, "window", None)
        return window if isinstance(window, timedelta) else timedelta(0)

    def scores_of(self, sel: Selection, grid: Grid, sem: Semantics) -> Scores:
        """:meth:`scores` of the series in ``sel``.

        The features are computed on the grid extended back by :meth:`history` (as far as the data
        goes), so a replay that starts inside the data scores its first instants from the samples
        before them, as PromQL's ``*_over_time`` would, instead of from a window cut at the start.
        """
        sem = self.semantics(sem)
        back = _history_steps(sel, grid, self.history())
        full = Grid(t0=grid.t0 - back * grid.step, step=grid.step, size=grid.size + back) if back else grid
        key = (type(self).__name__, self.feature_key(), full, sem)
        scores: Scores = sel.cached(key, lambda: self.compute(sel, full, sem))
        return scores.tail(back) if back else scores

    def strength(self, scores: Scores) -> np.ndarray:
        """The score over the threshold in the rule's direction (1 = at the threshold)."""
        return _strength(scores.score, self.threshold, self.direction)

    def decide(self, score: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            if self.direction == "up":
                return score > self.threshold
            if self.direction == "down":
                return score < -self.threshold
            return _beyond(score, self.threshold)

    def conditions(self, prepared: Prepared, grid: Grid, semantics: Semantics) -> list[Condition]:
        s = self.scores(prepared, grid, semantics)
        enter = self.decide(s.score) & s.valid
        enter = cooldown_enter(enter, _steps(self.cooldown, grid))
        bound: Any = None
        if s.centre is not None and s.spread is not None:
            bound = functools.partial(_bound, self.threshold, self.direction, s.centre, s.spread, s.score)
        return [Condition(rule=self, series=s.sel.table["series"].to_list(), labels=s.sel.label_dicts(),
                          enter=enter, present=s.valid, value=s.value, severity=self.severity,
                          score=s.score, bound=bound)]


def _beyond(score: np.ndarray, threshold: float) -> np.ndarray:
    """``|score| > threshold``, a block of rows at a time (no full-size ``|score|`` array)."""
    if score.ndim != 2 or score.size == 0:
        return np.abs(score) > threshold
    out = np.empty(score.shape, dtype=bool)
    rows = max(1, _COUNT_BLOCK // score.shape[1])
    buf = np.empty((min(rows, score.shape[0]), score.shape[1]))
    for r0 in range(0, score.shape[0], rows):
        r1 = min(r0 + rows, score.shape[0])
        np.abs(score[r0:r1], out=buf[:r1 - r0])
        np.greater(buf[:r1 - r0], threshold, out=out[r0:r1])
    return out


def _bound(threshold: float, direction: Direction, centre: np.ndarray, spread: np.ndarray,
           score: np.ndarray) -> np.ndarray:
    """``centre + sign · threshold · spread``, computed in one output array."""
    if direction == "both":
        out = np.where(score < 0, -1.0, 1.0) * threshold
        out *= spread
    else:
        out = spread * ((-1.0 if direction == "down" else 1.0) * threshold)
    out += centre
    return out


def _grid_values(sel: Selection, grid: Grid, sem: Semantics) -> tuple[np.ndarray, np.ndarray]:
    vec = value(sel, grid, None, sem)
    return np.asarray(vec.values, dtype=np.float64), np.asarray(np.broadcast_to(vec.present, vec.values.shape))


def _need(rule_min: int | None) -> int:
    return MIN_SAMPLES if rule_min is None else rule_min


@dataclass(frozen=True, kw_only=True)
class ZScoreRule(AnomalyBase):
    """``score = (x − mean) / std`` of the trailing ``window`` (instants before ``t``).

    Scores once the window holds ``min_samples`` samples (default 10, counted in samples whatever the
    scrape interval). Example: mean 100, std 5 over the last hour, x = 120 → score 4.0; with
    ``threshold: 3`` it fires, and the bound it crossed is 100 + 3·5 = 115.
    """

    window: timedelta = timedelta(hours=1)
    #: Fewest samples in the window for a score (default 10).
    min_samples: int | None = None
    kind: str = field(init=False, default="zscore")

    def feature_key(self) -> tuple[Any, ...]:
        return (self.window, self.min_samples)

    def compute(self, sel: Selection, grid: Grid, sem: Semantics) -> Scores:
        x, present = _grid_values(sel, grid, sem)
        width = max(1, to_microseconds(self.window) // grid.step)
        samples = SampleWindow(data=sel.data, grid=grid, width=to_microseconds(self.window),
                               need=_need(self.min_samples))
        score, valid, centre, std = _zscore_features(x, present, width, 2, samples)
        return Scores(sel=sel, value=x, score=score, valid=valid, centre=centre, spread=std)


def _zscore_features(x: np.ndarray, present: np.ndarray, width: int, need: int,
                     samples: SampleWindow | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Score, validity, baseline mean and std of the trailing-window z-score, one row at a time.

    Per row: centre the row on its mean; prefix sums give the count, sum and sum of squares of the
    ``width`` instants before each instant; ``mean = s1/count``, sample ``std`` from ``s2``;
    ``score = (x − centre − mean) / std`` (±inf when std is 0 and x is off the mean), NaN where
    fewer than ``need`` instants, no value or (``samples`` given) too few samples in the window.

    Rows without a gap — NaN, if at all, only before a series' first value — go through one compiled
    pass each (:func:`alertsim.rules._kernels.zscore_rows`, which also counts the window's samples)
    once the work pays for loading the compiler; rows with gaps, and small inputs, through
    :func:`_zscore_numpy_rows`. Both do the same arithmetic in the same order: the same numbers.
    """
    n, size = x.shape
    score = np.empty((n, size))
    valid = np.empty((n, size), dtype=bool)
    centre_out = np.empty((n, size))
    std_out = np.empty((n, size))
    if x.size == 0:
        return score, valid, centre_out, std_out
    x = np.ascontiguousarray(x, dtype=np.float64)
    centres, leads, gappy = _zscore_rows(x)
    if not compiled_pays("alertsim.rules._kernels", x.size, from_cells=_ZSCORE_COMPILED_FROM):
        gappy = list(range(n))                          # small: numpy, without loading the compiler
    if gappy:
        rows = np.asarray(gappy, dtype=np.int64)
        enough = None
        if samples is not None:
            enough = np.empty((len(rows), size), dtype=bool)
            subset = samples.data if len(gappy) == n else samples.data.take(rows)
            _window_counts(subset, samples.grid, samples.width, enough, samples.need)
        _zscore_numpy_rows(x, rows, centres, np.broadcast_to(present, x.shape), width, need, enough,
                           score, valid, centre_out, std_out)
        if len(gappy) == n:
            return score, valid, centre_out, std_out
    from alertsim.rules._kernels import zscore_rows  # noqa: PLC0415  (numba: about 0.5 s to load, once)

    if present.strides == (0, 0) and present[0, 0]:     # a broadcast "present everywhere": no mask
        mask = np.zeros((0, 0), dtype=bool)
    else:
        mask = np.ascontiguousarray(np.broadcast_to(present, x.shape))
    if samples is None:
        times, offsets, t0, step, window_us, need_samples = (
            np.zeros(0, dtype=np.int64), np.zeros(n + 1, dtype=np.int64), 0, 0, 0, 0)
    else:
        data, grid = samples.data, samples.grid
        times, offsets = data.times, data.offsets
        t0, step, window_us, need_samples = grid.t0, grid.step, samples.width, samples.need
    clean = np.setdiff1d(np.arange(n, dtype=np.int64), np.asarray(gappy, dtype=np.int64), assume_unique=True)

    def work(rows: np.ndarray) -> None:
        zscore_rows(x, rows, centres, leads, width, need, times, offsets, t0, step, window_us, need_samples,
                    mask, score, valid, centre_out, std_out)

    # The kernel releases the GIL: blocks of rows side by side on two threads.
    blocks = np.array_split(clean, min(len(clean), 8 * _ZSCORE_WORKERS))
    if _ZSCORE_WORKERS > 1 and len(blocks) > 1 and x.size >= 1 << 18:
        with ThreadPoolExecutor(_ZSCORE_WORKERS) as pool:
            for _ in pool.map(work, blocks):
                pass
    else:
        for block in blocks:
            work(block)
    return score, valid, centre_out, std_out


def _zscore_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Each row's centre (its mean without NaN; 0 for a row of NaN), how many NaN lead it, and the
    rows with a gap (a NaN after their first value)."""
    n, size = x.shape
    with np.errstate(all="ignore"):
        centres = x.sum(axis=1) / size                  # what nanmean gives a row without NaN
    leads = np.zeros(n, dtype=np.int64)
    gappy: list[int] = []
    for r in np.flatnonzero(~np.isfinite(centres)).tolist():
        missing = np.isnan(x[r])
        if not missing.any():
            continue                                    # ±inf and no NaN: no gap, centred on its mean
        with np.errstate(all="ignore"):
            centres[r] = np.nan_to_num(np.nanmean(x[r])) if not missing.all() else 0.0
        lead = int(np.argmax(~missing))
        if lead and not missing[lead:].any():
            leads[r] = lead     # a series that starts after the grid does (or a grid extended back)
        else:
            gappy.append(r)
    return centres, leads, gappy


def _trailing_sums(a: np.ndarray, width: int, start: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Sum of the ``width`` values before each index of ``a`` into ``out``: prefix sums (into ``start``,
    one longer than ``a``, starting at 0) and their differences."""
    size = len(a)
    np.cumsum(a, out=start[1:])
    head = min(width, size)
    np.subtract(start[:head], start[0], out=out[:head])
    if size > width:
        np.subtract(start[width:size], start[:size - width], out=out[width:])
    return out


def _zscore_numpy_rows(x: np.ndarray, rows: np.ndarray, centres: np.ndarray, present: np.ndarray, width: int,
                       need: int, enough: np.ndarray | None, score: np.ndarray, valid: np.ndarray,
                       centre_out: np.ndarray, std_out: np.ndarray) -> None:
    """:func:`_zscore_features` of ``rows`` (``enough``: a row per row of ``rows``) with numpy, any
    row: counts of the instants with a value from prefix sums too."""
    size = x.shape[1]
    # y + i·y²: one complex cumsum gives both prefix sums (complex addition adds each part, exactly).
    pair = np.empty(size, dtype=np.complex128)
    prefix = np.zeros(size + 1, dtype=np.complex128)
    sums = np.empty(size, dtype=np.complex128)
    s1, s2 = sums.real, sums.imag
    tmp, mean = np.empty(size), np.empty(size)
    # A row with a finite sum has a value at every instant: its counts are min(i, width), exactly.
    full_count = np.minimum(np.arange(size), width).astype(np.float64)
    full_denominator = np.maximum(full_count - 1, 1)

    for i, r in enumerate(rows.tolist()):
        row = x[r]
        centre = centres[r]
        ok = None if np.isfinite(np.sum(row)) else ~np.isnan(row)
        with np.errstate(all="ignore"):                 # ±inf and overflow give what IEEE gives
            if ok is None:
                np.subtract(row, centre, out=pair.real)
                count, denominator = full_count, full_denominator
            else:
                np.copyto(pair.real, np.where(ok, row - centre, 0.0))
                count = _trailing_sums(ok.astype(np.float64), width, np.zeros(size + 1), np.empty(size))
                denominator = np.maximum(count - 1, 1)
            np.multiply(pair.real, pair.real, out=pair.imag)
            _trailing_sums(pair, width, prefix, sums)
            np.divide(s1, count, out=mean)
            np.divide(s2, count, out=tmp)
            np.multiply(mean, mean, out=s2)
            np.subtract(tmp, s2, out=tmp)
            np.maximum(tmp, 0.0, out=tmp)
            np.multiply(tmp, count, out=tmp)
            np.divide(tmp, denominator, out=tmp)
            std = std_out[r]
            np.sqrt(tmp, out=std)
            dev = (row - centre) - mean
            out = score[r]
            np.divide(dev, std, out=out)
            flat = ~(std > 0)
            if flat.any():                              # a flat window: 0 on the mean, ±inf off it
                out[flat] = np.where(dev[flat] == 0, 0.0, np.sign(dev[flat]) * np.inf)
        ok_row = valid[r]
        np.greater_equal(count, need, out=ok_row)
        if ok is not None:
            ok_row &= ok
        ok_row &= present[r]
        if enough is not None:
            ok_row &= enough[i]
        out[~ok_row] = np.nan
        with np.errstate(all="ignore"):
            np.add(mean, centre, out=centre_out[r])


@dataclass(frozen=True, kw_only=True)
class MadRule(AnomalyBase):
    """``score = (x − median) / (1.4826 · MAD)`` of the trailing ``window`` (instants before ``t``).

    The median is a sliding median (bottleneck's ``move_median``, O(log w) per instant); the MAD is
    the sliding median of each instant's absolute deviation from the median before it — for a
    steady series the same as the window's MAD, and robust to the outliers it is looking for. Where
    the MAD is 0 (more than half the window at the median, as with counts and percentages) the spread
    is 1.2533 × the mean absolute deviation instead (the modified z-score's rule), so a window that is
    not entirely flat gives a finite score. Example: median 100, MAD 2 (so spread 2.97), x = 115 →
    score 5.06.
    """

    window: timedelta = timedelta(hours=1)
    min_samples: int | None = None
    kind: str = field(init=False, default="mad")

    def feature_key(self) -> tuple[Any, ...]:
        return (self.window, self.min_samples)

    def history(self) -> timedelta:
        return 2 * self.window          # the MAD's window of deviations from the medians' window

    def compute(self, sel: Selection, grid: Grid, sem: Semantics) -> Scores:
        x, present = _grid_values(sel, grid, sem)
        width = max(1, to_microseconds(self.window) // grid.step)
        if x.shape[1]:
            median = _shifted(bn.move_median(x, window=min(width, x.shape[1]), min_count=1, axis=1))
            deviation = np.abs(x - median)
            window = min(width, x.shape[1])
            spread = MAD_SCALE * _shifted(bn.move_median(deviation, window=window, min_count=1, axis=1))
            # More than half the window at the median (counts, percentages): the MAD is 0, and the
            # modified z-score's fallback, 1.2533 × the mean absolute deviation, keeps the score finite.
            fallback = MEAN_AD_SCALE * _shifted(bn.move_mean(deviation, window=window, min_count=1, axis=1))
            spread = np.where(spread > 0, spread, fallback)
        else:
            median = spread = np.zeros_like(x)
        score = _ratio(x - median, spread)
        valid = present & ~np.isnan(x) & ~np.isnan(median) & ~np.isnan(spread)
        valid &= sample_counts(sel, grid, to_microseconds(self.window)) >= _need(self.min_samples)
        score = np.where(valid, score, np.nan)
        return Scores(sel=sel, value=x, score=score, valid=valid, centre=median, spread=spread)


def _ewm(x: np.ndarray, decay: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exponentially weighted mean, unbiased std and weight of each row up to and including each
    instant; an instant without a value adds nothing but the older weights keep decaying."""
    from scipy.signal import lfilter  # noqa: PLC0415 - scipy is heavy: loaded when an EWMA is evaluated

    ok = ~np.isnan(x)
    first = np.where(ok.any(axis=1), x[np.arange(x.shape[0]), np.argmax(ok, axis=1)], 0.0)[:, None]
    y = np.where(ok, x - first, 0.0)          # centred on the first value: causal and well conditioned
    w = ok.astype(np.float64)
    a = [1.0, -decay]
    weight = lfilter([1.0], a, w, axis=1)
    weight2 = lfilter([1.0], [1.0, -decay * decay], w, axis=1)
    s1 = lfilter([1.0], a, y, axis=1)
    s2 = lfilter([1.0], a, y * y, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / weight
        var = np.maximum(s2 / weight - mean * mean, 0.0)
        correction = 1.0 - weight2 / (weight * weight)
        std = np.sqrt(np.where(correction > 0, var / correction, np.nan))
    mean = np.where(weight > 0, mean + first, np.nan)
    return mean, std, weight


@dataclass(frozen=True, kw_only=True)
class EwmaRule(AnomalyBase):
    """EWMA control chart: ``score = (x − ewma) / ewm_std``, both taken at the instant before ``t``.

    The weights decay in time: a sample ``halflife`` old weighs half as much as one just taken,
    whatever the scrape interval. Scores once the series has been seen for ``warmup`` and holds
    ``min_samples`` samples (default 10). Example: ewma 50, ewm std 4, x = 66 → score 4.0.
    """

    halflife: timedelta = timedelta(minutes=30)
    #: How long after its first sample before the chart may alert.
    warmup: timedelta = timedelta(hours=1)
    min_samples: int | None = None
    kind: str = field(init=False, default="ewma")

    def feature_key(self) -> tuple[Any, ...]:
        return (self.halflife, self.warmup, self.min_samples)

    def history(self) -> timedelta:
        return self.warmup + 8 * self.halflife      # weights older than 8 half-lives are below 0.4 %

    def compute(self, sel: Selection, grid: Grid, sem: Semantics) -> Scores:
        x, present = _grid_values(sel, grid, sem)
        decay = 0.5 ** (grid.step / max(to_microseconds(self.halflife), 1))
        mean, std, _ = _ewm(x, decay)
        mean, std = _shifted(mean), _shifted(std)
        score = _ratio(x - mean, std)
        first = sel.data.times[np.minimum(sel.data.offsets[:-1], max(len(sel.data.times) - 1, 0))] \
            if len(sel.data.times) else np.zeros(sel.data.n, dtype=np.int64)
        empty = np.diff(sel.data.offsets) == 0
        seen_for = grid.instants[None, :] - first[:, None]
        warm = (seen_for >= to_microseconds(self.warmup)) & ~empty[:, None]
        since_first = sample_counts(sel, grid, max(int(seen_for.max(initial=0)) + grid.step, 1))
        valid = present & warm & ~np.isnan(x) & ~np.isnan(mean) & ~np.isnan(std)
        valid &= since_first >= _need(self.min_samples)
        score = np.where(valid, score, np.nan)
        return Scores(sel=sel, value=x, score=score, valid=valid, centre=mean, spread=std)


@dataclass(frozen=True, kw_only=True)
class RangeRule(AnomalyBase):
    """Outside the range the series held over the trailing ``window``: ``score = (x − max) / (max − min)``
    above it, ``−(min − x) / (max − min)`` below it, 0 inside.

    Reads as "a new high (or low) for the last ``window``, by this fraction of the usual range".
    Example: over the last 30 days the series stayed within 20..60; x = 72 → score 0.3, which fires
    with ``threshold: 0.1``.
    """

    window: timedelta = timedelta(days=30)
    min_samples: int | None = None
    threshold: float = 0.1
    kind: str = field(init=False, default="range")

    def findings(self) -> list[tuple[str, str]]:
        if self.for_ <= timedelta(0):
            return []
        return [("range-with-for", (
            f"for: {format_duration(self.for_)} on a range rule: the instant after a new high or low, the "
            "trailing window holds it, so the score falls back unless the series keeps climbing — such a "
            "rule almost never stays out of range long enough to fire; drop `for` (use `cooldown` against "
            "repeats) or use a zscore/cusum rule"))]

    def feature_key(self) -> tuple[Any, ...]:
        return (self.window, self.min_samples)

    def compute(self, sel: Selection, grid: Grid, sem: Semantics) -> Scores:
        x, present = _grid_values(sel, grid, sem)
        width = max(1, to_microseconds(self.window) // grid.step)
        if x.shape[1]:
            high = _shifted(bn.move_max(x, window=min(width, x.shape[1]), min_count=1, axis=1))
            low = _shifted(bn.move_min(x, window=min(width, x.shape[1]), min_count=1, axis=1))
        else:
            high = low = np.zeros_like(x)
        span = high - low
        with np.errstate(invalid="ignore"):
            dev = np.where(x > high, x - high, np.where(x < low, x - low, 0.0))
        score = _ratio(dev, span)
        valid = present & ~np.isnan(x) & ~np.isnan(high)
        valid &= sample_counts(sel, grid, to_microseconds(self.window)) >= _need(self.min_samples)
        score = np.where(valid, score, np.nan)
        centre = np.where(score < 0, low, high)
        return Scores(sel=sel, value=x, score=score, valid=valid, centre=centre, spread=span)


def _page_cusum(steps: np.ndarray, reset: float) -> np.ndarray:
    """Page's one-sided CUSUM ``S = max(0, S + step)`` of each row, restarting from 0 after every instant at
    which ``S > reset``. Between restarts it is ``C − min(0, running min of C)`` for the cumulative sum
    ``C``, so the loop is over alarms, not samples.

    >>> _page_cusum(np.array([[1.0, 2.0, -5.0, 3.0, 3.0, 1.0]]), 4.5).tolist()
    [[1.0, 3.0, 0.0, 3.0, 6.0, 1.0]]
    """
    out = np.zeros_like(steps)
    for row in range(steps.shape[0]):
        pos = 0
        size = steps.shape[1]
        while pos < size:
            c = np.cumsum(steps[row, pos:])
            s = c - np.minimum(np.minimum.accumulate(c), 0.0)
            over = np.flatnonzero(s > reset)
            end = size if over.size == 0 else pos + int(over[0]) + 1
            out[row, pos:end] = s[:end - pos]
            pos = end
    return out


@dataclass(frozen=True, kw_only=True)
class CusumRule(AnomalyBase):
    """Two-sided CUSUM change-point chart on the z-score against the trailing ``window``.

    Each new sample adds ``z − drift`` to the upper sum and ``−z − drift`` to the lower one, neither sum
    goes below 0, and a sum restarts from 0 once it has passed ``threshold`` (Page's CUSUM:
    ``S⁺ = max(0, S⁺ + z − k)``, ``S⁻ = max(0, S⁻ − z − k)``). ``z`` is clipped to ``±clip`` so that one
    wild sample (or a flat window, whose std is 0) adds at most ``clip − k``: it takes a run of
    shifted samples to fire. The score is ``S⁺`` when it is the larger, else ``−S⁻``: how many sigmas
    of evidence for a level shift up or down have piled up.

    Example (``drift: 0.5``, ``threshold: 5``): after a shift, samples at z = 2, 2.5, 3 give
    S⁺ = 1.5, 3.5, 6.0 — a level shift of 2-3σ fires on the third sample, where a z-score rule at 5σ
    would never fire; the sum then restarts from 0. Against a long ``window`` a lasting shift keeps
    alarming as the sums pile up again; a ``cooldown`` keeps the first alarm and silences the scores
    after it (:func:`alarm_cooldown`), since a restarted sum says nothing of whether the shift grew.
    """

    window: timedelta = timedelta(days=1)
    #: Slack ``k`` in sigmas subtracted from every sample: shifts smaller than about ``2k`` never pile up.
    drift: float = 0.5
    #: Largest ``|z|`` one sample contributes.
    clip: float = 4.0
    min_samples: int | None = None
    threshold: float = 5.0
    kind: str = field(init=False, default="cusum")

    def feature_key(self) -> tuple[Any, ...]:
        return (self.window, self.drift, self.clip, self.min_samples, self.threshold)

    def compute(self, sel: Selection, grid: Grid, sem: Semantics) -> Scores:
        x, present = _grid_values(sel, grid, sem)
        width = max(1, to_microseconds(self.window) // grid.step)
        samples = SampleWindow(data=sel.data, grid=grid, width=to_microseconds(self.window),
                               need=_need(self.min_samples))
        z, valid, centre, _ = _zscore_features(x, present, width, 2, samples)
        counted = valid & _fresh(sel, grid, present)
        z = np.clip(np.nan_to_num(z), -self.clip, self.clip)
        s_up = _page_cusum(np.where(counted, z - self.drift, 0.0), self.threshold)
        s_down = _page_cusum(np.where(counted, -z - self.drift, 0.0), self.threshold)
        score = np.where(s_up >= s_down, s_up, -s_down)
        valid &= present
        score = np.where(valid, score, np.nan)
        return Scores(sel=sel, value=x, score=score, valid=valid, centre=centre, spread=None)


@dataclass(frozen=True, kw_only=True)
class SeasonalBandRule(AnomalyBase):
    """Against the same phase of past seasons: ``score = (x − median) / (1.4826 · MAD)`` of the values at
    ``t − period, t − 2·period, …, t − seasons·period``, each the average over ``smooth`` around that
    instant (``avg_over_time``, ending at it).

    Example (``period: 1w``, ``seasons: 4``): Monday 09:00 over the last four Mondays was 200, 210, 190,
    205 req/s — median 202.5, MAD 5 (spread 7.41); x = 150 → score −7.08, which fires ``direction: down``
    at ``threshold: 4``. The band it left is 202.5 ± threshold · 7.41.
    """

    period: timedelta = timedelta(days=7)
    seasons: int = 4
    smooth: timedelta = timedelta(minutes=10)
    #: Floor of the spread as a fraction of the median's magnitude (seasons that agree exactly).
    floor: float = 0.01
    threshold: float = 4.0
    kind: str = field(init=False, default="seasonal_band")

    def feature_key(self) -> tuple[Any, ...]:
        return (self.period, self.seasons, self.smooth, self.floor)

    def history(self) -> timedelta:
        return self.seasons * self.period + self.smooth

    def compute(self, sel: Selection, grid: Grid, sem: Semantics) -> Scores:
        x, present = _grid_values(sel, grid, sem)
        over = Over(fn="avg", window=self.smooth)
        period = to_microseconds(self.period)
        past = np.stack([np.asarray(value(sel, grid, over, sem, offset=k * period).values, dtype=np.float64)
                         for k in range(1, self.seasons + 1)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(past, axis=0)
            mad = MAD_SCALE * np.nanmedian(np.abs(past - median[None]), axis=0)
        count = np.sum(~np.isnan(past), axis=0)
        spread = np.maximum(mad, self.floor * np.abs(median))
        score = _ratio(x - median, spread)
        valid = present & ~np.isnan(x) & (count >= max(2, (self.seasons + 1) // 2))
        score = np.where(valid, score, np.nan)
        return Scores(sel=sel, value=x, score=score, valid=valid, centre=median, spread=spread)


@dataclass(frozen=True, kw_only=True)
class SeasonalRule(RuleBase):
    """``x`` against ``x offset period`` (PromQL ``offset``): ratio ``x / x_ago`` or difference
    ``x − x_ago``, compared with ``op value``; ``two_sided`` fires on a ratio outside
    ``[1/value, value]`` or a difference outside ``[−value, value]``.

    Example: 300 req/s now, 120 a week ago: ratio 2.5, which fires ``op: ">"``, ``value: 2`` and
    ``two_sided`` with ``value: 2``; 50 now (ratio 0.42 < 1/2) fires only the two-sided rule.
    """

    metric: str
    matchers: Mapping[str, str] = field(default_factory=dict)
    period: timedelta = timedelta(days=1)
    mode: Literal["ratio", "difference"] = "ratio"
    op: Op = ">"
    value: float
    over: Over | None = None
    two_sided: bool = False
    lookback: timedelta | None = None
    cooldown: timedelta = timedelta(0)
    kind: str = field(init=False, default="seasonal")

    partitionable = True

    def single_sample(self) -> str | None:
        return gauge_single_sample(self.metric, self.for_, self.over)

    def semantics(self, sem: Semantics) -> Semantics:
        return sem if self.lookback is None else replace(sem, lookback=to_microseconds(self.lookback))

    def scores(self, prepared: Prepared, grid: Grid, sem: Semantics) -> Scores:
        return self.scores_of(prepared.select(self.metric, self.matchers), grid, sem)

    def history(self) -> timedelta:
        """Nothing on the grid before ``t``: both values are read from the samples at ``t`` and ``t − period``."""
        return timedelta(0)

    def scores_of(self, sel: Selection, grid: Grid, sem: Semantics) -> Scores:
        sem = self.semantics(sem)

        def compute() -> Scores:
            now = value(sel, grid, self.over, sem)
            ago = value(sel, grid, self.over, sem, offset=to_microseconds(self.period))
            with np.errstate(invalid="ignore", divide="ignore"):
                score = now.values / ago.values if self.mode == "ratio" else now.values - ago.values
            present = np.asarray(now.present & ago.present)
            return Scores(sel=sel, value=np.asarray(now.values), score=np.where(present, score, np.nan),
                          valid=present, centre=np.asarray(ago.values))

        key = ("SeasonalRule", self.period, self.mode, self.over, grid, sem)
        return sel.cached(key, compute)  # type: ignore[no-any-return]

    def decide(self, score: np.ndarray) -> np.ndarray:
        if not self.two_sided:
            return compare(score, self.op, self.value)
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.mode == "ratio":
                return (score > self.value) | (score < 1.0 / self.value)
            return np.abs(score) > self.value

    def strength(self, scores: Scores) -> np.ndarray:
        score = scores.score
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.two_sided:
                if self.mode == "ratio":
                    return np.maximum(score, 1.0 / score) / self.value
                return np.abs(score) / self.value
            scale = abs(self.value) or 1.0
            if self.op in (">", ">="):
                return np.maximum(1.0 + (score - self.value) / scale, 0.0)
            if self.op in ("<", "<="):
                return np.maximum(1.0 + (self.value - score) / scale, 0.0)
            return np.where(compare(score, self.op, self.value), 2.0, 0.0)

    def conditions(self, prepared: Prepared, grid: Grid, semantics: Semantics) -> list[Condition]:
        s = self.scores(prepared, grid, semantics)
        enter = cooldown_enter(self.decide(s.score) & s.valid, _steps(self.cooldown, grid))
        return [Condition(rule=self, series=s.sel.table["series"].to_list(), labels=s.sel.label_dicts(),
                          enter=enter, present=s.valid, value=s.value, severity=self.severity,
                          score=s.score, bound=functools.partial(self._bound, s))]

    def _bound(self, s: Scores) -> np.ndarray:
        """The value ``x`` had to cross: ``x_ago · value`` (ratio) or ``x_ago + value`` (difference); for a
        two-sided rule the side the score is on."""
        ago = s.centre if s.centre is not None else np.full_like(s.value, np.nan)
        if self.two_sided:
            up = s.score >= 1.0 if self.mode == "ratio" else s.score >= 0
            if self.mode == "ratio":
                bound = np.where(up, ago * self.value, ago / self.value)
            else:
                bound = np.where(up, ago + self.value, ago - self.value)
        else:
            bound = ago * self.value if self.mode == "ratio" else ago + self.value
        return np.where(s.valid, bound, np.nan)


@dataclass(frozen=True, kw_only=True)
class HoltWintersRule(AnomalyBase):
    """Outside a prediction band ``forecast ± threshold·σ`` of a seasonal model (STL or Holt-Winters
    exponential smoothing) refit every ``refit`` on the trailing ``train`` window, on data resampled to
    ``resolution``. Refit instants are multiples of ``refit`` since the epoch, so a prefix of the data
    replays identically.

    σ is out of sample: the standard deviation of the model's own forecast errors (``x − forecast``
    at instants before ``t``, each forecast made before its instant) over the trailing ``train``
    window, so the band is as wide as the model's real errors; there is no score until ``refit`` worth
    of errors has been seen. Example: forecast 80, σ of recent forecast errors 6, x = 110 → score 5.0.
    """

    season: timedelta = timedelta(days=1)
    train: timedelta = timedelta(days=7)
    refit: timedelta = timedelta(days=1)
    #: Resample to this step before fitting (keeps seasonal models small); the band is held between.
    resolution: timedelta = timedelta(minutes=15)
    method: Literal["ets", "stl"] = "stl"
    kind: str = field(init=False, default="holt_winters")

    def feature_key(self) -> tuple[Any, ...]:
        return (self.season, self.train, self.refit, self.resolution, self.method)

    def history(self) -> timedelta:
        return 2 * self.train + self.refit          # a fit's training window, then its errors' window

    def compute(self, sel: Selection, grid: Grid, sem: Semantics) -> Scores:
        x, present = _grid_values(sel, grid, sem)
        forecast = _holt_winters_forecast(x, grid, self)
        error = x - forecast
        width = max(1, to_microseconds(self.train) // grid.step)
        ok = ~np.isnan(error)
        count = _window_sums(ok.astype(np.float64), width)
        s1 = _window_sums(np.where(ok, error, 0.0), width)
        s2 = _window_sums(np.where(ok, error * error, 0.0), width)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = s1 / count
            sigma = np.sqrt(np.maximum(s2 / count - mean * mean, 0.0) * count / np.maximum(count - 1, 1))
        enough = count >= max(2, to_microseconds(self.refit) // grid.step // 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            score = np.where(sigma > 0, error / sigma, np.nan)
        valid = present & ~np.isnan(score) & enough
        score = np.where(valid, score, np.nan)
        return Scores(sel=sel, value=x, score=score, valid=valid, centre=forecast, spread=sigma)


def _forecast(train: np.ndarray, horizon: int, period: int, method: str) -> np.ndarray | None:
    """Forecast ``horizon`` steps after ``train``."""
    # statsmodels is heavy (about 1 s to import): loaded only when a Holt-Winters rule is evaluated.
    import pandas as pd  # noqa: PLC0415  (0.4 s to import: only a Holt-Winters rule needs it)
    from statsmodels.tsa.holtwinters import ExponentialSmoothing  # noqa: PLC0415
    from statsmodels.tsa.seasonal import STL  # noqa: PLC0415

    ok = ~np.isnan(train)
    if ok.sum() < max(2 * period, 10):
        return None
    series = pd.Series(train).interpolate(limit_direction="both").to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "stl" and period >= 2:
            fit = STL(series, period=period, robust=True).fit()
            steps = np.arange(1, horizon + 1)
            season = fit.seasonal[len(series) - period + ((steps - 1) % period)]
            return np.asarray(fit.trend[-1] + season)
        model = ExponentialSmoothing(series, trend=None,
                                     seasonal="add" if period >= 2 else None,
                                     seasonal_periods=period if period >= 2 else None,
                                     initialization_method="estimated").fit()
        return np.asarray(model.forecast(horizon))


def _holt_winters_forecast(x: np.ndarray, grid: Grid, rule: HoltWintersRule) -> np.ndarray:
    n, size = x.shape
    res = max(to_microseconds(rule.resolution), grid.step)
    refit = max(to_microseconds(rule.refit), res)
    period = max(1, to_microseconds(rule.season) // res)
    train_blocks = max(1, to_microseconds(rule.train) // res)
    instants = grid.instants
    # Blocks of `res` since the epoch; a block's mean is known once the block has ended.
    block = instants // res
    forecast = np.full((n, size), np.nan)
    first_block = int(block[0]) if size else 0
    n_blocks = int(block[-1] - first_block + 1) if size else 0
    for row in range(n):
        sums = np.bincount(block - first_block, weights=np.nan_to_num(x[row]), minlength=n_blocks)
        cnt = np.bincount(block - first_block, weights=(~np.isnan(x[row])).astype(float), minlength=n_blocks)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(cnt > 0, sums / cnt, np.nan)
        fit_at = -(-int(instants[0]) // refit) * refit if size else 0
        while size and fit_at <= instants[-1]:
            # Train on whole blocks that ended at or before the refit instant.
            last_block = fit_at // res - 1 - first_block
            lo = max(0, last_block + 1 - train_blocks)
            if last_block >= 0:
                values = _forecast(means[lo:last_block + 1], int(refit // res) + 1, period, rule.method)
                if values is not None:
                    sel_mask = (instants > fit_at) & (instants <= fit_at + refit)
                    ahead = (block[sel_mask] - first_block) - last_block - 1
                    ahead = np.clip(ahead, 0, len(values) - 1)
                    forecast[row, sel_mask] = values[ahead]
            fit_at += refit
    return forecast


ScoredRule = AnomalyBase | SeasonalRule


@dataclass(frozen=True, kw_only=True)
class LikelihoodRule(AnomalyBase):
    """Anomaly likelihood (Ahmad et al., Neurocomputing 2017) of another kind's score.

    The wrapped rule ``of`` gives a raw score ``r`` (its strength, bounded to ``[0, 1]`` as
    ``r/(1 + r)``, so 0.5 is where ``of`` would fire). Over the trailing ``window`` the raw score has
    mean ``μ`` and standard deviation ``σ`` (at least 0.0173, as in NAB's HTM detector); its average
    over the last ``short`` (including ``t``) is ``m``. The likelihood is the Gaussian probability
    that the short-term average is *not* this high: ``L = Φ((m − μ)/σ)``; the rule fires where
    ``L > threshold`` (e.g. 0.9999). The score is ``L``.

    Example: the raw score has averaged μ = 0.20 with σ = 0.05 over the last week; over the last
    15 minutes it averages m = 0.42, so ``(m − μ)/σ = 4.4`` and ``L = 0.999995`` > 0.9999: fires. A
    series whose raw score is always noisy (large σ) needs a larger jump to reach the same likelihood.
    """

    of: ScoredRule
    window: timedelta = timedelta(days=7)
    short: timedelta = timedelta(minutes=15)
    min_samples: int | None = None
    threshold: float = 0.9999
    direction: Direction = "up"
    kind: str = field(init=False, default="likelihood")

    def feature_key(self) -> tuple[Any, ...]:
        return (repr(replace(self.of, name="")), self.window, self.short, self.min_samples)

    def history(self) -> timedelta:
        return self.window + self.short + self.of.history()

    def compute(self, sel: Selection, grid: Grid, sem: Semantics) -> Scores:
        from scipy.special import ndtr  # noqa: PLC0415 - scipy is heavy: loaded when a likelihood is evaluated

        inner = self.of.scores_of(sel, grid, sem)
        x = inner.value
        raw = np.where(inner.valid, nab_scale(self.of.strength(inner)), np.nan)
        ok = ~np.isnan(raw)
        width = max(1, to_microseconds(self.window) // grid.step)
        short = max(1, to_microseconds(self.short) // grid.step)
        count = _window_sums(ok.astype(np.float64), width)
        s1 = _window_sums(raw, width)
        s2 = _window_sums(np.where(ok, raw * raw, 0.0), width)
        recent = _window_sums(ok.astype(np.float64), short, inclusive=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            mu = s1 / count
            sigma = np.sqrt(np.maximum(s2 / count - mu * mu, 0.0))
            sigma = np.maximum(sigma, np.sqrt(0.0003))
            m = _window_sums(raw, short, inclusive=True) / recent
            z = (m - mu) / sigma
        valid = inner.valid & (count >= 2) & (recent > 0) & ~np.isnan(z)
        valid &= sample_counts(sel, grid, to_microseconds(self.window)) >= _need(self.min_samples)
        likelihood = np.where(valid, ndtr(z), np.nan)
        return Scores(sel=sel, value=x, score=likelihood, valid=valid, centre=None, spread=None)

    def strength(self, scores: Scores) -> np.ndarray:
        """``log(1 − L) / log(1 − threshold)``: 1 at the threshold, 2 at twice as many nines."""
        with np.errstate(divide="ignore", invalid="ignore"):
            tail = np.maximum(1.0 - scores.score, 1e-300)
            return np.log(tail) / np.log(1.0 - self.threshold)

    def decide(self, score: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return score > self.threshold


# ---------------------------------------------------------------------------------- any rule's score

def rule_strength(rule: RuleBase, prepared: Prepared, grid: Grid, sem: Semantics
                  ) -> tuple[list[str], np.ndarray]:
    """``(series, strength)`` of any rule: the score over its threshold (1 = at the threshold) for
    scored kinds; for any other rule 2 where its condition holds and 0 elsewhere."""
    if isinstance(rule, AnomalyBase | SeasonalRule):
        s = rule.scores(prepared, grid, sem)
        strength = np.where(s.valid, rule.strength(s), np.nan)
        return s.sel.table["series"].to_list(), strength
    series: list[str] = []
    parts = []
    for cond in rule.conditions(prepared, grid, sem):
        series += cond.series
        parts.append(np.where(cond.enter & cond.present, 2.0, 0.0))
    return series, (np.concatenate(parts) if parts else np.zeros((0, grid.size)))


def anomaly_score(rule: RuleBase, prepared: Prepared, grid: Grid, sem: Semantics
                  ) -> tuple[list[str], np.ndarray]:
    """``(series, score)``: the rule's score as a NAB anomaly score in ``[0, 1]`` — 0.5 at the rule's
    threshold (:func:`nab_scale`), 0 where it has none — after the rule's ``cooldown``
    (:func:`peak_cooldown`; :func:`alarm_cooldown` for ``cusum``)."""
    series, strength = rule_strength(rule, prepared, grid, sem)
    score = nab_scale(strength)
    width = _steps(getattr(rule, "cooldown", timedelta(0)), grid)
    if isinstance(rule, CusumRule):
        return series, alarm_cooldown(score, width)
    return series, peak_cooldown(score, width)


def describe(rule: ScoredRule, scores: Scores, row: int, at: int) -> str:
    """Why the rule's score at (series ``row``, instant index ``at``) is what it is, in words.

    The sentence names the value, the baseline it was compared with and the score against the
    threshold, e.g. ``"value 120 is 4.00 spreads of 5 from 100 (threshold 3)"``.
    """
    x = float(scores.value[row, at])
    s = float(scores.score[row, at])
    if not bool(scores.valid[row, at]):
        return f"value {x:.6g}: no score yet (not enough history)"
    if isinstance(rule, LikelihoodRule):
        return f"value {x:.6g}: likelihood {s:.6f} of the {rule.of.kind} score (threshold {rule.threshold})"
    if isinstance(rule, SeasonalRule):
        ago = float(scores.centre[row, at]) if scores.centre is not None else float("nan")
        what = "ratio" if rule.mode == "ratio" else "difference"
        return f"value {x:.6g} against {ago:.6g} one {rule.period} ago: {what} {s:.4g} (value {rule.value})"
    centre = float(scores.centre[row, at]) if scores.centre is not None else float("nan")
    if scores.spread is None:
        return f"value {x:.6g}, baseline {centre:.6g}: score {s:.4g} (threshold {rule.threshold})"
    spread = float(scores.spread[row, at])
    return (f"value {x:.6g} is {s:.2f} spreads of {spread:.6g} from {centre:.6g} "
            f"(threshold {rule.threshold})")
