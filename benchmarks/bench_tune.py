"""Tuning sweep: 100 candidates of one rule in one shared replay (features computed once per
series × window) against 100 separate replays of the same candidates, on the 60-day sample."""

from __future__ import annotations

import sys
import time

import alertsim as al
from alertsim.rules import parse_rules

GRID = {"rules": [{
    "name": "HighLatency", "metric": "latency_p99", "op": ">",
    "value": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.5, 2.0],
    "over": {"fn": "avg", "window": "5m"},
    "for": ["0s", "1m", "2m", "3m", "5m", "7m", "10m", "15m", "20m", "30m"],
    "labels": {"team": "storefront"},
}]}


def run(quick: bool = False) -> list[dict[str, object]]:
    sample = al.load_sample()
    candidates = parse_rules(GRID)
    if quick:
        candidates = candidates[:20]
    best_tune = best_separate = float("inf")
    for _ in range(1 if quick else 2):
        start = time.perf_counter()
        tuned = al.tune(sample.metrics, candidates, sample.incidents, budget="2/week")
        best_tune = min(best_tune, time.perf_counter() - start)
        start = time.perf_counter()
        separate = [al.replay(sample.metrics, [rule]).alerts.height for rule in candidates]
        best_separate = min(best_separate, time.perf_counter() - start)
    assert tuned.candidates["alerts"].to_list() == separate
    n = len(candidates)
    return [{"area": "tune", "case": f"{n} candidates, shared replay + scoring + frontier",
             "value": round(best_tune, 2), "unit": "s", "peer": f"{n} separate replays (no scoring)",
             "peer_value": round(best_separate, 2), "ratio": round(best_separate / best_tune, 1),
             "target": ">= 10x", "ok": best_separate / best_tune >= 10}]


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row)
