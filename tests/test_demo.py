"""The main job on the bundled sample: every stage runs and the report has every section."""

from __future__ import annotations

from typer.testing import CliRunner

from alertsim.cli import app


def test_demo_writes_the_full_report(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo"), "--replicates", "50"])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "demo" / "index.html").read_text()
    for section in ("Executive summary", "Recommendations", "Rule quality", "Tuning", "When pages arrive",
                    "Interruptions and fairness", "Response times", "Simulated on-call designs"):
        assert section in html, section
    run = tmp_path / "demo" / "run"
    for frame in ("alerts", "quality", "notifications", "pages", "interruptions", "sim_summary", "tune_candidates"):
        assert (run / f"{frame}.parquet").is_file(), frame
    assert "retune to HighLatency[" in (tmp_path / "demo" / "report.md").read_text().replace("\\", "")
