"""Anomaly rules on the evaluation grid. All are causal: the score at instant ``t`` uses only samples
at or before ``t`` (baselines use instants strictly before ``t``; fitted models are refit on a
trailing window on a fixed schedule), so appending future data never changes past alerts.

Each evaluator returns the condition plus its ``score`` (in sigmas, or the ratio/difference for
``seasonal``) and ``bound`` (the value the series had to cross).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

import numpy as np
import pandas as pd

from alertsim.durations import to_microseconds
from alertsim.rules.base import Condition, RuleBase
from alertsim.rules.model import Direction, Op, Over
from alertsim.rules.threshold import gauge_single_sample
from alertsim.series import Grid, Prepared, Selection, Semantics, value
from alertsim.series.vectors import compare

MAD_SCALE = 1.4826  # makes the MAD a consistent estimator of the standard deviation for normal data


@dataclass(frozen=True, kw_only=True)
class AnomalyBase(RuleBase):
    metric: str
    matchers: Mapping[str, str] = field(default_factory=dict)
    threshold: float = 3.0
    direction: Direction = "both"

    partitionable = True

    def single_sample(self) -> str | None:
        return gauge_single_sample(self.metric, self.for_, None)


@dataclass(frozen=True, kw_only=True)
class ZScoreRule(AnomalyBase):
    window: timedelta = timedelta(hours=1)
    #: Fewest samples in the window for a score (default: half the window's instants).
    min_samples: int | None = None
    kind: str = field(init=False, default="zscore")

    def conditions(self, prepared: Prepared, grid: Grid, semantics: Semantics) -> list[Condition]:
        return zscore(self, prepared, grid, semantics)


@dataclass(frozen=True, kw_only=True)
class MadRule(AnomalyBase):
    window: timedelta = timedelta(hours=1)
    min_samples: int | None = None
    kind: str = field(init=False, default="mad")

    def conditions(self, prepared: Prepared, grid: Grid, semantics: Semantics) -> list[Condition]:
        return mad(self, prepared, grid, semantics)


@dataclass(frozen=True, kw_only=True)
class EwmaRule(AnomalyBase):
    halflife: timedelta = timedelta(minutes=30)
    #: Instants to observe before the chart may alert.
    warmup: timedelta = timedelta(hours=1)
    kind: str = field(init=False, default="ewma")

    def conditions(self, prepared: Prepared, grid: Grid, semantics: Semantics) -> list[Condition]:
        return ewma(self, prepared, grid, semantics)


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

    partitionable = True

    def conditions(self, prepared: Prepared, grid: Grid, semantics: Semantics) -> list[Condition]:
        return seasonal(self, prepared, grid, semantics)

    def single_sample(self) -> str | None:
        return gauge_single_sample(self.metric, self.for_, self.over)


@dataclass(frozen=True, kw_only=True)
class HoltWintersRule(AnomalyBase):
    season: timedelta = timedelta(days=1)
    train: timedelta = timedelta(days=7)
    refit: timedelta = timedelta(days=1)
    #: Resample to this step before fitting (keeps seasonal models small); the band is held between.
    resolution: timedelta = timedelta(minutes=15)
    method: Literal["ets", "stl"] = "stl"
    kind: str = field(init=False, default="holt_winters")

    def conditions(self, prepared: Prepared, grid: Grid, semantics: Semantics) -> list[Condition]:
        return holt_winters(self, prepared, grid, semantics)


def _grid_values(rule: AnomalyBase | SeasonalRule, prepared: Prepared, grid: Grid, sem: Semantics
                 ) -> tuple[Selection, np.ndarray, np.ndarray]:
    sel = prepared.select(rule.metric, rule.matchers)
    vec = value(sel, grid, None, sem)
    return sel, vec.values, vec.present


def _cond(rule: AnomalyBase | SeasonalRule, sel: Selection, enter: np.ndarray, present: np.ndarray,
          values: np.ndarray, score: np.ndarray, bound: np.ndarray | Callable[[], np.ndarray]) -> Condition:
    return Condition(rule=rule, series=sel.table["series"].to_list(), labels=sel.label_dicts(),
                     enter=enter & present, present=present, value=values, severity=rule.severity,
                     score=score, bound=bound)


def _decide(rule: AnomalyBase, score: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        if rule.direction == "up":
            return score > rule.threshold
        if rule.direction == "down":
            return score < -rule.threshold
        return np.abs(score) > rule.threshold


def _bound(rule: AnomalyBase, centre: np.ndarray, spread: np.ndarray, score: np.ndarray) -> np.ndarray:
    """``centre + sign · threshold · spread``, computed in one output array."""
    if rule.direction == "both":
        out = np.where(score < 0, -1.0, 1.0) * rule.threshold
        out *= spread
    else:
        out = spread * ((-1.0 if rule.direction == "down" else 1.0) * rule.threshold)
    out += centre
    return out


def _trailing_sums(x: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row: count, mean-centred sum and sum of squares of the ``width`` instants before each instant
    (excluding it), ignoring NaN; plus the row centre used."""
    ok = ~np.isnan(x)
    centre = np.nanmean(np.where(ok, x, np.nan), axis=1, keepdims=True) if x.size else np.zeros((0, 1))
    centre = np.nan_to_num(centre)
    y = np.where(ok, x - centre, 0.0)
    n, size = x.shape

    def window_sum(a: np.ndarray) -> np.ndarray:
        c = np.zeros((n, size + 1))
        np.cumsum(a, axis=1, out=c[:, 1:])
        hi = np.arange(size)  # exclusive end: instants before k
        lo = np.maximum(hi - width, 0)
        return c[:, hi] - c[:, lo]

    return window_sum(ok.astype(np.float64)), window_sum(y), window_sum(y * y), centre


