"""Golden runs: the sample's results, digested byte for byte, must not change when the code is only moved.

Every frame below is written as canonical text (CSV with shortest round-trip floats, lists and structs
as JSON) and compared by SHA-256 with ``runs.json``. A change of behaviour that is meant shows up here
and is recorded on purpose with ``ALERTSIM_RECORD_GOLDEN=1 pytest tests/golden``.

What is covered: the sample replay's alerts and evaluations (native rules, PromQL rules and the cloud
dialects, whose ``*_over_time``, rate and state machines all meet here), the notifications and pages of
the sample Alertmanager config and of the vendors' own notification models, the quality score, a seeded
simulation summary, tuning, and the tables of the demo report.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import polars as pl
import pytest

import alertsim as al
from alertsim.demo import run_demo
from alertsim.notify import vendor_notifications
from alertsim.rules import parse_rules
from alertsim.rules.prometheus import parse_prometheus_rules
from alertsim.series import prepare

HERE = Path(__file__).parent
RUNS = HERE / "runs.json"
REPO = HERE.parents[1]
CLOUD = REPO / "data" / "cloud"

PROMQL = """
groups:
  - name: golden
    interval: 1m
    rules:
      - alert: CpuAvg
        expr: avg_over_time(cpu[10m]) > 70
        for: 5m
      - alert: LatencyMax
        expr: max_over_time(latency_p99[15m]) > 0.45
      - alert: QueueSpread
        expr: stddev_over_time(queue_depth[30m]) > 40
      - alert: QueueQuantile
        expr: quantile_over_time(0.9, queue_depth[20m]) > 300
      - alert: ErrorRatio
        expr: sum by (service) (rate(http_errors_total[5m])) / sum by (service) (rate(http_requests_total[5m])) > 0.01
        for: 2m
      - alert: CpuSum
        expr: sum_over_time(cpu[5m]) / count_over_time(cpu[5m]) > 75
"""

NATIVE_OVER = {"rules": [
    {"name": "AvgCpu", "kind": "threshold", "metric": "cpu", "op": ">", "value": 70,
     "over": {"fn": "avg", "window": "10m"}, "for": "5m"},
    {"name": "StdQueue", "kind": "threshold", "metric": "queue_depth", "op": ">", "value": 40,
     "over": {"fn": "stddev", "window": "30m"}},
    {"name": "P90Queue", "kind": "threshold", "metric": "queue_depth", "op": ">", "value": 300,
     "over": {"fn": "quantile", "q": 0.9, "window": "20m"}},
    {"name": "MaxLatency", "kind": "threshold", "metric": "latency_p99", "op": ">", "value": 0.45,
     "over": {"fn": "max", "window": "15m"}, "clear": 0.4},
]}


def canonical(frame: pl.DataFrame) -> bytes:
    """The frame as text that changes exactly when a value, a type or the order of rows changes."""
    columns = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.List | pl.Struct | pl.Array):
            column = column.map_elements(lambda v: json.dumps(v, default=str, sort_keys=True),
                                         return_dtype=pl.String)
        elif isinstance(dtype, pl.Duration):
            column = column.dt.total_microseconds()
        columns.append(column.alias(name))
    text = frame.select(columns).write_csv()
    return (json.dumps({k: str(v) for k, v in frame.schema.items()}) + "\n" + text).encode()


def digest(frame: pl.DataFrame) -> dict[str, object]:
    return {"rows": frame.height, "sha256": hashlib.sha256(canonical(frame)).hexdigest()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    sample = al.load_sample()
    prepared = prepare(sample.metrics)

    native = al.load_rules(REPO / "data" / "rules" / "sample.yaml")
    result = al.replay(prepared, native, evaluations=True)
    out["sample/alerts"] = digest(result.alerts)
    assert result.evaluations is not None
    out["sample/evaluations"] = digest(result.evaluations)
    out["sample/summary"] = digest(result.summary())

    for name, rules in (("promql", parse_prometheus_rules(PROMQL)), ("native_over", parse_rules(NATIVE_OVER))):
        replayed = al.replay(prepared, rules, evaluations=True)
        out[f"{name}/alerts"] = digest(replayed.alerts)
        assert replayed.evaluations is not None
        out[f"{name}/evaluations"] = digest(replayed.evaluations)

    for path in sorted(CLOUD.iterdir()):
        rules = al.load_rules(path)
        replayed = al.replay(prepared, rules, evaluations=True)
        out[f"cloud/{path.name}/alerts"] = digest(replayed.alerts)
        assert replayed.evaluations is not None
        out[f"cloud/{path.name}/evaluations"] = digest(replayed.evaluations)
        out[f"cloud/{path.name}/vendor_notifications"] = digest(vendor_notifications(replayed.alerts, rules))

    demo = run_demo(tmp_path_factory.mktemp("golden") / "demo", replicates=40, seed=11)
    for name, frame in sorted(demo.frames.items()):
        out[f"demo/{name}"] = digest(frame)
    report = (demo.report_dir / "report.md").read_text(encoding="utf-8")
    tables = "\n".join(line for line in report.splitlines() if line.startswith("|"))
    out["demo/report.md tables"] = {"rows": tables.count("\n") + 1,
                                    "sha256": hashlib.sha256(tables.encode()).hexdigest()}
    return out


def test_golden_runs_are_byte_identical(runs: dict[str, dict[str, object]]) -> None:
    if os.environ.get("ALERTSIM_RECORD_GOLDEN"):
        RUNS.write_text(json.dumps(runs, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    recorded = json.loads(RUNS.read_text(encoding="utf-8"))
    changed = {name: (recorded.get(name), now) for name, now in runs.items() if recorded.get(name) != now}
    missing = sorted(set(recorded) - set(runs))
    assert not changed and not missing, f"changed: {json.dumps(changed, indent=1)}; missing: {missing}"
