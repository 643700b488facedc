"""Benchmarks of the cloud dialects: the vectorised CloudWatch state rule against a per-evaluation Python
loop (the reference's transcription of AWS's tables), replaying the example CloudWatch, GCP and Datadog
files over the 60-day sample, linting, and importing a Datadog query export."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from alertsim.datasets import load_sample
from alertsim.io.cloud_metrics import read_datadog_query
from alertsim.lint import lint
from alertsim.replay import replay
from alertsim.rules import load_rules
from alertsim.rules.cloudwatch import BAD, GOOD, MISSING, alarm_states
from alertsim.series import prepare

REPO = Path(__file__).resolve().parents[1]
CLOUD = REPO / "data" / "cloud"


def timed(function, *args, **kwargs):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def reference_state(slots: list[str | None], n: int, m: int, treat: str, current: str) -> str:
    """The reference's candidate rule, one evaluation at a time (the peer of the vectorised kernel)."""
    real = [v for v in slots if v is not None]
    if not real:
        return {"missing": "INSUFFICIENT_DATA", "ignore": current, "breaching": "ALARM", "notBreaching": "OK"}[treat]
    if len(real) >= n:
        return "ALARM" if real[-n:].count("B") >= m else "OK"
    k = n - len(real)
    if treat in ("breaching", "notBreaching"):
        window = real + ["B" if treat == "breaching" else "G"] * k
        return "ALARM" if window.count("B") >= m else "OK"
    ages = [n - i for i, v in enumerate(slots[-n:]) if v == "B"]
    if "G" not in real and ages and max(ages) >= m:
        return "ALARM" if treat == "missing" else current
    return "ALARM" if real.count("B") >= m else "OK"


def bench_kernel(series: int, evaluations: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(7)
    slots = rng.choice(np.array([MISSING, GOOD, BAD], dtype=np.int8), size=(series, evaluations, 5),
                       p=[0.2, 0.6, 0.2])
    states, seconds = timed(alarm_states, slots, evaluation_periods=3, datapoints_to_alarm=2,
                            treat_missing_data="ignore")
    # The loop on a slice (it is slow), scaled to the same count.
    names = {MISSING: None, GOOD: "G", BAD: "B"}
    sample = slots[: max(1, series // 20)]
    started = time.perf_counter()
    agree = True
    for row, row_states in zip(sample, states[: len(sample)], strict=True):
        current = "INSUFFICIENT_DATA"
        for cells, state in zip(row, row_states, strict=True):
            current = reference_state([names[int(c)] for c in cells], 3, 2, "ignore", current)
            agree &= current == ("INSUFFICIENT_DATA", "OK", "ALARM")[int(state)]
    loop = (time.perf_counter() - started) * series / len(sample)
    total = series * evaluations
    return [{"area": "cloud", "case": f"CloudWatch state rule, {series}×{evaluations} evaluations (2 of 3, ignore)",
             "value": total / seconds / 1e6, "unit": "M evaluations/s", "peer": "per-evaluation Python loop",
             "peer_value": total / loop / 1e6, "ratio": loop / seconds, "ok": bool(agree),
             "note": "ok = the loop and the vectorised rule agree on every evaluation checked"}]


def bench_replays(quick: bool) -> list[dict[str, Any]]:
    sample = load_sample()
    metrics = sample.metrics
    if quick:
        metrics = metrics.filter(metrics["timestamp"] < metrics["timestamp"].min() + np.timedelta64(7, "D"))
    prepared = prepare(metrics)
    days = (metrics["timestamp"].max() - metrics["timestamp"].min()).total_seconds() / 86_400
    rows = []
    for name, file in (("CloudWatch", "cloudwatch-alarms.json"), ("GCP", "gcp-policy.json"),
                       ("Datadog", "datadog-monitors.json")):
        rules = load_rules(CLOUD / file)
        result, seconds = timed(replay, prepared, rules)
        rows.append({"area": "cloud", "case": f"replay {file} ({len(rules)} rules, {days:.0f} days, 1-minute grid)",
                     "value": seconds, "unit": "s", "note": f"{name}: {result.alerts.height} alerts"})
    return rows


def bench_lint() -> list[dict[str, Any]]:
    files = [REPO / "data" / "rules" / "sample.yaml", REPO / "data" / "rules" / "tune-latency.yaml",
             CLOUD / "cloudwatch-alarms.json", CLOUD / "gcp-policy.json", CLOUD / "datadog-monitors.json",
             REPO / "data" / "alertmanager" / "sample.yml"]
    findings, seconds = timed(lint, files)
    return [{"area": "cloud", "case": f"lint {len(files)} files ({findings.height} findings)", "value": seconds * 1000,
             "unit": "ms"}]


def bench_import(series: int, points: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(1)
    start = 1_775_469_600_000
    body = {"status": "ok", "series": [
        {"metric": "system.cpu.user", "tag_set": [f"host:web-{i}", "env:prod"],
         "pointlist": [[start + 60_000 * j, float(v)] for j, v in enumerate(rng.uniform(0, 100, points))]}
        for i in range(series)]}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "query.json"
        path.write_text(json.dumps(body))
        frame, seconds = timed(read_datadog_query, path)
        _, decode = timed(lambda: json.loads(path.read_text()))
    return [{"area": "cloud", "case": f"import Datadog query JSON ({series} series × {points} points)",
             "value": frame.height / seconds / 1e6, "unit": "M samples/s", "peer": "json.loads of the file alone",
             "peer_value": frame.height / decode / 1e6, "ratio": decode / seconds}]


def run(quick: bool = False) -> list[dict[str, Any]]:
    rows = bench_kernel(200 if quick else 2_000, 1_440 if quick else 10_080)
    rows += bench_replays(quick)
    rows += bench_lint()
    rows += bench_import(20 if quick else 100, 1_000 if quick else 10_000)
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
