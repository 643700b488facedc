"""Compiled row kernels of the anomaly kinds (numba, imported when a kind first needs one).

:func:`zscore_rows` is the trailing-window z-score of :func:`alertsim.rules.anomaly._zscore_features` for
rows without a gap (NaN only before a series' first value), fused with the window's sample count:
one pass over each row and its samples instead of some twenty array operations, with the same
arithmetic in the same order — prefix sums added one value at a time as ``numpy.cumsum`` adds them —
so the results are the same numbers, bit for bit (``tests/rules/test_zscore_kernel.py``).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=True, error_model="numpy")
def zscore_rows(x: np.ndarray, rows: np.ndarray, centres: np.ndarray, leads: np.ndarray,  # pragma: no cover
                width: int, need: int, times: np.ndarray, offsets: np.ndarray, t0: int, step: int,
                window_us: int, need_samples: int, present: np.ndarray, score: np.ndarray,
                valid: np.ndarray, centre_out: np.ndarray, std_out: np.ndarray) -> None:
    """Score, validity, baseline mean and std of each row in ``rows`` (see the module docstring).

    ``centres[r]`` is the value row ``r`` is centred on, ``leads[r]`` how many of its first instants
    are NaN. ``need_samples > 0`` also requires ``need_samples`` samples with time in ``[t − window, t)``
    (the series' samples are ``times[offsets[r]:offsets[r + 1]]``); ``present`` (2-D, or 0 × 0 for
    "present everywhere") masks validity.

    >>> x = np.array([[1.0, 2.0, 3.0, 10.0]])
    >>> score, valid, centre, std = np.empty((1, 4)), np.empty((1, 4), dtype=bool), np.empty((1, 4)), np.empty((1, 4))
    >>> no_samples, everywhere = np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=bool)
    >>> zscore_rows(x, np.array([0]), x.mean(axis=1), np.zeros(1, dtype=np.int64), 3, 2,
    ...             no_samples, np.zeros(2, dtype=np.int64), 0, 0, 0, 0, everywhere, score, valid, centre, std)
    >>> score.round(2)          # 10 against the mean 2 and std 1 of the three instants before it: 8σ
    array([[ nan,  nan, 2.12, 8.  ]])
    """
    size = x.shape[1]
    prefix = np.empty((2, size + 1))
    everywhere = np.ones(size, dtype=np.bool_)
    for r in rows:
        lead = leads[r]
        for i in range(lead):
            score[r, i] = np.nan
            std_out[r, i] = np.nan
            centre_out[r, i] = np.nan
            valid[r, i] = False
        _prefix_sums(x[r, lead:], centres[r], prefix)
        _score_row(x[r, lead:], centres[r], prefix, width, need, present[r, lead:] if present.shape[0] else everywhere,
                   times[offsets[r]:offsets[r + 1]], t0 + step * lead, step, window_us, need_samples,
                   score[r, lead:], valid[r, lead:], centre_out[r, lead:], std_out[r, lead:])


@numba.njit(nogil=True, cache=True)
def _prefix_sums(row: np.ndarray, centre: float, prefix: np.ndarray) -> None:  # pragma: no cover
    """``prefix[0]``, ``prefix[1]``: running sums of ``row − centre`` and of its square, from 0."""
    prefix[0, 0] = 0.0
    prefix[1, 0] = 0.0
    for j in range(len(row)):
        y = row[j] - centre
        if j == 0:                                # numpy.cumsum starts from the first value, not 0 + it
            prefix[0, 1] = y
            prefix[1, 1] = y * y
        else:
            prefix[0, j + 1] = prefix[0, j] + y
            prefix[1, j + 1] = prefix[1, j] + y * y


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _score_row(row: np.ndarray, centre: float, prefix: np.ndarray, width: int, need: int,  # pragma: no cover
               present: np.ndarray, times: np.ndarray, t0: int, step: int, window_us: int, need_samples: int,
               score: np.ndarray, valid: np.ndarray, centre_out: np.ndarray, std_out: np.ndarray) -> None:
    """One row from its prefix sums; ``times`` are its samples, ``t0`` the time of its first instant."""
    lo = 0
    hi = 0
    for j in range(len(row)):
        back = j - width if j >= width else 0
        s1 = prefix[0, j] - prefix[0, back]
        s2 = prefix[1, j] - prefix[1, back]
        count = float(min(j, width))
        mean = s1 / count
        t = s2 / count
        t = t - mean * mean
        if not (t >= 0.0 or t != t):              # numpy.maximum(t, 0.0): NaN stays NaN, -0.0 stays
            t = 0.0
        t = t * count
        t = t / max(count - 1.0, 1.0)
        sd = np.sqrt(t)
        dev = (row[j] - centre) - mean
        out = dev / sd
        ok = count >= need and present[j]
        if ok and not sd > 0:                     # a flat window: 0 on the mean, ±inf off it
            out = 0.0 if dev == 0 else np.sign(dev) * np.inf
        if ok and need_samples > 0:               # samples in [t − window, t): two pointers, moving forward
            at = t0 + step * j
            while hi < len(times) and times[hi] < at:
                hi += 1
            while lo < len(times) and times[lo] < at - window_us:
                lo += 1
            ok = hi - lo >= need_samples
        score[j] = out if ok else np.nan
        valid[j] = ok
        std_out[j] = sd
        centre_out[j] = mean + centre
