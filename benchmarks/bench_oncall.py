"""On-call simulator benchmark: one year, 5,000 pages, 1,000 replicates, four designs.

The fast engine runs the whole comparison (draws, engine, summaries, per-page outcome frames); the
SimPy reference model runs the same designs on a subset of pages and replicates, and its throughput
(page × replicate per second, which is linear in both) is the peer. Targets from issue 6: the fast
engine at least 50× the reference, and the four-design comparison within 30 s on 2 cores.

    python benchmarks/bench_oncall.py            # full size
    python benchmarks/bench_oncall.py --quick    # smoke run
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parents[1]
DESIGNS = ("weekly", "daily", "split-12h", "primary-secondary-15m")


def year_of_pages(count: int, seed: int = 7) -> pl.DataFrame:
    """``count`` pages over a year: more by day than at night, fewer at weekends, a few bursts."""
    rng = np.random.default_rng(seed)
    start = datetime(2026, 3, 2, tzinfo=UTC)
    hours = np.arange(365 * 24)
    weight = (1.0 + 0.8 * np.sin((hours % 24 - 8) / 24 * 2 * np.pi)) * np.where(
        (hours // 24 + 0) % 7 >= 5, 0.6, 1.0)
    chosen = rng.choice(hours, size=count, p=weight / weight.sum())
    seconds = np.sort(chosen * 3600 + rng.uniform(0, 3600, count))
    return pl.DataFrame({
        "page_id": [f"B{i:05d}" for i in range(count)],
        "paged_at": [start + timedelta(seconds=float(s)) for s in seconds],
        "urgency": rng.choice(["high", "low"], count, p=[0.8, 0.2]).tolist(),
        "service": rng.choice(["checkout", "search", "payments"], count).tolist(),
    })


def run(quick: bool = False) -> list[dict]:
    from dataclasses import replace

    from alertsim.oncall import BusyEffect, compare, draw, load_design, simulate, simulate_reference

    pages_n, replicates = (500, 100) if quick else (5000, 1000)
    pages = year_of_pages(pages_n)
    designs = [load_design(REPO / "data" / "designs" / f"{name}.yaml") for name in DESIGNS]

    started = time.perf_counter()
    comparison = compare(pages, designs, replicates=replicates, seed=7)
    fast_seconds = time.perf_counter() - started
    fast_rate = pages_n * replicates * len(designs) / fast_seconds

    # The SimPy reference on a subset: the first pages, a few replicates, every design.
    subset = pages.head(300 if quick else 500)
    ref_replicates = 2 if quick else 4
    started = time.perf_counter()
    for design in designs:
        simulate_reference(subset, design, draw(subset, design, replicates=ref_replicates, seed=7))
    ref_seconds = time.perf_counter() - started
    ref_rate = subset.height * ref_replicates * len(designs) / ref_seconds
    ratio = fast_rate / ref_rate

    # With a busy effect pages interact, and the engine walks them in order (vectorised over replicates).
    last = designs[-1]
    busy = replace(last, responders=replace(last.responders, default=replace(
        last.responders.default, busy=BusyEffect(factor=2.0, miss=0.2))))
    started = time.perf_counter()
    simulate(pages, busy, replicates=replicates, seed=7, keep_outcomes=False)
    busy_seconds = time.perf_counter() - started

    size = f"{pages_n:,} pages × {replicates:,} replicates × {len(designs)} designs"
    rows = [
        {"area": "oncall", "case": f"compare: {size}", "value": fast_seconds, "unit": "s",
         "target": "<= 30 s", "ok": bool(fast_seconds <= 30) if not quick else None},
        {"area": "oncall", "case": "fast engine throughput", "value": fast_rate / 1e6,
         "unit": "M page-replicates/s", "peer": "SimPy reference", "peer_value": ref_rate / 1e6,
         "ratio": ratio, "target": ">= 50×", "ok": bool(ratio >= 50) if not quick else None},
    ]
    rows.append({"area": "oncall", "case": f"busy effect on, one design ({last.name}), summaries only",
                 "value": busy_seconds, "unit": "s"})
    for sim in comparison.simulations:
        rows.append({"area": "oncall", "case": f"  {sim.design}: MTTA mean (min)",
                     "value": float(sim.summary["mtta_mean_min"][0]), "unit": "min"})
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    for row in run(quick="--quick" in sys.argv):
        print(row)
