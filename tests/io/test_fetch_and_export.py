"""``fetch`` against a real Prometheus holding backfilled data (chunking, ALERTS history), retries and
errors against a scripted HTTP server, and the promtool export round trip through the CLI."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import subprocess
import threading
from pathlib import Path
from typing import ClassVar

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from alertsim.cli import app
from alertsim.errors import ConfigError
from alertsim.io.prometheus import FetchError, FetchProgress, chunk_ranges, fetch
from alertsim.io.promtool import expanding_notation
from tests.conftest import require_binary

T0 = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
MIN = 60_000_000


@pytest.mark.parametrize(("start", "end", "step", "max_points", "expected"), [
    (0, 10, 1, 100, [(0, 10)]),
    (0, 10, 1, 5, [(0, 4), (5, 9), (10, 10)]),
    (0, 9, 1, 5, [(0, 4), (5, 9)]),
    (3, 3, 2, 2, [(3, 3)]),
])
def test_chunks_cover_every_instant_once(start: int, end: int, step: int, max_points: int,
                                         expected: list[tuple[int, int]]) -> None:
    assert chunk_ranges(start, end, step, max_points=max_points) == expected


@pytest.mark.parametrize(("values", "text"), [
    ([1, 2, 3], "1+1x2"),
    ([5, 5, 5, 5], "5x3"),
    ([None], "_"),
    ([None, None, 7], "_x2 7"),
    ([0.5, None, -1.25], "0.5 _ -1.25"),
    ([10, 8, 6, 1e300], "10-2x2 1e+300"),
    ([float("nan"), float("inf")], "NaN Inf"),
])
def test_expanding_notation(values: list[float | None], text: str) -> None:
    assert expanding_notation(values) == text


def _metrics() -> pl.DataFrame:
    rng = np.random.default_rng(5)
    n = 600
    times = [T0 + dt.timedelta(seconds=30 * i) for i in range(n)]
    frames = []
    for instance in ("a", "b"):
        frames.append(pl.DataFrame({"timestamp": times, "metric": "requests_total",
                                    "value": np.cumsum(rng.integers(0, 50, n)).astype(float),
                                    "instance": instance, "alertname": "", "alertstate": ""}))
    firing = [T0 + dt.timedelta(minutes=60 + i) for i in range(20)]
    frames.append(pl.DataFrame({"timestamp": firing, "metric": "ALERTS", "value": 1.0, "instance": "a",
                                "alertname": "HighLoad", "alertstate": "firing"}))
    return pl.concat(frames).with_columns(pl.col("timestamp").cast(pl.Datetime("us", "UTC")))


@pytest.mark.prometheus
def test_fetch_from_a_real_prometheus() -> None:
    require_binary("prometheus", package="prometheus")
    require_binary("promtool", package="prometheus")
    from alertsim.testing import start_prometheus

    frame = _metrics()
    seen: list[FetchProgress] = []
    with start_prometheus(frame) as server:
        got = fetch(server.url, ["requests_total"], start=T0, end=T0 + dt.timedelta(seconds=30 * 599),
                    step="30s", alerts_history=True, max_points=100, progress=seen.append)
    raw = got.filter(pl.col("metric") == "requests_total").sort("instance", "timestamp")
    expected = frame.filter(pl.col("metric") == "requests_total").sort("instance", "timestamp")
    assert raw["value"].to_list() == expected["value"].to_list()
    assert raw["timestamp"].to_list() == expected["timestamp"].to_list()
    alerts = got.filter(pl.col("metric") == "ALERTS")
    assert set(alerts["alertname"].to_list()) == {"HighLoad"}
    assert alerts["timestamp"].min() == T0 + dt.timedelta(minutes=60)
    # 600 instants in chunks of 100, for two queries; the last callback has everything.
    assert (seen[-1].done, seen[-1].total, len({(p.query, p.chunk) for p in seen})) == (12, 12, 12)


class _Scripted(http.server.BaseHTTPRequestHandler):
    answers: ClassVar[list[tuple[int, dict]]] = []
    calls = 0

    def do_POST(self) -> None:
        type(self).calls += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        code, body = type(self).answers.pop(0)
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def scripted():  # type: ignore[no-untyped-def]
    server = http.server.HTTPServer(("127.0.0.1", 0), _Scripted)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Scripted.calls = 0
    yield server, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


OK = {"status": "success", "data": {"resultType": "matrix", "result": [
    {"metric": {"__name__": "up", "job": "x"}, "values": [[1775001600, "1"], [1775001660, "NaN"]]}]}}


def test_fetch_retries_with_backoff(scripted) -> None:  # type: ignore[no-untyped-def]
    _, url = scripted
    _Scripted.answers = [(503, {"status": "error"}), (429, {"status": "error"}), (200, OK)]
    waits: list[float] = []
    got = fetch(url, ["up"], start="2026-04-01T00:00:00Z", end="2026-04-01T00:01:00Z", backoff=0.5,
                sleep=waits.append)
    assert waits == [0.5, 1.0] and _Scripted.calls == 3
    assert got["job"].to_list() == ["x", "x"] and np.isnan(got["value"][1])


def test_fetch_names_a_rejected_query(scripted) -> None:  # type: ignore[no-untyped-def]
    _, url = scripted
    _Scripted.answers = [(400, {"status": "error", "errorType": "bad_data", "error": "parse error"})]
    with pytest.raises(ConfigError, match="bad_data: parse error"):
        fetch(url, ["up{"], start="2026-04-01T00:00:00Z", end="2026-04-01T00:01:00Z", sleep=lambda s: None)


def test_fetch_gives_up_after_retries() -> None:
    from alertsim.testing import free_port

    with pytest.raises(FetchError, match="failed 3 times"):
        fetch(f"http://127.0.0.1:{free_port()}", ["up"], start="2026-04-01T00:00:00Z",
              end="2026-04-01T00:01:00Z", retries=2, sleep=lambda s: None)


RULES = """\
groups:
- name: slo
  interval: 1m
  rules:
  - record: job:slo_errors_per_request:ratio_rate5m
    expr: sum(rate(slo_errors_total[5m])) by (job) / sum(rate(slo_requests_total[5m])) by (job)
  - record: job:slo_errors_per_request:ratio_rate1h
    expr: sum(rate(slo_errors_total[1h])) by (job) / sum(rate(slo_requests_total[1h])) by (job)
  - alert: SLOFastBurn
    expr: |
      job:slo_errors_per_request:ratio_rate1h{job="myjob"} > (14.4*0.001)
      and
      job:slo_errors_per_request:ratio_rate5m{job="myjob"} > (14.4*0.001)
    for: 2m
    labels:
      severity: page
    annotations:
      summary: "{{ $labels.job }} burns its error budget"
