"""A throw-away Prometheus server holding a Metrics frame, for differential tests and benchmarks.

:func:`start_prometheus` writes the frame as OpenMetrics text, backfills it into a temporary TSDB with
``promtool tsdb create-blocks-from openmetrics``, starts ``prometheus`` on ``127.0.0.1`` on a free port
with that storage (no scrape targets, retention long enough to keep every block), waits until it is
ready and yields a :class:`PrometheusServer`. Leaving the ``with`` block stops the server and deletes
the directory. Whether a missing binary skips or fails a test is the tests' business
(``tests.conftest.require_binary``); here a missing binary is an :class:`~alertsim.errors.AlertsimError`.

The OpenMetrics writer is usable on its own:

>>> import polars as pl, datetime as dt
>>> t = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
>>> frame = pl.DataFrame({"timestamp": [t, t + dt.timedelta(minutes=1)], "metric": "cpu",
...                       "value": [0.5, float("inf")], "host": 'a"b'})
>>> print(openmetrics_text(frame), end="")
cpu{host="a\\"b"} 0.5 1767225600.000
cpu{host="a\\"b"} +Inf 1767225660.000
# EOF

Against a server (needs Debian's ``prometheus`` package)::

    with start_prometheus(frame) as server:
        server.query_range("cpu * 2", start=t, end=t + dt.timedelta(minutes=1), step="1m")
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from alertsim.durations import Duration, format_duration, instant_us, to_microseconds
from alertsim.errors import AlertsimError, InputError, Problem
from alertsim.frames import INSTANT, METRICS, label_columns, problems, series_expr

log = logging.getLogger(__name__)

#: Prometheus refuses range queries of more than 11,000 points per series; chunks stay below it.
MAX_POINTS_PER_QUERY = 10_000
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_CONFIG = "# written by alertsim.testing: no scrape targets, the data is backfilled\nscrape_configs: []\n"


# --------------------------------------------------------------------------------------------------
# OpenMetrics text and backfill.

def openmetrics_text(metrics: pl.DataFrame) -> str:
    """A Metrics frame as OpenMetrics text (``name{labels} value seconds``, ending in ``# EOF``).

    Series are written one after another, each sorted by time. Empty labels are left out (Prometheus
    treats them as absent), label values are escaped, values use the shortest text that reads back
    to the same float (``NaN``, ``+Inf``, ``-Inf`` spelled as OpenMetrics does).

    Raises ``InputError`` when the frame is not a valid Metrics frame, a metric name is not a valid
    Prometheus name, or a timestamp has a finer resolution than Prometheus' milliseconds.
    """
    lines = _openmetrics_frame(metrics).get_column("line").to_list()
    return "".join(f"{line}\n" for line in lines) + "# EOF\n"


def write_openmetrics(metrics: pl.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``metrics`` to ``path`` as OpenMetrics text (see :func:`openmetrics_text`); returns the path."""
    path = Path(path)
    lines = _openmetrics_frame(metrics)
    with path.open("wb") as handle:
        if lines.height:
            lines.write_csv(handle, include_header=False, quote_style="never")
        handle.write(b"# EOF\n")
    return path


def _openmetrics_frame(metrics: pl.DataFrame) -> pl.DataFrame:
    found = problems(metrics, METRICS)
    if found:
        raise InputError("metrics are not a valid Metrics frame", found)
    names = metrics.get_column("metric").unique()
    bad_names = [n for n in names.to_list() if not METRIC_NAME.match(n)]
    if bad_names:
        raise InputError("metric names must match [a-zA-Z_:][a-zA-Z0-9_:]* to be written as OpenMetrics",
                         [Problem(column="metric", reason=f"invalid metric name {n!r}")
                          for n in bad_names[:20]])
    us = metrics.get_column("timestamp").dt.epoch("us")
    fine = (us % 1000) != 0
    if fine.any():
        rows = [i + 1 for i in fine.arg_true().head(20).to_list()]
        raise InputError("Prometheus stores milliseconds; these timestamps have microseconds",
                         [Problem(column="timestamp", row=r, reason="sub-millisecond timestamp")
                          for r in rows])
    labels = label_columns(metrics)
    ms = pl.col("timestamp").dt.epoch("ms")
    value = pl.col("value")
    text_value = (pl.when(value.is_nan()).then(pl.lit("NaN"))
                  .when(value == float("inf")).then(pl.lit("+Inf"))
                  .when(value == float("-inf")).then(pl.lit("-Inf"))
                  .otherwise(value.cast(pl.String)))
    seconds = ms.floordiv(1000).cast(pl.String) + pl.lit(".") + ms.mod(1000).cast(pl.String).str.zfill(3)
    return (metrics.sort(["metric", *labels, "timestamp"])
            .select(pl.concat_str([series_expr(labels), text_value, seconds], separator=" ").alias("line")))


def backfill(source: pl.DataFrame | str | os.PathLike[str], data_dir: str | os.PathLike[str], *,
             promtool: str = "promtool", block: Duration = "24h") -> Path:
    """Backfill a Metrics frame (or an OpenMetrics file) into TSDB blocks under ``data_dir``.

    Parameters
    ----------
    source : a Metrics frame, or the path of an OpenMetrics file already written.
    data_dir : the TSDB directory to create the blocks in (created if missing).
    promtool : the ``promtool`` binary. Default ``"promtool"`` (looked up on PATH).
    block : the longest block to write (promtool's ``--max-block-duration``); fewer, longer blocks
        are what a long-running Prometheus ends up with after compaction. Default ``"24h"``.

    Raises ``AlertsimError`` when promtool is missing or fails (with the end of its output).
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    binary = _binary(promtool)
    with tempfile.TemporaryDirectory(prefix="alertsim-openmetrics-") as scratch:
        if isinstance(source, pl.DataFrame):
            path = write_openmetrics(source, Path(scratch) / "metrics.om")
        else:
            path = Path(source)
        command = [binary, "tsdb", "create-blocks-from", "openmetrics", "--quiet",
                   # promtool takes a Go duration: whole seconds.
                   f"--max-block-duration={to_microseconds(block, field='block') // 1_000_000}s",
                   str(path), str(data_dir)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AlertsimError(f"promtool could not backfill {path.name} (exit {done.returncode}): "
                            f"{_tail(done.stderr or done.stdout)}")
    return data_dir


# --------------------------------------------------------------------------------------------------
# The server.

@dataclass(frozen=True, eq=False)
class PrometheusServer:
    """A running Prometheus on ``127.0.0.1``: its ``url``, its TSDB ``data_dir`` and its process."""

    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    query_timeout: timedelta

    def get(self, path: str, params: dict[str, str] | None = None) -> bytes:
        """The raw body of ``GET url/path?params``. Raises ``AlertsimError`` on an HTTP or API error."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        request = urllib.request.Request(f"{self.url}{path}{query}")
        wait = self.query_timeout.total_seconds() + 30
        try:
            with urllib.request.urlopen(request, timeout=wait) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            raise AlertsimError(f"Prometheus answered {error.code} to {path}: "
                                f"{_api_error(error.read())}") from None
        except (urllib.error.URLError, TimeoutError) as error:
            raise AlertsimError(f"Prometheus at {self.url} did not answer {path}: {error}") from None

    def query_range(self, expr: str, start: datetime | str, end: datetime | str, step: Duration
                    ) -> pl.DataFrame:
        """Evaluate ``expr`` at ``start, start + step, …, <= end`` with ``/api/v1/query_range``.

        Longer ranges are split into several queries (Prometheus allows 11,000 points per series).

        Returns a Metrics-shaped frame sorted by series then time: ``timestamp``, ``metric`` (the
        ``__name__`` label, null when the result has none, e.g. after ``sum``), ``value`` and one
        String column per label (null where a series lacks it). A NaN result is a NaN ``value``.

        Raises ``AlertsimError`` when Prometheus rejects the query (its error text included).
        """
        timestamps: list[int] = []
        values: list[float] = []
        series: list[dict[str, str]] = []
        for params in range_query_params(expr, start, end, step, timeout=self.query_timeout):
            body = json.loads(self.get("/api/v1/query_range", params))
            data = body.get("data", {})
            if data.get("resultType") != "matrix":
                raise AlertsimError(f"query_range of {expr!r} returned {data.get('resultType')!r}, "
                                    "expected a matrix")
            for item in data["result"]:
                points = item["values"]
                series.extend([item["metric"]] * len(points))
                timestamps.extend(round(float(ts) * 1000) * 1000 for ts, _ in points)
                values.extend(float(v) for _, v in points)
        return _result_frame(timestamps, values, series)

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout`` seconds)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def range_query_params(expr: str, start: datetime | str, end: datetime | str, step: Duration, *,
                       timeout: Duration = "10m") -> list[dict[str, str]]:
    """The ``/api/v1/query_range`` parameters covering the instants ``start + k·step <= end``, in
    chunks of at most :data:`MAX_POINTS_PER_QUERY` instants each.

    >>> [(p["start"], p["end"]) for p in range_query_params("up", "1970-01-01T00:00:00Z",
    ...                                                     "1970-01-01T06:00:00Z", "1s")]
    [('0.000', '9999.000'), ('10000.000', '19999.000'), ('20000.000', '21600.000')]
    """
    first, last = instant_us(start, field="start"), instant_us(end, field="end")
    step_us = to_microseconds(step, field="step")
    if step_us <= 0 or step_us % 1000:
        raise InputError(f"step must be a positive whole number of milliseconds, got {step!r}")
    if last < first:
        raise InputError(f"end ({end}) is before start ({start})")
    if first % 1000 or last % 1000:
        raise InputError("start and end must be whole milliseconds, Prometheus' resolution")
    timeout_text = _seconds(to_microseconds(timeout, field="timeout"))
    chunks = []
    span = step_us * (MAX_POINTS_PER_QUERY - 1)
    at = first
    while at <= last:
        stop = min(last, at + span)
        chunks.append({"query": expr, "start": _seconds(at), "end": _seconds(stop),
                       "step": _seconds(step_us), "timeout": timeout_text})
        at = stop + step_us
    return chunks


