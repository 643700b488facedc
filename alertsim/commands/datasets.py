"""``alertsim datasets``: generate the seeded sample data set.

``alertsim datasets generate --seed 7 --days 60 --out data/sample`` (``make sample``) regenerates the
committed sample byte for byte.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from alertsim import datasets
from alertsim.cli import console, fail, format_option, print_frame
from alertsim.durations import parse_instant
from alertsim.errors import AlertsimError

datasets_app = typer.Typer(help="Generate the seeded, synthetic sample data set.\n\nExamples:\n\n"
                                "alertsim datasets generate --seed 7 --days 60 --out data/sample",
                           no_args_is_help=True)


def _parse_start(text: str | None) -> datetime:
    if text is None:
        return datasets.SAMPLE_START
    return parse_instant(text, field="--start")


@datasets_app.command("generate")
def generate_command(
    seed: Annotated[int, typer.Option(help="Seed of every random draw.")] = datasets.SAMPLE_SEED,
    days: Annotated[int, typer.Option(help="Length of the period in days (7 to 366).")] = datasets.SAMPLE_DAYS,
    out: Annotated[Path, typer.Option(help="Directory to write (created if missing).")] = Path("data/sample"),
    start: Annotated[str | None, typer.Option(
        help="First instant, ISO-8601; naive means UTC. Default 2026-03-02T00:00Z.")] = None,
    output: Annotated[str, format_option(annotated=True)] = "table",
) -> None:
    """Generate the fictional company's metrics, incidents, noise, rotation and pages into OUT.

    Examples:

        alertsim datasets generate --seed 7 --days 60 --out data/sample

        alertsim datasets generate --days 14 --start 2026-06-01 --out /tmp/sample
    """
    try:
        sample = datasets.generate(seed=seed, days=days, start=_parse_start(start))
        directory = datasets.write_sample(sample, out)
    except AlertsimError as error:
        fail(error)
        return
    files = sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))
    sizes = pl.DataFrame({"file": [p.name for p in files], "bytes": [p.stat().st_size for p in files]})
    print_frame(sizes, title=f"{directory}")
    pages = sample.pages
    console.print(
        f"{sample.days} days from seed {sample.seed}: {sample.metrics.height:,} samples, "
        f"{sample.incidents.height} incidents, {sample.noise.height} noise events, {pages.height} pages "
        f"({pages['incident_id'].null_count()} noise); {int(sizes['bytes'].sum()) / 1e6:.2f} MB in total.")


def register(app: typer.Typer) -> None:
    """Add the ``datasets`` command group to ``app``."""
    app.add_typer(datasets_app, name="datasets")
