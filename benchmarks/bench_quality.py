"""Benchmarks of the quality stage: NAB scoring of the whole corpus, detection scoring, the
interruption loop (one step per page), per-person burden over a year of shifts, and the weekly
bootstrap."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from alertsim.frames import ALERTS, INCIDENTS, PAGES, SHIFTS
from alertsim.quality.detection import score
from alertsim.quality.fairness import burden
from alertsim.quality.fatigue import interruptions
from alertsim.quality.nab import read_nab_corpus, read_nab_results, score_nab
from alertsim.quality.response import weekly_trend

NAB = Path(__file__).resolve().parents[2] / "shared" / "data" / "nab"
START = datetime(2026, 1, 5, tzinfo=UTC)
SERVICES = ("checkout", "search", "payments", "auth", "ledger")
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo")


def instants(seconds: np.ndarray) -> pl.Series:
    """``START`` plus ``seconds`` as UTC instants."""
    return START + pl.Series((seconds * 1e6).astype(np.int64)).cast(pl.Duration("us"))


def timed(function, *args, **kwargs):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def synthetic_alerts(count: int, rng: np.random.Generator) -> pl.DataFrame:
    fired = instants(rng.uniform(0, 365 * 86_400, count))
    service = rng.choice(SERVICES, count)
    return pl.DataFrame({
        "alert_id": np.arange(count), "rule": [f"R{i}" for i in rng.integers(0, 40, count)],
        "series": [f"s{i}" for i in rng.integers(0, 400, count)],
        "labels": [json.dumps({"service": s}) for s in service], "severity": ["page"] * count,
        "active_at": fired, "fired_at": fired, "resolved_at": fired + timedelta(minutes=20),
    }, schema=ALERTS.required)


def synthetic_incidents(count: int, rng: np.random.Generator) -> pl.DataFrame:
    offsets = rng.uniform(0, 365 * 86_400, count)
    started = instants(offsets)
    acked = instants(offsets + rng.exponential(300, count))
    return pl.DataFrame({
        "incident_id": [f"I{i}" for i in range(count)], "service": rng.choice(SERVICES, count),
        "started_at": started, "resolved_at": started + timedelta(hours=1), "severity": ["sev2"] * count,
        "acknowledged_at": acked,
    }, schema={**INCIDENTS.required, "acknowledged_at": INCIDENTS.optional["acknowledged_at"]})


def weekly_shifts(people: int, weeks: int) -> pl.DataFrame:
    rows = []
    for week in range(weeks):
        for level in (1, 2):
            who = (week + level - 1) % people
            rows.append(("web", level, f"p{who}", START + timedelta(weeks=week), START + timedelta(weeks=week + 1),
                         ZONES[who % len(ZONES)]))
    return pl.DataFrame(rows, schema=SHIFTS.required, orient="row")


def run(quick: bool = False) -> list[dict]:
    rng = np.random.default_rng(7)
    out: list[dict] = []
    if NAB.is_dir():
        corpus, read_s = timed(read_nab_corpus, NAB)
        results, results_s = timed(read_nab_results, NAB / "results" / "skyline", corpus)
        table, score_s = timed(score_nab, results, corpus)
        out.append({"area": "quality", "case": "NAB: read corpus + results (58 files, 365,558 rows)",
                    "value": round(read_s + results_s, 2), "unit": "s"})
        out.append({"area": "quality", "case": "NAB: 3 profiles, exhaustive threshold sweep (skyline)",
                    "value": round(score_s, 2), "unit": "s", "target": 5.0, "ok": score_s <= 5.0})
        out.append({"area": "quality", "case": "NAB: skyline standard score (published 35.69)",
                    "value": round(float(table["score"][0]), 2), "unit": "points", "peer": "NAB v1.1",
                    "peer_value": 35.69, "ok": abs(float(table["score"][0]) - 35.69) <= 0.01})

    alerts = synthetic_alerts(10_000 if quick else 100_000, rng)
    incidents = synthetic_incidents(500 if quick else 5_000, rng)
    _, elapsed = timed(score, alerts, incidents, early="5m")
    out.append({"area": "quality", "case": f"score: {alerts.height:,} alerts × {incidents.height:,} incidents",
                "value": round(elapsed, 2), "unit": "s", "target": 10.0, "ok": elapsed <= 10.0})

    count = 10_000 if quick else 100_000
    paged = instants(np.sort(rng.uniform(0, 365 * 86_400, count)))
    pages = pl.DataFrame({"page_id": [f"P{i}" for i in range(count)], "paged_at": paged,
                          "urgency": ["high"] * count}, schema=PAGES.required)
    shifts = weekly_shifts(people=20, weeks=53)
    found, elapsed = timed(interruptions, pages, shifts)
    out.append({"area": "quality", "case": f"interruptions: {count:,} pages, 20 people, 3 zones",
                "value": round(count / elapsed / 1000, 1), "unit": "k pages/s"})
    _, elapsed = timed(burden, shifts, found)
    out.append({"area": "quality", "case": "burden: a year of weekly shifts, 2 levels, 20 people",
                "value": round(elapsed, 2), "unit": "s", "target": 5.0, "ok": elapsed <= 5.0})
    _, elapsed = timed(weekly_trend, incidents, resamples=500 if quick else 2000, seed=1)
    out.append({"area": "quality", "case": f"weekly trend: {incidents.height:,} incidents, 53 weeks, bootstrap",
                "value": round(elapsed, 2), "unit": "s", "target": 10.0, "ok": elapsed <= 10.0})
    return out


if __name__ == "__main__":
    for row in run():
        print(row)
