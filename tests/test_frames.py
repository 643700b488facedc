"""Frame schemas: ``validate`` reports every problem at once; series are named Prometheus-style."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertsim.errors import InputError
from alertsim.frames import INCIDENTS, INSTANT, METRICS, SCHEMAS, label_columns, series_expr, series_name, validate

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def metrics(**columns: object) -> pl.DataFrame:
    base = {"timestamp": pl.Series([T0, T0], dtype=INSTANT), "metric": ["up", "up"], "value": [1.0, 0.0]}
    return pl.DataFrame({**base, **columns})


def problems_of(frame: pl.DataFrame, schema=METRICS) -> list[tuple[int | None, str | None, str]]:
    with pytest.raises(InputError) as caught:
        validate(frame, schema, file="f.parquet")
    assert {p.file for p in caught.value.problems} == {"f.parquet"}
    return [(p.row, p.column, p.reason) for p in caught.value.problems]


def test_a_valid_frame_is_returned_unchanged():
    frame = metrics(job=["api", "web"])
    assert validate(frame, METRICS) is frame


@pytest.mark.parametrize(("frame", "expected"), [
    pytest.param(metrics().drop("value"),
                 [(None, "value", "missing column; Metrics needs ['timestamp', 'metric', 'value']")],
                 id="missing column"),
    pytest.param(metrics().with_columns(pl.col("timestamp").dt.replace_time_zone(None)),
                 [(None, "timestamp", "dtype Datetime(time_unit='us', time_zone=None), expected "
                                      "Datetime(time_unit='us', time_zone='UTC')")],
                 id="naive timestamps"),
    pytest.param(metrics(value=[1.0, None]), [(2, "value", "null value")], id="null value"),
    pytest.param(metrics(**{"host name": ["a", "b"]}),
                 [(None, "host name", "label names must match [a-zA-Z_][a-zA-Z0-9_]*")], id="bad label name"),
    pytest.param(metrics(code=[500, 200]), [(None, "code", "label columns must be String, got Int64")],
                 id="label not a string"),
])
def test_validate_names_column_row_and_reason(frame, expected):
    assert problems_of(frame) == expected


def test_validate_reports_every_problem_at_once():
    frame = metrics(value=pl.Series([None, None], dtype=pl.Float64), code=[1, 2]).drop("metric")
    assert [(row, column) for row, column, _ in problems_of(frame)] == [
        (None, "metric"), (1, "value"), (2, "value"), (None, "code")]


def test_duplicate_keys_and_many_nulls_are_summarised_after_twenty_rows():
    n = 25
    frame = pl.DataFrame({
        "incident_id": ["A"] * n, "service": [None] * n,
        "started_at": pl.Series([T0] * n, dtype=INSTANT), "resolved_at": pl.Series([None] * n, dtype=INSTANT),
        "severity": [None] * n}, schema_overrides={"service": pl.String, "severity": pl.String})
    found = problems_of(frame, INCIDENTS)
    nulls = [p for p in found if p[1] == "service"]
    duplicates = [p for p in found if p[1] == "incident_id"]
    assert [row for row, _, _ in nulls] == [*range(1, 21), None]
    assert nulls[-1] == (None, "service", "null value in 5 more rows")
    assert duplicates[-1] == (None, "incident_id", "duplicate key in 5 more rows")


def test_schemas_are_registered_by_name():
    assert SCHEMAS["metrics"] is METRICS and SCHEMAS["incidents"] is INCIDENTS
    assert METRICS.empty().columns == ["timestamp", "metric", "value"]


@pytest.mark.parametrize(("metric", "labels", "expected"), [
    ("up", {}, "up"),
    ("cpu", {"service": "checkout", "instance": "a"}, 'cpu{instance="a",service="checkout"}'),  # sorted
    ("cpu", {"instance": "", "service": "checkout"}, 'cpu{service="checkout"}'),  # empty = absent
    ("cpu", {"instance": ""}, "cpu"),
    ("http", {"path": 'say "hi"'}, 'http{path="say \\"hi\\""}'),
    ("http", {"path": "C:\\temp"}, 'http{path="C:\\\\temp"}'),
    ("log", {"line": "a\nb"}, 'log{line="a\\nb"}'),
])
def test_series_name_and_series_expr_agree(metric, labels, expected):
    assert series_name(metric, labels) == expected
    frame = pl.DataFrame({"metric": [metric], **{k: [v] for k, v in labels.items()}},
                         schema={"metric": pl.String, **{k: pl.String for k in labels}})
    assert frame.select(series_expr(list(labels)))["series"].item() == expected


def test_series_expr_treats_null_labels_as_absent():
    frame = pl.DataFrame({"metric": ["up", "up"], "job": [None, "api"]})
    assert frame.select(series_expr(["job"]))["series"].to_list() == ["up", 'up{job="api"}']


def test_label_columns_are_the_sorted_non_core_columns():
    assert label_columns(metrics(zone=["a", "b"], job=["x", "y"])) == ["job", "zone"]


@given(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,5}", fullmatch=True), st.text(max_size=5), max_size=4))
def test_series_expr_matches_series_name_for_any_labels(labels):
    frame = pl.DataFrame({"metric": ["m"], **{k: [v] for k, v in labels.items()}},
                         schema={"metric": pl.String, **{k: pl.String for k in labels}})
    assert frame.select(series_expr(list(labels)))["series"].item() == series_name("m", labels)
