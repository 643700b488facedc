"""``alertsim fetch prometheus`` (history from a live Prometheus) and ``alertsim export promtool``
(a replay pinned as a ``promtool test rules`` file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from alertsim.cli import console, fail, show_notices
from alertsim.commands import add_group
from alertsim.errors import AlertsimError, ConfigError, Notice
from alertsim.io.prometheus import Access, FetchProgress, fetch, fetch_rules, write_metrics
from alertsim.io.promtool import export_promtool
from alertsim.io.rundir import frame_format
from alertsim.rules import load_rules

fetch_app = typer.Typer(help="Pull history from monitoring systems into the long metrics format.\n\nExamples:\n\n"
                             "alertsim fetch prometheus --url http://prometheus:9090 --rules data/rules/sample.yaml "
                             "--start now-30d --out history.parquet",
                        no_args_is_help=True)
export_app = typer.Typer(help="Export a replay to other tools.\n\nExamples:\n\n"
                              "alertsim export promtool runs/prom --out alerts_test.yml", no_args_is_help=True)


@fetch_app.command("prometheus")
def fetch_prometheus(
    url: str = typer.Option(..., "--url", help="Base URL of a Prometheus-compatible API (Prometheus, Thanos, "
                                               "Mimir's /prometheus, VictoriaMetrics), path prefix included."),
    query: list[str] = typer.Option([], "--query", "-q", help="PromQL to fetch (repeatable)."),
    rules: Path | None = typer.Option(None, "--rules", help="Fetch exactly the series these rules read, raw."),
    start: str = typer.Option(..., "--start", help="ISO-8601 instant, 'now' or 'now-30d'."),
    end: str = typer.Option("now", "--end", help="ISO-8601 instant or 'now'."),
    step: str = typer.Option("1m", "--step", help="Resolution of --query; the scrape interval keeps every sample."),
    out: Path = typer.Option(..., "--out", "-o", help="Metrics file to write (.parquet or .csv)."),
    alerts_history: bool = typer.Option(False, "--alerts-history",
                                        help='Also fetch ALERTS{alertstate="firing"}.'),
    timeout: float = typer.Option(120.0, "--timeout", help="Seconds per request."),
    retries: int = typer.Option(4, "--retries", help="Retries per request (exponential backoff)."),
    bearer_token_file: Path | None = typer.Option(None, "--bearer-token-file",
                                                  help="File holding a bearer token (Authorization: Bearer)."),
    basic_auth_user: str | None = typer.Option(None, "--basic-auth-user", help="Basic auth user name."),
    basic_auth_password_file: Path | None = typer.Option(None, "--basic-auth-password-file",
                                                         help="File holding the basic auth password."),
    header: list[str] = typer.Option([], "--header", "-H",
                                     help="Extra header 'Name: value' (repeatable), e.g. 'X-Scope-OrgID: team'."),
    ca_file: Path | None = typer.Option(None, "--ca-file", help="CA bundle to verify the server's certificate."),
    insecure: bool = typer.Option(False, "--insecure", help="Do not verify the server's TLS certificate."),
) -> None:
    """Fetch QUERY results, or the series RULES read, between START and END from URL into OUT.

    Examples:

        alertsim fetch prometheus --url http://prometheus:9090 --rules data/rules/sample.yaml \\
            --start now-30d --out history.parquet

        alertsim fetch prometheus --url http://prometheus:9090 -q 'rate(http_requests_total[5m])' \\
            --step 1m --start now-7d --alerts-history --out history.parquet
    """
    try:
        frame_format(out)  # an --out it cannot write fails before the download, not after
        access = _access(bearer_token_file, basic_auth_user, basic_auth_password_file, header, ca_file, insecure)
        parsed = load_rules(rules) if rules is not None else None
        if parsed is None and not query and not alerts_history:
            raise ConfigError("give --rules, at least one --query, or --alerts-history", field="query")
        with Progress(TextColumn("[bold]fetch"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                      transient=True) as bar:
            task = bar.add_task("", total=None)

            def advance(p: FetchProgress) -> None:
                bar.update(task, completed=p.done, total=p.total,
                           description=f"{p.query[:40]} chunk {p.chunk}/{p.chunks}, {p.points:,} points")

            frames = []
            if parsed is not None:
                frames.append(fetch_rules(url, parsed, start=start, end=end, alerts_history=alerts_history,
                                          timeout=timeout, retries=retries, access=access, progress=advance))
            if query or (parsed is None and alerts_history):
                frames.append(fetch(url, query, start=start, end=end, step=step,
                                    alerts_history=alerts_history and parsed is None, timeout=timeout,
                                    retries=retries, progress=advance, access=access))
        frame = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
        labels = [c for c in frame.columns if c not in ("timestamp", "metric", "value")]
        frame = frame.with_columns(pl.col(labels).fill_null("")).select("timestamp", "metric", "value",
                                                                         *sorted(labels))
        write_metrics(frame, str(out))
    except AlertsimError as error:
        fail(error)
        return
    series = frame.select("metric", *[c for c in frame.columns if c not in ("timestamp", "metric", "value")]
                          ).n_unique() if frame.height else 0
    console.print(f"wrote {out}: {frame.height:,} samples of {series} series")


def _secret(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the {what} file: {exc}", file=str(path), field=what) from None


def _access(bearer_token_file: Path | None, user: str | None, password_file: Path | None, header: list[str],
            ca_file: Path | None, insecure: bool) -> Any:
    headers = {}
    for item in header:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise ConfigError(f"header {item!r} is not 'Name: value'", field="header")
        headers[name.strip()] = value.strip()
    if (user is None) != (password_file is None):
        raise ConfigError("basic auth needs both --basic-auth-user and --basic-auth-password-file",
                          field="basic_auth")
    return Access(headers=headers,
                  bearer_token=_secret(bearer_token_file, "bearer_token") if bearer_token_file else None,
                  basic_auth=(user, _secret(password_file, "password")) if user and password_file else None,
                  ca_file=str(ca_file) if ca_file else None, insecure=insecure)


@export_app.command("promtool")
def export_promtool_command(
    run_dir: Path = typer.Argument(..., help="A replay run directory of a Prometheus rule file."),
    out: Path = typer.Option(..., "--out", "-o", help="promtool test file to write."),
    at: list[str] = typer.Option([], "--at", help="Instant to test (repeatable; default: where alerts change)."),
    start: str | None = typer.Option(None, "--start", help="First instant to test (default: the replay's)."),
    end: str | None = typer.Option(None, "--end", help="Last instant to test (default: the replay's)."),
    series_interval: str | None = typer.Option(None, "--series-interval",
                                               help="Spacing of input samples (default: eval interval)."),
    strip_annotations: bool = typer.Option(False, "--strip-annotations",
                                           help="Test a copy of the rules without annotations."),
) -> None:
    """Write a `promtool test rules` file pinning the alerts of RUN_DIR's replay.

    Annotations are rendered as Prometheus renders them ($labels, $value, if/with, printf, humanize*);
    one that needs a running Prometheus (query, range, ...) is left out with a warning, and the test runs
    on a copy of the rules without it.

    Examples:

        alertsim export promtool runs/prom --out alerts_test.yml

        alertsim export promtool runs/prom --at 2026-03-10T08:30:00Z --strip-annotations \\
            --out alerts_test.yml
    """
    try:
        notices: list[Notice] = []
        path = export_promtool(run_dir, out, at=at or None, start=start, end=end, series_interval=series_interval,
                               strip_annotations=strip_annotations, notices=notices)
        show_notices(notices)
    except AlertsimError as error:
        fail(error)
        return
    console.print(f"wrote {path}; check it with: promtool test rules {path}")


def register(app: typer.Typer) -> None:
    add_group(app, "fetch", fetch_app)
    add_group(app, "export", export_app)
