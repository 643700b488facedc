"""Postmortem timelines: what every candidate rule, Alertmanager and the on-call did around one incident,
drawn.

:func:`alertsim.quality.timeline.incident_timeline` computes it (the run's rules re-evaluated around the
incident); :func:`write_postmortem` draws the incident window, the metrics the rules watch, each rule's
pending and firing spans, the run's notifications and pages, and the acknowledgement and resolution when
known, with the table of which rule caught the incident first, its time to detect, and what that rule
costs in pages per week over the whole run. :func:`postmortem` does both.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import matplotlib.pyplot as plt
import polars as pl

from alertsim.durations import Duration
from alertsim.io.rundir import claim_output, os_error
from alertsim.quality.timeline import Timeline, incident_timeline
from alertsim.report import figures
from alertsim.report.html import TEMPLATES, Table, markdown_escape, table

if TYPE_CHECKING:
    from alertsim.series import Prepared


#: The colour of each kind of mark on the timeline.
MARK_COLOURS = {"acknowledged": "green", "resolved": "black", "notification": "purple", "page": "blue"}


def postmortem(run_dir: str | os.PathLike[str], incident_id: str, out: str | os.PathLike[str], *,
               incidents: pl.DataFrame | None = None, metrics: pl.DataFrame | Prepared | None = None,
               margin: Duration = "2h", warmup: Duration = "1d") -> Path:
    """Write ``timeline.png``, ``postmortem.md`` and ``index.html`` for one incident into ``out``: the
    :func:`~alertsim.quality.timeline.incident_timeline` of the run, drawn.

    ``incidents`` defaults to the run directory's ``incidents`` frame and ``metrics`` to the file the
    run's manifest names. Raises ``InputError`` for an unknown incident id.
    """
    timeline = incident_timeline(run_dir, incident_id, incidents=incidents, metrics=metrics, margin=margin,
                                 warmup=warmup)
    return write_postmortem(timeline, out)


def write_postmortem(timeline: Timeline, out: str | os.PathLike[str]) -> Path:
    """Draw ``timeline`` into ``out``: ``timeline.png``, ``postmortem.md`` and ``index.html``."""
    fig, axes = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True, layout="constrained",
                             gridspec_kw={"height_ratios": [2, 1.5]})
    try:
        figures.plot_timeline(metrics=timeline.metrics, incident=timeline.incident, spans=timeline.spans,
                              marks=[(at, what, MARK_COLOURS[what]) for at, what in timeline.marks], axes=list(axes))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110)
    finally:
        plt.close(fig)
    png = buffer.getvalue()
    caught_table = table(timeline.caught, caption="Rules that fired during the incident, first first")
    facts = Table(columns=["field", "value"],
                  rows=[[k, str(v)] for k, v in timeline.incident.items() if v is not None])
    return _write(Path(out), timeline.incident_id, png, facts, caught_table)


def _write(out: Path, incident_id: str, png: bytes, facts: Table, caught: Table) -> Path:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    page = env.get_template("postmortem.html.j2").render(
        incident_id=incident_id, facts=facts, caught=caught,
        image="data:image/png;base64," + base64.b64encode(png).decode("ascii"))
    esc = markdown_escape
    lines = [f"# Postmortem timeline: {esc(incident_id)}", "", "![timeline](timeline.png)", "",
             "| field | value |", "|---|---|", *[f"| {esc(a)} | {esc(b)} |" for a, b in facts.rows], "",
             "| " + " | ".join(esc(c) for c in caught.columns) + " |", "|" + "---|" * len(caught.columns),
             *["| " + " | ".join(esc(c) for c in r) + " |" for r in caught.rows], ""]
    out = claim_output(out)
    try:
        _replace_files(out, png, "\n".join(lines), page)
    except OSError as exc:
        raise os_error(exc, out) from None
    return out


def _replace_files(out: Path, png: bytes, markdown: str, page: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=".postmortem.", dir=out))
    try:
        (tmp / "timeline.png").write_bytes(png)
        (tmp / "postmortem.md").write_text(markdown, encoding="utf-8")
        (tmp / "index.html").write_text(page, encoding="utf-8")
        for name in ("timeline.png", "postmortem.md", "index.html"):
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


__all__: list[Any] = ["MARK_COLOURS", "postmortem", "write_postmortem"]
