"""``alertsim replay``: metrics × rules → a run directory of alert episodes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import typer

from alertsim.cli import STRICT_HELP, console, fail, format_option, print_frame, show_notices
from alertsim.errors import AlertsimError
from alertsim.io.metrics import load_metrics
from alertsim.io.rundir import check_output, file_digest, write_run
from alertsim.replay import replay
from alertsim.rules import load_rules
from alertsim.series import prepare


def _digest_meanwhile(path: Path) -> Future[str] | None:
    """The SHA-256 of a metrics file or directory for the manifest, computed in a thread while the
    metrics are read and replayed (hashlib releases the GIL); None for a path that does not exist."""
    if not path.exists():
        return None
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(file_digest, path)
    finally:
        pool.shutdown(wait=False)


@contextmanager
def _rule_progress(rules: int) -> Iterator[Callable[[object], None] | None]:
    """A progress bar over the rules on a terminal (nothing elsewhere: a redirected output gets no
    bar, and rich's display thread is not started)."""
    if not console.is_terminal:
        yield None
        return
    # startup speed: the bar's modules load only when it is shown
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    with Progress(TextColumn("[bold]replay"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("", total=rules)

        def advance(rule: object) -> None:
            progress.update(task, advance=1, description=getattr(rule, "name", ""))

        yield advance


def replay_command(
    metrics: Path = typer.Argument(..., help="Metrics: CSV/Parquet file, dir or glob, or DuckDB file."),
    rules: Path = typer.Option(..., "--rules", "-r", help="Rules: alertsim YAML, Prometheus rule file, CloudWatch "
                                "describe-alarms JSON, GCP AlertPolicy or Datadog monitor JSON."),
    out: Path = typer.Option(..., "--out", "-o", help="Run directory to write (replaced atomically)."),
    eval_interval: str = typer.Option("1m", "--eval-interval", help="Rule evaluation interval."),
    eval_offset: str = typer.Option("0s", "--eval-offset",
                                    help="Evaluate at OFFSET + k·interval (Prometheus' per-group offset)."),
    start: str | None = typer.Option(None, "--start", help="First instant (ISO-8601)."),
    end: str | None = typer.Option(None, "--end", help="Last instant (ISO-8601; default: last sample)."),
    metric: str | None = typer.Option(None, "--metric", help="Metric name of a timestamp,value file."),
    table: str | None = typer.Option(None, "--table", help="Table name when METRICS is a DuckDB database."),
    evaluations: bool = typer.Option(False, "--evaluations", help="Also write every evaluation."),
    engine: str = typer.Option("memory", "--engine", help="memory (load all), local (stream a dataset "
                               "partition by partition) or dask (partitions on a Dask cluster)."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address (engine dask)."),
    strict: bool = typer.Option(False, "--strict", help=STRICT_HELP),
    output: str = format_option(),
) -> None:
    """Replay RULES over METRICS and write alerts.parquet/.csv and manifest.json into OUT.

    Examples:

        alertsim replay data/sample/metrics.parquet --rules data/rules/sample.yaml --out runs/sample

        alertsim replay data/sample/metrics.parquet -r data/rules/sample.yaml --eval-interval 30s \\
            --start 2026-03-02T00:00:00Z --end 2026-03-09T00:00:00Z --out runs/week1
    """
    try:
        check_output(out)  # before any work: never replace what alertsim did not write
        rule_list = load_rules(rules, strict=strict)
        if engine != "memory":
            # startup speed: partitioned replays' modules (DuckDB glue, Dask) load only for them
            from alertsim.scale import open_dataset, replay_dataset  # noqa: PLC0415

            source = open_dataset(metrics, table=table)
            with console.status(f"replaying {len(rule_list)} rules partition by partition ({engine})"):
                result = replay_dataset(source, rule_list, eval_interval=eval_interval, start=start, end=end,
                                        engine=engine, scheduler=scheduler)  # type: ignore[arg-type]
            notices = show_notices(result.notices, strict=strict)
            write_run(out, {"alerts": result.alerts}, manifest={"notices": notices,
                "command": "replay", "engine": engine, "eval_interval": eval_interval,
                "metrics": {"path": str(metrics.resolve()), "table": table, "dataset": True},
                "rules": {"path": str(rules.resolve()), "sha256": file_digest(rules), "count": len(rule_list)},
                "start": result.start.isoformat(), "end": result.end.isoformat()},
                files={f"rules{rules.suffix or '.yaml'}": rules})
            print_frame(result.summary(), title=f"{result.alerts.height} alerts from {len(rule_list)} rules")
            return
        digest = _digest_meanwhile(metrics)
        read = load_metrics(metrics, metric=metric, table=table)
        starts = None if read.series_starts is None else read.series_starts.to_numpy()
        prepared = prepare(read.frame, series_starts=starts)  # the reader found the series already
        del read  # the frame is freed here
        with _rule_progress(len(rule_list)) as advance:
            result = replay(prepared, rule_list, eval_interval=eval_interval, eval_offset=eval_offset, start=start,
                            end=end, evaluations=evaluations, progress=advance)
        notices = show_notices(result.notices, strict=strict)
        frames = {"alerts": result.alerts}
        if result.evaluations is not None:
            frames["evaluations"] = result.evaluations
        manifest = {
            "command": "replay",
            "metrics": {"path": str(metrics.resolve()), "sha256": None if digest is None else digest.result(),
                        "series": prepared.data.n, "samples": len(prepared.data.times),
                        "metric": metric, "table": table},
            "rules": {"path": str(rules.resolve()), "sha256": file_digest(rules), "count": len(rule_list)},
            "eval_interval": eval_interval, "eval_offset": eval_offset,
            "start": result.start.isoformat(), "end": result.end.isoformat(),
            "notices": notices,
            "rule_health": [{**row, "last_error_at": row["last_error_at"].isoformat()}
                            for row in result.health.to_dicts()],
        }
        write_run(out, frames, manifest=manifest, files={f"rules{rules.suffix or '.yaml'}": rules})
    except AlertsimError as error:
        fail(error)
        return
    span = f"{result.start:%Y-%m-%d %H:%M} → {result.end:%Y-%m-%d %H:%M} UTC"
    print_frame(result.summary(), title=f"{result.alerts.height} alerts from {len(rule_list)} rules "
                f"over {prepared.data.n} series ({span})")
    console.print(f"wrote {out}/alerts.parquet, alerts.csv, manifest.json")


def ingest_command(
    source: Path = typer.Argument(..., help="Metrics CSV/Parquet file, directory or glob (e.g. a fetch output)."),
    into: Path = typer.Option(..., "--into", help="A DuckDB file (*.duckdb) or a Parquet dataset directory."),
    table: str = typer.Option("metrics", "--table", help="Table name in a DuckDB store."),
    buckets: int | None = typer.Option(None, "--buckets", help="Series hash buckets of a new Parquet dataset "
                                       "(default 16; an existing store keeps its own)."),
    metric: str | None = typer.Option(None, "--metric", help="Metric name of a timestamp,value file."),
) -> None:
    """Add SOURCE to the embedded store INTO, incrementally, skipping samples already stored.

    Examples:

        alertsim ingest data/sample/metrics.parquet --into store.duckdb

        alertsim ingest exports/ --into store/ --buckets 32
    """
    from alertsim.io.ingest import ingest  # noqa: PLC0415  (startup speed: replay does not need it)

    try:
        report = ingest(source, into, table=table, buckets=buckets, metric=metric)
    except AlertsimError as error:
        fail(error)
        return
    console.print(f"{report.written:,} new samples written to {report.into} ({report.duplicates:,} already "
                  f"stored, {report.partitions} partitions written)")


def register(app: typer.Typer) -> None:
    app.command("replay")(replay_command)
    app.command("ingest")(ingest_command)
