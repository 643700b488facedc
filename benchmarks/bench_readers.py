"""Benchmark of ``read_metrics``: a 5-million-row long CSV in a few seconds, next to plain polars.

Cases: series-major rows (already sorted), time-major rows (a Prometheus range export: every series
at t, then at t + step; needs a sort), Unix seconds, a NAB-style two-column file, and Parquet. The peer
is ``polars.read_csv`` with ``try_parse_dates=True``: parsing only, no validation, no sorting, no
duplicate detection.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from alertsim.io.metrics import read_metrics

TARGET_SECONDS = 5.0


def _long_frame(rows: int, series: int) -> pl.DataFrame:
    steps = rows // series
    start = pl.datetime(2026, 1, 1, time_zone="UTC")
    instants = pl.datetime_range(start, start + pl.duration(minutes=steps - 1), "1m", eager=True)
    rng = np.random.default_rng(7)
    return (pl.DataFrame({"timestamp": instants})
            .join(pl.DataFrame({"instance": [f"host-{i:03d}" for i in range(series)]}), how="cross")
            .with_columns(metric=pl.lit("cpu_seconds"), service=pl.lit("checkout"),
                          value=pl.Series(rng.random(steps * series)).round(4))
            .select("timestamp", "metric", "value", "instance", "service"))


def _best(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def run(quick: bool = False) -> list[dict]:
    rows = 200_000 if quick else 5_000_000
    repeat = 1 if quick else 2
    frame = _long_frame(rows, series=50)
    iso = pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    results = []
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        files = {
            "series-major ISO": frame.sort("instance", "timestamp").with_columns(iso),
            "time-major ISO": frame.sort("timestamp", "instance").with_columns(iso),
            "series-major Unix seconds": frame.sort("instance", "timestamp")
            .with_columns(pl.col("timestamp").dt.epoch("s")),
        }
        for case, written in files.items():
            path = folder / f"{case.replace(' ', '_')}.csv"
            written.write_csv(path)
            ours = _best(lambda p=path: read_metrics(p), repeat)
            peer = _best(lambda p=path: pl.read_csv(p, try_parse_dates=True), repeat)
            results.append({"area": "readers", "case": f"read_metrics {rows:,}-row CSV, {case}",
                            "value": round(ours, 2), "unit": "s", "peer": "polars.read_csv",
                            "peer_value": round(peer, 2), "ratio": round(ours / peer, 1),
                            "target": TARGET_SECONDS, "ok": ours <= TARGET_SECONDS})
        nab = folder / "nab.csv"
        (frame.filter(pl.col("instance") == "host-000").select(
            pl.col("timestamp").dt.strftime("%Y-%m-%d %H:%M:%S"), "value").write_csv(nab))
        single = _best(lambda: read_metrics(nab, metric="cpu_seconds"), repeat)
        results.append({"area": "readers", "case": f"read_metrics two-column {rows // 50:,}-row CSV",
                        "value": round(single * 1000, 1), "unit": "ms"})
        parquet = folder / "long.parquet"
        frame.write_parquet(parquet)
        typed = _best(lambda: read_metrics(parquet), repeat)
        results.append({"area": "readers", "case": f"read_metrics {rows:,}-row Parquet",
                        "value": round(typed, 2), "unit": "s", "peer": "polars.read_parquet",
                        "peer_value": round(_best(lambda: pl.read_parquet(parquet), repeat), 2)})
        throughput = rows / results[0]["value"] / 1e6
        results.append({"area": "readers", "case": "long CSV throughput", "value": round(throughput, 2),
                        "unit": "M rows/s"})
    return results


if __name__ == "__main__":
    for row in run():
        print(row)