"""


def test_export_promtool_round_trip(tmp_path: Path) -> None:
    promtool = require_binary("promtool", package="prometheus")
    times = [T0 + dt.timedelta(minutes=i) for i in range(240)]
    requests = [600.0 * i for i in range(240)]
    errors = [0.0] * 120 + [600.0 * (i + 1) for i in range(15)] + [9000.0] * 105
    metrics = pl.DataFrame({"timestamp": times * 2, "metric": ["slo_requests_total"] * 240 + ["slo_errors_total"] * 240,
                            "value": requests + errors, "job": "myjob"})
    metrics.write_csv(tmp_path / "metrics.csv")
    (tmp_path / "rules.yml").write_text(RULES)
    runner = CliRunner()
    done = runner.invoke(app, ["replay", str(tmp_path / "metrics.csv"), "--rules", str(tmp_path / "rules.yml"),
                               "--out", str(tmp_path / "run")])
    assert done.exit_code == 0, done.output
    alerts = pl.read_parquet(tmp_path / "run" / "alerts.parquet")
    assert alerts.height == 1
    done = runner.invoke(app, ["export", "promtool", str(tmp_path / "run"), "--out", str(tmp_path / "test.yml")])
    assert done.exit_code == 0, done.output
    text = (tmp_path / "test.yml").read_text()
    assert "summary: myjob burns its error budget" in text
    check = subprocess.run([promtool, "test", "rules", str(tmp_path / "test.yml")], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS" in check.stdout
