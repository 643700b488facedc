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

import contextlib
import errno
import fcntl
import glob
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy
import polars as pl

import alertsim
from alertsim.errors import ConfigError, InputError

MANIFEST = "manifest.json"
log = logging.getLogger(__name__)


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
    if path.is_dir():
        raise InputError(f"--out {path} is a directory; give a file name ending in .parquet or .csv",
                         file=str(path))
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "csv":
            csv_ready(frame).write_csv(tmp)
        else:
            frame.write_parquet(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise os_error(exc, path) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    return path


def _write_frames(directory: Path, frames: Mapping[str, pl.DataFrame], csv: bool) -> None:
    for name, frame in frames.items():
        frame.write_parquet(directory / f"{name}.parquet")
        if csv:
            csv_ready(frame).write_csv(directory / f"{name}.csv")


# --------------------------------------------------------------------------------------------------
# Output locations: alertsim replaces only what it wrote.

#: The file that marks a directory (a report, a demo) as written by alertsim; a run directory is
#: marked by its manifest instead.
MARKER = ".alertsim"


def os_error(exc: OSError, path: str | os.PathLike[str], doing: str = "write") -> InputError:
    """An :class:`InputError` for a failed file operation on ``path``, saying what to do about it."""
    hints = {errno.ENOSPC: "the disk is full; free space or choose another location",
             errno.EROFS: "the file system is read-only; choose a writable location",
             errno.EACCES: "permission denied; choose a location you may write to",
             errno.EPERM: "operation not permitted; choose a location you may write to",
             errno.ENOTDIR: "a parent of this path is a file, not a directory",
             errno.EISDIR: "this path is a directory, not a file",
             errno.EEXIST: "something else already exists at this path"}
    reason = hints.get(exc.errno or -1, exc.strerror or str(exc))
    where = exc.filename if exc.filename else path
    return InputError(f"cannot {doing} {where}: {reason}", file=str(path))


def is_run(directory: str | os.PathLike[str]) -> bool:
    """True when ``directory`` holds a manifest alertsim wrote (JSON with alertsim's version in it)."""
    path = Path(directory) / MANIFEST
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(body, dict) and isinstance(body.get("versions"), dict) and "alertsim" in body["versions"]


def _is_ours(directory: Path) -> bool:
    return is_run(directory) or (directory / MARKER).is_file()


def check_output(out: str | os.PathLike[str], *, option: str = "--out") -> Path:
    """``out`` if alertsim may write a directory there: it does not exist, is an empty directory, or
    is a directory alertsim wrote (a run with its manifest, or a report with its marker).

    Raises
    ------
    InputError
        ``out`` is a file, the current directory or one of its parents, a directory alertsim did not
        write, or its parent is a file — nothing is touched.

    Examples
    --------
    >>> import tempfile
    >>> notes = Path(tempfile.mkdtemp()); _ = (notes / "todo.txt").write_text("mine")
    >>> check_output(notes)
    Traceback (most recent call last):
    alertsim.errors.InputError: ... is a directory alertsim did not write ...
    """
    out = Path(out)
    try:
        resolved = out.resolve()
        cwd = Path.cwd().resolve()
        if resolved == cwd or resolved in cwd.parents:
            raise InputError(f"{option} {out} is the current directory or one of its parents; alertsim "
                             "writes a run into a directory of its own: choose a new path", file=str(out))
        for parent in out.absolute().parents:
            if parent.exists() and not parent.is_dir():
                raise InputError(f"{option} {out}: {parent} is a file, not a directory", file=str(out))
        if out.is_symlink() or out.exists():
            if not out.is_dir():
                raise InputError(f"{option} {out} exists and is not a directory; alertsim never replaces a "
                                 "file it did not write: choose a new path", file=str(out))
            if any(out.iterdir()) and not _is_ours(out):
                raise InputError(f"{option} {out} is a directory alertsim did not write (no alertsim "
                                 f"{MANIFEST} or {MARKER}); alertsim replaces only its own output: choose a "
                                 "new path or an empty directory", file=str(out))
    except OSError as exc:
        raise os_error(exc, out, "check") from None
    return out


def claim_output(out: str | os.PathLike[str], *, option: str = "--out") -> Path:
    """Check ``out`` (:func:`check_output`), create it and mark it as alertsim's (unless it is a run),
    for outputs that are a directory of files (reports, postmortems, the demo)."""
    out = check_output(out, option=option)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not is_run(out):
            (out / MARKER).write_text('{"written_by": "alertsim"}\n', encoding="utf-8")
    except OSError as exc:
        raise os_error(exc, out) from None
    return out


@contextlib.contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``out`` (a hidden ``.NAME.lock`` beside it) for one writer at a time."""
    lock = out.with_name(f".{out.name}.lock")
    try:
        handle = lock.open("a")
    except OSError as exc:
        raise os_error(exc, out) from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"{out} is being written by another alertsim process; wait for it or choose "
                             "another --out", file=str(out)) from None
        yield
    finally:
        handle.close()
        with contextlib.suppress(OSError):
            lock.unlink()


def _backup(out: Path) -> Path:
    return out.with_name(f".{out.name}.old")


def _temp_prefix(out: Path) -> str:
    return f".{out.name}.alertsim-tmp-"


def recover(out: str | os.PathLike[str]) -> list[str]:
    """Finish or undo what a killed write of the run ``out`` left behind; return what was done.

    A run is replaced in two renames (old run → ``.NAME.old``, new run → ``NAME``): a kill between
    them leaves only the backup, which is restored; a backup beside a complete run is removed;
    temporary directories of killed writes (``.NAME.alertsim-tmp-*``) are removed.
    Call it holding :func:`output_lock`.
    """
    out = Path(out)
    done: list[str] = []
    backup = _backup(out)
    if backup.is_dir() and is_run(backup):
        if not out.exists():
            backup.rename(out)
            done.append(f"restored {out} from {backup.name} (a previous write was interrupted)")
        else:
            shutil.rmtree(backup)
            done.append(f"removed {backup.name}")
    if out.parent.is_dir():
        for stale in out.parent.glob(f"{glob.escape(_temp_prefix(out))}*"):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
                done.append(f"removed {stale.name}")
    for line in done:
        log.warning("%s", line)
    return done


def _versions() -> dict[str, str]:
    return {"alertsim": alertsim.__version__, "polars": pl.__version__, "numpy": numpy.__version__,
            "duckdb": version("duckdb")}


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
    if out.exists() and not overwrite:
        raise InputError(f"{out} exists; choose another --out or remove it", file=str(out))
    check_output(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with output_lock(out):
            recover(out)
            check_output(out)
            _replace_run(out, frames, manifest, csv, files)
    except OSError as exc:
        raise os_error(exc, out) from None
    return out


def _replace_run(out: Path, frames: Mapping[str, pl.DataFrame], manifest: Mapping[str, Any], csv: bool,
                 files: Mapping[str, str | os.PathLike[str]] | None) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(out), dir=out.parent))
    try:
        _write_frames(tmp, frames, csv)
        for name, source in (files or {}).items():
            shutil.copyfile(source, tmp / name)
        body = {"created_at": datetime.now(UTC).isoformat(), "versions": _versions(),
                "frames": {name: frame.height for name, frame in frames.items()}, **manifest}
        (tmp / MANIFEST).write_text(json.dumps(body, indent=2, default=str) + "\n")
        if out.is_dir() and any(out.iterdir()):
            # Two renames: a kill between them leaves the old run in the backup, which recover() restores.
            backup = _backup(out)
            out.rename(backup)
            tmp.rename(out)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            if out.is_dir():
                out.rmdir()  # empty: nothing of anybody's is lost
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def add_frames(run_dir: str | os.PathLike[str], frames: Mapping[str, pl.DataFrame], *,
               manifest: Mapping[str, Any] | None = None, csv: bool = True) -> Path:
    """Add (or replace) frames in an existing run directory, each file written atomically."""
    run_dir = Path(run_dir)
    read_manifest(run_dir)
    try:
        _add_frames(run_dir, frames, manifest, csv)
    except OSError as exc:
        raise os_error(exc, run_dir) from None
    return run_dir


def _add_frames(run_dir: Path, frames: Mapping[str, pl.DataFrame], manifest: Mapping[str, Any] | None,
                csv: bool) -> None:
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


def read_manifest(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a run directory; ``InputError`` if ``run_dir`` is not one."""
    path = Path(run_dir) / MANIFEST
    if not path.is_file():
        raise InputError(f"{run_dir} is not a run directory (no {MANIFEST})", file=str(run_dir))
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable manifest ({exc}); re-run the command that wrote {run_dir}",
                         file=str(path)) from None
    if not isinstance(body, dict):
        raise InputError(f"{path}: not an alertsim manifest (a JSON object is expected, found "
                         f"{type(body).__name__}); re-run the command that wrote {run_dir}", file=str(path))
    return body


def read_frame(run_dir: str | os.PathLike[str], name: str) -> pl.DataFrame:
    """Read frame ``name`` (``alerts``, ``pages``, ...) of a run directory."""
    path = Path(run_dir) / f"{name}.parquet"
    if not path.is_file():
        raise InputError(f"{run_dir} has no {name} frame ({path.name} missing)", file=str(run_dir))
    try:
        return pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"{path}: unreadable or truncated Parquet ({str(exc).splitlines()[0]}); re-run the "
                         f"command that wrote {run_dir}", file=str(path)) from None


def has_frame(run_dir: str | os.PathLike[str], name: str) -> bool:
    return (Path(run_dir) / f"{name}.parquet").is_file()
