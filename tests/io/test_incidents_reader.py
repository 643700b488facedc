"""``read_incidents``: the Incidents frame from a generic CSV or Parquet export, and its checks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import alertsim
from alertsim.errors import InputError
from alertsim.frames import INCIDENTS, validate
from alertsim.io.incidents import read_incidents

HEADER = "incident_id,service,started_at,acknowledged_at,resolved_at,severity\n"
ALLOWED = ("incident_id, service, started_at, resolved_at, severity, acknowledged_at, responder, kind, "
           "urgency, title")
MIXED = ("no UTC offset, but other timestamps in this file have one; mixing naive and offset-aware "
         "timestamps is ambiguous: give every timestamp an offset, or none (UTC)")


def write(folder: Path, content: str, name: str = "incidents.csv") -> Path:
    path = folder / name
    path.write_text(content)
    return path


def problems_of(path: Path) -> list[tuple[int | None, str | None, str]]:
    with pytest.raises(InputError) as caught:
        read_incidents(path)
    return [(p.row, p.column, p.reason) for p in caught.value.problems]


def test_reads_required_and_optional_columns(tmp_path):
    path = write(tmp_path, "incident_id,service,started_at,acknowledged_at,resolved_at,severity,responder\n"
                 "INC-2,search,2026-01-02T10:00:00Z,,,SEV3,\n"
                 "INC-1,checkout,2026-01-01T12:00:00+01:00,2026-01-01T11:05:00Z,2026-01-01T12:00:00Z,SEV1,ana\n")
    frame = read_incidents(path)
    assert frame.columns == ["incident_id", "service", "started_at", "resolved_at", "severity",
                             "acknowledged_at", "responder"]
    assert frame.rows() == [
        ("INC-1", "checkout", datetime(2026, 1, 1, 11, tzinfo=UTC), datetime(2026, 1, 1, 12, tzinfo=UTC),
         "SEV1", datetime(2026, 1, 1, 11, 5, tzinfo=UTC), "ana"),
        ("INC-2", "search", datetime(2026, 1, 2, 10, tzinfo=UTC), None, "SEV3", None, None),
    ]
    assert validate(frame, INCIDENTS) is frame


BAD_INCIDENTS = [
    pytest.param(
        HEADER.replace("acknowledged_at", "acknowleged_at") + "A,web,0,60,120,SEV1\n",
        [(0, "acknowleged_at", f"unknown column; allowed: {ALLOWED}")],
        id="unknown column (typo)"),
    pytest.param(
        "incident_id,service,started_at\nA,web,0\n",
        [(0, "resolved_at", "missing column; an incidents file has incident_id, service, started_at, "
                            "resolved_at, severity and optionally acknowledged_at, responder, kind, urgency, "
                            "title"),
         (0, "severity", "missing column; an incidents file has incident_id, service, started_at, "
                         "resolved_at, severity and optionally acknowledged_at, responder, kind, urgency, "
                         "title")],
        id="missing columns"),
    pytest.param(
        HEADER + "A,web,600,,0,SEV1\n",
        [(1, "resolved_at", "resolved_at 1970-01-01T00:00:00Z is before started_at 1970-01-01T00:10:00Z")],
        id="resolved before started"),
    pytest.param(
        HEADER + "A,web,600,0,1200,SEV1\nB,web,600,1800,1200,SEV1\n",
        [(1, "acknowledged_at", "acknowledged_at 1970-01-01T00:00:00Z is before started_at "
                                "1970-01-01T00:10:00Z"),
         (2, "acknowledged_at", "acknowledged_at 1970-01-01T00:30:00Z is after resolved_at "
                                "1970-01-01T00:20:00Z")],
        id="acknowledged outside the incident"),
    pytest.param(
        HEADER + "A,web,0,,60,SEV1\nB,web,0,,60,SEV1\nA,db,0,,60,SEV2\n",
        [(3, "incident_id", "duplicate incident_id A: row 1 has the same id")],
        id="repeated incident_id"),
    pytest.param(
        HEADER + ",,,,,\n",
        [(1, "incident_id", "empty incident_id"), (1, "service", "empty service"),
         (1, "started_at", "empty timestamp")],
        id="empty required cells"),
    pytest.param(
        HEADER + "A,web,2026-01-01T00:00:00Z,,2026-01-01T01:00:00,SEV1\n",
        [(1, "resolved_at", MIXED)],
        id="mixed naive and offset-aware"),
    pytest.param(
        HEADER + "A,web,soon,,later,SEV1\n",
        [(1, "started_at", "cannot parse 'soon' as a timestamp; expected ISO-8601 such as "
                           "2026-01-31T12:00:00Z or 2026-01-31 12:00:00.250+02:00, or Unix seconds"),
         (1, "resolved_at", "cannot parse 'later' as a timestamp; expected ISO-8601 such as "
                            "2026-01-31T12:00:00Z or 2026-01-31 12:00:00.250+02:00, or Unix seconds")],
        id="unparsable timestamps"),
    pytest.param(
        HEADER,
        [(None, None, "no data rows: the file has a header only")],
        id="header only"),
]


@pytest.mark.parametrize(("content", "expected"), BAD_INCIDENTS)
def test_bad_incidents_are_reported_with_row_column_and_reason(tmp_path, content, expected):
    assert problems_of(write(tmp_path, content)) == expected


def test_repeated_ids_across_files_name_the_first_file(tmp_path):
    first = write(tmp_path, HEADER + "A,web,0,,60,SEV1\n", "a.csv")
    second = write(tmp_path, HEADER + "A,db,0,,60,SEV1\n", "b.csv")
    with pytest.raises(InputError) as caught:
        read_incidents(tmp_path)
    [problem] = caught.value.problems
    assert (problem.file, problem.row) == (str(second), 1)
    assert problem.reason == f"duplicate incident_id A: row 1 of {first} has the same id"


def test_incidents_csv_parquet_round_trip(tmp_path):
    path = write(tmp_path, HEADER.replace("\n", ",kind,title,urgency\n")
                 + "7,checkout,1767225600,1767225660,1767229200,SEV2,spike,\"Checkout, slow\",high\n")
    from_csv = read_incidents(path)
    assert from_csv["incident_id"].to_list() == ["7"]
    assert from_csv["title"].to_list() == ["Checkout, slow"]
    from_csv.write_parquet(tmp_path / "incidents.parquet")
    assert_frame_equal(read_incidents(tmp_path / "incidents.parquet"), from_csv)


def test_parquet_with_integer_ids_and_zoned_datetimes(tmp_path):
    started = pl.Series([datetime(2026, 1, 1, 9)]).dt.replace_time_zone("America/New_York")
    pl.DataFrame({"incident_id": [42], "service": ["search"], "started_at": started,
                  "resolved_at": [None], "severity": [None]},
                 schema_overrides={"resolved_at": pl.Datetime("us"), "severity": pl.String}
                 ).write_parquet(tmp_path / "i.parquet")
    frame = read_incidents(tmp_path / "i.parquet")
    assert frame.row(0) == ("42", "search", datetime(2026, 1, 1, 14, tzinfo=UTC), None, None)


def test_public_name():
    assert alertsim.read_incidents is read_incidents
