"""``--format table|csv|json|markdown`` on the commands that print tables, and tables a person can read in
a terminal from 80 to 150 columns: whole rule names, headers wrapped between words, nothing past the edge."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from alertsim.cli import app
from alertsim.io.rundir import write_run
from tests.quality.test_detection import ALERTS_API, ALERTS_DB, alerts_frame
from tests.quality.test_fatigue import PAGES_WEEK, SHIFTS_WEEK

REPO = Path(__file__).resolve().parents[1]
SAMPLE_RULES = REPO / "data" / "rules" / "sample.yaml"


@pytest.fixture()
def inputs(tmp_path: Path) -> dict[str, Path]:
    pages, shifts = tmp_path / "pages.parquet", tmp_path / "shifts.csv"
    PAGES_WEEK.write_parquet(pages)
    SHIFTS_WEEK.with_columns(pl.col("start_at", "end_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).write_csv(shifts)
    long_name = "CheckoutApiErrorBudgetBurnFastWindow"
    alerts = alerts_frame(ALERTS_API + ALERTS_DB).with_columns(
        pl.when(pl.col("rule") == "ApiErrors").then(pl.lit(long_name)).otherwise(pl.col("rule")).alias("rule"))
    run = write_run(tmp_path / "run", {"alerts": alerts}, manifest={
        "command": "replay", "start": "2026-03-02T00:00:00+00:00", "end": "2026-03-09T00:00:00+00:00"})
    incidents = tmp_path / "incidents.csv"
    incidents.write_text("incident_id,service,started_at,resolved_at,severity\n"
                         "INC-1,api,2026-03-02T10:00:00Z,2026-03-02T11:00:00Z,SEV2\n"
                         "INC-3,db,2026-03-02T20:00:00Z,,SEV1\n")
    return {"pages": pages, "shifts": shifts, "run": run, "incidents": incidents}


def commands(inputs: dict[str, Path]) -> dict[str, list[str]]:
    return {
        "fatigue": ["fatigue", str(inputs["pages"]), "--shifts", str(inputs["shifts"]),
                    "--start", "2026-01-05T00:00:00Z", "--end", "2026-01-12T00:00:00Z"],
        "score": ["score", str(inputs["run"]), "--incidents", str(inputs["incidents"])],
        "lint": ["lint", str(SAMPLE_RULES)],
    }


def run(args: list[str], width: int = 150) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args, env={"COLUMNS": str(width)}, terminal_width=width)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("name", ["fatigue", "score", "lint"])
def test_csv_and_json_print_only_rows_on_stdout(inputs, name):
    args = commands(inputs)[name]
    code, out, err = run([*args, "--format", "json"])
    assert code == 0, out + err
    tables = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert tables and all(set(t) == {"title", "rows"} and isinstance(t["rows"], list) for t in tables)
    assert "wrote" not in out and "┃" not in out
    code, out, err = run([*args, "--format", "csv"])
    assert code == 0
    first = out.split("\n\n")[0] if "\n\n" in out else out
    frame = pl.read_csv(io.StringIO(first))
    assert frame.height == len(tables[0]["rows"]) and frame.columns == list(tables[0]["rows"][0])
    code, out, err = run([*args, "--format", "markdown"])
    assert code == 0
    rows = [line for line in out.splitlines() if line.startswith("|")]
    assert rows[1].startswith("|---") and len(rows) >= 3


def test_csv_and_json_keep_durations_as_seconds(inputs):
    _, out, _ = run([*commands(inputs)["score"], "--format", "json"])
    quality = json.loads(out.splitlines()[0])["rows"]
    detected = [r["time_to_detect_median"] for r in quality if r["time_to_detect_median"] is not None]
    assert detected and all(isinstance(v, int | float) for v in detected)


def test_an_unknown_format_is_a_usage_error(inputs):
    code, out, err = run([*commands(inputs)["score"], "--format", "xml"])
    assert code == 2 and "table, csv, json, markdown" in out + err and "Traceback" not in out + err


@pytest.mark.parametrize("width", [80, 150])
@pytest.mark.parametrize("name", ["fatigue", "score", "lint"])
def test_tables_are_readable_at_80_and_150_columns(inputs, name, width):
    code, out, _ = run(commands(inputs)[name], width=width)
    assert code == 0, out
    assert max(len(line) for line in out.splitlines()) <= width
    if name == "score":  # a long rule name is never cut into pieces
        assert "CheckoutApiErrorBudgetBurnFastWindow" in out
    if name == "lint":
        assert all(rule in out for rule in ("LatencyWeekOverWeek", "HighErrorRate", "QueueBacklog"))
    # every header word is whole: no header cell ends inside a word that continues on the next line
    for table in re.findall(r"┏[^\n]*\n(.*?)┡", out, flags=re.S):
        cells = [[c.strip() for c in line.strip().strip("┃").split("┃")] for line in table.splitlines()]
        for column in zip(*cells, strict=False):
            words = " ".join(c for c in column if c).split()
            assert all(len(w) >= 2 or not w.isalpha() or w in "a" for w in words), column
