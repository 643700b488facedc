"""A PromQL lexer and parser for the subset alertsim evaluates, following Prometheus 2.42's grammar
(``promql/parser/lex.go``, ``generated_parser.y``, ``parse.go``): operator precedence and
associativity, binary-operator modifiers, aggregation forms, Go string escapes, number syntax
(hex, octal-looking integers, ``Inf``/``NaN``) and the type checks Prometheus runs after parsing.

Anything valid in PromQL but outside alertsim's subset raises :class:`Unsupported` naming the
construct; anything invalid raises :class:`PromQLSyntaxError`. Both carry the byte offset ``pos``.

>>> parse("sum by (job) (rate(http_requests_total{code=~'5..'}[5m])) > 0.1").type
'vector'
>>> try:
...     parse("holt_winters(x[1h], 0.5, 0.5)")
... except Unsupported as error:
...     print(error.construct)
holt_winters
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import polars as pl

from alertsim.durations import to_microseconds
from alertsim.errors import ConfigError
from alertsim.promql.ast import (
    Aggregate,
    Binary,
    Call,
    Matcher,
    MatrixSelector,
    Node,
    NumberLiteral,
    Paren,
    StringLiteral,
    Subquery,
    Unary,
    ValueType,
    VectorMatching,
    VectorSelector,
    anchored,
    walk,
)


class PromQLSyntaxError(ValueError):
    """Not valid PromQL; ``pos`` is the byte offset of the problem."""

    def __init__(self, message: str, pos: int):
        self.pos = pos
        super().__init__(message)


class Unsupported(PromQLSyntaxError):
    """Valid PromQL outside alertsim's subset; ``construct`` names it (``@ modifier``, ``holt_winters``,
    ``histogram_share``, ...)."""

    def __init__(self, message: str, pos: int, *, construct: str):
        self.construct = construct
        super().__init__(message, pos)


# ------------------------------------------------------------------------------------------------
# Vocabulary.

AGGREGATORS = {"sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk",
               "count_values", "quantile"}
SUPPORTED_AGGREGATORS = ("sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "topk", "bottomk",
                         "count_values", "quantile")
_AGGREGATE_PARAM: dict[str, ValueType] = {"topk": "scalar", "bottomk": "scalar", "quantile": "scalar",
                                          "count_values": "string"}
KEYWORDS = AGGREGATORS | {"and", "or", "unless", "atan2", "offset", "by", "without", "on", "ignoring",
                          "group_left", "group_right", "bool", "start", "end"}
#: Every function Prometheus 2.42 knows (``promql/parser/functions.go``).
_FUNCTION_NAMES = """
abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp clamp_max
clamp_min cos cosh count_over_time days_in_month day_of_month day_of_week day_of_year deg delta deriv exp
floor histogram_count histogram_fraction histogram_quantile histogram_sum holt_winters hour idelta
increase irate label_replace label_join last_over_time ln log10 log2 max_over_time min_over_time minute
month pi predict_linear present_over_time quantile_over_time rad rate resets round scalar sgn sin sinh
sort sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time tan tanh time timestamp vector year
"""
PROMETHEUS_FUNCTIONS = frozenset(_FUNCTION_NAMES.split())
#: Element-wise float functions (``simpleFunc`` in ``functions.go``): they drop the metric name.
MATH_FUNCTIONS = ("abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "sgn", "sin", "cos", "tan",
                  "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "deg", "rad")
#: Calendar fields of a sample value (seconds since the epoch, UTC) or of the evaluation instant.
DATE_FUNCTIONS = ("days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute", "month",
                  "year")
#: The functions alertsim evaluates: name → (argument types, return type).
FUNCTIONS: dict[str, tuple[tuple[ValueType, ...], ValueType]] = {
    "rate": (("matrix",), "vector"),
    "irate": (("matrix",), "vector"),
    "increase": (("matrix",), "vector"),
    "delta": (("matrix",), "vector"),
    "idelta": (("matrix",), "vector"),
    "avg_over_time": (("matrix",), "vector"),
    "min_over_time": (("matrix",), "vector"),
    "max_over_time": (("matrix",), "vector"),
    "sum_over_time": (("matrix",), "vector"),
    "count_over_time": (("matrix",), "vector"),
    "last_over_time": (("matrix",), "vector"),
    "present_over_time": (("matrix",), "vector"),
    "stddev_over_time": (("matrix",), "vector"),
    "stdvar_over_time": (("matrix",), "vector"),
    "quantile_over_time": (("scalar", "matrix"), "vector"),
    "clamp": (("vector", "scalar", "scalar"), "vector"),
    "clamp_min": (("vector", "scalar"), "vector"),
    "clamp_max": (("vector", "scalar"), "vector"),
    "absent": (("vector",), "vector"),
    "absent_over_time": (("matrix",), "vector"),
    "histogram_quantile": (("scalar", "vector"), "vector"),
    "vector": (("scalar",), "vector"),
    "scalar": (("vector",), "scalar"),
    "time": ((), "scalar"),
    "pi": ((), "scalar"),
    "timestamp": (("vector",), "vector"),
    "changes": (("matrix",), "vector"),
    "resets": (("matrix",), "vector"),
    "deriv": (("matrix",), "vector"),
    "predict_linear": (("matrix", "scalar"), "vector"),
    "label_replace": (("vector", "string", "string", "string", "string"), "vector"),
    "label_join": (("vector", "string", "string", "string"), "vector"),
    "round": (("vector", "scalar"), "vector"),
    "sort": (("vector",), "vector"),
    "sort_desc": (("vector",), "vector"),
    **{name: (("vector",), "vector") for name in MATH_FUNCTIONS},
    **{name: (("vector",), "vector") for name in DATE_FUNCTIONS},
}
#: Functions whose last argument may be left out (``round``, the date functions) or repeated
#: (``label_join``'s source labels): name → the most arguments (-1: any number), as in ``functions.go``.
VARIADIC = {"round": 2, "label_join": -1, **{name: 1 for name in DATE_FUNCTIONS}}
_NATIVE_HISTOGRAM = {"histogram_count", "histogram_sum", "histogram_fraction", "histogram_avg",
                     "histogram_stddev", "histogram_stdvar"}
#: VictoriaMetrics' MetricsQL functions met in published rule packs.
_METRICSQL_NAMES = """
histogram_share histogram_over_time share_gt_over_time share_le_over_time share_eq_over_time
count_gt_over_time count_le_over_time count_eq_over_time count_ne_over_time increase_pure rate_over_sum
median_over_time range_over_time tfirst_over_time tlast_over_time lifetime lag default_rollup
running_sum range_avg range_max range_min union buckets_limit prometheus_buckets limit_offset outliersk
"""
METRICSQL_FUNCTIONS = frozenset(_METRICSQL_NAMES.split())
COMPARISONS = ("==", "!=", "<=", "<", ">=", ">")
SET_OPERATORS = ("and", "or", "unless")
ARITHMETIC = ("+", "-", "*", "/", "%", "^", "atan2")
_PRECEDENCE = {"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, "<=": 3, "<": 3, ">=": 3, ">": 3,
               "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6}
_UNARY_PRECEDENCE = 5  # unary +/- bind like *, so -a^b is -(a^b) and -a*b is (-a)*b.

# ------------------------------------------------------------------------------------------------
# Lexer.


@dataclass(frozen=True)
class Token:
    kind: str
    value: str
    pos: int


_SPACE = " \t\n\r"


def _is_alpha(c: str) -> bool:
    return c == "_" or ("a" <= c <= "z") or ("A" <= c <= "Z")


def _is_alnum(c: str) -> bool:
    return _is_alpha(c) or ("0" <= c <= "9")


class _Lexer:
    def __init__(self, text: str):
        self.text = text
        self.i = 0
        self.tokens: list[Token] = []
        self.paren = 0
        self.brace = False
        self.bracket = False
        self.got_colon = False

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.text[j] if j < len(self.text) else ""

    def emit(self, kind: str, start: int) -> None:
        self.tokens.append(Token(kind, self.text[start:self.i], start))

    def error(self, message: str, pos: int | None = None) -> PromQLSyntaxError:
        return PromQLSyntaxError(message, self.i if pos is None else pos)

    def run(self) -> list[Token]:
        while True:
            if self.brace:
                self.inside_braces()
                continue
            c = self.peek()
            start = self.i
            if c == "":
                if self.paren:
                    raise self.error("unclosed left parenthesis")
                if self.bracket:
                    raise self.error("unclosed left bracket")
                self.tokens.append(Token("EOF", "", self.i))
                return self.tokens
            if c == "#":
                while self.peek() not in ("", "\n", "\r"):
                    self.i += 1
                continue
            if c in _SPACE:
                self.i += 1
                continue
            if self.bracket and (c.isdigit() or c == "."):
                self.duration()
                continue
            self.i += 1
            if c in "(){[]":
                self.grouping(c, start)
            else:
                self.symbol(c, start)

    def symbol(self, c: str, start: int) -> None:
        """An operator, a number or duration, a string, or a word (outside brackets), starting with ``c``."""
        two = c + self.peek()
        if c in ",*/%+-^@":
            self.emit(c, start)
        elif two in ("==", "!=", "<=", ">="):
            self.i += 1
            self.emit(two, start)
        elif c == "=":
            if self.peek() == "~":
                raise self.error("unexpected character after '=': '~'")
            self.emit("=", start)
        elif c == "!":
            raise self.error(f"unexpected character after '!': {self.peek()!r}")
        elif c in "<>":
            self.emit(c, start)
        elif c.isdigit() or (c == "." and self.peek().isdigit()):
            self.i = start
            self.number_or_duration()
        elif c in "\"'`":
            self.string(c, start)
        elif _is_alpha(c) or c == ":":
            if not self.bracket:
                self.i = start
                self.word()
            elif self.got_colon:
                raise self.error(f"unexpected colon {c!r}", start)
            else:
                self.emit(":", start)
                self.got_colon = True
        else:
            raise self.error(f"unexpected character: {c!r}", start)

    def grouping(self, c: str, start: int) -> None:
        """A parenthesis, an opening brace or a bracket (with the duration a left bracket starts)."""
        if c == "(":
            self.paren += 1
            self.emit("(", start)
        elif c == ")":
            self.paren -= 1
            if self.paren < 0:
                raise self.error("unexpected right parenthesis ')'", start)
            self.emit(")", start)
        elif c == "{":
            self.emit("{", start)
            self.brace = True
        elif c == "[":
            if self.bracket:
                raise self.error("unexpected left bracket '['", start)
            self.got_colon = False
            self.emit("[", start)
            while self.peek() and self.peek() in _SPACE:
                self.i += 1
            self.bracket = True
            self.duration()
        else:  # "]"
            if not self.bracket:
                raise self.error("unexpected right bracket ']'", start)
            self.emit("]", start)
            self.bracket = False

    def inside_braces(self) -> None:
        c = self.peek()
        start = self.i
        if c == "":
            raise self.error("unexpected end of input inside braces")
        if c == "#":
            while self.peek() not in ("", "\n", "\r"):
                self.i += 1
            return
        self.i += 1
        if c in _SPACE:
            return
        if _is_alpha(c):
            while _is_alnum(self.peek()):
                self.i += 1
            self.emit("IDENT", start)
        elif c == ",":
            self.emit(",", start)
        elif c in "\"'`":
            self.string(c, start)
        elif c == "=":
            if self.peek() == "~":
                self.i += 1
                self.emit("=~", start)
            else:
                self.emit("=", start)
        elif c == "!":
            nxt = self.peek()
            if nxt in ("~", "="):
                self.i += 1
                self.emit("!" + nxt, start)
            else:
                raise self.error(f"unexpected character after '!' inside braces: {nxt!r}")
        elif c == "{":
            raise self.error("unexpected left brace '{'", start)
        elif c == "}":
            self.emit("}", start)
            self.brace = False
        else:
            raise self.error(f"unexpected character inside braces: {c!r}", start)

    def string(self, quote: str, start: int) -> None:
        while True:
            c = self.peek()
            if c == "":
                raise self.error("unterminated quoted string" if quote != "`" else "unterminated raw string",
                                 start)
            self.i += 1
            if quote != "`":
                if c == "\n":
                    raise self.error("unterminated quoted string", start)
                if c == "\\":
                    self.i += 1
                    continue
            if c == quote:
                break
        self.emit("STRING", start)

    def scan_number(self) -> bool:
        digits = "0123456789"
        if self.peek() == "0" and self.peek(1) in ("x", "X"):
            self.i += 2
            digits = "0123456789abcdefABCDEF"
        while self.peek() and self.peek() in digits:
            self.i += 1
        if self.peek() == ".":
            self.i += 1
            while self.peek() and self.peek() in digits:
                self.i += 1
        if self.peek() and self.peek() in "eE":
            self.i += 1
            if self.peek() and self.peek() in "+-":
                self.i += 1
            while self.peek().isdigit():
                self.i += 1
        return not _is_alnum(self.peek())

    def accept_duration_rest(self) -> bool:
        if not (self.peek() and self.peek() in "smhdwy"):
            return False
        self.i += 1
        if self.peek() == "s":
            self.i += 1
        while self.peek().isdigit():
            while self.peek().isdigit():
                self.i += 1
            if not (self.peek() and self.peek() in "smhdw"):
                return False
            self.i += 1
            if self.peek() == "s":
                self.i += 1
        return not _is_alnum(self.peek())

    def number_or_duration(self) -> None:
        start = self.i
        if self.scan_number():
            self.emit("NUMBER", start)
            return
        if self.accept_duration_rest():
            self.emit("DURATION", start)
            return
        raise self.error(f"bad number or duration syntax: {self.text[start:self.i + 1]!r}", start)

    def duration(self) -> None:
        start = self.i
        if self.scan_number():
            raise self.error("missing unit character in duration", start)
        if not self.accept_duration_rest():
            raise self.error(f"bad duration syntax: {self.text[start:self.i + 1]!r}", start)
        self.emit("DURATION", start)

    def word(self) -> None:
        start = self.i
        while _is_alnum(self.peek()) or self.peek() == ":":
            self.i += 1
        word = self.text[start:self.i]
        lower = word.lower()
        if lower in ("inf", "nan"):
            self.emit("NUMBER", start)
        elif lower in KEYWORDS:
            self.tokens.append(Token(lower, word, start))
        else:
            self.emit("METRIC_IDENT" if ":" in word else "IDENT", start)


def lex(text: str) -> list[Token]:
    """The tokens of a PromQL expression (comments and spaces dropped), ending with ``EOF``."""
    return _Lexer(text).run()


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def unquote(token: str, pos: int = 0) -> str:
    """The value of a PromQL string literal (Go escapes in '...' and "...", none in `...`)."""
    quote, body = token[0], token[1:-1]
    if quote == "`":
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        i += 1
        e = body[i] if i < len(body) else ""
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 1
        elif e == quote:
            out.append(e)
            i += 1
        elif e in "01234567" and e:
            digits = body[i:i + 3]
            if len(digits) < 3 or any(d not in "01234567" for d in digits) or int(digits, 8) > 255:
                raise PromQLSyntaxError(f"invalid octal escape in {token}", pos)
            out.append(chr(int(digits, 8)))
            i += 3
        elif e in ("x", "u", "U"):
            n = {"x": 2, "u": 4, "U": 8}[e]
            digits = body[i + 1:i + 1 + n]
            if len(digits) < n or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise PromQLSyntaxError(f"invalid escape sequence in {token}", pos)
            code = int(digits, 16)
            if code > 0x10FFFF or 0xD800 <= code < 0xE000:
                raise PromQLSyntaxError(f"escape sequence is an invalid Unicode code point in {token}", pos)
            out.append(chr(code))
            i += 1 + n
        else:
            raise PromQLSyntaxError(f"unknown escape sequence \\{e} in {token}", pos)
    return "".join(out)


def parse_number(text: str, pos: int = 0) -> float:
    """A PromQL number: Go's ``ParseInt(s, 0, 64)`` first (so ``010`` is octal 8 and ``0x1f`` is 31),
    then ``ParseFloat`` (``1e3``, ``.5``, ``Inf``, ``NaN``, hex floats)."""
    lower = text.lower()
    try:
        if re.fullmatch(r"0x[0-9a-f]+", lower):
            value = int(lower, 16)
        elif re.fullmatch(r"0[0-7]+", lower):
            value = int(lower, 8)
        elif re.fullmatch(r"[0-9]+", lower):
            value = int(lower, 10)
        else:
            value = None
        if value is not None and value < 2 ** 63:
            return float(value)
        if lower.startswith("0x"):
            return float.fromhex(lower)
        if lower in ("inf", "+inf"):
            return math.inf
        if lower == "nan":
            return math.nan
        return float(lower)
    except ValueError:
        raise PromQLSyntaxError(f"error parsing number: {text!r}", pos) from None


def parse_duration_us(text: str, pos: int) -> int:
    try:
        value = to_microseconds(text)
    except ConfigError:
        raise PromQLSyntaxError(f"not a valid duration string: {text!r}", pos) from None
    if value == 0:
        raise PromQLSyntaxError("duration must be greater than 0", pos)
    return value


# ------------------------------------------------------------------------------------------------
# Parser.

_BINARY_TOKENS = set(_PRECEDENCE)


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = lex(text)
        self.k = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.k]

    def next(self) -> Token:
        t = self.tokens[self.k]
        self.k += 1
        return t

    def expect(self, kind: str, context: str) -> Token:
        t = self.tok
        if t.kind != kind:
            raise self.unexpected(context, f'"{kind}"' if len(kind) == 1 else kind)
        return self.next()

    def unexpected(self, context: str, expected: str | None = None) -> PromQLSyntaxError:
        t = self.tok
        what = "end of input" if t.kind == "EOF" else f"{_describe(t)}"
        message = f"unexpected {what}"
        if context:
            message += f" in {context}"
        if expected:
            message += f", expected {expected}"
        return PromQLSyntaxError(message, t.pos)

    # expr := unary | primary postfix* (binop modifiers expr)*
    def expression(self, min_prec: int = 0) -> Node:
        left = self.unary()
        while True:
            t = self.tok
            op = t.kind
            if op not in _BINARY_TOKENS:
                break
            prec = _PRECEDENCE[op]
            if prec < min_prec:
                break
            self.next()
            matching, return_bool = self.modifiers(op)
            right = self.expression(prec if op == "^" else prec + 1)
            left = Binary(pos=left.pos, op=op, lhs=left, rhs=right, matching=matching,
                          return_bool=return_bool)
        return left

    def modifiers(self, op: str) -> tuple[VectorMatching, bool]:
        return_bool = False
        if self.tok.kind == "bool":
            self.next()
            return_bool = True
        card = "many-to-many" if op in SET_OPERATORS else "one-to-one"
        labels: tuple[str, ...] = ()
        on = False
        include: tuple[str, ...] = ()
        if self.tok.kind in ("on", "ignoring"):
            on = self.next().kind == "on"
            labels = self.grouping_labels()
            if self.tok.kind in ("group_left", "group_right"):
                side = self.next().kind
                card = "many-to-one" if side == "group_left" else "one-to-many"
                if self.tok.kind == "(":
                    include = self.grouping_labels()
        return VectorMatching(card=card, labels=labels, on=on, include=include), return_bool  # type: ignore[arg-type]

    def unary(self) -> Node:
        t = self.tok
        if t.kind in ("+", "-"):
            self.next()
            operand = self.expression(_UNARY_PRECEDENCE + 1)
            if isinstance(operand, NumberLiteral):
                value = -operand.value if t.kind == "-" else operand.value
                return NumberLiteral(pos=t.pos, value=value)
            return Unary(pos=t.pos, op=t.kind, expr=operand)  # type: ignore[arg-type]
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        while True:
            t = self.tok
            if t.kind == "[":
                node = self.range_or_subquery(node)
            elif t.kind == "offset":
                node = self.offset(node)
            elif t.kind == "@":
                raise Unsupported("the @ modifier is not supported (alertsim evaluates every rule at "
                                  "its own evaluation instants)", t.pos, construct="@ modifier")
            else:
                return node

    def range_or_subquery(self, node: Node) -> Node:
        open_ = self.next()
        d = self.expect("DURATION", "subquery or range")
        range_us = parse_duration_us(d.value, d.pos)
        if self.tok.kind == ":":
            self.next()
            step_us = None
            if self.tok.kind == "DURATION":
                step = self.next()
                step_us = parse_duration_us(step.value, step.pos)
            self.expect("]", "subquery")
            return Subquery(pos=node.pos, expr=node, range_us=range_us, step_us=step_us)
        if self.tok.kind != "]":
            raise self.unexpected("subquery or range", '":" or "]"')
        self.next()
        if not isinstance(node, VectorSelector):
            raise PromQLSyntaxError("ranges only allowed for vector selectors", open_.pos)
        if node.offset_us:
            raise PromQLSyntaxError("no offset modifiers allowed before range", open_.pos)
        return MatrixSelector(pos=node.pos, selector=node, range_us=range_us)

    def offset(self, node: Node) -> Node:
        t = self.next()
        negative = False
        if self.tok.kind == "-":
            self.next()
            negative = True
        d = self.expect("DURATION", "offset")
        value = parse_duration_us(d.value, d.pos)
        if negative:
            raise Unsupported("negative offsets are not supported (Prometheus 2.42 needs the "
                              "promql-negative-offset feature flag for them)", t.pos,
                              construct="negative offset")
        if isinstance(node, VectorSelector):
            if node.offset_us:
                raise PromQLSyntaxError("offset may not be set multiple times", t.pos)
            return replace(node, offset_us=value)
        if isinstance(node, MatrixSelector):
            if node.selector.offset_us:
                raise PromQLSyntaxError("offset may not be set multiple times", t.pos)
            return replace(node, selector=replace(node.selector, offset_us=value))
        if isinstance(node, Subquery):
            if node.offset_us:
                raise PromQLSyntaxError("offset may not be set multiple times", t.pos)
            return replace(node, offset_us=value)
        raise PromQLSyntaxError("offset modifier must be preceded by an instant vector selector or range "
                                "vector selector or a subquery", t.pos)

    def primary(self) -> Node:
        t = self.tok
        if t.kind == "NUMBER":
            self.next()
            return NumberLiteral(pos=t.pos, value=parse_number(t.value, t.pos))
        if t.kind == "STRING":
            self.next()
            return StringLiteral(pos=t.pos, value=unquote(t.value, t.pos))
        if t.kind == "(":
            self.next()
            inner = self.expression()
            self.expect(")", "paren expression")
            return Paren(pos=t.pos, expr=inner)
        if t.kind == "{":
            return self.selector(None, t.pos)
        if t.kind in AGGREGATORS and self.tokens[self.k + 1].kind in ("(", "by", "without"):
            return self.aggregation()
        if t.kind == "IDENT" and self.tokens[self.k + 1].kind == "(":
            return self.call()
        if t.kind in ("IDENT", "METRIC_IDENT") or t.kind in AGGREGATORS or t.kind in (
                "and", "or", "unless", "offset", "by", "without", "start", "end"):
            self.next()
            return self.selector(t.value, t.pos)
        if t.kind == "DURATION":
            raise PromQLSyntaxError(f"unexpected duration {t.value!r}", t.pos)
        raise self.unexpected("", "an expression" if t.kind != "EOF" else None)

    def selector(self, name: str | None, pos: int) -> VectorSelector:
        matchers: list[Matcher] = []
        if self.tok.kind == "{":
            self.next()
            while self.tok.kind != "}":
                label = self.tok
                if label.kind not in ("IDENT", "STRING"):
                    raise self.unexpected("label matching", 'identifier or "}"')
                self.next()
                label_name = label.value if label.kind == "IDENT" else unquote(label.value, label.pos)
                op = self.tok
                if label.kind == "STRING" and op.kind in (",", "}"):
                    # Prometheus 3: a quoted name alone is the metric name ({"a.b/c"}).
                    matchers.append(Matcher(name="__name__", op="=", value=label_name))
                    if op.kind == ",":
                        self.next()
                    continue
                if op.kind not in ("=", "!=", "=~", "!~"):
                    raise self.unexpected("label matching", "label matching operator")
                self.next()
                value = self.tok
                if value.kind != "STRING":
                    raise self.unexpected("label matching", "string")
                self.next()
                if not label_name:
                    raise PromQLSyntaxError("label name must not be empty", label.pos)
                matcher = Matcher(name=label_name, op=op.kind, value=unquote(value.value, value.pos))  # type: ignore[arg-type]
                if matcher.op in ("=~", "!~"):
                    check_regex(matcher.value, value.pos)
                matchers.append(matcher)
                if self.tok.kind == ",":
                    self.next()
                elif self.tok.kind != "}":
                    raise self.unexpected("label matching", '"," or "}"')
            self.next()
        if name is not None:
            if any(m.name == "__name__" for m in matchers):
                raise PromQLSyntaxError(f"metric name must not be set twice: {name!r}", pos)
            matchers.append(Matcher(name="__name__", op="=", value=name))
        elif not any(not m.matches_empty() for m in matchers):
            raise PromQLSyntaxError("vector selector must contain at least one non-empty matcher", pos)
        return VectorSelector(pos=pos, name=name, matchers=tuple(matchers))

    def grouping_labels(self) -> tuple[str, ...]:
        self.expect("(", "grouping opts")
        labels: list[str] = []
        while self.tok.kind != ")":
            t = self.tok
            if t.kind == "STRING":  # Prometheus 3: quoted (UTF-8) label names
                name = unquote(t.value, t.pos)
                if not name:
                    raise PromQLSyntaxError(f"invalid label name for grouping: {name!r}", t.pos)
                labels.append(name)
                self.next()
                if self.tok.kind == ",":
                    self.next()
                elif self.tok.kind != ")":
                    raise self.unexpected("grouping opts", '"," or ")"')
                continue
            if not (t.kind in ("IDENT", *KEYWORDS) and re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", t.value)):
                raise self.unexpected("grouping opts", "label")
            labels.append(t.value)
            self.next()
            if self.tok.kind == ",":
                self.next()
            elif self.tok.kind != ")":
                raise self.unexpected("grouping opts", '"," or ")"')
        self.next()
        return tuple(labels)

    def call_args(self, context: str) -> list[Node]:
        self.expect("(", context)
        args: list[Node] = []
        while self.tok.kind != ")":
            args.append(self.expression())
            if self.tok.kind == ",":
                comma = self.next()
                if self.tok.kind == ")":
                    raise PromQLSyntaxError("trailing commas not allowed in function call args", comma.pos)
            elif self.tok.kind != ")":
                raise self.unexpected(context, '"," or ")"')
        self.next()
        return args

    def aggregation(self) -> Node:
        t = self.next()
        op = t.kind
        grouping: tuple[str, ...] = ()
        without = False
        modifier_seen = False
        if self.tok.kind in ("by", "without"):
            without = self.next().kind == "without"
            grouping = self.grouping_labels()
            modifier_seen = True
        args = self.call_args("aggregation")
        if not modifier_seen and self.tok.kind in ("by", "without"):
            without = self.next().kind == "without"
            grouping = self.grouping_labels()
        if op not in SUPPORTED_AGGREGATORS:
            raise Unsupported(f"aggregation {op!r} is not supported (alertsim supports "
                              f"{', '.join(SUPPORTED_AGGREGATORS)})", t.pos, construct=op)
        if not args:
            raise PromQLSyntaxError("no arguments for aggregate expression provided", t.pos)
        wanted = 2 if op in _AGGREGATE_PARAM else 1
        if len(args) != wanted:
            raise PromQLSyntaxError(f"wrong number of arguments for aggregate expression provided, "
                                    f"expected {wanted}, got {len(args)}", t.pos)
        return Aggregate(pos=t.pos, op=op, expr=args[-1], param=args[0] if wanted == 2 else None,
                         grouping=grouping, without=without)

    def call(self) -> Node:
        t = self.next()
        name = t.value
        if name in METRICSQL_FUNCTIONS:
            raise Unsupported(f"{name}() is a VictoriaMetrics MetricsQL function, outside Prometheus' float "
                              "PromQL that alertsim replays", t.pos, construct=name)
        if name not in PROMETHEUS_FUNCTIONS and name not in _NATIVE_HISTOGRAM:
            raise PromQLSyntaxError(f"unknown function with name {name!r}", t.pos)
        if name not in FUNCTIONS:
            what = (f"{name}() reads native histograms, outside Prometheus' float PromQL that alertsim "
                    "replays (classic le buckets work with histogram_quantile)") if name in _NATIVE_HISTOGRAM else (
                f"function {name}() is not supported by alertsim's PromQL subset")
            raise Unsupported(what, t.pos, construct=name)
        args = self.call_args("function call")
        return Call(pos=t.pos, func=name, args=tuple(args), return_type=FUNCTIONS[name][1])


def _describe(t: Token) -> str:
    if t.kind == "NUMBER":
        return f"number {t.value!r}"
    if t.kind == "DURATION":
        return f"duration {t.value!r}"
    if t.kind == "STRING":
        return f"string {t.value}"
    if t.kind in ("IDENT", "METRIC_IDENT"):
        return f"identifier {t.value!r}"
    return f"{t.value!r}" if t.value else t.kind


def check_regex(pattern: str, pos: int) -> None:
    """Raise unless ``pattern`` is a valid RE2-style regular expression (the syntax polars' engine and
    Prometheus share)."""
    try:
        pl.Series([""]).str.contains(f"^(?:{pattern})$")
    except Exception as exc:  # polars raises ComputeError for a bad pattern
        raise PromQLSyntaxError(f"invalid regular expression {pattern!r}: {str(exc).splitlines()[0]}",
                                pos) from None


# ------------------------------------------------------------------------------------------------
# Type checks (``parse.go`` checkAST).


def _check(node: Node) -> ValueType:
    if isinstance(node, Paren):
        return _check(node.expr)
    if isinstance(node, NumberLiteral | VectorSelector):
        return node.type
    if isinstance(node, StringLiteral):
        return "string"
    if isinstance(node, MatrixSelector):
        return "matrix"
    if isinstance(node, Subquery):
        if _check(node.expr) != "vector":
            raise PromQLSyntaxError(f"subquery is only allowed on instant vector, got "
                                    f"{_documented(node.expr.type)} instead", node.pos)
        return "matrix"
    if isinstance(node, Unary):
        t = _check(node.expr)
        if t not in ("scalar", "vector"):
            raise PromQLSyntaxError(f"unary expression only allowed on expressions of type scalar or "
                                    f"instant vector, got {_documented(t)!r}", node.pos)
        return t
    if isinstance(node, Aggregate):
        if _check(node.expr) != "vector":
            raise PromQLSyntaxError(f"expected type instant vector in aggregation expression, got "
                                    f"{_documented(node.expr.type)}", node.expr.pos)
        if node.param is not None:
            want = _AGGREGATE_PARAM[node.op]
            got = _string_type(node.param) if want == "string" else _check(node.param)
            if got != want:
                raise PromQLSyntaxError(f"expected type {_documented(want)} in aggregation parameter, got "
                                        f"{_documented(node.param.type)}", node.param.pos)
        return "vector"
    if isinstance(node, Call):
        types, _ = FUNCTIONS[node.func]
        most = VARIADIC.get(node.func, len(types))
        least = len(types) - 1 if node.func in VARIADIC else len(types)
        if len(node.args) < least or (most >= 0 and len(node.args) > most):
            expected = f"{least}" if least == most else f"at least {least}" if most < 0 else f"{least} to {most}"
            raise PromQLSyntaxError(f"expected {expected} argument(s) in call to {node.func!r}, got "
                                    f"{len(node.args)}", node.pos)
        for i, arg in enumerate(node.args):
            want = types[min(i, len(types) - 1)]
            got = _string_type(arg) if want == "string" else _check(arg)
            if got != want:
                raise PromQLSyntaxError(f"expected type {_documented(want)} in call to function "
                                        f"{node.func!r}, got {_documented(got)}", arg.pos)
        if node.func in ("label_replace", "label_join"):
            _check_relabel(node)
        return node.type
    if isinstance(node, Binary):
        return _check_binary(node)
    raise PromQLSyntaxError(f"unknown node {type(node).__name__}", node.pos)


def _check_binary(node: Binary) -> ValueType:
    """The type of a binary expression, after Prometheus' checks of its operands, modifiers and matching."""
    lt, rt = _check(node.lhs), _check(node.rhs)
    if node.return_bool and node.op not in COMPARISONS:
        raise PromQLSyntaxError("bool modifier can only be used on comparison operators", node.pos)
    if node.op in COMPARISONS and not node.return_bool and lt == "scalar" and rt == "scalar":
        raise PromQLSyntaxError("comparisons between scalars must use BOOL modifier", node.pos)
    m = node.matching
    if m is not None and m.on:
        for label in m.include:
            if label in m.labels:
                raise PromQLSyntaxError(f"label {label!r} must not occur in ON and GROUP clause at once",
                                        node.pos)
    for side, t in ((node.lhs, lt), (node.rhs, rt)):
        if t not in ("scalar", "vector"):
            raise PromQLSyntaxError("binary expression must contain only scalar and instant vector types",
                                    side.pos)
    if (lt != "vector" or rt != "vector") and m is not None:
        if m.labels or m.on:
            raise PromQLSyntaxError("vector matching only allowed between instant vectors", node.pos)
        if m.card in ("many-to-one", "one-to-many"):
            raise PromQLSyntaxError("vector matching only allowed between instant vectors", node.pos)
    if node.op in SET_OPERATORS:
        if lt == "scalar" or rt == "scalar":
            raise PromQLSyntaxError(f"set operator {node.op!r} not allowed in binary scalar expression",
                                    node.pos)
        if m is not None and m.card != "many-to-many":
            raise PromQLSyntaxError(f"no grouping allowed for {node.op!r} operation", node.pos)
    return "scalar" if lt == "scalar" and rt == "scalar" else "vector"


