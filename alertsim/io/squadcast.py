"""Import a Squadcast (SolarWinds Incident Response) incident export into an Incidents frame
(``alertsim.frames.INCIDENTS``).

Two shapes, told apart by the content:

JSON
    What ``GET /v3/incidents/export?type=json`` returns: a list of incidents, or ``{"data": [...]}``,
    ``{"incidents": [...]}`` or ``{"data": {"incidents": [...]}}``. Each incident has the fields of
    ``V3IncidentsIncidentResponse``: ``id``, ``incidentNumber``, ``message``, ``status``, ``serviceId`` (and
    a service name as ``service``/``serviceName`` when present), ``timeOfCreation``, ``assignedTo``
    (``[{id, type, timeOfAssignment}]``), ``logs`` (``[{action, time, reason, ...}]``), ``analytics``
    (``{tta: {time, userId}, ttr: {time, userId}}``), ``owner``, ``tags``, ``priority``. snake_case keys
    are read too.
CSV
    ``GET /v3/incidents/export?type=csv`` or the UI download. Squadcast does not document the column
    names, so columns are matched case- and punctuation-insensitively against: ``id``/``incident_id``,
    ``incident_number``, ``message``/``title``, ``service``/``service_name``, ``status``,
    ``created_at``/``time_of_creation``/``triggered_at``, ``acknowledged_at``, ``resolved_at``,
    ``acknowledged_by``, ``resolved_by``, ``assigned_to``, ``tta``/``ttr`` (seconds or ``[D ]HH:MM:SS``),
    ``priority``, ``team``/``owner``.

Mapping: ``incident_id`` ← id; ``number`` ← incident number; ``service`` ← service name, else
``serviceId``; ``started_at`` ← ``timeOfCreation``; ``acknowledged_at`` ← the first ``logs`` entry whose
action is an acknowledgement, else ``analytics.tta.time`` (an instant; a number is taken as milliseconds
after creation); ``resolved_at`` likewise from a resolution and ``analytics.ttr``; ``responder`` ←
``analytics.tta.userId``, else the acknowledging log entry's user, else the first assigned user;
``severity`` ← ``priority``; ``title`` ← ``message``; ``team`` ← ``owner`` (its ``name``, else ``id``);
``assignees`` ← assigned users. An incident whose ``status`` is resolved without a resolution time is an
error.

>>> import json, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "export.json"
>>> _ = path.write_text(json.dumps([{"id": "6401", "serviceId": "svc-1", "service": "checkout",
...     "status": "resolved", "timeOfCreation": "2026-01-05T10:00:00Z", "message": "5xx",
...     "logs": [{"action": "acknowledged", "time": "2026-01-05T10:04:00Z", "assignedTo": "ana"},
...              {"action": "resolved", "time": "2026-01-05T10:40:00Z"}]}]))
>>> read_squadcast(path).select("service", "acknowledged_at").row(0)[1].minute
4
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import polars as pl

from alertsim.durations import iso_instant
from alertsim.errors import ConfigError, InputError, Problem
from alertsim.io._tabular import ROW
from alertsim.io.pagerduty import build_incidents, opens_as_json, read_export

log = logging.getLogger(__name__)

Format = Literal["auto", "json", "csv"]

JSON_MAPPING: dict[str, tuple[str, ...]] = {
    "incident_id": ("incident_id",), "number": ("number",), "service": ("service",), "started_at": ("started_at",),
    "acknowledged_at": ("acknowledged_at",), "resolved_at": ("resolved_at",), "responder": ("responder",),
    "severity": ("severity",), "title": ("title",), "team": ("team",), "assignees": ("assignees",),
}
CSV_MAPPING: dict[str, tuple[str, ...]] = {
    "incident_id": ("id", "incident_id"), "number": ("incident_number", "number"),
    "title": ("message", "title", "summary"), "service": ("service", "service_name"),
    "started_at": ("created_at", "time_of_creation", "triggered_at", "created"),
    "acknowledged_at": ("acknowledged_at", "acknowledged_time"), "resolved_at": ("resolved_at", "resolved_time"),
    "responder": ("acknowledged_by", "resolved_by"), "assignees": ("assigned_to", "assignees"),
    "ack_seconds": ("tta", "time_to_acknowledge"), "resolve_seconds": ("ttr", "time_to_resolve"),
    "severity": ("priority", "severity"), "team": ("team", "owner", "team_name"),
}
_ACK = re.compile(r"acknowledg", re.IGNORECASE)
_RESOLVE = re.compile(r"resolv", re.IGNORECASE)


def _key(name: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def _camel(value: Any) -> Any:
    if isinstance(value, list):
        return [_camel(v) for v in value]
    if isinstance(value, Mapping):
        return {(_key(k) if isinstance(k, str) else k): _camel(v) for k, v in value.items()}
    return value


def _records(body: Any, file: str) -> list[Any]:
    items = body
    if isinstance(items, Mapping):
        items = items.get("data", items.get("incidents"))
        if isinstance(items, Mapping):
            items = items.get("incidents")
    if not isinstance(items, list):
        raise InputError(f"{file}: expected a list of incidents, {{\"data\": [...]}} or {{\"incidents\": [...]}}",
                         file=file)
    if not items:
        raise InputError(f"{file}: no incidents in the file", file=file)
    return items


def _text(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("name", value.get("id"))
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _instant(value: Any) -> datetime | None:
    return iso_instant(str(value))


def _from_analytics(entry: Any, created: str | None) -> str | None:
    """``analytics.tta``/``ttr``: ``time`` as an instant, or milliseconds after creation."""
    if not isinstance(entry, Mapping) or entry.get("time") in (None, "", 0):
        return None
    value = entry["time"]
    if isinstance(value, int | float) and not isinstance(value, bool):
        start = _instant(created) if created else None
        if start is None:
            return None
        return (start + timedelta(milliseconds=float(value))).isoformat()
    return _text(value)


def _log_time(logs: list[Any], pattern: re.Pattern[str]) -> Mapping[str, Any] | None:
    hits = [e for e in logs if isinstance(e, Mapping) and pattern.search(str(e.get("action", "")))
            and e.get("time")]
    return min(hits, key=lambda e: str(e["time"])) if hits else None


def _json_frame(path: Path) -> pl.DataFrame:
    file = str(path)
    try:
        body = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{file}: not a readable JSON file ({exc})", file=file) from None
    problems: list[Problem] = []
    rows: list[dict[str, Any]] = []
    for row, raw in enumerate(_records(body, file), start=1):
        if not isinstance(raw, Mapping):
            problems.append(Problem(file=file, row=row, reason="an incident must be an object"))
            continue
        record = _camel(raw)
        created = _text(record.get("timeOfCreation") or record.get("createdAt"))
        logs = record.get("logs") or []
        if not isinstance(logs, list):
            problems.append(Problem(file=file, row=row, column="logs", reason="must be a list of log entries"))
            logs = []
        analytics = record.get("analytics") or {}
        if not isinstance(analytics, Mapping):
            problems.append(Problem(file=file, row=row, column="analytics", reason="must be an object"))
            analytics = {}
        ack_log, resolve_log = _log_time(logs, _ACK), _log_time(logs, _RESOLVE)
        acknowledged = (_text(ack_log["time"]) if ack_log else None) or _from_analytics(analytics.get("tta"), created)
        resolved = (_text(resolve_log["time"]) if resolve_log else None) or _from_analytics(analytics.get("ttr"),
                                                                                             created)
        status = str(record.get("status") or "").lower()
        if status == "resolved" and resolved is None:
            problems.append(Problem(file=file, row=row, column="status",
                                    reason="status is resolved but no resolution time (logs or analytics.ttr)"))
        assigned = record.get("assignedTo") or []
        users = [str(a.get("id")) for a in assigned if isinstance(a, Mapping) and a.get("id")
                 and str(a.get("type", "user")).lower() == "user"]
        tta = analytics.get("tta")
        if not isinstance(tta, Mapping):
            tta = {}
        acker = None
        if ack_log is not None:
            acker = _text(ack_log.get("assignedTo") or ack_log.get("user") or ack_log.get("userId"))
        responder = _text(tta.get("userId")) or acker or (users[0] if users else None)
        rows.append({
            ROW: row, "incident_id": _text(record.get("id")) or _text(record.get("incidentNumber")),
            "number": _text(record.get("incidentNumber")),
            "service": _text(record.get("service")) or _text(record.get("serviceName"))
            or _text(record.get("serviceId")),
            "started_at": created, "acknowledged_at": acknowledged, "resolved_at": resolved, "responder": responder,
            "severity": _text(record.get("priority")), "title": _text(record.get("message")),
            "team": _text(record.get("owner")), "assignees": users or None,
        })
    if problems:
        raise InputError(f"{file} cannot be imported", problems, file=file)
    schema: dict[str, Any] = {ROW: pl.Int64, **{k: pl.String for k in rows[0] if k not in (ROW, "assignees")},
              "assignees": pl.List(pl.String)}
    return pl.DataFrame(rows, schema=schema)


def read_squadcast(path: str | os.PathLike[str], *, format: Format = "auto", tz: str = "UTC") -> pl.DataFrame:
    """Read a Squadcast incident export (JSON or CSV) as Incidents (module docstring: shapes, mapping).

    Parameters
    ----------
    path
        The export file.
    format
        ``"json"``, ``"csv"`` or ``"auto"`` (default: told by the first character).
    tz
        IANA zone of timestamps without a UTC offset; default "UTC".

    Raises
    ------
    InputError
        Unreadable files, missing columns, resolved incidents without a resolution time, unparseable
        timestamps or durations: every problem with its row and column.
    ConfigError
        Unknown ``format`` or ``tz``.
    """
    if format not in ("auto", "json", "csv"):
        raise ConfigError(f"format {format!r} is not one of ['auto', 'json', 'csv']", field="format")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file", file=str(path))
    if format == "json" or (format == "auto" and opens_as_json(path)):
        return build_incidents(_json_frame(path), JSON_MAPPING, file=str(path), tz=tz)
    table = read_export(path)
    frame = table.frame
    status = next((c for c in ("status", "state") if c in frame.columns), None)
    resolved_column = next((c for c in CSV_MAPPING["resolved_at"] + CSV_MAPPING["resolve_seconds"]
                            if c in frame.columns), None)
    if status is not None:
        closed = pl.col(status).cast(pl.String).str.to_lowercase() == "resolved"
        missing = closed & (pl.col(resolved_column).cast(pl.String).fill_null("") == "" if resolved_column
                            else pl.lit(True))
        bad = frame.filter(missing)
        if bad.height:
            raise InputError(f"{path} cannot be imported", [
                Problem(file=str(path), row=r, column=status, reason="status is resolved but no resolution time")
                for r in bad[ROW].head(20).to_list()], file=str(path))
    return build_incidents(frame, CSV_MAPPING, file=str(path), tz=tz, typed=not table.text)


__all__ = ["read_squadcast"]
