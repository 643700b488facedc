"""Differential test: alertsim's Alertmanager model against the real Alertmanager (Debian's
``prometheus-alertmanager``, 0.25 in bookworm) with a webhook receiver on 127.0.0.1 and short timers.

Seven scenarios run side by side in one Alertmanager (each in its own groups): grouping, repeat and
resolution; an alert resolved before group_wait; inhibition that ends when the source resolves; a
silence that expires; send_resolved: false; ``continue`` to two receivers; a route muted by a time
interval until the next minute. The alerts are posted at scripted offsets, the instants actually used
become the Alerts frame, and every webhook payload must match a simulated notification: same receiver,
group key, firing and resolved alerts, and a send time within 0.3 s.
"""

from __future__ import annotations

import json
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import polars as pl
import pytest

from alertsim.frames import ALERTS
from alertsim.notify import AlertmanagerConfig, Silence, notify
from tests.conftest import require_binary

pytestmark = [pytest.mark.alertmanager, pytest.mark.slow]

TOLERANCE_S = 0.3
RUN_S = 41.0

CONFIG = """
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 2s
  group_interval: 5s
  repeat_interval: 12s
  routes:
  - matchers: [scenario="S5"]
    receiver: quiet
  - matchers: [scenario="S6"]
    receiver: hook-b
    continue: true
  - matchers: [scenario="S6"]
    receiver: hook-c
  - matchers: [scenario="S7"]
    receiver: hook
    mute_time_intervals: [until-the-minute]
inhibit_rules:
- source_matchers: [severity="critical"]
  target_matchers: [severity="warning"]
  equal: [instance, scenario]
time_intervals:
- name: until-the-minute
  time_intervals:
  - times: [{start_time: "%(start)s", end_time: "%(end)s"}]
receivers:
- name: hook
  webhook_configs: [{url: "%(url)s/hook", send_resolved: true}]
- name: quiet
  webhook_configs: [{url: "%(url)s/quiet", send_resolved: false}]
- name: hook-b
  webhook_configs: [{url: "%(url)s/b"}]
- name: hook-c
  webhook_configs: [{url: "%(url)s/c"}]
"""

