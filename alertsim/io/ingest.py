"""``ingest``: load metrics into alertsim's embedded store, incrementally and without duplicates.

Two stores, both readable by :func:`alertsim.scale.open_dataset` and DuckDB SQL:

* a **partitioned Parquet dataset** (a directory): ``day=YYYY-MM-DD/bucket=NN/part-*.parquet``, each
  file sorted by series and time, listing its series' runs in its footer (:func:`write_part`). New
  days become new partitions and old ones are never read; a day that already exists is merged (read,
  de-duplicated, rewritten) for the buckets the new data touches.
  ``bucket`` is a stable hash of the series identity, so a series always lands in the same bucket and
  a partitioned replay can read one bucket at a time.
* a **DuckDB database** (a ``.duckdb``/``.db`` file): table ``metrics`` (or ``table=``); new label
  columns are added as they appear; rows whose (series, timestamp) are already stored are skipped.

De-duplication keeps the sample already stored (an overlapping re-fetch does not rewrite history).

Both stores are safe against crashes and concurrent writers. One ingest at a time holds a lock (a
second one waits). A Parquet dataset is committed by replacing one small file, ``_alertsim_store.json``,
which lists the parts that make up the store and its bucket count: new parts are written first, the
list is switched atomically, then the replaced parts are removed. Readers read only the listed parts,
so a kill at any point leaves the old store or the new one; parts left behind by a killed ingest are
removed by the next one. A DuckDB store is changed in one transaction.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from alertsim.errors import ConfigError, InputError
from alertsim.frames import METRICS, label_columns, problems, series_expr
from alertsim.io.metrics import read_metrics
from alertsim.io.rundir import os_error
from alertsim.io.sql import identifier, table_name

STORE_MANIFEST = "_alertsim_store.json"
#: The footer metadata key under which a part lists its series runs (see :func:`write_part`).
RUNS_KEY = b"alertsim.runs"
LOCK = ".alertsim-ingest.lock"
#: How long a second writer waits for the first before giving up.
LOCK_WAIT_S = 600.0
DEFAULT_BUCKETS = 16

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
           table: str = "metrics", buckets: int | None = None, metric: str | None = None) -> IngestReport:
    """Add ``source`` (a Metrics frame or anything :func:`alertsim.read_metrics` reads) to ``into``.

    ``into`` is a DuckDB database when it ends in ``.duckdb``/``.db``, else a Parquet dataset directory.
    ``buckets`` (default: the store's own, 16 for a new store) must equal the store's bucket count.
    """
    if not isinstance(into, str | os.PathLike):
        raise ConfigError(f"into must be a path, got {type(into).__name__}", field="into")
    table_name(table)
    if isinstance(source, pl.DataFrame):
        frame = source
    else:
        frame = read_metrics(source, metric=metric)
    found = problems(frame, METRICS)
    if found:
        raise InputError("ingest needs a valid Metrics frame", found)
    into = Path(into)
    labels = label_columns(frame)
    frame = frame.with_columns(pl.col(c).fill_null("") for c in labels)
    if buckets is not None and not 1 <= buckets <= 4096:
        raise ConfigError(f"buckets must be between 1 and 4096, got {buckets}", field="buckets")
    import duckdb  # noqa: PLC0415  (0.1 s to import: only writing a store needs it)

    try:
        if into.suffix in DUCKDB_SUFFIXES:
            into.parent.mkdir(parents=True, exist_ok=True)
            with _locked(into.with_name(f".{into.name}.lock")):
                return _into_duckdb(frame, into, table, labels)
        if into.exists() and not into.is_dir():
            raise InputError(f"--into {into} is a file; a Parquet store is a directory (or name a *.duckdb file)",
                             file=str(into))
        into.mkdir(parents=True, exist_ok=True)
        with _locked(into / LOCK):
            return _into_parquet(frame, into, buckets, labels)
    except OSError as exc:
        raise os_error(exc, into) from None
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise InputError(f"cannot write the DuckDB store {into}: {first} (is another program holding it open?)",
                         file=str(into)) from None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``; wait up to :data:`LOCK_WAIT_S` for another writer."""
    with path.open("a") as handle:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise InputError(f"{path.parent} is locked by another ingest for over {LOCK_WAIT_S:.0f} s; "
                                     "wait for it to finish", file=str(path.parent)) from None
                time.sleep(0.1)
        yield


def read_store_manifest(root: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The committed manifest of a Parquet store (``buckets``, ``parts``), or ``None`` for a directory
    without one (written by an older alertsim or by another tool)."""
    path = Path(root) / STORE_MANIFEST
    if not path.is_file():
        return None
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        if not (isinstance(body, dict) and isinstance(body.get("parts"), list)
                and isinstance(body.get("buckets"), int)):
            raise ValueError("expected an object with 'buckets' and 'parts'")
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable store manifest ({exc}); restore it from a backup or re-ingest into a "
                         "new store", file=str(path)) from None
    return body


def write_part(frame: pl.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write one store part: ``frame`` (a Metrics frame sorted by series — metric, then the label columns in
    name order — then time) as Parquet with delta-encoded timestamps, dictionary-encoded labels and values,
    and, in the footer under :data:`RUNS_KEY`, the runs of its series (``{"columns": [metric, labels...],
    "keys": [[...], ...], "lengths": [...]}``). A partitioned replay reads the runs instead of the label
    columns; it still checks that times never go back within a series.
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    keys = ["metric", *label_columns(frame)]
    starts = frame.select(pl.int_range(pl.len()).filter(
        pl.any_horizontal([pl.col(k).ne_missing(pl.col(k).shift(1)) for k in keys]) | (pl.int_range(pl.len()) == 0)
    )).to_series().to_list() if frame.height else []
    lengths = [b - a for a, b in zip(starts, [*starts[1:], frame.height], strict=True)]
    runs = {"columns": keys, "keys": [list(row) for row in frame.select(keys)[starts].iter_rows()],
            "lengths": lengths}
    table = frame.to_arrow()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), RUNS_KEY: json.dumps(runs).encode()})
    strings = [c for c in keys if pa.types.is_large_string(table.schema.field(c).type)
               or pa.types.is_string(table.schema.field(c).type)]
    pq.write_table(table, path, compression="lz4", use_dictionary=[*strings, "value"],
                   column_encoding={"timestamp": "DELTA_BINARY_PACKED"}, write_statistics=True,
                   row_group_size=1 << 20)


def _commit(root: Path, buckets: int, parts: list[str]) -> None:
    """Switch the store to ``parts`` in one atomic rename (the file is synced before it replaces the old)."""
    tmp = root / f".{STORE_MANIFEST}.tmp"
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump({"format": 1, "buckets": buckets, "parts": sorted(parts)}, handle, indent=1)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, root / STORE_MANIFEST)


def _store_state(root: Path, buckets: int | None) -> tuple[int, set[str]]:
    """The store's bucket count and committed parts; a store without a manifest is adopted as it is."""
    manifest = read_store_manifest(root)
    if manifest is not None:
        stored = int(manifest["buckets"])
        if buckets is not None and buckets != stored:
            raise ConfigError(f"{root} is partitioned into {stored} buckets, not {buckets}: ingest with --buckets "
                              f"{stored} (or omit it), or into a new store", field="buckets")
        return stored, set(manifest["parts"])
    present = {p.relative_to(root).as_posix() for p in root.glob("day=*/bucket=*/*.parquet")}
    found = [int(p.split("bucket=")[1].split("/")[0]) for p in present]
    if not present:
        return buckets or DEFAULT_BUCKETS, set()
    wanted = buckets or DEFAULT_BUCKETS
    if max(found) >= wanted:
        raise ConfigError(f"{root} already holds bucket {max(found)}, more than {wanted} buckets allow: ingest with "
                          "the --buckets it was written with", field="buckets")
    return wanted, present


def _remove_uncommitted(root: Path, committed: set[str]) -> int:
    """Remove parts and temporary files a killed ingest left (not listed in the manifest)."""
    removed = 0
    for path in [*root.glob("day=*/bucket=*/*.parquet"), *root.glob("day=*/bucket=*/.*.tmp")]:
        if path.relative_to(root).as_posix() not in committed:
            path.unlink(missing_ok=True)
            removed += 1
    if removed:
        log.warning("removed %d part(s) of an interrupted ingest from %s", removed, root)
    return removed


def _into_duckdb(frame: pl.DataFrame, path: Path, table: str, labels: list[str]) -> IngestReport:
    import duckdb  # noqa: PLC0415  (0.1 s to import: only writing a store needs it)

    with duckdb.connect(str(path)) as con:
        quoted = identifier(table)
        con.execute("BEGIN TRANSACTION")
        con.execute(f"CREATE TABLE IF NOT EXISTS {quoted} (timestamp TIMESTAMPTZ, metric VARCHAR, value DOUBLE)")
        existing = {row[0] for row in con.execute(f"DESCRIBE {quoted}").fetchall()}
        for label in labels:
            if label not in existing:
                con.execute(f"ALTER TABLE {quoted} ADD COLUMN {identifier(label)} VARCHAR DEFAULT ''")
        all_labels = sorted((existing | set(labels)) - {"timestamp", "metric", "value"})
        incoming = frame.with_columns(pl.lit("").alias(c) for c in all_labels if c not in frame.columns)
        con.register("incoming", incoming.select("timestamp", "metric", "value", *all_labels).to_arrow())
        lo, hi = frame["timestamp"].min(), frame["timestamp"].max()
        same = " AND ".join(["t.timestamp = n.timestamp", "t.metric = n.metric",
                             *[f"coalesce(t.{identifier(c)}, '') = coalesce(n.{identifier(c)}, '')"
                               for c in all_labels]])
        before = con.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]  # type: ignore[index]
        columns = ", ".join(identifier(c) for c in ["timestamp", "metric", "value", *all_labels])
        con.execute(f"INSERT INTO {quoted} ({columns}) SELECT {columns} FROM incoming n WHERE NOT EXISTS "
                    f"(SELECT 1 FROM {quoted} t WHERE t.timestamp BETWEEN ? AND ? AND {same})", [lo, hi])
        after = con.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]  # type: ignore[index]
        con.execute("COMMIT")
    written = int(after - before)
    log.info("ingested %d of %d rows into %s", written, frame.height, path)
    return IngestReport(rows=frame.height, written=written, duplicates=frame.height - written, partitions=1,
                        into=str(path))


