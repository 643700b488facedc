"""One frame to one file: ``csv_ready`` and ``write_frame`` (every ``--out FILE`` goes through them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from alertsim.errors import ConfigError, InputError
from alertsim.io.rundir import csv_ready, frame_format, write_frame

FRAME = pl.DataFrame({
    "incident_id": ["P1", "P2"],
    "started_at": [datetime(2026, 1, 5, 2, 14, tzinfo=UTC), datetime(2026, 1, 5, 2, 14, 0, 250_000, tzinfo=UTC)],
    "assignees": [["Ana", "Bo"], None],
    "took": [timedelta(minutes=1, seconds=30), None],
})


@pytest.mark.parametrize(("name", "kind"), [
    ("incidents.parquet", "parquet"), ("incidents.pq", "parquet"), ("INCIDENTS.PARQUET", "parquet"),
    ("incidents.csv", "csv"), ("incidents.CSV", "csv"),
])
def test_the_suffix_tells_the_format(name: str, kind: str) -> None:
    assert frame_format(name) == kind


@pytest.mark.parametrize("name", ["incidents.json", "incidents.csv.gz", "incidents"])
def test_other_suffixes_are_a_config_error_and_write_nothing(tmp_path, name: str) -> None:
    with pytest.raises(ConfigError, match=r"field 'out'.*must end in \.parquet or \.csv"):
        write_frame(FRAME, tmp_path / "sub" / name)
    assert not (tmp_path / "sub").exists()


def test_csv_holds_instants_as_utc_text_lists_as_json_and_durations_as_seconds(tmp_path) -> None:
    out = write_frame(FRAME, tmp_path / "new" / "incidents.csv")
    assert out.read_text().splitlines() == [
        "incident_id,started_at,assignees,took",
        'P1,2026-01-05T02:14:00Z,"[""Ana"", ""Bo""]",90.0',
        "P2,2026-01-05T02:14:00.250Z,,",
    ]
    assert [p.name for p in out.parent.iterdir()] == ["incidents.csv"]


def test_parquet_keeps_the_frame_as_it_is(tmp_path) -> None:
    assert pl.read_parquet(write_frame(FRAME, tmp_path / "incidents.parquet")).equals(FRAME)


def test_csv_ready_does_not_touch_plain_columns_or_its_input() -> None:
    plain = pl.DataFrame({"a": [1, None], "b": ["x", "y"]})
    assert csv_ready(plain).equals(plain)
    assert csv_ready(FRAME).schema["started_at"] == pl.String
    assert FRAME.schema["started_at"] == pl.Datetime("us", "UTC")


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch) -> None:
    out = write_frame(FRAME, tmp_path / "incidents.csv")
    before = out.read_bytes()

    def disk_full(self: pl.DataFrame, file: Path) -> None:
        Path(file).write_text("incident_id,sta")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_csv", disk_full)
    with pytest.raises(InputError, match="disk is full"):
        write_frame(FRAME, out)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["incidents.csv"]


def test_fetch_refuses_an_out_it_cannot_write_before_it_downloads(tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    import alertsim.io.prometheus
    from alertsim.cli import app

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("fetched although --out cannot be written")

    monkeypatch.setattr(alertsim.io.prometheus, "fetch", no_download)
    result = CliRunner().invoke(app, ["fetch", "prometheus", "--url", "http://prometheus:9090", "--query", "up",
                                      "--start", "now-1h", "--out", str(tmp_path / "metrics.json")])
    assert result.exit_code == 2
    assert "'metrics.json' must end in .parquet or .csv" in result.output
    assert not list(tmp_path.iterdir())
