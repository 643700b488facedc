"""The ``alertsim`` command line: thin wrappers that parse arguments, call the library, write a run
directory and show progress. The library never prints; this module does."""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from typer.core import TyperCommand, TyperGroup

import alertsim
from alertsim.errors import AlertsimError, StrictError
from alertsim.report.tables import display_value, header


class _Commands(TyperGroup):
    """The root command group: whatever escapes a command ends as a clear message, never a traceback.

    Commands report their own typed errors; this is the net under them. An ``AlertsimError`` or an
    ``OSError`` (a full disk, a read-only directory) is printed with what to do; anything else is
    reported as an internal error (``ALERTSIM_DEBUG=1`` shows the traceback).
    """

    _listing = False  # while the group's own help is written: commands are listed from COMMANDS

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return None
        if self._listing:  # the name and one line of help, without importing the command's module
            return TyperCommand(cmd_name, help=COMMANDS[cmd_name][1])
        return _command(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _plain_help(self)
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def invoke(self, ctx: Any) -> Any:  # the toolkit's own Context class
        _format[0], console.stderr = "table", False  # until a command's --format says otherwise
        _show_library_warnings()
        try:
            return super().invoke(ctx)
        except Exception as exc:
            # Exit, Abort and usage errors belong to the command-line toolkit, which reports them itself.
            if os.environ.get("ALERTSIM_DEBUG") or type(exc).__module__.split(".")[0] in ("typer", "click"):
                raise
            _report(exc)
            raise typer.Exit(code=2 if isinstance(exc, AlertsimError | OSError | MemoryError) else 3) from None


class _LibraryWarnings(logging.Handler):
    """Prints the library's logged warnings as ``warning: ...`` lines on stderr, each notice once: a
    notice logged while it happens is not printed again by :func:`show_notices`."""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message in _warned:
            return
        _warned.add(message)
        err_console.print(f"[bold yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


_warned: set[str] = set()  # the warnings printed by this process


def _show_library_warnings() -> None:
    _warned.clear()  # a new command (tests run several in one process)
    library = logging.getLogger("alertsim")
    if not any(isinstance(handler, _LibraryWarnings) for handler in library.handlers):
        library.addHandler(_LibraryWarnings(logging.WARNING))


def _report(exc: Exception) -> None:
    # startup speed: alertsim.io.rundir loads polars, which --help and most errors never need
    from alertsim.io.rundir import os_error  # noqa: PLC0415

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
    help="Replay alert rules over history, model notifications and on-call, measure fatigue.\n\nExamples:\n\n"
         "alertsim demo\n\n"
         "alertsim replay data/sample/metrics.parquet --rules data/rules/sample.yaml --out runs/sample",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

# Every command, the modules that register it (each defines ``register(app: typer.Typer) -> None``) and
# the one-line help ``alertsim --help`` shows: a command's module, and with it its dependencies, is
# imported only when that command runs or shows its own help (a test checks these lines against the
# commands' own help).
COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "validate": (("alertsim.commands.data",),
                 "Check FILE and print every problem (row, column, reason); exit 1 when there is any."),
    "replay": (("alertsim.commands.replay",),
               "Replay RULES over METRICS and write alerts.parquet/.csv and manifest.json into OUT."),
    "ingest": (("alertsim.commands.replay",),
               "Add SOURCE to the embedded store INTO, incrementally, skipping samples already stored."),
    "diff": (("alertsim.commands.diff",),
             "Replay BASE and HEAD rules on the same history and compare pages, alerts, incidents caught and "
             "missed, time to detect and sleep-hour pages per changed rule; exit 1 past --fail-on."),
    "notify": (("alertsim.commands.notify",),
               "Send RUN_DIR's alerts through CONFIG and add notifications and pages to RUN_DIR."),
    "score": (("alertsim.commands.quality",),
              "Score each rule's alerts against INCIDENTS; write quality and missed into RUN_DIR."),
    "fatigue": (("alertsim.commands.quality",),
                "Pages per week/team/shift, interruptions per person (local time), noisy rules, burden and "
                "fairness."),
    "response": (("alertsim.commands.quality",),
                 "MTTA and MTTR (mean, median, p90, p95) with a weekly trend and a trend test."),
    "tune": (("alertsim.commands.report",),
             "Replay a grid of candidate rules once, score them, and recommend one per rule under a budget."),
    "report": (("alertsim.commands.report",),
               "Write the fatigue report (index.html, report.md, figures/*.png) for RUN_DIR."),
    "postmortem": (("alertsim.commands.report",),
                   "Draw one incident's timeline: metrics, every rule's pending/firing spans, notifications, "
                   "pages."),
    "demo": (("alertsim.commands.demo",),
             "Replay the sample rule pack, score, notify, measure fatigue, simulate designs, tune, and report."),
    "simulate": (("alertsim.commands.oncall",),
                 "Simulate each DESIGN on PAGES; write summary.csv, per-page outcomes, burden and figures to "
                 "OUT and print a side-by-side comparison (▲/▼: significantly higher/lower than the first "
                 "design)."),
    "lint": (("alertsim.commands.cloud",),
             "Lint alert rules for missing runbooks and severities, one-sample pages, burn-rate tiers that "
             "can never fire, duplicates and overlaps, and routes that page on info. Exit 1 on errors."),
    "datasets": (("alertsim.commands.datasets",), "Generate the seeded, synthetic sample data set."),
    "nab": (("alertsim.commands.quality",), "Score detectors and alert rules on the Numenta Anomaly Benchmark."),
    "import": (("alertsim.commands.quality", "alertsim.commands.cloud"),
               "Import incident history from on-call tools."),
    "fetch": (("alertsim.commands.prometheus",),
              "Pull history from monitoring systems into the long metrics format."),
    "export": (("alertsim.commands.prometheus",), "Export a replay to other tools."),
    "fidelity": (("alertsim.commands.fidelity",),
                 "Compare RUN_DIR's alerts with production's ALERTS history: matched episodes per rule, firing-time "
                 "differences and the likely causes of mismatches; writes fidelity and fidelity_episodes into "
                 "RUN_DIR."),
}

_loaded = typer.Typer()  # the commands whose modules have been imported so far
_registered: set[str] = set()


def _command(name: str) -> Any:
    """The command ``name``, importing the modules that register it (once)."""
    for module in COMMANDS[name][0]:
        if module not in _registered:
            importlib.import_module(module).register(_loaded)
            _registered.add(module)
    return _plain_help(typer.main.get_group(_loaded).commands[name])


def _metavar(param: Any) -> str:
    """A parameter's value in help as a person writes it: FILE, N, NUMBER, TEXT; nothing for a flag."""
    if getattr(param, "is_flag", False):
        return ""
    if param.param_type_name == "argument":
        return (param.name or "").upper()
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None and descriptor.is_path:
        return "PATH"
    annotation = getattr(descriptor, "annotation", None)
    return "N" if annotation is int else "NUMBER" if annotation is float else "TEXT"


def _plain_help(command: Any) -> Any:
    """``command`` (and its subcommands) with help free of type noise: ``--rules PATH`` and
    ``alertsim replay [OPTIONS] METRICS`` rather than ``<path>``, ``<list[Path]>`` or ``{metrics}``."""
    for param in command.params:
        if param.metavar is None:
            param.metavar = _metavar(param)
        if param.param_type_name == "argument":
            name = param.metavar + ("..." if param.nargs != 1 else "")
            # the usage line shows a required argument bare and an optional one in brackets
            param._usage_display_name = (lambda shown=name, required=param.required:
                                         shown if required else f"[{shown}]")
            param.display_type_rich = lambda ctx: None  # the name says it
    if not getattr(command, "_plain", False):
        help_option = command.get_help_option

        def plain_help_option(ctx: Any, get: Any = help_option) -> Any:
            option = get(ctx)
            if option is not None:
                option.metavar = ""
            return option

        command.get_help_option = plain_help_option
        command._plain = True
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)
    return command


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
    err_console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code=2)


