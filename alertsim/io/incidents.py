"""Read incident history (CSV or Parquet: a file, a directory or a glob) into an Incidents frame.

Columns
    Required: ``incident_id``, ``service``, ``started_at``, ``resolved_at`` (empty while an incident
    is open), ``severity`` (may be empty). Optional: ``acknowledged_at``, ``responder``, ``kind``,
    ``title``, ``urgency``. Any other column is an error that lists the allowed ones: a misspelt
    ``acknowleged_at`` must not vanish silently.

Timestamps
    As for metrics (see :mod:`alertsim.io.metrics`): ISO-8601 with or without an offset (naive means
    UTC) or Unix seconds; mixing naive and offset-aware timestamps in one file is an error. Empty
    optional instants and strings are null.

Checks
    ``resolved_at >= started_at``; ``acknowledged_at`` within ``[started_at, resolved_at]`` when
    present; ``incident_id`` unique across all files. Every problem is collected and raised at once as
    :class:`~alertsim.errors.InputError` with file, 1-based data row and column.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "incidents.csv"
>>> _ = path.write_text("incident_id,service,started_at,acknowledged_at,resolved_at,severity\\n"
...                     "INC-1,checkout,2026-01-05T03:10:00Z,2026-01-05T03:14:00Z,,SEV2\\n")
>>> frame = read_incidents(path)
>>> frame.columns
['incident_id', 'service', 'started_at', 'resolved_at', 'severity', 'acknowledged_at']
>>> frame["resolved_at"].to_list()
[None]
"""

from __future__ import annotations

import logging
import os

import polars as pl

from alertsim.errors import InputError, Problem, check_type
from alertsim.frames import INCIDENTS, validate
from alertsim.io._tabular import (
    FILE,
    ROW,
    Table,
    error_problems,
    find_files,
    instants_from_text,
    instants_from_typed,
    listed,
    mixed_offset_problems,
    other_file,
    read_table,
    sort_problems,
)

logger = logging.getLogger(__name__)

REQUIRED = tuple(INCIDENTS.required)
OPTIONAL = tuple(INCIDENTS.optional)
INSTANTS = ("started_at", "acknowledged_at", "resolved_at")
_NON_EMPTY = ("incident_id", "service")
_ALLOWED = ", ".join((*REQUIRED, *OPTIONAL))


def read_incidents(path: str | os.PathLike[str]) -> pl.DataFrame:
    """Read an incident export into an Incidents frame, sorted by ``started_at`` then ``incident_id``.

    Parameters
    ----------
    path : a CSV (optionally gzip-compressed) or Parquet file, a directory of them, or a glob.

    Returns
    -------
    polars.DataFrame
        The required columns, then whichever optional columns the input has (in schema order).

    Raises
    ------
    InputError
        Listing every problem: missing or unknown columns, bad timestamps, an incident resolved
        before it started or acknowledged outside ``[started_at, resolved_at]``, a repeated
        ``incident_id``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "incidents.csv"
    >>> _ = path.write_text("incident_id,service,started_at,resolved_at,severity\\n"
    ...                     "7,search,1767225600,1767229200,\\n")
    >>> read_incidents(path).select("incident_id", "severity").row(0)
    ('7', None)
    """
    check_type(path, (str, os.PathLike), name="path", expected="an incidents file (str or pathlib.Path)")
    display = os.fspath(path)
    files = find_files(path)
    names = [str(f) for f in files]
    problems: list[Problem] = []
    frames: list[pl.DataFrame] = []
    for index, file in enumerate(files):
        table, found = read_table(file)
        problems += found
        if table is None:
            continue
        frame, found = _incidents(table, index, names)
        problems += found
        if frame is not None:
            frames.append(frame)
    combined = pl.concat(frames, how="diagonal_relaxed") if frames else None
    if combined is not None:
        repeated = ~pl.col("incident_id").is_first_distinct() & pl.col("incident_id").is_not_null()
        if combined.select(repeated.any()).item():
            marked = combined.with_columns(pl.col(ROW).first().over("incident_id").alias("_first"),
                                           pl.col(FILE).first().over("incident_id").alias("_ffile"))
            problems += listed(
                marked.filter(repeated), names, column="incident_id", what="repeated incident ids",
                reason=pl.format("duplicate incident_id {}: row {}{} has the same id",
                                 pl.col("incident_id"), pl.col("_first"), other_file("_ffile", names)))
    if problems:
        raise InputError(f"{display} is not a valid incidents input", sort_problems(problems, names),
                         file=display)
    if combined is None:  # pragma: no cover - every file either yields a frame or problems
        raise InputError(f"{display}: no incidents", [Problem(file=display, reason="no incidents")],
                         file=display)
    present = [c for c in (*REQUIRED, *OPTIONAL) if c in combined.columns]
    frame = (combined.sort("started_at", "incident_id")
             .select([pl.col(c).cast(pl.Datetime("us")).dt.replace_time_zone("UTC") if c in INSTANTS
                      else pl.col(c) for c in present]))
    logger.info("%s: read %d incidents of %d services", display, frame.height, frame["service"].n_unique())
    return validate(frame, INCIDENTS, file=display)


