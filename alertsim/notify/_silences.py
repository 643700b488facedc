"""Silences: matchers plus a time span during which matching alerts are muted (both ends inclusive,
as in Alertmanager's ``silence.getState``).

>>> import datetime as dt
>>> s = Silence(matchers='alertname="DiskFull", instance=~"db-.*"',
...             starts_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), ends_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
>>> s.matches({"alertname": "DiskFull", "instance": "db-1"})
True
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from alertsim.durations import parse_instant
from alertsim.errors import ConfigError
from alertsim.notify._matchers import Matcher, Operator, parse_matchers


@dataclass(frozen=True, kw_only=True)
class Silence:
    """Mute alerts whose labels match every matcher from ``starts_at`` to ``ends_at`` (inclusive).

    ``matchers`` may be given as a matcher string (``'alertname="X", env=~"prod|staging"'``).
    """

    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    comment: str = ""
    created_by: str = ""
    silence_id: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.matchers, str):
            object.__setattr__(self, "matchers", parse_matchers(self.matchers))
        else:
            object.__setattr__(self, "matchers", tuple(self.matchers))
        if not self.matchers:
            raise ConfigError("a silence needs at least one matcher", field="matchers")
        if all(m.matches({}) for m in self.matchers):
            raise ConfigError("at least one matcher of a silence must not match the empty string "
                              "(otherwise it would silence every alert)", field="matchers")
        for name in ("starts_at", "ends_at"):
            value = getattr(self, name)
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise ConfigError(f"must be a timezone-aware datetime, got {value!r}", field=name)
        if self.ends_at < self.starts_at:
            raise ConfigError(f"ends_at ({self.ends_at}) is before starts_at ({self.starts_at})", field="ends_at")

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether the silence applies to an alert with ``labels`` (ignoring time)."""
        return all(m.matches(labels) for m in self.matchers)


_API_KEYS = frozenset({"id", "matchers", "startsAt", "endsAt", "createdBy", "comment", "status", "updatedAt",
                       "annotations"})
_MATCHER_KEYS = frozenset({"name", "value", "isRegex", "isEqual"})


def silences_from_api(items: Any, *, file: str = "<silences>") -> tuple[Silence, ...]:
    """Silences from Alertmanager's API v2 JSON (``GET /api/v2/silences``, ``amtool silence query -o json``)."""
    if not isinstance(items, list):
        raise ConfigError("expected a JSON list of silences", file=file)
    out = []
    for i, item in enumerate(items):
        where = f"[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"expected an object, got {item!r}", file=file, field=where)
        for key in item:
            if key not in _API_KEYS:
                raise ConfigError(f"unknown key {key!r}; allowed: {', '.join(sorted(_API_KEYS))}", file=file,
                                  field=f"{where}.{key}")
        raw_matchers = item.get("matchers")
        if not isinstance(raw_matchers, list) or not raw_matchers:
            raise ConfigError("a silence needs a non-empty list of matchers", file=file, field=f"{where}.matchers")
        matchers = []
        for j, raw in enumerate(raw_matchers):
            spot = f"{where}.matchers[{j}]"
            if not isinstance(raw, dict) or set(raw) - _MATCHER_KEYS or not {"name", "value"} <= set(raw):
                raise ConfigError("expected {name, value, isRegex, isEqual}", file=file, field=spot)
            regex, equal = bool(raw.get("isRegex", False)), bool(raw.get("isEqual", True))
            op: Operator = ("=~" if equal else "!~") if regex else ("=" if equal else "!=")
            try:
                matchers.append(Matcher(name=str(raw["name"]), op=op, value=str(raw["value"])))
            except ConfigError as exc:
                raise ConfigError(str(exc), file=file, field=spot) from None
        try:
            out.append(Silence(matchers=tuple(matchers),
                               starts_at=parse_instant(item.get("startsAt"), naive_is_utc=False, file=file,
                                                       field=f"{where}.startsAt"),
                               ends_at=parse_instant(item.get("endsAt"), naive_is_utc=False, file=file,
                                                     field=f"{where}.endsAt"),
                               comment=str(item.get("comment", "")), created_by=str(item.get("createdBy", "")),
                               silence_id=item.get("id")))
        except ConfigError as exc:
            if exc.file:
                raise
            raise ConfigError(str(exc), file=file, field=f"{where}") from None
    return tuple(out)


def load_silences(path: str | os.PathLike[str]) -> tuple[Silence, ...]:
    """Read silences exported from Alertmanager's API v2 as JSON.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "silences.json"
    >>> _ = path.write_text('[{"matchers": [{"name": "alertname", "value": "X", "isRegex": false}],'
    ...                     ' "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2026-01-01T02:00:00Z"}]')
    >>> [str(m) for m in load_silences(path)[0].matchers]
    ['alertname="X"']
    """
    path = Path(path)
    try:
        items = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read silences: {exc.strerror or exc}", file=str(path)) from None
    except ValueError as exc:
        raise ConfigError(f"not valid JSON: {exc}", file=str(path)) from None
    return silences_from_api(items, file=str(path))
