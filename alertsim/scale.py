"""Histories larger than memory, and sweeps on a cluster: replay a Parquet dataset or a DuckDB table in
series partitions, locally or on Dask.

A :class:`Dataset` is a partitioned Parquet dataset (a directory of ``*.parquet`` files, Hive
partitions such as ``bucket=07/`` allowed — :func:`alertsim.io.ingest.ingest` writes that layout) or
a table of a DuckDB database, in the long Metrics format. :func:`replay_dataset` plans partitions of
about ``max_points`` samples, then loads and replays one partition at a time (reading the next one while
replaying the current one), so peak memory is bounded by the partition, not by the history. A Parquet
dataset in ``bucket=NN`` directories is planned from its files' footers alone (whole buckets per
partition); any other dataset, and rules that need series kept together, from its *series table* (one
row per series: its labels, sample count and time span, computed by DuckDB without loading samples).
Files sorted by series and time, as ingest writes them, are read with only their time, value and
label-code columns and laid out for replay directly; other files are read as a frame and sorted.

Partitions keep together what a rule needs together: threshold and anomaly rules look at one series
at a time, so any packing of series works; a burn-rate rule sums its counters ``by`` some labels, so
all series of one ``by`` group go to one partition. Every partition is replayed on the same global
evaluation grid, so the alerts are identical to an in-memory replay of the whole history (a test
checks it) — with ``engine="dask"`` the partitions run on a Dask cluster and the result is the same.

>>> ds = open_dataset("metrics/")                      # doctest: +SKIP
>>> replay_dataset(ds, rules, engine="dask").alerts    # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

from alertsim.cluster import dask_client
from alertsim.durations import Duration, to_microseconds
from alertsim.errors import ConfigError, InputError, Problem
from alertsim.frames import ALERTS, LABEL_NAME, METRICS, series_name
from alertsim.io.ingest import RUNS_KEY, read_store_manifest
from alertsim.io.sql import identifier, literal
from alertsim.replay import Replay, replay
from alertsim.rules.base import RuleBase
from alertsim.series import Grid, Prepared, Semantics, SeriesSet, instant_us, to_datetime

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

DEFAULT_MAX_POINTS = 10_000_000
_RESERVED = {"timestamp", "metric", "value", "bucket", "day"}


@dataclass(frozen=True, kw_only=True)
class Dataset:
    """Metrics kept out of memory: a Parquet dataset directory or a DuckDB table."""

    path: str
    table: str | None = None

    @property
    def is_duckdb(self) -> bool:
        return self.table is not None

    def connect(self) -> duckdb.DuckDBPyConnection:
        import duckdb  # noqa: PLC0415  (0.1 s to import: only partitioned data needs it)

        con = duckdb.connect()
        if self.is_duckdb:
            con.execute(f"ATTACH {literal(self.path)} AS src (READ_ONLY)")
        return con

    @property
    def relation(self) -> str:
        if self.is_duckdb:
            return f"src.{identifier(self.table or '')}"
        manifest = read_store_manifest(self.path)
        if manifest is not None:  # an ingest store: exactly its committed parts, never a half-written one
            files = ", ".join(literal(str(Path(self.path) / part)) for part in manifest["parts"])
            source = f"[{files}]"
        else:
            source = literal(str(Path(self.path) / "**" / "*.parquet"))
        return f"read_parquet({source}, hive_partitioning = true, union_by_name = true)"

    def columns(self, con: duckdb.DuckDBPyConnection) -> list[str]:
        return [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {self.relation}").fetchall()]

    def labels(self, con: duckdb.DuckDBPyConnection) -> list[str]:
        return sorted(c for c in self.columns(con) if c not in _RESERVED)


def open_dataset(path: str | os.PathLike[str], *, table: str | None = None) -> Dataset:
    """A Parquet dataset directory, or a DuckDB database file with ``table``. Checks that it exists and
    has the Metrics columns; raises ``InputError`` otherwise."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist", file=str(path))
    if path.is_file() and table is None:
        raise InputError(f"{path} is a file: pass table=... for a DuckDB database, or a Parquet dataset "
                         "directory", file=str(path))
    import duckdb  # noqa: PLC0415  (0.1 s to import: only partitioned data needs it)

    dataset = Dataset(path=str(path), table=table)
    try:
        with dataset.connect() as con:
            columns = set(dataset.columns(con))
    except duckdb.Error as exc:
        raise InputError(f"cannot read {path}{f' table {table}' if table else ''}: {exc}", file=str(path)) from None
    missing = [c for c in METRICS.required if c not in columns]
    if missing:
        raise InputError(f"{path} lacks the Metrics column(s) {missing}", file=str(path))
    return dataset


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> pl.DataFrame:
    frame = pl.from_arrow(con.sql(sql).to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame


def series_table(dataset: Dataset) -> pl.DataFrame:
    """One row per series (metric + labels): ``samples``, ``first_us``, ``last_us`` (and ``_bucket``
    when the dataset has ``bucket=NN`` partitions, as :func:`alertsim.io.ingest.ingest` writes);
    computed by DuckDB without loading samples."""
    with dataset.connect() as con:
        labels = dataset.labels(con)
        q = identifier
        keys = ", ".join(['"metric"', *[f"coalesce(CAST({q(c)} AS VARCHAR), '') AS {q(c)}" for c in labels]])
        group = ", ".join(['"metric"', *[f"coalesce(CAST({q(c)} AS VARCHAR), '')" for c in labels]])
        bucket = ', min("bucket") AS "_bucket"' if "bucket" in dataset.columns(con) else ""
        frame = _fetch(con,
            f"SELECT {keys}, count(*) AS samples, epoch_us(min(timestamp)) AS first_us, "
            f"epoch_us(max(timestamp)) AS last_us{bucket} FROM {dataset.relation} GROUP BY {group} "
            f"ORDER BY {', '.join(str(i + 1) for i in range(len(labels) + 1))}")
    return frame


def _colocation_keys(series: pl.DataFrame, rules: Sequence[RuleBase], labels: list[str]) -> pl.Series:
    """A key per series: series a rule needs together (:meth:`~alertsim.rules.base.RuleBase.colocated`, e.g.
    one burn-rate ``by`` group) share a key; others are on their own."""
    own = pl.concat_str([pl.col("metric"), *[pl.col(c) for c in labels]], separator="\x1f")
    key = own
    for rule in rules:
        together = rule.colocated()
        if together is None:
            continue
        selectors, by = together
        match = pl.lit(False)
        for metric, matchers in selectors:
            cond = pl.col("metric") == metric
            for label, value in matchers.items():
                cond = cond & ((pl.col(label) if label in labels else pl.lit("")) == value)
            match = match | cond
        group = pl.concat_str([pl.lit(f"slo:{rule.name}"),
                               *[(pl.col(c) if c in labels else pl.lit("")) for c in by]], separator="\x1f")
        key = pl.when(match).then(group).otherwise(key)
    return series.select(key.alias("key")).to_series()


def plan_partitions(series: pl.DataFrame, rules: Sequence[RuleBase], *, max_points: int = DEFAULT_MAX_POINTS
                    ) -> list[pl.DataFrame]:
    """Pack series into partitions of at most ``max_points`` samples, keeping co-located groups whole
    (a group larger than ``max_points`` becomes a partition of its own)."""
    labels = [c for c in series.columns if c not in ("metric", "samples", "first_us", "last_us", "_bucket")]
    keyed = series.with_columns(_colocation_keys(series, rules, labels).alias("_key"))
    if "_bucket" not in keyed.columns:
        keyed = keyed.with_columns(pl.lit(0).alias("_bucket"))
    # Packing bucket by bucket keeps each partition's files few (DuckDB reads only those buckets).
    groups = (keyed.group_by("_key", maintain_order=True)
              .agg(pl.col("samples").sum().alias("points"), pl.col("_bucket").min().alias("_first"))
              .sort("_first", maintain_order=True).select("_key", "points"))
    assignment: dict[str, int] = {}
    part, filled = 0, 0
    for key, points in groups.iter_rows():
        if filled and filled + points > max_points:
            part, filled = part + 1, 0
        assignment[key] = part
        filled += points
    keyed = keyed.with_columns(pl.col("_key").replace_strict(assignment, return_dtype=pl.Int64).alias("_part"))
    parts = [frame.drop("_key", "_part") for _, frame in keyed.sort("_part", maintain_order=True)
             .group_by("_part", maintain_order=True)]
    return parts if "_bucket" in series.columns else [p.drop("_bucket") for p in parts]


def _bucket_files(dataset: Dataset, buckets: set[int] | None) -> list[Path] | None:
    """The Parquet files of a dataset directory holding ``buckets`` (all when None), from its manifest
    or its ``bucket=NN`` directories; None when a file's bucket cannot be told from its path."""
    root = Path(dataset.path)
    manifest = read_store_manifest(dataset.path)
    files = [root / part for part in manifest["parts"]] if manifest is not None else sorted(root.glob("**/*.parquet"))
    if buckets is None:
        return files
    chosen = []
    for file in files:
        found = [part.split("=", 1)[1] for part in file.relative_to(root).parts if part.startswith("bucket=")]
        if len(found) != 1 or not found[0].isdigit():
            return None
        if int(found[0]) in buckets:
            chosen.append(file)
    return chosen


def _load_with_polars(dataset: Dataset, keys: pl.DataFrame, labels: list[str]) -> pl.DataFrame | None:
    """:func:`load_partition` of a Parquet directory read by polars (in parallel, only the partition's
    buckets); None when the files are not plain Metrics files (labels that are not strings, other
    timestamp or value types) and DuckDB's casts are needed."""
    buckets = set(keys["_bucket"].cast(pl.Int64).to_list()) if "_bucket" in keys.columns else None
    files = _bucket_files(dataset, buckets)
    if not files:
        return None
    try:
        scan = pl.scan_parquet(files, hive_partitioning=False, missing_columns="insert")
        schema = scan.collect_schema()
        if not (isinstance(schema.get("timestamp"), pl.Datetime) and schema.get("metric") == pl.String
                and schema.get("value", pl.String).is_numeric()
                and all(schema.get(c, pl.String) == pl.String for c in labels)):
            return None
        columns = [c for c in ("timestamp", "metric", "value", *labels) if c in schema]
        wanted = keys.select(["metric", *labels])
        frame = (scan.select(columns)
                 .with_columns(pl.col("value").cast(pl.Float64),
                               *[(pl.col(c).fill_null("") if c in schema else pl.lit("")).alias(c) for c in labels])
                 .join(wanted.lazy(), on=["metric", *labels], how="semi")
                 .select("timestamp", "metric", "value", *labels)
                 .collect())
    except pl.exceptions.PolarsError:
        return None
    return frame.with_columns(utc_instants(frame, "timestamp"))


def load_partition(dataset: Dataset, keys: pl.DataFrame) -> pl.DataFrame:
    """The samples of the series in ``keys`` (metric + label columns) as a Metrics frame."""
    with dataset.connect() as con:
        labels = dataset.labels(con)
    if not dataset.is_duckdb:
        frame = _load_with_polars(dataset, keys, labels)
        if frame is not None:
            return frame
    with dataset.connect() as con:
        wanted = keys.select(["metric", *labels])
        con.register("wanted", wanted.to_arrow())
        on = " AND ".join(['s."metric" = w."metric"',
                           *[f"coalesce(CAST(s.{identifier(c)} AS VARCHAR), '') = w.{identifier(c)}"
                             for c in labels]])
        cols = ", ".join(['s."timestamp"', 's."metric"', 'CAST(s."value" AS DOUBLE) AS "value"',
                          *[f"coalesce(CAST(s.{identifier(c)} AS VARCHAR), '') AS {identifier(c)}" for c in labels]])
        where = ""
        if "_bucket" in keys.columns:
            buckets = ", ".join(str(int(b)) for b in keys["_bucket"].unique().sort().to_list())
            where = f' WHERE s."bucket" IN ({buckets})'
        frame = _fetch(con, f"SELECT {cols} FROM {dataset.relation} s JOIN wanted w ON {on}{where}")
    return frame.with_columns(utc_instants(frame, "timestamp"))


def utc_instants(frame: pl.DataFrame, column: str) -> pl.Expr:
    """``column`` as ``Datetime("us", "UTC")``: aware instants converted, naive ones taken as UTC."""
    dtype = frame.schema[column]
    expr = pl.col(column)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone:
        return expr.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    return expr.dt.cast_time_unit("us").dt.replace_time_zone("UTC")


def _canonical(alerts: pl.DataFrame, rules: Sequence[RuleBase]) -> pl.DataFrame:
    order = {r.name: i for i, r in enumerate(rules)}
    return (alerts.with_columns(pl.col("rule").replace_strict(order, return_dtype=pl.Int64).alias("_order"))
            .sort("_order", "series", "labels", "active_at").drop("_order", "alert_id")
            .with_row_index("alert_id").with_columns(pl.col("alert_id").cast(pl.Int64))
            .select(alerts.columns))


def replay_dataset(dataset: Dataset | str | os.PathLike[str], rules: Sequence[RuleBase], *,
                   eval_interval: Duration = "1m", start: datetime | str | None = None,
                   end: datetime | str | None = None, semantics: Semantics | None = None,
                   max_points: int = DEFAULT_MAX_POINTS, engine: Literal["local", "dask"] = "local",
                   scheduler: str | Any | None = None,
                   progress: Callable[[int, int], None] | None = None) -> Replay:
    """Replay ``rules`` over a dataset too large for memory, partition by partition.

    Parameters
    ----------
    dataset : a :class:`Dataset` or a Parquet dataset directory.
    max_points : samples per partition (peak memory grows with it, about 100 bytes per sample, twice that
        while the next partition is read during the replay of one). Default 10 million. A Parquet dataset in
        ``bucket=NN`` directories is partitioned by whole buckets (a bucket larger than ``max_points`` is a
        partition of its own, up to twice ``max_points``); any other dataset by series, after one pass
        over its series.
    engine : ``"local"`` (one partition after another in this process, the next one read while the
        current one is replayed) or ``"dask"``.
    scheduler : for ``engine="dask"``: a scheduler address (``"tcp://host:8786"``), a
        ``distributed.Client``, or None for a temporary local cluster.
    progress : called with (partitions done, partitions) after each partition.
    """
    ds = dataset if isinstance(dataset, Dataset) else open_dataset(dataset)
    rules = list(rules)
    unsupported = [r.name for r in rules if not r.partitionable]
    if unsupported:
        raise ConfigError(f"rules {unsupported} aggregate across series in ways a series partition cannot "
                          "keep together (PromQL, GCP reducers, Datadog space aggregation); replay them "
                          "in memory (engine='memory')", field="engine")
    if engine not in ("local", "dask"):
        raise ConfigError(f"unknown engine {engine!r}; use 'local' or 'dask'", field="engine")
    step = to_microseconds(eval_interval, field="eval_interval")
    plan = _bucket_plan(ds, rules, max_points=max_points)
    if plan is not None:
        parts, labels, span = plan
    else:
        parts, labels, span = _series_plan(ds, rules, max_points=max_points, by_bucket=True)
    first = span[0] if start is None else instant_us(start, field="start")
    last = span[1] if end is None else instant_us(end, field="end")
    grid = Grid.covering(first, last, step)
    grid_start, grid_end = to_datetime(grid.t0), to_datetime(grid.t0 + grid.step * max(grid.size - 1, 0))
    job = _Job(dataset=ds, labels=tuple(labels), rules=tuple(rules), eval_interval=eval_interval,
               start=grid_start, end=grid_end, semantics=semantics)
    log.info("replaying %s in %d partitions (%s engine)", ds.path, len(parts), engine)
    results: list[pl.DataFrame] = []
    seen: set[Key] = set()
    split = False
    for done, (alerts, keys) in enumerate(_run(job, parts, engine, scheduler), start=1):
        results.append(alerts)
        if plan is not None and not split:
            split = not seen.isdisjoint(keys)
            seen |= keys
        if progress:
            progress(done, len(parts))
    if split:
        # A series in more than one bucket: its buckets' samples must be replayed together.
        log.warning("%s has series in more than one bucket=NN directory; replaying it by series", ds.path)
        parts, labels, _ = _series_plan(ds, rules, max_points=max_points, by_bucket=False)
        job = replace(job, labels=tuple(labels))
        results = [alerts for alerts, _ in _run(job, parts, engine, scheduler)]
    alerts = _canonical(pl.concat(results) if results else results_empty(), rules)
    return Replay(alerts=alerts, rules=tuple(rules), grid=grid)


def results_empty() -> pl.DataFrame:
    return ALERTS.empty().with_columns(pl.lit(None, pl.Float64).alias("budget_at_detection"))




# The fast path for Parquet files --------------------------------------------------------------------------
# A partition is a set of whole files (whole ``bucket=NN`` directories): its samples are read with pyarrow,
# only the needed columns, label columns as dictionary codes; each file's series are found from the runs of
# equal codes (files are sorted by series and time, as ingest writes them: checked, not trusted), and the
# partition is laid out for replay directly, without label strings per row, sorting or a long frame.

_STRING_TYPES = ("string", "large_string", "string_view")


@dataclass(frozen=True, kw_only=True)
class _FileInfo:
    path: str
    bucket: int | None
    rows: int
    first_us: int | None
    last_us: int | None
    names: frozenset[str]


def _is_string(dtype: Any) -> bool:
    import pyarrow as pa  # noqa: PLC0415

    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    return str(dtype) in _STRING_TYPES


def _file_info(root: Path, path: Path) -> _FileInfo | None:
    """A file's bucket (from its path), row count and time span (from the footer's statistics); None when
    its columns are not plain Metrics columns."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    found = [p.split("=", 1)[1] for p in path.relative_to(root).parts if p.startswith("bucket=")]
    bucket = int(found[0]) if len(found) == 1 and found[0].isdigit() else None
    try:
        meta = pq.ParquetFile(path).metadata
        schema = meta.schema.to_arrow_schema()
    except (OSError, pa.ArrowException):
        return None
    names = frozenset(schema.names)
    if not {"timestamp", "metric", "value"} <= names:
        return None
    ts, value = schema.field("timestamp").type, schema.field("value").type
    if not (pa.types.is_timestamp(ts) and (pa.types.is_floating(value) or pa.types.is_integer(value))
            and all(_is_string(schema.field(c).type) for c in names - _RESERVED - {"value", "timestamp"}
                    | {"metric"})):
        return None
    scale_us = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0}[ts.unit]
    column = schema.get_field_index("timestamp")
    lo: int | None = None
    hi: int | None = None
    for g in range(meta.num_row_groups):
        stats = meta.row_group(g).column(column).statistics
        if stats is None or not stats.has_min_max or meta.row_group(g).column(column).physical_type != "INT64":
            lo = hi = None
            break
        a, b = int(stats.min_raw), int(stats.max_raw)
        a, b = (a // 1000, b // 1000) if scale_us == 0 else (a * scale_us, b * scale_us)
        lo, hi = (a, b) if lo is None or hi is None else (min(lo, a), max(hi, b))
    return _FileInfo(path=str(path), bucket=bucket, rows=meta.num_rows, first_us=lo, last_us=hi, names=names)


Key = tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class _Runs:
    """One file's runs of one series each: their keys (metric + labels) and lengths."""

    keys: list[Key]
    lengths: np.ndarray


def _file_runs(path: str, labels: Sequence[str]) -> _Runs | None:
    """The runs of a file's series, from its metric and label columns read as dictionary codes; None when
    the file cannot be read this way (a null metric, a series in two runs: not sorted by series)."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    keys = ["metric", *labels]
    try:
        handle = pq.ParquetFile(path, read_dictionary=keys)
        listed = _listed_runs(handle.metadata, labels)
        if listed is not None:
            return listed
        present = [k for k in keys if k in handle.schema_arrow.names]
        table = handle.read(columns=present, use_threads=False).unify_dictionaries()
    except (OSError, pa.ArrowException):
        return None
    n = table.num_rows
    if table.column("metric").null_count:
        return None
    change = np.zeros(n, dtype=bool)
    columns: list[tuple[np.ndarray, list[Any]] | None] = []
    for key in keys:
        column = table.column(key) if key in present else None
        if column is None or not column.num_chunks:
            columns.append(None)
            continue
        codes = pc.fill_null(pa.chunked_array([c.indices for c in column.chunks]), -1).to_numpy()
        change[1:] |= codes[1:] != codes[:-1]
        columns.append((codes, column.chunk(0).dictionary.to_pylist()))
    if n:
        change[0] = True
    starts = np.flatnonzero(change)
    parts = []
    for column in columns:
        if column is None:
            parts.append([""] * len(starts))
        else:
            codes, words = column
            parts.append(["" if c < 0 or words[c] is None else words[c] for c in codes[starts].tolist()])
    run_keys: list[Key] = list(zip(*parts, strict=True)) if len(starts) else []
    if len(set(run_keys)) != len(run_keys):
        return None
    return _Runs(keys=run_keys, lengths=np.diff(np.append(starts, n)).astype(np.int64))


def _listed_runs(meta: Any, labels: Sequence[str]) -> _Runs | None:
    """The runs a part written by :func:`alertsim.io.ingest.write_part` lists in its footer (None without a
    list, or with one that does not add up to the file's rows or names a series twice)."""
    listed = (meta.metadata or {}).get(RUNS_KEY)
    if listed is None:
        return None
    try:
        body = json.loads(listed)
        columns, lengths = list(body["columns"]), np.asarray(body["lengths"], dtype=np.int64)
        where = [columns.index(c) if c in columns else None for c in ("metric", *labels)]
        keys: list[Key] = [tuple("" if i is None or row[i] is None else str(row[i]) for i in where)
                           for row in body["keys"]]
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    if (where[0] is None or len(keys) != len(lengths) or int(lengths.sum()) != meta.num_rows
            or len(set(keys)) != len(keys) or bool((lengths <= 0).any())):
        return None
    return _Runs(keys=keys, lengths=lengths)


class _Buffers:
    """Sample arrays reused from one partition to the next: fresh memory for every partition costs page
    faults (and, with transparent huge pages, compaction stalls) that can take longer than the replay."""

    def __init__(self) -> None:
        self.times = np.zeros(0, dtype=np.int64)
        self.values = np.zeros(0, dtype=np.float64)

    def take(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if n > len(self.times):
            del self.times, self.values  # free the old ones first
            self.times, self.values = np.empty(n + n // 8, dtype=np.int64), np.empty(n + n // 8, dtype=np.float64)
        return self.times[:n], self.values[:n]


def _file_samples(path: str) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """A file's times (µs since the epoch) and values, one pair of arrays per row group (views of what
    pyarrow read, not copies); None with a null time or value."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    try:
        table = pq.ParquetFile(path).read(columns=["timestamp", "value"], use_threads=False)
    except (OSError, pa.ArrowException):
        return None
    ts, value = table.column("timestamp"), table.column("value")
    if ts.null_count or value.null_count:
        return None
    if ts.type.unit != "us":
        ts = pc.cast(ts, pa.timestamp("us", ts.type.tz), safe=False)
    if value.type != pa.float64():
        value = value.cast(pa.float64())
    if [len(c) for c in ts.chunks] != [len(c) for c in value.chunks]:
        ts, value = pa.chunked_array([pa.concat_arrays(ts.chunks)]), pa.chunked_array([pa.concat_arrays(value.chunks)])
    return [(t.view(pa.int64()).to_numpy(), v.to_numpy()) for t, v in zip(ts.chunks, value.chunks, strict=True)]


def _copy_file(path: str, runs: _Runs, target: tuple[np.ndarray, np.ndarray], dest: np.ndarray) -> bool:
    """Read a file's samples and copy its wanted runs to their places in ``target``; False when the file
    cannot be read this way."""
    chunks = _file_samples(path)
    if chunks is None or sum(len(t) for t, _ in chunks) != int(runs.lengths.sum()):
        return False
    if bool((dest >= 0).all()) and bool((dest[1:] == dest[:-1] + runs.lengths[:-1]).all()):
        # The file's series follow each other in the partition too: copy its row groups as they are.
        at = int(dest[0]) if len(dest) else 0
        for times, values in chunks:
            target[0][at:at + len(times)] = times
            target[1][at:at + len(times)] = values
            at += len(times)
        return True
    if len(chunks) == 1:
        source = chunks[0]
    else:
        source = (np.concatenate([t for t, _ in chunks]), np.concatenate([v for _, v in chunks]))
    _copy_runs(source, target, dest, runs.lengths)
    return True


def _load_runs(files: Sequence[str], labels: Sequence[str], wanted: set[Key] | None,
               buffers: _Buffers | None = None) -> Prepared | None:
    """The series of ``files`` (those in ``wanted``; all when None), each series' runs in file order, laid out
    for replay; None when a file is not sorted by series and time or a series' times go back across files."""
    runs = [_file_runs(f, labels) for f in files]
    if any(r is None for r in runs):
        return None
    ids: dict[Key, int] = {}
    series_of_run = np.array([ids.setdefault(key, len(ids)) for r in runs if r for key in r.keys], dtype=np.int64)
    lengths = np.concatenate([r.lengths for r in runs if r]) if runs else np.zeros(0, dtype=np.int64)
    keys = list(ids)
    keep = np.ones(len(lengths), dtype=bool)
    if wanted is not None:
        chosen = np.array([key in wanted for key in keys], dtype=bool)
        keep = chosen[series_of_run]
        series_of_run = np.where(keep, (np.cumsum(chosen) - 1)[series_of_run], -1)
        keys = [k for k, c in zip(keys, chosen, strict=True) if c]
    # Where each run goes: after its series' earlier runs, series after series.
    order = np.flatnonzero(keep)
    order = order[np.argsort(series_of_run[order], kind="stable")]
    dest = np.full(len(lengths), -1, dtype=np.int64)
    dest[order] = np.concatenate(([0], np.cumsum(lengths[order])[:-1])).astype(np.int64) if len(order) else []
    total = int(lengths[order].sum())
    per_series = np.bincount(series_of_run[order], weights=lengths[order], minlength=len(keys)).astype(np.int64)
    offsets = np.concatenate(([0], np.cumsum(per_series))).astype(np.int64)
    if buffers is not None:
        times, values = buffers.take(total)
    else:
        times, values = np.empty(total, dtype=np.int64), np.empty(total, dtype=np.float64)
    bounds = np.cumsum([0, *[len(r.keys) for r in runs if r]])
    jobs = [(file, file_runs, dest[lo:hi]) for file, file_runs, lo, hi in zip(files, runs, bounds[:-1], bounds[1:],
                                                                              strict=True)
            if keep[lo:hi].any()]
    # Two files at a time: decoding and copying release the GIL.
    with ThreadPoolExecutor(2) as pool:
        copied = list(pool.map(lambda job: _copy_file(job[0], job[1], (times, values), job[2]), jobs))
    if not all(copied):
        return None
    data = SeriesSet.from_arrays(times, values, offsets)
    layout = data.find_layout()  # on a regular layout times increase in every series
    if layout is None and not _sorted_within(times, offsets):
        return None
    names = [series_name(key[0], dict(zip(labels, key[1:], strict=True))) for key in keys]
    table = pl.DataFrame(keys, schema={c: pl.String for c in ("metric", *labels)}, orient="row").with_columns(
        pl.Series("series", names, dtype=pl.String))
    return Prepared(data=replace(data, layout=layout), table=table, labels=tuple(labels))


def _copy_runs(source: tuple[np.ndarray, np.ndarray], target: tuple[np.ndarray, np.ndarray], dest: np.ndarray,
               lengths: np.ndarray) -> None:
    """Copy a file's runs to their places (``dest`` -1: not wanted), adjacent runs that stay adjacent at once."""
    src = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    # A block starts where a run is not wanted or does not follow the previous run in the target.
    new = np.ones(len(dest), dtype=bool)
    new[1:] = (dest[1:] != dest[:-1] + lengths[:-1]) | (dest[1:] < 0) | (dest[:-1] < 0)
    blocks = np.flatnonzero(new)
    ends = np.append(blocks[1:], len(dest))
    for lo, hi in zip(blocks.tolist(), ends.tolist(), strict=True):
        if dest[lo] < 0:
            continue
        s, d, n = int(src[lo]), int(dest[lo]), int(src[hi - 1] + lengths[hi - 1] - src[lo])
        target[0][d:d + n] = source[0][s:s + n]
        target[1][d:d + n] = source[1][s:s + n]


def _sorted_within(times: np.ndarray, offsets: np.ndarray, block: int = 1 << 20) -> bool:
    """Times never go back within a series (they may where a new series begins), checked in blocks."""
    starts = offsets[1:-1]
    for lo in range(1, len(times), block):
        hi = min(lo + block, len(times))
        back = np.flatnonzero(times[lo:hi] < times[lo - 1:hi - 1]) + lo
        if len(back) and not bool(np.isin(back, starts).all()):
            return False
    return True


# Plans and runs -------------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class _Part:
    """One partition: whole files (``keys`` None), or the series in ``keys`` (metric + labels, with
    ``_bucket`` when only their buckets' files hold them)."""

    files: tuple[str, ...] = ()
    keys: pl.DataFrame | None = None


@dataclass(frozen=True, kw_only=True)
class _Job:
    """What every partition is replayed with."""

    dataset: Dataset
    labels: tuple[str, ...]
    rules: tuple[RuleBase, ...]
    eval_interval: Duration
    start: datetime
    end: datetime
    semantics: Semantics | None


def _file_infos(ds: Dataset) -> list[_FileInfo | None]:
    files = _bucket_files(ds, None) or []
    root = Path(ds.path)
    with ThreadPoolExecutor(4) as pool:  # footers: small reads, mostly waiting on the disk
        return list(pool.map(lambda f: _file_info(root, f), files))


def _bucket_plan(ds: Dataset, rules: Sequence[RuleBase], *, max_points: int
                 ) -> tuple[list[_Part], list[str], tuple[int, int]] | None:
    """Partitions of whole ``bucket=NN`` directories of a Parquet dataset, packed up to ``max_points`` from
    the files' footers (no pass over the samples); the labels; the samples' time span. None when the
    dataset is not such a directory of plain Metrics files, a rule needs series kept together, or a
    bucket holds more than twice ``max_points``."""
    if ds.is_duckdb or any(rule.colocated() is not None for rule in rules):
        return None
    infos = _file_infos(ds)
    if not infos or any(i is None or i.bucket is None or i.first_us is None for i in infos):
        return None
    files = [i for i in infos if i is not None]
    labels = sorted(frozenset().union(*(i.names for i in files)) - _RESERVED)
    _check_label_names(ds, labels)
    by_bucket: dict[int, list[_FileInfo]] = {}
    for info in files:
        by_bucket.setdefault(int(info.bucket or 0), []).append(info)
    sizes = {b: sum(i.rows for i in chosen) for b, chosen in by_bucket.items()}
    if sum(sizes.values()) == 0 or max(sizes.values()) > 2 * max_points:
        return None
    parts: list[_Part] = []
    current: list[str] = []
    filled = 0
    for bucket in sorted(by_bucket):
        if current and filled + sizes[bucket] > max_points:
            parts.append(_Part(files=tuple(current)))
            current, filled = [], 0
        current += [i.path for i in by_bucket[bucket]]
        filled += sizes[bucket]
    if current:
        parts.append(_Part(files=tuple(current)))
    span = (min(int(i.first_us or 0) for i in files if i.rows), max(int(i.last_us or 0) for i in files if i.rows))
    return parts, labels, span


def _series_plan(ds: Dataset, rules: Sequence[RuleBase], *, max_points: int, by_bucket: bool
                 ) -> tuple[list[_Part], list[str], tuple[int, int]]:
    """Partitions of series from the dataset's series table (one pass over its samples)."""
    with ds.connect() as con:
        _check_label_names(ds, ds.labels(con))
    series = series_table(ds)
    if not series.height:
        raise InputError(f"{ds.path} holds no samples", file=ds.path)
    if not by_bucket and "_bucket" in series.columns:
        series = series.drop("_bucket")
    labels = [c for c in series.columns if c not in ("metric", "samples", "first_us", "last_us", "_bucket")]
    span = (int(series["first_us"].min()), int(series["last_us"].max()))  # type: ignore[arg-type]
    return [_Part(keys=keys) for keys in plan_partitions(series, rules, max_points=max_points)], labels, span


def _check_label_names(ds: Dataset, labels: Sequence[str]) -> None:
    """Refuse label columns whose names Prometheus would not accept, as :func:`alertsim.series.prepare` does."""
    bad = [label for label in labels if not LABEL_NAME.match(label)]
    if bad:
        raise InputError(f"{ds.path} is not a valid Metrics dataset", [
            Problem(column=label, file=ds.path, reason="label names must match [a-zA-Z_][a-zA-Z0-9_]*")
            for label in bad], file=ds.path)


def _load(job: _Job, part: _Part, buffers: _Buffers | None = None) -> Prepared | pl.DataFrame:
    """A partition's samples: laid out for replay when its files are plain sorted Metrics files, else as a
    Metrics frame (read by polars or DuckDB)."""
    ds = job.dataset
    files: list[str] = list(part.files)
    wanted: set[Key] | None = None
    if part.keys is not None:
        wanted = set(part.keys.select(["metric", *job.labels]).iter_rows())
        if not ds.is_duckdb:
            buckets = set(part.keys["_bucket"].cast(pl.Int64).to_list()) if "_bucket" in part.keys.columns else None
            files = [str(f) for f in _bucket_files(ds, buckets) or []]
    if files:
        prepared = _load_runs(files, job.labels, wanted, buffers)
        if prepared is not None:
            return prepared
    if part.keys is None:
        return _load_files(files, list(job.labels))
    return load_partition(ds, part.keys)


def _load_files(files: list[str], labels: list[str]) -> pl.DataFrame:
    """Whole files as a Metrics frame (read by polars; sorted by :func:`alertsim.series.prepare`)."""
    scan = pl.scan_parquet(files, hive_partitioning=False, missing_columns="insert")
    schema = scan.collect_schema()
    frame = (scan.select(pl.col("timestamp"), pl.col("metric"), pl.col("value").cast(pl.Float64),
                         *[(pl.col(c).fill_null("") if c in schema else pl.lit("")).alias(c) for c in labels])
             .collect())
    return frame.with_columns(utc_instants(frame, "timestamp"))


def _replay_part(job: _Job, part: _Part, loaded: Prepared | pl.DataFrame | None = None
                 ) -> tuple[pl.DataFrame, set[Key]]:
    """A partition's alerts, and the series it held."""
    data = _load(job, part) if loaded is None else loaded
    result = replay(data, job.rules, eval_interval=job.eval_interval, start=job.start, end=job.end,
                    semantics=job.semantics)
    table = data.table if isinstance(data, Prepared) else data.select("metric", *job.labels).unique()
    return result.alerts, set(table.select("metric", *job.labels).iter_rows())


def _run(job: _Job, parts: list[_Part], engine: str, scheduler: Any
         ) -> Iterator[tuple[pl.DataFrame, set[Key]]]:
    if engine == "local":
        # The next partition is read (pyarrow and numpy release the GIL) while this one is replayed.
        # Two sets of buffers take turns: one partition's samples are replayed while the next one's are read.
        buffers = (_Buffers(), _Buffers())
        with ThreadPoolExecutor(1) as pool:
            pending: Future[Prepared | pl.DataFrame] | None = (
                pool.submit(_load, job, parts[0], buffers[0]) if parts else None)
            for index, part in enumerate(parts):
                assert pending is not None
                loaded = pending.result()
                following = index + 1
                pending = (pool.submit(_load, job, parts[following], buffers[following % 2])
                           if following < len(parts) else None)
                yield _replay_part(job, part, loaded)
                del loaded
        return
    with dask_client(scheduler) as client:
        futures = [client.submit(_replay_part, job, part, pure=False) for part in parts]
        # Results come back in partition order, whatever order they finish in.
        for future in futures:
            yield future.result()
