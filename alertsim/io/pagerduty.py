"""Import PagerDuty incident exports into an Incidents frame (``alertsim.frames.INCIDENTS``).

Three documented shapes (``oncall-and-response-metrics.md`` §1.6) are read, told apart by their
content (or named with ``format=``):

``legacy``
    The "Advanced Reporting" incidents CSV: ``id``, ``incident_number``, ``description``,
    ``service_name``, ``escalation_policy_name``, ``created_on``, ``resolved_on``,
    ``seconds_to_first_ack``, ``seconds_to_resolve``, ``auto_resolved``, ``escalation_count``,
    ``acknowledged_by_user_names``, ``assigned_to_user_names``, ``urgency`` (timestamps in the
    account time zone: pass ``tz`` when they carry no UTC offset).
``insights``
    The Insights "Incident Activity" CSV: ``Number``, ``Incident ID``, ``Title``, ``Urgency``,
    ``Priority``, ``Service``, ``Team``, ``Escalation Policy``, ``Created at``, ``Resolved at``,
    ``Auto Resolved``, ``Responders``, ``TTA``, ``TTR``, ``Escalations`` (durations in seconds or
    ``[D ]HH:MM:SS``).
``analytics``
    The Analytics API ``POST /analytics/raw/incidents`` response (``{"data": [...]}`` or a bare
    list): ``id``, ``incident_number``, ``description``, ``created_at``, ``resolved_at``,
    ``urgency``, ``priority_name``, ``service_name``, ``team_name``, ``escalation_policy_name``,
    ``seconds_to_first_ack``, ``seconds_to_resolve``, ``acknowledged_user_names``,
    ``assigned_user_names``, ``escalation_count``, ``auto_resolved``.
``rest``
    The REST API ``GET /incidents`` response (``{"incidents": [...], "limit", "offset", "more"}``, or a
    list of such pages): ``id``, ``incident_number``, ``title``, ``created_at``, ``status``,
    ``resolved_at`` (else ``last_status_change_at`` of a resolved incident), ``urgency``,
    ``service``/``priority``/``escalation_policy``/``teams`` references (their ``summary``),
    ``acknowledgements`` (earliest ``at`` and the acknowledgers) and ``assignments``.

An incident that cannot have happened as exported (resolved or acknowledged before it was created, or
acknowledged after it was resolved) is left out with a warning naming its row; the rest are kept.

Column names are matched case- and punctuation-insensitively (``Created at`` = ``created_at``).

Mapping: ``incident_id`` ← id; ``service`` ← service name; ``started_at`` ← created;
``acknowledged_at`` ← created + seconds to first ack (null when never acknowledged);
``resolved_at`` ← resolved (or created + seconds to resolve); ``severity`` ← priority (null in
the legacy CSV, which has none); ``responder`` ← first acknowledger, else first responder/assignee;
``urgency``, ``title``; and the extra columns ``number``, ``team``, ``escalation_policy``,
``escalations``, ``auto_resolved``, ``assignees`` (list of names).

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "incidents.csv"
>>> _ = path.write_text("id,service_name,created_on,resolved_on,seconds_to_first_ack,urgency\\n"
...                     "PABC,checkout,2026-01-05T10:00:00Z,2026-01-05T10:30:00Z,120,high\\n")
>>> read_pagerduty(path).select("incident_id", "service", "acknowledged_at").row(0)
('PABC', 'checkout', datetime.datetime(2026, 1, 5, 10, 2, tzinfo=zoneinfo.ZoneInfo(key='UTC')))
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import polars as pl

from alertsim.errors import ConfigError, InputError, Problem
from alertsim.frames import INCIDENTS, INSTANT, check_zone, conform
from alertsim.io._tabular import (
    ROW,
    Table,
    error_problems,
    instants_from_text,
    instants_from_typed,
    read_table,
    row_problems,
)

log = logging.getLogger(__name__)

Format = Literal["auto", "legacy", "insights", "analytics", "rest"]
FORMATS = ("auto", "legacy", "insights", "analytics", "rest")

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}

# Export columns (normalised names) → canonical field, per format. The first present wins.
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "legacy": {
        "incident_id": ("id",), "number": ("incident_number",), "title": ("description",),
        "service": ("service_name",), "escalation_policy": ("escalation_policy_name",),
        "started_at": ("created_on",), "resolved_at": ("resolved_on",),
        "ack_seconds": ("seconds_to_first_ack",), "resolve_seconds": ("seconds_to_resolve",),
        "auto_resolved": ("auto_resolved",), "escalations": ("escalation_count",),
        "acknowledgers": ("acknowledged_by_user_names",), "assignees": ("assigned_to_user_names",),
        "urgency": ("urgency",),
    },
    "insights": {
        "incident_id": ("incident_id", "id"), "number": ("number", "incident_number"), "title": ("title",),
        "urgency": ("urgency",), "severity": ("priority",), "service": ("service", "service_name"),
        "team": ("team", "team_name"), "escalation_policy": ("escalation_policy",),
        "started_at": ("created_at", "created_on"), "resolved_at": ("resolved_at",),
        "auto_resolved": ("auto_resolved",), "responders": ("responders",),
        "ack_seconds": ("tta", "time_to_acknowledge", "seconds_to_first_ack"),
        "resolve_seconds": ("ttr", "time_to_resolve", "seconds_to_resolve"),
        "escalations": ("escalations", "escalation_count"),
    },
    "analytics": {
        "incident_id": ("id",), "number": ("incident_number",), "title": ("description",),
        "started_at": ("created_at",), "resolved_at": ("resolved_at",), "urgency": ("urgency",),
        "severity": ("priority_name",), "service": ("service_name",), "team": ("team_name",),
        "escalation_policy": ("escalation_policy_name",), "ack_seconds": ("seconds_to_first_ack",),
        "resolve_seconds": ("seconds_to_resolve",), "acknowledgers": ("acknowledged_user_names",),
        "assignees": ("assigned_user_names",), "escalations": ("escalation_count",),
        "auto_resolved": ("auto_resolved",),
    },
}
COLUMNS["rest"] = {**COLUMNS["analytics"], "acknowledged_at": ("acknowledged_at",)}
REQUIRED = ("incident_id", "service", "started_at")

EXTRA_SCHEMA: dict[str, pl.DataType] = {
    "number": pl.String(), "team": pl.String(), "escalation_policy": pl.String(), "escalations": pl.Int64(),
    "auto_resolved": pl.Boolean(), "assignees": pl.List(pl.String()),
}
OUTPUT_SCHEMA: dict[str, pl.DataType] = {
    **INCIDENTS.required, "acknowledged_at": INSTANT, "responder": pl.String(), "urgency": pl.String(),
    "title": pl.String(), **EXTRA_SCHEMA,
}


def normalise(name: str) -> str:
    """A column name as a snake_case key: ``"Created at"``, ``"CreatedAt"`` → ``created_at``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def rename_columns(table: Table) -> tuple[pl.DataFrame, list[Problem]]:
    """The table's frame with normalised column names; two columns normalising alike is a problem."""
    seen: dict[str, str] = {}
    found = []
    for column in table.columns:
        key = normalise(column)
        if key in seen:
            found.append(Problem(file=table.file, row=0, column=column,
                                 reason=f"same column as {seen[key]!r} once case and punctuation are ignored"))
        seen[key] = column
    return table.frame.rename({original: key for key, original in seen.items()}), found


