"""Differential tests on data as a real Prometheus export looks: every series scraped at its own phase
within the interval (15 s and 60 s), ±50 ms jitter, lost scrapes, outages longer than the lookback,
series that start late or end early, counter resets. Debian's Prometheus 2.42 serves it (backfilled
with promtool) and answers ``query_range`` at an evaluation step equal to, shorter than and longer than
the scrape interval; alertsim must give the same series, instants and values through the PromQL
engine and through the native selection functions rules use (``instant``, ``over_time``,
``extrapolated``, ``irate``).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from alertsim.promql.engine import Scalar, Store, evaluate
from alertsim.series import prepare
from alertsim.series.over_time import over_time
from alertsim.series.vectors import Grid, extrapolated, instant, irate
from tests.conftest import require_binary

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
HOURS = 6
START_MS = int(T0.timestamp()) * 1000 - 3600_000       # an hour of history before the first instant
INSTANCES = tuple(f"i{i:02d}" for i in range(12))


def _export(rng: np.random.Generator, interval_s: int) -> np.ndarray:
    """Scrape times (ms): own phase, ±50 ms jitter, 2 % lost, perhaps an outage, late start or early end."""
    step = interval_s * 1000
    count = (HOURS + 1) * 3600 * 1000 // step
    times = START_MS + int(rng.integers(0, step)) + step * np.arange(count) + rng.integers(-50, 51, count)
    keep = rng.random(count) > 0.02
    kind = rng.integers(0, 4)
    if kind == 1:                                        # an outage longer than the lookback
        at = int(rng.integers(0, count - 1))
        keep[at:at + int(rng.integers(5, 40)) * 60 // interval_s] = False
    elif kind == 2:                                      # a pod that started late
        keep[: int(rng.integers(1, count // 2))] = False
    elif kind == 3:                                      # a pod that went away
        keep[count - int(rng.integers(1, count // 2)):] = False
    return times[keep]


def realistic_dataset(seed: int = 13) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for metric, interval_s, counter in (("load", 60, False), ("temp", 15, False), ("requests_total", 15, True),
                                        ("bytes_total", 60, True)):
        for instance in INSTANCES:
            t = _export(rng, interval_s)
            if counter:
                v = np.cumsum(rng.poisson(30, len(t))).astype(float)
                for at in rng.integers(1, max(len(t), 2), rng.poisson(1.0)):   # counter resets
                    v[at:] -= v[at - 1]
            else:
                v = np.round(rng.normal(50, 15, len(t)), 1)
            parts.append(pl.DataFrame({"timestamp": t * 1000, "metric": metric, "value": v, "instance": instance}))
    frame = pl.concat(parts)
    return frame.with_columns(pl.col("timestamp").cast(pl.Datetime("us", "UTC")))


Key = tuple[tuple[tuple[str, str], ...], int]


def _ours(expr: str, store: Store, grid: Grid) -> dict[Key, float]:
    value = evaluate(expr, store, grid)
    if isinstance(value, Scalar):
        return {((), int(t)): float(v) for t, v in zip(grid.instants, value.values, strict=True)}
    return {(labels, int(grid.instants[k])): float(value.values[row, k])
            for row, labels in enumerate(value.labels) for k in np.flatnonzero(value.present[row])}


def _theirs(frame: pl.DataFrame) -> dict[Key, float]:
    names = [c for c in frame.columns if c not in ("timestamp", "metric", "value")]
    out = {}
    for row in frame.iter_rows(named=True):
        labels = {n: row[n] for n in names if row[n]}
        if row["metric"]:
            labels["__name__"] = row["metric"]
        out[(tuple(sorted(labels.items())), int(row["timestamp"].timestamp() * 1_000_000))] = row["value"]
    return out


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


STEPS = (dt.timedelta(seconds=60), dt.timedelta(seconds=20), dt.timedelta(minutes=3))
WINDOWS = ("1m", "45s", "2m", "5m", "10m")
OFFSETS = ("", " offset 1m", " offset 7m30s")


def cases() -> list[tuple[str, str, str, str]]:
    """(PromQL expression, metric, function, window or "") to compare natively too."""
    out = []
    for metric in ("load", "temp"):
        for offset in OFFSETS:
            out.append((f"{metric}{offset}", metric, "", ""))
        for fn in ("avg", "min", "max", "sum", "count", "last", "stddev", "quantile"):
            for window in WINDOWS:
                q = "0.9, " if fn == "quantile" else ""
                out.append((f"{fn}_over_time({q}{metric}[{window}])", metric, fn, window))
        out.append((f"delta({metric}[5m])", metric, "delta", "5m"))
    for metric in ("requests_total", "bytes_total"):
        for fn in ("rate", "increase", "irate"):
            for window in WINDOWS:
                out.append((f"{fn}({metric}[{window}])", metric, fn, window))
    return out


@pytest.fixture(scope="module")
def served():  # type: ignore[no-untyped-def]
    require_binary("prometheus", package="prometheus")
    require_binary("promtool", package="prometheus")
    from alertsim.testing import start_prometheus

    frame = realistic_dataset()
    prepared = prepare(frame)
    with start_prometheus(frame) as server:
        yield server, prepared, Store.from_prepared(prepared)


def _native(prepared, metric: str, fn: str, window: str, grid: Grid):  # type: ignore[no-untyped-def]
    from alertsim.durations import to_microseconds

    sel = prepared.select(metric)
    if not fn:
        return sel, instant(sel.data, grid)
    width = to_microseconds(window)
    if fn in ("rate", "increase", "delta"):
        return sel, extrapolated(sel.data, grid, width, kind=fn)  # type: ignore[arg-type]
    if fn == "irate":
        return sel, irate(sel.data, grid, width)
    return sel, over_time(sel.data, grid, fn, width, q=0.9 if fn == "quantile" else None)  # type: ignore[arg-type]


@pytest.mark.parametrize("step", STEPS, ids=lambda s: f"{int(s.total_seconds())}s")
def test_realistic_data_equals_query_range(served, step: dt.timedelta) -> None:  # type: ignore[no-untyped-def]
    server, prepared, store = served
    us = int(step.total_seconds()) * 1_000_000
    grid = Grid(t0=int(T0.timestamp()) * 1_000_000, step=us, size=HOURS * 3600 * 1_000_000 // us)
    end = T0 + step * (grid.size - 1)
    compared = 0
    for expr, metric, fn, window in cases():
        theirs = _theirs(server.query_range(expr, T0, end, step))
        ours = _ours(expr, store, grid)
        assert set(ours) == set(theirs), f"{expr}: {len(set(theirs) - set(ours))} missing, " \
                                         f"{len(set(ours) - set(theirs))} extra"
        wrong = [(k, ours[k], theirs[k]) for k in theirs if not _same(ours[k], theirs[k])]
        assert not wrong, f"{expr}: {len(wrong)} values differ, e.g. {wrong[:3]}"
        if " offset" in expr:
            continue
        sel, vec = _native(prepared, metric, fn, window, grid)
        theirs = {(tuple(kv for kv in labels if kv[0] != "__name__"), at): v for (labels, at), v in theirs.items()}
        native = {}
        for row, instance in enumerate(sel.table["instance"].to_list()):
            for k in np.flatnonzero(np.asarray(vec.present)[row]):
                native[((("instance", instance),), int(grid.instants[k]))] = float(np.asarray(vec.values)[row, k])
        assert set(native) == set(theirs), f"native {expr}: {len(set(theirs) - set(native))} missing, " \
                                           f"{len(set(native) - set(theirs))} extra"
        wrong = [(k, native[k], theirs[k]) for k in theirs if not _same(native[k], theirs[k])]
        assert not wrong, f"native {expr}: {len(wrong)} values differ, e.g. {wrong[:3]}"
        compared += len(theirs)
    assert compared > 10_000
