"""The evaluation grid of a replay: instants ``t0 + k·step`` that are multiples of the interval since the
epoch, covering the requested window or the bulk of the samples, sized against the memory budget.

Instants are parsed by :func:`alertsim.durations.instant_us`, the one parser of every option and file.

>>> to_datetime(60_000_000)
datetime.datetime(1970, 1, 1, 0, 1, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from alertsim.budget import check_size
from alertsim.durations import EPOCH, Duration, instant_us, to_datetime, to_microseconds
from alertsim.errors import ConfigError, Notice
from alertsim.series.prepared import Prepared
from alertsim.series.vectors import Grid

#: Bytes a replay holds per (series, instant) while it evaluates a rule (condition, presence, value,
#: index), used to refuse grids that cannot fit before any work starts.
BYTES_PER_POINT = 24


def make_grid(prepared: Prepared, eval_interval: Duration, start: datetime | str | None,
              end: datetime | str | None, notices: list[Notice] | None = None, eval_offset: Duration = "0s"
              ) -> Grid:
    """The evaluation grid: ``start``/``end`` when given, else the span of the *bulk* of the samples;
    its instants are ``eval_offset + k·eval_interval`` since the epoch.

    A few samples far outside the rest (a stray timestamp from 1970 in a week of data) do not stretch
    the grid: they are left out of it and reported in ``notices``. The grid's size is checked against
    the memory budget (:mod:`alertsim.budget`) before anything is evaluated.
    """
    step = to_microseconds(eval_interval, field="eval_interval")
    if step <= 0:
        raise ConfigError("must be longer than 0s", field="eval_interval")
    first = None if start is None else instant_us(start, field="start")
    last = None if end is None else instant_us(end, field="end")
    bulk_first, bulk_last = _bulk_span(prepared, notices if notices is not None else [])
    first = bulk_first if first is None else first
    last = bulk_last if last is None else last
    if last < first:
        raise ConfigError(f"end ({to_datetime(last)}) is before start ({to_datetime(first)})", field="end")
    instants = (last - first) // step + 1
    check_size(float(instants) * max(prepared.data.n, 1) * BYTES_PER_POINT,
               what=f"a grid of {instants:,} instants × {prepared.data.n:,} series", field="eval_interval",
               advice="narrow --start/--end or lengthen --eval-interval")
    if notices is not None and prepared.data.n and (first > prepared.last_us or last < prepared.first_us):
        notices.append(Notice(code="no-data-in-window", field="start",
                              message=f"no samples between {to_datetime(first)} and {to_datetime(last)}; the "
                                      f"metrics span {to_datetime(prepared.first_us)} to "
                                      f"{to_datetime(prepared.last_us)}"))
    return Grid.covering(first, last, step, to_microseconds(eval_offset, field="eval_offset"))


def _bulk_span(prepared: Prepared, notices: list[Notice]) -> tuple[int, int]:
    """First and last sample of the bulk of the data: samples more than ten bulk-widths before the
    0.1 % quantile or after the 99.9 % quantile are outliers, left out and reported."""
    first, last = prepared.first_us, prepared.last_us
    times = prepared.data.times
    if prepared.data.layout is not None or len(times) < 1000:
        return first, last
    # Quantiles of an even subsample (~100k samples, in runs of 256 so it reads few cache lines):
    # enough to tell the bulk, no 10 M-sample copy.
    if len(times) > 200_000:
        starts = np.linspace(0, len(times) - 256, 400).astype(np.int64)
        sample = times[(starts[:, None] + np.arange(256)).ravel()]
    else:
        sample = times
    lo, hi = (int(v) for v in np.quantile(sample, [0.001, 0.999], method="nearest"))
    width = max(hi - lo, 1)
    keep_lo, keep_hi = lo - 10 * width, hi + 10 * width
    if first >= keep_lo and last <= keep_hi:
        return first, last
    inside = times[(times >= keep_lo) & (times <= keep_hi)]
    outside = times[(times < keep_lo) | (times > keep_hi)]
    notices.append(Notice(
        code="stray-samples", field="timestamp",
        message=f"{len(outside):,} sample(s) lie far outside the bulk of the data ({to_datetime(int(outside.min()))}"
                f" … {to_datetime(int(outside.max()))}); the grid covers {to_datetime(int(inside.min()))} to "
                f"{to_datetime(int(inside.max()))} (pass --start/--end to include them)"))
    return int(inside.min()), int(inside.max())


__all__ = ["BYTES_PER_POINT", "EPOCH", "instant_us", "make_grid", "to_datetime"]