# (offset s, action, alert key, labels). Offsets keep every event ≥ 0.5 s away from its group's flushes.
SCRIPT = [
    (0.0, "fire", "S1a", {"alertname": "Grouped", "scenario": "S1", "instance": "a"}),
    (0.5, "fire", "S4q", {"alertname": "Silenced", "scenario": "S4"}),          # silenced until 9.0
    (1.0, "fire", "S5a", {"alertname": "NoResolved", "scenario": "S5", "instance": "a"}),
    (2.6, "fire", "S1b", {"alertname": "Grouped", "scenario": "S1", "instance": "b"}),  # after the 2.0 flush
    (3.0, "fire", "S2", {"alertname": "Brief", "scenario": "S2"}),
    (3.6, "fire", "S5b", {"alertname": "NoResolved", "scenario": "S5", "instance": "b"}),
    (4.0, "resolve", "S2", None),                                                # before group_wait
    (6.0, "fire", "S3src", {"alertname": "Source", "scenario": "S3", "instance": "i1", "severity": "critical"}),
    (6.0, "fire", "S3w1", {"alertname": "Target", "scenario": "S3", "instance": "i1", "severity": "warning"}),
    (6.0, "fire", "S3w2", {"alertname": "Target", "scenario": "S3", "instance": "i2", "severity": "warning"}),
    (7.0, "fire", "S6", {"alertname": "Twice", "scenario": "S6"}),
    (8.0, "fire", "S7", {"alertname": "Muted", "scenario": "S7"}),
    (10.2, "resolve", "S5a", None),
    (16.2, "resolve", "S1a", None),
    (20.5, "resolve", "S3src", None),
    (23.6, "resolve", "S1b", None),
    (24.1, "resolve", "S5b", None),
]
SILENCE_END_S = 9.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _instant(t: float) -> datetime:
    return datetime.fromtimestamp(0, UTC) + timedelta(microseconds=round(t * 1e6))


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[float, str, dict]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append((time.time(), self.path.strip("/"), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _post(port: int, path: str, body: object) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()


def _plan_start(now: float) -> tuple[float, float]:
    """A start instant T0 (≥ now) and the minute boundary B at which S7's mute ends, such that B falls
    12.5–32.5 s after T0 and half-way between two flushes of S7's group (created at T0 + 8 s)."""
    boundary = (now // 60 + 1) * 60
    if boundary - now < 12.5:
        boundary += 60
    k = min(4, int((boundary - 12.5 - now) // 5))
    return boundary - 12.5 - 5 * k, boundary


@pytest.fixture(scope="module")
def observed_and_simulated():
    binary = require_binary("prometheus-alertmanager", package="prometheus-alertmanager")
    hook = HTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    start, boundary = _plan_start(time.time() + 3.0)
    mute_from = datetime.fromtimestamp(boundary - 60, UTC).strftime("%H:%M")
    mute_to = datetime.fromtimestamp(boundary, UTC).strftime("%H:%M")
    text = CONFIG % {"url": f"http://127.0.0.1:{hook.server_address[1]}", "start": mute_from,
                     "end": "24:00" if mute_to == "00:00" else mute_to}
    work = Path(tempfile.mkdtemp(prefix="alertsim-am-"))
    (work / "alertmanager.yml").write_text(text)
    port = _free_port()
    log = (work / "alertmanager.log").open("w")
    process = subprocess.Popen(
        [binary, f"--config.file={work / 'alertmanager.yml'}", f"--storage.path={work / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=debug"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"Alertmanager did not become ready; log in {work / 'alertmanager.log'}")
        time.sleep(max(0.0, start - 0.2 - time.time()))
        silence_from = time.time()
        _post(port, "/api/v2/silences", {
            "matchers": [{"name": "alertname", "value": "Silenced", "isRegex": False, "isEqual": True}],
            "startsAt": _iso(silence_from), "endsAt": _iso(start + SILENCE_END_S),
            "createdBy": "alertsim tests", "comment": "differential test"})
        fired: dict[str, tuple[dict, float]] = {}
        resolved: dict[str, float] = {}
        for offset, action, key, labels in SCRIPT:
            time.sleep(max(0.0, start + offset - time.time()))
            now = time.time()
            if action == "fire":
                fired[key] = (labels, now)
                _post(port, "/api/v2/alerts", [{"labels": labels, "startsAt": _iso(now)}])
            else:
                labels, began = fired[key]
                resolved[key] = now
                _post(port, "/api/v2/alerts", [{"labels": labels, "startsAt": _iso(began), "endsAt": _iso(now)}])
        time.sleep(max(0.0, start + RUN_S - time.time()))
        stop = time.time()
    finally:
        process.terminate()
        process.wait(timeout=10)
        hook.shutdown()
        log.close()

    keys = list(fired)
    alerts = pl.DataFrame({
        "alert_id": list(range(1, len(keys) + 1)),
        "rule": [fired[k][0]["alertname"] for k in keys],
        "series": keys,
        "labels": [json.dumps(fired[k][0]) for k in keys],
        "severity": [fired[k][0].get("severity") for k in keys],
        "active_at": [_instant(fired[k][1]) for k in keys],
        "fired_at": [_instant(fired[k][1]) for k in keys],
        "resolved_at": [_instant(resolved[k]) if k in resolved else None for k in keys],
    }, schema=ALERTS.required)
    silence = Silence(matchers='alertname="Silenced"', starts_at=_instant(silence_from),
                      ends_at=_instant(start + SILENCE_END_S))
    simulated = notify(alerts, AlertmanagerConfig.from_yaml(text), silences=[silence], end=_instant(stop - 0.5))
    labels_of = {i + 1: frozenset(fired[k][0].items()) for i, k in enumerate(keys)}
    return start, boundary, _Hook.received, simulated, labels_of


def _observed(start: float, received: list[tuple[float, str, dict]]) -> list[tuple]:
    rows = []
    for at, _, body in received:
        firing = frozenset(frozenset(a["labels"].items()) for a in body["alerts"] if a["status"] == "firing")
        gone = frozenset(frozenset(a["labels"].items()) for a in body["alerts"] if a["status"] == "resolved")
        rows.append((body["receiver"], body["groupKey"], round(at - start, 3), firing, gone))
    return sorted(rows, key=lambda r: (r[0], r[1], r[2]))


def _simulated(start: float, notifications: pl.DataFrame, labels_of: dict[int, frozenset]) -> list[tuple]:
    rows = []
    for n in notifications.iter_rows(named=True):
        gone = frozenset(labels_of[i] for i in n["resolved_alert_ids"])
        firing = frozenset(labels_of[i] for i in n["alert_ids"]) - gone
        rows.append((n["receiver"], n["group_key"], round(n["sent_at"].timestamp() - start, 3), firing, gone))
    return sorted(rows, key=lambda r: (r[0], r[1], r[2]))


def test_every_webhook_call_is_simulated(observed_and_simulated):
    start, _, received, simulated, labels_of = observed_and_simulated
    observed = _observed(start, received)
    predicted = _simulated(start, simulated.notifications, labels_of)
    assert len(observed) == len(predicted), (observed, predicted)
    for got, want in zip(observed, predicted, strict=True):
        assert got[:2] == want[:2]
        assert (got[3], got[4]) == (want[3], want[4]), (got, want)
        assert abs(got[2] - want[2]) <= TOLERANCE_S, (got, want)


@pytest.mark.parametrize(("scenario", "expected_offsets"), [
    ("S1", [2.0, 7.0, 17.0, 27.0]),            # group_wait, new alert, one resolved, all resolved
    ("S2", []),                                 # resolved before group_wait
    ("S3", [8.0, 8.0, 23.0, 23.0, 38.0]),      # source; target i2 only; source resolved; i1 un-inhibited; repeat
    ("S4", [12.5, 27.5]),                       # silence ends at 9.0; repeat after 15 s (12 s rounded up)
    ("S5", [3.0, 8.0, 23.0]),                   # without send_resolved nothing is sent for resolutions
    ("S6", [9.0, 9.0, 24.0, 24.0, 39.0, 39.0]),  # continue: two receivers, repeats every 15 s
])
def test_scenarios_match_hand_computed_offsets(observed_and_simulated, scenario, expected_offsets):
    start, _, received, _, _ = observed_and_simulated
    offsets = sorted(round(at - start, 1) for at, _, body in received
                     if body["alerts"] and body["alerts"][0]["labels"]["scenario"] == scenario)
    assert offsets == pytest.approx(expected_offsets, abs=TOLERANCE_S)


def test_muted_route_notifies_at_the_first_flush_after_the_minute(observed_and_simulated):
    start, boundary, received, _, _ = observed_and_simulated
    offsets = [round(at - start, 1) for at, _, body in received
               if body["alerts"] and body["alerts"][0]["labels"]["scenario"] == "S7"]
    assert offsets[:1] == pytest.approx([boundary - start + 2.5], abs=TOLERANCE_S)
