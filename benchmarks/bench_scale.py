"""Out-of-core replay: 1 billion points (10,000 series × 100,000 one-minute points) through a threshold
rule, partition by partition, with the peak resident memory of the replaying process.

The dataset is generated once (seeded) into ``benchmarks/.cache/store-<series>x<points>/``, in
``bucket=NN/`` directories of parts written as :func:`alertsim.io.ingest.ingest` writes them
(:func:`~alertsim.io.ingest.write_part`: sorted by series and time, the series' runs in the footer),
and reused by later runs. The replay runs in a fresh subprocess so its peak RSS
(``VmHWM``, which unlike ``ru_maxrss`` is not inherited from the parent that forked it) is its own.
The in-memory peer is the same replay on a frame holding the
whole history, measured on a subset it can hold, as peak bytes per point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import polars as pl

from alertsim.io.ingest import write_part

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
BUCKETS = 64
T0_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
STEP_US = 60_000_000
RULE = {"rules": [{"name": "HighCPU", "metric": "cpu", "op": ">", "value": 85.0, "for": "2m"}]}


def generate(root: Path, series: int, points: int, seed: int = 7) -> Path:
    """Write the dataset (skipped when a complete copy exists): ``bucket=NN/part-*.parquet`` store parts of
    40 series each, written by :func:`alertsim.io.ingest.write_part` as ingest writes them."""
    done = root / "_complete"
    if done.exists():
        return root
    rng = np.random.default_rng(seed)
    names = [f"h{i:05d}" for i in range(series)]
    buckets: dict[int, list[str]] = {}
    for host in names:
        buckets.setdefault(zlib.crc32(f'cpu{{host="{host}"}}'.encode()) % BUCKETS, []).append(host)
    times = (T0_US + STEP_US * np.arange(points, dtype=np.int64))
    for bucket, hosts in sorted(buckets.items()):
        directory = root / f"bucket={bucket:02d}"
        directory.mkdir(parents=True, exist_ok=True)
        for start in range(0, len(hosts), 40):
            chunk = sorted(hosts[start:start + 40])
            base = rng.uniform(20, 70, size=(len(chunk), 1))
            noise = rng.normal(0, 8, size=(len(chunk), points))
            values = np.clip(base + noise, 0, 100).round(2).ravel()
            frame = pl.DataFrame({
                "timestamp": pl.Series(np.tile(times, len(chunk))).cast(pl.Datetime("us", "UTC")),
                "value": values,
                "host": pl.Series(np.repeat(np.array(chunk), points)),
            }).select("timestamp", pl.lit("cpu").alias("metric"), "value", "host")
            write_part(frame, directory / f"part-{start:05d}.parquet")
    done.write_text("ok")
    return root


CHILD = r"""
import json, os, sys, time
import alertsim as al
from alertsim.rules import parse_rules
from alertsim.scale import open_dataset, replay_dataset
path, rule, max_points = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
start = time.perf_counter()
result = replay_dataset(open_dataset(path), parse_rules(rule), max_points=max_points)
elapsed = time.perf_counter() - start
peak_kb = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
cpu = sum(os.times()[:2])
print(json.dumps({"seconds": elapsed, "alerts": result.alerts.height, "peak_bytes": peak_kb * 1024,
                  "cpu_seconds": cpu}))
"""

IN_MEMORY = r"""
import json, sys, time
import polars as pl

from alertsim.io.ingest import write_part
import alertsim as al
from alertsim.rules import parse_rules
path, rule = sys.argv[1], json.loads(sys.argv[2])
frame = pl.read_parquet(path + "/**/*.parquet", hive_partitioning=False)
points = frame.height
start = time.perf_counter()
result = al.replay(frame, parse_rules(rule))
elapsed = time.perf_counter() - start
peak_kb = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"seconds": elapsed, "points": points, "peak_bytes": peak_kb * 1024}))
"""


def _child(code: str, *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(quick: bool = False) -> list[dict[str, object]]:
    series, points = (500, 20_000) if quick else (10_000, 100_000)
    root = CACHE / f"store-{series}x{points}"
    started = time.perf_counter()
    generate(root, series, points)
    generated = time.perf_counter() - started
    total = series * points
    load_before = os.getloadavg()[0]
    out = _child(CHILD, str(root), json.dumps(RULE), str(10_000_000))
    load_after = os.getloadavg()[0]
    small_root = CACHE / "store-500x20000"
    generate(small_root, 500, 20_000)
    memory = _child(IN_MEMORY, str(small_root), json.dumps(RULE))
    per_point_in_memory = memory["peak_bytes"] / memory["points"]
    rate = total / out["seconds"] / 1e6
    rows: list[dict[str, object]] = [
        {"area": "scale", "case": f"partitioned replay, threshold+for, {total / 1e9:.2f} B points",
         "value": round(rate, 1), "unit": "M points/s", "target": ">= 20 M points/s", "ok": rate >= 20,
         "note": f"{out['seconds']:.1f} s for {total:,} points ({out['alerts']:,} alerts), "
                 f"{out['cpu_seconds']:.0f} s of CPU, load average {load_before:.1f} before and {load_after:.1f} "
                 f"after; dataset generated or reused in {generated:.0f} s"},
        {"area": "scale", "case": "partitioned replay, peak RSS", "value": round(out["peak_bytes"] / 2**30, 2),
         "unit": "GiB", "target": "<= 4 GiB", "ok": out["peak_bytes"] <= 4 * 2**30,
         "peer": "whole history in memory (extrapolated from 10 M points)",
         "peer_value": round(per_point_in_memory * total / 2**30, 1),
         "ratio": round(per_point_in_memory * total / out["peak_bytes"], 1)},
    ]
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row)
