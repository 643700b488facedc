"""``alertsim validate``: check a metrics or incidents input and print every problem at once.

``alertsim validate exports/cpu.csv --metric cpu`` reads the file the way :func:`alertsim.read_metrics`
does and prints one table row per problem (file, row, column, reason); it exits 1 when there is any.
Warnings (duplicate samples, rows out of order, NaN and ±Inf values) are printed too but do not fail
the run unless ``--strict``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import polars as pl
import typer
from rich.markup import escape

from alertsim.cli import console, err_console, format_option, print_frame
from alertsim.errors import AlertsimError, ConfigError, InputError, Problem
from alertsim.io.incidents import read_incidents
from alertsim.io.metrics import load_metrics


class Kind(StrEnum):
    """What a file holds."""

    metrics = "metrics"
    incidents = "incidents"


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def _show_problems(problems: tuple[Problem, ...], *, title: str, level: str) -> None:
    """Print problems as a table (print_frame); the file column only when they span several files."""
    files = {p.file for p in problems}
    frame = pl.DataFrame({"file": [p.file for p in problems], "row": [p.row for p in problems],
                          "column": [p.column for p in problems], level: [p.reason for p in problems]},
                         schema={"file": pl.String, "row": pl.Int64, "column": pl.String, level: pl.String})
    print_frame(frame if len(files) > 1 else frame.drop("file"), title=title, limit=max(40, frame.height))


def validate_command(
    file: Annotated[str, typer.Argument(help="A CSV or Parquet file, a directory of them, a glob, or a "
                                             "DuckDB database (with --table).")],
    kind: Annotated[Kind, typer.Option(help="What the file holds.")] = Kind.metrics,
    metric: Annotated[str | None, typer.Option(
        help="Metric name for a two-column timestamp,value file (or: keep only this metric).")] = None,
    table: Annotated[str | None, typer.Option(help="Table to read from a DuckDB database.")] = None,
    strict: Annotated[bool, typer.Option(
        help="Treat duplicate samples and rows out of order as errors.")] = False,
    output: Annotated[str, format_option(annotated=True)] = "table",
) -> None:
    """Check FILE and print every problem (row, column, reason); exit 1 when there is any.

    Examples:

        alertsim validate data/sample/metrics.parquet

        alertsim validate data/sample/incidents.csv --kind incidents
    """
    try:
        if kind is Kind.incidents:
            if metric is not None or table is not None or strict:
                raise ConfigError("--metric, --table and --strict apply to --kind metrics only",
                                  field="--kind")
            frame = read_incidents(file)
            first, last = (frame["started_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").sort()[i] for i in (0, -1))
            span = f"{first} to {last}"
            console.print(f"[green]ok[/]: {escape(file)}: {_count(frame.height, 'incident')} of "
                          f"{_count(frame['service'].n_unique(), 'service')}, started {span}",
                          highlight=False)
            return
        read = load_metrics(file, metric=metric, table=table, strict=strict)
    except InputError as error:
        problems = error.problems or (Problem(file=error.file, reason=str(error)),)
        count = _count(len(problems), "problem")
        _show_problems(problems, title=f"{file}: {count}", level="problem")
        console.print(f"[red]invalid[/]: {escape(file)} has {count}; nothing was read", highlight=False)
        raise typer.Exit(code=1) from None
    except AlertsimError as error:
        err_console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None
    if read.warnings:
        _show_problems(read.warnings, title=f"{file}: {_count(len(read.warnings), 'warning')}", level="warning")
    console.print(
        f"[green]ok[/]: {escape(file)}: {_count(read.frame.height, 'sample')} of "
        f"{_count(read.series, 'series', 'series')} from {_count(len(read.files), 'file')}; "
        f"{read.duplicates:,} duplicate samples dropped, {read.resorted:,} rows re-sorted, "
        f"{read.nan_values:,} NaN and {read.inf_values:,} ±Inf values kept", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``validate`` to ``app``."""
    app.command("validate")(validate_command)