def _result_frame(timestamps: list[int], values: list[float], series: list[dict[str, str]]
                  ) -> pl.DataFrame:
    """One row per point; ``series`` holds each point's label set (shared dicts, one per series)."""
    names = sorted({k for labels in {id(d): d for d in series}.values() for k in labels} - {"__name__"})
    clash = {"timestamp", "metric", "value"} & set(names)
    if clash:
        raise AlertsimError(f"result labels {sorted(clash)} clash with the frame's own columns")
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "timestamp": INSTANT, "metric": pl.String, "value": pl.Float64, **{n: pl.String for n in names}}
    frame = pl.DataFrame({
        "timestamp": pl.Series(timestamps, dtype=pl.Int64).cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC"),
        "metric": pl.Series([labels.get("__name__") for labels in series], dtype=pl.String),
        "value": pl.Series(values, dtype=pl.Float64),
        **{n: pl.Series([labels.get(n) for labels in series], dtype=pl.String) for n in names},
    }, schema=schema)
    return frame.sort(["metric", *names, "timestamp"], nulls_last=False, maintain_order=True)


@contextlib.contextmanager
def start_prometheus(metrics: pl.DataFrame | None = None, *, binary: str = "prometheus",
                     promtool: str = "promtool", lookback: Duration = "5m",
                     query_timeout: Duration = "10m", block: Duration = "24h",
                     startup_timeout: float = 60.0, keep: bool = False, config: str | None = None,
                     files: Mapping[str, str] | None = None) -> Iterator[PrometheusServer]:
    """Backfill ``metrics`` into a temporary TSDB, serve it on 127.0.0.1 and yield the server.

    Parameters
    ----------
    metrics : the Metrics frame to serve. Default None: an empty server.
    binary, promtool : the ``prometheus`` and ``promtool`` binaries. Default: looked up on PATH.
    lookback : ``--query.lookback-delta``. Default ``"5m"``, Prometheus' own.
    query_timeout : ``--query.timeout`` and each query's ``timeout``. Default ``"10m"``.
    block : the longest backfilled block (see :func:`backfill`). Default ``"24h"``.
    startup_timeout : seconds to wait for ``/-/ready``. Default 60.
    keep : keep the temporary directory (data, config, log) after stopping. Default False.
    config : the ``prometheus.yml`` text, e.g. with scrape targets and ``rule_files``. Default: no
        targets (the data is backfilled).
    files : more files written next to the config (``{"rules.yml": text}``), e.g. the rule files it
        names by relative path. Default none.

    Raises ``AlertsimError`` when a binary is missing, the backfill fails or the server does not
    become ready (with the end of its log).
    """
    server_binary = _binary(binary)
    workdir = Path(tempfile.mkdtemp(prefix="alertsim-prometheus-"))
    server: PrometheusServer | None = None
    try:
        data_dir = workdir / "data"
        if metrics is not None and metrics.height:
            backfill(metrics, data_dir, promtool=promtool, block=block)
        data_dir.mkdir(exist_ok=True)
        for name, text in (files or {}).items():
            (workdir / name).write_text(text)
        config_path = workdir / "prometheus.yml"
        config_path.write_text(_CONFIG if config is None else config)
        timeout = timedelta(microseconds=to_microseconds(query_timeout, field="query_timeout"))
        for attempt in range(3):
            port = free_port()
            log_path = workdir / f"prometheus-{attempt}.log"
            command = [
                server_binary,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={data_dir}",
                f"--web.listen-address=127.0.0.1:{port}",
                # Blocks are kept however old they are: retention counts back from the newest block.
                "--storage.tsdb.retention.time=100y",
                # One block range: no compaction runs in the background while queries are timed.
                "--storage.tsdb.min-block-duration=2h",
                "--storage.tsdb.max-block-duration=2h",
                f"--query.lookback-delta={format_duration(timedelta(microseconds=to_microseconds(lookback)))}",
                f"--query.timeout={format_duration(timeout)}",
                "--log.level=warn",
            ]
            with log_path.open("wb") as log_file:
                process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL, preexec_fn=_death_signal())
            server = PrometheusServer(url=f"http://127.0.0.1:{port}", data_dir=data_dir, process=process,
                                      log_path=log_path, query_timeout=timeout)
            if _wait_ready(server, startup_timeout):
                break
            server.stop()
            text = log_path.read_text(errors="replace")
            if "address already in use" not in text:
                raise AlertsimError(f"prometheus did not become ready within {startup_timeout:.0f}s: "
                                    f"{_tail(text)}")
            server = None
        if server is None:
            raise AlertsimError("prometheus found no free port on 127.0.0.1 in 3 attempts")
        log.info("prometheus serving %s from %s", server.url, data_dir)
        yield server
    finally:
        if server is not None:
            server.stop()
        if keep:
            log.info("kept %s", workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(server: PrometheusServer, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{server.url}/-/ready", timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    return False


def _death_signal() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to SIGTERM the server when the thread that started it dies without
    cleaning up (PR_SET_PDEATHSIG). The library is loaded here, in the parent: the hook itself only
    makes the call, so the child imports nothing between fork and exec."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:  # pragma: no cover - runs in the child before exec
        prctl(1, signal.SIGTERM)

    return hook


def _binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None)
    if path is None:
        raise AlertsimError(f"{name} not found: install Debian's 'prometheus' package")
    return path


def _seconds(us: int) -> str:
    """Microseconds as decimal seconds with millisecond precision (exact, no float rounding)."""
    ms = us // 1000
    sign = "-" if ms < 0 else ""
    whole, frac = divmod(abs(ms), 1000)
    return f"{sign}{whole}.{frac:03d}"


def _api_error(body: bytes) -> str:
    try:
        payload = json.loads(body)
        return f"{payload.get('errorType')}: {payload.get('error')}"
    except (ValueError, AttributeError):
        return body[:500].decode(errors="replace")


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


__all__ = ["MAX_POINTS_PER_QUERY", "PrometheusServer", "backfill", "free_port", "openmetrics_text",
           "range_query_params", "start_prometheus", "write_openmetrics"]
