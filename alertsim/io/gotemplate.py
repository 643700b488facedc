"""The part of Go's ``text/template`` that Prometheus alert annotations use, evaluated as Prometheus does.

Prometheus expands an alerting rule's annotations (and labels) with Go templates over the alert's data:
``$labels`` (the labels of the sample the expression returned: not the rule's own labels, not
``alertname``), ``$value`` (the sample's value), ``$externalLabels`` and ``$externalURL``, with
``missingkey=zero`` (a missing label is the empty string) and Prometheus' functions. This module
renders the subset that needs no live Prometheus:

* text, actions ``{{ pipeline }}`` with ``{{-``/``-}}`` trimming, comments ``{{/* ... */}}``;
* ``if``/``else if``/``else``/``end`` and ``with``/``else``/``end``; variables ``$x := ...``/``$x = ...``;
* operands: ``$labels.name``, ``.Labels.name``, ``$value``/``.Value``, ``$externalLabels.x``,
  ``$externalURL``, ``$``, ``.``, strings (``"..."`` and raw), numbers, ``true``/``false``/``nil``,
  ``( pipeline )``; pipelines ``a | f b``;
* functions: ``humanize``, ``humanize1024``, ``humanizeDuration``, ``humanizePercentage``,
  ``humanizeTimestamp``, ``printf``, ``print``, ``println``, ``len``, ``index``, ``eq``/``ne``/``lt``/
  ``le``/``gt``/``ge``, ``and``/``or``/``not``, ``toUpper``, ``toLower``, ``title``, ``match``,
  ``reReplaceAll``, ``stripPort``, ``parseDuration``, ``externalURL``, ``pathPrefix``.

Anything else (``range``, ``query``, ``first``, ``template``, ...) raises :class:`Unsupported`: the
caller decides what to do with an annotation it cannot render (``alertsim export promtool`` leaves it
out of the test and says so).

>>> render('{{ $labels.instance }} at {{ $value | humanizePercentage }}', labels={"instance": "a:9100"},
...        value=0.8734)
'a:9100 at 87.34%'
>>> render('{{ if gt $value 100.0 }}high{{ else }}ok{{ end }}: {{ printf "%.1f" $value }}', value=123.456)
'high: 123.5'
>>> render('{{ $labels.missing }}|{{ humanize 1234567 }}|{{ humanizeDuration 3725 }}', labels={})
'|1.235M|1h 2m 5s'
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from alertsim.durations import parse_duration
from alertsim.errors import ConfigError

__all__ = ["Unsupported", "go_float", "render"]


class Unsupported(Exception):
    """A template construct outside the subset this module renders (or one it cannot decide)."""


# ------------------------------------------------------------------------------------------ values

def go_float(value: float) -> str:
    """A float64 as Go's ``fmt`` prints it with ``%v`` or ``%g``: the shortest digits that read back
    exactly, in exponent form when the exponent is below -4 or at least 6 (``1e+06``, ``1.5e-05``).

    >>> [go_float(v) for v in (0.5, 100.0, 123456.0, 1234567.0, 0.0001, 0.00001, float("inf"))]
    ['0.5', '100', '123456', '1.234567e+06', '0.0001', '1e-05', '+Inf']
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    digits, exp = _shortest(value)
    sign = "-" if value < 0 else ""
    if exp < -4 or exp >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exp < 0:
        return f"{sign}0.{'0' * (-exp - 1)}{digits}"
    if exp + 1 >= len(digits):
        return f"{sign}{digits}{'0' * (exp + 1 - len(digits))}"
    return f"{sign}{digits[:exp + 1]}.{digits[exp + 1:]}"


def _shortest(value: float) -> tuple[str, int]:
    """The shortest decimal digits that read back as ``value`` (Python's repr, as Go's) and the decimal
    exponent of the first digit."""
    mantissa, _, exponent = f"{abs(value)!r}".partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    exp = (len(whole) - 1 if whole.strip("0") else -(len(frac) - len(frac.lstrip("0"))) - 1) + int(exponent or 0)
    return digits.rstrip("0") or "0", exp


def _go_g(value: float, precision: int) -> str:
    """Go's ``%.Ng`` (as C's, with Go's NaN and infinities)."""
    if math.isnan(value) or math.isinf(value):
        return go_float(value)
    return f"{value:.{precision}g}"