def _zscore_features(x: np.ndarray, present: np.ndarray, width: int, need: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Score, validity, baseline mean and std of the trailing-window z-score, one row at a time.

    Per row: centre the row on its mean; prefix sums give the count, sum and sum of squares of the
    ``width`` instants before each instant; ``mean = s1/count``, sample ``std`` from ``s2``;
    ``score = (x − centre − mean) / std`` (±inf when std is 0 and x is off the mean), NaN where
    fewer than ``need`` samples or no value. Rows without NaN take a shortcut for the counts (exact
    integers); working row by row keeps the temporaries small and in cache.
    """
    n, size = x.shape
    score = np.empty((n, size))
    valid = np.empty((n, size), dtype=bool)
    centre_out = np.empty((n, size))
    std_out = np.empty((n, size))
    if x.size == 0:
        return score, valid, centre_out, std_out
    full_count = np.minimum(np.arange(size), width).astype(np.float64)
    full_denominator = np.maximum(full_count - 1, 1)
    full_valid = full_count >= need
    head = min(width, size)
    # y + i·y²: one complex cumsum gives both prefix sums (complex addition adds each part, exactly).
    pair = np.empty(size, dtype=np.complex128)
    prefix = np.zeros(size + 1, dtype=np.complex128)
    sums = np.empty(size, dtype=np.complex128)
    s1, s2, tmp, mean = (np.empty(size) for _ in range(4))

    def window_sum(a: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Sum of the ``width`` values before each index (prefix-sum differences)."""
        start = np.zeros(size + 1, dtype=a.dtype) if a.dtype != prefix.dtype else prefix
        np.cumsum(a, out=start[1:])
        np.subtract(start[:head], start[0], out=out[:head])
        if size > width:
            np.subtract(start[width:size], start[:size - width], out=out[width:])
        return out

    for r in range(n):
        row = x[r]
        ok = ~np.isnan(row)
        clean = bool(ok.all())
        if clean:
            centre = np.float64(np.sum(row) / size)        # what nanmean gives without NaN
            y = row - centre
            count, denominator = full_count, full_denominator
        else:
            centre = np.nan_to_num(np.nanmean(row))
            y = np.where(ok, row - centre, 0.0)
            count = window_sum(ok.astype(np.float64), np.empty(size))
            denominator = np.maximum(count - 1, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            pair.real = y
            np.multiply(y, y, out=pair.imag)
            window_sum(pair, sums)
            np.copyto(s1, sums.real)
            np.copyto(s2, sums.imag)
            np.divide(s1, count, out=mean)
            np.divide(s2, count, out=s2)
            np.multiply(mean, mean, out=tmp)
            np.subtract(s2, tmp, out=s2)
            np.maximum(s2, 0.0, out=s2)
            np.multiply(s2, count, out=s2)
            np.divide(s2, denominator, out=s2)
            std = std_out[r]
            np.sqrt(s2, out=std)
            dev = np.subtract(y, mean, out=tmp) if clean else (row - centre) - mean
            out = score[r]
            np.divide(dev, std, out=out)
            flat = ~(std > 0)
            if flat.any():
                out[flat] = np.where(dev[flat] == 0, 0.0, np.sign(dev[flat]) * np.inf)
        ok_row = valid[r]
        if clean and present[r].all():
            ok_row[:] = full_valid
        else:
            np.logical_and(present[r], count >= need, out=ok_row)
            ok_row &= ok
        out[~ok_row] = np.nan
        np.add(mean, centre, out=centre_out[r])
    return score, valid, centre_out, std_out


def zscore(rule: ZScoreRule, prepared: Prepared, grid: Grid, sem: Semantics) -> list[Condition]:
    """``(x − mean) / std`` of the trailing ``window`` (instants before ``t``)."""
    sel, x, present = _grid_values(rule, prepared, grid, sem)
    width = max(1, to_microseconds(rule.window) // grid.step)
    need = rule.min_samples or max(2, width // 2)

    def compute() -> tuple[np.ndarray, ...]:
        return _zscore_features(x, present, width, need)

    score, valid, centre, std = sel.cached(("zscore", grid, sem, width, need), compute)
    enter = _decide(rule, score)
    enter &= valid
    return [_cond(rule, sel, enter, valid, x, score, functools.partial(_bound, rule, centre, std, score))]


def _sliding(x: np.ndarray, width: int) -> np.ndarray:
    """Windows of the ``width`` instants before each instant: shape (n, size, width), NaN-padded."""
    n, size = x.shape
    padded = np.concatenate([np.full((n, width), np.nan), x], axis=1)
    return np.lib.stride_tricks.sliding_window_view(padded, width, axis=1)[:, :size, :]


def mad(rule: MadRule, prepared: Prepared, grid: Grid, sem: Semantics) -> list[Condition]:
    """``(x − median) / (1.4826 · MAD)`` of the trailing ``window`` (instants before ``t``)."""
    sel, x, present = _grid_values(rule, prepared, grid, sem)
    width = max(1, to_microseconds(rule.window) // grid.step)
    need = rule.min_samples or max(2, width // 2)
    n, size = x.shape
    median = np.full((n, size), np.nan)
    spread = np.full((n, size), np.nan)
    count = np.zeros((n, size))
    chunk = max(1, 2_000_000 // max(width * max(n, 1), 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for lo in range(0, size, chunk):
            hi = min(size, lo + chunk)
            win = _sliding(x[:, max(0, lo - width):hi], width)[:, (lo - max(0, lo - width)):, :]
            med = np.nanmedian(win, axis=2)
            median[:, lo:hi] = med
            spread[:, lo:hi] = MAD_SCALE * np.nanmedian(np.abs(win - med[:, :, None]), axis=2)
            count[:, lo:hi] = np.sum(~np.isnan(win), axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        dev = x - median
        score = np.where(spread > 0, dev / spread, np.where(dev == 0, 0.0, np.sign(dev) * np.inf))
    valid = present & (count >= need) & ~np.isnan(x)
    score = np.where(valid, score, np.nan)
    enter = _decide(rule, score) & valid
    return [_cond(rule, sel, enter, valid, x, score, functools.partial(_bound, rule, median, spread, score))]


def ewma(rule: EwmaRule, prepared: Prepared, grid: Grid, sem: Semantics) -> list[Condition]:
    """EWMA control chart: score = ``(x − ewma) / ewm_std`` with both taken at the previous instant."""
    sel, x, present = _grid_values(rule, prepared, grid, sem)
    halflife = to_microseconds(rule.halflife) / grid.step
    frame = pd.DataFrame(x.T)
    ewm = frame.ewm(halflife=max(halflife, 1e-9), ignore_na=True)
    mean = ewm.mean().shift(1).to_numpy().T
    std = ewm.std().shift(1).to_numpy().T
    seen = np.cumsum(~np.isnan(x), axis=1)
    warm = seen > max(2, to_microseconds(rule.warmup) // grid.step)
    with np.errstate(invalid="ignore", divide="ignore"):
        dev = x - mean
        score = np.where(std > 0, dev / std, np.where(dev == 0, 0.0, np.sign(dev) * np.inf))
    valid = present & warm & ~np.isnan(x) & ~np.isnan(mean)
    score = np.where(valid, score, np.nan)
    enter = _decide(rule, score) & valid
    return [_cond(rule, sel, enter, valid, x, score, functools.partial(_bound, rule, mean, std, score))]


def seasonal(rule: SeasonalRule, prepared: Prepared, grid: Grid, sem: Semantics) -> list[Condition]:
    """``x`` against ``x offset period`` (PromQL ``offset``): ratio ``x / x_ago`` or difference
    ``x − x_ago``, compared with ``op value``."""
    sel = prepared.select(rule.metric, rule.matchers)
    now = value(sel, grid, rule.over, sem)
    ago = value(sel, grid, rule.over, sem, offset=to_microseconds(rule.period))
    with np.errstate(invalid="ignore", divide="ignore"):
        if rule.mode == "ratio":
            score = now.values / ago.values
            bound = ago.values * rule.value
        else:
            score = now.values - ago.values
            bound = ago.values + rule.value
    present = now.present & ago.present
    enter = compare(score, rule.op, rule.value) & present
    return [Condition(rule=rule, series=sel.table["series"].to_list(), labels=sel.label_dicts(),
                      enter=enter, present=present, value=now.values, severity=rule.severity,
                      score=np.where(present, score, np.nan), bound=np.where(present, bound, np.nan))]


def _forecast(train: np.ndarray, horizon: int, period: int, method: str) -> tuple[np.ndarray, float] | None:
    """Forecast ``horizon`` steps after ``train`` and the residual standard deviation."""
    # statsmodels is heavy (about 1 s to import): loaded only when a Holt-Winters rule is evaluated.
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
            forecast = fit.trend[-1] + season
            resid = fit.resid
        else:
            model = ExponentialSmoothing(series, trend=None,
                                         seasonal="add" if period >= 2 else None,
                                         seasonal_periods=period if period >= 2 else None,
                                         initialization_method="estimated").fit()
            forecast = np.asarray(model.forecast(horizon))
            resid = series - np.asarray(model.fittedvalues)
    sigma = float(np.nanstd(resid))
    return forecast, sigma


def holt_winters(rule: HoltWintersRule, prepared: Prepared, grid: Grid, sem: Semantics) -> list[Condition]:
    """Outside a prediction band ``forecast ± threshold·σ`` of a seasonal model (STL or Holt-Winters
    exponential smoothing) refit every ``refit`` on the trailing ``train`` window, on data resampled to
    ``resolution``. Refit instants are multiples of ``refit`` since the epoch, so a prefix of the data
    replays identically."""
    sel, x, present = _grid_values(rule, prepared, grid, sem)
    n, size = x.shape
    res = max(to_microseconds(rule.resolution), grid.step)
    refit = max(to_microseconds(rule.refit), res)
    period = max(1, to_microseconds(rule.season) // res)
    train_blocks = max(1, to_microseconds(rule.train) // res)
    instants = grid.instants
    # Blocks of `res` since the epoch; a block's mean is known once the block has ended.
    block = instants // res
    forecast = np.full((n, size), np.nan)
    sigma = np.full((n, size), np.nan)
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
                result = _forecast(means[lo:last_block + 1], int(refit // res) + 1, period, rule.method)
                if result is not None:
                    values, s = result
                    sel_mask = (instants > fit_at) & (instants <= fit_at + refit)
                    ahead = (block[sel_mask] - first_block) - last_block - 1
                    ahead = np.clip(ahead, 0, len(values) - 1)
                    forecast[row, sel_mask] = values[ahead]
                    sigma[row, sel_mask] = s
            fit_at += refit
    with np.errstate(invalid="ignore", divide="ignore"):
        dev = x - forecast
        score = np.where(sigma > 0, dev / sigma, np.nan)
    valid = present & ~np.isnan(score)
    score = np.where(valid, score, np.nan)
    enter = _decide(rule, score) & valid
    return [_cond(rule, sel, enter, valid, x, score, functools.partial(_bound, rule, forecast, sigma, score))]
