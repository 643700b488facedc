"""A table file (Parquet, or CSV with ISO-8601 instants) read into a schema's shape, every bad cell
reported at once: shifts, rosters and other small frames given on the command line.

>>> import tempfile
>>> from alertsim.frames import SHIFTS
>>> path = Path(tempfile.mkdtemp()) / "shifts.csv"
>>> _ = path.write_text("schedule,level,responder,start_at,end_at,tz\\n"
...                     "primary,1,ana,2026-03-02T09:00:00Z,2026-03-09T09:00:00Z,Europe/Berlin\\n")
>>> read_table_file(path, SHIFTS, name="shifts")["start_at"].to_list()
[datetime.datetime(2026, 3, 2, 9, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC'))]
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from alertsim.errors import InputError, Problem
from alertsim.frames import INSTANT, Schema
from alertsim.io._tabular import ROW, instants_from_text


def read_table_file(path: Path, schema: Schema, *, name: str) -> pl.DataFrame:
    """A frame from a Parquet or CSV file in ``schema``'s shape (CSV instants ISO-8601, naive = UTC)."""
    label = str(path)
    if not path.is_file():
        raise InputError(f"{label}: no such file (expected a {name} CSV or Parquet file)", file=label)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pl.read_parquet(path)
        else:
            frame = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"cannot read {label}: {exc}", file=label) from None
    problems: list[Problem] = []
    casts: list[pl.Series] = []
    for column, dtype in schema.columns.items():
        if column not in frame.columns or frame.schema[column] == dtype:
            continue
        if frame.schema[column] != pl.String:
            casts.append(frame[column].cast(dtype, strict=False))
            continue
        text = pl.col(column).str.strip_chars()
        if dtype == INSTANT:
            staged = instants_from_text(frame.with_columns(pl.int_range(1, frame.height + 1).alias(ROW)), column,
                                        required=False)
            parsed = staged.select(pl.from_epoch("_us", time_unit="us").dt.replace_time_zone("UTC")
                                   .alias(column))[column]
        else:
            parsed = frame.select(pl.when(text != "").then(text).cast(dtype, strict=False).alias(column))[column]
        bad = parsed.is_null() & frame[column].is_not_null() & (frame[column].str.strip_chars() != "")
        problems += [Problem(file=label, row=r + 1, column=column, reason=f"{frame[column][r]!r} is not {dtype}")
                     for r in bad.arg_true().head(20).to_list()]
        casts.append(parsed)
    if problems:
        raise InputError(f"{label} is not a valid {name} file", problems, file=label)
    return frame.with_columns(casts) if casts else frame
