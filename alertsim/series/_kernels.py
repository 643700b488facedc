"""Compiled kernels of the selection functions (numba, imported when a function first needs one).

:func:`extrapolated_rows` is :func:`alertsim.series.vectors.extrapolated` on series sampled at their
own times: per series, two pointers walk the window ``[t − w, t]`` along the grid (each sample is
passed twice in all, whatever the window) and each instant's rate is computed where it is found —
no (series × instants) arrays of window bounds and gathered times, values and terms in between. The
arithmetic is that of the numpy expression it replaces, operation for operation, so the results are
the same numbers (``tests/series/test_rate_kernel.py`` keeps the numpy expression as the oracle).
"""

from __future__ import annotations

import numba
import numpy as np

US = 1_000_000


@numba.njit(nogil=True, cache=True, error_model="numpy")
def extrapolated_rows(times: np.ndarray, values: np.ndarray, offsets: np.ndarray,  # pragma: no cover
                      resets: np.ndarray, first: int, last: int, t0: int, step: int, width: int,
                      left_open: bool, counter: bool, per_second: bool,
                      out: np.ndarray, present: np.ndarray) -> None:
    """Rows ``first..last`` of ``rate``/``increase``/``delta`` with Prometheus 2.x extrapolation.

    Instant ``i`` is ``t0 + i·step`` (the caller subtracts an ``offset``); its window holds the samples
    with time in ``[t − width, t]`` (``(t − width, t]`` when ``left_open``). ``resets`` are the prefix
    sums, over all samples, of the value before each counter reset (``counter``); ``per_second``
    divides by the window in seconds (``rate``). ``out`` is NaN and ``present`` False where the
    window holds fewer than two samples.

    >>> t = np.array([0, 60, 120, 180], dtype=np.int64) * US
    >>> v = np.array([0.0, 60.0, 120.0, 180.0])
    >>> out, present = np.empty((1, 2)), np.empty((1, 2), dtype=np.bool_)
    >>> extrapolated_rows(t, v, np.array([0, 4]), np.zeros(5), 0, 1, 120 * US, 60 * US, 120 * US,
    ...                   False, True, True, out, present)
    >>> out                     # one per second, each window holding three samples
    array([[1., 1.]])
    """
    size = out.shape[1]
    range_seconds = width / US
    for r in range(first, last):
        lo = offsets[r]
        hi = offsets[r]
        end = offsets[r + 1]
        for i in range(size):
            at = t0 + step * i
            start = at - width
            while hi < end and times[hi] <= at:
                hi += 1
            if left_open:
                while lo < end and times[lo] <= start:
                    lo += 1
            else:
                while lo < end and times[lo] < start:
                    lo += 1
            count = hi - lo
            if count < 2:
                out[r, i] = np.nan
                present[r, i] = False
                continue
            a = lo
            b = hi - 1
            result = values[b] - values[a]
            if counter:
                result = result + (resets[b + 1] - resets[a + 1])
            to_start = (times[a] - start) / US
            to_end = (at - times[b]) / US
            sampled = (times[b] - times[a]) / US
            average = sampled / max(count - 1, 1)
            if counter:
                to_zero = sampled * (values[a] / result)
                if result > 0 and values[a] >= 0 and to_zero < to_start:
                    to_start = to_zero
            threshold = average * 1.1
            interval = sampled + (to_start if to_start < threshold else average / 2)
            interval = interval + (to_end if to_end < threshold else average / 2)
            factor = interval / sampled
            if per_second:
                factor = factor / range_seconds
            out[r, i] = result * factor
            present[r, i] = True
