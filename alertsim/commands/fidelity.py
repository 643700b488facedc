"""``alertsim fidelity``: compare a replay with what production's ``ALERTS`` series recorded."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import typer

from alertsim.cli import console, fail, format_option, print_frame
from alertsim.durations import to_microseconds
from alertsim.errors import AlertsimError
from alertsim.io.metrics import read_metrics
from alertsim.io.rundir import add_frames, read_frame, read_manifest
from alertsim.quality.fidelity import compare_firing, metric_gaps, production_episodes
from alertsim.rules import load_rules


def fidelity_command(
    run_dir: Path = typer.Argument(..., help="A replay run directory."),
    alerts_history: Path = typer.Option(..., "--alerts-history",
                                        help="ALERTS samples: `fetch prometheus --alerts-history` output."),
    metrics: Path | None = typer.Option(None, "--metrics", help="The replayed metrics, to find scrape gaps "
                                        "(default: the run's metrics when still there)."),
    output: str = format_option(),
) -> None:
    """Compare RUN_DIR's alerts with production's ALERTS history: matched episodes per rule, firing-time
    differences and the likely causes of mismatches; writes fidelity and fidelity_episodes into RUN_DIR.

    Examples:

        alertsim fidelity runs/prom --alerts-history alerts-history.parquet

        alertsim fidelity runs/prom --alerts-history alerts-history.parquet --metrics history.parquet \\
            --format csv
    """
    try:
        manifest = read_manifest(run_dir)
        alerts = read_frame(run_dir, "alerts")
        history = read_metrics(alerts_history)
        end = datetime.fromisoformat(manifest["end"]) if manifest.get("end") else None
        production = production_episodes(history, end=end)
        rules_file = next(iter(sorted(run_dir.glob("rules.*"))), None)
        names = None
        if rules_file is not None:
            names = {getattr(r, "alertname", None) or getattr(r, "base_name", None) or r.name
                     for r in load_rules(rules_file)}
        source = metrics or Path(manifest.get("metrics", {}).get("path") or "")
        gaps = metric_gaps(read_metrics(source)) if source.name and source.exists() else None
        offset = manifest.get("eval_offset") or "0s"
        result = compare_firing(alerts, production, replay_offset_s=to_microseconds(offset) / 1e6, gaps=gaps,
                                replayed_rules=names)
        add_frames(run_dir, {"fidelity": result.rules, "fidelity_episodes": result.episodes},
                   manifest={"command": "fidelity", "alerts_history": str(alerts_history.resolve()),
                             "matched_pct": result.matched_pct})
    except AlertsimError as error:
        fail(error)
        return
    print_frame(result.rules.select("rule", "production", "replayed", "matched", "matched_pct",
                                    "max_fired_diff_s", pl.col("causes")),
                title=f"fidelity: {result.matched_pct:.1f}% of episodes match production")
    console.print(f"wrote {run_dir}/fidelity.parquet, fidelity_episodes.parquet")


def register(app: typer.Typer) -> None:
    app.command("fidelity")(fidelity_command)
