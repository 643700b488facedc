"""A small synthetic world for report, tuning and postmortem tests: two weeks of one CPU series with
four labelled incidents, a benign spike and steady noise."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

T0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
INCIDENT_STARTS = (2000, 6000, 12000, 17000)


@pytest.fixture(scope="session")
def world() -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(1)
    n = 14 * 1440
    value = rng.normal(50, 5, n)
    rows = []
    for k, start in enumerate(INCIDENT_STARTS):
        value[start:start + 30] += 40
        rows.append((f"INC-{k}", "checkout", T0 + dt.timedelta(minutes=start),
                     T0 + dt.timedelta(minutes=start + 30), "SEV2"))
    value[9000:9003] += 60
    metrics = pl.DataFrame({"timestamp": [T0 + dt.timedelta(minutes=i) for i in range(n)], "metric": "cpu",
                            "value": value, "service": "checkout"}).with_columns(
        pl.col("timestamp").dt.cast_time_unit("us"))
    incidents = pl.DataFrame(rows, schema=["incident_id", "service", "started_at", "resolved_at", "severity"],
                             orient="row").with_columns(pl.col("started_at", "resolved_at").dt.cast_time_unit("us"))
    return {"metrics": metrics, "incidents": incidents}


GRID = {"rules": [
    {"name": "HighCPU", "metric": "cpu", "value": [65, 70, 80], "for": ["0s", "5m"], "labels": {"team": "payments"}},
    {"name": "CPUZ", "kind": "zscore", "metric": "cpu", "window": "1h", "threshold": [3, 6], "direction": "up",
     "labels": {"team": "payments"}},
]}
