"""Run directories: every CLI run writes one directory of Parquet frames plus ``manifest.json``.

Writes are atomic: frames go to a temporary sibling directory that is renamed into place, so a
failed run leaves no half directory. Adding frames to an existing run (``notify`` adds
notifications and pages to a replay's run) writes each file to a temporary name and renames it.
:func:`write_frame` writes one frame to one file (Parquet or CSV) the same way, and :func:`csv_ready`
is how every CSV copy of a frame is made.

>>> import polars as pl, tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
>>> write_run(out, {"alerts": pl.DataFrame({"a": [1]})}, manifest={"command": "replay"})
PosixPath('...run')
>>> read_frame(out, "alerts").height
1
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from alertsim.errors import ConfigError, InputError

MANIFEST = "manifest.json"


def csv_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every column CSV can hold: instants as ISO-8601 UTC text, durations as seconds,
    lists, arrays and structs as JSON text; other columns unchanged.

    Parameters
    ----------
    frame : polars.DataFrame
        Any frame; it is not modified.

    Returns
    -------
    polars.DataFrame
        A new frame ready for ``write_csv``.

    Examples
    --------
    >>> from datetime import UTC, datetime, timedelta
    >>> frame = pl.DataFrame({"at": [datetime(2026, 1, 5, 2, 14, tzinfo=UTC)], "ids": [[1, 2]],
    ...                       "took": [timedelta(seconds=90)]})
    >>> csv_ready(frame).row(0)
    ('2026-01-05T02:14:00Z', '[1, 2]', 90.0)
    """
    exprs = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.List | pl.Struct | pl.Array):
            exprs.append(pl.col(name).map_elements(lambda v: json.dumps(v.to_list() if hasattr(v, "to_list")
                                                                       else v, default=str),
                                                   return_dtype=pl.String))
        elif isinstance(dtype, pl.Datetime):
            exprs.append(pl.col(name).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ")
                         if dtype.time_zone else pl.col(name).dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ"))
        elif isinstance(dtype, pl.Duration):
            exprs.append(pl.col(name).dt.total_seconds(fractional=True).alias(name))
    return frame.with_columns(exprs) if exprs else frame


FRAME_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
"""File suffixes :func:`write_frame` writes (any letter case), and the format each stands for."""


def frame_format(path: str | os.PathLike[str]) -> str:
    """``"parquet"`` or ``"csv"``, the format :func:`write_frame` gives ``path``, told by its suffix.

    Raises
    ------
    ConfigError
        The suffix is none of ``.parquet``, ``.pq`` or ``.csv`` (field ``out``).

    Examples
    --------
    >>> frame_format("incidents.CSV")
    'csv'
    """
    path = Path(path)
    try:
        return FRAME_SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise ConfigError(f"--out {path.name!r} must end in .parquet or .csv", field="out") from None


def write_frame(frame: pl.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` to one file, Parquet or CSV (:func:`csv_ready`) by the suffix, atomically.

    The file is written to a temporary sibling and renamed into place, so a reader never sees half
    a file and a failed write leaves the old file as it was. Missing parent directories are created.

    Parameters
    ----------
    frame : polars.DataFrame
        The frame to write.
    path : path
        ``*.parquet`` / ``*.pq`` or ``*.csv``.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ConfigError
        For any other suffix (nothing is written).

    Examples
    --------
    >>> import tempfile
    >>> out = write_frame(pl.DataFrame({"a": [1]}), Path(tempfile.mkdtemp()) / "a.csv")
    >>> out.read_text().splitlines()
    ['a', '1']
    """
    path = Path(path)
    kind = frame_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if kind == "csv":
            csv_ready(frame).write_csv(tmp)
        else:
            frame.write_parquet(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _write_frames(directory: Path, frames: Mapping[str, pl.DataFrame], csv: bool) -> None:
    for name, frame in frames.items():
        frame.write_parquet(directory / f"{name}.parquet")
        if csv:
            csv_ready(frame).write_csv(directory / f"{name}.csv")


def _versions() -> dict[str, str]:
    import duckdb
    import numpy

    import alertsim

    return {"alertsim": alertsim.__version__, "polars": pl.__version__, "numpy": numpy.__version__,
            "duckdb": duckdb.__version__}


def file_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, or of every file under a directory (sorted), for the manifest."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def write_run(out: str | os.PathLike[str], frames: Mapping[str, pl.DataFrame], *,
              manifest: Mapping[str, Any], csv: bool = True, overwrite: bool = True,
              files: Mapping[str, str | os.PathLike[str]] | None = None) -> Path:
    """Write ``frames`` (name → frame) and a manifest into ``out`` atomically; return ``out``.

    Each frame is written as ``<name>.parquet`` (and ``<name>.csv`` when ``csv``). An existing
    ``out`` is replaced only after the new directory is complete. ``files`` (name → source path) are
    copied in as they are, e.g. the rule file a replay used.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and not overwrite:
        raise InputError(f"{out} exists; choose another --out or remove it", file=str(out))
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _write_frames(tmp, frames, csv)
        for name, source in (files or {}).items():
            shutil.copyfile(source, tmp / name)
        body = {"created_at": datetime.now(UTC).isoformat(), "versions": _versions(),
                "frames": {name: frame.height for name, frame in frames.items()}, **manifest}
        (tmp / MANIFEST).write_text(json.dumps(body, indent=2, default=str) + "\n")
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def add_frames(run_dir: str | os.PathLike[str], frames: Mapping[str, pl.DataFrame], *,
               manifest: Mapping[str, Any] | None = None, csv: bool = True) -> Path:
    """Add (or replace) frames in an existing run directory, each file written atomically."""
    run_dir = Path(run_dir)
    read_manifest(run_dir)
    tmp = Path(tempfile.mkdtemp(prefix=".add.", dir=run_dir))
    try:
        _write_frames(tmp, frames, csv)
        body = read_manifest(run_dir)
        body.setdefault("frames", {}).update({n: f.height for n, f in frames.items()})
        if manifest:
            body.setdefault("steps", []).append(dict(manifest))
        (tmp / MANIFEST).write_text(json.dumps(body, indent=2, default=str) + "\n")
        for file in tmp.iterdir():
            os.replace(file, run_dir / file.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return run_dir


def read_manifest(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a run directory; ``InputError`` if ``run_dir`` is not one."""
    path = Path(run_dir) / MANIFEST
    if not path.is_file():
        raise InputError(f"{run_dir} is not a run directory (no {MANIFEST})", file=str(run_dir))
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable manifest ({exc})", file=str(path)) from None


def read_frame(run_dir: str | os.PathLike[str], name: str) -> pl.DataFrame:
    """Read frame ``name`` (``alerts``, ``pages``, ...) of a run directory."""
    path = Path(run_dir) / f"{name}.parquet"
    if not path.is_file():
        raise InputError(f"{run_dir} has no {name} frame ({path.name} missing)", file=str(run_dir))
    return pl.read_parquet(path)


def has_frame(run_dir: str | os.PathLike[str], name: str) -> bool:
    return (Path(run_dir) / f"{name}.parquet").is_file()
