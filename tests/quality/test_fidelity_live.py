"""``alertsim fidelity`` against production: a real Prometheus scrapes a target served by this test,
whose value changes on a schedule, and evaluates real rules as the samples arrive (1 s scrape and
evaluation intervals). The series the rules read and the ``ALERTS`` history are then fetched, the rules
replayed at the evaluation offset Prometheus used, and every production episode is matched exactly."""

from __future__ import annotations

import datetime as dt
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from alertsim.cli import app
from alertsim.io.prometheus import fetch_rules, write_metrics
from alertsim.quality.fidelity import compare_firing, production_episodes
from alertsim.replay import replay
from alertsim.rules.prometheus import parse_prometheus_rules
from alertsim.testing import start_prometheus
from tests.conftest import require_binary

RULES = """\
groups:
- name: demo
  rules:
  - record: shard:demo_load:max
    expr: max by (shard) (demo_load)
  - alert: LoadHigh
    expr: demo_load > 5
    for: 3s
    labels: {severity: page}
  - alert: LoadSpike
    expr: shard:demo_load:max > 8
"""
#: Seconds after the start during which the target reports a high load (10 on shard a, 7 on shard b).
HIGH = [(12.0, 24.0), (31.0, 35.0), (42.0, 49.0)]
RUN_S = 60.0


class _Target(http.server.BaseHTTPRequestHandler):
    started = 0.0

    def do_GET(self) -> None:
        now = time.time() - self.started
        high = any(a <= now < b for a, b in HIGH)
        body = (f'demo_load{{shard="a"}} {10 if high else 1}\n'
                f'demo_load{{shard="b"}} {7 if high and now >= 15 else 2}\n').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dt.datetime, dt.datetime]]:
    require_binary("prometheus", package="prometheus")
    handler = type("Target", (_Target,), {"started": time.time()})
    target = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=target.serve_forever, daemon=True).start()
    config = ("global: {scrape_interval: 1s, evaluation_interval: 1s}\nrule_files: [rules.yml]\nscrape_configs:\n"
              f"- job_name: demo\n  static_configs: [{{targets: ['127.0.0.1:{target.server_address[1]}']}}]\n")
    folder = tmp_path_factory.mktemp("production")
    try:
        with start_prometheus(config=config, files={"rules.yml": RULES}) as server:
            start = dt.datetime.fromtimestamp(handler.started, dt.UTC)
            time.sleep(max(0.0, handler.started + RUN_S - time.time()))
            end = dt.datetime.fromtimestamp(time.time() - 1, dt.UTC).replace(microsecond=0)
            frame = fetch_rules(server.url, parse_prometheus_rules(RULES), start=start, end=end,
                                alerts_history=True, chunk="20s")
    finally:
        target.shutdown()
    write_metrics(frame.filter(pl.col("metric") != "ALERTS").drop("alertname", "alertstate", "severity",
                                                                  strict=False), str(folder / "metrics.parquet"))
    write_metrics(frame.filter(pl.col("metric") == "ALERTS"), str(folder / "alerts.parquet"))
    (folder / "rules.yml").write_text(RULES)
    yield folder, start, end


def test_the_replay_matches_every_production_episode(production: tuple[Path, dt.datetime, dt.datetime]) -> None:
    folder, start, end = production
    history = pl.read_parquet(folder / "alerts.parquet")
    episodes = production_episodes(history, end=end)
    assert set(episodes["alertname"]) == {"LoadHigh", "LoadSpike"} and episodes.height >= 6
    (offset,) = episodes["offset_s"].unique().to_list()
    result = replay(pl.read_parquet(folder / "metrics.parquet"), parse_prometheus_rules(RULES),
                    eval_interval="1s", eval_offset=dt.timedelta(seconds=offset), start=start, end=end)
    fidelity = compare_firing(result.alerts, episodes, replay_offset_s=offset)
    assert fidelity.matched_pct == 100.0, fidelity.episodes.filter(~pl.col("match"))
    assert fidelity.rules["max_fired_diff_s"].to_list() == [0.0, 0.0]


def test_the_command_reports_the_offset_then_matches_with_it(production: tuple[Path, dt.datetime, dt.datetime],
                                                               tmp_path: Path) -> None:
    folder, start, end = production
    offset = production_episodes(pl.read_parquet(folder / "alerts.parquet"), end=end)["offset_s"][0]
    runner = CliRunner()
    span = ["--start", start.isoformat(), "--end", end.isoformat(), "--eval-interval", "1s"]
    for name, extra in (("plain", []), ("offset", ["--eval-offset", f"{round(offset * 1000)}ms"])):
        run = tmp_path / name
        result = runner.invoke(app, ["replay", str(folder / "metrics.parquet"), "--rules", str(folder / "rules.yml"),
                                     "--out", str(run), *span, *extra])
        assert result.exit_code == 0, result.output
        result = runner.invoke(app, ["fidelity", str(run), "--alerts-history", str(folder / "alerts.parquet")])
        assert result.exit_code == 0, result.output
        table = pl.read_parquet(run / "fidelity.parquet")
        if name == "plain" and offset % 1:
            assert "evaluation offset" in " ".join(table["causes"].to_list())
        else:
            assert table["matched_pct"].to_list() == [100.0, 100.0] and "100.0% of episodes" in result.output
    result = runner.invoke(app, ["report", str(tmp_path / "offset"), "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "report" / "index.html").read_text()
    assert "Fidelity against production" in html and "episodes match (100.0%)" in html


def test_mismatches_name_their_likely_causes() -> None:
    t = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    s = dt.timedelta(seconds=1)
    history = pl.DataFrame({"timestamp": [t + k * 60 * s + 13 * s for k in (0, 1, 2, 10, 11)],
                            "metric": "ALERTS", "value": 1.0, "alertstate": "firing",
                            "alertname": ["Hot", "Hot", "Hot", "Gone", "Gone"], "host": "a"})
    production = production_episodes(history, end=t + 3600 * s)
    alerts = pl.DataFrame({"rule": "Hot", "series": 'Hot{host="a"}', "fired_at": [t],
                           "resolved_at": [t + 180 * s]})
    fidelity = compare_firing(alerts, production, replayed_rules={"Hot"},
                              gaps=[(int((t - 120 * s).timestamp() * 1e6), int((t + 30 * s).timestamp() * 1e6))])
    causes = dict(fidelity.rules.select("rule", "causes").rows())
    assert "evaluation offset: production evaluates 13s into each interval" in causes["Hot"]
    assert "rule changes: the replayed rules define no alert of this name" in causes["Gone"]
    assert fidelity.rules["matched"].sum() == 0 and fidelity.matched_pct == 0.0
