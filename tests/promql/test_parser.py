"""The PromQL parser: precedence, modifiers, literals and Prometheus' type checks, case by case; and
one ConfigError per construct outside alertsim's subset, naming the construct, the rule and the line."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from alertsim.errors import ConfigError
from alertsim.promql import ast as A
from alertsim.promql.parser import PromQLSyntaxError, Unsupported, parse, parse_number, unquote
from alertsim.rules import load_rules
from alertsim.rules.prometheus import load_prometheus_rules


def show(node: A.Node) -> str:
    """A fully parenthesised rendering, to read precedence off."""
    if isinstance(node, A.Binary):
        mods = " bool" if node.return_bool else ""
        m = node.matching
        if m is not None and (m.labels or m.on):
            mods += f" {'on' if m.on else 'ignoring'}({','.join(m.labels)})"
        if m is not None and m.card in ("many-to-one", "one-to-many"):
            mods += f" {'group_left' if m.card == 'many-to-one' else 'group_right'}({','.join(m.include)})"
        return f"({show(node.lhs)} {node.op}{mods} {show(node.rhs)})"
    if isinstance(node, A.Unary):
        return f"({node.op}{show(node.expr)})"
    if isinstance(node, A.Paren):
        return show(node.expr)
    if isinstance(node, A.NumberLiteral):
        return repr(node.value)
    if isinstance(node, A.VectorSelector):
        matchers = ",".join(str(m) for m in node.matchers if not (m.name == "__name__" and node.name))
        text = (node.name or "") + (f"{{{matchers}}}" if matchers else "")
        return text + (f" offset {node.offset_us // 1_000_000}s" if node.offset_us else "")
    if isinstance(node, A.MatrixSelector):
        return f"{show(node.selector)}[{node.range_us // 1_000_000}s]"
    if isinstance(node, A.Subquery):
        step = "" if node.step_us is None else f"{node.step_us // 1_000_000}s"
        offset = f" offset {node.offset_us // 1_000_000}s" if node.offset_us else ""
        return f"{show(node.expr)}[{node.range_us // 1_000_000}s:{step}]{offset}"
    if isinstance(node, A.StringLiteral):
        return repr(node.value)
    if isinstance(node, A.Call):
        return f"{node.func}({', '.join(show(a) for a in node.args)})"
    if isinstance(node, A.Aggregate):
        grouping = f" {'without' if node.without else 'by'}({','.join(node.grouping)})" if (
            node.grouping or node.without) else ""
        param = f"{show(node.param)}, " if node.param is not None else ""
        return f"{node.op}{grouping}({param}{show(node.expr)})"
    raise TypeError(node)


@pytest.mark.parametrize(("expr", "expected"), [
    ("1 + 2 * 3", "(1.0 + (2.0 * 3.0))"),
    ("a - b - c", "((a - b) - c)"),
    ("2 ^ 3 ^ 2", "(2.0 ^ (3.0 ^ 2.0))"),
    ("-a ^ 2", "(-(a ^ 2.0))"),
    ("-a * 2", "((-a) * 2.0)"),
    ("a or b and c unless d", "(a or ((b and c) unless d))"),
    ("a > b == bool c", "((a > b) == bool c)"),
    ("a + b offset 5m", "(a + b offset 300s)"),
    ("rate(x[5m] offset 1h)", "rate(x offset 3600s[300s])"),
    ("a / on(job) group_left(team) b", "(a / on(job) group_left(team) b)"),
    ("a * ignoring(code) group_right b", "(a * ignoring(code) group_right() b)"),
    ("a and on() b", "(a and on() b)"),
    ("sum(x) by (job)", "sum by(job)(x)"),
    ("sum by (job) (x)", "sum by(job)(x)"),
    ("SUM WITHOUT (instance) (x)", "sum without(instance)(x)"),
    ("quantile by (le) (0.9, x)", "quantile by(le)(0.9, x)"),
    ("x{a='1', b!=\"2\", c=~`3.*`, d!~'4'}", 'x{a="1",b!="2",c=~"3.*",d!~"4"}'),
    ("{__name__=~'job:.*'}", '{__name__=~"job:.*"}'),
    ("job:errors:rate5m", "job:errors:rate5m"),
    ("sum # a comment\n(x)", "sum(x)"),
    ("histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))",
     "histogram_quantile(0.99, sum by(le)(rate(h_bucket[300s])))"),
    ("-1", "-1.0"),
    ("- - 2", "2.0"),
    ("time() > bool 5", "(time() > bool 5.0)"),
    ("max_over_time(rate(x[5m])[1h:1m])", "max_over_time(rate(x[300s])[3600s:60s])"),
    ("rate(x[5m:] offset 1m)", "rate(x[300s:] offset 60s)"),
    ("avg_over_time(max_over_time(sum(x)[1h:5m] offset 5m)[2h:])",
     "avg_over_time(max_over_time(sum(x)[3600s:300s] offset 300s)[7200s:])"),
    ('{"a.b/c"}', '{__name__="a.b/c"}'),
    ('{"metric.name", "label.x"="v"}', '{__name__="metric.name","label.x"="v"}'),
    ('sum by ("a.b", job) (x)', "sum by(a.b,job)(x)"),
    ("a / on(\"k.8s\") b", "(a / on(k.8s) b)"),
    ("topk by (job) (3, x)", "topk by(job)(3.0, x)"),
    ('count_values("v", x)', "count_values('v', x)"),
    ('label_join(x, "d", ",", "a", "b", "c")', "label_join(x, 'd', ',', 'a', 'b', 'c')"),
    ("round(x)", "round(x)"),
    ("hour()", "hour()"),
])
def test_parse_structure(expr: str, expected: str) -> None:
    assert show(parse(expr)) == expected


@pytest.mark.parametrize(("text", "value"), [
    ("1", 1.0), ("010", 8.0), ("0x1f", 31.0), ("1e3", 1000.0), (".5", 0.5), ("1.5e-3", 0.0015),
    ("Inf", math.inf), ("+inf", math.inf), ("0x1p-2", 0.25),
])
def test_numbers_follow_go(text: str, value: float) -> None:
    assert parse_number(text) == value


def test_nan_literal() -> None:
    assert math.isnan(parse_number("NaN"))


@pytest.mark.parametrize(("token", "value"), [
    ('"a\\nb"', "a\nb"), ("'it\\'s'", "it's"), ("`raw\\n`", "raw\\n"), ('"\\x41\\u00e9"', "Aé"),
    ('"\\101"', "A"),
])
def test_string_escapes(token: str, value: str) -> None:
    assert unquote(token) == value


@pytest.mark.parametrize(("expr", "message"), [
    ("", "no expression found"),
    ("sum(", "unclosed left parenthesis"),
    ("sum(x) +", "unexpected end of input"),
    ("rate(x)", "expected type range vector"),
    ("1 > 2", "comparisons between scalars must use BOOL"),
    ("a + bool b", "bool modifier can only be used on comparison"),
    ("1 and a", "set operator 'and' not allowed in binary scalar"),
    ("a and on(x) group_left b", "no grouping allowed for 'and'"),
    ("(a + b)[5m]", "ranges only allowed for vector selectors"),
    ("{a=''}", "at least one non-empty matcher"),
    ("x[5m]", "expression must be of type instant vector or scalar"),
    ("foo(x)", "unknown function with name 'foo'"),
    ("x offset 5m offset 1m", "offset may not be set multiple times"),
    ("x{a=~'('}", "invalid regular expression"),
    ("x[0s]", "duration must be greater than 0"),
    ("sum(x, y)", "wrong number of arguments"),
    ("a / on(x) group_left(x) b", "must not occur in ON and GROUP clause"),
    ("1[5m:1m]", "subquery is only allowed on instant vector"),
    ("x[5m:1m] offset 1m offset 2m", "offset may not be set multiple times"),
    ('count_values(1, x)', "expected type string in aggregation parameter"),
    ('topk("3", x)', "expected type scalar in aggregation parameter"),
    ('label_join(x, "a")', "expected at least 3 argument"),
    ("round(x, 1, 2)", "expected 1 to 2 argument"),
    ('label_replace(x, "a", "b", "c", 1)', "expected type string in call"),
    ('x{"a.b"="1", __name__="y"}', "vector selector must contain|metric name must not be set twice"),
    ('x{"y"}', "metric name must not be set twice"),
    ('label_replace(x, "a", "$1", "b", "(")', "invalid regular expression in label_replace"),
    ('label_replace(x, "", "$1", "b", "(.*)")', "invalid label name"),
    ('label_join(x, "a", ",", "b", "")', "invalid label name"),
])
def test_invalid_promql(expr: str, message: str) -> None:
    with pytest.raises(PromQLSyntaxError, match=message):
        parse(expr)


#: One case per construct outside the subset: (construct, expression).
UNSUPPORTED = [
    ("@ modifier", "x @ 1609746000"),
    ("negative offset", "x offset -5m"),
    ("histogram_count", "histogram_count(x)"),
    ("histogram_fraction", "histogram_fraction(0, 1, x)"),
    ("histogram_share", "histogram_share(0.5, x)"),
    ("share_gt_over_time", "share_gt_over_time(x[5m], 1)"),
    ("holt_winters", "holt_winters(x[1h], 0.5, 0.5)"),
]


@pytest.mark.parametrize(("construct", "expr"), UNSUPPORTED, ids=[c for c, _ in UNSUPPORTED])
def test_unsupported_construct_is_named(construct: str, expr: str) -> None:
    with pytest.raises(Unsupported) as info:
        parse(expr)
    assert info.value.construct == construct


@pytest.mark.parametrize(("construct", "expr"), UNSUPPORTED, ids=[c for c, _ in UNSUPPORTED])
def test_unsupported_construct_in_a_rule_file_names_rule_and_line(tmp_path: Path, construct: str,
                                                                  expr: str) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(
        "groups:\n"
        "- name: g\n"
        "  rules:\n"
        "  - record: ok:rate5m\n"
        "    expr: sum(rate(x[5m]))\n"
        "  - alert: Broken\n"
        "    expr: |\n"
        "      sum(ok:rate5m)\n"
        f"        > on() {expr}\n"
        "  - alert: Fine\n"
        "    expr: sum(ok:rate5m) > 1\n")
    with pytest.raises(ConfigError) as info:
        load_rules(path, strict=True)
    error = info.value
    assert (error.file, error.rule, error.line, error.field) == (str(path), "Broken", 9, "expr")
    assert construct in str(error)
    # Without strict, the rule is left out with the same words and the rest of the file loads.
    rules = load_rules(path)
    assert [r.name for r in rules] == ["Fine"]
    [notice] = rules.notices  # type: ignore[attr-defined]
    assert (notice.code, notice.file, notice.line, notice.rule, notice.field) == (
        "unsupported-rule", str(path), 9, "Broken", "expr")
    assert construct in notice.message and str(notice).startswith(f"{path}:9, rule 'Broken'")


@pytest.mark.parametrize(("body", "message", "line"), [
    ("- name: g\n  rules:\n  - alert: A\n    expr: x > 1\n    labels: {severity: '{{ $value }}'}\n",
     "templated label values", 6),
    ("- name: g\n  rules:\n  - alert: A\n    record: b\n    expr: x\n", "only one of 'record' and 'alert'", 4),
    ("- name: g\n  rules:\n  - expr: x\n", "one of 'record' or 'alert' must be set", 4),
    ("- name: g\n  rules:\n  - alert: A\n    exp: x\n", "unknown key", 5),
    ("- name: g\n  rules:\n  - record: a b\n    expr: x\n", "invalid recording rule name", 4),
    ("- name: g\n  rules:\n  - record: r\n    expr: x\n    for: 5m\n", "invalid field 'for'", 6),
    ("- name: g\n  query_offset: 1m\n  rules: []\n", "query_offset", 3),
    ("- name: g\n  rules: []\n- name: g\n  rules: []\n", "repeated", 4),
    ("- name: g\n  interval: 1 minute\n  rules: []\n", "not a duration", 3),
    ("- name: g\n  rules:\n  - record: a\n    expr: b\n  - record: b\n    expr: a\n", "cycle", 4),
])
def test_rule_file_errors(tmp_path: Path, body: str, message: str, line: int) -> None:
    path = tmp_path / "rules.yml"
    path.write_text("groups:\n" + body)
    with pytest.raises(ConfigError, match=message) as info:
        load_prometheus_rules(path, strict=True)
    assert info.value.line == line


def test_rule_names_are_unique_and_alertname_shared(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text("groups:\n- name: g\n  interval: 30s\n  rules:\n"
                    "  - {alert: Burn, expr: x > 1, for: 2m, labels: {severity: page, long: 1h}}\n"
                    "  - {alert: Burn, expr: x > 2, keep_firing_for: 5m, labels: {drop: ''}}\n"
                    "  - {alert: Other, expr: x > 3, annotations: {summary: 'x is {{ $value }}'}}\n")
    rules = load_rules(path)
    assert [(r.name, r.alertname, r.kind) for r in rules] == [
        ("Burn[1]", "Burn", "promql"), ("Burn[2]", "Burn", "promql"), ("Other", "Other", "promql")]
    first, second, other = rules
    assert (first.for_.total_seconds(), first.interval.total_seconds(), first.severity) == (120, 30, "page")
    assert second.keep_firing_for.total_seconds() == 300 and second.labels == {}
    assert other.annotations == {"summary": "x is {{ $value }}"}
