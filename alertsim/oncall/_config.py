"""Strict reading of design-file mappings: unknown keys are errors, every error names the file and the
dotted field path (``schedules.primary.layers[0].turn``) and says what is allowed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from alertsim.durations import parse_duration
from alertsim.errors import ConfigError
from alertsim.oncall._time import zone


class Section:
    """One mapping of a design file, read field by field.

    >>> s = Section({"turn": "1w"}, path="layers[0]", allowed={"turn", "users"})
    >>> s.duration("turn")
    datetime.timedelta(days=7)
    """

    def __init__(self, data: object, *, path: str, allowed: Iterable[str], file: str | None = None):
        if not isinstance(data, Mapping):
            raise ConfigError(f"expected a mapping, got {type(data).__name__} {data!r}",
                              file=file, field=path or None)
        self.data: Mapping[str, Any] = data
        self.path = path
        self.file = file
        allowed = set(allowed)
        unknown = sorted(str(k) for k in data if k not in allowed)
        if unknown:
            raise ConfigError(f"unknown key(s) {unknown}; allowed: {sorted(allowed)}",
                              file=file, field=path or None)

    def where(self, key: str | None = None) -> str:
        if key is None:
            return self.path
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str | None, message: str) -> ConfigError:
        return ConfigError(message, file=self.file, field=self.where(key) or None)

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def raw(self, key: str, default: Any = None, *, required: bool = False) -> Any:
        if key not in self.data or self.data[key] is None:
            if required:
                raise self.error(key, "is required")
            return default
        return self.data[key]

    def text(self, key: str, default: str | None = None, *, required: bool = False,
             choices: Iterable[str] | None = None) -> str | None:
        value = self.raw(key, default, required=required)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise self.error(key, f"expected a non-empty string, got {value!r}")
        if choices is not None:
            options = list(choices)
            if value not in options:
                raise self.error(key, f"{value!r} is not allowed; use one of {options}")
        return value

    def time_zone(self, key: str = "tz", default: str | None = None) -> str | None:
        """An IANA time zone name (checked), ``default`` when absent.

        >>> Section({"tz": "Mars/Olympus"}, path="layers[0]", allowed={"tz"}).time_zone()
        Traceback (most recent call last):
        ...
        alertsim.errors.ConfigError: field 'layers[0].tz': unknown time zone 'Mars/Olympus'; ...
        """
        name = self.text(key, default)
        if name is not None:
            try:
                zone(name)
            except ConfigError as exc:
                raise self.error(key, str(exc).split(": ", 1)[-1]) from None
        return name

    def number(self, key: str, default: float | None = None, *, low: float | None = None,
               high: float | None = None, required: bool = False) -> float | None:
        value = self.raw(key, default, required=required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"expected a number, got {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.error(key, f"{value!r} is out of range; allowed {low} to {high}")
        return float(value)

    def integer(self, key: str, default: int | None = None, *, low: int | None = None,
                high: int | None = None, required: bool = False) -> int | None:
        value = self.raw(key, default, required=required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.error(key, f"{value!r} is out of range; allowed {low} to {high}")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r}")
        return value

    def duration(self, key: str, default: timedelta | None = None, *,
                 required: bool = False) -> timedelta | None:
        value = self.raw(key, default, required=required)
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
            return timedelta(0)
        try:
            return parse_duration(value, field=self.where(key))
        except ConfigError as exc:
            raise ConfigError(str(exc).split(": ", 1)[-1], file=self.file, field=self.where(key)) from None

    def strings(self, key: str, *, required: bool = False) -> tuple[str, ...]:
        value = self.raw(key, None, required=required)
        if value is None:
            return ()
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
            raise self.error(key, f"expected a list of names, got {value!r}")
        return tuple(value)

    def items(self, key: str, *, required: bool = False) -> list[Any]:
        value = self.raw(key, None, required=required)
        if value is None:
            return []
        if not isinstance(value, list | tuple):
            raise self.error(key, f"expected a list, got {type(value).__name__} {value!r}")
        return list(value)

    def mapping(self, key: str, *, required: bool = False) -> Mapping[str, Any]:
        value = self.raw(key, None, required=required)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.error(key, f"expected a mapping, got {type(value).__name__} {value!r}")
        return value
