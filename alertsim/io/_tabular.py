"""Machinery shared by the metrics and incident readers (private).

Finding the files a path names, reading each one into a frame with 1-based row numbers, parsing
timestamps and numbers without a per-row Python loop, and turning row masks into :class:`Problem`
lists. Nothing here raises on bad data: every function returns the problems it found, and the
readers raise one :class:`~alertsim.errors.InputError` with all of them.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from glob import glob
from pathlib import Path

import polars as pl
from polars.exceptions import PanicException

from alertsim.errors import InputError, Problem

ROW = "__row"
"""Name of the column holding each record's 1-based data row number (the header is row 0)."""

FILE = "__file"
"""Name of the column holding the index of each record's file among the files read."""

LIMIT = 20
"""Rows listed one by one per file, column and kind of problem; the rest are summarised."""

FILE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")
"""Files picked up from a directory."""

ISO_EXAMPLES = "ISO-8601 such as 2026-01-31T12:00:00Z or 2026-01-31 12:00:00.250+02:00, or Unix seconds"

_ISO = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.,][0-9]{1,9})?)?"
        r"(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?$")
_NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_INTEGER = r"^[+-]?[0-9]{1,15}$"
_SPECIAL = r"^(?i:[+-]?inf|nan)$"
_GLOB_CHARS = re.compile(r"[*?\[]")
MILLISECONDS_FROM = 1e11
"""Unix timestamps larger than this (the year 5138 in seconds) are taken to be milliseconds or finer."""

CAUGHT = (Exception, PanicException)
"""What a reader catches from polars, pyarrow and duckdb (a polars panic is a BaseException)."""


@dataclass(frozen=True, kw_only=True)
class Table:
    """One file's records: its columns as read plus ``ROW``, the 1-based data row number.

    ``text`` is true when every column holds the text as written (CSV) and false for typed sources
    (Parquet, DuckDB).
    """

    file: str
    frame: pl.DataFrame
    text: bool

    @property
    def columns(self) -> list[str]:
        return [c for c in self.frame.columns if c != ROW]


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message, for a one-line reason."""
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()
    return type(exc).__name__


def show(value: object, width: int = 40) -> str:
    """A cell value quoted for a reason, shortened to ``width`` characters."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 4] + "...'"


def find_files(path: str | os.PathLike[str]) -> list[Path]:
    """The files ``path`` names: itself, the CSV/Parquet files in a directory, or a glob's matches."""
    text = os.fspath(path)
    candidate = Path(text)
    if candidate.is_dir():
        files = sorted(f for f in candidate.iterdir()
                       if f.is_file() and f.name.lower().endswith(FILE_SUFFIXES))
        if not files:
            reason = f"directory holds no {', '.join(FILE_SUFFIXES)} files"
            raise InputError(f"{text}: {reason}", [Problem(file=text, reason=reason)], file=text)
        return files
    if candidate.exists():
        return [candidate]
    if _GLOB_CHARS.search(text):
        files = sorted(Path(f) for f in glob(text, recursive=True) if Path(f).is_file())
        if not files:
            reason = "no files match this pattern"
            raise InputError(f"{text}: {reason}", [Problem(file=text, reason=reason)], file=text)
        return files
    reason = "no such file or directory"
    raise InputError(f"{text}: {reason}", [Problem(file=text, reason=reason)], file=text)