def show_notices(notices: Any, *, strict: bool = False) -> list[dict[str, Any]]:
    """Print each notice of a result as a warning (to stderr) and return them for the manifest;
    with ``strict``, raise :class:`alertsim.errors.StrictError` instead of going on."""
    notices = tuple(notices)
    if strict and notices:
        raise StrictError(notices)
    for notice in notices:
        if str(notice) not in _warned:
            _warned.add(str(notice))
            err_console.print(f"[bold yellow]warning:[/] {escape(str(notice))}", highlight=False, soft_wrap=True)
    return [n.as_dict() for n in notices]


STRICT_HELP = "Treat warnings (rules that select nothing, empty windows, ...) as errors (exit 2)."


#: What ``--format`` accepts: a table for a person, or the same rows for a program or a document.
FORMATS = ("table", "csv", "json", "markdown")
_format = ["table"]  # the running command's --format (one command runs per process)


def set_format(value: str) -> str:
    """Make ``value`` (one of :data:`FORMATS`) the format print_frame uses (the ``--format`` callback)."""
    if value not in FORMATS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(FORMATS)}")
    _format[0] = value
    # rows go to stdout; everything else a command says (titles, "wrote ...", progress) goes to stderr
    console.stderr = value != "table"
    return value


def table_format() -> str:
    """The running command's ``--format``: table, csv, json or markdown."""
    return _format[0]


def format_option(*, annotated: bool = False) -> Any:
    """The ``--format table|csv|json|markdown`` option of a command that prints tables (print_frame
    follows it); ``annotated`` for a parameter declared with ``Annotated[str, ...] = "table"``."""
    default = () if annotated else ("table",)
    return typer.Option(*default, "--format", callback=set_format, metavar="|".join(FORMATS),
                        help="Print tables as table (for a terminal), csv (a blank line after each table), json "
                             "(one object per line and table: title and rows) or markdown; titles and messages "
                             "then go to stderr.")


