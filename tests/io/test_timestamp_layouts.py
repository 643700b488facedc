"""Timestamps in the layouts real exports use (pandas and polars write ``+00:00``/``+0000`` offsets)
read as the instants they denote, whether a column takes the fixed-layout path or the general one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertsim.errors import InputError
from alertsim.io.metrics import read_metrics


def _instants(tmp_path, texts: list[str]) -> list[int]:
    """Microseconds since the epoch of each text, read through ``read_metrics`` (one series per row)."""
    path = tmp_path / "m.csv"
    pl.DataFrame({"timestamp": texts, "metric": "m", "value": 1.0, "row": [str(i) for i in range(len(texts))]}
                 ).write_csv(path)
    frame = read_metrics(path).sort(pl.col("row").cast(pl.Int64))
    return frame["timestamp"].dt.epoch("us").to_list()


# (text, microseconds since the epoch, or None when it is an error)
CASES = [
    ("2026-01-01T00:00:12.130000+0000", 1_767_225_612_130_000),     # polars write_csv
    ("2026-01-01 00:00:12.130000+00:00", 1_767_225_612_130_000),    # pandas to_csv
    ("2026-01-01T02:30:00+02:30", 1_767_225_600_000_000),
    ("2025-12-31T22:30:00.000-0130", 1_767_225_600_000_000),
    ("2026-01-01T00:00:00Z", 1_767_225_600_000_000),
    ("2026-01-01 00:00:00", 1_767_225_600_000_000),
    ("2026-01-01T00:00:00+2500", None),                              # offset hour out of range
    ("2026-01-01T00:00:00+0099", None),                              # offset minute out of range
    ("2026-02-30T00:00:00+0000", None),                              # no such day
]


@pytest.mark.parametrize(("text", "us"), CASES)
def test_layout(tmp_path, text, us):
    # alone (the fast path when the layout is known) and behind a value of another layout (general path)
    for texts in ([text], ["1767225600", text]):
        if us is None:
            with pytest.raises(InputError, match="not a valid date and time"):
                _instants(tmp_path, texts)
        else:
            assert _instants(tmp_path, texts)[-1] == us


@settings(max_examples=200, deadline=None)
@given(seconds=st.integers(0, 4_000_000_000), micros=st.integers(0, 999_999),
       offset=st.integers(-23 * 60 - 59, 23 * 60 + 59), colon=st.booleans(), sep=st.sampled_from("T "),
       digits=st.sampled_from([0, 3, 6]))
def test_offset_layouts_agree_with_python(tmp_path_factory, seconds, micros, offset, colon, sep, digits):
    if digits < 6:
        micros -= micros % 10 ** (6 - digits)
    instant = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds, microseconds=micros)
    local = instant.astimezone(timezone(timedelta(minutes=offset)))
    text = local.strftime(f"%Y-%m-%d{sep}%H:%M:%S")
    if digits:
        text += f".{local.microsecond:06d}"[: digits + 1]
    sign, minutes = ("-" if offset < 0 else "+"), abs(offset)
    text += f"{sign}{minutes // 60:02d}{':' if colon else ''}{minutes % 60:02d}"
    expected = seconds * 1_000_000 + micros
    tmp_path = tmp_path_factory.mktemp("layouts")
    assert _instants(tmp_path, [text, text]) == [expected, expected]      # the fixed-layout path
    assert _instants(tmp_path, ["0", text])[1] == expected                # the general path
