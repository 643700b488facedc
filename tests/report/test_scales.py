"""Fairness indices on different scales (Gini 0–1, equity 0–100) never share a table without their units:
not in the terminal, not in the report."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from alertsim.cli import app
from alertsim.io.rundir import write_run
from alertsim.quality.fairness import fairness
from alertsim.report.html import build_report
from alertsim.report.tables import header
from tests.quality.test_fatigue import PAGES_WEEK, SHIFTS_WEEK

BURDEN = pl.DataFrame({"responder": ["ana", "bo", "cy"], "interruptions": [6, 2, 1], "off_hours": [3, 1, 0],
                       "sleep": [2, 0, 0]})


def test_every_fairness_index_names_its_scale() -> None:
    for column in fairness(BURDEN).columns:
        if any(column.endswith(k) for k in ("gini", "equity", "pairwise_balance", "max_mean_ratio")):
            assert re.search(r"\((0–1|0–100|≥ 1),", header(column)), column
    assert header("sleep_gini") == "sleep gini (0–1, 0 = even)"
    assert header("pages_per_week") == "pages per week"


def test_the_terminal_fairness_table_shows_the_scales(tmp_path: Path) -> None:
    pages, shifts = tmp_path / "pages.parquet", tmp_path / "shifts.csv"
    PAGES_WEEK.write_parquet(pages)
    SHIFTS_WEEK.with_columns(pl.col("start_at", "end_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).write_csv(shifts)
    for width in (80, 150):
        result = CliRunner().invoke(app, ["fatigue", str(pages), "--shifts", str(shifts), "--start",
                                          "2026-01-05T00:00:00Z", "--end", "2026-01-12T00:00:00Z"],
                                    env={"COLUMNS": str(width)})
        assert result.exit_code == 0, result.output
        table = result.output[result.output.index("Fairness of the on-call burden"):]
        if width == 150:
            assert "gini (0–1, 0 = even)" in table and "equity (0–100, 100 = even)" in table, table
        else:  # the headers wrap between words
            assert "(0–1," in table and "(0–100," in table, table


def test_the_report_fairness_table_shows_the_scales(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", {"fatigue_responders": BURDEN}, manifest={"command": "test"})
    out = build_report(run, tmp_path / "report")
    markdown = (out / "report.md").read_text()
    row = next(line for line in markdown.splitlines() if line.startswith("|") and "equity" in line)
    row = row.replace("\\", "")  # Markdown escapes the parentheses
    assert "gini (0–1, 0 = even)" in row and "equity (0–100, 100 = even)" in row
    html = (out / "index.html").read_text()
    assert "equity (0–100, 100 = even)" in html and "gini (0–1, 0 = even)" in html