def read_export(path: Path) -> Table:
    """A CSV or Parquet export as a :class:`Table` whose frame has normalised column names
    (:func:`rename_columns`); ``InputError`` listing every problem when it cannot be read or two
    columns normalise alike."""
    table, problems = read_table(path)
    if table is None or problems:
        raise InputError(f"{path} cannot be read", problems, file=str(path))
    frame, problems = rename_columns(table)
    if problems:
        raise InputError(f"{path} has ambiguous columns", problems, file=str(path))
    return replace(table, frame=frame)


def opens_as_json(path: Path) -> bool:
    """Whether the file's first character, after a byte-order mark and blanks, opens a JSON object or list."""
    with path.open("rb") as handle:
        return handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")


def pick(frame: pl.DataFrame, names: Sequence[str]) -> str | None:
    """The first of ``names`` that is a column of ``frame``."""
    return next((n for n in names if n in frame.columns), None)


def text(column: str | None) -> pl.Expr:
    """A text column, stripped, with empty cells as null (null when the column is absent)."""
    if column is None:
        return pl.lit(None, dtype=pl.String)
    value = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(value == "").then(None).otherwise(value)


def instants(frame: pl.DataFrame, column: str | None, *, file: str, required: bool, tz: str,
             typed: bool) -> tuple[pl.Series, list[Problem]]:
    """Parse ``column`` into UTC instants; naive timestamps are wall time in ``tz``."""
    if column is None:
        return pl.Series(values=[None] * frame.height, dtype=INSTANT), []
    parsed = (instants_from_typed(frame, column, required=required) if typed
              else instants_from_text(frame.with_columns(pl.col(column).cast(pl.String)), column,
                                      required=required))
    if isinstance(parsed, str):
        return pl.Series(values=[None] * frame.height, dtype=INSTANT), [
            Problem(file=file, column=column, reason=parsed)]
    found = error_problems(parsed, "_error", file=file, column=column, value=column)
    utc = pl.from_epoch(pl.col("_us"), time_unit="us").dt.replace_time_zone("UTC")
    if tz != "UTC":
        local = (pl.from_epoch(pl.col("_us"), time_unit="us")
                 .dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
                 .dt.convert_time_zone("UTC"))
        utc = pl.when(pl.col("_aware").fill_null(True)).then(utc).otherwise(local)
        found += row_problems(parsed, pl.col("_us").is_not_null() & ~pl.col("_aware").fill_null(True)
                              & local.is_null(), file=file, column=column,
                              reason=f"{{value}} does not exist in {tz} (a daylight-saving gap)", value=column)
    return parsed.select(utc.alias(column)).to_series().cast(INSTANT), found


