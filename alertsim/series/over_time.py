"""The ``*_over_time`` numerics: one implementation for native rules and PromQL.

A window is ``values[lo..hi]`` (inclusive, ``count`` samples; ``count == 0`` is an empty window), for
every (series, instant) cell at once. :func:`window_values` computes ``sum``, ``avg``, ``min``, ``max``,
``count``, ``last``, ``present``, ``quantile``, ``stddev`` and ``stdvar`` of every window; native rules reach
it through :func:`over_time`, PromQL's ``<fn>_over_time`` through ``alertsim.promql.engine``. Semantics
are Prometheus 2.42's ``promql/functions.go`` for both: NaN in a window makes its sum, mean and spread
NaN, ``+Inf`` and ``-Inf`` together give NaN, one of them alone that infinity; ``min``/``max`` skip NaN
unless the window holds only NaN; ``quantile`` sorts NaN first and interpolates as
``lower·(1 − w) + upper·w``, ``q < 0`` → ``-Inf``, ``q > 1`` → ``+Inf``.

Two roundings of the same sums (``rounding``):

``"nearest"`` (native rules; PromQL windows too long to add one sample at a time)
    Compensated prefix sums: the running prefix sum of all samples (``np.cumsum``, which adds in
    order) and, beside it, the prefix sum of each step's exact rounding error (TwoSum). A window's sum
    is the difference of the two prefix sums at its ends, itself split exactly, so it is the correctly
    rounded sum of the window's samples (``math.fsum``; an exact tie between two floats may round
    either way), however long and large the history before it; O(samples + windows). A mean is that
    sum over the count (a window of equal samples is exactly that sample). ``stddev``/``stdvar`` are
    two-pass per window (gathered by window length) for native rules, so nearly equal samples keep
    their precision and a constant window has no spread; for PromQL windows beyond the budget they come
    from compensated prefix sums of the samples and of their exact squares (TwoProduct).
``"prometheus"`` (PromQL)
    Prometheus' own loops — ``kahanSumInc`` (Neumaier's compensated sum), the incremental mean of
    ``funcAvgOverTime`` and the Welford update of ``funcStddevOverTime`` — run for every window at
    once, one step per sample position, so results round exactly as Prometheus' do. O(window samples ×
    windows): above :data:`EXACT_BUDGET` element steps the ``"nearest"`` sums are used instead.

Why two roundings, measured on 300 series × 10,080 one-minute instants of two-decimal gauges (3.02 M
windows each; CPU time of :func:`window_values`, best of two, on the same windows):

=============  ==========  ============  ======  ========================================
window         nearest     prometheus    cost    windows where the two differ
=============  ==========  ============  ======  ========================================
sum, 10        0.20 s      0.73 s        3.7×    none: Prometheus' Kahan sum is the correctly
                                                 rounded sum here too
avg, 10        0.18 s      1.07 s        6.0×    49 % (last bit, at most 4.6e-16 relative)
avg, 60        0.17 s      5.74 s        33×     71 % (last bit, at most 1.0e-15 relative)
stddev, 30     0.82 s      3.96 s        4.8×    30 % (last bits)
=============  ==========  ============  ======  ========================================

Prometheus' incremental mean rounds at every step (``x/n − mean/n``), so it is not the correctly
rounded mean, and matching it costs a pass over all windows per sample in the window. Native rules
keep the correctly rounded answer at O(samples + windows) and PromQL keeps Prometheus' bits: a native
``over: {fn: sum}`` and ``sum_over_time`` agree exactly; a native ``avg``/``stddev`` and PromQL's may
differ in the last bit. The plain prefix sums native windows used before were off by up to 1.6e-13
relative (97 % of 10-sample sums differed from Prometheus'), enough to turn ``avg > 80`` on a window
whose mean is exactly 80 into an alert Prometheus never sends.

>>> v = np.array([1.0, 2.0, 3.0, 4.0])
>>> window_values(v, np.array([0, 1]), np.array([2, 3]), np.array([3, 3]), "avg").tolist()
[2.0, 3.0]
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from alertsim.series.vectors import Grid, SeriesSet, Vector, windows

OverTime = Literal["avg", "min", "max", "sum", "count", "last", "quantile", "stddev", "stdvar", "present"]
Rounding = Literal["nearest", "prometheus"]

#: Emulating Prometheus' sequential sums costs (window samples × windows) element steps; above this
#: budget the compensated prefix sums are used instead.
EXACT_BUDGET = 400_000_000


def over_time(series: SeriesSet, grid: Grid, fn: OverTime, width: int, *, q: float | None = None,
              offset: int = 0, left_open: bool = False) -> Vector:
    """``<fn>_over_time(x[width])`` at every instant of ``grid``; absent where the window holds no sample.

    >>> s = SeriesSet.from_arrays(np.array([0, 1, 2]) * 60_000_000, np.array([1.0, 2.0, 6.0]))
    >>> over_time(s, Grid(t0=0, step=60_000_000, size=3), "avg", 60_000_000).values.tolist()
    [[1.0, 1.5, 4.0]]
    """
    if fn == "quantile" and q is None:
        raise ValueError("quantile_over_time needs q")
    win = windows(series, grid, width, offset=offset, left_open=left_open)
    out = window_values(series.values, win.lo, win.hi, win.count, fn, q=q)
    return Vector(out, win.count > 0)


def window_values(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, count: np.ndarray, fn: str, *,
                  q: float | np.ndarray | None = None, rounding: Rounding = "nearest") -> np.ndarray:
    """``fn`` of every window ``values[lo..hi]`` (``count`` samples), NaN where a window is empty.

    Parameters
    ----------
    values : numpy.ndarray
        Sample values of all series, back to back.
    lo, hi, count : numpy.ndarray
        First and last sample index and number of samples of each window (any shape, all the same).
    fn : str
        One of :data:`OverTime`.
    q : float or numpy.ndarray, optional
        The quantile for ``"quantile"``; an array broadcasts against ``count`` (one per instant).
    rounding : {"nearest", "prometheus"}
        How sums are rounded (see the module's docstring). Default "nearest".
    """
    if not len(values):
        return np.full(count.shape, np.nan)
    hi = np.maximum(hi, 0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if fn == "count":
            out = count.astype(np.float64)
        elif fn == "present":
            out = np.ones(count.shape)
        elif fn == "last":
            out = values[hi]
        elif fn in ("min", "max"):
            out = window_extreme(values, lo, hi, count, fn)
        elif fn == "quantile":
            if q is None:
                raise ValueError("quantile_over_time needs q")
            out = window_quantile(values, lo, count, np.broadcast_to(np.asarray(q, dtype=np.float64), count.shape))
        elif fn in ("sum", "avg", "stddev", "stdvar"):
            most = int(count.max()) if count.size else 0
            if rounding == "prometheus" and most * count.size <= EXACT_BUDGET:
                out = running(values, lo, count, most, fn)
            elif fn in ("sum", "avg"):
                out = _moments(values, lo, hi, count, fn)
            elif rounding == "prometheus":
                out = _spread_prefix(values, lo, hi, count, fn)
            else:
                out = _spread(values, lo, count, fn)
        else:
            raise ValueError(f"unknown over_time function {fn!r}")
    return np.where(count > 0, out, np.nan)


# ------------------------------------------------------------------------------------------------
# Compensated prefix sums.

def _two_sum_error(a: np.ndarray, b: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The exact rounding error of ``s = a + b`` (Knuth's TwoSum): ``a + b == s + error`` exactly."""
    bb = s - a
    return (a - (s - bb)) + (b - bb)


def compensated_prefix(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Prefix sums of ``values`` (``len + 1``, from 0) and the prefix sums of each step's rounding error:
    ``total[i] + error[i]`` is ``sum(values[:i])`` to about twice the precision of a float."""
    total = np.zeros(len(values) + 1)
    np.cumsum(values, out=total[1:])  # np.cumsum adds in order: total[i + 1] = fl(total[i] + values[i])
    error = np.zeros(len(values) + 1)
    np.cumsum(_two_sum_error(total[:-1], values, total[1:]), out=error[1:])
    return total, error


def window_sums(total: np.ndarray, error: np.ndarray, lo: np.ndarray, end: np.ndarray) -> np.ndarray:
    """``sum(values[lo:end])`` from :func:`compensated_prefix`, correctly rounded (an exact tie between two
    floats may round either way)."""
    a, b = total[end], -total[lo]
    head = a + b
    tail = _two_sum_error(a, b, head)
    tail += error[end]
    tail -= error[lo]
    return head + tail  # type: ignore[no-any-return]


def _counts(mask: np.ndarray) -> np.ndarray:
    out = np.zeros(len(mask) + 1, dtype=np.int64)
    np.cumsum(mask, out=out[1:])
    return out


def _moments(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, count: np.ndarray, fn: str) -> np.ndarray:
    """Window sums (``sum``) or means (``avg``) from compensated prefix sums, with Prometheus' answers
    for windows holding NaN or infinities."""
    end = hi + 1
    finite = np.isfinite(values)
    all_finite = bool(finite.all())
    total, error = compensated_prefix(values if all_finite else np.where(finite, values, 0.0))
    out = window_sums(total, error, lo, end)
    if fn == "avg":
        out /= np.maximum(count, 1)
        # A window of equal samples has exactly that mean, as in Prometheus.
        changes = _counts(np.concatenate(([False], values[1:] != values[:-1])))
        constant = changes[end] == changes[np.minimum(lo + 1, end)]
        out = np.where(constant, values[hi], out)
    if all_finite:
        return out
    nan_c, pinf_c, ninf_c = (p[end] - p[lo] for p in
                             (_counts(np.isnan(values)), _counts(values == np.inf), _counts(values == -np.inf)))
    out = np.where(pinf_c > 0, np.inf, out)
    out = np.where(ninf_c > 0, np.where(pinf_c > 0, np.nan, -np.inf), out)
    return np.where(nan_c > 0, np.nan, out)


def _spread(values: np.ndarray, lo: np.ndarray, count: np.ndarray, fn: str) -> np.ndarray:
    """Population variance (``stdvar``) or standard deviation of each window, two-pass per window
    (gathered by window length) so nearly equal samples keep their precision; NaN or an infinity in
    the window gives NaN."""
    out = np.full(count.shape, np.nan)
    flat_lo, flat_out = lo.ravel(), out.reshape(-1)
    for c in np.unique(count[count > 0]):
        rows = np.flatnonzero((count == c).ravel())
        chunk = max(1, 4_000_000 // int(c))
        for first in range(0, len(rows), chunk):
            part = rows[first:first + chunk]
            block = values[flat_lo[part][:, None] + np.arange(c)[None, :]]
            with np.errstate(invalid="ignore"):
                var = np.var(block, axis=1)
            flat_out[part] = np.where(np.isfinite(block).all(axis=1), var, np.nan)
    return out if fn == "stdvar" else np.sqrt(out)


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dekker's split: ``a == high + low`` exactly, each half with at most 26 significant bits."""
    c = a * 134_217_729.0  # 2**27 + 1
    high = c - (c - a)
    return high, a - high


def _two_product(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a · b == product + error`` exactly (Dekker's TwoProduct)."""
    product = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return product, ((ah * bh - product) + ah * bl + al * bh) + al * bl


def _spread_prefix(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, count: np.ndarray, fn: str
                   ) -> np.ndarray:
    """``stddev``/``stdvar`` of windows too long for a pass per window, from compensated prefix sums of the
    samples and of their exact squares: ``n²·var = n·Σx² − (Σx)²`` is formed with every product split
    exactly (TwoProduct), so the cancellation between the two terms costs no precision; NaN or an
    infinity in the window gives NaN, a window of equal samples no spread."""
    end = hi + 1
    finite = np.isfinite(values)
    x = np.where(finite, values, 0.0)
    square, square_error = _two_product(x, x)
    s1_head, s1_tail = _sums_split(x, lo, end)
    s2_head, s2_tail = _sums_split(square, lo, end)
    s2_tail += window_sums(*compensated_prefix(square_error), lo, end)
    n = np.maximum(count, 1).astype(np.float64)
    ns2, ns2_error = _two_product(n, s2_head)
    s1s1, s1s1_error = _two_product(s1_head, s1_head)
    head = ns2 - s1s1
    tail = _two_sum_error(ns2, -s1s1, head) + (ns2_error + n * s2_tail - s1s1_error - 2 * s1_head * s1_tail)
    var = np.maximum((head + tail) / (n * n), 0.0)
    changes = _counts(np.concatenate(([False], values[1:] != values[:-1])))
    var = np.where(changes[end] == changes[np.minimum(lo + 1, end)], 0.0, var)
    special = _counts(~finite)
    var = np.where(special[end] - special[lo] > 0, np.nan, var)
    return var if fn == "stdvar" else np.sqrt(var)


def _sums_split(values: np.ndarray, lo: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Window sums as ``head + tail`` (twice a float's precision), from compensated prefix sums."""
    total, error = compensated_prefix(values)
    a, b = total[end], -total[lo]
    head = a + b
    tail = _two_sum_error(a, b, head) + (error[end] - error[lo])
    rounded = head + tail
    return rounded, _two_sum_error(head, tail, rounded)


# ------------------------------------------------------------------------------------------------
# Prometheus' sequential loops.

def kahan_inc(inc: np.ndarray, total: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Prometheus' ``kahanSumInc`` (Neumaier's step), elementwise: the new sum and compensation."""
    t = total + inc
    c = c + np.where(np.abs(total) >= np.abs(inc), (total - t) + inc, (inc - t) + total)
    return t, c


def running(values: np.ndarray, lo: np.ndarray, count: np.ndarray, most: int, fn: str) -> np.ndarray:
    """The sequential loops of ``funcSumOverTime``/``funcAvgOverTime``/``funcStddevOverTime``/
    ``funcStdvarOverTime``, run for every window at once (one step per sample position in the window,
    ``most`` steps)."""
    shape = count.shape
    a, ca = np.zeros(shape), np.zeros(shape)      # sum / mean and compensation
    aux, caux = np.zeros(shape), np.zeros(shape)  # stddev's second moment
    last = max(len(values) - 1, 0)
    for k in range(most):
        active = count > k
        x = values[np.minimum(lo + k, last)]
        n = float(k + 1)
        if fn == "sum":
            t, c = kahan_inc(x, a, ca)
        elif fn == "avg":
            skip = np.isinf(a) & ((np.isinf(x) & ((a > 0) == (x > 0))) | (~np.isinf(x) & ~np.isnan(x)))
            t, c = kahan_inc(x / n - a / n, a, ca)
            t, c = np.where(skip, a, t), np.where(skip, ca, c)
        else:
            delta = x - (a + ca)
            t, c = kahan_inc(delta / n, a, ca)
            u, cu = kahan_inc(delta * (x - (t + c)), aux, caux)
            aux, caux = np.where(active, u, aux), np.where(active, cu, caux)
        a, ca = np.where(active, t, a), np.where(active, c, ca)
    if fn in ("sum", "avg"):
        return np.where(np.isinf(a), a, a + ca)
    var = (aux + caux) / np.maximum(count, 1)
    return np.sqrt(var) if fn == "stddev" else var


# ------------------------------------------------------------------------------------------------
# Order statistics.

def window_extreme(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, count: np.ndarray, fn: str) -> np.ndarray:
    """Minimum or maximum of every window ``values[lo..hi]`` (inclusive), with a sparse table.

    O(N log W) build, O(1) per window. Like Prometheus' ``min_over_time``/``max_over_time``, NaN
    samples are skipped unless the window holds only NaN.

    Parameters
    ----------
    values : numpy.ndarray
        Sample values of all series, back to back.
    lo, hi : numpy.ndarray
        First and last sample index of each window (any shape; ``hi`` non-negative).
    count : numpy.ndarray
        Samples in each window (same shape as ``lo``); 0 marks an empty window.
    fn : {"min", "max"}
        Which extreme.

    Returns
    -------
    numpy.ndarray
        The extreme of each window, NaN where the window is empty or holds only NaN.

    Examples
    --------
    >>> v = np.array([3.0, np.nan, 1.0, 5.0])
    >>> window_extreme(v, np.array([0, 1, 1]), np.array([3, 1, 0]), np.array([4, 1, 0]), "max").tolist()
    [5.0, nan, nan]
    """
    fill = np.inf if fn == "min" else -np.inf
    reduce = np.fmin if fn == "min" else np.fmax
    base = np.where(np.isnan(values), fill, values)
    widest = int(count.max()) if count.size else 0
    levels = [base]
    span = 1
    while span * 2 <= widest:
        prev = levels[-1]
        nxt = prev.copy()
        nxt[: len(prev) - span] = reduce(prev[: len(prev) - span], prev[span:])
        levels.append(nxt)
        span *= 2
    safe = np.maximum(count, 1)
    level = np.floor(np.log2(safe)).astype(np.int64)
    out = np.full(count.shape, np.nan)
    for k, table in enumerate(levels):
        mask = (level == k) & (count > 0)
        if not mask.any():
            continue
        a = lo[mask]
        b = hi[mask] - (1 << k) + 1
        out[mask] = reduce(table[a], table[b])
    # Windows made only of NaN samples give NaN.
    nan_count = _counts(np.isnan(values))
    only_nan = (nan_count[np.maximum(hi, 0) + 1] - nan_count[lo]) == count
    return np.where(only_nan & (count > 0), np.nan, out)


def quantile_sorted(block: np.ndarray, count: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Prometheus' ``quantile`` of each row: linear interpolation between closest ranks,
    ``lower·(1 − w) + upper·w``. ``block`` rows are sorted with NaN first (:func:`sort_nan_first`),
    absent entries at the end; ``count`` the values of each row, ``q`` each row's quantile."""
    n = count.astype(np.float64)
    with np.errstate(invalid="ignore"):
        rank = q * (n - 1)
        lower = np.maximum(0, np.floor(rank))
        upper = np.minimum(n - 1, lower + 1)
        weight = rank - np.floor(rank)
        li = np.clip(np.nan_to_num(lower), 0, max(block.shape[1] - 1, 0)).astype(np.int64)
        ui = np.clip(np.nan_to_num(upper), 0, max(block.shape[1] - 1, 0)).astype(np.int64)
        rows = np.arange(block.shape[0])
        out = block[rows, li] * (1 - weight) + block[rows, ui] * weight
    out = np.where(np.isnan(q), np.nan, out)
    out = np.where(q < 0, -np.inf, out)
    return np.where(q > 1, np.inf, out)


def sort_nan_first(block: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Sort each row as Prometheus does (NaN is less than everything): NaN first, then values ascending,
    then invalid (absent) entries."""
    category = np.where(~valid, 2, np.where(np.isnan(block), 0, 1))
    key = np.where(np.isnan(block), 0.0, block)
    order = np.lexsort((key, category), axis=1)
    return np.take_along_axis(block, order, axis=1)


def window_quantile(values: np.ndarray, lo: np.ndarray, count: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``quantile_over_time`` of every window (``q`` one per window). Windows of one length are gathered
    into a block; where the block's ``q`` is one number in [0, 1], only the two ranks needed are selected
    (``np.partition``) in its rows without NaN, and the rest are sorted NaN first."""
    out = np.full(count.shape, np.nan)
    nans = _counts(np.isnan(values))
    for c in np.unique(count[count > 0]):
        mask = count == c
        starts = lo[mask]
        qs = q[mask]
        first = float(qs[0])
        if 0 <= first <= 1 and bool((qs == first).all()):
            clean = nans[starts + c] == nans[starts]
            rank = first * (c - 1)
            lower = int(np.floor(rank))
            upper = min(int(c) - 1, lower + 1)
            weight = rank - np.floor(rank)
            block = values[starts[clean][:, None] + np.arange(c)[None, :]]
            block.partition(sorted({lower, upper}), axis=1)
            part = np.empty(len(starts))
            part[clean] = block[:, lower] * (1 - weight) + block[:, upper] * weight
            if not clean.all():
                rest = _sorted_windows(values, starts[~clean], int(c))
                part[~clean] = quantile_sorted(rest, np.full(len(rest), c), qs[~clean])
            out[mask] = part
        else:
            block = _sorted_windows(values, starts, int(c))
            out[mask] = quantile_sorted(block, np.full(len(block), c), qs)
    return out


def _sorted_windows(values: np.ndarray, starts: np.ndarray, c: int) -> np.ndarray:
    block = values[starts[:, None] + np.arange(c)[None, :]]
    return sort_nan_first(block, np.ones(block.shape, dtype=bool))
