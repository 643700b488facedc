"""CLI command groups; each module defines ``register(app)`` and is listed in ``alertsim.cli``.

Helpers shared by the command modules live here: :func:`add_group` (several modules add commands to
one group, e.g. ``import``) and :func:`import_incidents` (every ``alertsim import <tool>`` of
incident history).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from alertsim.cli import console, fail, print_frame
from alertsim.errors import AlertsimError
from alertsim.frames import INCIDENTS
from alertsim.io.rundir import write_frame

if TYPE_CHECKING:
    import polars as pl


def add_group(app: typer.Typer, name: str, sub: typer.Typer) -> None:
    """Add ``sub``'s commands to ``app``'s existing ``name`` group, or add ``sub`` as that group.

    >>> app = typer.Typer()
    >>> add_group(app, "import", typer.Typer())
    >>> add_group(app, "import", typer.Typer())
    >>> [group.name for group in app.registered_groups]
    ['import']
    """
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            info.typer_instance.registered_commands.extend(sub.registered_commands)
            return
    app.add_typer(sub, name=name)


def import_incidents(read: Callable[[], pl.DataFrame], file: Path, out: Path, *, extras: bool) -> None:
    """Import incident history: ``read()`` the export, keep the Incidents columns (all columns with
    ``extras``), write ``out`` (:func:`alertsim.io.rundir.write_frame`) and show the first rows; a typed
    error is printed and exits 2."""
    try:
        frame = read()
        if not extras:
            frame = frame.select([c for c in frame.columns if c in INCIDENTS.columns])
        write_frame(frame, out)
    except AlertsimError as error:
        fail(error)
        return
    print_frame(frame, title=f"{frame.height} incidents from {file.name}", limit=10)
    console.print(f"wrote {out}")
