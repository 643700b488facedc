"""``alertsim fetch prometheus --rules``: exactly the series a rule file reads, every raw sample, from a
real Prometheus — directly, and through a proxy that wants a bearer token or basic auth, a tenant
header and a path prefix (as Mimir, Thanos or VictoriaMetrics behind a gateway do), over TLS."""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import ssl
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from alertsim.cli import app
from alertsim.io.prometheus import fetch_rules
from alertsim.rules.prometheus import parse_prometheus_rules
from alertsim.rules.reads import reads
from alertsim.testing import PrometheusServer, start_prometheus
from tests.conftest import require_binary

T0 = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
RULES = """\
groups:
- name: api
  rules:
  - record: instance:requests:rate5m
    expr: rate(requests_total[5m])
  - alert: Busy
    expr: instance:requests:rate5m > 0.8 and on (instance) errors_total offset 10m > 0
    for: 2m
"""
TOKEN = "s3cret"


def _metrics() -> pl.DataFrame:
    rng = np.random.default_rng(11)
    n = 480  # 4 hours every 30 s, jittered as real scrapes are
    frames = []
    for metric, instance in (("requests_total", "a"), ("requests_total", "b"), ("errors_total", "a"),
                             ("cpu", "a")):
        times = [T0 + dt.timedelta(seconds=30 * i, milliseconds=int(rng.integers(0, 900))) for i in range(n)]
        frames.append(pl.DataFrame({"timestamp": times, "metric": metric,
                                    "value": np.cumsum(rng.integers(0, 50, n)).astype(float), "instance": instance}))
    return pl.concat(frames).with_columns(pl.col("timestamp").dt.cast_time_unit("us"))


@pytest.fixture(scope="module")
def server() -> Iterator[PrometheusServer]:
    require_binary("prometheus", package="prometheus")
    require_binary("promtool", package="prometheus")
    with start_prometheus(_metrics()) as running:
        yield running


def test_what_the_rules_read() -> None:
    found = [(r.selector, r.reach) for r in reads(parse_prometheus_rules(RULES))]
    assert found == [('{__name__="requests_total"}', dt.timedelta(minutes=10)),
                     ('{__name__="errors_total"}', dt.timedelta(minutes=15))]


def _expected(start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
    frame = _metrics()
    reach = {"requests_total": dt.timedelta(minutes=10), "errors_total": dt.timedelta(minutes=15)}
    keep = [frame.filter((pl.col("metric") == m) & (pl.col("timestamp") >= start - r) & (pl.col("timestamp") <= end))
            for m, r in reach.items()]
    return pl.concat(keep).sort("metric", "instance", "timestamp")


def test_exactly_the_series_and_samples_the_rules_read(server: PrometheusServer) -> None:
    start, end = T0 + dt.timedelta(hours=2), T0 + dt.timedelta(hours=3, minutes=7)
    got = fetch_rules(server.url, parse_prometheus_rules(RULES), start=start, end=end, chunk="25m")
    assert_frame_equal(got, _expected(start, end))


class _Gateway(http.server.BaseHTTPRequestHandler):
    """A gateway in front of Prometheus: /prometheus prefix, a tenant header and a credential."""

    upstream = ""
    accepted: ClassVar[set[str]] = {f"Bearer {TOKEN}", "Basic " + base64.b64encode(f"alice:{TOKEN}".encode()).decode()}

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Authorization") not in self.accepted or self.headers.get("X-Scope-OrgID") != "team":
            self.send_response(401)
            self.end_headers()
            self.wfile.write(b'{"status":"error","errorType":"unauthorized","error":"no"}')
            return
        if not self.path.startswith("/prometheus/api/v1/"):
            self.send_response(404)
            self.end_headers()
            return
        request = urllib.request.Request(self.upstream + self.path.removeprefix("/prometheus"), data=body,
                                         method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(request) as answer:
            payload = answer.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def gateway(server: PrometheusServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    openssl = require_binary("openssl", package="openssl")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    handler = type("Gateway", (_Gateway,), {"upstream": server.url})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}/prometheus", cert
    httpd.shutdown()


def _fetch(url: str, tmp_path: Path, *options: str) -> tuple[int, str]:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    result = CliRunner().invoke(app, ["fetch", "prometheus", "--url", url, "--rules", str(rules), "--start",
                                      "2026-04-01T02:00:00Z", "--end", "2026-04-01T03:00:00Z", "--out",
                                      str(tmp_path / "m.parquet"), "--retries", "0", *options])
    return result.exit_code, result.output


@pytest.mark.parametrize("credential", ["bearer", "basic"])
def test_through_an_authenticating_tls_gateway(gateway: tuple[str, Path], tmp_path: Path, credential: str) -> None:
    url, cert = gateway
    (tmp_path / "secret").write_text(TOKEN + "\n")
    auth = (["--bearer-token-file", str(tmp_path / "secret")] if credential == "bearer" else
            ["--basic-auth-user", "alice", "--basic-auth-password-file", str(tmp_path / "secret")])
    code, output = _fetch(url, tmp_path, *auth, "--header", "X-Scope-OrgID: team", "--ca-file", str(cert))
    assert code == 0, output
    start, end = T0 + dt.timedelta(hours=2), T0 + dt.timedelta(hours=3)
    assert_frame_equal(pl.read_parquet(tmp_path / "m.parquet"), _expected(start, end))


@pytest.mark.parametrize(("options", "message"), [
    (["--insecure", "--header", "X-Scope-OrgID: team"], "not authorised"),
    (["--ca-file", "CERT", "--header", "X-Scope-OrgID: team"], "not authorised"),
    (["--bearer-token-file", "SECRET", "--header", "X-Scope-OrgID: team"], "--ca-file"),
])
def test_a_refused_or_unverified_gateway_is_a_clear_error(gateway: tuple[str, Path], tmp_path: Path,
                                                          options: list[str], message: str) -> None:
    url, cert = gateway
    (tmp_path / "secret").write_text(TOKEN)
    options = [str(cert) if o == "CERT" else str(tmp_path / "secret") if o == "SECRET" else o for o in options]
    code, output = _fetch(url, tmp_path, *options)
    assert code != 0 and message in " ".join(output.split()), output
    assert not (tmp_path / "m.parquet").exists()


def test_insecure_skips_verification(gateway: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = gateway
    (tmp_path / "secret").write_text(TOKEN)
    code, output = _fetch(url, tmp_path, "--bearer-token-file", str(tmp_path / "secret"), "--header",
                          "X-Scope-OrgID: team", "--insecure")
    assert code == 0, output


def test_a_subquery_reads_its_range_and_offset_further_back() -> None:
    expr = 'max_over_time(rate({"a.b", "k.8s"="x"}[5m])[1h:1m] offset 10m) > 1'
    rules = parse_prometheus_rules(f"groups:\n- name: g\n  rules:\n  - alert: A\n    expr: '{expr}'\n")
    assert [(r.selector, r.reach) for r in reads(rules)] == [
        ('{__name__="a.b","k.8s"="x"}', dt.timedelta(minutes=5 + 60 + 10 + 5))]
