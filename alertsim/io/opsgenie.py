"""Import an Opsgenie alert export (CSV, or the JSON of the list-alerts API) into an Incidents frame
(``alertsim.frames.INCIDENTS``).

The JSON of ``GET /v2/alerts`` (``{"data": [alert, ...], "paging": ...}``, or a list of such pages) is
read as the same fields: nested ``report`` fields (``ackTime``, ``closeTime``, ``acknowledgedBy``) and
``teams`` references (their ``name``, else ``id``) are flattened.

The documented shape is the Opsgenie alert object flattened to columns (API v2 field names, any
case: ``TinyId``/``tinyId``/``tiny_id`` are the same column; a ``report.`` prefix is ignored):
``TinyId`` or ``Id`` or ``Alias``, ``Message``, ``Status`` (open/closed), ``CreatedAt``,
``Priority`` (P1–P5), ``Owner``, ``Teams``, ``Entity``, ``Source``, and the report fields
``AckTime``, ``CloseTime`` (elapsed since creation), ``AcknowledgedBy``, ``ClosedBy``. Absolute
``AcknowledgedAt``/``ClosedAt`` timestamps are used instead when present.

Opsgenie's elapsed ``ackTime``/``closeTime`` are milliseconds in the API's examples (one
third-party schema says seconds): ``elapsed_unit`` chooses, default ``"ms"``. ``CreatedAt`` may be
ISO-8601 or Unix milliseconds.

Mapping: ``incident_id`` ← TinyId (else Id, else Alias); ``service`` ← Entity, else the first of
Teams, else Source; ``started_at`` ← CreatedAt; ``acknowledged_at`` ← CreatedAt + AckTime;
``resolved_at`` ← CreatedAt + CloseTime; ``severity`` ← Priority; ``responder`` ← AcknowledgedBy,
else Owner; ``title`` ← Message; ``team`` ← first of Teams; ``urgency`` is null (Opsgenie has none).

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "alerts.csv"
>>> _ = path.write_text("TinyId,Message,Status,CreatedAt,Priority,Teams,AckTime,CloseTime,AcknowledgedBy\\n"
...                     "101,Disk full,closed,2026-01-05T10:00:00Z,P2,storage,90000,600000,ana@example.com\\n")
>>> incident = read_opsgenie(path).row(0, named=True)
>>> incident["service"], incident["acknowledged_at"].minute, incident["resolved_at"].minute
('storage', 1, 10)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import polars as pl

from alertsim.errors import ConfigError, InputError
from alertsim.io._tabular import row_problems
from alertsim.io.pagerduty import build_incidents, load_json, opens_as_json, pick, read_export, records_frame, text

ElapsedUnit = Literal["ms", "s"]

COLUMNS: dict[str, tuple[str, ...]] = {
    "incident_id": ("tiny_id", "id", "alias"), "title": ("message",), "severity": ("priority",),
    "started_at": ("created_at",), "acknowledged_at": ("acknowledged_at", "ack_at"),
    "resolved_at": ("closed_at", "close_at"), "ack_seconds": ("ack_time",), "resolve_seconds": ("close_time",),
    "responder": ("acknowledged_by",), "owner": ("owner",), "teams": ("teams",), "entity": ("entity",),
    "source": ("source",),
}


def _json_frame(path: Path) -> pl.DataFrame:
    body = load_json(path)
    pages = body if isinstance(body, list) and all(isinstance(p, dict) and "data" in p for p in body) else [body]
    alerts = [a for page in pages if isinstance(page, dict) and isinstance(page.get("data"), list)
              for a in page["data"]] if all(isinstance(p, dict) for p in pages) else None
    if alerts is None and isinstance(body, list):
        alerts = body
    if not alerts or not all(isinstance(a, dict) for a in alerts):
        raise InputError(f"{path}: expected Opsgenie's list-alerts JSON ({{\"data\": [alert, ...]}}) with at least "
                         "one alert", file=str(path))
    records = []
    for alert in alerts:
        record = {k: v for k, v in alert.items() if k not in ("report", "teams")}
        report = alert.get("report")
        if isinstance(report, dict):
            record.update({f"report_{k}": v for k, v in report.items()})
        teams = alert.get("teams")
        if isinstance(teams, list):
            names = [str(t.get("name") or t.get("id")) if isinstance(t, dict) else str(t) for t in teams]
            record["teams"] = ",".join(n for n in names if n and n != "None") or None
        records.append(record)
    return records_frame(records)


def read_opsgenie(path: str | os.PathLike[str], *, tz: str = "UTC",
                  elapsed_unit: ElapsedUnit = "ms") -> pl.DataFrame:
    """Read an Opsgenie alert CSV as Incidents (see the module docstring for the columns and mapping).

    Parameters
    ----------
    path
        The CSV (or Parquet) export, or list-alerts JSON.
    tz
        IANA zone of timestamps without a UTC offset; default "UTC".
    elapsed_unit
        Unit of ``AckTime``/``CloseTime``: ``"ms"`` (default) or ``"s"``.

    Raises
    ------
    InputError
        Missing columns, unparseable values, rows with no id or no service: every problem listed.
    ConfigError
        Unknown ``elapsed_unit`` or ``tz``.
    """
    if elapsed_unit not in ("ms", "s"):
        raise ConfigError(f"elapsed_unit {elapsed_unit!r} is not 'ms' or 's'", field="elapsed_unit")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file", file=str(path))
    if opens_as_json(path):
        frame, text_values = _json_frame(path), True
    else:
        table = read_export(path)
        frame, text_values = table.frame, table.text
    frame = frame.rename({c: c.removeprefix("report_") for c in frame.columns
                          if c.startswith("report_") and c.removeprefix("report_") not in frame.columns})
    created = pick(frame, COLUMNS["started_at"])
    if created is not None and text_values:
        # Unix milliseconds (Opsgenie's API form) → seconds, which the shared parser reads.
        as_number = text(created).cast(pl.Float64, strict=False)
        frame = frame.with_columns(pl.when(as_number > 1e11).then((as_number / 1000).cast(pl.String))
                                   .otherwise(pl.col(created)).alias(created))
    teams = pick(frame, COLUMNS["teams"])
    first_team = (text(teams).str.replace_all(";", ",", literal=True).str.split(",").list.first()
                  .str.strip_chars() if teams else pl.lit(None, dtype=pl.String))
    entity, source = text(pick(frame, COLUMNS["entity"])), text(pick(frame, COLUMNS["source"]))
    acknowledger, owner = text(pick(frame, COLUMNS["responder"])), text(pick(frame, COLUMNS["owner"]))
    frame = frame.with_columns(__service=pl.coalesce(entity, first_team, source), __team=first_team,
                               __responder=pl.coalesce(acknowledger, owner))
    unnamed = row_problems(frame, pl.col("__service").is_null(), file=str(path), column="Entity",
                           reason="no service: Entity, Teams and Source are all empty")
    if unnamed:
        raise InputError(f"{path} cannot be imported", unnamed, file=str(path))
    derived = ("teams", "entity", "source", "owner", "responder")
    mapping = {**{k: v for k, v in COLUMNS.items() if k not in derived},
               "service": ("__service",), "team": ("__team",), "responder": ("__responder",)}
    return build_incidents(frame, mapping, file=str(path), tz=tz, typed=not text_values,
                           elapsed_scale=0.001 if elapsed_unit == "ms" else 1.0)