def _check_relabel(node: Call) -> None:
    """What Prometheus rejects when it evaluates label_replace/label_join: an empty label name or a
    regular expression that does not compile."""
    strings = [_literal(a) for a in node.args[1:]]
    names = [strings[0], *(strings[2:] if node.func == "label_join" else [])]
    for name, arg in zip(names, [node.args[1], *node.args[3:]], strict=False):
        if not name:
            raise PromQLSyntaxError(f"invalid label name {name!r} in {node.func}()", arg.pos)
    if node.func == "label_replace":
        try:
            anchored(strings[3])
        except re.error as error:
            raise PromQLSyntaxError(f"invalid regular expression in label_replace(): {strings[3]!r} "
                                    f"({error})", node.args[4].pos) from None


def _literal(node: Node) -> str:
    while isinstance(node, Paren):
        node = node.expr
    assert isinstance(node, StringLiteral)
    return node.value


def _string_type(node: Node) -> ValueType:
    """A string argument: only a string literal (in parentheses or not) makes one."""
    while isinstance(node, Paren):
        node = node.expr
    return "string" if isinstance(node, StringLiteral) else _check(node)


def _documented(t: ValueType) -> str:
    return {"vector": "instant vector", "matrix": "range vector"}.get(t, t)


def _normalise(node: Node) -> Node:
    """Drop vector matching from binary expressions that are not vector–vector (as Prometheus does)."""
    if isinstance(node, Binary):
        lhs, rhs = _normalise(node.lhs), _normalise(node.rhs)
        matching = node.matching if lhs.type == "vector" and rhs.type == "vector" else None
        return replace(node, lhs=lhs, rhs=rhs, matching=matching)
    if isinstance(node, Paren):
        return replace(node, expr=_normalise(node.expr))
    if isinstance(node, Unary):
        return replace(node, expr=_normalise(node.expr))
    if isinstance(node, Aggregate):
        return replace(node, expr=_normalise(node.expr),
                       param=None if node.param is None else _normalise(node.param))
    if isinstance(node, Call):
        return replace(node, args=tuple(_normalise(a) for a in node.args))
    if isinstance(node, Subquery):
        return replace(node, expr=_normalise(node.expr))
    return node


