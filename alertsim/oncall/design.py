"""On-call designs (schedules + escalation policy + responder models) and the pages they are tested on.

A design file is YAML (format in ``data/designs/README.md``)::

    name: weekly-5min
    schedules:
      primary: {tz: Europe/Berlin, layers: [{users: [ana, bo, cy, dee], turn: 1w,
                                             start: "2026-01-05T09:00"}]}
    escalation:
      levels:
        - {targets: ["schedule:primary"], delay: 5m}
        - {targets: ["user:lead"], delay: 10m}
      loops: 0
    responders:
      default: {ack: {dist: exponential, mean: 4m}, miss: 0.0}
      lead: {ack: {dist: exponential, mean: 2m}}

>>> design = parse_design({"name": "solo", "escalation": {"levels": [{"targets": ["user:ana"]}]},
...                        "responders": {"default": {"ack": {"dist": "exponential", "mean": "4m"}}}})
>>> design.people
('ana',)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import polars as pl

from alertsim._yaml import load_yaml
from alertsim.errors import ConfigError, InputError, Problem
from alertsim.frames import INSTANT, PAGES, SHIFTS, validate
from alertsim.io.rundir import has_frame, read_frame
from alertsim.oncall._config import Section
from alertsim.oncall.escalation import EscalationPolicy, parse_escalation
from alertsim.oncall.responders import Responders, parse_responders
from alertsim.oncall.schedule import FixedLayer, Schedule, parse_schedule, shifts

URGENCIES = ("high", "low")


@dataclass(frozen=True, kw_only=True)
class Design:
    """A named on-call design: schedules, an escalation policy and responder models."""

    name: str
    escalation: EscalationPolicy
    responders: Responders
    schedules: Mapping[str, Schedule] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "schedules", MappingProxyType(dict(self.schedules)))
        missing = [s for s in self.escalation.schedules if s not in self.schedules]
        if missing:
            raise ConfigError(f"escalation targets unknown schedule(s) {missing}; defined: "
                              f"{sorted(self.schedules)}", rule=self.name, field="escalation.levels")
        if self.escalation.ack_timeout is not None and not self.responders.uses_work:
            raise ConfigError("ack_timeout needs a work-time model (responders.default.work) to know "
                              "when pages are resolved", rule=self.name, field="escalation.ack_timeout")
        if self.responders.uses_busy and not self.responders.uses_work:
            raise ConfigError("a busy effect needs a work-time model (responders.default.work)",
                              rule=self.name, field="responders")
        for person in self.people:
            self.responders.resolve(person)  # every person has an ack model

    def __hash__(self) -> int:
        return hash((self.name, self.escalation, tuple(self.schedules.items())))

    @property
    def people(self) -> tuple[str, ...]:
        """Everyone the design can notify: schedule members (policy order), then direct targets."""
        names: dict[str, None] = {}
        for name in self.escalation.schedules:
            names.update(dict.fromkeys(self.schedules[name].users))
        names.update(dict.fromkeys(self.escalation.users))
        return tuple(names)

    @property
    def rotation(self) -> tuple[str, ...]:
        """People on the targeted schedules: the people fairness is measured over."""
        names: dict[str, None] = {}
        for name in self.escalation.schedules:
            names.update(dict.fromkeys(self.schedules[name].users))
        return tuple(names)

    def tz_of(self, person: str) -> str:
        """A person's zone: their responder model's ``tz``, else the zone of the first targeted
        schedule that lists them, else the default model's ``tz``, else UTC."""
        own = self.responders.people.get(person)
        if own is not None and own.tz:
            return own.tz
        for name in self.escalation.schedules:
            schedule = self.schedules[name]
            for layer in schedule.layers:
                users = layer.users if not isinstance(layer, FixedLayer) else \
                    tuple(e.user for e in layer.entries)
                if person in users:
                    return getattr(layer, "tz", None) or schedule.tz
        return self.responders.default.tz or "UTC"


def design_shifts(design: Design, start: object, end: object) -> pl.DataFrame:
    """Shifts of every schedule the escalation policy targets over ``[start, end)``, with ``level``
    the first escalation level (1-based) that targets the schedule: on-call time per person and level.

    >>> d = parse_design({"name": "d", "schedules": {"p": {"layers": [{"users": ["a", "b"], "turn": "1d",
    ...     "start": "2026-01-01"}]}}, "escalation": {"levels": [{"targets": ["schedule:p"]}]},
    ...     "responders": {"default": {"ack": {"dist": "exponential", "mean": "4m"}}}})
    >>> design_shifts(d, "2026-01-01", "2026-01-03")["responder"].to_list()
    ['a', 'b']
    """
    frames = []
    for name in design.escalation.schedules:
        level = next(i for i, lv in enumerate(design.escalation.levels, start=1)
                     if f"schedule:{name}" in lv.targets)
        frames.append(shifts(design.schedules[name], start, end, level=level))  # type: ignore[arg-type]
    if not frames:
        return SHIFTS.empty()
    return pl.concat(frames)


