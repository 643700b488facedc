"""``alertsim demo``: the main job on the bundled sample, with progress, ending in a report."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from alertsim.cli import console, fail, format_option, print_frame
from alertsim.demo import STEPS, run_demo
from alertsim.errors import AlertsimError


def demo_command(
    out: Path = typer.Option(Path("reports/demo"), "--out", "-o", help="Where the report and run go."),
    replicates: int = typer.Option(300, "--replicates", help="Simulation replicates per design."),
    seed: int = typer.Option(7, "--seed", help="Seed of the simulation."),
    output: str = format_option(),
) -> None:
    """Replay the sample rule pack, score, notify, measure fatigue, simulate designs, tune, and report.

    Examples:

        alertsim demo

        alertsim demo --out reports/demo --replicates 100 --seed 1
    """
    try:
        with Progress(TextColumn("[bold]demo"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                      TimeElapsedColumn(), console=console) as progress:
            task = progress.add_task("", total=len(STEPS))
            seen: list[str] = []

            def step(name: str) -> None:
                if seen:
                    progress.update(task, advance=1)
                seen.append(name)
                progress.update(task, description=name)

            result = run_demo(out, replicates=replicates, seed=seed, step=step)
            progress.update(task, advance=1, description="done")
    except AlertsimError as error:
        fail(error)
        return
    frames = result.frames
    print_frame(frames["quality"].select("rule", "alerts", "precision", "recall", "time_to_detect_median",
                                         "false_alerts_per_week"), title="Rule quality on the sample")
    print_frame(frames["sim_summary"].select("design", "mtta_mean_min", "mtta_p90_min", "escalation_rate"),
                title="Simulated designs")
    console.print(f"report: {result.report_dir / 'index.html'}   run: {result.run_dir}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
