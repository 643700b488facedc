"""Pull history from a live Prometheus through ``/api/v1/query_range`` into a long Metrics frame.

Each query's span is split into chunks of at most ``max_points`` instants (Prometheus refuses more
than 11,000 points per series in one range query); chunks never overlap. Connection errors, 429 and
5xx answers are retried with exponential backoff; a query Prometheus rejects (400/422) is a
``ConfigError`` with Prometheus' own message. A ``progress`` callback hears about every chunk.

The frame has ``timestamp``, ``metric`` (the result's ``__name__``, or the query text when the
result has none, e.g. after ``sum``), ``value`` and one column per label (``""`` where a series
lacks it): the long metrics format every alertsim command reads. With ``alerts_history`` the
firing history of deployed alerts, ``ALERTS{alertstate="firing"}``, is fetched too, so what really
fired can be compared with a replay.

>>> chunks = chunk_ranges(0, 3 * 3600 * 10**6, 60 * 10**6, max_points=100)
>>> [(a // 60_000_000, b // 60_000_000) for a, b in chunks]
[(0, 99), (100, 180)]
"""

from __future__ import annotations

import base64
import json
import logging
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl

from alertsim.durations import Duration, instant_us, to_microseconds
from alertsim.errors import AlertsimError, ConfigError, InputError
from alertsim.io.rundir import frame_format, write_frame
from alertsim.rules.reads import reads

log = logging.getLogger(__name__)

MAX_POINTS = 10_000
ALERTS_FIRING = 'ALERTS{alertstate="firing"}'
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class FetchProgress:
    """One chunk fetched: which query, how many chunks of how many in total, points so far."""

    query: str
    chunk: int
    chunks: int
    done: int
    total: int
    points: int


class FetchError(AlertsimError):
    """Prometheus could not be reached, or kept failing after every retry."""


@dataclass(frozen=True, kw_only=True)
class Access:
    """How to reach a Prometheus-compatible HTTP API: Prometheus, Thanos Query, Mimir/Cortex
    (``--url http://mimir/prometheus`` and ``X-Scope-OrgID`` as a header), VictoriaMetrics — the same
    ``/api/v1`` under any path prefix of the URL.

    ``bearer_token`` and ``basic_auth`` (``(user, password)``) set the ``Authorization`` header (at
    most one of them); ``headers`` are sent with every request; ``ca_file`` verifies a server
    certificate against that CA bundle; ``insecure`` skips verification altogether.

    >>> Access(bearer_token="t").all_headers()
    {'Authorization': 'Bearer t'}
    >>> Access(basic_auth=("u", "p"), headers={"X-Scope-OrgID": "team"}).all_headers()
    {'X-Scope-OrgID': 'team', 'Authorization': 'Basic dTpw'}
    """

    headers: Mapping[str, str] = field(default_factory=dict)
    bearer_token: str | None = None
    basic_auth: tuple[str, str] | None = None
    ca_file: str | None = None
    insecure: bool = False

    def __post_init__(self) -> None:
        if self.bearer_token is not None and self.basic_auth is not None:
            raise ConfigError("give a bearer token or basic auth, not both", field="auth")
        for name, value in self.headers.items():
            if not name or any(c in name + value for c in "\r\n") or ":" in name:
                raise ConfigError(f"header {name!r}: names are without ':' and neither holds a line break",
                                  field="header")

    def all_headers(self) -> dict[str, str]:
        out = dict(self.headers)
        if self.bearer_token is not None:
            out["Authorization"] = f"Bearer {self.bearer_token}"
        if self.basic_auth is not None:
            user, password = self.basic_auth
            out["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        return out

    def context(self) -> ssl.SSLContext | None:
        if self.insecure:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        if self.ca_file is not None:
            try:
                return ssl.create_default_context(cafile=self.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"cannot use CA file {self.ca_file}: {exc}", field="ca_file") from None
        return None


def chunk_ranges(start_us: int, end_us: int, step_us: int, *, max_points: int = MAX_POINTS
                 ) -> list[tuple[int, int]]:
    """Non-overlapping ``(start, end)`` pairs covering ``start + k·step <= end``, each with at most
    ``max_points`` instants."""
    if step_us <= 0:
        raise ConfigError("step must be longer than 0s", field="step")
    if end_us < start_us:
        raise ConfigError("end is before start", field="end")
    out = []
    span = step_us * (max_points - 1)
    at = start_us
    while at <= end_us:
        stop = min(end_us, at + span)
        out.append((at, stop))
        at = stop + step_us
    return out


def _seconds(us: int) -> str:
    ms = us // 1000
    whole, frac = divmod(ms, 1000)
    return f"{whole}.{frac:03d}"


def _request(url: str, params: dict[str, str], *, timeout: float, access: Access, path: str = "query_range"
             ) -> dict[str, Any]:
    body = urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(f"{url.rstrip('/')}/api/v1/{path}", data=body, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded",
                                              **access.all_headers()})
    with urllib.request.urlopen(request, timeout=timeout, context=access.context()) as response:
        return dict(json.loads(response.read()))


