"""``alertsim validate FILE``: every problem in one run, as a table of row, column and reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from alertsim.cli import app

runner = CliRunner()


def table_rows(output: str) -> list[tuple[str, ...]]:
    """The cells of a printed Rich table, a wrapped cell joined back into one line."""
    rows: list[list[str]] = []
    for line in output.splitlines():
        if not line.startswith("│"):
            continue
        cells = [c.strip() for c in line.strip("│").split("│")]
        if cells[0] or not rows:
            rows.append(cells)
        else:  # a continuation line of the previous row
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells, strict=True)]
    return [tuple(r) for r in rows]


def flat(output: str) -> str:
    """The output with line wrapping undone."""
    return " ".join(output.split())


def write(folder: Path, content: str, name: str = "metrics.csv") -> Path:
    path = folder / name
    path.write_text(content)
    return path


def test_five_defects_are_reported_in_one_run_with_row_and_column(tmp_path):
    path = write(tmp_path, "timestamp,metric,value,instance\n"
                 "2026-01-01T00:00:00Z,cpu,0.5,a\n"
                 "half past nine,cpu,0.5,a\n"  # 2: unparsable timestamp
                 "1767225720000,cpu,0.5,a\n"  # 3: milliseconds
                 "2026-01-01T00:03:00Z,cpu,high,a\n"  # 4: non-numeric value
                 "2026-01-01T00:04:00,cpu,0.5,a\n"  # 5: naive among offset-aware timestamps
                 "2026-01-01T00:05:00Z,,0.5,a\n")  # 6: empty metric name
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert [(row, column) for row, column, _ in table_rows(result.output)] == [
        ("2", "timestamp"), ("3", "timestamp"), ("4", "value"), ("5", "timestamp"), ("6", "metric")]
    reasons = [reason for _, _, reason in table_rows(result.output)]
    assert reasons[0].startswith("cannot parse 'half past nine' as a timestamp")
    assert "looks like milliseconds" in reasons[1]
    assert reasons[2].startswith("'high' is not a number")
    assert reasons[3].startswith("no UTC offset, but other timestamps in this file have one")
    assert reasons[4] == "empty metric name"
    assert "has 5 problems; nothing was read" in flat(result.output)


def test_valid_file_exits_zero_with_a_summary(tmp_path):
    path = write(tmp_path, "timestamp,value\n2026-01-01 00:00:00,1\n2026-01-01 00:01:00,2\n")
    result = runner.invoke(app, ["validate", str(path), "--metric", "queue_depth"])
    assert result.exit_code == 0, result.output
    assert flat(result.output).endswith("2 samples of 1 series from 1 file; 0 duplicate samples dropped, 0 rows "
                                        "re-sorted, 0 NaN and 0 ±Inf values kept")


def test_warnings_are_listed_but_do_not_fail_unless_strict(tmp_path):
    path = write(tmp_path, "timestamp,value\n0,1\n0,2\n60,NaN\n")
    relaxed = runner.invoke(app, ["validate", str(path), "--metric", "up"])
    assert relaxed.exit_code == 0
    assert [(row, column) for row, column, _ in table_rows(relaxed.output)] == [
        ("2", "timestamp"), ("3", "value")]
    assert "1 duplicate samples dropped" in flat(relaxed.output)
    strict = runner.invoke(app, ["validate", str(path), "--metric", "up", "--strict"])
    assert strict.exit_code == 1
    assert [(row, column) for row, column, _ in table_rows(strict.output)] == [("2", "timestamp")]


def test_two_column_file_without_metric_says_to_pass_it(tmp_path):
    path = write(tmp_path, "timestamp,value\n0,1\n")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    [(row, column, reason)] = table_rows(result.output)
    assert (row, column) == ("0", "metric") and "--metric NAME" in reason


def test_incidents(tmp_path):
    path = write(tmp_path, "incident_id,service,started_at,resolved_at,severity\nA,web,0,60,SEV1\n"
                 "B,web,120,60,SEV2\n", name="incidents.csv")
    result = runner.invoke(app, ["validate", str(path), "--kind", "incidents"])
    assert result.exit_code == 1
    assert table_rows(result.output) == [
        ("2", "resolved_at", "resolved_at 1970-01-01T00:01:00Z is before started_at 1970-01-01T00:02:00Z")]
    good = write(tmp_path, "incident_id,service,started_at,resolved_at,severity\nA,web,0,60,SEV1\n", "good.csv")
    result = runner.invoke(app, ["validate", str(good), "--kind", "incidents"])
    assert result.exit_code == 0 and "1 incident of 1 service" in flat(result.output)


@pytest.mark.parametrize("arguments", [
    ["--metric", ""],
    ["--kind", "incidents", "--metric", "up"],
])
def test_bad_arguments_exit_2_without_a_traceback(tmp_path, arguments):
    path = write(tmp_path, "timestamp,value\n0,1\n")
    result = runner.invoke(app, ["validate", str(path), *arguments])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_problems_across_files_show_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    write(tmp_path / "in", "timestamp,value\nx,1\n", "a.csv")
    write(tmp_path / "in", "timestamp,value\n0,y\n", "b.csv")
    result = runner.invoke(app, ["validate", "in", "--metric", "up"])
    assert result.exit_code == 1
    assert [cells[:3] for cells in table_rows(result.output)] == [
        ("in/a.csv", "1", "timestamp"), ("in/b.csv", "1", "value")]


def test_missing_file(tmp_path):
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.csv")])
    assert result.exit_code == 1
    assert "no such file or directory" in flat(result.output)
