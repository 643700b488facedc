"""``alertsim notify``: a run directory's alerts × an alertmanager.yml → notifications and pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import typer
from rich.markup import escape

from alertsim.cli import console, err_console, fail, format_option, print_frame
from alertsim.durations import describe_span
from alertsim.errors import AlertsimError, ConfigError
from alertsim.frames import ALERTS, validate
from alertsim.io.rundir import add_frames, file_digest, read_frame, read_manifest
from alertsim.notify import load_alertmanager_config, load_silences, notify


def notify_command(
    run_dir: Path = typer.Argument(..., help="Run directory with alerts.parquet (from `alertsim replay`)."),
    config: Path = typer.Option(..., "--config", "-c", help="Alertmanager configuration (alertmanager.yml)."),
    silences: Path | None = typer.Option(None, "--silences", help="Silences as Alertmanager API v2 JSON."),
    paging_receiver: list[str] | None = typer.Option(
        None, "--paging-receiver", help="A receiver that pages a person (repeatable; default: receivers "
        "with PagerDuty, Opsgenie or VictorOps integrations)."),
    page_on: str = typer.Option("incident", "--page-on", help="incident (one page per group until it "
                                "resolves) or notification (every firing notification is a page)."),
    end: str | None = typer.Option(None, "--end", help="Last instant (ISO-8601; default: the replay's end "
                                   "plus the longest group_wait + group_interval)."),
    group_gc_interval: str = typer.Option("30s", "--group-gc-interval", help="Garbage collection of empty "
                                          "groups: 30s as Alertmanager 0.25-0.31, 0s as 0.32+."),
    output: str = format_option(),
) -> None:
    """Send RUN_DIR's alerts through CONFIG and add notifications and pages to RUN_DIR.

    Examples:

        alertsim notify runs/sample --config data/alertmanager/sample.yml

        alertsim notify runs/sample -c data/alertmanager/single-pager.yml --page-on notification
    """
    try:
        manifest = read_manifest(run_dir)
        alerts = validate(read_frame(run_dir, "alerts"), ALERTS, file=str(run_dir / "alerts.parquet"))
        am = load_alertmanager_config(config)
        muted = load_silences(silences) if silences else ()
        if end is None and manifest.get("end"):
            try:
                replay_end = datetime.fromisoformat(str(manifest["end"]).replace("Z", "+00:00"))
            except ValueError:
                raise ConfigError(f"manifest end {manifest['end']!r} is not ISO-8601; pass --end",
                                  file=str(run_dir / "manifest.json"), field="end") from None
            slack = max(r.group_wait + r.group_interval for r in am.routes())
            end_at: datetime | str | None = replay_end + slack
        else:
            end_at = end
        result = notify(alerts, am, silences=muted, end=end_at, paging_receivers=paging_receiver or None,
                        page_on=page_on, group_gc_interval=group_gc_interval)  # type: ignore[arg-type]
        add_frames(run_dir, {"notifications": result.notifications, "pages": result.pages}, manifest={
            "command": "notify",
            "config": {"path": str(config.resolve()), "sha256": file_digest(config)},
            "silences": None if silences is None else {"path": str(silences.resolve()),
                                                       "sha256": file_digest(silences), "count": len(muted)},
            "paging_receivers": paging_receiver or None, "page_on": page_on,
            "group_gc_interval": group_gc_interval,
            "end": end_at.isoformat() if isinstance(end_at, datetime) else end_at,
        })
    except AlertsimError as error:
        fail(error)
        return
    silent = not paging_receiver and not any(r.pages for r in am.receivers.values())
    if silent:
        err_console.print(f"[bold yellow]warning:[/] no receiver of {escape(str(config))} has a paging integration "
                          "(PagerDuty, Opsgenie, VictorOps), so nothing here pages a person; name the receivers "
                          "that do with --paging-receiver", highlight=False, soft_wrap=True)
    summary = result.summary()
    title = (f"{alerts.height} alerts → {result.notifications.height} notifications, "
             f"{result.pages.height} pages ({int((result.pages['urgency'] == 'high').sum())} high-urgency)")
    print_frame(summary, title=title)
    try:
        span = (datetime.fromisoformat(str(manifest["end"]).replace("Z", "+00:00"))
                - datetime.fromisoformat(str(manifest["start"]).replace("Z", "+00:00")))
    except (KeyError, ValueError):
        span = None
    if silent:
        console.print("0 pages: no receiver pages anyone (see the warning above)")
    elif span is not None and span > timedelta(0):
        weeks = span / timedelta(weeks=1)
        console.print(f"{result.pages.height / weeks:.1f} pages per week over the replayed {describe_span(span)}")
    console.print(f"wrote {run_dir}/notifications.parquet, pages.parquet (and .csv)")


def register(app: typer.Typer) -> None:
    app.command("notify")(notify_command)
