"""Typed errors. Every error alertsim raises on bad input derives from :class:`AlertsimError`.

``InputError`` is about data (a metrics file, an incident export); ``ConfigError`` is about
configuration (rule files, designs, routes). Both carry enough context to act on: the file, the
row or rule, the field and what is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One thing wrong with an input: where it is and why it is wrong.

    ``row`` is 1-based and counts data rows (the header is row 0), or ``None`` when the problem is
    about the whole column or file.
    """

    reason: str
    column: str | None = None
    row: int | None = None
    file: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.reason}" if prefix else self.reason


class AlertsimError(Exception):
    """Base class of every error alertsim raises on purpose."""


class InputError(AlertsimError, ValueError):
    """Input data is wrong. ``problems`` lists every problem found, not just the first."""

    def __init__(self, message: str, problems: Iterable[Problem] = (), *, file: str | None = None):
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.file = file
        lines = [message]
        shown = self.problems[:50]
        lines += [f"  - {p}" for p in shown]
        if len(self.problems) > len(shown):
            lines.append(f"  ... and {len(self.problems) - len(shown)} more")
        super().__init__("\n".join(lines))


class ConfigError(AlertsimError, ValueError):
    """A rule file, design, route or argument is wrong.

    The message names the file, the rule (or object) and the field, the bad value and what is allowed.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        rule: str | None = None,
        field: str | None = None,
        line: int | None = None,
    ):
        self.file, self.rule, self.field, self.line = file, rule, field, line
        where = []
        if file:
            where.append(f"{file}:{line}" if line else file)
        if rule:
            where.append(f"rule {rule!r}")
        if field:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class ArgumentError(ConfigError, TypeError):
    """A Python API argument has the wrong type (also a ``TypeError``, as Python's own would be)."""


def check_type(value: object, allowed: type | tuple[type, ...], *, name: str, expected: str) -> None:
    """Raise :class:`ArgumentError` naming ``name``, the type given and ``expected`` unless ``value``
    is an instance of ``allowed``.

    >>> check_type(12345, str, name="path", expected="a path (str or pathlib.Path)")
    Traceback (most recent call last):
    alertsim.errors.ArgumentError: field 'path': expected a path (str or pathlib.Path), got int 12345
    """
    if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in (
            allowed if isinstance(allowed, tuple) else (allowed,))):
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise ArgumentError(f"expected {expected}, got {type(value).__name__} {shown}", field=name)


@dataclass(frozen=True, kw_only=True)
class Notice:
    """Something a result cannot show as a number: a rule that selected no series, a window without
    data, incidents outside the replayed window. Results carry them in ``notices``; the CLI prints
    them and ``--strict`` turns them into errors.

    >>> print(Notice(code="no-series", message="selected no series", rule="HighCpu", field="metric"))
    rule 'HighCpu', field 'metric': selected no series
    """

    code: str
    message: str
    rule: str | None = None
    field: str | None = None
    file: str | None = None
    #: 1-based line in ``file`` where known (a rule of a rule file).
    line: int | None = None

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}" if self.file and self.line else self.file
        where = [w for w in (place, f"rule {self.rule!r}" if self.rule else None,
                             f"field {self.field!r}" if self.field else None) if w]
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def as_dict(self) -> dict[str, str | int | None]:
        return {"code": self.code, "message": self.message, "rule": self.rule, "field": self.field,
                "file": self.file, "line": self.line}


class StrictError(AlertsimError):
    """``--strict`` (or ``strict=True``) was asked for and the result carries notices."""

    def __init__(self, notices: Iterable[Notice]):
        self.notices = tuple(notices)
        super().__init__("\n".join(["strict mode: the result has warnings (drop --strict to get it anyway)",
                                     *[f"  - {n}" for n in self.notices]]))