def read_table(path: Path, *, numbered: bool = True) -> tuple[Table | None, list[Problem]]:
    """Read one CSV (optionally gzip-compressed) or Parquet file; the format is told by its content.

    ``numbered=False`` leaves ``ROW`` out of a Parquet file's frame (a typed table's row is its position
    plus one), for a reader that needs the numbers only to name rows with problems and adds them then."""
    name = str(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
        if head[:4] == b"PAR1":  # read by polars from the file itself: no copy of it in memory
            return _read_parquet(name, path, numbered=numbered)
        data = path.read_bytes()
    except OSError as exc:
        return None, [Problem(file=name, reason=f"cannot read the file: {exc.strerror or exc}")]
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            return None, [Problem(file=name, reason=f"not a readable gzip file: {first_line(exc)}")]
    if data[:4] == b"PAR1":
        return _read_parquet(name, data, numbered=numbered)
    if data[8:12] == b"DUCK":
        return None, [Problem(file=name, reason="this is a DuckDB database: pass table=NAME "
                                                "(--table NAME) to read one of its tables")]
    return _read_csv(name, data)


def typed_table(name: str, frame: pl.DataFrame, *, numbered: bool = True) -> tuple[Table | None, list[Problem]]:
    """Wrap a frame from a typed source (Parquet, DuckDB) as a :class:`Table` (with ``ROW`` unless
    ``numbered`` is false; see :func:`read_table`)."""
    reserved = [c for c in (ROW, FILE) if c in frame.columns]
    if reserved:
        return None, [Problem(file=name, column=c, reason="this column name is reserved") for c in reserved]
    if frame.height == 0:
        return None, [Problem(file=name, reason="no data rows")]
    if numbered:
        frame = numbered_rows(frame)
    return Table(file=name, frame=frame, text=False), []


def numbered_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``ROW``, each row's position plus one."""
    return frame.with_columns(pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(ROW))


def _read_parquet(name: str, data: bytes | Path, *, numbered: bool) -> tuple[Table | None, list[Problem]]:
    try:
        frame = pl.read_parquet(io.BytesIO(data) if isinstance(data, bytes) else data)
    except CAUGHT as exc:
        return None, [Problem(file=name, reason=f"cannot be read as Parquet: {first_line(exc)}")]
    return typed_table(name, frame, numbered=numbered)


_UTF8_BOM = b"\xef\xbb\xbf"
_WIDE_BOMS = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32",
              b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}


def _read_csv(name: str, data: bytes) -> tuple[Table | None, list[Problem]]:
    """Read a CSV as text with row numbers; header problems and ragged rows are reported here."""
    for bom, encoding in _WIDE_BOMS.items():
        if data.startswith(bom):
            return None, [Problem(file=name, row=0, reason=f"the file is {encoding}; save it as UTF-8")]
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM):]
    if not data or data.isspace():
        return None, [Problem(file=name, reason="the file is empty; expected a header row "
                                                "(e.g. timestamp,metric,value) and data rows")]
    end = len(data)
    while end and data[end - 1] in b"\r\n":  # trailing blank lines are not rows
        end -= 1
    if data.count(b"\n", end) > 1 or data.count(b"\r", end) > 1:
        data = data[:end]
    try:
        raw = pl.read_csv(data, has_header=False, infer_schema=False, empty_string_is_null=False)
    except CAUGHT as exc:
        return None, _diagnose_csv(name, data, exc)
    header = [("" if v is None else v.strip()) for v in raw.row(0)]
    found: list[Problem] = []
    for position, column in enumerate(header, start=1):
        if not column:
            found.append(Problem(file=name, row=0, column=f"#{position}", reason="empty column name"))
        elif header.index(column) != position - 1:
            found.append(Problem(file=name, row=0, column=column, reason="duplicate column name"))
    if len(header) == 1:
        hint = next((f"; the header contains {sep!r}: alertsim reads comma-separated files"
                     for sep in (";", "\t", "|") if sep in header[0]), "")
        found.append(Problem(file=name, row=0, reason=f"only one column {header[0]!r}{hint}"))
    found += [Problem(file=name, row=0, column=c, reason="this column name is reserved")
              for c in (ROW, FILE) if c in header]
    if raw.height == 1 and not found:
        found.append(Problem(file=name, reason="no data rows: the file has a header only"))
    if found:
        return None, found
    ragged, found = _ragged_rows(name, data, raw)
    frame = (raw.slice(1).rename(dict(zip(raw.columns, header, strict=True)))
             .with_columns(pl.int_range(1, raw.height, dtype=pl.Int64).alias(ROW)))
    if ragged:  # their cells are not where the header says: reported once, not cell by cell
        frame = frame.filter(~pl.col(ROW).is_in(ragged))
    return Table(file=name, frame=frame, text=True), found


