"""Import Splunk On-Call (VictorOps) incident history into an Incidents frame (``alertsim.frames.INCIDENTS``).

The documented shape is the reporting API's ``GET /api-reporting/v2/incidents`` response:
``{"offset": 0, "limit": 100, "total": N, "incidents": [...]}`` (or a bare list of incidents, or several
pages concatenated as a list of such responses). Each incident has ``incidentNumber``, ``startTime``,
``currentPhase`` (``triggered``/``acknowledged``/``resolved``), ``alertCount``, ``lastAlertTime``,
``entityId``, ``host``, ``service``, ``pagedUsers``, ``pagedTeams``, ``pagedPolicies``
(``[{"policy": {"name", "slug"}, "team": {...}}]``) and ``transitions``:
``[{"name", "at", "by", "manually", "message", "alertId", "alertUrl"}]``.

Mapping: ``incident_id`` ← ``incidentNumber``; ``service`` ← ``service``, else ``host``, else the first
paged team, else ``entityId``; ``started_at`` ← ``startTime``; ``acknowledged_at`` and ``responder`` ←
the first acknowledging transition (``ACKED``, ``ACKNOWLEDGED``, ``ACK``; any case) ``at``/``by``;
``resolved_at`` ← the first ``RESOLVED`` transition (null while the incident is open); the responder
falls back on whoever resolved it by hand (not ``manually: false``), then the first paged user;
``team`` ← first paged team; ``escalation_policy`` ← first paged policy's name; ``assignees`` ←
``pagedUsers``; ``number`` ← ``incidentNumber``; ``title`` ← ``entityDisplayName``, else ``entityId``;
``severity`` and ``urgency`` are null (the reporting API has neither). Fields the mapping does not use
are listed in the log.

>>> import json, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "incidents.json"
>>> _ = path.write_text(json.dumps({"incidents": [{"incidentNumber": "42", "startTime": "2026-01-05T10:00:00Z",
...     "currentPhase": "resolved", "service": "checkout", "transitions": [
...         {"name": "ACKED", "at": "2026-01-05T10:03:00Z", "by": "ana"},
...         {"name": "RESOLVED", "at": "2026-01-05T10:30:00Z", "by": "ana"}]}]}))
>>> read_splunk_oncall(path).select("incident_id", "responder").row(0)
('42', 'ana')
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from alertsim.errors import InputError, Problem
from alertsim.io._tabular import ROW
from alertsim.io.pagerduty import build_incidents

log = logging.getLogger(__name__)

INCIDENT_KEYS = frozenset({
    "incidentNumber", "startTime", "currentPhase", "alertCount", "lastAlertTime", "lastAlertId", "entityId",
    "entityDisplayName", "entityType", "entityState", "host", "service", "pagedUsers", "pagedTeams",
    "pagedPolicies", "transitions", "routingKey", "monitoringTool", "incidentLink"})
ACK_NAMES = frozenset({"ACKED", "ACKNOWLEDGED", "ACK"})
RESOLVE_NAMES = frozenset({"RESOLVED", "RESOLVE"})
PHASES = frozenset({"triggered", "acknowledged", "resolved", "unacked", "acked"})

MAPPING: dict[str, tuple[str, ...]] = {
    "incident_id": ("incident_id",), "number": ("incident_id",), "service": ("service",),
    "started_at": ("started_at",), "acknowledged_at": ("acknowledged_at",), "resolved_at": ("resolved_at",),
    "responder": ("responder",), "title": ("title",), "team": ("team",), "escalation_policy": ("policy",),
    "assignees": ("assignees",),
}


def _incidents(body: Any, file: str) -> list[Any]:
    pages = body if isinstance(body, list) and body and all(isinstance(b, Mapping) and "incidents" in b
                                                            for b in body) else [body]
    records: list[Any] = []
    for page in pages:
        items = page.get("incidents") if isinstance(page, Mapping) else page
        if isinstance(page, Mapping):
            unknown = sorted(set(page) - {"incidents", "offset", "limit", "total"})
            if unknown:
                raise InputError(f"{file}: unknown top-level key(s) {unknown}; expected the reporting API's "
                                 "{offset, limit, total, incidents}", file=file)
        if not isinstance(items, list):
            raise InputError(f"{file}: expected {{\"incidents\": [...]}} (GET /api-reporting/v2/incidents) or a "
                             "list of incidents", file=file)
        records += items
    if not records:
        raise InputError(f"{file}: no incidents in the file", file=file)
    return records


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _first(transitions: list[Mapping[str, Any]], names: frozenset[str]) -> Mapping[str, Any] | None:
    hits = [t for t in transitions if str(t.get("name", "")).upper() in names]
    return min(hits, key=lambda t: str(t.get("at", ""))) if hits else None


def read_splunk_oncall(path: str | os.PathLike[str], *, tz: str = "UTC") -> pl.DataFrame:
    """Read a Splunk On-Call reporting API incident export as Incidents (module docstring: shape, mapping).

    Parameters
    ----------
    path
        The JSON file (one response, a list of responses, or a list of incidents).
    tz
        IANA zone of timestamps without a UTC offset; default "UTC".

    Raises
    ------
    InputError
        Unreadable JSON, incidents without a number or start time, resolved incidents
        without a ``RESOLVED`` transition, unparseable timestamps: every problem with its row (the
        incident's 1-based position) and field.
    """
    path = Path(path)
    file = str(path)
    try:
        body = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{file}: not a readable JSON file ({exc})", file=file) from None
    records = _incidents(body, file)
    problems: list[Problem] = []
    rows: list[dict[str, Any]] = []
    ignored: set[str] = set()
    for row, record in enumerate(records, start=1):
        if not isinstance(record, Mapping):
            problems.append(Problem(file=file, row=row, reason="an incident must be an object"))
            continue
        ignored.update(set(record) - INCIDENT_KEYS)
        transitions = record.get("transitions") or []
        if not isinstance(transitions, list) or not all(isinstance(t, Mapping) for t in transitions):
            problems.append(Problem(file=file, row=row, column="transitions", reason="must be a list of objects"))
            transitions = []
        bad = [t for t in transitions if not isinstance(t.get("name"), str) or not isinstance(t.get("at"), str)]
        if bad:
            problems.append(Problem(file=file, row=row, column="transitions",
                                    reason=f"every transition needs a name and an `at` timestamp, got {bad[0]!r}"))
        phase = _text(record.get("currentPhase"))
        if phase is not None and phase.lower() not in PHASES:
            problems.append(Problem(file=file, row=row, column="currentPhase",
                                    reason=f"{phase!r} is not triggered, acknowledged or resolved"))
        ack = _first(transitions, ACK_NAMES)
        resolve = _first(transitions, RESOLVE_NAMES)
        if phase is not None and phase.lower() == "resolved" and resolve is None:
            problems.append(Problem(file=file, row=row, column="transitions",
                                    reason="currentPhase is resolved but there is no RESOLVED transition"))
        users = [str(u) for u in record.get("pagedUsers") or []]
        teams = [str(t) for t in record.get("pagedTeams") or []]
        policies = record.get("pagedPolicies") or []
        policy = None
        if policies and isinstance(policies[0], Mapping):
            inner = policies[0].get("policy", policies[0])
            policy = _text(inner.get("name") if isinstance(inner, Mapping) else inner)
        resolver = _text(resolve.get("by")) if resolve and resolve.get("manually") is not False else None
        responder = (_text(ack.get("by")) if ack else None) or resolver or (users[0] if users else None)
        rows.append({
            ROW: row,
            "incident_id": _text(record.get("incidentNumber")),
            "service": _text(record.get("service")) or _text(record.get("host")) or (teams[0] if teams else None)
            or _text(record.get("entityId")),
            "started_at": _text(record.get("startTime")),
            "acknowledged_at": _text(ack.get("at")) if ack else None,
            "resolved_at": _text(resolve.get("at")) if resolve else None,
            "responder": responder,
            "title": _text(record.get("entityDisplayName")) or _text(record.get("entityId")),
            "team": teams[0] if teams else None,
            "policy": policy,
            "assignees": users or None,
        })
    if problems:
        raise InputError(f"{file} cannot be imported", problems, file=file)
    if ignored:
        log.info("%s: fields not used by the import: %s", file, sorted(ignored))
    schema: dict[str, Any] = {ROW: pl.Int64, **{k: pl.String for k in rows[0] if k not in (ROW, "assignees")},
              "assignees": pl.List(pl.String)}
    frame = pl.DataFrame(rows, schema=schema)
    return build_incidents(frame, MAPPING, file=file, tz=tz)


__all__ = ["read_splunk_oncall"]
