"""Benchmark of the notification layer: 10^5 alerts over 60 days through the sample services'
Alertmanager configuration (routes, inhibition, business-hours time interval), and through a
single-pager configuration with Alertmanager's defaults."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from alertsim.frames import ALERTS
from alertsim.notify import load_alertmanager_config, notify

CONFIGS = Path(__file__).resolve().parents[1] / "data" / "alertmanager"
START = datetime(2026, 3, 2, tzinfo=UTC)
DAYS = 60
RULES = ("HighCPU", "HighLatency", "QueueBacklog", "HighErrorRate", "SlowLatency", "LatencyAnomaly",
         "QueueLeak", "BurnFast", "BurnSlow", "DiskFull")
SERVICES = ("checkout", "search", "payments")


def synthetic_alerts(count: int, *, seed: int = 7) -> pl.DataFrame:
    """``count`` alert episodes spread over 300 series (10 rules × 3 services × 10 instances)."""
    rng = np.random.default_rng(seed)
    series = [(rule, service, f"{service}-{i}") for rule in RULES for service in SERVICES for i in range(10)]
    per_series = count // len(series)
    span = DAYS * 86_400.0
    rows: dict[str, list] = {name: [] for name in ALERTS.required}
    alert_id = 0
    for k, (rule, service, instance) in enumerate(series):
        severity = "page" if k % 3 == 0 else "ticket"
        labels = json.dumps({"alertname": rule, "instance": instance, "service": service, "severity": severity})
        gaps = rng.exponential(span / per_series * 0.8, per_series)
        lengths = rng.exponential(span / per_series * 0.2, per_series)
        starts = np.cumsum(gaps + np.concatenate(([0.0], lengths[:-1])))
        for start, length in zip(starts, lengths, strict=True):
            alert_id += 1
            fired = START + timedelta(seconds=float(start))
            rows["alert_id"].append(alert_id)
            rows["rule"].append(rule)
            rows["series"].append(f'{rule}{{instance="{instance}"}}')
            rows["labels"].append(labels)
            rows["severity"].append(severity)
            rows["active_at"].append(fired)
            rows["fired_at"].append(fired)
            rows["resolved_at"].append(fired + timedelta(seconds=float(max(length, 60.0))))
    return pl.DataFrame(rows, schema=ALERTS.required)


def run(quick: bool = False) -> list[dict]:
    count = 10_000 if quick else 100_000
    alerts = synthetic_alerts(count)
    out = []
    for name in ("sample.yml", "single-pager.yml"):
        config = load_alertmanager_config(CONFIGS / name)
        started = time.perf_counter()
        result = notify(alerts, config)
        elapsed = time.perf_counter() - started
        target = 10.0 if not quick else 2.0
        out.append({"area": "notify", "case": f"{alerts.height:,} alerts, 60 days, {name}",
                    "value": round(elapsed, 2), "unit": "s", "target": target, "ok": elapsed <= target})
        out.append({"area": "notify", "case": f"throughput ({name}: {result.notifications.height:,} "
                    f"notifications, {result.pages.height:,} pages)",
                    "value": round(alerts.height / elapsed / 1000, 1), "unit": "k alerts/s"})
    return out


if __name__ == "__main__":
    for row in run():
        print(row)
