"""The fatigue report and postmortem timelines from a run directory, and the page in a real browser."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import polars as pl
import pytest
import yaml

from alertsim.io.rundir import write_run
from alertsim.quality.detection import missed_incidents, score
from alertsim.replay import replay
from alertsim.report.html import build_report
from alertsim.report.postmortem import postmortem
from alertsim.rules import parse_rules
from alertsim.tune import tune
from tests.conftest import require_binary
from tests.report.conftest import GRID

EVIL = '<script>alert("x")</script>&'


@pytest.fixture(scope="module")
def run_dir(world, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("run")
    doc = {"rules": [
        {"name": "HighCPU", "metric": "cpu", "value": 70, "for": "0s", "labels": {"team": "payments"}},
        {"name": f"Noisy{EVIL}", "metric": "cpu", "value": 58, "labels": {"team": "payments"}},
    ]}
    rules_file = root / "rules.yaml"
    rules_file.write_text(yaml.safe_dump(doc))
    metrics_file = root / "metrics.parquet"
    world["metrics"].write_parquet(metrics_file)
    result = replay(world["metrics"], parse_rules(doc))
    tuned = tune(world["metrics"], parse_rules(GRID), world["incidents"], budget="3/week")
    frames = {
        "alerts": result.alerts,
        "incidents": world["incidents"],
        "quality": score(result.alerts, world["incidents"], rules=[r.name for r in result.rules]),
        "missed": missed_incidents(result.alerts, world["incidents"]),
        "tune_candidates": tuned.candidates,
        "tune_recommendations": tuned.recommendations,
    }
    out = root / "run"
    write_run(out, frames, manifest={"command": "test", "start": result.start.isoformat(),
                                     "end": result.end.isoformat(), "eval_interval": "1m",
                                     "metrics": {"path": str(metrics_file)}},
              files={"rules.yaml": rules_file})
    return out


@pytest.fixture(scope="module")
def report(run_dir, tmp_path_factory) -> Path:
    return build_report(run_dir, tmp_path_factory.mktemp("report") / "weekly", title=f"Weekly {EVIL}")


def test_report_writes_html_markdown_and_pngs(report):
    html = (report / "index.html").read_text()
    for section in ("Executive summary", "Recommendations", "Rule quality", "Tuning"):
        assert section in html
    assert (report / "report.md").read_text().startswith("# Weekly")
    assert (report / "figures" / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert html.count('src="data:image/png;base64,') == len(list((report / "figures").glob("*.png")))


def test_a_run_without_incidents_shows_what_each_rule_did(world, tmp_path):
    # replay only: no quality to show, so the report says what each rule did (and escapes its name)
    doc = {"rules": [{"name": "HighCPU", "metric": "cpu", "value": 70},
                     {"name": f"Noisy{EVIL}", "metric": "cpu", "value": 58}]}
    result = replay(world["metrics"], parse_rules(doc))
    run = tmp_path / "run"
    write_run(run, {"alerts": result.alerts}, manifest={"command": "replay", "start": result.start.isoformat(),
                                                        "end": result.end.isoformat()})
    out = build_report(run, tmp_path / "report")
    markdown = (out / "report.md").read_text()
    assert "## What each rule did" in markdown and "Rule quality" not in markdown
    rows = [line for line in markdown.splitlines() if line.startswith("| Noisy") or line.startswith("| HighCPU")]
    noisy = result.alerts.filter(pl.col("rule") == f"Noisy{EVIL}").height
    assert rows[0].startswith("| Noisy\\<script\\>") and f"| {noisy} |" in rows[0]  # loudest first
    assert "&lt;script&gt;" in (out / "index.html").read_text()


def test_user_data_is_escaped(report):
    html = (report / "index.html").read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(" in html
    assert "\\<script\\>" in (report / "report.md").read_text()


def test_noisy_rule_is_recommended_for_cutting_or_retuning(run_dir):
    from alertsim.report.html import load_frames, recommendations

    recs = recommendations(load_frames(run_dir), weeks=2.0)
    assert recs["rule"][0] == f"Noisy{EVIL}"
    assert recs["pages_saved_per_week"][0] > 1


def test_postmortem_timeline(run_dir, tmp_path):
    out = postmortem(run_dir, "INC-1", tmp_path / "pm")
    assert (out / "timeline.png").stat().st_size > 10_000
    md = (out / "postmortem.md").read_text()
    assert "HighCPU" in md and "INC-1" in md


def test_postmortem_unknown_incident_is_an_input_error(run_dir, tmp_path):
    from alertsim.errors import InputError

    with pytest.raises(InputError, match="INC-404"):
        postmortem(run_dir, "INC-404", tmp_path / "pm")


CHECK = """<script>
window.addEventListener('load', () => {
  const imgs = [...document.querySelectorAll('img[data-figure]')];
  document.body.setAttribute('data-check', JSON.stringify(imgs.map(i => [i.dataset.figure, i.naturalWidth])));
});
</script></body>"""


def _chromium(url: str, profile: Path) -> subprocess.CompletedProcess[str]:
    binary = require_binary("chromium", package="chromium")
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
         "--dump-dom", url], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.chromium
def test_report_loads_in_chromium_without_console_messages_and_shows_its_figures(report, tmp_path):
    plain = _chromium((report / "index.html").as_uri(), tmp_path / "p1")
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert "Executive summary" in plain.stdout
    console = [line for line in plain.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    checked = tmp_path / "checked.html"
    checked.write_text((report / "index.html").read_text().replace("</body>", CHECK))
    run = _chromium(checked.as_uri(), tmp_path / "p2")
    found = re.search(r'data-check="([^"]*)"', run.stdout)
    assert found, run.stdout[-1000:]
    sizes = json.loads(found.group(1).replace("&quot;", '"'))
    assert len(sizes) >= 1 and all(width > 100 for _, width in sizes)