def print_frame(frame, title: str | None = None, *, limit: int = 40) -> None:  # type: ignore[no-untyped-def]
    """Print a polars frame in the command's ``--format``: a Rich table (readable from 80 columns on:
    headers wrap between words, the first column is never folded, columns that do not fit go to a
    continuation table that repeats the first column), CSV, JSON or Markdown (every row)."""
    fmt = _format[0]
    if fmt == "table":
        _print_table(frame, title, limit=limit)
        return
    if fmt == "markdown":
        def cell(value: Any) -> str:
            return display_value(value).replace("|", "\\|").replace("\n", " ")

        lines = [f"**{title}**", ""] if title else []
        lines += ["| " + " | ".join(header(c) for c in frame.columns) + " |",
                  "|" + "|".join("---" for _ in frame.columns) + "|"]
        lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.iter_rows()]
        sys.stdout.write("\n".join(lines) + "\n\n")
        return
    if title:
        err_console.print(title, highlight=False, markup=False, soft_wrap=True)
    plain = frame.with_columns(_plain_columns(frame))
    if fmt == "csv":
        sys.stdout.write(plain.write_csv() + "\n")  # a blank line ends each table
    else:
        sys.stdout.write(json.dumps({"title": title, "rows": plain.to_dicts()}, default=str) + "\n")


def _plain_columns(frame: Any) -> list[Any]:
    """Columns CSV and JSON cannot hold as they are: durations in seconds, nested values as JSON text,
    NaN as missing."""
    # startup speed: polars loads only when a table is printed as CSV or JSON
    import polars as pl  # noqa: PLC0415

    out = []
    for name, dtype in frame.schema.items():
        if dtype.is_float():
            out.append(pl.col(name).fill_nan(None).alias(name))
        elif isinstance(dtype, pl.Duration):
            out.append(pl.col(name).dt.total_seconds(fractional=True).alias(name))
        elif isinstance(dtype, pl.List | pl.Array | pl.Struct | pl.Object):
            out.append(pl.col(name).map_elements(lambda v: json.dumps(
                v.to_list() if hasattr(v, "to_list") else v, default=str), return_dtype=pl.String).alias(name))
    return out


def _print_table(frame, title: str | None, *, limit: int) -> None:  # type: ignore[no-untyped-def]
    headers = [header(name) for name in frame.columns]
    rows = [[display_value(v) for v in row] for row in frame.head(limit).iter_rows()]
    width = console.width
    # The narrowest each column may get: its longest header word (up to 14) and, for values up to 30
    # characters, the whole value; text longer than that wraps in at least 16 columns. The first column
    # names the row (a rule, a receiver, a person): its longest word (a rule name, up to 48 characters)
    # is never cut, and labels of several words wrap between them in at least 24 columns.
    needs: list[int] = []
    for i, name in enumerate(headers):
        longest = max((len(r[i]) for r in rows), default=0)
        word = min(14, max((len(w) for w in name.split()), default=1))
        if i == 0:
            whole = min(48, max((len(w) for r in rows for w in r[0].split()), default=1))
            needs.append(max(word, whole, min(longest, 24)))
        else:
            needs.append(max(word, longest if longest <= 30 else 16))
    parts: list[list[int]] = []
    current = [0] if headers else []
    used = needs[0] + 4 if headers else 1
    for i in range(1, len(headers)):
        if used + needs[i] + 3 > width and len(current) > 1:
            parts.append(current)
            current, used = [0], needs[0] + 4
        current.append(i)
        used += needs[i] + 3
    if current:
        parts.append(current)
    for number, part in enumerate(parts):
        # Each column gets its need; what is left widens headers that would wrap (shortest first),
        # then values that would fold.
        widths = {i: needs[i] for i in part}
        spare = width - (sum(widths.values()) + 3 * len(part) + 1)
        for goal in ([len(headers[i]) for i in range(len(headers))],
                     [max([len(headers[i])] + [len(r[i]) for r in rows]) for i in range(len(headers))]):
            for i in sorted(part, key=lambda i: goal[i] - widths[i]):
                extra = max(0, min(goal[i] - widths[i], spare))
                widths[i] += extra
                spare -= extra
        shown = title
        if len(parts) > 1:  # the part, and the columns it shows besides the first
            shown = (f"{title or ''} ({number + 1}/{len(parts)}: columns {part[1] + 1 if len(part) > 1 else 1}–"
                     f"{part[-1] + 1} of {len(headers)})").strip()
        table = Table(title=Text(shown) if shown else None, show_lines=False)
        for i in part:
            table.add_column(Text(headers[i]), width=widths[i], overflow="fold")
        for row in rows:
            table.add_row(*[Text(row[i]) for i in part])
        console.print(table)
    if frame.height > limit:
        console.print(f"... {frame.height - limit} more rows (--format csv or json prints them all)")


def main() -> None:
    app()


__all__ = ["COMMANDS", "FORMATS", "STRICT_HELP", "Path", "app", "console", "fail", "format_option", "main",
           "print_frame", "set_format", "show_notices", "table_format"]