def _into_parquet(frame: pl.DataFrame, root: Path, buckets: int | None, labels: list[str]) -> IngestReport:
    buckets, committed = _store_state(root, buckets)
    _remove_uncommitted(root, committed)
    names = frame.select(series_expr(labels)).to_series()
    mapping = {name: bucket_of(name, buckets) for name in names.unique().to_list()}
    keyed = frame.with_columns(
        names.replace_strict(mapping, return_dtype=pl.Int32).alias("_bucket"),
        pl.col("timestamp").dt.date().cast(pl.String).alias("_day"))
    keys = ["metric", *labels]
    written = duplicates = partitions = 0
    parts, replaced = set(committed), []
    for (day, bucket), part in keyed.group_by("_day", "_bucket", maintain_order=True):
        directory = root / f"day={day}" / f"bucket={int(bucket):02d}"
        new = part.drop("_day", "_bucket")
        prefix = directory.relative_to(root).as_posix() + "/"
        old_files = sorted(root / p for p in committed if p.startswith(prefix) and "/" not in p[len(prefix):])
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
            merged, added = new.unique(subset=[*keys, "timestamp"], keep="first", maintain_order=True), 0
            added = merged.height
        duplicates += new.height - added
        written += added
        if old_files and added == 0:
            continue
        merged = merged.sort([c for c in ["metric", *label_columns(merged)] if c in merged.columns] + ["timestamp"])
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / f"part-{uuid.uuid4().hex[:12]}.parquet"
        tmp = directory / f".{target.name}.tmp"
        write_part(merged, tmp)
        os.replace(tmp, target)
        parts.add(target.relative_to(root).as_posix())
        for f in old_files:
            parts.discard(f.relative_to(root).as_posix())
        replaced += old_files
        partitions += 1
    # The commit point: readers see the old parts before this rename and only the new ones after it.
    _commit(root, buckets, sorted(parts))
    for f in replaced:
        f.unlink(missing_ok=True)
    log.info("ingested %d of %d rows into %s (%d partitions written)", written, frame.height, root, partitions)
    return IngestReport(rows=frame.height, written=written, duplicates=duplicates, partitions=partitions,
                        into=str(root))