def _text(value: Any) -> str:
    """How a template prints a value."""
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{_text(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def _truth(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str | Mapping | list | tuple):
        return len(value) > 0
    return True


def _float(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise Unsupported(f"{name} of a bool")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise Unsupported(f"{name} of {value!r}, which is not a number") from None
    raise Unsupported(f"{name} of a {type(value).__name__}")


# ----------------------------------------------------------------------------- Prometheus' functions

def _si(value: float, big: tuple[str, ...], small: tuple[str, ...], base: float) -> tuple[float, str]:
    prefix = ""
    if abs(value) >= 1:
        for p in big:
            if abs(value) < base:
                break
            prefix, value = p, value / base
    else:
        for p in small:
            if abs(value) >= 1:
                break
            prefix, value = p, value * base
    return value, prefix


def humanize(value: Any) -> str:
    v = _float(value, "humanize")
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _go_g(v, 4)
    v, prefix = _si(v, ("k", "M", "G", "T", "P", "E", "Z", "Y"), ("m", "u", "n", "p", "f", "a", "z", "y"), 1000)
    return _go_g(v, 4) + prefix


def humanize1024(value: Any) -> str:
    v = _float(value, "humanize1024")
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return _go_g(v, 4)
    v, prefix = _si(v, ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"), (), 1024)
    return _go_g(v, 4) + prefix


def humanize_duration(value: Any) -> str:
    v = _float(value, "humanizeDuration")
    if math.isnan(v) or math.isinf(v):
        return _go_g(v, 4)
    if v == 0:
        return _go_g(v, 4) + "s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        v = abs(v)
        whole = int(v)
        seconds, minutes, hours, days = whole % 60, whole // 60 % 60, whole // 3600 % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_go_g(v, 4)}s"
    v, prefix = _si(v, (), ("m", "u", "n", "p", "f", "a", "z", "y"), 1000)
    return f"{_go_g(v, 4)}{prefix}s"


def humanize_percentage(value: Any) -> str:
    return _go_g(_float(value, "humanizePercentage") * 100, 4) + "%"


def humanize_timestamp(value: Any) -> str:
    v = _float(value, "humanizeTimestamp")
    if math.isnan(v) or math.isinf(v):
        return _go_g(v, 4)
    nanos = int(v * 1e9)
    moment = datetime.fromtimestamp(nanos // 1_000_000_000, tz=UTC)
    frac = nanos % 1_000_000_000
    fraction = f".{frac:09d}".rstrip("0") if frac else ""
    return f"{moment:%Y-%m-%d %H:%M:%S}{fraction} +0000 UTC"


def _strip_port(host_port: str) -> str:
    match = re.fullmatch(r"\[([^\]]*)\]:[^:]*|([^:]*):[^:]*", host_port)
    if not match:
        return host_port
    return match.group(1) if match.group(1) is not None else match.group(2)


def _parse_duration(text: str) -> float:
    try:
        return parse_duration(text).total_seconds()
    except ConfigError:
        raise Unsupported(f"parseDuration of {text!r}") from None


def _title(text: str) -> str:
    return re.sub(r"(^|[^\w'])(\w)", lambda m: m.group(1) + m.group(2).upper(), text)


def _go_regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error:
        raise Unsupported(f"regular expression {pattern!r}") from None


def _replace_all(pattern: str, replacement: str, text: str) -> str:
    # Go's $1 / ${1} / ${name} in the replacement
    python = re.sub(r"\$(\d+|\{(\w+)\})", lambda m: "\\g<" + (m.group(2) or m.group(1)) + ">",
                    replacement.replace("\\", "\\\\"))
    return _go_regex(pattern).sub(python, text)


def _compare(op: str) -> Callable[..., bool]:
    def compare(a: Any, *others: Any) -> bool:
        if op == "eq":
            return any(_same(a, b) for b in others)
        (b,) = others
        if isinstance(a, str) != isinstance(b, str) or isinstance(a, bool) or isinstance(b, bool):
            raise Unsupported(f"{op} of {type(a).__name__} and {type(b).__name__}")
        if isinstance(a, int) != isinstance(b, int) and not isinstance(a, str):
            raise Unsupported(f"{op} of {type(a).__name__} and {type(b).__name__} (Go compares one kind only)")
        return {"ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]
    return compare


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and isinstance(a, int) != isinstance(b, int):
        raise Unsupported("eq of an integer and a float (Go compares one kind only)")
    return bool(a == b)


def _index(item: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(item, Mapping):
            item = item.get(key, "")
        elif isinstance(item, list | tuple | str) and isinstance(key, int):
            item = item[key]
        else:
            raise Unsupported("index of a value that is not a map")
    return item


def _printf(fmt: Any, *args: Any) -> str:
    if not isinstance(fmt, str):
        raise Unsupported("printf with a format that is not a string")
    out: list[str] = []
    queue = list(args)
    pos = 0
    for match in re.finditer(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])", fmt):
        out.append(fmt[pos:match.start()])
        pos = match.end()
        flags, width, precision, verb = match.groups()
        if verb == "%":
            out.append("%")
            continue
        if width == "*" or precision == "*" or "#" in flags:
            raise Unsupported("printf with * widths or the # flag")
        if match.group(0).count(".") and precision is None:
            precision = "0"
        if not queue:
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = queue.pop(0)
        out.append(_verb(arg, flags, width, precision, verb))
    out.append(fmt[pos:])
    if queue:
        out.append("%!(EXTRA " + ", ".join(f"{_go_type(a)}={_text(a)}" for a in queue) + ")")
    return "".join(out)


def _go_type(value: Any) -> str:
    return ("bool" if isinstance(value, bool) else "int" if isinstance(value, int) else "float64"
            if isinstance(value, float) else "string" if isinstance(value, str) else "map[string]string"
            if isinstance(value, Mapping) else "<nil>" if value is None else type(value).__name__)


def _verb(arg: Any, flags: str, width: str | None, precision: str | None, verb: str) -> str:
    if verb in "vs" and isinstance(arg, str):
        text = arg if precision is None else arg[:int(precision)]
    elif verb == "v" or (verb == "s" and isinstance(arg, str | bool | Mapping)):
        text = _text(arg) if not (isinstance(arg, float) and precision is not None) else _go_g(arg, int(precision))
    elif verb == "q" and isinstance(arg, str):
        text = json.dumps(arg, ensure_ascii=False)
    elif verb == "d" and isinstance(arg, int) and not isinstance(arg, bool):
        return format(arg, f"{'<' if '-' in flags else ''}{'+' if '+' in flags else ''}"
                           f"{'0' if '0' in flags and '-' not in flags else ''}{width or ''}d")
    elif verb in "eEfFgG" and isinstance(arg, int | float) and not isinstance(arg, bool):
        value = float(arg)
        if math.isnan(value) or math.isinf(value):
            text = go_float(value)
            if "+" in flags and value > 0 and not math.isnan(value):
                text = "+Inf"
        elif verb in "gG" and precision is None:
            text = go_float(value)
            if "+" in flags and value >= 0:
                text = "+" + text
        else:
            text = format(value, f"{'+' if '+' in flags else ''}.{6 if precision is None else int(precision)}"
                                 f"{verb}")
    elif verb in "xX" and isinstance(arg, int | str) and not isinstance(arg, bool):
        text = format(arg, verb) if isinstance(arg, int) else arg.encode().hex()
        text = text.upper() if verb == "X" else text
    else:
        return f"%!{verb}({_go_type(arg)}={_text(arg)})"
    if width:
        text = text.ljust(int(width)) if "-" in flags else (
            text.rjust(int(width), "0") if "0" in flags and verb not in "vsq" else text.rjust(int(width)))
    return text


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "humanize": humanize, "humanize1024": humanize1024, "humanizeDuration": humanize_duration,
    "humanizePercentage": humanize_percentage, "humanizeTimestamp": humanize_timestamp,
    "printf": _printf,
    "print": lambda *a: "".join((" " if i and not isinstance(a[i - 1], str) and not isinstance(x, str) else "")
                                + _text(x) for i, x in enumerate(a)),
    "println": lambda *a: " ".join(_text(x) for x in a) + "\n",
    "len": lambda x: len(x), "index": _index,
    "eq": _compare("eq"), "ne": _compare("ne"), "lt": _compare("lt"), "le": _compare("le"),
    "gt": _compare("gt"), "ge": _compare("ge"),
    "not": lambda x: not _truth(x),
    "toUpper": lambda s: str(s).upper(), "toLower": lambda s: str(s).lower(), "title": lambda s: _title(str(s)),
    "match": lambda pattern, text: _go_regex(pattern).search(text) is not None,
    "reReplaceAll": _replace_all, "stripPort": _strip_port, "parseDuration": _parse_duration,
}
#: Functions Prometheus has that need a live server or return what a test cannot pin.
NOT_HERE = frozenset({"query", "first", "label", "value", "strvalue", "sortByLabel", "graphLink", "tableLink",
                      "args", "safeHtml", "tmpl", "template", "call", "html", "js", "urlquery", "slice",
                      "toTime", "now", "toDuration"})


# ---------------------------------------------------------------------------------------- parsing

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\]|\\.)+')
  | (?P<number>[-+]?(?:0[xX][0-9a-fA-F_]+|(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][-+]?\d+)?))
  | (?P<declare>:=)
  | (?P<assign>=)
  | (?P<variable>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
  | (?P<field>(?:\.[A-Za-z0-9_]+)+|\.)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
  | (?P<pipe>\|)
  | (?P<open>\()
  | (?P<close>\))
""", re.X)


@dataclass
class _Node:
    kind: str                      # text, action, if, with
    text: str = ""
    tokens: list[tuple[str, str]] = field(default_factory=list)
    branches: list[tuple[list[tuple[str, str]] | None, list[_Node]]] = field(default_factory=list)


def _tokens(source: str) -> list[tuple[str, str]]:
    out = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if not match:
            raise Unsupported(f"cannot read {source[pos:pos + 20]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        if kind != "space":
            out.append((kind, match.group(0)))
    return out


def _items(text: str) -> list[tuple[str, str]]:
    """``text`` as ("text", s) and ("action", inner) items, with ``{{-``/``-}}`` trimming applied."""
    items: list[tuple[str, str]] = []
    pos = 0
    for match in _ACTION.finditer(text):
        chunk = text[pos:match.start()]
        if match.group(1):
            chunk = chunk.rstrip(" \t\r\n")
        items.append(("text", chunk))
        inner = match.group(2)
        items.append(("action", inner))
        pos = match.end()
        if match.group(3):
            rest = text[pos:]
            pos += len(rest) - len(rest.lstrip(" \t\r\n"))
    tail = text[pos:]
    if "{{" in tail:
        raise Unsupported("an unclosed {{")
    items.append(("text", tail))
    return items


def _parse(text: str) -> list[_Node]:
    """The tree of a template: text, actions, and if/with nodes with their branches."""
    items = _items(text)
    root: list[_Node] = []
    stack: list[_Node] = []

    def body() -> list[_Node]:
        return stack[-1].branches[-1][1] if stack else root

    for kind, value in items:
        if kind == "text":
            if value:
                body().append(_Node("text", text=value))
            continue
        inner = value.strip()
        if inner.startswith("/*"):
            if not inner.endswith("*/"):
                raise Unsupported("an unclosed comment")
            continue
        tokens = _tokens(inner)
        if not tokens:
            raise Unsupported("an empty action")
        head = tokens[0][1] if tokens[0][0] == "ident" else ""
        if head in ("if", "with"):
            node = _Node(head, branches=[(tokens[1:], [])])
            body().append(node)
            stack.append(node)
        elif head == "else":
            if not stack:
                raise Unsupported("else without if or with")
            after = tokens[1:]
            if after and after[0] == ("ident", "if") and stack[-1].kind == "if":
                stack[-1].branches.append((after[1:], []))
            elif after:
                raise Unsupported(f"else {after[0][1]}")
            else:
                stack[-1].branches.append((None, []))
        elif head == "end":
            if not stack:
                raise Unsupported("end without if or with")
            stack.pop()
        elif head in ("range", "define", "template", "block", "break", "continue"):
            raise Unsupported(f"{{{{ {head} }}}}")
        else:
            body().append(_Node("action", tokens=tokens))
    if stack:
        raise Unsupported(f"{stack[-1].kind} without end")
    return root


# -------------------------------------------------------------------------------------- evaluation

class _Scope:
    def __init__(self, data: dict[str, Any], variables: dict[str, Any], functions: dict[str, Callable[..., Any]]):
        self.data = data
        self.functions = functions
        self.dot: Any = data
        self.variables = variables


def _fields(value: Any, names: list[str], where: str) -> Any:
    for name in names:
        if isinstance(value, Mapping):
            value = value.get(name, "" if where == "labels" else None)
            where = "labels" if name in ("Labels", "ExternalLabels") else ""
        else:
            raise Unsupported(f"field {name} of a {type(value).__name__}")
    return value


def _operand(token: tuple[str, str], scope: _Scope) -> Any:
    kind, text = token
    if kind in ("string", "char"):
        if kind == "char":
            raise Unsupported("character constants")
        return ast.literal_eval(text)
    if kind == "raw":
        return text[1:-1]
    if kind == "number":
        clean = text.replace("_", "")
        try:
            return int(clean, 0)
        except ValueError:
            return float(clean)
    if kind == "variable":
        name, *names = text.split(".")
        if name not in scope.variables:
            raise Unsupported(f"undefined variable {name}")
        value = scope.variables[name]
        where = "labels" if name in ("$labels", "$externalLabels") else ""
        return _fields(value, names, where) if names else value
    if kind == "field":
        if text == ".":
            return scope.dot
        names = text.split(".")[1:]
        first = scope.dot
        where = "labels" if first is not scope.data and isinstance(first, Mapping) else ""
        return _fields(first, names, where)
    if kind == "ident":
        if text in ("true", "false"):
            return text == "true"
        if text == "nil":
            return None
    raise Unsupported(f"{text!r}")


def _split(tokens: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """A pipeline's commands (split on | outside parentheses)."""
    commands: list[list[tuple[str, str]]] = [[]]
    depth = 0
    for token in tokens:
        if token[0] == "open":
            depth += 1
        elif token[0] == "close":
            depth -= 1
        if token[0] == "pipe" and depth == 0:
            commands.append([])
        else:
            commands[-1].append(token)
    if any(not c for c in commands):
        raise Unsupported("an empty command in a pipeline")
    return commands


def _arguments(tokens: list[tuple[str, str]], scope: _Scope) -> list[Any]:
    out = []
    i = 0
    while i < len(tokens):
        if tokens[i][0] == "open":
            depth, j = 0, i
            while True:
                depth += {"open": 1, "close": -1}.get(tokens[j][0], 0)
                if depth == 0:
                    break
                j += 1
                if j >= len(tokens):
                    raise Unsupported("an unclosed (")
            out.append(_pipeline(tokens[i + 1:j], scope))
            i = j + 1
        elif tokens[i][0] == "ident" and tokens[i][1] not in ("true", "false", "nil"):
            raise Unsupported(f"function {tokens[i][1]} as an argument without parentheses")
        else:
            out.append(_operand(tokens[i], scope))
            i += 1
    return out


def _command(tokens: list[tuple[str, str]], scope: _Scope, piped: list[Any]) -> Any:
    head = tokens[0]
    if head[0] == "ident" and head[1] not in ("true", "false", "nil"):
        name = head[1]
        if name in ("and", "or"):
            args = [*_arguments(tokens[1:], scope), *piped]
            for arg in args[:-1]:
                if _truth(arg) == (name == "or"):
                    return arg
            return args[-1]
        if name in NOT_HERE or name not in scope.functions:
            raise Unsupported(f"function {name}" + (" (it needs a running Prometheus)" if name in NOT_HERE else ""))
        args = [*_arguments(tokens[1:], scope), *piped]
        try:
            return scope.functions[name](*args)
        except Unsupported:
            raise
        except (TypeError, ValueError, IndexError, KeyError, re.error) as exc:
            raise Unsupported(f"{name}: {exc}") from None
    if (len(tokens) > 1 and head[0] != "open") or piped:
        raise Unsupported(f"{head[1]} is not a function")
    return _arguments(tokens, scope)[0]


def _pipeline(tokens: list[tuple[str, str]], scope: _Scope) -> Any:
    declare = None
    if len(tokens) >= 2 and tokens[0][0] == "variable" and tokens[1][0] in ("declare", "assign"):
        if "." in tokens[0][1]:
            raise Unsupported("assigning to a field")
        declare, tokens = tokens[0][1], tokens[2:]
    value: Any = None
    for number, command in enumerate(_split(tokens)):
        value = _command(command, scope, [] if number == 0 else [value])
    if declare is not None:
        scope.variables[declare] = value
        return _Declared()
    return value


class _Declared:
    """A declaration's result: prints nothing."""


def _run(nodes: list[_Node], scope: _Scope, out: list[str]) -> None:
    for node in nodes:
        if node.kind == "text":
            out.append(node.text)
        elif node.kind == "action":
            value = _pipeline(node.tokens, scope)
            if not isinstance(value, _Declared):
                out.append(_text(value))
        else:
            for condition, body in node.branches:
                if condition is None:
                    _run(body, scope, out)
                    break
                value = _pipeline(condition, scope)
                if _truth(value):
                    if node.kind == "with":
                        saved, scope.dot = scope.dot, value
                        _run(body, scope, out)
                        scope.dot = saved
                    else:
                        _run(body, scope, out)
                    break


def render(text: str, *, labels: Mapping[str, str] | None = None, value: float = math.nan,
           external_labels: Mapping[str, str] | None = None, external_url: str = "") -> str:
    """``text`` expanded as Prometheus expands an alert annotation; :class:`Unsupported` for anything
    outside the subset (see the module)."""
    data = {"Labels": labels if labels is not None else {}, "ExternalLabels": dict(external_labels or {}),
            "ExternalURL": external_url, "Value": float(value)}
    variables = {"$": data, "$labels": data["Labels"], "$externalLabels": data["ExternalLabels"],
                 "$externalURL": external_url, "$value": data["Value"]}
    functions = {**FUNCTIONS, "externalURL": lambda: external_url,
                 "pathPrefix": lambda: re.sub(r"^[a-z]+://[^/]*", "", external_url)}
    out: list[str] = []
    _run(_parse(text), _Scope(data, variables, functions), out)
    return "".join(out)
