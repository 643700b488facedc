"""``alertsim fetch prometheus`` (history from a live Prometheus) and ``alertsim export promtool``
(a replay pinned as a ``promtool test rules`` file)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from alertsim.cli import console, fail
from alertsim.commands import add_group
from alertsim.errors import AlertsimError

fetch_app = typer.Typer(help="Pull history from monitoring systems into the long metrics format.",
                        no_args_is_help=True)
export_app = typer.Typer(help="Export a replay to other tools.", no_args_is_help=True)


@fetch_app.command("prometheus")
def fetch_prometheus(
    url: str = typer.Option(..., "--url", help="Prometheus base URL, e.g. http://prometheus:9090."),
    query: list[str] = typer.Option([], "--query", "-q", help="PromQL to fetch (repeatable)."),
    start: str = typer.Option(..., "--start", help="ISO-8601 instant, 'now' or 'now-30d'."),
    end: str = typer.Option("now", "--end", help="ISO-8601 instant or 'now'."),
    step: str = typer.Option("1m", "--step", help="Resolution; the scrape interval keeps every sample."),
    out: Path = typer.Option(..., "--out", "-o", help="Metrics file to write (.parquet or .csv)."),
    alerts_history: bool = typer.Option(False, "--alerts-history",
                                        help='Also fetch ALERTS{alertstate="firing"}.'),
    timeout: float = typer.Option(120.0, "--timeout", help="Seconds per request."),
    retries: int = typer.Option(4, "--retries", help="Retries per request (exponential backoff)."),
) -> None:
    """Fetch QUERY results between START and END from URL into OUT (long metrics format)."""
    from alertsim.io.prometheus import FetchProgress, fetch, write_metrics
    from alertsim.io.rundir import frame_format

    try:
        frame_format(out)  # an --out it cannot write fails before the download, not after
        with Progress(TextColumn("[bold]fetch"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                      transient=True) as bar:
            task = bar.add_task("", total=None)

            def advance(p: FetchProgress) -> None:
                bar.update(task, completed=p.done, total=p.total,
                           description=f"{p.query[:40]} chunk {p.chunk}/{p.chunks}, {p.points:,} points")

            frame = fetch(url, query, start=start, end=end, step=step, alerts_history=alerts_history,
                          timeout=timeout, retries=retries, progress=advance)
        write_metrics(frame, str(out))
    except AlertsimError as error:
        fail(error)
        return
    series = frame.select("metric", *[c for c in frame.columns if c not in ("timestamp", "metric", "value")]
                          ).n_unique() if frame.height else 0
    console.print(f"wrote {out}: {frame.height:,} samples of {series} series")


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
    """Write a `promtool test rules` file pinning the alerts of RUN_DIR's replay."""
    from alertsim.io.promtool import export_promtool

    try:
        path = export_promtool(run_dir, out, at=at or None, start=start, end=end, series_interval=series_interval,
                               strip_annotations=strip_annotations)
    except AlertsimError as error:
        fail(error)
        return
    console.print(f"wrote {path}; check it with: promtool test rules {path}")


def register(app: typer.Typer) -> None:
    add_group(app, "fetch", fetch_app)
    add_group(app, "export", export_app)