def _ragged_rows(name: str, data: bytes, raw: pl.DataFrame) -> tuple[list[int], list[Problem]]:
    """Rows with fewer fields than the header (polars pads them silently), and their problems.

    A cheap count tells whether there are any: the separators in the file, less the commas inside
    (quoted) values, against ``(width - 1) * records``. Only then are the rows located with the csv
    module.
    """
    width = raw.width
    if width < 2:
        return [], []
    separators = data.count(b",")
    if b'"' in data:
        separators -= raw.select(
            pl.sum_horizontal(pl.all().str.count_matches(",", literal=True).sum())).item()
    if separators == (width - 1) * raw.height:
        return [], []
    return _scan_field_counts(name, data, width)


def _scan_field_counts(name: str, data: bytes, width: int) -> tuple[list[int], list[Problem]]:
    text = data.decode("utf-8", errors="replace")
    rows: list[int] = []
    found: list[Problem] = []
    try:
        for number, record in enumerate(csv.reader(io.StringIO(text, newline=""))):
            if number == 0 or len(record) == width:
                continue
            rows.append(number)
            if len(rows) <= LIMIT:
                reason = ("empty line" if not record
                          else f"{len(record)} fields, but the header has {width}")
                found.append(Problem(file=name, row=number, reason=reason))
    except csv.Error as exc:
        found.append(Problem(file=name, reason=f"cannot be read as CSV: {first_line(exc)}"))
    if len(rows) > LIMIT:
        found.append(Problem(file=name, reason=f"{len(rows) - LIMIT} more rows with the wrong number of "
                                               "fields"))
    return rows, found


