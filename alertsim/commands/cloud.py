"""``alertsim lint`` and the cloud importers: ``alertsim import splunk-oncall|squadcast`` (incident history)
and ``alertsim import cloudwatch-metrics|cloudwatch-csv|gcp-metrics|datadog-metrics`` (metric exports).

``alertsim lint RULES...`` checks rule files of any dialect (and Alertmanager configs among them, or
``--alertmanager``), prints a table (or ``--json``) and exits 1 when there is an error-level finding
(``--strict``: any finding), 0 otherwise, so it can gate CI.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import typer

from alertsim.cli import console, fail, format_option, print_frame
from alertsim.commands import add_group, import_incidents
from alertsim.errors import AlertsimError
from alertsim.io.cloud_metrics import (
    read_cloudwatch_csv,
    read_cloudwatch_metric_data,
    read_datadog_query,
    read_gcp_time_series,
)
from alertsim.io.rundir import write_frame
from alertsim.io.splunk_oncall import read_splunk_oncall
from alertsim.io.squadcast import read_squadcast
from alertsim.lint import exit_code, lint

import_app = typer.Typer(help="Import incident history from on-call tools.", no_args_is_help=True)


def lint_command(
    rules: list[Path] = typer.Argument(..., help="Rule files or directories of them: native YAML, Prometheus "
                                       "rule files, describe-alarms JSON, GCP AlertPolicy, Datadog monitors; "
                                       "Alertmanager configs."),
    alertmanager: Path | None = typer.Option(None, "--alertmanager", "-a",
                                             help="alertmanager.yml whose routes are checked against the rules."),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 on warnings too."),
    output: str = format_option(),
) -> None:
    """Lint alert rules for missing runbooks and severities, one-sample pages, burn-rate tiers that can never
    fire, duplicates and overlaps, and routes that page on info. Exit 1 on errors.

    Examples:

        alertsim lint rules/ --alertmanager alertmanager.yml

        alertsim lint alerts.yaml --json
    """
    try:
        findings = lint(rules, alertmanager=alertmanager)
    except AlertsimError as error:
        fail(error)
        return
    errors = int((findings["level"] == "error").sum())
    warnings = findings.height - errors
    if as_json:
        typer.echo(json.dumps({"files": [str(p) for p in rules], "errors": errors, "warnings": warnings,
                               "findings": findings.to_dicts()}, indent=2))
    else:
        files = findings["file"].drop_nulls().unique().to_list()
        where = (pl.col("line").alias("line") if len(files) <= 1 else pl.when(pl.col("line").is_not_null())
                 .then(pl.format("{}:{}", "file", "line")).otherwise(pl.col("file")).alias("where"))
        shown = findings.select("rule", "level", "check", where, "message")
        print_frame(shown, title=f"{errors} errors, {warnings} warnings in "
                    f"{files[0] if len(files) == 1 else f'{len(rules)} paths'}", limit=max(40, shown.height))
        if not findings.height:
            console.print("[green]no findings[/]")
    raise typer.Exit(code=exit_code(findings, strict=strict))


# ------------------------------------------------------------------------------------------ importers

_EXTRAS = "Keep number, team, escalation_policy and assignees."


@import_app.command("splunk-oncall")
def import_splunk_oncall_command(
    file: Path = typer.Argument(..., help="Reporting API JSON (GET /api-reporting/v2/incidents)."),
    out: Path = typer.Option(..., "--out", "-o", help="incidents.parquet or incidents.csv to write."),
    tz: str = typer.Option("UTC", "--tz", help="Zone of timestamps without an offset."),
    extras: bool = typer.Option(False, "--extras", help=_EXTRAS),
) -> None:
    """Import Splunk On-Call (VictorOps) incident history as an Incidents file.

    Examples:

        alertsim import splunk-oncall incidents.json --out incidents.parquet
    """
    import_incidents(lambda: read_splunk_oncall(file, tz=tz), file, out, extras=extras)


@import_app.command("squadcast")
def import_squadcast_command(
    file: Path = typer.Argument(..., help="Squadcast incident export (JSON or CSV)."),
    out: Path = typer.Option(..., "--out", "-o", help="incidents.parquet or incidents.csv to write."),
    format: str = typer.Option("auto", "--format", help="auto, json or csv."),
    tz: str = typer.Option("UTC", "--tz", help="Zone of timestamps without an offset."),
    extras: bool = typer.Option(False, "--extras", help=_EXTRAS),
) -> None:
    """Import a Squadcast incident export as an Incidents file.

    Examples:

        alertsim import squadcast export.json --out incidents.parquet

        alertsim import squadcast export.csv --format csv --tz Asia/Kolkata -o incidents.parquet
    """
    import_incidents(lambda: read_squadcast(file, format=format, tz=tz),  # type: ignore[arg-type]
                     file, out, extras=extras)


def _metrics(read: Callable[[], pl.DataFrame], file: Path, out: Path) -> None:
    try:
        frame = read()
        write_frame(frame, out)
    except AlertsimError as error:
        fail(error)
        return
    labels = [c for c in frame.columns if c not in ("timestamp", "metric", "value")]
    series = frame.select("metric", *labels).n_unique()
    span = (f"{frame['timestamp'].min()!s} to {frame['timestamp'].max()!s}" if frame.height
            else "no samples")
    console.print(f"{frame.height:,} samples of {series} series from {file.name} ({span}); wrote {out}",
                  highlight=False)


@import_app.command("cloudwatch-metrics")
def import_cloudwatch_metrics_command(
    file: Path = typer.Argument(..., help="`aws cloudwatch get-metric-data` output (JSON)."),
    out: Path = typer.Option(..., "--out", "-o", help="metrics.parquet or metrics.csv to write."),
    queries: Path | None = typer.Option(None, "--queries", "-q",
                                        help="The --metric-data-queries JSON (names metrics and dimensions)."),
) -> None:
    """Import CloudWatch get-metric-data JSON as a Metrics file.

    Examples:

        alertsim import cloudwatch-metrics get-metric-data.json --out metrics.parquet
    """
    _metrics(lambda: read_cloudwatch_metric_data(file, queries=queries), file, out)


@import_app.command("cloudwatch-csv")
def import_cloudwatch_csv_command(
    file: Path = typer.Argument(..., help="A CloudWatch console graph downloaded as CSV."),
    out: Path = typer.Option(..., "--out", "-o", help="metrics.parquet or metrics.csv to write."),
    metric: str | None = typer.Option(None, "--metric", help="One metric name for every column."),
    label: str = typer.Option("label", "--label", help="Label holding the column header with --metric."),
) -> None:
    """Import a CloudWatch console CSV as a Metrics file.

    Examples:

        alertsim import cloudwatch-csv cpu.csv --metric CPUUtilization --out metrics.parquet
    """
    _metrics(lambda: read_cloudwatch_csv(file, metric=metric, label=label), file, out)


@import_app.command("gcp-metrics")
def import_gcp_metrics_command(
    file: Path = typer.Argument(..., help="Cloud Monitoring timeSeries.list output (JSON)."),
    out: Path = typer.Option(..., "--out", "-o", help="metrics.parquet or metrics.csv to write."),
) -> None:
    """Import Cloud Monitoring timeSeries.list JSON as a Metrics file.

    Examples:

        alertsim import gcp-metrics time-series.json --out metrics.parquet
    """
    _metrics(lambda: read_gcp_time_series(file), file, out)


@import_app.command("datadog-metrics")
def import_datadog_metrics_command(
    file: Path = typer.Argument(..., help="Datadog query API output (GET /api/v1/query, JSON)."),
    out: Path = typer.Option(..., "--out", "-o", help="metrics.parquet or metrics.csv to write."),
) -> None:
    """Import Datadog query API JSON as a Metrics file.

    Examples:

        alertsim import datadog-metrics query.json --out metrics.parquet
    """
    _metrics(lambda: read_datadog_query(file), file, out)


def register(app: typer.Typer) -> None:
    """Add ``lint`` and the cloud ``import`` commands to ``app``."""
    app.command("lint")(lint_command)
    add_group(app, "import", import_app)


__all__: list[Any] = ["register"]