def _api_message(error: urllib.error.HTTPError) -> str:
    try:
        payload = json.loads(error.read())
        return f"{payload.get('errorType')}: {payload.get('error')}"
    except (ValueError, AttributeError, OSError):
        return str(error)


def query_range(url: str, query: str, start_us: int, end_us: int, step_us: int, *, timeout: float = 120.0,
                retries: int = 4, backoff: float = 1.0, headers: dict[str, str] | None = None,
                sleep: Callable[[float], None] = time.sleep, access: Access | None = None) -> list[dict[str, Any]]:
    """One ``query_range`` call's ``result`` list, retried with exponential backoff."""
    params = {"query": query, "start": _seconds(start_us), "end": _seconds(end_us), "step": _seconds(step_us),
              "timeout": f"{int(timeout)}s"}
    return _call(url, "query_range", params, query, timeout=timeout, retries=retries, backoff=backoff,
                 access=_access(access, headers), sleep=sleep)


def _access(access: Access | None, headers: Mapping[str, str] | None) -> Access:
    if access is None:
        return Access(headers=dict(headers or {}))
    return access if not headers else Access(**{**access.__dict__, "headers": {**access.headers, **headers}})


def query_samples(url: str, selector: str, at_us: int, window_us: int, *, timeout: float = 120.0,
                  retries: int = 4, backoff: float = 1.0, access: Access | None = None,
                  sleep: Callable[[float], None] = time.sleep) -> list[dict[str, Any]]:
    """The raw samples of ``selector`` in the ``window_us`` before ``at_us`` (an instant query of
    ``selector[window]``): every sample as stored, at its own timestamp."""
    params = {"query": f"{selector}[{window_us // 1000}ms]", "time": _seconds(at_us), "timeout": f"{int(timeout)}s"}
    return _call(url, "query", params, selector, timeout=timeout, retries=retries, backoff=backoff,
                 access=access or Access(), sleep=sleep)