_CLOCK = re.compile(r"^(?:(\d+)[ .d]\s*)?(\d+):([0-5]\d):([0-5]\d(?:\.\d+)?)$")


def seconds(frame: pl.DataFrame, column: str | None, *, file: str) -> tuple[pl.Series, list[Problem]]:
    """A duration column as seconds: a number, or ``[D ]HH:MM:SS``; empty is null."""
    if column is None:
        return pl.Series(values=[None] * frame.height, dtype=pl.Float64), []
    value = text(column)
    number = value.cast(pl.Float64, strict=False)
    groups = value.str.extract_groups(_CLOCK.pattern)
    clock = (groups.struct.field("1").cast(pl.Float64).fill_null(0) * 86_400
             + groups.struct.field("2").cast(pl.Float64) * 3600
             + groups.struct.field("3").cast(pl.Float64) * 60 + groups.struct.field("4").cast(pl.Float64))
    staged = frame.with_columns(__seconds=pl.coalesce(number, clock), __text=value)
    found = row_problems(staged, pl.col("__text").is_not_null() & (pl.col("__seconds").is_null()
                                                                   | (pl.col("__seconds") < 0)),
                         file=file, column=column,
                         reason="{value} is not a duration: use seconds or [D ]HH:MM:SS", value="__text")
    return staged["__seconds"].rename(column), found


def flags(frame: pl.DataFrame, column: str | None, *, file: str) -> tuple[pl.Series, list[Problem]]:
    """A yes/no column as Boolean (true/false, yes/no, 1/0; empty is null)."""
    if column is None:
        return pl.Series(values=[None] * frame.height, dtype=pl.Boolean), []
    value = text(column).str.to_lowercase()
    staged = frame.with_columns(__flag=pl.when(value.is_in(sorted(_TRUE))).then(True)
                                .when(value.is_in(sorted(_FALSE))).then(False), __text=text(column))
    found = row_problems(staged, pl.col("__text").is_not_null() & pl.col("__flag").is_null(), file=file,
                         column=column, reason="{value} is not true/false", value="__text")
    return staged["__flag"], found