def _incidents(table: Table, index: int, files: list[str]) -> tuple[pl.DataFrame | None, list[Problem]]:
    """One file's incidents (timestamps as Int64 µs) plus ``ROW`` and ``FILE``, and its problems."""
    file, columns = table.file, table.columns
    head = 0 if table.text else None
    found: list[Problem] = []
    for column in columns:
        if column not in INCIDENTS.columns:
            found.append(Problem(file=file, row=head, column=column,
                                 reason=f"unknown column; allowed: {_ALLOWED}"))
    for column in REQUIRED:
        if column not in columns:
            found.append(Problem(file=file, row=head, column=column,
                                 reason=f"missing column; an incidents file has {', '.join(REQUIRED)} "
                                        f"and optionally {', '.join(OPTIONAL)}"))
    if any(c not in columns for c in REQUIRED):
        return None, found

    frame = table.frame.with_columns(pl.lit(index, pl.Int32).alias(FILE))
    text_columns = [c for c in columns if c not in INSTANTS]
    for column in text_columns:
        dtype = frame.schema[column]
        if not (dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum) or dtype.is_integer()):
            found.append(Problem(file=file, column=column, reason=f"dtype {dtype}; expected text"))
    if found:
        return None, found
    frame = frame.with_columns(
        pl.col(c).cast(pl.String).str.strip_chars().replace("", None) for c in text_columns)
    for column in _NON_EMPTY:
        found += error_problems(
            frame.with_columns(pl.when(pl.col(column).is_null()).then(pl.lit(f"empty {column}"))
                               .otherwise(None).alias("_missing")),
            "_missing", file=file, column=column)

    aware: list[str] = []
    instant_columns = [c for c in INSTANTS if c in columns]
    for column in instant_columns:
        parse = instants_from_text if table.text else instants_from_typed
        parsed = parse(frame, column, required=column == "started_at")
        if isinstance(parsed, str):
            found.append(Problem(file=file, column=column, reason=parsed))
            return None, found
        found += error_problems(parsed, "_error", file=file, column=column, value=column)
        frame = parsed.rename({"_us": f"_us_{column}", "_aware": f"_aware_{column}",
                               "_error": f"_error_{column}"})
        aware.append(f"_aware_{column}")
    found += mixed_offset_problems(frame, aware, file=file, columns=instant_columns)

    def at(column: str) -> pl.Expr:
        return pl.col(f"_us_{column}").cast(pl.Datetime("us")).dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ")

    started, resolved = pl.col("_us_started_at"), pl.col("_us_resolved_at")
    found += listed(frame.filter(resolved < started), files, column="resolved_at",
                    what="incidents resolved before they started",
                    reason=pl.format("resolved_at {} is before started_at {}", at("resolved_at"),
                                     at("started_at")))
    if "acknowledged_at" in columns:
        acknowledged = pl.col("_us_acknowledged_at")
        found += listed(frame.filter(acknowledged < started), files, column="acknowledged_at",
                        what="incidents acknowledged before they started",
                        reason=pl.format("acknowledged_at {} is before started_at {}",
                                         at("acknowledged_at"), at("started_at")))
        found += listed(frame.filter(acknowledged > resolved), files, column="acknowledged_at",
                        what="incidents acknowledged after they were resolved",
                        reason=pl.format("acknowledged_at {} is after resolved_at {}",
                                         at("acknowledged_at"), at("resolved_at")))
    # Rows with problems stay in, so that a repeated incident_id is found on them too; the reader
    # raises whenever there is a problem.
    incidents = frame.select(
        *[pl.col(f"_us_{c}").alias(c) if c in INSTANTS else pl.col(c) for c in columns], ROW, FILE)
    return incidents, found


__all__ = ["read_incidents"]
