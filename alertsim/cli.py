"""The ``alertsim`` command line: thin wrappers that parse arguments, call the library, write a run
directory and show progress. The library never prints; this module does."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

import alertsim
from alertsim.errors import AlertsimError


class _Commands(TyperGroup):
    """The root command group: whatever escapes a command ends as a clear message, never a traceback.

    Commands report their own typed errors; this is the net under them. An ``AlertsimError`` or an
    ``OSError`` (a full disk, a read-only directory) is printed with what to do; anything else is
    reported as an internal error (``ALERTSIM_DEBUG=1`` shows the traceback).
    """

    def invoke(self, ctx: Any) -> Any:  # the toolkit's own Context class
        try:
            return super().invoke(ctx)
        except Exception as exc:
            # Exit, Abort and usage errors belong to the command-line toolkit, which reports them itself.
            if os.environ.get("ALERTSIM_DEBUG") or type(exc).__module__.split(".")[0] in ("typer", "click"):
                raise
            _report(exc)
            raise typer.Exit(code=2 if isinstance(exc, AlertsimError | OSError | MemoryError) else 3) from None


def _report(exc: Exception) -> None:
    from rich.markup import escape

    from alertsim.io.rundir import os_error

    if isinstance(exc, OSError):
        exc = os_error(exc, exc.filename or "?", "use")
    if isinstance(exc, AlertsimError):
        message = str(exc)
    elif isinstance(exc, MemoryError):
        message = ("out of memory: the job is larger than this machine's memory; narrow --start/--end, raise "
                   "--eval-interval or use --engine local")
    else:
        message = (f"internal error ({type(exc).__name__}: {exc}); this is a bug in alertsim — please report it "
                   "with the command line (ALERTSIM_DEBUG=1 shows the traceback)")
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)


app = typer.Typer(
    name="alertsim",
    cls=_Commands,
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


def show_notices(notices: Any, *, strict: bool = False) -> list[dict[str, Any]]:
    """Print each notice of a result as a warning (to stderr) and return them for the manifest;
    with ``strict``, raise :class:`alertsim.errors.StrictError` instead of going on."""
    from rich.markup import escape

    from alertsim.errors import StrictError

    notices = tuple(notices)
    if strict and notices:
        raise StrictError(notices)
    for notice in notices:
        err_console.print(f"[bold yellow]warning:[/] {escape(str(notice))}", highlight=False, soft_wrap=True)
    return [n.as_dict() for n in notices]


STRICT_HELP = "Treat warnings (rules that select nothing, empty windows, ...) as errors (exit 2)."


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

__all__ = ["STRICT_HELP", "Path", "app", "console", "fail", "main", "print_frame", "show_notices"]