def counts(frame: pl.DataFrame, column: str | None, *, file: str) -> tuple[pl.Series, list[Problem]]:
    """A whole-number column (empty is null)."""
    if column is None:
        return pl.Series(values=[None] * frame.height, dtype=pl.Int64), []
    value = text(column)
    staged = frame.with_columns(__count=value.cast(pl.Float64, strict=False), __text=value)
    bad = pl.col("__text").is_not_null() & (pl.col("__count").is_null() | (pl.col("__count") < 0)
                                            | (pl.col("__count") != pl.col("__count").round(0)))
    found = row_problems(staged, bad, file=file, column=column, reason="{value} is not a count", value="__text")
    return staged["__count"].cast(pl.Int64, strict=False), found


def names(frame: pl.DataFrame, column: str | None) -> pl.Series:
    """A list-of-names column: a JSON list, or text separated by commas or semicolons."""
    if column is None:
        return pl.Series(values=[None] * frame.height, dtype=pl.List(pl.String))
    series = frame[column]
    if isinstance(series.dtype, pl.List):
        return series.cast(pl.List(pl.String)).list.eval(pl.element().str.strip_chars())
    parts = text(column).str.replace_all(";", ",", literal=True).str.split(",")
    cleaned = parts.list.eval(pl.element().str.strip_chars()).list.eval(pl.element().filter(pl.element() != ""))
    return frame.select(cleaned.alias(column)).to_series()


def _detect(path: Path, columns: Sequence[str]) -> str:
    keys = set(columns)
    if "created_on" in keys:
        return "legacy"
    if "created_at" in keys:
        return "insights"
    raise InputError(f"{path}: cannot tell which PagerDuty export this is; expected a legacy CSV (created_on), "
                     "an Insights CSV (Created at) or Analytics JSON; pass format=", file=str(path))


def load_json(path: Path) -> Any:
    """The JSON document of an export file, or an ``InputError`` naming the file."""
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable JSON file ({exc})", file=str(path)) from None


def records_frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    """JSON records as a frame of strings (lists of strings where a value is a list), columns named
    by :func:`normalise`, with the 1-based record number as the row."""
    keys: dict[str, None] = {}
    for record in records:
        keys.update(dict.fromkeys(record))
    columns: dict[str, list[Any]] = {}
    schema: dict[str, pl.DataType] = {}
    for key in keys:
        values = [record.get(key) for record in records]
        if any(isinstance(v, list) for v in values):
            columns[key] = [None if v is None else [str(x) for x in (v if isinstance(v, list) else [v])]
                            for v in values]
            schema[key] = pl.List(pl.String())
        else:
            columns[key] = [None if v is None else (str(v).lower() if isinstance(v, bool) else str(v))
                            for v in values]
            schema[key] = pl.String()
    frame = pl.DataFrame(columns, schema=schema).rename({k: normalise(k) for k in keys})
    return frame.with_columns(pl.int_range(1, len(records) + 1, dtype=pl.Int64).alias(ROW))


def _summary(reference: Any) -> str | None:
    if isinstance(reference, dict):
        value = reference.get("summary") or reference.get("name")
        return None if value is None else str(value)
    return None


