"""Properties of the readers: whatever the bytes, the only error is ``InputError``; whatever valid frame
is written, it reads back as written (sorted, first of each duplicate kept)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from alertsim.errors import InputError
from alertsim.io.incidents import read_incidents
from alertsim.io.metrics import read_metrics

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

COLUMNS = ["timestamp", "metric", "value", "job", "incident_id", "service", "started_at", "resolved_at",
           "severity", "acknowledged_at", "", "Timestamp", "__row", "a b"]
CELLS = st.one_of(
    st.sampled_from(["2026-01-01T00:00:00Z", "2026-01-01 00:00:00+02:00", "2026-01-01T00:00:00", "1767225600",
                     "1767225600123", "1.5", "NaN", "-Inf", "", " ", "up", "x,y", '"', '""', "\t", "é", "\x00",
                     "9999-12-31T23:59:59.999999999Z", "0000-01-01", "-99999999999", "1e309",
                     "2026-02-29T00:00:00Z"]),
    st.text(max_size=12),
)


def _read_all(path):
    """Every reader on ``path``: each either returns a frame or raises InputError."""
    for read in (lambda: read_metrics(path), lambda: read_metrics(path, metric="m", strict=True),
                 lambda: read_incidents(path)):
        try:
            frame = read()
        except InputError as error:
            assert error.problems, "an InputError lists its problems"
        else:
            assert isinstance(frame, pl.DataFrame)


@FUZZ
@given(content=st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_input_error(tmp_path, content):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(content)
    _read_all(path)


@FUZZ
@given(header=st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=6),
       rows=st.lists(st.lists(CELLS, min_size=0, max_size=7), max_size=8),
       newline=st.sampled_from(["\n", "\r\n"]), final=st.booleans(), bom=st.booleans())
def test_arbitrary_csv_text_raises_only_input_error(tmp_path, header, rows, newline, final, bom):
    text = newline.join(",".join(cells) for cells in [header, *rows]) + (newline if final else "")
    path = tmp_path / "fuzz.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8", errors="surrogatepass"))
    _read_all(path)


# ----------------------------------------------------------------------------------------------------
# Valid frames round-trip

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LABEL_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
                     max_size=6)
SAMPLES = st.lists(
    st.tuples(st.sampled_from(["up", "cpu_seconds_total", "queue:depth"]),  # metric
              LABEL_TEXT,  # job
              st.sampled_from(["", "eu", "us"]),  # zone
              st.integers(0, 10_000_000),  # seconds after T0
              st.integers(0, 999) | st.just(0),  # milliseconds
              st.floats(allow_nan=True, allow_infinity=True, width=64)),
    min_size=1, max_size=40)


def _text(instant: datetime, layout: str, offset_minutes: int) -> str:
    if layout == "unix":
        return f"{instant.timestamp():.3f}"
    if layout == "naive":
        return instant.replace(tzinfo=None).isoformat(sep=" ")
    if layout == "Z":
        return instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return instant.astimezone(timedelta_zone(offset_minutes)).isoformat()


def timedelta_zone(minutes: int):
    from datetime import timezone

    return timezone(timedelta(minutes=minutes))


@FUZZ
@given(samples=SAMPLES, layout=st.sampled_from(["Z", "offset", "naive", "unix"]),
       offsets=st.lists(st.integers(-14 * 60, 14 * 60), min_size=1, max_size=3))
def test_valid_frames_round_trip_through_csv_and_parquet(tmp_path, samples, layout, offsets):
    instants = [T0 + timedelta(seconds=s, milliseconds=ms) for _, _, _, s, ms, _ in samples]
    written = pl.DataFrame({
        "timestamp": [_text(t, layout, offsets[i % len(offsets)]) for i, t in enumerate(instants)],
        "metric": [m for m, *_ in samples],
        "value": [v for *_, v in samples],
        "job": [j for _, j, *_ in samples],
        "zone": [z for _, _, z, *_ in samples],
    })
    path = tmp_path / "metrics.csv"
    written.write_csv(path)
    expected = (
        pl.DataFrame({"timestamp": instants, "metric": written["metric"], "value": written["value"],
                      "job": written["job"], "zone": written["zone"]},
                     schema_overrides={"timestamp": pl.Datetime("us", "UTC")})
        .unique(subset=["metric", "job", "zone", "timestamp"], keep="first", maintain_order=True)
        .sort("metric", "job", "zone", "timestamp")
    )
    frame = read_metrics(path)
    assert_frame_equal(frame, expected)
    frame.write_parquet(tmp_path / "metrics.parquet")
    assert_frame_equal(read_metrics(tmp_path / "metrics.parquet"), frame)


@FUZZ
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=20))
def test_values_read_back_exactly(tmp_path, values):
    path = tmp_path / "values.csv"
    pl.DataFrame({"timestamp": list(range(len(values))), "value": values}).write_csv(path)
    read = read_metrics(path, metric="m")["value"].to_list()
    assert all(a == b or (math.isnan(a) and math.isnan(b)) for a, b in zip(read, values, strict=True))


@pytest.mark.parametrize("size", [1, 2, 7])
def test_incident_round_trip(tmp_path, size):
    starts = [T0 + timedelta(hours=i) for i in range(size)]
    frame = pl.DataFrame({
        "incident_id": [f"INC-{i}" for i in range(size)], "service": ["checkout"] * size,
        "started_at": starts, "resolved_at": [s + timedelta(minutes=30) for s in starts],
        "severity": ["SEV2"] * size, "acknowledged_at": [s + timedelta(minutes=4) for s in starts],
    }, schema_overrides={c: pl.Datetime("us", "UTC") for c in ("started_at", "resolved_at", "acknowledged_at")})
    frame.write_csv(tmp_path / "incidents.csv")
    assert_frame_equal(read_incidents(tmp_path / "incidents.csv"), frame)
