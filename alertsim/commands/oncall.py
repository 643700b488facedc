"""``alertsim simulate``: compare on-call designs on a page stream, side by side."""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from alertsim.cli import console, fail, format_option, print_frame
from alertsim.errors import AlertsimError, InputError
from alertsim.io.rundir import check_output, file_digest, write_run
from alertsim.oncall.compare import Comparison, compare, comparison_table, plot_mtta, plot_sleep
from alertsim.oncall.design import Design, load_design, read_pages
from alertsim.text import safe_file_name


def simulate_command(
    pages: Path = typer.Option(..., "--pages", "-p", help="Pages: CSV/Parquet (page_id, paged_at, urgency "
                               "[, service]) or a run directory with pages."),
    design: list[Path] = typer.Option(..., "--design", "-d", help="Design YAML; repeat to compare "
                                      "(the first is the baseline)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run directory to write (replaced atomically)."),
    replicates: int = typer.Option(1000, "--replicates", "-n", help="Monte Carlo replicates."),
    seed: int = typer.Option(7, "--seed", help="Seed; every design uses the same streams."),
    team: str | None = typer.Option(None, "--team", help="Only pages of this team (pages' team column)."),
    service: str | None = typer.Option(None, "--service", help="Only pages of this service."),
    outcomes: bool = typer.Option(True, "--outcomes/--no-outcomes", help="Write per-page outcomes "
                                  "(outcomes.parquet: one row per design, replicate and page)."),
    engine: str = typer.Option("local", "--engine", help="local, or dask: replicates run on a Dask cluster."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address (engine dask)."),
    output: str = format_option(),
) -> None:
    """Simulate each DESIGN on PAGES; write summary.csv, per-page outcomes, burden and figures to OUT
    and print a side-by-side comparison (▲/▼: significantly higher/lower than the first design).

    Examples:

        alertsim simulate --pages data/sample/pages.parquet --design data/designs/weekly.yaml \\
            --design data/designs/follow-the-sun.yaml --out runs/designs

        alertsim simulate -p runs/sample -d data/designs/weekly.yaml -d data/designs/daily.yaml -n 200 \\
            --team storefront --out runs/designs
    """
    try:
        check_output(out)  # before any work: never replace what alertsim did not write
        designs = [load_design(path) for path in design]
        frame = _filtered_pages(pages, team=team, service=service)
        with Progress(TextColumn("[bold]simulate"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                      transient=True) as progress:
            task = progress.add_task(designs[0].name, total=len(designs))

            def advance(sim: object) -> None:
                progress.update(task, advance=1, description=getattr(sim, "design", ""))

            result = compare(frame, designs, replicates=replicates, seed=seed, keep_outcomes=outcomes,
                             progress=advance, engine=engine, scheduler=scheduler)
        _write_simulation(out, result, design, designs, outcomes=outcomes, manifest={
            "command": "simulate", "replicates": replicates, "seed": seed,
            "pages": {"path": str(pages.resolve()), "sha256": file_digest(pages), "count": frame.height,
                      "team": team, "service": service},
            "designs": [{"name": d.name, "path": str(p.resolve()), "sha256": file_digest(p)}
                        for p, d in zip(design, designs, strict=True)]})
    except AlertsimError as error:
        fail(error)
        return
    print_frame(comparison_table(result), title=f"{frame.height} pages × {replicates} replicates (seed {seed}): "
                "mean [95% interval over replicates]")
    if len(designs) > 1:
        console.print(f"▲/▼ significantly higher/lower than [bold]{designs[0].name}[/] in ≥ 97.5% of "
                      "paired replicates.")
    console.print(f"wrote {out}/summary.csv, people.csv, differences.csv"
                  f"{', outcomes.parquet' if outcomes else ''}, burden.parquet, mtta.png, sleep.png")


def _filtered_pages(pages: Path, *, team: str | None, service: str | None) -> pl.DataFrame:
    """The pages, only those of ``team`` and ``service`` when given (an error if none are left)."""
    frame = read_pages(pages)
    for column, value in (("team", team), ("service", service)):
        if value is None:
            continue
        if column not in frame.columns:
            raise InputError(f"{pages} has no {column} column to filter on", file=str(pages))
        frame = frame.filter(pl.col(column) == value)
        if frame.height == 0:
            raise InputError(f"{pages} has no pages with {column} = {value!r}", file=str(pages))
    return frame


def _write_simulation(out: Path, result: Comparison, paths: list[Path], designs: list[Design], *, outcomes: bool,
                      manifest: dict[str, object]) -> None:
    """The run directory: summary, differences and people frames; outcomes, burden, the two figures and
    a copy of each design as files."""
    import matplotlib  # noqa: PLC0415  (heavy, 1 s: only this command draws figures)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415  (after choosing the non-interactive backend)

    with tempfile.TemporaryDirectory() as scratch:
        files: dict[str, Path] = {}
        if outcomes:
            files["outcomes.parquet"] = Path(scratch) / "outcomes.parquet"
            result.outcomes.write_parquet(files["outcomes.parquet"])
        files["burden.parquet"] = Path(scratch) / "burden.parquet"
        result.burden.write_parquet(files["burden.parquet"])
        for name, plot in (("mtta.png", plot_mtta), ("sleep.png", plot_sleep)):
            ax = plot(result)
            ax.figure.tight_layout()
            ax.figure.savefig(Path(scratch) / name, dpi=120)
            plt.close(ax.figure)
            files[name] = Path(scratch) / name
        for path, d in zip(paths, designs, strict=True):
            files[f"design-{safe_file_name(d.name)}.yaml"] = path
        write_run(out, {"summary": result.summary, "differences": result.differences,
                        "people": result.people}, files=files, manifest=manifest)


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)