def _rest_record(incident: dict[str, Any]) -> dict[str, Any]:
    """A REST ``GET /incidents`` incident in the Analytics record's terms."""
    acks = [a for a in incident.get("acknowledgements") or [] if isinstance(a, dict)]
    resolved = incident.get("resolved_at")
    if resolved is None and incident.get("status") == "resolved":
        resolved = incident.get("last_status_change_at")
    teams = incident.get("teams") or [None]
    return {
        "id": incident.get("id"), "incident_number": incident.get("incident_number"),
        "description": incident.get("title") or incident.get("description") or incident.get("summary"),
        "created_at": incident.get("created_at"), "resolved_at": resolved,
        "acknowledged_at": min((str(a["at"]) for a in acks if a.get("at")), default=None),
        "urgency": incident.get("urgency"), "priority_name": _summary(incident.get("priority")),
        "service_name": _summary(incident.get("service")), "team_name": _summary(teams[0]),
        "escalation_policy_name": _summary(incident.get("escalation_policy")),
        "acknowledged_user_names": [n for n in (_summary(a.get("acknowledger")) for a in acks) if n],
        "assigned_user_names": [n for n in (_summary(a.get("assignee")) for a in
                                            incident.get("assignments") or [] if isinstance(a, dict)) if n],
    }


def _read_json(path: Path) -> tuple[pl.DataFrame, str]:
    body = load_json(path)
    pages = body if isinstance(body, list) and body and all(isinstance(p, dict) and "incidents" in p
                                                              for p in body) else [body]
    if all(isinstance(p, dict) and isinstance(p.get("incidents"), list) for p in pages):
        records: Any = [_rest_record(r) if isinstance(r, dict) else r for p in pages for r in p["incidents"]]
        kind = "rest"
    else:
        records = body.get("data") if isinstance(body, dict) else body
        kind = "analytics"
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise InputError(f"{path}: expected {{\"incidents\": [...]}} (REST GET /incidents), {{\"data\": [...]}} "
                         "(Analytics) or a list of incident objects", file=str(path))
    if not records:
        raise InputError(f"{path}: no incidents in the file", file=str(path))
    return records_frame(records), kind


def build_incidents(frame: pl.DataFrame, mapping: Mapping[str, tuple[str, ...]], *, file: str, tz: str,
                    typed: bool = False, elapsed_scale: float = 1.0) -> pl.DataFrame:
    """Map an export's (normalised) columns to an Incidents frame; raise one ``InputError`` listing
    every problem. Shared by the PagerDuty and Opsgenie importers. ``elapsed_scale`` converts the
    ack/resolve durations to seconds."""
    check_zone(tz)
    source = {field: pick(frame, candidates) for field, candidates in mapping.items()}
    missing = [f for f in REQUIRED if source.get(f) is None]
    if missing:
        wanted = {f: list(mapping[f]) for f in missing}
        raise InputError(f"{file}: missing columns for {missing}", [
            Problem(file=file, row=0, column=f, reason=f"needs one of the columns {wanted[f]}") for f in missing],
            file=file)
    found: list[Problem] = []
    started, problems = instants(frame, source["started_at"], file=file, required=True, tz=tz, typed=typed)
    found += problems
    resolved, problems = instants(frame, source.get("resolved_at"), file=file, required=False, tz=tz, typed=typed)
    found += problems
    acked_direct, problems = instants(frame, source.get("acknowledged_at"), file=file, required=False, tz=tz,
                                      typed=typed)
    found += problems
    ack_seconds, problems = seconds(frame, source.get("ack_seconds"), file=file)
    found += problems
    resolve_seconds, problems = seconds(frame, source.get("resolve_seconds"), file=file)
    found += problems
    auto, problems = flags(frame, source.get("auto_resolved"), file=file)
    found += problems
    escalations, problems = counts(frame, source.get("escalations"), file=file)
    found += problems
    for field in ("incident_id", "service"):
        found += row_problems(frame, text(source[field]).is_null(), file=file, column=source[field],
                              reason=f"empty {field.replace('_', ' ')}")
    if found:
        raise InputError(f"{file} cannot be imported", found, file=file)

    def after(base: pl.Series, elapsed: pl.Series) -> pl.Series:
        micro = (elapsed * elapsed_scale * 1e6).round(0).cast(pl.Int64)
        return base + pl.Series(micro).cast(pl.Duration("us"))

    acknowledgers = names(frame, source.get("acknowledgers"))
    assignees = names(frame, source.get("assignees"))
    responders = names(frame, source.get("responders"))
    out = frame.select(
        incident_id=text(source["incident_id"]),
        service=text(source["service"]),
        severity=text(source.get("severity")),
        urgency=text(source.get("urgency")).str.to_lowercase(),
        title=text(source.get("title")),
        number=text(source.get("number")),
        team=text(source.get("team")),
        escalation_policy=text(source.get("escalation_policy")),
        __responder=text(source.get("responder")),
    ).with_columns(
        started_at=started,
        resolved_at=pl.coalesce(resolved, after(started, resolve_seconds)),
        acknowledged_at=pl.coalesce(acked_direct, after(started, ack_seconds)),
        auto_resolved=auto,
        escalations=escalations,
        assignees=pl.coalesce(assignees, responders),
        responder=pl.coalesce(pl.col("__responder"), acknowledgers.list.first(), responders.list.first(),
                              assignees.list.first()),
    )
    out = out.select(list(OUTPUT_SCHEMA)).cast(OUTPUT_SCHEMA)  # type: ignore[arg-type]
    return conform(_possible(out, frame[ROW], file), INCIDENTS, file=file)


