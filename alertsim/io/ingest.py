"""``ingest``: load metrics into alertsim's embedded store, incrementally and without duplicates.

Two stores, both readable by :func:`alertsim.scale.open_dataset` and DuckDB SQL:

* a **partitioned Parquet dataset** (a directory): ``day=YYYY-MM-DD/bucket=NN/part-*.parquet``, each
  file sorted by series and time. New days become new partitions and old ones are never read; a day
  that already exists is merged (read, de-duplicated, rewritten) for the buckets the new data touches.
  ``bucket`` is a stable hash of the series identity, so a series always lands in the same bucket and
  a partitioned replay can read one bucket at a time.
* a **DuckDB database** (a ``.duckdb``/``.db`` file): table ``metrics`` (or ``table=``); new label
  columns are added as they appear; rows whose (series, timestamp) are already stored are skipped.

De-duplication keeps the sample already stored (an overlapping re-fetch does not rewrite history).
"""

from __future__ import annotations

import logging
import os
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from alertsim.errors import InputError
from alertsim.frames import METRICS, label_columns, problems, series_expr

log = logging.getLogger(__name__)

DUCKDB_SUFFIXES = (".duckdb", ".db", ".ddb")


@dataclass(frozen=True, kw_only=True)
class IngestReport:
    """What one ingest did: rows offered, rows written, duplicates skipped, partitions written."""

    rows: int
    written: int
    duplicates: int
    partitions: int
    into: str


def bucket_of(series: str, buckets: int) -> int:
    """The stable bucket of a series identity (CRC-32 of its Prometheus-style name)."""
    return zlib.crc32(series.encode("utf-8")) % buckets


def ingest(source: pl.DataFrame | str | os.PathLike[str], into: str | os.PathLike[str], *,
           table: str = "metrics", buckets: int = 16, metric: str | None = None) -> IngestReport:
    """Add ``source`` (a Metrics frame or anything :func:`alertsim.read_metrics` reads) to ``into``.

    ``into`` is a DuckDB database when it ends in ``.duckdb``/``.db``, else a Parquet dataset directory.
    """
    if isinstance(source, pl.DataFrame):
        frame = source
    else:
        from alertsim.io.metrics import read_metrics

        frame = read_metrics(source, metric=metric)
    found = problems(frame, METRICS)
    if found:
        raise InputError("ingest needs a valid Metrics frame", found)
    into = Path(into)
    labels = label_columns(frame)
    frame = frame.with_columns(pl.col(c).fill_null("") for c in labels)
    if into.suffix in DUCKDB_SUFFIXES:
        return _into_duckdb(frame, into, table, labels)
    if buckets < 1:
        raise InputError(f"buckets must be at least 1, got {buckets}")
    return _into_parquet(frame, into, buckets, labels)


def _into_duckdb(frame: pl.DataFrame, path: Path, table: str, labels: list[str]) -> IngestReport:
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute(f'CREATE TABLE IF NOT EXISTS "{table}" (timestamp TIMESTAMPTZ, metric VARCHAR, value DOUBLE)')
        existing = {row[0] for row in con.execute(f'DESCRIBE "{table}"').fetchall()}
        for label in labels:
            if label not in existing:
                con.execute(f'ALTER TABLE "{table}" ADD COLUMN "{label}" VARCHAR DEFAULT \'\'')
        all_labels = sorted((existing | set(labels)) - {"timestamp", "metric", "value"})
        incoming = frame.with_columns(pl.lit("").alias(c) for c in all_labels if c not in frame.columns)
        con.register("incoming", incoming.select("timestamp", "metric", "value", *all_labels).to_arrow())
        lo, hi = frame["timestamp"].min(), frame["timestamp"].max()
        same = " AND ".join(["t.timestamp = n.timestamp", "t.metric = n.metric",
                             *[f'coalesce(t."{c}", \'\') = coalesce(n."{c}", \'\')' for c in all_labels]])
        before = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # type: ignore[index]
        columns = ", ".join(f'"{c}"' for c in ["timestamp", "metric", "value", *all_labels])
        con.execute(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM incoming n WHERE NOT EXISTS '
                    f'(SELECT 1 FROM "{table}" t WHERE t.timestamp BETWEEN ? AND ? AND {same})', [lo, hi])
        after = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # type: ignore[index]
    written = int(after - before)
    log.info("ingested %d of %d rows into %s", written, frame.height, path)
    return IngestReport(rows=frame.height, written=written, duplicates=frame.height - written, partitions=1,
                        into=str(path))


def _into_parquet(frame: pl.DataFrame, root: Path, buckets: int, labels: list[str]) -> IngestReport:
    root.mkdir(parents=True, exist_ok=True)
    names = frame.select(series_expr(labels)).to_series()
    mapping = {name: bucket_of(name, buckets) for name in names.unique().to_list()}
    keyed = frame.with_columns(
        names.replace_strict(mapping, return_dtype=pl.Int32).alias("_bucket"),
        pl.col("timestamp").dt.date().cast(pl.String).alias("_day"))
    keys = ["metric", *labels]
    written = duplicates = partitions = 0
    for (day, bucket), part in keyed.group_by("_day", "_bucket", maintain_order=True):
        directory = root / f"day={day}" / f"bucket={int(bucket):02d}"
        new = part.drop("_day", "_bucket")
        old_files = sorted(directory.glob("*.parquet")) if directory.exists() else []
        if old_files:
            old = pl.concat([pl.read_parquet(f) for f in old_files], how="diagonal_relaxed")
            old = old.with_columns(pl.col(c).fill_null("") for c in label_columns(old))
            merged = pl.concat([old, new], how="diagonal_relaxed")
            merged = merged.with_columns(pl.col(c).fill_null("") for c in label_columns(merged))
            merged = merged.unique(subset=[*[k for k in keys if k in merged.columns],
                                           *[c for c in label_columns(merged) if c not in keys], "timestamp"],
                                   keep="first", maintain_order=True)
            added = merged.height - old.height
        else:
            merged, added = new, new.height
        duplicates += new.height - added
        written += added
        if old_files and added == 0:
            continue
        merged = merged.sort([c for c in ["metric", *label_columns(merged)] if c in merged.columns] + ["timestamp"])
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / f"part-{uuid.uuid4().hex[:12]}.parquet"
        tmp = directory / f".{target.name}.tmp"
        merged.write_parquet(tmp, statistics=True)
        os.replace(tmp, target)
        for f in old_files:
            f.unlink()
        partitions += 1
    log.info("ingested %d of %d rows into %s (%d partitions written)", written, frame.height, root, partitions)
    return IngestReport(rows=frame.height, written=written, duplicates=duplicates, partitions=partitions,
                        into=str(root))

