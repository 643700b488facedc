"""What ``alertsim notify`` says about pages: a config that pages nobody says so, and a short replay
is described in hours."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from alertsim.cli import app

ROOT = Path(__file__).resolve().parents[2]
METRICS = ROOT / "data" / "sample" / "metrics.parquet"
RULES = ROOT / "data" / "rules" / "sample.yaml"


def _run(tmp_path: Path, *args: str) -> Path:
    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["replay", str(METRICS), "--rules", str(RULES), "--out", str(run), *args])
    assert result.exit_code == 0, result.output
    return run


def test_a_config_without_paging_integrations_says_nobody_is_paged(tmp_path):
    config = tmp_path / "slack-only.yml"
    config.write_text("route: {receiver: chat}\nreceivers:\n- name: chat\n  slack_configs: "
                      "[{api_url: 'https://hooks.example/x', channel: '#alerts'}]\n")
    result = CliRunner().invoke(app, ["notify", str(_run(tmp_path, "--end", "2026-03-09T00:00:00Z")),
                                      "--config", str(config)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "no receiver of" in text and "has a paging integration" in text
    assert "0 pages: no receiver pages anyone" in text
    assert "pages per week" not in text


def test_a_short_replay_is_described_in_hours(tmp_path):
    run = _run(tmp_path, "--start", "2026-03-02T00:00:00Z", "--end", "2026-03-02T06:00:00Z")
    result = CliRunner().invoke(app, ["notify", str(run), "--config",
                                      str(ROOT / "data" / "alertmanager" / "sample.yml")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "over the replayed 6.0 hours" in text
    assert "0 days" not in text