def parse_design(raw: object, *, file: str | None = None, base_dir: str | os.PathLike[str] | None = None,
                 name: str | None = None) -> Design:
    """A :class:`Design` from a parsed YAML mapping; unknown keys are errors."""
    s = Section(raw, path="", file=file,
                allowed={"name", "description", "schedules", "escalation", "responders", "time_off"})
    design_name = s.text("name") or name
    if not design_name:
        raise s.error("name", "a design needs a name")
    time_off = s.items("time_off")
    schedules = {str(key): parse_schedule(str(key), value, file=file, base_dir=base_dir,
                                          time_off=time_off)
                 for key, value in s.mapping("schedules").items()}
    escalation = parse_escalation(s.raw("escalation", required=True), file=file)
    responders = parse_responders(s.raw("responders", {}), file=file)
    try:
        return Design(name=design_name, description=s.text("description") or "", schedules=schedules,
                      escalation=escalation, responders=responders)
    except ConfigError as exc:
        raise ConfigError(str(exc).split(": ", 1)[-1] if exc.rule else str(exc), file=file,
                          field=exc.field) from None


def load_design(path: str | os.PathLike[str]) -> Design:
    """Read a design YAML file (relative paths in it, e.g. iCal feeds, are relative to the file).

    >>> import alertsim
    >>> alertsim.load_design("data/designs/weekly.yaml").name   # doctest: +SKIP
    'weekly'
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read design: {exc.strerror or exc}", file=str(path)) from None
    return parse_design(load_yaml(text, file=str(path)), file=str(path), base_dir=path.parent, name=path.stem)


def check_pages(pages: pl.DataFrame, *, file: str | None = None) -> pl.DataFrame:
    """Validate a PAGES frame for simulation: schema, urgency ``high``/``low``; sorted by time."""
    pages = validate(pages, PAGES, file=file)
    bad = pages["urgency"].is_in(list(URGENCIES)).not_()
    if bad.any():
        raise InputError(f"{file or 'pages'}: urgency must be one of {list(URGENCIES)}",
                         [Problem(row=r + 1, column="urgency", file=file,
                                  reason=f"{pages['urgency'][r]!r} is not high or low")
                          for r in bad.arg_true().head(50).to_list()], file=file)
    return pages.sort("paged_at", "page_id")


def read_pages(source: str | os.PathLike[str]) -> pl.DataFrame:
    """Pages to simulate from a CSV or Parquet file (``page_id, paged_at, urgency`` + optional
    ``service``), or a run directory's pages frame. CSV instants are ISO-8601 (naive means UTC)."""
    path = Path(source)
    label = str(path)
    if path.is_dir():
        if not has_frame(path, "pages"):
            raise InputError(f"{label} is a directory without pages.parquet (not a run directory with "
                             "pages)", file=label)
        frame = read_frame(path, "pages")
    elif path.suffix.lower() == ".parquet":
        try:
            frame = pl.read_parquet(path)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise InputError(f"cannot read {label}: {exc}", file=label) from None
    elif path.suffix.lower() in (".csv", ".txt"):
        try:
            frame = pl.read_csv(path, infer_schema=False)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise InputError(f"cannot read {label}: {exc}", file=label) from None
        frame = _typed_csv(frame, label)
    else:
        raise InputError(f"{label}: pages must be .csv, .parquet or a run directory", file=label)
    keep = [c for c in frame.columns if c in PAGES.columns]
    return check_pages(frame.select(keep), file=label)


def _typed_csv(frame: pl.DataFrame, label: str) -> pl.DataFrame:
    problems: list[Problem] = []
    columns = {}
    for name in frame.columns:
        dtype = PAGES.columns.get(name)
        if dtype is None:
            continue
        text = frame[name]
        if dtype == INSTANT:
            parsed = _parse_instants(text)
            bad = parsed.is_null() & text.is_not_null() & (text != "")
            problems += [Problem(row=r + 1, column=name, file=label,
                                 reason=f"{text[r]!r} is not an ISO-8601 instant")
                         for r in bad.arg_true().head(20).to_list()]
            columns[name] = parsed.cast(INSTANT)
        elif dtype == pl.String():
            columns[name] = text.replace("", None) if name != "page_id" else text
        elif dtype == pl.Int64():
            columns[name] = text.cast(pl.Int64, strict=False)
    if problems:
        raise InputError(f"{label}: cannot read every page", problems, file=label)
    return pl.DataFrame(columns)


_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M")


def _parse_instants(text: pl.Series) -> pl.Series:
    """ISO-8601 text → UTC instants, row by row: with an offset (``Z``, ``+01:00``) or naive (UTC)."""
    frame = pl.DataFrame({"text": text.str.strip_chars().str.replace(r"Z$", "+00:00")})
    offset = pl.col("text").str.contains(r"[+-]\d\d:?\d\d$")
    aware = [pl.col("text").str.to_datetime(f"{f}%z", strict=False, time_unit="us", time_zone="UTC")
             for f in _FORMATS]
    naive = [pl.col("text").str.to_datetime(f, strict=False, time_unit="us").dt.replace_time_zone("UTC")
             for f in (*_FORMATS, "%Y-%m-%d")]
    return frame.select(pl.when(offset).then(pl.coalesce(aware)).otherwise(pl.coalesce(naive))
                        .cast(INSTANT)).to_series()


__all__ = ["URGENCIES", "Design", "check_pages", "design_shifts", "load_design", "parse_design",
           "read_pages"]
