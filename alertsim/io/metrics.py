"""Read metrics into a Metrics frame: CSV or Parquet (a file, a directory or a glob) or a DuckDB table.

Layouts
    *Long*: columns ``timestamp``, ``metric``, ``value`` and any label columns (``instance``,
    ``service``, ...). *Two-column*: ``timestamp,value`` (NAB and most exports); the metric name comes
    from ``metric=`` and constant labels from ``labels=``; further columns are labels. Files of a
    directory or glob are concatenated; a label one file lacks is empty there.

Timestamps
    ISO-8601 with or without a UTC offset (``Z``, ``+02:00``, ``+0200``, ``+02``), ``T`` or a space
    between date and time, optional fractional seconds (truncated to microseconds); a timestamp
    without an offset is UTC. Different offsets in one file (daylight saving time) are fine, but
    mixing naive and offset-aware timestamps in one file is an error: it is ambiguous. Unix seconds
    (integer or decimal) are accepted too; a number larger than 1e11 looks like milliseconds and is an
    error. Parquet and DuckDB datetimes are converted to UTC (naive ones are taken as UTC) and numbers
    there are Unix seconds.

Values and the NaN/Inf policy
    A value is a decimal number (``0.5``, ``-3``, ``1e-3``) or one of Prometheus' special values
    ``NaN``, ``Inf``, ``+Inf``, ``-Inf`` (any case). Special values are *kept* as floats, because
    Prometheus stores them too: a NaN sample is present but every comparison with it is false (a
    threshold rule is not true on NaN), and ``+Inf`` exceeds every threshold. They are counted in
    :class:`MetricsRead` and listed as warnings by ``alertsim validate``. An empty or non-numeric value
    is an error (leave the row out for a missing sample).

Duplicates and order
    Rows are sorted by metric, label values and timestamp. Two samples of one series at the same
    instant are duplicates: the first (in file order) is kept, the rest dropped, counted and logged;
    with ``strict=True`` they are an error that lists them. Rows out of time order within their series
    are sorted, counted and logged; with ``strict=True`` they are an error.

Labels
    Label names match ``[a-zA-Z_][a-zA-Z0-9_]*``; values are strings and an empty value means the label
    is absent (as in Prometheus), so a null label is read as ``""``. A series is named Prometheus-style,
    ``cpu{instance="a",service="checkout"}`` (see :func:`alertsim.frames.series_name`).

Errors
    Every problem of the input (empty file, header only, not UTF-8, missing columns, bad timestamps or
    values, ...) is collected and raised at once as :class:`~alertsim.errors.InputError`, each with its
    file, 1-based data row (the header is row 0) and column. UTF-8 with or without a byte-order mark,
    CRLF line endings and a missing final newline are all fine.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "cpu.csv").write_text(
...     "timestamp,value\\n2026-01-01T00:01:00Z,0.5\\n2026-01-01T00:00:00Z,NaN\\n")
>>> read = load_metrics(folder / "cpu.csv", metric="cpu", labels={"service": "checkout"})
>>> read.frame.columns, read.frame["value"].to_list(), read.resorted, read.nan_values
(['timestamp', 'metric', 'value', 'service'], [nan, 0.5], 1, 1)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from alertsim.errors import ConfigError, InputError, Problem, check_type
from alertsim.frames import LABEL_NAME, METRIC_NAME_RULE, METRICS, metric_name_problem, series_expr, validate
from alertsim.io._tabular import (
    CAUGHT,
    FILE,
    ROW,
    Table,
    error_problems,
    find_files,
    first_line,
    instants_from_text,
    instants_from_typed,
    listed,
    mixed_offset_problems,
    numbered_rows,
    other_file,
    read_table,
    sort_problems,
    typed_table,
    values_from_column,
)

logger = logging.getLogger(__name__)


_CORE = ("timestamp", "metric", "value")
_STRING_LIKE = (pl.String, pl.Categorical)


@dataclass(frozen=True, kw_only=True)
class MetricsRead:
    """A Metrics frame and what reading it found.

    Attributes
    ----------
    frame : the Metrics frame (``timestamp``, ``metric``, ``value`` and sorted label columns), sorted
        by metric, labels and timestamp, without duplicates.
    files : the files read, in order.
    rows : data rows read, before duplicates were dropped.
    series : distinct series (metric plus label values).
    duplicates : samples dropped because an earlier row had the same series and timestamp.
    resorted : rows that came earlier in time than the previous row of their series.
    nan_values, inf_values : samples whose value is NaN, or +Inf/-Inf (kept; see the module notes).
    warnings : the rows behind those counts (at most a few per kind), for ``alertsim validate``.
    series_starts : the rows of ``frame`` where each series begins, for
        ``alertsim.series.prepare(frame, series_starts=...)``.
    """

    frame: pl.DataFrame
    files: tuple[str, ...]
    rows: int
    series: int
    duplicates: int
    resorted: int
    nan_values: int
    inf_values: int
    warnings: tuple[Problem, ...] = ()
    series_starts: pl.Series | None = None


def read_metrics(
    path: str | os.PathLike[str],
    *,
    metric: str | None = None,
    labels: Mapping[str, str] | None = None,
    table: str | None = None,
    strict: bool = False,
) -> pl.DataFrame:
    """Read a metrics file, directory, glob or DuckDB table into a Metrics frame.

    Parameters
    ----------
    path : a CSV (optionally gzip-compressed) or Parquet file, a directory of them, a glob such as
        ``"exports/*.csv"``, or a DuckDB database file (with ``table``).
    metric : default None. The metric name for files without a ``metric`` column (required for them);
        for files with one, only that metric's rows are kept.
    labels : default None. Constant labels added to every sample, e.g. ``{"service": "checkout"}``.
    table : default None. The table (or ``schema.table``) to read from a DuckDB database.
    strict : default False. Make duplicate samples and out-of-order rows errors instead of warnings.

    Returns
    -------
    polars.DataFrame
        A Metrics frame; see :func:`load_metrics` for the counts of what was dropped or re-sorted.

    Raises
    ------
    InputError
        Listing every problem of the input, each with its file, row and column.
    ConfigError
        When an argument is malformed (a metric or label name outside Prometheus' grammar).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.csv"
    >>> _ = path.write_text("timestamp,metric,value,instance\\n1767225600,up,1,a\\n")
    >>> read_metrics(path).row(0)
    (datetime.datetime(2026, 1, 1, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 'up', 1.0, 'a')
    """
    return load_metrics(path, metric=metric, labels=labels, table=table, strict=strict).frame


def load_metrics(
    path: str | os.PathLike[str],
    *,
    metric: str | None = None,
    labels: Mapping[str, str] | None = None,
    table: str | None = None,
    strict: bool = False,
) -> MetricsRead:
    """Like :func:`read_metrics`, but also return what reading found (:class:`MetricsRead`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.csv"
    >>> _ = path.write_text("timestamp,value\\n0,1\\n0,2\\n60,+Inf\\n")
    >>> read = load_metrics(path, metric="queue_depth")
    >>> read.frame["value"].to_list(), read.duplicates, read.inf_values
    ([1.0, inf], 1, 1)
    """
    check_type(path, (str, os.PathLike), name="path",
               expected="a metrics file, directory, glob or DuckDB file (str or pathlib.Path)")
    constant = _check_arguments(metric, labels, table, strict)
    display = os.fspath(path)
    if table is not None:
        if not Path(display).is_file():
            reason = "no such file"
            raise InputError(f"{display}: {reason}", [Problem(file=display, reason=reason)], file=display)
        files = [Path(display)]
    else:
        files = find_files(path)
    names = [f"{f}:{table}" if table is not None else str(f) for f in files]
    problems: list[Problem] = []
    frames: list[pl.DataFrame] = []
    seen: set[str] = set()
    for index, file in enumerate(files):
        read, found = _read_duckdb(file, table) if table is not None else read_table(file, numbered=False)
        problems += found
        if read is None:
            continue
        frame, found, metrics = _samples(read, metric=metric, constant=constant, index=index)
        problems += found
        seen |= metrics
        if frame is not None:
            frames.append(_numbered(frame, index) if len(files) > 1 else frame)
    combined = _combine(frames, constant)
    if metric is not None and seen and metric not in seen and not problems:
        shown = ", ".join(sorted(seen)[:10]) + (", ..." if len(seen) > 10 else "")
        problems.append(Problem(file=display, column="metric",
                                reason=f"no samples of metric {metric!r}; the input has {shown}"))
    keys = ["metric", *sorted(c for c in combined.columns if c not in (*_CORE, ROW, FILE))]
    # Columns holding one value in every row (a single metric, labels= constants) tell no series apart.
    same = {"metric"} if not problems and (metric is not None or len(seen) == 1) else set()
    varying = [k for k in keys if k not in same and k not in constant]
    ordered, starts, duplicates, resorted, order_problems = _order(combined, keys, names, varying=varying)
    late = [p for p in order_problems if p.reason.startswith("out of order")]
    doubled = [p for p in order_problems if not p.reason.startswith("out of order")]
    if strict:
        problems += order_problems
    if problems:
        raise InputError(f"{display} is not a valid metrics input", sort_problems(problems, names),
                         file=display)
    frame = ordered.select(pl.col("timestamp").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
                           "metric", "value", *keys[1:])
    nan_values, inf_values = frame.select(pl.col("value").is_nan().sum().alias("nan"),
                                          pl.col("value").is_infinite().sum().alias("inf")).row(0)
    special = _special_values(_numbered(ordered, 0), names) if nan_values or inf_values else []
    if duplicates:
        logger.warning("%s: dropped %d duplicate samples (same series and timestamp; kept the first)",
                       display, duplicates)
    if resorted:
        logger.warning("%s: %d rows were out of time order within their series; sorted", display, resorted)
    if nan_values or inf_values:
        logger.info("%s: kept %d NaN and %d ±Inf values", display, nan_values, inf_values)
    logger.info("%s: read %d samples of %d series from %d files", display, frame.height, starts.len(), len(files))
    return MetricsRead(
        frame=validate(frame, METRICS, file=display), files=tuple(names), rows=combined.height,
        series=starts.len(), duplicates=duplicates, resorted=resorted, nan_values=nan_values,
        inf_values=inf_values, warnings=tuple(sort_problems([*late, *doubled, *special], names)),
        series_starts=starts,
    )


def _check_arguments(metric: object, labels: object, table: object, strict: object) -> dict[str, str]:
    if metric is not None and metric_name_problem(metric) is not None:
        raise ConfigError(f"{metric!r} is not a metric name; a metric name is {METRIC_NAME_RULE}", field="metric")
    if table is not None and (not isinstance(table, str) or not table.strip()):
        raise ConfigError(f"expected a table name, got {table!r}", field="table")
    if not isinstance(strict, bool):
        raise ConfigError(f"expected True or False, got {strict!r}", field="strict")
    if labels is None:
        return {}
    if not isinstance(labels, Mapping):
        raise ConfigError(f"expected a mapping of label names to values, got {labels!r}", field="labels")
    for name, value in labels.items():
        if not isinstance(name, str) or not LABEL_NAME.match(name) or name in _CORE:
            raise ConfigError(f"{name!r} is not a label name; use [a-zA-Z_][a-zA-Z0-9_]* other than "
                              "timestamp, metric and value", field="labels")
        if not isinstance(value, str):
            raise ConfigError(f"label {name!r} has value {value!r}; label values are strings",
                              field="labels")
    return dict(labels)


def _read_duckdb(path: Path, table: str | None) -> tuple[Table | None, list[Problem]]:
    """One table of a DuckDB database, read through Arrow."""
    import duckdb  # noqa: PLC0415  (0.3 s to import: only DuckDB sources need it)

    name = str(path)
    try:
        connection = duckdb.connect(name, read_only=True)
    except CAUGHT as exc:
        return None, [Problem(file=name, reason=f"cannot be opened as a DuckDB database: {first_line(exc)}")]
    try:
        listed = connection.sql("SELECT table_schema, table_name FROM information_schema.tables "
                                "ORDER BY table_schema, table_name").fetchall()
        matches = [(s, t) for s, t in listed if table in (t, f"{s}.{t}")]
        if len(matches) != 1:
            known = ", ".join(t if s == "main" else f"{s}.{t}" for s, t in listed) or "none"
            what = "is ambiguous" if matches else "does not exist"
            return None, [Problem(file=name, reason=f"table {table!r} {what}; tables: {known}")]
        schema, relation = matches[0]
        quoted = ".".join('"' + part.replace('"', '""') + '"' for part in (schema, relation))
        frame = pl.from_arrow(connection.sql(f"SELECT * FROM {quoted}").to_arrow_table())
    except CAUGHT as exc:
        return None, [Problem(file=name, reason=f"cannot read table {table!r}: {first_line(exc)}")]
    finally:
        connection.close()
    if not isinstance(frame, pl.DataFrame):  # pragma: no cover - from_arrow of a Table is a frame
        return None, [Problem(file=name, reason=f"table {table!r} did not read as a table")]
    return typed_table(f"{name}:{table}", frame, numbered=False)


def _header_row(table: Table) -> int | None:
    return 0 if table.text else None


def _samples(table: Table, *, metric: str | None, constant: Mapping[str, str],
             index: int) -> tuple[pl.DataFrame | None, list[Problem], set[str]]:
    """One file's samples (rows without problems) as timestamp (Int64 µs), metric, value, labels,
    ``ROW`` and ``FILE`` (both left out when every row of a typed table is kept: see :func:`_numbered`); the
    file's problems; the metric names it holds."""
    file, columns, head = table.file, table.columns, _header_row(table)
    found: list[Problem] = []
    need = ["timestamp", "value"] + ([] if metric is not None else ["metric"])
    for column in need:
        if column in columns:
            continue
        if column == "metric":
            reason = ("missing column: without a metric column this is a timestamp,value file, so pass "
                      "the metric name: metric=NAME (alertsim validate --metric NAME)")
        else:
            reason = f"missing column; a metrics file has timestamp, value, metric and label columns, got " \
                     f"{', '.join(columns)}"
            alike = [c for c in columns if c.lower() == column]
            if alike:
                reason += f" (column names are case-sensitive: rename {alike[0]!r} to {column!r})"
        found.append(Problem(file=file, row=head, column=column, reason=reason))
    label_columns = [c for c in columns if c not in _CORE]
    usable_labels = True
    for column in label_columns:
        dtype = table.frame.schema[column]
        if not LABEL_NAME.match(column):
            found.append(Problem(file=file, row=head, column=column,
                                 reason="label names must match [a-zA-Z_][a-zA-Z0-9_]*"))
            usable_labels = False
        elif column in constant:
            found.append(Problem(file=file, row=head, column=column,
                                 reason="this label is both a column and given in labels="))
            usable_labels = False
        elif not (dtype in _STRING_LIKE or isinstance(dtype, pl.Enum) or dtype.is_numeric()
                  or dtype == pl.Boolean):
            found.append(Problem(file=file, column=column,
                                 reason=f"dtype {dtype} cannot be a label; labels are strings"))
            usable_labels = False
    if "timestamp" not in columns or "value" not in columns:
        return None, found, set()
    if usable_labels and not found:
        clean = _clean_samples(table, metric=metric, constant=constant, label_columns=label_columns)
        if clean is not None:
            return clean[0], found, clean[1]

    frame = table.frame if ROW in table.frame.columns else numbered_rows(table.frame)
    parsed = (instants_from_text(frame, "timestamp", required=True) if table.text
              else instants_from_typed(frame, "timestamp", required=True))
    if isinstance(parsed, str):
        found.append(Problem(file=file, column="timestamp", reason=parsed))
        return None, found, set()
    valued = values_from_column(parsed, "value")
    if isinstance(valued, str):
        found.append(Problem(file=file, column="value", reason=valued))
        return None, found, set()
    found += error_problems(valued, "_error", file=file, column="timestamp", value="timestamp")
    found += error_problems(valued, "_verror", file=file, column="value", value="value")
    found += mixed_offset_problems(valued, ["_aware"], file=file, columns=["timestamp"])

    ok = pl.col("_error").is_null() & pl.col("_verror").is_null()
    metrics: set[str] = set()
    if "metric" in columns:
        dtype = frame.schema["metric"]
        if not (dtype in _STRING_LIKE or isinstance(dtype, pl.Enum)):
            found.append(Problem(file=file, column="metric",
                                 reason=f"dtype {dtype}; metric names are strings"))
            return None, found, set()
        valued = valued.with_columns(pl.col("metric").cast(pl.String))
        names = valued["metric"].unique().to_list()
        bad = [n for n in names if n and metric_name_problem(n) is not None]
        metrics = {n for n in names if n and metric_name_problem(n) is None}
        empty = pl.col("metric").is_null() | (pl.col("metric") == "")
        found += error_problems(
            valued.with_columns(
                pl.when(empty).then(pl.lit("empty metric name"))
                .when(pl.col("metric").is_in(bad))
                .then(pl.lit(f"{{value}} is not a metric name; a metric name is {METRIC_NAME_RULE}"))
                .otherwise(None).alias("_merror")),
            "_merror", file=file, column="metric", value="metric")
        ok = ok & ~empty & ~pl.col("metric").is_in(bad)
        if metric is not None:
            ok = ok & (pl.col("metric") == metric)
        metric_column = pl.col("metric")
    else:
        metric_column = pl.lit(metric, pl.String).alias("metric")
    if not usable_labels:
        return None, found, metrics
    samples = (valued if valued.select(ok.all()).item() else valued.filter(ok)).select(
        pl.col("_us").alias("timestamp"), metric_column, pl.col("_value").alias("value"),
        *[pl.col(c).cast(pl.String).fill_null("") for c in label_columns],
        *[pl.lit(v, pl.String).alias(k) for k, v in constant.items()],
        ROW, pl.lit(index, pl.Int32).alias(FILE),
    )
    return samples, found, metrics


def _clean_samples(table: Table, *, metric: str | None, constant: Mapping[str, str],
                   label_columns: list[str]) -> tuple[pl.DataFrame, set[str]] | None:
    """:func:`_samples` of a typed table (Parquet, DuckDB) whose rows cannot have a problem — datetime
    timestamps and numeric values without nulls, valid metric names — without the per-row checks and
    without ``ROW`` and ``FILE`` (every row is kept, in file order: see :func:`_numbered`); None when any
    row might need one (the general path then names it)."""
    frame = table.frame
    stamp, value = frame.schema["timestamp"], frame.schema["value"]
    if table.text or not isinstance(stamp, pl.Datetime) or not value.is_numeric():
        return None
    if frame["timestamp"].null_count() or frame["value"].null_count():
        return None
    if "metric" in frame.columns:
        dtype = frame.schema["metric"]
        names_column = frame["metric"]
        if not (dtype in _STRING_LIKE or isinstance(dtype, pl.Enum)) or names_column.null_count():
            return None
        names_column = names_column.cast(pl.String)
        first = names_column[0]
        # Usually one metric per file: one comparison pass instead of hashing every name.
        names = [first] if bool((names_column == first).all()) else names_column.unique().to_list()
        if any(not n or metric_name_problem(n) is not None for n in names):
            return None
        if metric is not None and names != [metric]:
            return None
        metric_column = pl.col("metric") if dtype == pl.String else pl.col("metric").cast(pl.String)
    else:
        names = []
        metric_column = pl.lit(metric, pl.String).alias("metric")
    column = pl.col("timestamp")
    if stamp.time_zone not in (None, "UTC"):
        column = column.dt.convert_time_zone("UTC")
    # Columns already of the right type and without nulls are taken as they are (no copies).
    samples = frame.select(
        column.dt.cast_time_unit("us").dt.epoch("us").alias("timestamp"), metric_column,
        pl.col("value") if value == pl.Float64 else pl.col("value").cast(pl.Float64),
        *[pl.col(c) if frame.schema[c] == pl.String and not frame[c].null_count()
          else pl.col(c).cast(pl.String).fill_null("") for c in label_columns],
        *[pl.lit(v, pl.String).alias(k) for k, v in constant.items()],
    )
    return samples, set(names)


def _numbered(frame: pl.DataFrame, index: int) -> pl.DataFrame:
    """``frame`` with ``ROW`` and ``FILE`` (file ``index``) when it has none.

    The samples of a typed file that needed no per-row check come without them (12 bytes a row that a
    clean file never uses): a row's number is its position plus one until the frame is sorted or
    filtered, so they are added only when a problem or a warning has to name rows, or before rows move.
    """
    if ROW in frame.columns:
        return frame
    return numbered_rows(frame).with_columns(pl.lit(index, pl.Int32).alias(FILE))


def _combine(frames: Sequence[pl.DataFrame], constant: Mapping[str, str]) -> pl.DataFrame:
    """Concatenate files' samples; a label a file lacks is empty there."""
    if not frames:
        schema = {"timestamp": pl.Int64(), "metric": pl.String(), "value": pl.Float64(),
                  **{k: pl.String() for k in constant}, ROW: pl.Int64(), FILE: pl.Int32()}
        return pl.DataFrame(schema=schema)
    if len(frames) == 1:
        return frames[0]
    combined = pl.concat(frames, how="diagonal_relaxed")
    labels = [c for c in combined.columns if c not in (*_CORE, ROW, FILE)]
    return combined.with_columns(pl.col(labels).fill_null(""))


def _is_sorted(frame: pl.DataFrame, columns: Sequence[str]) -> bool:
    """Whether ``frame`` is sorted ascending by ``columns`` (lexicographically)."""
    if frame.height < 2:
        return True
    before = pl.lit(False)
    equal = pl.lit(True)
    for column in columns:
        previous = pl.col(column).shift(1)
        before = before | (equal & (pl.col(column) < previous))
        equal = equal & (pl.col(column) == previous)
    return not frame.select(before.fill_null(False).any()).item()


def _breaks(frame: pl.DataFrame, compared: Sequence[str]) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Where each series starts (the rows where any of ``compared`` differs from the row before; row 0
    included), and the rows whose timestamp goes back (``back``) or repeats (``dup``) within a series.

    Without copying a column: run lengths of each key, and the few rows whose timestamp is not later
    than the row before (in a file sorted by series and time, only the series' first rows).
    """
    if compared:
        runs = frame.select(pl.col(k).rle().struct.field("len").cast(pl.Int64).implode().alias(k) for k in compared)
        lengths = [runs[k].explode() for k in compared]
        starts = pl.concat([run.cum_sum() - run for run in lengths]).unique().sort()
    else:
        starts = pl.Series([0], dtype=pl.Int64)
    stamp = pl.col("timestamp")
    late = frame.select((stamp <= stamp.shift(1)).arg_true().cast(pl.Int64).alias("row"))["row"]
    inside = late.filter(~late.is_in(starts.implode()))
    times = frame["timestamp"]
    earlier = (times.gather(inside) < times.gather(inside - 1)).fill_null(False)
    return starts, inside.filter(earlier), inside.filter(~earlier)


def _order(frame: pl.DataFrame, keys: list[str], files: Sequence[str], *,
           varying: Sequence[str] | None = None) -> tuple[pl.DataFrame, pl.Series, int, int, list[Problem]]:
    """Sort by series and time and drop duplicate samples.

    ``varying`` are the keys that may differ between rows (default all): a key holding one value in
    every row is not compared row by row.

    Returns the sorted frame without duplicates, the rows where each of its series begins, the number of
    duplicates and of rows out of order, and problems naming those rows.
    """
    if frame.height == 0:
        return frame, pl.Series("row", [], dtype=pl.Int64), 0, 0, []
    found: list[Problem] = []
    resorted = 0
    compared = keys if varying is None else varying
    # The frame is in order when no row goes back within its series and the series' first rows are in
    # order (and each series is one run of rows).
    starts, back, dup = _breaks(frame, compared)
    in_order = back.len() == 0
    if in_order:
        firsts = frame.select(pl.col(keys).gather(starts))
        in_order = _is_sorted(firsts, keys) and not firsts.is_duplicated().any()
    if in_order:
        ordered = frame
    else:
        frame = _numbered(frame, 0)
        # Number the series in label order (a small frame), then sort by two integers: much faster
        # than sorting by the label strings. A stable sort keeps file order among equal instants.
        numbered = frame.select(keys).unique().sort(keys).with_row_index("_sid")
        indexed = frame.join(numbered, on=keys, how="left", maintain_order="left")
        late = pl.col("timestamp") < pl.col("timestamp").shift(1).over("_sid")
        marked = indexed.with_columns(late.fill_null(False).alias("_late"))
        resorted = int(marked["_late"].sum())
        if resorted:
            previous = marked.with_columns(pl.col(ROW).shift(1).over("_sid").alias("_previous"),
                                           pl.col(FILE).shift(1).over("_sid").alias("_pfile"))
            found += listed(
                previous.filter(pl.col("_late")), files, column="timestamp", what="rows out of order",
                reason=pl.format("out of order: {} is earlier than the previous sample of {} (row {}{})",
                                 _instant_text(), series_expr(keys[1:]), pl.col("_previous"),
                                 other_file("_pfile", files)))
        ordered = indexed.sort("_sid", "timestamp", maintain_order=True).drop("_sid")
        starts, _, dup = _breaks(ordered, compared)
    duplicates = dup.len()
    if duplicates:
        ordered = _numbered(ordered, 0)
        repeated = pl.int_range(0, ordered.height, eager=True).is_in(dup.implode())
        first = ordered.with_columns(
            pl.when(~repeated).then(pl.col(ROW)).forward_fill().alias("_previous"),
            pl.when(~repeated).then(pl.col(FILE)).forward_fill().alias("_pfile"))
        found += listed(
            first.filter(repeated), files, column="timestamp", what="duplicate samples",
            reason=pl.format("duplicate sample of {} at {}: row {}{} has the same series and timestamp "
                             "(the first is kept)", series_expr(keys[1:]), _instant_text(),
                             pl.col("_previous"), other_file("_pfile", files)))
        ordered = ordered.filter(~repeated)
        starts = starts - dup.search_sorted(starts)  # the rows dropped before each start (never one)
    return ordered, starts, duplicates, resorted, found


def _instant_text() -> pl.Expr:
    return (pl.col("timestamp").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
            .dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ"))


def _special_values(frame: pl.DataFrame, files: Sequence[str]) -> list[Problem]:
    """Warnings naming the samples whose value is NaN or ±Inf (kept, as Prometheus keeps them)."""
    nan = frame.filter(pl.col("value").is_nan())
    inf = frame.filter(pl.col("value").is_infinite())
    sign = pl.when(pl.col("value") > 0).then(pl.lit("+Inf")).otherwise(pl.lit("-Inf"))
    return [
        *listed(nan, files, column="value", what="NaN values",
                 reason=pl.lit("NaN value: kept as a sample (as in Prometheus); every comparison with "
                               "it is false")),
        *listed(inf, files, column="value", what="±Inf values",
                 reason=pl.format("{} value: kept as a sample (as in Prometheus)", sign)),
    ]


__all__ = ["MetricsRead", "load_metrics", "read_metrics"]
