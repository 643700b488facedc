"""Alertmanager label matchers: ``name="value"``, ``name!="value"``, ``name=~"regex"``, ``name!~"regex"``.

The grammar is Alertmanager's (``pkg/labels/parse.go``): a string holds one or more comma-separated
matchers, optionally in braces; values may be quoted (``\\"``, ``\\\\`` and ``\\n`` escapes) or bare;
regular expressions are fully anchored. A quoted label name (``"service.name"="x"``, the UTF-8
syntax of newer releases) is accepted too. A missing label matches as the empty string.

>>> [str(m) for m in parse_matchers('{severity=~"page|critical", team=storefront}')]
['severity=~"page|critical"', 'team="storefront"']
>>> parse_matchers('service!="search"')[0].matches({"service": "checkout"})
True
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from alertsim.errors import ConfigError

Operator = Literal["=", "!=", "=~", "!~"]
_OPERATOR_ORDER: dict[str, int] = {"=": 0, "!=": 1, "=~": 2, "!~": 3}
_LINE = re.compile(r'^\s*([a-zA-Z_:][a-zA-Z0-9_:]*|"(?:[^"\\]|\\.)*")\s*(=~|=|!=|!~)\s*(.*?)\s*$', re.S)
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def compile_regex(pattern: str, *, field: str = "matchers") -> re.Pattern[str]:
    """Compile an Alertmanager regular expression (anchored at both ends, as ``^(?:...)$``)."""
    try:
        return re.compile(f"(?:{pattern})")
    except re.error as exc:
        raise ConfigError(f"invalid regular expression {pattern!r}: {exc}", field=field) from None


@dataclass(frozen=True, kw_only=True)
class Matcher:
    """One label matcher. ``matches`` treats a missing label as ``""``, as Alertmanager does.

    >>> Matcher(name="severity", op="=~", value="page|critical").matches({"severity": "page"})
    True
    """

    name: str
    op: Operator
    value: str
    _regex: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.op not in _OPERATOR_ORDER:
            raise ConfigError(f"unknown matcher operator {self.op!r}; use =, !=, =~ or !~", field="matchers")
        if self.op in ("=~", "!~") and self._regex is None:
            object.__setattr__(self, "_regex", compile_regex(self.value))

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.name, "")
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        assert self._regex is not None
        hit = self._regex.fullmatch(value) is not None
        return hit if self.op == "=~" else not hit

    @property
    def sort_key(self) -> tuple[str, str, int]:
        """Alertmanager's matcher order (name, value, operator), used in route keys."""
        return (self.name, self.value, _OPERATOR_ORDER[self.op])

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'


def matches_all(matchers: tuple[Matcher, ...], labels: Mapping[str, str]) -> bool:
    """True when every matcher matches ``labels`` (an empty tuple matches everything)."""
    return all(m.matches(labels) for m in matchers)


def matchers_string(matchers: tuple[Matcher, ...]) -> str:
    """``{a="1",b=~"x"}`` in Alertmanager's order: the text a route contributes to a group key."""
    return "{" + ",".join(str(m) for m in sorted(matchers, key=lambda m: m.sort_key)) + "}"


def _split(text: str) -> list[str]:
    """Split on commas outside double quotes, the way Alertmanager's classic parser does."""
    tokens: list[str] = []
    current: list[str] = []
    inside = escaped = False
    for ch in text:
        if ch == "," and not inside:
            tokens.append("".join(current))
            current = []
            continue
        if ch == '"':
            if not escaped:
                inside = not inside
            else:
                escaped = False
        elif ch == "\\":
            escaped = not escaped
        else:
            escaped = False
        current.append(ch)
    last = "".join(current).strip()
    if last:
        tokens.append(last)
    return tokens


def _unquote(raw: str, whole: str) -> str:
    """Unescape a matcher value the way Alertmanager does (``\\n``, ``\\"``, ``\\\\``)."""
    quoted = raw.startswith('"')
    if quoted:
        raw = raw[1:]
    out: list[str] = []
    escaped = False
    for i, ch in enumerate(raw):
        if escaped:
            escaped = False
            out.append({"n": "\n", '"': '"', "\\": "\\"}.get(ch, "\\" + ch))
            continue
        if ch == "\\":
            if i < len(raw) - 1:
                escaped = True
                continue
            out.append("\\")
        elif ch == '"':
            if not quoted or i < len(raw) - 1:
                raise ConfigError(f"matcher value contains an unescaped double quote: {whole!r}",
                                  field="matchers")
            quoted = False
        else:
            out.append(ch)
    if quoted:
        raise ConfigError(f"matcher value is missing its closing double quote: {whole!r}", field="matchers")
    return "".join(out)


def parse_matcher(text: str) -> Matcher:
    """Parse one matcher such as ``severity=~"page|critical"`` or ``team = storefront``."""
    found = _LINE.match(text)
    if found is None:
        raise ConfigError(f"bad matcher {text!r}; expected name=\"value\" with one of =, !=, =~, !~",
                          field="matchers")
    name, op, raw = found.groups()
    if name.startswith('"'):
        name = _unquote(name, text)
        if not name:
            raise ConfigError(f"empty label name in matcher {text!r}", field="matchers")
    return Matcher(name=name, op=op, value=_unquote(raw, text))  # type: ignore[arg-type]


def parse_matchers(text: str) -> tuple[Matcher, ...]:
    """Parse a matcher list: ``'a="1", b=~"x|y"'``, optionally in braces, as in ``matchers:`` entries."""
    body = text.strip()
    if body.startswith("{"):
        body = body[1:]
    if body.endswith("}"):
        body = body[:-1]
    return tuple(parse_matcher(token) for token in _split(body))


def go_quote(value: str) -> str:
    """Quote ``value`` the way Go's ``strconv.Quote`` does (as group keys print label values)."""
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def labelset_string(labels: Mapping[str, str]) -> str:
    """A label set printed as Alertmanager prints it in group keys: ``{alertname="X", service="y"}``."""
    return "{" + ", ".join(sorted(f"{k}={go_quote(v)}" for k, v in labels.items())) + "}"
