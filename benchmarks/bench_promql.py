"""PromQL replay speed: a Sloth-style SLO rule file (7 ratio windows as recording rules, the 30d
period ratio over the 5m ratio, two multiwindow alerts) over 30 days of 1-minute counters, and the
same rules evaluated by a real Prometheus (query_range of the alert expressions) when available."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


def rule_file(services: int) -> str:
    lines = ["groups:"]
    for s in range(services):
        sel = f'{{service="svc{s}"}}'
        lines += [f"- name: sloth-svc{s}", "  rules:"]
        for w in WINDOWS:
            lines += [f"  - record: slo:sli_error:ratio_rate{w}",
                      f"    expr: (sum(rate(errors_total{sel}[{w}]))) / (sum(rate(requests_total{sel}[{w}])))",
                      f"    labels: {{sloth_service: svc{s}, sloth_window: {w}}}"]
        lines += ["  - record: slo:sli_error:ratio_rate30d",
                  f"    expr: sum_over_time(slo:sli_error:ratio_rate5m{{sloth_service=\"svc{s}\"}}[30d]) / ignoring "
                  f"(sloth_window) count_over_time(slo:sli_error:ratio_rate5m{{sloth_service=\"svc{s}\"}}[30d])",
                  "    labels: {sloth_window: 30d}"]
        page = (f"(max(slo:sli_error:ratio_rate5m{{sloth_service=\"svc{s}\"}} > (14.4 * 0.001)) without (sloth_window)"
                f" and max(slo:sli_error:ratio_rate1h{{sloth_service=\"svc{s}\"}} > (14.4 * 0.001)) without "
                f"(sloth_window)) or (max(slo:sli_error:ratio_rate30m{{sloth_service=\"svc{s}\"}} > (6 * 0.001)) "
                f"without (sloth_window) and max(slo:sli_error:ratio_rate6h{{sloth_service=\"svc{s}\"}} > "
                f"(6 * 0.001)) without (sloth_window))")
        lines += ["  - alert: HighErrorRate", f"    expr: '{page}'", "    labels: {severity: page}"]
    return "\n".join(lines) + "\n"


def metrics(services: int, days: int, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = days * 1440
    start = datetime(2026, 1, 1, tzinfo=UTC)
    times = pl.datetime_range(start, start + timedelta(minutes=n - 1), "1m", eager=True, time_zone="UTC")
    frames = []
    for s in range(services):
        total = np.cumsum(rng.poisson(600, n)).astype(float)
        bad = np.where(rng.random(n) < 0.002, 0.3, 0.0005)
        errors = np.cumsum(rng.binomial(600, bad)).astype(float)
        for name, values in (("requests_total", total), ("errors_total", errors)):
            frames.append(pl.DataFrame({"timestamp": times, "metric": name, "value": values,
                                        "service": f"svc{s}"}))
    return pl.concat(frames)


def run(quick: bool = False) -> list[dict]:
    from alertsim.replay import replay
    from alertsim.rules.prometheus import parse_prometheus_rules
    from alertsim.series import prepare

    services, days = (2, 3) if quick else (10, 30)
    frame = metrics(services, days)
    rules = parse_prometheus_rules(rule_file(services))
    prepared = prepare(frame)
    began = time.perf_counter()
    result = replay(prepared, rules, eval_interval="1m")
    seconds = time.perf_counter() - began
    instants = days * 1440
    rows = [
        {"area": "promql", "case": f"Sloth rules, {services} SLOs x {days}d at 1m: replay", "value": round(seconds, 2),
         "unit": "s"},
        {"area": "promql", "case": "rule evaluations per second",
         "value": round(services * (len(WINDOWS) + 2) * instants / seconds), "unit": "evals/s"},
        {"area": "promql", "case": "alerts", "value": result.alerts.height, "unit": "alerts"},
    ]
    try:
        from alertsim.testing import start_prometheus

        sel = '{service="svc0"}'
        raw = " and ".join(f"(sum(rate(errors_total{sel}[{w}])) / sum(rate(requests_total{sel}[{w}]))) > 0.0144"
                           for w in ("5m", "1h"))
        with start_prometheus(frame) as server:
            began = time.perf_counter()
            server.query_range(raw, frame["timestamp"].min(), frame["timestamp"].max(), "1m")
            peer = time.perf_counter() - began
        from alertsim.promql.engine import Store, evaluate
        from alertsim.series.vectors import Grid

        t0 = int(frame["timestamp"].min().timestamp()) * 1_000_000
        began = time.perf_counter()
        evaluate(raw, Store.from_prepared(prepare(frame)), Grid(t0=t0, step=60_000_000, size=instants))
        ours = time.perf_counter() - began
        rows.append({"area": "promql", "case": "one MWMB expression on raw counters, 1 SLO", "value": round(ours, 3),
                     "unit": "s", "peer": "prometheus 2.42 query_range", "peer_value": round(peer, 3),
                     "ratio": round(peer / ours, 1)})
    except Exception as error:  # the server comparison is optional
        rows.append({"area": "promql", "case": f"prometheus comparison skipped: {type(error).__name__}",
                     "value": 0, "unit": ""})
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
