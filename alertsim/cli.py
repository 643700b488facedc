"""The ``alertsim`` command line: thin wrappers that parse arguments, call the library, write a run
directory and show progress. The library never prints; this module does."""

from __future__ import annotations

import importlib
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

import alertsim
from alertsim.errors import AlertsimError

app = typer.Typer(
    name="alertsim",
    help="Replay alert rules over history, model notifications and on-call, measure fatigue.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

# Modules that add commands to `app`: each defines `register(app: typer.Typer) -> None`.
COMMAND_MODULES: tuple[str, ...] = (
    "alertsim.commands.data",
    "alertsim.commands.datasets",
    "alertsim.commands.replay",
    "alertsim.commands.notify",
    "alertsim.commands.quality",
    "alertsim.commands.report",
    "alertsim.commands.demo",
    "alertsim.commands.oncall",
    "alertsim.commands.prometheus",
    "alertsim.commands.cloud",
)


def _version(value: bool) -> None:
    if value:
        console.print(f"alertsim {alertsim.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """alertsim: what would this alert rule or rotation have done to us?"""


def fail(error: AlertsimError) -> None:
    """Print a typed error for a person and exit non-zero (no traceback)."""
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code=2)


def print_frame(frame, title: str | None = None, *, limit: int = 40) -> None:  # type: ignore[no-untyped-def]
    """Print a polars frame as a Rich table."""
    from alertsim.report.html import display_value

    table = Table(title=title, show_lines=False)
    for name in frame.columns:
        table.add_column(name, overflow="fold")
    for row in frame.head(limit).iter_rows():
        table.add_row(*[display_value(v) for v in row])
    console.print(table)
    if frame.height > limit:
        console.print(f"... {frame.height - limit} more rows")


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


def main() -> None:
    app()


_register_all()

__all__ = ["Path", "app", "console", "fail", "main", "print_frame"]
