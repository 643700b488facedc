"""Benchmark of the sample generator: time to generate and write 60 days, and the size on disk."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from alertsim import datasets


def run() -> list[dict]:
    started = time.perf_counter()
    sample = datasets.generate(seed=datasets.SAMPLE_SEED, days=datasets.SAMPLE_DAYS)
    generated = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        datasets.write_sample(sample, directory)
        written = time.perf_counter() - started
        size = sum(p.stat().st_size for p in Path(directory).iterdir() if p.is_file())
    samples = sample.metrics.height
    return [
        {"area": "datasets", "case": f"generate {datasets.SAMPLE_DAYS} days ({samples:,} samples)",
         "value": round(generated, 3), "unit": "s", "target": 5.0, "ok": generated <= 5.0},
        {"area": "datasets", "case": "generate throughput", "value": round(samples / generated / 1e6, 2),
         "unit": "M samples/s"},
        {"area": "datasets", "case": f"write_sample {datasets.SAMPLE_DAYS} days", "value": round(written, 3),
         "unit": "s"},
        {"area": "datasets", "case": "sample size on disk", "value": round(size / 1e6, 2), "unit": "MB",
         "target": 10.0, "ok": size <= 10 * 1024 * 1024},
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
