"""Helpers shared by the vendor dialects (CloudWatch, Cloud Monitoring, Datadog).

Vendor alarms are not Prometheus' pending/firing machine: each dialect computes its own alarm state at
every one of *its* evaluation instants, vectorised over series, and hands replay an ``enter`` array with
``for_ = 0``, so that the alert episodes are exactly the vendor's alarm spans. These helpers build the
evaluation grid a vendor uses, extend it backwards so that the first evaluations see the history before
the replay starts, and resolve "keep the current state" evaluations by forward fill.

>>> import numpy as np
>>> hold_or_set(np.array([[-1, 2, -1, 1, -1]]), initial=0).tolist()
[[0, 2, 2, 1, 1]]
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from alertsim.durations import to_microseconds
from alertsim.errors import ConfigError
from alertsim.rules.base import Sent
from alertsim.series.vectors import Grid, SeriesSet

RETAIN = -1
"""An evaluation that keeps the current state (CloudWatch ``ignore``, Datadog's skipped evaluations)."""

US = 1_000_000
MINUTE_US = 60 * US


def cadence_grid(grid: Grid, step_us: int) -> Grid:
    """The instants every ``step_us`` since the epoch that cover ``grid`` (a vendor's own cadence)."""
    last = grid.t0 + grid.step * max(grid.size - 1, 0)
    if grid.size == 0:
        return Grid(t0=grid.t0, step=step_us, size=0)
    return Grid.covering(grid.t0, last, step_us)


def extended(grid: Grid, back_us: int) -> tuple[Grid, int]:
    """``grid`` extended backwards by at least ``back_us`` (whole steps), and how many steps were added."""
    extra = -(-back_us // grid.step) if back_us > 0 else 0
    return Grid(t0=grid.t0 - extra * grid.step, step=grid.step, size=grid.size + extra), extra


def hold_or_set(values: np.ndarray, *, initial: int, retain: int = RETAIN) -> np.ndarray:
    """Resolve ``retain`` entries of a ``(series, instants)`` state array: each keeps the last state set
    before it in its row, or ``initial`` when none was. Vectorised forward fill."""
    _, size = values.shape
    if size == 0:
        return values.copy()
    index = np.where(values != retain, np.arange(size)[None, :], -1)
    np.maximum.accumulate(index, axis=1, out=index)
    picked = np.take_along_axis(values, np.maximum(index, 0), axis=1)
    return np.where(index >= 0, picked, initial).astype(values.dtype)


def latch(set_: np.ndarray, reset: np.ndarray, *, hold: np.ndarray | None = None,
          initial: bool = False) -> np.ndarray:
    """A set/reset latch over instants, vectorised: true from an instant where ``set_`` holds until one
    where ``reset`` holds (and ``set_`` does not); ``hold`` instants change nothing.

    >>> import numpy as np
    >>> s = np.array([[0, 1, 0, 0, 0, 1]], bool); r = np.array([[0, 0, 0, 1, 1, 0]], bool)
    >>> latch(s, r).astype(int).tolist()
    [[0, 1, 1, 0, 0, 1]]
    """
    events = np.where(set_, 1, np.where(reset, 0, RETAIN)).astype(np.int8)
    if hold is not None:
        events = np.where(hold, RETAIN, events).astype(np.int8)
    return hold_or_set(events, initial=int(initial)).astype(bool)


def run_lengths(true: np.ndarray, false: np.ndarray) -> np.ndarray:
    """For every instant: how many ``true`` instants there have been since the last ``false`` one
    (instants that are neither leave the count as it is)."""
    _, size = true.shape
    counts = np.cumsum(true, axis=1, dtype=np.int64)
    last_false = np.where(false, np.arange(size)[None, :], -1)
    np.maximum.accumulate(last_false, axis=1, out=last_false)
    base = np.where(last_false >= 0, np.take_along_axis(counts, np.maximum(last_false, 0), axis=1), 0)
    return counts - base


def gap_lengths(present: np.ndarray) -> np.ndarray:
    """For every instant: how many consecutive instants up to and including it have had no data."""
    _, size = present.shape
    last = np.where(present, np.arange(size)[None, :], -1)
    np.maximum.accumulate(last, axis=1, out=last)
    return np.arange(size)[None, :] - last


def series_set(values: np.ndarray, present: np.ndarray, instants: np.ndarray) -> SeriesSet:
    """A :class:`SeriesSet` of the present cells of a ``(series, instants)`` array (an aggregated
    series becomes selectable by range functions again)."""
    counts = present.sum(axis=1)
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    rows, cols = np.nonzero(present)
    return SeriesSet.from_arrays(instants[cols], values[rows, cols], offsets)


def group_rows(labels: Sequence[Mapping[str, str]], by: Sequence[str]) -> tuple[np.ndarray, list[dict[str, str]]]:
    """The group index of every series when grouped by the ``by`` label values, and each group's labels
    (empty values left out)."""
    distinct: dict[tuple[str, ...], int] = {}
    index = np.array([distinct.setdefault(tuple(lbl.get(k, "") for k in by), len(distinct)) for lbl in labels],
                     dtype=np.int64)
    groups = [{k: v for k, v in zip(by, key, strict=True) if v} for key in distinct]
    return index, groups


def reduce_groups(values: np.ndarray, present: np.ndarray, index: np.ndarray, n_groups: int, how: str,
                  q: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Reduce the series of each group at every instant (``mean``, ``sum``, ``min``, ``max``, ``count``,
    ``stddev`` or ``quantile``), over the members that are present; absent where none is."""
    size = values.shape[1] if values.ndim == 2 else 0
    out = np.full((n_groups, size), np.nan)
    seen = np.zeros((n_groups, size), dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        for g in range(n_groups):
            members = index == g
            if not members.any():
                continue
            block = np.where(present[members], values[members], np.nan)
            has = present[members].any(axis=0)
            seen[g] = has
            if not has.any():
                continue
            cols = block[:, has]
            if how == "mean":
                out[g, has] = np.nanmean(cols, axis=0)
            elif how == "sum":
                out[g, has] = np.nansum(cols, axis=0)
            elif how == "min":
                out[g, has] = np.nanmin(cols, axis=0)
            elif how == "max":
                out[g, has] = np.nanmax(cols, axis=0)
            elif how == "count":
                out[g, has] = np.sum(~np.isnan(cols), axis=0)
            elif how == "stddev":
                out[g, has] = np.nanstd(cols, axis=0)
            elif how == "quantile":
                out[g, has] = np.nanquantile(cols, q if q is not None else 0.5, axis=0)
            else:  # pragma: no cover - callers pass known reducers
                raise ValueError(f"unknown reducer {how!r}")
    return out, seen


def labels_key(labels: Mapping[str, str]) -> str:
    """A stable text key of a label set (for matching series across conditions)."""
    return json.dumps(dict(sorted(labels.items())))


def seconds(value: Any, *, file: str | None, rule: str | None, field: str, minimum: int = 0) -> timedelta:
    """A vendor duration: whole seconds as a number, or a protobuf duration string such as ``"300s"``."""
    text = value
    if isinstance(value, str) and value.endswith("s") and value[:-1].replace(".", "", 1).isdigit():
        text = float(value[:-1])
    if isinstance(text, bool) or not isinstance(text, int | float) or text < minimum:
        raise ConfigError(f"expected a number of seconds >= {minimum} (e.g. 300 or \"300s\"), got {value!r}",
                          file=file, rule=rule, field=field)
    return timedelta(seconds=float(text))


def steps(duration: timedelta, step_us: int) -> int:
    """Whole evaluation steps in ``duration`` (at least 0)."""
    return max(0, to_microseconds(duration) // step_us)


def episode_notifications(fired: datetime, resolved: datetime | None, end: datetime | None, *, fire: bool = True,
                          repeat: timedelta | None = None, limit: int | None = None, close: bool = True
                          ) -> list[Sent]:
    """The notifications of one alert episode under a vendor's model: ``firing`` when it starts (if ``fire``),
    a ``repeat`` every ``repeat`` while it lasts (at most ``limit``; open episodes until ``end``), and
    ``resolved`` when it ends (if ``close``).

    >>> from datetime import datetime, timedelta
    >>> t = datetime(2026, 1, 1)
    >>> [k for _, k in episode_notifications(t, t + timedelta(minutes=50), None, repeat=timedelta(minutes=20))]
    ['firing', 'repeat', 'repeat', 'resolved']
    """
    sent: list[Sent] = []
    if fire:
        sent.append((fired, "firing"))
    stop = resolved if resolved is not None else end
    if repeat is not None and repeat > timedelta(0) and stop is not None:
        count, moment = 0, fired + repeat
        while moment < stop and (limit is None or count < limit):
            sent.append((moment, "repeat"))
            count, moment = count + 1, moment + repeat
    if close and resolved is not None:
        sent.append((resolved, "resolved"))
    return sent
