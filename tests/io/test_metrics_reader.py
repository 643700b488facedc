"""``read_metrics`` / ``load_metrics``: what they accept, what they report, and how.

Every bad input is an ``InputError`` listing every problem with its file, 1-based data row (the header
is row 0) and column; the case tables below spell out the exact reasons.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import alertsim
from alertsim.errors import ConfigError, InputError
from alertsim.io.metrics import MetricsRead, load_metrics, read_metrics

FORMS = "expected ISO-8601 such as 2026-01-31T12:00:00Z or 2026-01-31 12:00:00.250+02:00, or Unix seconds"
VALID_TIME = ("is not a valid date and time (month 01-12, day within the month, hour 00-23, minute and "
              "second 00-59, offset up to ±23:59)")
MIXED = ("no UTC offset, but other timestamps in this file have one; mixing naive and offset-aware "
         "timestamps is ambiguous: give every timestamp an offset, or none (UTC)")
NOT_A_NUMBER = "is not a number; use a decimal number, NaN, Inf, +Inf or -Inf"
LONG_HEADER = "timestamp,metric,value,job\n"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(minutes: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes)


def write(folder: Path, content: str | bytes, name: str = "metrics.csv") -> Path:
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def problems_of(path: Path, **options: object) -> list[tuple[int | None, str | None, str]]:
    """(row, column, reason) of every problem reading ``path`` raises."""
    with pytest.raises(InputError) as caught:
        read_metrics(path, **options)  # type: ignore[arg-type]
    assert {p.file for p in caught.value.problems} == {str(path)}
    return [(p.row, p.column, p.reason) for p in caught.value.problems]


# ----------------------------------------------------------------------------------------------------
# Bad input: one case per class of problem


BAD_INPUT = [
    pytest.param(
        LONG_HEADER + "2026-01-01T00:00:00Z,up,1,api\nyesterday,up,1,api\n", {},
        [(2, "timestamp", f"cannot parse 'yesterday' as a timestamp; {FORMS}")],
        id="unparsable timestamp"),
    pytest.param(
        LONG_HEADER + "2026-02-30T00:00:00Z,up,1,api\n2026-01-01T23:59:60Z,up,1,api\n", {},
        [(1, "timestamp", f"'2026-02-30T00:00:00Z' {VALID_TIME}"),
         (2, "timestamp", f"'2026-01-01T23:59:60Z' {VALID_TIME}")],
        id="impossible date, leap second"),
    pytest.param(
        LONG_HEADER + "1767225600000,up,1,api\n", {},
        [(1, "timestamp", "'1767225600000' is larger than 1e11: it looks like milliseconds; Unix "
                          "timestamps must be in seconds")],
        id="milliseconds"),
    pytest.param(
        LONG_HEADER + "2026-01-01T00:00:00Z,up,1,api\n2026-01-01T00:01:00+00:00,up,1,api\n"
        "2026-01-01T00:02:00,up,1,api\n", {},
        [(3, "timestamp", MIXED)],
        id="mixed naive and offset-aware"),
    pytest.param(
        LONG_HEADER + ",up,1,api\n", {},
        [(1, "timestamp", "empty timestamp")],
        id="empty timestamp"),
    pytest.param(
        "timestamp,metric\n2026-01-01T00:00:00Z,up\n", {},
        [(0, "value", "missing column; a metrics file has timestamp, value, metric and label columns, "
                      "got timestamp, metric")],
        id="missing value column"),
    pytest.param(
        "Timestamp,value\n2026-01-01T00:00:00Z,1\n", {"metric": "up"},
        [(0, "timestamp", "missing column; a metrics file has timestamp, value, metric and label columns, "
                          "got Timestamp, value (column names are case-sensitive: rename 'Timestamp' to "
                          "'timestamp')")],
        id="missing column, other case"),
    pytest.param(
        "timestamp,value\n2026-01-01T00:00:00Z,1\n", {},
        [(0, "metric", "missing column: without a metric column this is a timestamp,value file, so pass "
                       "the metric name: metric=NAME (alertsim validate --metric NAME)")],
        id="two-column file without metric="),
    pytest.param(
        LONG_HEADER + "2026-01-01T00:00:00Z,up,abc,api\n2026-01-01T00:01:00Z,up,,api\n"
        "2026-01-01T00:02:00Z,up,1e400,api\n2026-01-01T00:03:00Z,up,infinity,api\n", {},
        [(1, "value", f"'abc' {NOT_A_NUMBER}"),
         (2, "value", "empty value"),
         (3, "value", "'1e400' is beyond the range of a 64-bit float"),
         (4, "value", f"'infinity' {NOT_A_NUMBER}")],
        id="non-numeric values"),
    pytest.param(
        LONG_HEADER + "2026-01-01T00:00:00Z,up,1,api\n2026-01-01T00:00:00Z,up,2,api\n", {"strict": True},
        [(2, "timestamp", 'duplicate sample of up{job="api"} at 2026-01-01T00:00:00Z: row 1 has the same '
                          "series and timestamp (the first is kept)")],
        id="duplicate samples, strict"),
    pytest.param(
        LONG_HEADER + "2026-01-01T00:05:00Z,up,1,api\n2026-01-01T00:00:00Z,up,2,api\n", {"strict": True},
        [(2, "timestamp", 'out of order: 2026-01-01T00:00:00Z is earlier than the previous sample of '
                          'up{job="api"} (row 1)')],
        id="unsorted rows, strict"),
    pytest.param(
        "", {},
        [(None, None, "the file is empty; expected a header row (e.g. timestamp,metric,value) and data "
                      "rows")],
        id="empty file"),
    pytest.param(
        "\n \r\n", {},
        [(None, None, "the file is empty; expected a header row (e.g. timestamp,metric,value) and data "
                      "rows")],
        id="blank file"),
    pytest.param(
        LONG_HEADER, {},
        [(None, None, "no data rows: the file has a header only")],
        id="header only"),
    pytest.param(
        (LONG_HEADER + "2026-01-01T00:00:00Z,up,1,api\n2026-01-01T00:01:00Z,up,1,caf").encode()
        + b"\xe9\n", {},
        [(2, None, "not UTF-8: byte 0xe9 at line 3 (byte offset 86); save the file as UTF-8")],
        id="wrong encoding (Latin-1)"),
    pytest.param(
        LONG_HEADER.encode("utf-16"), {},
        [(0, None, "the file is UTF-16; save it as UTF-8")],
        id="wrong encoding (UTF-16)"),
    pytest.param(
        LONG_HEADER + "2026-01-01T00:00:00Z,up,1\n\n2026-01-01T00:01:00Z,up,1,api\n", {},
        [(1, None, "3 fields, but the header has 4"), (2, None, "empty line")],
        id="short row, blank line"),
    pytest.param(
        LONG_HEADER + "2026-01-01T00:00:00Z,up,1,api\n2026-01-01T00:01:00Z,up,1,api,extra\n", {},
        [(2, None, "5 fields, but the header has 4")],
        id="long row"),
    pytest.param(
        LONG_HEADER + '2026-01-01T00:00:00Z,up,1,"a,b"\n2026-01-01T00:01:00Z,up,1\n', {},
        [(2, None, "3 fields, but the header has 4")],
        id="short row among quoted values"),
    pytest.param(
        "timestamp,metric,value,host name\n2026-01-01T00:00:00Z,up,1,a\n", {},
        [(0, "host name", "label names must match [a-zA-Z_][a-zA-Z0-9_]*")],
        id="bad label name"),
    pytest.param(
        "timestamp,metric,value,job,job\n2026-01-01T00:00:00Z,up,1,a,b\n", {},
        [(0, "job", "duplicate column name")],
        id="duplicate column"),
    pytest.param(
        "timestamp,metric,,job\n2026-01-01T00:00:00Z,up,1,a\n", {},
        [(0, "#3", "empty column name")],
        id="empty column name"),
    pytest.param(
        "timestamp;metric;value\n2026-01-01T00:00:00Z;up;1\n", {},
        [(0, None, "only one column 'timestamp;metric;value'; the header contains ';': alertsim reads "
                   "comma-separated files")],
        id="semicolon-separated"),
    pytest.param(
        LONG_HEADER + "2026-01-01T00:00:00Z,,1,api\n2026-01-01T00:00:00Z,cpu\tusage,1,api\n"
        "2026-01-01T00:00:00Z,system.cpu.user,1,api\n2026-01-01T00:00:00Z,compute.googleapis.com/x,1,api\n", {},
        [(1, "metric", "empty metric name"),
         (2, "metric", "'cpu\\tusage' is not a metric name; a metric name is any non-empty text without "
                       "control characters (as Prometheus 3 allows)")],
        id="bad metric names"),
    pytest.param(
        LONG_HEADER + "2026-01-01T00:00:00Z,up,1,api\n", {"labels": {"job": "web"}},
        [(0, "job", "this label is both a column and given in labels=")],
        id="label given twice"),
]


@pytest.mark.parametrize(("content", "options", "expected"), BAD_INPUT)
def test_bad_input_is_reported_with_row_column_and_reason(tmp_path, content, options, expected):
    assert problems_of(write(tmp_path, content), **options) == expected


def test_every_problem_of_a_file_is_reported_at_once(tmp_path):
    path = write(tmp_path, LONG_HEADER + "noon,up,1,api\n2026-01-01T00:01:00Z,up,x,api\n"
                 "2026-01-01T00:02:00,up,1,api\n2026-01-01T00:03:00Z,,1,api\n2026-01-01T00:04:00Z,up,1,api\n")
    assert [(row, column) for row, column, _ in problems_of(path)] == [
        (1, "timestamp"), (2, "value"), (3, "timestamp"), (4, "metric")]


def test_a_flood_of_bad_rows_is_listed_twenty_at_a_time(tmp_path):
    path = write(tmp_path, LONG_HEADER + "".join(f"2026-01-01T00:{m:02d}:00Z,up,oops,api\n" for m in range(25)))
    found = problems_of(path)
    assert [row for row, _, _ in found] == [*range(1, 21), None]
    assert found[-1] == (None, "value", f"5 more rows like the above: … {NOT_A_NUMBER}")


def test_missing_path_names_the_path(tmp_path):
    with pytest.raises(InputError, match="no such file or directory") as caught:
        read_metrics(tmp_path / "nope.csv")
    assert caught.value.problems[0].file == str(tmp_path / "nope.csv")


@pytest.mark.parametrize(("options", "field"), [
    ({"metric": "cpu\nusage"}, "metric"),
    ({"metric": 3}, "metric"),
    ({"metric": ""}, "metric"),
    ({"labels": {"host name": "a"}}, "labels"),
    ({"labels": {"value": "a"}}, "labels"),
    ({"labels": {"job": 3}}, "labels"),
    ({"table": ""}, "table"),
    ({"strict": "yes"}, "strict"),
])
def test_malformed_arguments_are_config_errors(tmp_path, options, field):
    path = write(tmp_path, "timestamp,value\n0,1\n")
    with pytest.raises(ConfigError) as caught:
        read_metrics(path, **options)
    assert caught.value.field == field


# ----------------------------------------------------------------------------------------------------
# What is accepted


GOOD_TIMESTAMPS = [
    ("2026-01-01T00:00:00Z", at(0)),
    ("2026-01-01T00:00:00z", at(0)),
    ("2026-01-01 00:00:00Z", at(0)),
    ("2026-01-01T00:00:00", at(0)),  # naive means UTC
    ("2026-01-01 00:00:00", at(0)),
    ("2026-01-01", at(0)),
    ("2026-01-01T02:00:00+02:00", at(0)),
    ("2026-01-01T02:00:00+0200", at(0)),
    ("2026-01-01T02:00:00+02", at(0)),
    ("2025-12-31T19:30:00-04:30", at(0)),
    ("2026-01-01T00:00:00.5Z", at(0) + timedelta(milliseconds=500)),
    ("2026-01-01T00:00:00.123Z", at(0) + timedelta(milliseconds=123)),
    ('"2026-01-01T00:00:00,123456789Z"', at(0) + timedelta(microseconds=123456)),  # truncated to µs
    ("2026-01-01T00:00:00.000001", at(0) + timedelta(microseconds=1)),
    ("  2026-01-01T00:00:00Z ", at(0)),
    ("1767225600", at(0)),
    ("1767225600.25", at(0) + timedelta(milliseconds=250)),
    ("1.7672256e9", at(0)),
    ("-1", datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ("2024-02-29T12:00:00Z", datetime(2024, 2, 29, 12, tzinfo=UTC)),
]


@pytest.mark.parametrize(("text", "expected"), GOOD_TIMESTAMPS)
def test_timestamp_forms(tmp_path, text, expected):
    frame = read_metrics(write(tmp_path, f"timestamp,value\n{text},1\n"), metric="up")
    assert frame["timestamp"].to_list() == [expected]
    assert frame.schema["timestamp"] == pl.Datetime("us", "UTC")


def test_fast_and_general_timestamp_parsers_agree_row_by_row(tmp_path):
    # The first row picks the fast layout; the other rows fall back to the general parser.
    lines = ["2026-01-01T00:00:00Z", "2026-01-01T00:01:00.5Z", "2026-01-01T02:02:00+02:00", "2026-01-01T00:03:00Z"]
    frame = read_metrics(write(tmp_path, "timestamp,value\n" + "".join(f"{t},1\n" for t in lines)), metric="up")
    assert frame["timestamp"].to_list() == [at(0), at(1) + timedelta(seconds=0.5), at(2), at(3)]


def test_offsets_may_change_within_a_file(tmp_path):
    # Daylight saving time: Berlin's offset changes from +01:00 to +02:00 on 2026-03-29 at 01:00 UTC.
    path = write(tmp_path, "timestamp,value\n2026-03-29T01:59:00+01:00,1\n2026-03-29T03:00:00+02:00,2\n")
    frame = read_metrics(path, metric="up")
    assert frame["timestamp"].to_list() == [datetime(2026, 3, 29, 0, 59, tzinfo=UTC),
                                            datetime(2026, 3, 29, 1, 0, tzinfo=UTC)]


@pytest.mark.parametrize(("text", "expected"), [
    ("0.5", 0.5), ("-3", -3.0), ("1e-3", 0.001), ("1.5E3", 1500.0), (".5", 0.5), ("5.", 5.0),
    ("+2", 2.0), (" 7 ", 7.0), ("NaN", math.nan), ("nan", math.nan), ("Inf", math.inf),
    ("+Inf", math.inf), ("-Inf", -math.inf), ("-inf", -math.inf), ("INF", math.inf),
])
def test_value_forms(tmp_path, text, expected):
    [value] = read_metrics(write(tmp_path, f"timestamp,value\n0,{text}\n"), metric="up")["value"].to_list()
    assert value == expected or (math.isnan(value) and math.isnan(expected))


@pytest.mark.parametrize("content", [
    pytest.param(b"timestamp,value\r\n0,1\r\n60,2\r\n", id="CRLF"),
    pytest.param(b"timestamp,value\n0,1\n60,2", id="no final newline"),
    pytest.param(b"timestamp,value\r\n0,1\r\n60,2", id="CRLF, no final newline"),
    pytest.param(b"\xef\xbb\xbftimestamp,value\n0,1\n60,2\n", id="UTF-8 byte-order mark"),
    pytest.param(b"timestamp,value\n0,1\n60,2\n\n\n", id="trailing blank lines"),
    pytest.param(b"timestamp,value\n0,1\n60,2\n\n", id="one trailing blank line"),
    pytest.param(b"timestamp,value\r\n0,1\r\n60,2\r\n\r\n", id="one trailing blank CRLF line"),
    pytest.param(b"timestamp , value\n0,1\n60,2\n", id="spaces around column names"),
    pytest.param(b'"timestamp","value"\n"0","1"\n"60","2"\n', id="quoted"),
])
def test_line_endings_and_encodings_that_are_fine(tmp_path, content):
    frame = read_metrics(write(tmp_path, content), metric="up")
    assert frame["value"].to_list() == [1.0, 2.0]
    assert frame["timestamp"].to_list() == [datetime(1970, 1, 1, tzinfo=UTC),
                                            datetime(1970, 1, 1, 0, 1, tzinfo=UTC)]


def test_gzip_compressed_csv(tmp_path):
    import gzip

    path = write(tmp_path, gzip.compress(b"timestamp,value\n0,1\n"), name="m.csv.gz")
    assert read_metrics(path, metric="up").height == 1


def test_two_column_file_takes_metric_and_constant_labels_from_the_caller(tmp_path):
    path = write(tmp_path, "timestamp,value\n2026-01-01 00:00:00,1.5\n")
    frame = read_metrics(path, metric="cpu", labels={"service": "checkout", "instance": "a"})
    assert frame.columns == ["timestamp", "metric", "value", "instance", "service"]
    assert frame.row(0) == (at(0), "cpu", 1.5, "a", "checkout")


def test_metric_selects_rows_of_a_long_file(tmp_path):
    path = write(tmp_path, LONG_HEADER + "0,up,1,api\n0,cpu,0.5,api\n")
    assert read_metrics(path, metric="cpu")["value"].to_list() == [0.5]
    assert problems_of(path, metric="mem") == [(None, "metric", "no samples of metric 'mem'; the input has cpu, up")]


def test_null_labels_are_empty_and_empty_labels_are_absent(tmp_path):
    path = write(tmp_path, "timestamp,metric,value,job,zone\n0,up,1,api,\n0,up,2,,\n")
    frame = read_metrics(path)
    assert frame.select("job", "zone").rows() == [("", ""), ("api", "")]
    assert frame.select(alertsim.frames.series_expr(["job", "zone"]))["series"].to_list() == ["up", 'up{job="api"}']


# ----------------------------------------------------------------------------------------------------
# Order, duplicates and special values (warnings unless strict)


def test_rows_are_sorted_by_series_then_time(tmp_path):
    path = write(tmp_path, LONG_HEADER + "60,up,1,web\n0,up,2,api\n0,up,3,web\n60,up,4,api\n0,cpu,5,web\n")
    read = load_metrics(path)
    assert read.frame.select("metric", "job", "value").rows() == [
        ("cpu", "web", 5.0), ("up", "api", 2.0), ("up", "api", 4.0), ("up", "web", 3.0), ("up", "web", 1.0)]
    # web at 60 then web at 0: one row out of time order within its series.
    assert (read.resorted, read.duplicates, read.series) == (1, 0, 3)


def test_interleaved_series_in_time_order_are_not_out_of_order(tmp_path):
    # The layout of a Prometheus range export: every series at t, then every series at t + step.
    path = write(tmp_path, LONG_HEADER + "0,up,1,api\n0,up,1,web\n60,up,0,api\n60,up,1,web\n")
    read = load_metrics(path)
    assert (read.resorted, read.series, read.warnings) == (0, 2, ())


def test_duplicates_keep_the_first_and_are_counted(tmp_path, caplog):
    path = write(tmp_path, "timestamp,value\n0,1\n60,2\n0,3\n0,4\n")
    read = load_metrics(path, metric="up")
    assert read.frame["value"].to_list() == [1.0, 2.0]
    assert (read.rows, read.duplicates, read.resorted) == (4, 2, 1)
    assert "dropped 2 duplicate samples" in caplog.text
    assert [(w.row, w.column, w.reason) for w in read.warnings] == [
        (3, "timestamp", "out of order: 1970-01-01T00:00:00Z is earlier than the previous sample of up "
                         "(row 2)"),
        (3, "timestamp", "duplicate sample of up at 1970-01-01T00:00:00Z: row 1 has the same series and "
                         "timestamp (the first is kept)"),
        (4, "timestamp", "duplicate sample of up at 1970-01-01T00:00:00Z: row 1 has the same series and "
                         "timestamp (the first is kept)"),
    ]


def test_nan_and_inf_are_kept_counted_and_warned_about(tmp_path):
    path = write(tmp_path, "timestamp,value\n0,NaN\n60,+Inf\n120,-Inf\n180,1\n")
    read = load_metrics(path, metric="up")
    assert read.frame["value"].is_nan().to_list() == [True, False, False, False]
    assert read.frame["value"].to_list()[1:] == [math.inf, -math.inf, 1.0]
    assert (read.nan_values, read.inf_values) == (1, 2)
    assert [(w.row, w.column, w.reason) for w in read.warnings] == [
        (1, "value", "NaN value: kept as a sample (as in Prometheus); every comparison with it is false"),
        (2, "value", "+Inf value: kept as a sample (as in Prometheus)"),
        (3, "value", "-Inf value: kept as a sample (as in Prometheus)"),
    ]


def test_load_metrics_is_frozen(tmp_path):
    read = load_metrics(write(tmp_path, "timestamp,value\n0,1\n"), metric="up")
    assert isinstance(read, MetricsRead)
    with pytest.raises(AttributeError):
        read.duplicates = 3  # type: ignore[misc]


# ----------------------------------------------------------------------------------------------------
# Directories, globs, Parquet, DuckDB


def test_directory_concatenates_files_and_fills_missing_labels(tmp_path):
    write(tmp_path, "timestamp,metric,value,job\n0,up,1,api\n", name="a.csv")
    write(tmp_path, "timestamp,metric,value,zone\n0,up,2,eu\n", name="b.csv")
    write(tmp_path, "not metrics", name="notes.txt")
    read = load_metrics(tmp_path)
    assert read.files == (str(tmp_path / "a.csv"), str(tmp_path / "b.csv"))
    assert read.frame.select("job", "zone", "value").rows() == [("", "eu", 2.0), ("api", "", 1.0)]


def test_glob_and_duplicates_across_files(tmp_path):
    first = write(tmp_path, "timestamp,value\n0,1\n", name="a.csv")
    second = write(tmp_path, "timestamp,value\n0,2\n60,3\n", name="b.csv")
    read = load_metrics(str(tmp_path / "*.csv"), metric="up")
    assert read.frame["value"].to_list() == [1.0, 3.0]
    [warning] = read.warnings
    assert (warning.file, warning.row) == (str(second), 1)
    assert warning.reason.endswith(f"row 1 of {first} has the same series and timestamp (the first is kept)")


def test_problems_name_their_file(tmp_path):
    write(tmp_path, "timestamp,value\n0,1\n", name="a.csv")
    bad = write(tmp_path, "timestamp,value\nx,1\n", name="b.csv")
    with pytest.raises(InputError) as caught:
        read_metrics(tmp_path, metric="up")
    assert [(p.file, p.row) for p in caught.value.problems] == [(str(bad), 1)]


@pytest.mark.parametrize("target", ["empty-dir", "*.nothing"])
def test_nothing_to_read(tmp_path, target):
    (tmp_path / "empty-dir").mkdir()
    with pytest.raises(InputError):
        read_metrics(str(tmp_path / target))


def test_parquet_typed_columns(tmp_path):
    berlin = pl.Series([datetime(2026, 1, 1, 1, 0)]).dt.replace_time_zone("Europe/Berlin")
    frame = pl.DataFrame({"timestamp": berlin, "metric": ["up"], "value": [1], "code": [500]})
    frame.write_parquet(tmp_path / "m.parquet")
    read = read_metrics(tmp_path / "m.parquet")
    assert read.row(0) == (at(0), "up", 1.0, "500")
    assert read.schema == {"timestamp": pl.Datetime("us", "UTC"), "metric": pl.String, "value": pl.Float64,
                           "code": pl.String}


@pytest.mark.parametrize(("column", "expected"), [
    (pl.Series([datetime(2026, 1, 1)]), at(0)),  # naive datetime: UTC
    (pl.Series([1767225600]), at(0)),  # integer Unix seconds
    (pl.Series([1767225600.5]), at(0) + timedelta(milliseconds=500)),
    (pl.Series(["2026-01-01T01:00:00+01:00"]), at(0)),
    (pl.Series([datetime(2026, 1, 1).date()]), at(0)),
])
def test_parquet_timestamp_dtypes(tmp_path, column, expected):
    pl.DataFrame({"timestamp": column, "value": [1.0]}).write_parquet(tmp_path / "m.parquet")
    assert read_metrics(tmp_path / "m.parquet", metric="up")["timestamp"].to_list() == [expected]


def test_parquet_problems(tmp_path):
    frame = pl.DataFrame({"timestamp": [1767225600000, None, 0], "value": [1.0, 2.0, None],
                          "tags": [[1], [2], [3]]})
    frame.write_parquet(tmp_path / "m.parquet")
    assert problems_of(tmp_path / "m.parquet", metric="up") == [
        (None, "tags", "dtype List(Int64) cannot be a label; labels are strings"),
        (1, "timestamp", "1767225600000 is larger than 1e11: it looks like milliseconds; Unix timestamps "
                         "must be in seconds"),
        (2, "timestamp", "empty timestamp"),
        (3, "value", "empty value"),
    ]


def test_corrupt_parquet_is_an_input_error(tmp_path):
    path = write(tmp_path, b"PAR1" + b"\x00" * 40 + b"PAR1", name="m.parquet")
    [(row, column, reason)] = problems_of(path, metric="up")
    assert (row, column) == (None, None) and reason.startswith("cannot be read as Parquet: ")


def test_csv_parquet_round_trip(tmp_path):
    path = write(tmp_path, LONG_HEADER + "2026-01-01T00:00:00Z,up,1,api\n2026-01-01T00:01:00+01:00,up,NaN,web\n"
                 "1767225720.5,cpu,-Inf,\n")
    from_csv = read_metrics(path)
    from_csv.write_parquet(tmp_path / "m.parquet")
    assert_frame_equal(read_metrics(tmp_path / "m.parquet"), from_csv)


def test_duckdb_table(tmp_path):
    database = tmp_path / "metrics.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute("CREATE TABLE samples (timestamp TIMESTAMPTZ, metric VARCHAR, value DECIMAL(6, 2), "
                           "job VARCHAR)")
        connection.execute("INSERT INTO samples VALUES ('2026-01-01 01:00:00+01', 'up', 1.5, 'api'), "
                           "('2026-01-01 00:01:00+00', 'up', 2, NULL)")
        connection.execute("CREATE SCHEMA archive")
        connection.execute("CREATE TABLE archive.old AS SELECT * FROM samples")
    frame = read_metrics(database, table="samples")
    assert frame.rows() == [(at(1), "up", 2.0, ""), (at(0), "up", 1.5, "api")]
    assert read_metrics(database, table="archive.old").height == 2
    assert problems_of(database, table="nope") == [
        (None, None, "table 'nope' does not exist; tables: archive.old, samples")]


def test_duckdb_file_without_table(tmp_path):
    database = tmp_path / "metrics.duckdb"
    duckdb.connect(str(database)).close()
    assert problems_of(database) == [
        (None, None, "this is a DuckDB database: pass table=NAME (--table NAME) to read one of its tables")]


def test_public_names():
    assert alertsim.read_metrics is read_metrics
    assert all(hasattr(alertsim, name) for name in alertsim.__all__)


def test_series_identity_of_read_frames(tmp_path):
    path = write(tmp_path, 'timestamp,metric,value,path,job\n0,http,1,"a""b\\c",api\n')
    frame = read_metrics(path)
    assert frame.select(alertsim.frames.series_expr(["path", "job"]))["series"].item() == (
        'http{job="api",path="a\\"b\\\\c"}')


def test_naive_means_utc(tmp_path):
    # A naive instant and the same instant written with a zero offset agree (both UTC).
    naive = read_metrics(write(tmp_path, "timestamp,value\n2026-01-01T00:00:00,1\n", "a.csv"), metric="m")
    zoned = read_metrics(write(tmp_path, "timestamp,value\n2026-01-01T00:00:00+00:00,1\n", "b.csv"), metric="m")
    assert naive["timestamp"].to_list() == zoned["timestamp"].to_list() == [
        datetime(2026, 1, 1, tzinfo=UTC)]


@pytest.mark.parametrize("shuffle", [False, True])
def test_series_starts_are_where_prepare_finds_series(tmp_path, shuffle):
    """The reader's series boundaries (a Parquet file without per-row checks, duplicates dropped, rows
    re-sorted or not) are the ones prepare() finds itself, so the CLI hands them over."""
    from alertsim.series import prepare

    rows = [(at(m), "cpu", float(m), host, zone) for host, zone in (("a", "x"), ("b", "x"), ("c", "y"))
            for m in range(5)]
    frame = pl.DataFrame(rows, schema=["timestamp", "metric", "value", "instance", "zone"], orient="row")
    frame = pl.concat([frame, frame[[2, 7]]])  # two duplicate samples
    if shuffle:
        frame = frame.sample(fraction=1.0, shuffle=True, seed=3)
    frame.write_parquet(tmp_path / "m.parquet")
    read = load_metrics(tmp_path / "m.parquet")
    assert read.duplicates == 2 and read.series == 3
    assert read.series_starts is not None and read.series_starts.to_list() == [0, 5, 10]
    own = prepare(read.frame)
    given = prepare(read.frame, series_starts=read.series_starts.to_numpy())
    assert own.data.offsets.tolist() == given.data.offsets.tolist() == [0, 5, 10, 15]
    assert own.table.equals(given.table)
