"""Histories larger than memory, and sweeps on a cluster: replay a Parquet dataset or a DuckDB table in
series partitions, locally or on Dask.

A :class:`Dataset` is a partitioned Parquet dataset (a directory of ``*.parquet`` files, Hive
partitions such as ``bucket=07/`` allowed — :func:`alertsim.io.ingest.ingest` writes that layout) or
a table of a DuckDB database, in the long Metrics format. :func:`replay_dataset` first reads only the
*series table* (one row per series: its labels, sample count and time span, computed by DuckDB
without loading samples), plans partitions of at most ``max_points`` samples, then loads and replays
one partition at a time, so peak memory is bounded by the partition, not by the history.

Partitions keep together what a rule needs together: threshold and anomaly rules look at one series
at a time, so any packing of series works; a burn-rate rule sums its counters ``by`` some labels, so
all series of one ``by`` group go to one partition. Every partition is replayed on the same global
evaluation grid, so the alerts are identical to an in-memory replay of the whole history (a test
checks it) — with ``engine="dask"`` the partitions run on a Dask cluster and the result is the same.

>>> ds = open_dataset("metrics/")                      # doctest: +SKIP
>>> replay_dataset(ds, rules, engine="dask").alerts    # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from alertsim.cluster import dask_client
from alertsim.durations import Duration, to_microseconds
from alertsim.errors import ConfigError, InputError
from alertsim.frames import ALERTS, METRICS
from alertsim.io.ingest import read_store_manifest
from alertsim.io.sql import identifier, literal
from alertsim.replay import Replay, replay
from alertsim.rules.base import RuleBase
from alertsim.series import Grid, Semantics, instant_us, to_datetime

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


def _replay_partition(dataset: Dataset, keys: pl.DataFrame, rules: Sequence[RuleBase],
                      eval_interval: Duration, start: datetime, end: datetime,
                      semantics: Semantics | None) -> pl.DataFrame:
    metrics = load_partition(dataset, keys)
    result = replay(metrics, rules, eval_interval=eval_interval, start=start, end=end, semantics=semantics)
    return result.alerts


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
    max_points : samples per partition (peak memory grows with it, about 200 bytes per sample). Default
        10 million.
    engine : ``"local"`` (one partition after another in this process) or ``"dask"``.
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
    series = series_table(ds)
    if not series.height:
        raise InputError(f"{ds.path} holds no samples", file=ds.path)
    step = to_microseconds(eval_interval, field="eval_interval")
    first = int(series["first_us"].min()) if start is None else instant_us(start, field="start")  # type: ignore[arg-type]
    last = int(series["last_us"].max()) if end is None else instant_us(end, field="end")  # type: ignore[arg-type]
    grid = Grid.covering(first, last, step)
    grid_start, grid_end = to_datetime(grid.t0), to_datetime(grid.t0 + grid.step * max(grid.size - 1, 0))
    parts = plan_partitions(series, rules, max_points=max_points)
    log.info("replaying %d series in %d partitions (%s engine)", series.height, len(parts), engine)
    results: list[pl.DataFrame] = []
    for done, alerts in enumerate(_run(ds, parts, rules, eval_interval, grid_start, grid_end, semantics,
                                       engine, scheduler), start=1):
        results.append(alerts)
        if progress:
            progress(done, len(parts))
    alerts = _canonical(pl.concat(results) if results else results_empty(), rules)
    return Replay(alerts=alerts, rules=tuple(rules), grid=grid)


def results_empty() -> pl.DataFrame:
    return ALERTS.empty().with_columns(pl.lit(None, pl.Float64).alias("budget_at_detection"))


def _run(ds: Dataset, parts: list[pl.DataFrame], rules: Sequence[RuleBase], eval_interval: Duration,
         start: datetime, end: datetime, semantics: Semantics | None, engine: str,
         scheduler: Any) -> Iterator[pl.DataFrame]:
    if engine == "local":
        for keys in parts:
            yield _replay_partition(ds, keys, rules, eval_interval, start, end, semantics)
        return
    if engine != "dask":
        raise ConfigError(f"unknown engine {engine!r}; use 'local' or 'dask'", field="engine")
    with dask_client(scheduler) as client:
        futures = [client.submit(_replay_partition, ds, keys, rules, eval_interval, start, end, semantics,
                                 pure=False) for keys in parts]
        # Results come back in partition order, whatever order they finish in.
        for future in futures:
            yield future.result()