def parse(text: str) -> Node:
    """Parse and type-check a PromQL expression of alertsim's subset.

    Raises :class:`PromQLSyntaxError` for invalid PromQL and :class:`Unsupported` for valid PromQL
    outside the subset (``@``, negative offsets, ``holt_winters``, native-histogram
    and MetricsQL functions, ...).
    """
    p = _Parser(text)
    if p.tok.kind == "EOF":
        raise PromQLSyntaxError("no expression found in input", 0)
    node = p.expression()
    if p.tok.kind != "EOF":
        raise p.unexpected("", None)
    if _check(node) == "string":
        raise Unsupported("a string literal is not a rule's result; strings are only arguments of the "
                          "functions that take them", node.pos, construct="string literal")
    node = _normalise(node)
    if node.type not in ("vector", "scalar"):
        raise PromQLSyntaxError(f"expression must be of type instant vector or scalar, got "
                                f"{_documented(node.type)}", node.pos)
    return node


def metric_names(node: Node) -> set[str]:
    """Metric names the expression selects by ``__name__="..."`` (regex name matchers excluded)."""
    return {m.value for n in walk(node) if isinstance(n, VectorSelector)
            for m in n.matchers if m.name == "__name__" and m.op == "="}


def line_of(text: str, pos: int) -> int:
    """0-based line of byte offset ``pos`` within ``text``."""
    return text.count("\n", 0, max(0, min(pos, len(text))))


__all__ = ["PromQLSyntaxError", "Unsupported", "lex", "metric_names", "parse", "parse_number", "unquote"]