def _call(url: str, path: str, params: dict[str, str], query: str, *, timeout: float, retries: int,
          backoff: float, access: Access, sleep: Callable[[float], None]) -> list[dict[str, Any]]:
    for attempt in range(retries + 1):
        try:
            payload = _request(url, params, timeout=timeout + 10, access=access, path=path)
        except urllib.error.HTTPError as error:
            if error.code in (401, 403):
                raise FetchError(f"{url}: HTTP {error.code}: not authorised; give --bearer-token-file, "
                                 f"--basic-auth or --header as the server requires ({_api_message(error)})") from None
            if error.code in (400, 422):
                raise ConfigError(f"Prometheus rejected {query!r}: {_api_message(error)}", field="query") from None
            retry = error.code == 429 or error.code >= 500
            problem = f"HTTP {error.code}: {_api_message(error)}"
            if not retry:
                raise FetchError(f"{url}: {problem}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
            problem = str(getattr(error, "reason", error))
            if isinstance(getattr(error, "reason", None), ssl.SSLError):
                raise FetchError(f"{url}: TLS failed ({problem}); give --ca-file with the server's CA, or "
                                 "--insecure to skip verification") from None
        else:
            if payload.get("status") != "success":
                raise ConfigError(f"Prometheus rejected {query!r}: {payload.get('errorType')}: "
                                  f"{payload.get('error')}", field="query")
            data = payload.get("data", {})
            if data.get("resultType") != "matrix":
                raise ConfigError(f"{query!r} returned a {data.get('resultType')}, not a range vector",
                                  field="query")
            return list(data.get("result") or [])
        if attempt == retries:
            raise FetchError(f"{url} failed {retries + 1} times for {query!r}; last error: {problem}")
        wait = backoff * 2 ** attempt
        log.warning("query_range failed (%s); retrying in %.1fs", problem, wait)
        sleep(wait)
    raise AssertionError("unreachable")


def fetch(url: str, queries: Sequence[str], *, start: datetime | str, end: datetime | str,
          step: Duration = "1m", alerts_history: bool = False, max_points: int = MAX_POINTS,
          timeout: float = 120.0, retries: int = 4, backoff: float = 1.0, headers: dict[str, str] | None = None,
          progress: Callable[[FetchProgress], None] | None = None,
          sleep: Callable[[float], None] = time.sleep, access: Access | None = None) -> pl.DataFrame:
    """Fetch ``queries`` from the Prometheus at ``url`` over ``[start, end]`` every ``step``.

    Parameters
    ----------
    url : the Prometheus base URL, e.g. ``http://prometheus:9090``.
    queries : PromQL expressions, usually bare selectors (``http_requests_total{job="api"}``).
    start, end : ISO-8601 instants, ``now`` or ``now-30d``.
    step : resolution. Default ``"1m"``; use the scrape interval to keep every sample.
    alerts_history : also fetch ``ALERTS{alertstate="firing"}``. Default False.
    max_points : most instants per request. Default 10,000 (Prometheus' limit is 11,000).
    timeout, retries, backoff : per-request timeout (s), retries after the first try, first wait (s,
        doubling). Defaults 120, 4, 1.
    headers : extra HTTP headers (e.g. ``Authorization``). Default none.
    progress : called after every chunk with a :class:`FetchProgress`.
    access : authentication, headers and TLS (:class:`Access`). Default: none.

    Raises ``ConfigError`` for a bad argument or a query Prometheus rejects, ``FetchError`` when
    Prometheus cannot be reached after every retry.
    """
    start_us, end_us = instant_us(start, field="start", relative=True), instant_us(end, field="end", relative=True)
    step_us = to_microseconds(step, field="step")
    if step_us % 1000:
        raise ConfigError("step must be whole milliseconds", field="step")
    if max_points < 2 or max_points > 11_000:
        raise ConfigError(f"max_points must be between 2 and 11,000, got {max_points}", field="max_points")
    start_us -= start_us % 1000
    end_us -= end_us % 1000
    all_queries = list(dict.fromkeys([*queries, *([ALERTS_FIRING] if alerts_history else [])]))
    if not all_queries:
        raise ConfigError("give at least one --query (or --alerts-history)", field="query")
    chunks = chunk_ranges(start_us, end_us, step_us, max_points=max_points)
    total = len(chunks) * len(all_queries)
    times: list[int] = []
    values: list[float] = []
    names: list[str] = []
    label_sets: list[dict[str, str]] = []
    done = 0
    for query in all_queries:
        for k, (a, b) in enumerate(chunks):
            for item in query_range(url, query, a, b, step_us, timeout=timeout, retries=retries, backoff=backoff,
                                    headers=headers, sleep=sleep, access=access):
                metric = dict(item.get("metric", {}))
                name = metric.pop("__name__", query)
                points = item.get("values", [])
                times.extend(round(float(t) * 1000) * 1000 for t, _ in points)
                values.extend(float(v) for _, v in points)
                names.extend([name] * len(points))
                label_sets.extend([metric] * len(points))
            done += 1
            if progress:
                progress(FetchProgress(query=query, chunk=k + 1, chunks=len(chunks), done=done, total=total,
                                       points=len(times)))
    frame = _frame(times, values, names, label_sets)
    log.info("fetched %d points of %d queries from %s", frame.height, len(all_queries), url)
    return frame


def _frame(times: list[int], values: list[float], names: list[str], label_sets: list[dict[str, str]]
           ) -> pl.DataFrame:
    labels = sorted({k for lbl in {id(d): d for d in label_sets}.values() for k in lbl})
    clash = {"timestamp", "metric", "value"} & set(labels)
    if clash:
        raise InputError(f"result labels {sorted(clash)} clash with the metrics frame's own columns")
    frame = pl.DataFrame({
        "timestamp": pl.Series(times, dtype=pl.Int64).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        "metric": pl.Series(names, dtype=pl.String),
        "value": pl.Series(values, dtype=pl.Float64),
        **{n: pl.Series([d.get(n, "") for d in label_sets], dtype=pl.String) for n in labels},
    })
    frame = frame.unique(subset=["metric", *labels, "timestamp"], keep="first", maintain_order=True)
    return frame.sort(["metric", *labels, "timestamp"])


def fetch_rules(url: str, rules: Iterable[Any], *, start: datetime | str, end: datetime | str,
                alerts_history: bool = False, chunk: Duration = "1h", timeout: float = 120.0, retries: int = 4,
                backoff: float = 1.0, access: Access | None = None,
                progress: Callable[[FetchProgress], None] | None = None,
                sleep: Callable[[float], None] = time.sleep) -> pl.DataFrame:
    """Fetch exactly the series ``rules`` read (:func:`alertsim.rules.reads.reads`), every raw sample at
    its own timestamp, over ``[start, end]`` plus how far back each selector is read (range windows,
    offsets and the 5-minute lookback), so a replay of ``rules`` over ``[start, end]`` sees what
    Prometheus saw. ``alerts_history`` adds the raw ``ALERTS{alertstate="firing"}`` samples (one per
    rule evaluation of a firing alert) over ``[start, end]``.

    Samples come from instant queries of ``selector[chunk]`` (``/api/v1/query``), so they are not
    resampled to a step; ``chunk`` bounds the samples per request. Raises as :func:`fetch`.
    """
    start_us, end_us = instant_us(start, field="start", relative=True), instant_us(end, field="end", relative=True)
    if end_us < start_us:
        raise ConfigError("end is before start", field="end")
    chunk_us = to_microseconds(chunk, field="chunk")
    if chunk_us < 1000:
        raise ConfigError("chunk must be at least 1ms", field="chunk")
    wanted = [(r.selector, start_us - to_microseconds(r.reach)) for r in reads(rules)]
    if alerts_history:
        wanted.append((ALERTS_FIRING, start_us))
    plan = [(selector, at) for selector, first in wanted
            for at in range(first - 1000 + chunk_us, end_us + chunk_us, chunk_us)]
    times: list[int] = []
    values: list[float] = []
    names: list[str] = []
    label_sets: list[dict[str, str]] = []
    for done, (selector, at) in enumerate(plan, start=1):
        at = min(at, end_us)
        for item in query_samples(url, selector, at, chunk_us, timeout=timeout, retries=retries, backoff=backoff,
                                  access=access, sleep=sleep):
            metric = dict(item.get("metric", {}))
            name = metric.pop("__name__", selector)
            points = item.get("values", [])
            times.extend(round(float(t) * 1000) * 1000 for t, _ in points)
            values.extend(float(v) for _, v in points)
            names.extend([name] * len(points))
            label_sets.extend([metric] * len(points))
        if progress:
            progress(FetchProgress(query=selector, chunk=done, chunks=len(plan), done=done, total=len(plan),
                                   points=len(times)))
    frame = _frame(times, values, names, label_sets)
    log.info("fetched %d samples of %d selectors from %s", frame.height, len(wanted), url)
    return frame


def write_metrics(frame: pl.DataFrame, out: str) -> None:
    """Write a Metrics frame as Parquet (``.parquet``, ``.pq``) or CSV (``.csv``, timestamps to the
    millisecond, as Prometheus stores them), atomically (:func:`alertsim.io.rundir.write_frame`);
    ``ConfigError`` for any other suffix."""
    if frame_format(out) == "csv":
        frame = frame.with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"))
    write_frame(frame, out)


__all__ = ["ALERTS_FIRING", "Access", "FetchError", "FetchProgress", "chunk_ranges", "fetch", "fetch_rules",
           "query_range", "query_samples", "write_metrics"]