def _diagnose_csv(name: str, data: bytes, exc: BaseException) -> list[Problem]:
    """Explain why polars could not read a CSV: the encoding, ragged rows, or what polars said."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as bad:
        line = data.count(b"\n", 0, bad.start) + 1
        return [Problem(file=name, row=line - 1,
                        reason=f"not UTF-8: byte 0x{data[bad.start]:02x} at line {line} (byte offset "
                               f"{bad.start}); save the file as UTF-8")]
    first = data.split(b"\n", 1)[0]
    width = next(csv.reader([first.decode("utf-8")]), []).__len__() if first.strip() else 0
    found = _scan_field_counts(name, data, width)[1] if width else []
    return found or [Problem(file=name, reason=f"cannot be read as CSV: {first_line(exc)}")]


# ---------------------------------------------------------------------------------------------------
# Problems from row masks


def row_problems(frame: pl.DataFrame, mask: pl.Expr | pl.Series, *, file: str, column: str | None,
                 reason: str, value: str | None = None) -> list[Problem]:
    """One problem per row where ``mask`` holds (at most ``LIMIT``, then a summary).

    ``reason`` may contain ``{value}``, filled with the row's cell of column ``value``.
    """
    bad = frame.filter(mask)
    if bad.height == 0:
        return []
    listed = bad.head(LIMIT).select(ROW, *([value] if value else []))
    found = [Problem(file=file, row=row[0], column=column,
                     reason=reason.format(value=show(row[1])) if value else reason)
             for row in listed.iter_rows()]
    if bad.height > LIMIT:
        summary = reason.replace("{value}", "…")
        found.append(Problem(file=file, column=column,
                             reason=f"{bad.height - LIMIT} more rows like the above: {summary}"))
    return found


def listed(bad: pl.DataFrame, files: Sequence[str], *, column: str, what: str,
           reason: pl.Expr) -> list[Problem]:
    """Problems for the first ``LIMIT`` rows of ``bad`` (rows of several files, told apart by ``FILE``),
    with ``reason`` computed for those rows only, then a summary of the rest."""
    shown = bad.head(LIMIT).with_columns(reason.alias("_reason"))
    found = [Problem(file=files[f], row=r, column=column, reason=text)
             for f, r, text in shown.select(FILE, ROW, "_reason").iter_rows()]
    if bad.height > LIMIT:
        found.append(Problem(file=files[int(bad[FILE][LIMIT])], column=column,
                             reason=f"{bad.height - LIMIT} more {what} like the above"))
    return found


def other_file(column: str, files: Sequence[str]) -> pl.Expr:
    """`` of FILE`` when the row named in ``column`` (a ``FILE`` index) is in another file than the
    current row, else ``""``."""
    if len(files) < 2:
        return pl.lit("")
    name = pl.col(column).replace_strict(list(range(len(files))), list(files), return_dtype=pl.String)
    return pl.when(pl.col(column) != pl.col(FILE)).then(pl.lit(" of ") + name).otherwise(pl.lit(""))


def error_problems(frame: pl.DataFrame, errors: str, *, file: str, column: str,
                   value: str | None = None) -> list[Problem]:
    """Problems from a column of per-row reasons (null where the row is fine)."""
    if frame[errors].null_count() == frame.height:
        return []
    bad = frame.filter(pl.col(errors).is_not_null())
    found: list[Problem] = []
    for reason in bad[errors].unique(maintain_order=True).to_list():
        found += row_problems(bad, pl.col(errors) == reason, file=file, column=column, reason=reason,
                              value=value)
    return found


_SUMMARY = re.compile(r"^[0-9]+ more ")


def sort_problems(found: Iterable[Problem], files: Sequence[str]) -> list[Problem]:
    """File order; in a file whole-file problems, then by row, then the summaries ("N more rows ...")."""
    order = {f: i for i, f in enumerate(files)}

    def key(p: Problem) -> tuple[int, int, int]:
        if p.row is not None:
            place = (1, p.row)
        else:
            place = (2, 0) if _SUMMARY.match(p.reason) else (0, 0)
        return (order.get(p.file or "", -1), *place)

    return sorted(found, key=key)


# ---------------------------------------------------------------------------------------------------
# Timestamps and numbers


def _fast_layouts() -> list[tuple[re.Pattern[str], str, str, bool | None]]:
    """Common fixed layouts: (pattern of one value, polars pattern of the column, strptime format,
    has an offset). Unix seconds have no strptime format (``""``) and no offset (``None``)."""
    layouts: list[tuple[re.Pattern[str], str, str, bool | None]] = []
    # zone: (pattern, strptime directive); "+hh:mm" and "+hhmm" are what pandas and polars write
    zones = (("Z", "Z"), ("", ""), ("[+-][0-9]{2}:?[0-9]{2}", "%z"))
    for sep in ("T", " "):
        for digits in (0, 3, 6):
            for zone, directive in zones:
                fraction = rf"\.[0-9]{{{digits}}}" if digits else ""
                pattern = (rf"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}{sep}[0-9]{{2}}:[0-5][0-9]:[0-5][0-9]"
                           rf"{fraction}{zone}$")
                fmt = f"%Y-%m-%d{sep}%H:%M:%S{f'%.{digits}f' if digits else ''}{directive}"
                layouts.append((re.compile(pattern), pattern, fmt, bool(zone)))
    unix = r"^-?[0-9]{1,11}(?:\.[0-9]{1,6})?$"
    layouts.append((re.compile(unix), unix, "", None))
    return layouts


_FAST_LAYOUTS = _fast_layouts()


def instants_from_text(frame: pl.DataFrame, column: str, *, required: bool) -> pl.DataFrame:
    """Parse ``column`` (text) into ``_us`` (Int64 microseconds since the epoch, UTC), ``_aware``
    (whether the text had a UTC offset; null for Unix seconds and failures) and ``_error`` (a reason
    containing ``{value}``; null when fine), added to ``frame``.

    ISO-8601 ``YYYY-MM-DD[(T| )hh:mm:ss[(.|,)f{1,9}]][Z|±hh[:mm]|±hhmm]`` (naive means UTC; digits
    below a microsecond are truncated) or Unix seconds (an integer or decimal number; a number larger
    than 1e11 looks like milliseconds and is rejected). When the first value has one of the common
    fixed layouts, the rows in that layout are parsed by ``strptime`` and only the others by the
    general parser.
    """
    sample = frame[column].drop_nulls().head(1).to_list()
    layout = next((lay for lay in _FAST_LAYOUTS if sample and lay[0].match(sample[0])), None)
    if layout is None:
        return _instants_general(frame, column, required=required)
    _, pattern, fmt, aware = layout
    text = pl.col(column)
    if fmt:
        parsed = text.str.strptime(pl.Datetime("us"), fmt, strict=False).dt.epoch("us")
    else:
        parsed = (text.cast(pl.Float64, strict=False) * 1_000_000).round(0).cast(pl.Int64)
    fast = frame.select(pl.when(text.str.contains(pattern)).then(parsed).alias("_us"))["_us"]
    us = fast
    offset = pl.repeat(aware, frame.height, dtype=pl.Boolean, eager=True).alias("_aware")
    error = pl.repeat(None, frame.height, dtype=pl.String, eager=True).alias("_error")
    slow = fast.is_null()
    if slow.any():
        where = slow.arg_true()
        general = _instants_general(frame[where], column, required=required)
        us = us.scatter(where, general["_us"])
        offset = offset.scatter(where, general["_aware"])
        error = error.scatter(where, general["_error"])
    return frame.with_columns(us, offset, error)


def _instants_general(frame: pl.DataFrame, column: str, *, required: bool) -> pl.DataFrame:
    """The general parser behind :func:`instants_from_text`, for any row."""
    t = pl.col("_t")
    staged = frame.with_columns(pl.col(column).str.strip_chars().alias("_t"))
    staged = staged.with_columns(
        t.str.contains(_ISO).alias("_iso"),
        t.str.contains(_NUMBER).alias("_num"),
        (t.str.slice(10, 1).is_in(["T", " "])).alias("_time"),
    )
    time = pl.col("_time")

    def part(offset: int, length: int, *, timed: bool = True) -> pl.Expr:
        digits = t.str.slice(offset, length).cast(pl.Int64, strict=False)
        return pl.when(time).then(digits).otherwise(0) if timed else digits

    staged = staged.with_columns(
        part(0, 4, timed=False).alias("_y"), part(5, 2, timed=False).alias("_mo"),
        part(8, 2, timed=False).alias("_d"), part(11, 2).alias("_h"), part(14, 2).alias("_mi"),
        part(17, 2).alias("_s"),
        pl.when(time).then(t.str.slice(19)).otherwise(t.str.slice(10)).alias("_tail"),
    )
    tail = pl.col("_tail")
    staged = staged.with_columns(tail.str.strip_chars_start(".,0123456789").alias("_off"))
    off = pl.col("_off")
    fraction_length = tail.str.len_bytes().cast(pl.Int64) - off.str.len_bytes().cast(pl.Int64) - 1
    compact = off.str.replace(":", "", literal=True)
    staged = staged.with_columns(
        pl.when(fraction_length > 0)
        .then(tail.str.slice(1, fraction_length.clip(lower_bound=0)).str.pad_end(6, "0").str.slice(0, 6)
              .cast(pl.Int64, strict=False))
        .otherwise(0).alias("_frac"),
        pl.when(compact.str.len_bytes() >= 3).then(compact.str.slice(1, 2).cast(pl.Int64, strict=False))
        .otherwise(0).alias("_oh"),
        pl.when(compact.str.len_bytes() >= 5).then(compact.str.slice(3, 2).cast(pl.Int64, strict=False))
        .otherwise(0).alias("_om"),
        pl.when(off.str.starts_with("-")).then(-1).otherwise(1).alias("_sign"),
    )
    y, mo, d = pl.col("_y"), pl.col("_mo"), pl.col("_d")
    leap = ((y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))).cast(pl.Int64)
    month_days = (pl.when(mo == 2).then(28 + leap).when(mo.is_in([4, 6, 9, 11])).then(30).otherwise(31))
    valid = (mo.is_between(1, 12) & d.is_between(1, month_days) & pl.col("_h").is_between(0, 23)
             & pl.col("_mi").is_between(0, 59) & pl.col("_s").is_between(0, 59)
             & pl.col("_oh").is_between(0, 23) & pl.col("_om").is_between(0, 59))
    days = pl.date(y.fill_null(1970), pl.when(mo.is_between(1, 12)).then(mo).otherwise(1), 1).cast(pl.Int64)
    iso_us = ((days + d - 1) * 86_400_000_000 + pl.col("_h") * 3_600_000_000 + pl.col("_mi") * 60_000_000
              + pl.col("_s") * 1_000_000 + pl.col("_frac")
              - pl.col("_sign") * (pl.col("_oh") * 60 + pl.col("_om")) * 60_000_000)
    seconds = t.cast(pl.Float64, strict=False)
    integer = t.str.contains(_INTEGER)
    unix_us = (pl.when(integer).then(t.str.to_integer(strict=False) * 1_000_000)
               .otherwise((seconds * 1_000_000).round(0).cast(pl.Int64, strict=False)))
    too_big = seconds.abs() > MILLISECONDS_FROM
    iso, num = pl.col("_iso"), pl.col("_num")
    empty = t.is_null() | (t == "")
    error = (
        pl.when(empty).then(pl.lit("empty timestamp") if required else pl.lit(None, pl.String))
        .when(iso & ~valid).then(pl.lit("{value} is not a valid date and time (month 01-12, day within "
                                        "the month, hour 00-23, minute and second 00-59, offset "
                                        "up to ±23:59)"))
        .when(num & too_big).then(pl.lit("{value} is larger than 1e11: it looks like milliseconds; "
                                         "Unix timestamps must be in seconds"))
        .when(~iso & ~num).then(pl.lit("cannot parse {value} as a timestamp; expected " + ISO_EXAMPLES))
        .otherwise(None)
    )
    out = staged.with_columns(error.alias("_error"))
    out = out.with_columns(
        pl.when(pl.col("_error").is_not_null() | empty).then(None)
        .when(iso).then(iso_us).otherwise(unix_us).alias("_us"),
        pl.when(iso & pl.col("_error").is_null()).then(off != "").otherwise(None).alias("_aware"),
    )
    return out.select(*frame.columns, "_us", "_aware", "_error")


def instants_from_typed(frame: pl.DataFrame, column: str, *, required: bool) -> pl.DataFrame | str:
    """Like :func:`instants_from_text` for a typed column (Parquet, DuckDB), or a reason when its dtype
    cannot hold instants. Zone-aware datetimes are converted to UTC, naive ones are taken as UTC and
    numbers are Unix seconds."""
    series = frame[column]
    dtype = series.dtype
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return instants_from_text(frame.with_columns(pl.col(column).cast(pl.String)), column,
                                  required=required)
    missing = pl.lit("empty timestamp") if required else pl.lit(None, pl.String)
    if isinstance(dtype, pl.Datetime):
        utc = (series.dt.convert_time_zone("UTC") if dtype.time_zone
               else series.dt.replace_time_zone("UTC"))
        us = utc.dt.cast_time_unit("us").dt.epoch("us")
        return frame.with_columns(us.alias("_us"), pl.lit(None, pl.Boolean).alias("_aware"),
                                  pl.when(us.is_null()).then(missing).otherwise(None).alias("_error"))
    if dtype == pl.Date:
        us = series.cast(pl.Datetime("us")).dt.epoch("us")
        return frame.with_columns(us.alias("_us"), pl.lit(None, pl.Boolean).alias("_aware"),
                                  pl.when(us.is_null()).then(missing).otherwise(None).alias("_error"))
    if dtype.is_numeric():
        seconds = pl.col(column).cast(pl.Float64)
        error = (pl.when(seconds.is_null()).then(missing)
                 .when(~seconds.is_finite()).then(pl.lit("{value} is not a Unix timestamp"))
                 .when(seconds.abs() > MILLISECONDS_FROM)
                 .then(pl.lit("{value} is larger than 1e11: it looks like milliseconds; Unix "
                              "timestamps must be in seconds"))
                 .otherwise(None))
        exact = (pl.col(column).cast(pl.Int64, strict=False) * 1_000_000 if dtype.is_integer()
                 else (seconds * 1_000_000).round(0).cast(pl.Int64, strict=False))
        out = frame.with_columns(error.alias("_error"))
        return out.with_columns(pl.when(pl.col("_error").is_null()).then(exact).otherwise(None).alias("_us"),
                                pl.lit(None, pl.Boolean).alias("_aware"))
    return f"dtype {dtype} cannot hold timestamps; use a datetime, an ISO-8601 string or Unix seconds"


def values_from_column(frame: pl.DataFrame, column: str) -> pl.DataFrame | str:
    """Add ``_value`` (Float64) and ``_verror`` (a reason with ``{value}``, null when fine) for
    ``column``, or return a reason when its dtype cannot hold numbers.

    Text must be a decimal number (``-1.5``, ``2e-3``, ``.5``) or one of Prometheus' special values
    ``NaN``, ``Inf``, ``+Inf``, ``-Inf`` (any case), which are kept as floats; surrounding spaces are
    ignored. A number beyond the range of a 64-bit float is an error.
    """
    dtype = frame.schema[column]
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        text = frame[column].cast(pl.String)
        # polars parses every finite number of the grammar and nothing else finite; only rows it
        # rejects or reads as NaN/Inf need a closer look.
        value = text.cast(pl.Float64, strict=False).alias("_value")
        error = pl.repeat(None, frame.height, dtype=pl.String, eager=True).alias("_verror")
        suspect = (value.is_null() | ~value.is_finite()).fill_null(True)
        if suspect.any():
            where = suspect.arg_true()
            checked = _values_general(text.gather(where))
            value = value.scatter(where, checked["_value"])
            error = error.scatter(where, checked["_verror"])
        return frame.with_columns(value, error)
    if dtype.is_numeric():
        return frame.with_columns(
            pl.col(column).cast(pl.Float64).alias("_value"),
            pl.when(pl.col(column).is_null()).then(pl.lit("empty value")).otherwise(None).alias("_verror"))
    return f"dtype {dtype} cannot hold sample values; use a number"


def _values_general(text: pl.Series) -> pl.DataFrame:
    t = pl.col("text").str.strip_chars()
    number = t.str.contains(_NUMBER)
    special = t.str.contains(_SPECIAL)
    parsed = t.cast(pl.Float64, strict=False)
    error = (pl.when(t.is_null() | (t == "")).then(pl.lit("empty value"))
             .when(number & ~parsed.is_finite())
             .then(pl.lit("{value} is beyond the range of a 64-bit float"))
             .when(~number & ~special)
             .then(pl.lit("{value} is not a number; use a decimal number, NaN, Inf, +Inf or -Inf"))
             .otherwise(None))
    return (pl.DataFrame({"text": text})
            .select(error.alias("_verror"), parsed.alias("_value"))
            .select(pl.when(pl.col("_verror").is_null()).then(pl.col("_value")).alias("_value"),
                    "_verror"))


def mixed_offset_problems(frame: pl.DataFrame, aware: Sequence[str], *, file: str,
                          columns: Sequence[str]) -> list[Problem]:
    """Rows whose timestamps break the file's convention of having (or not having) a UTC offset.

    ``aware[i]`` is the Boolean column telling whether ``columns[i]`` had an offset (null for Unix
    seconds and typed columns). The minority convention is reported, row by row.
    """
    with_offset = sum(int(frame[a].sum() or 0) for a in aware)
    without = sum(int((~frame[a]).sum() or 0) for a in aware)
    if not with_offset or not without:
        return []
    odd = without <= with_offset
    reason = ("no UTC offset, but other timestamps in this file have one; mixing naive and "
              "offset-aware timestamps is ambiguous: give every timestamp an offset, or none (UTC)"
              if odd else
              "has a UTC offset, but other timestamps in this file have none; mixing naive and "
              "offset-aware timestamps is ambiguous: give every timestamp an offset, or none (UTC)")
    found: list[Problem] = []
    for a, column in zip(aware, columns, strict=True):
        mask = (~pl.col(a)) if odd else pl.col(a)
        found += row_problems(frame, mask.fill_null(False), file=file, column=column, reason=reason)
    return found
