"""PromQL syntax tree: frozen records, one per construct of the supported subset.

Every node knows its ``pos`` (byte offset in the expression text) and its ``type`` — ``"vector"``,
``"scalar"`` or ``"matrix"`` (a range selector, only valid as a function argument) — as in
Prometheus' ``promql/parser/ast.go``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

ValueType = Literal["vector", "scalar", "matrix", "string"]
MatchOp = Literal["=", "!=", "=~", "!~"]


_LEGACY_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_LEADING_FLAGS = re.compile(r"\(\?([imsU]+)\)")


def anchored(pattern: str) -> re.Pattern[str]:
    """A label-matcher regex as Prometheus compiles it (``^(?:pattern)$``, RE2 syntax), for Python's
    ``fullmatch``: leading RE2 flags such as ``(?i)``, which apply to the rest of the pattern, become
    a scoped ``(?i:...)`` group, the form Python accepts inside a group."""
    flags = _LEADING_FLAGS.match(pattern)
    if flags and "U" not in flags.group(1):
        return re.compile(f"(?{flags.group(1)}:{pattern[flags.end():]})")
    return re.compile(f"(?:{pattern})")


@dataclass(frozen=True, kw_only=True)
class Matcher:
    """One label matcher ``name op "value"`` (``__name__`` for the metric name)."""

    name: str
    op: MatchOp
    value: str

    def matches_empty(self) -> bool:
        """Whether the matcher matches a series without the label (Prometheus' ``Matches("")``)."""
        if self.op == "=":
            return self.value == ""
        if self.op == "!=":
            return self.value != ""
        hit = anchored(self.value).fullmatch("") is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        name = self.name if _LEGACY_NAME.fullmatch(self.name) else '"' + self.name.replace('"', '\\"') + '"'
        return f'{name}{self.op}"{escaped}"'


@dataclass(frozen=True, kw_only=True)
class Node:
    pos: int = field(default=0, compare=False)

    @property
    def type(self) -> ValueType:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class NumberLiteral(Node):
    value: float

    @property
    def type(self) -> ValueType:
        return "scalar"


@dataclass(frozen=True, kw_only=True)
class StringLiteral(Node):
    value: str

    @property
    def type(self) -> ValueType:
        return "string"


@dataclass(frozen=True, kw_only=True)
class VectorSelector(Node):
    """``name{matchers} offset d``; ``matchers`` include ``__name__="name"`` when a name is given."""

    name: str | None
    matchers: tuple[Matcher, ...]
    offset_us: int = 0

    @property
    def type(self) -> ValueType:
        return "vector"


@dataclass(frozen=True, kw_only=True)
class MatrixSelector(Node):
    """``selector[range]`` (the offset lives on the inner selector, as in Prometheus)."""

    selector: VectorSelector
    range_us: int

    @property
    def type(self) -> ValueType:
        return "matrix"


@dataclass(frozen=True, kw_only=True)
class Subquery(Node):
    """``expr[range:step] offset d``: ``expr`` evaluated at every multiple of ``step_us`` since the
    epoch (``None``: the evaluation interval), read back as a range vector."""

    expr: Node
    range_us: int
    step_us: int | None = None
    offset_us: int = 0

    @property
    def type(self) -> ValueType:
        return "matrix"


@dataclass(frozen=True, kw_only=True)
class Call(Node):
    func: str
    args: tuple[Node, ...]
    return_type: ValueType = "vector"

    @property
    def type(self) -> ValueType:
        return self.return_type


@dataclass(frozen=True, kw_only=True)
class Aggregate(Node):
    """``op [by|without (labels)] ([param,] expr)``."""

    op: str
    expr: Node
    param: Node | None = None
    grouping: tuple[str, ...] = ()
    without: bool = False

    @property
    def type(self) -> ValueType:
        return "vector"


@dataclass(frozen=True, kw_only=True)
class VectorMatching:
    """``on``/``ignoring`` labels and the cardinality: ``one-to-one``, ``many-to-one``
    (``group_left``), ``one-to-many`` (``group_right``) or ``many-to-many`` (set operators)."""

    card: Literal["one-to-one", "many-to-one", "one-to-many", "many-to-many"] = "one-to-one"
    labels: tuple[str, ...] = ()
    on: bool = False
    include: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Binary(Node):
    op: str
    lhs: Node
    rhs: Node
    matching: VectorMatching | None = None
    return_bool: bool = False

    @property
    def type(self) -> ValueType:
        if self.lhs.type == "scalar" and self.rhs.type == "scalar":
            return "scalar"
        return "vector"


@dataclass(frozen=True, kw_only=True)
class Unary(Node):
    op: Literal["+", "-"]
    expr: Node

    @property
    def type(self) -> ValueType:
        return self.expr.type


@dataclass(frozen=True, kw_only=True)
class Paren(Node):
    expr: Node

    @property
    def type(self) -> ValueType:
        return self.expr.type


def walk(node: Node):  # type: ignore[no-untyped-def]
    """Every node of the tree, depth first (the node itself first)."""
    yield node
    if isinstance(node, MatrixSelector):
        yield from walk(node.selector)
    elif isinstance(node, Call):
        for arg in node.args:
            yield from walk(arg)
    elif isinstance(node, Aggregate):
        if node.param is not None:
            yield from walk(node.param)
        yield from walk(node.expr)
    elif isinstance(node, Binary):
        yield from walk(node.lhs)
        yield from walk(node.rhs)
    elif isinstance(node, Unary | Paren | Subquery):
        yield from walk(node.expr)


def selector_reaches(node: Node, extra: int = 0):  # type: ignore[no-untyped-def]
    """Every vector selector with how far before an evaluation instant it reads samples (µs), not
    counting the lookback: its offset, plus its range inside a range selector, plus the range and
    offset of every enclosing subquery."""
    if isinstance(node, VectorSelector):
        yield node, extra + node.offset_us
    elif isinstance(node, MatrixSelector):
        yield node.selector, extra + node.range_us + node.selector.offset_us
    elif isinstance(node, Subquery):
        yield from selector_reaches(node.expr, extra + node.range_us + node.offset_us)
    elif isinstance(node, Call):
        for arg in node.args:
            yield from selector_reaches(arg, extra)
    elif isinstance(node, Aggregate):
        if node.param is not None:
            yield from selector_reaches(node.param, extra)
        yield from selector_reaches(node.expr, extra)
    elif isinstance(node, Binary):
        yield from selector_reaches(node.lhs, extra)
        yield from selector_reaches(node.rhs, extra)
    elif isinstance(node, Unary | Paren):
        yield from selector_reaches(node.expr, extra)