def _possible(out: pl.DataFrame, rows: pl.Series, file: str) -> pl.DataFrame:
    """``out`` without the incidents that cannot have happened as exported, each named in a warning."""
    started, resolved, acked = pl.col("started_at"), pl.col("resolved_at"), pl.col("acknowledged_at")
    checks = [(resolved < started, "resolved before it was created"),
              (acked < started, "acknowledged before it was created"),
              (acked > resolved, "acknowledged after it was resolved")]
    marked = out.with_columns(rows.alias(ROW), pl.lit(None, pl.String).alias("_why"))
    for condition, why in checks:
        marked = marked.with_columns(pl.when(pl.col("_why").is_null() & condition.fill_null(False))
                                     .then(pl.lit(why)).otherwise(pl.col("_why")).alias("_why"))
    bad = marked.filter(pl.col("_why").is_not_null())
    for row, incident, why in bad.select(ROW, "incident_id", "_why").iter_rows():
        log.warning("%s: row %s: incident %s was %s; left out", file, row, incident, why)
    if bad.height:
        log.warning("%s: left out %d of %d incidents that cannot have happened as exported", file, bad.height,
                    out.height)
    return marked.filter(pl.col("_why").is_null()).drop(ROW, "_why")


def read_pagerduty(path: str | os.PathLike[str], *, format: Format = "auto", tz: str = "UTC") -> pl.DataFrame:
    """Read a PagerDuty incident export (legacy CSV, Insights CSV or Analytics JSON) as Incidents.

    Parameters
    ----------
    path
        The export file.
    format
        ``"legacy"``, ``"insights"``, ``"analytics"``, ``"rest"``, or ``"auto"`` (default: told by content).
    tz
        IANA zone of timestamps without a UTC offset (PagerDuty's account time zone); default "UTC".

    Returns
    -------
    polars.DataFrame
        An Incidents frame (see the module docstring for the mapping), in export order.

    Raises
    ------
    InputError
        Missing columns, unparseable timestamps or durations, empty ids, duplicate ids: every
        problem with its row and column.
    ConfigError
        Unknown ``format`` or ``tz``.
    """
    if format not in FORMATS:
        raise ConfigError(f"format {format!r} is not one of {list(FORMATS)}", field="format")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file", file=str(path))
    if format in ("analytics", "rest") or (format == "auto" and opens_as_json(path)):
        frame, kind = _read_json(path)
        return build_incidents(frame, COLUMNS[kind], file=str(path), tz=tz)
    table = read_export(path)
    kind = format if format != "auto" else _detect(path, table.frame.columns)
    return build_incidents(table.frame, COLUMNS[kind], file=str(path), tz=tz, typed=not table.text)
