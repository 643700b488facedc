"""Reading alertmanager.yml as Alertmanager does: matchers in every syntax, the route tree and its
inheritance, receivers and their send_resolved defaults, and a ConfigError naming file, line and
field for everything Alertmanager would reject (and for unknown keys)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from alertsim.errors import ConfigError
from alertsim.notify import AlertmanagerConfig, load_alertmanager_config, parse_matchers
from tests.conftest import REPO, require_binary

# --- matchers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "parsed"), [
    ('severity="page"', ['severity="page"']),
    ("severity = page", ['severity="page"']),                     # unquoted value, spaces
    ('severity=~"page|critical"', ['severity=~"page|critical"']),
    ('env!="prod"', ['env!="prod"']),
    ('env!~"dev.*"', ['env!~"dev.*"']),
    ('{a="1", b=~"x"}', ['a="1"', 'b=~"x"']),                    # braces, several matchers
    ('a="1",b="2"', ['a="1"', 'b="2"']),
    ('msg="a, b"', ['msg="a, b"']),                               # a comma inside quotes
    (r'msg="say \"hi\""', [r'msg="say \"hi\""']),                  # escaped quotes
    ('"service.name"="x"', ['service.name="x"']),                 # quoted (UTF-8) label name
    ("a=", ['a=""']),                                             # empty value
])
def test_matcher_syntaxes(text, parsed):
    assert [str(m) for m in parse_matchers(text)] == parsed


@pytest.mark.parametrize(("text", "message"), [
    ("severity", "bad matcher"),
    ('a="b', "closing double quote"),
    ('a=x"y', "unescaped double quote"),
    ('1a="b"', "bad matcher"),
    ('a=~"("', "invalid regular expression"),
])
def test_bad_matchers(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_matchers(text)


@pytest.mark.parametrize(("matcher", "labels", "matches"), [
    ('team=""', {}, True),                      # a missing label is the empty string
    ('team!=""', {}, False),
    ('team=~"a"', {"team": "abc"}, False),      # regular expressions are anchored
    ('team=~"a.*"', {"team": "abc"}, True),
    ('team!~"a.*"', {"team": "abc"}, False),
    ('team=~"a|"', {}, True),
])
def test_matcher_semantics(matcher, labels, matches):
    assert parse_matchers(matcher)[0].matches(labels) is matches


# --- the route tree ------------------------------------------------------------------------------

TREE = """
route:
  receiver: default
  group_by: [alertname, service]
  group_wait: 10s
  repeat_interval: 3h
  routes:
  - matchers: ['severity="page"']
    match_re: {service: "checkout|search"}
    match: {team: storefront}
    receiver: storefront
    group_interval: 2m
    mute_time_intervals: [nights]
    routes:
    - matchers: [env="staging"]
      group_by: ['...']
  - matchers: [severity="ticket"]
    group_by: []
    receiver: tickets
time_intervals:
- name: nights
  time_intervals: [{times: [{start_time: "22:00", end_time: "24:00"}]}]
receivers:
- name: default
- name: storefront
  pagerduty_configs: [{routing_key: x}]
- name: tickets
  email_configs: [{to: t@example.com, from: am@example.com, smarthost: "smtp.example.com:25"}]
"""


@pytest.fixture(scope="module")
def tree() -> AlertmanagerConfig:
    return AlertmanagerConfig.from_yaml(TREE)


def test_route_options_are_inherited(tree):
    root = tree.route
    pager, tickets = root.routes
    staging = pager.routes[0]
    assert (root.group_wait, root.group_interval, root.repeat_interval) == (
        timedelta(seconds=10), timedelta(minutes=5), timedelta(hours=3))
    assert (pager.group_wait, pager.group_interval, pager.repeat_interval) == (
        timedelta(seconds=10), timedelta(minutes=2), timedelta(hours=3))
    assert staging.group_interval == timedelta(minutes=2) and staging.receiver == "storefront"
    assert staging.group_by_all and not pager.group_by_all
    assert tickets.group_by == ("alertname", "service")      # an empty list inherits (Alertmanager 0.25)
    assert pager.mute_time_intervals == ("nights",) and staging.mute_time_intervals == ()


def test_route_keys_are_alertmanagers(tree):
    assert [r.key for r in tree.routes()] == [
        "{}",
        '{}/{service=~"checkout|search",severity="page",team="storefront"}',
        '{}/{service=~"checkout|search",severity="page",team="storefront"}/{env="staging"}',
        '{}/{severity="ticket"}',
    ]


@pytest.mark.parametrize(("labels", "receivers"), [
    ({"severity": "page", "service": "search", "team": "storefront"}, ["storefront"]),
    ({"severity": "page", "service": "search", "team": "storefront", "env": "staging"}, ["storefront"]),
    ({"severity": "page", "service": "payments", "team": "storefront"}, ["default"]),
    ({"severity": "ticket"}, ["tickets"]),
    ({}, ["default"]),
])
def test_routing(tree, labels, receivers):
    assert [r.receiver for r in tree.route.match(labels)] == receivers


#: The least each integration needs for Alertmanager to load it.
MINIMAL = {
    "webhook": "{url: 'http://hook'}",
    "email": "{to: a@example.com, from: am@example.com, smarthost: 'smtp:25'}",
    "pagerduty": "{routing_key: k}", "slack": "{api_url: 'http://hook'}", "opsgenie": "{api_key: k}",
    "wechat": "{api_secret: s, corp_id: c}", "pushover": "{user_key: u, token: t}",
    "victorops": "{api_key: k, routing_key: r}", "sns": "{topic_arn: 'arn:aws:sns:x'}",
    "telegram": "{bot_token: t, chat_id: 1}", "discord": "{webhook_url: 'http://hook'}",
    "webex": "{room_id: r, http_config: {authorization: {credentials: c}}}",
    "msteams": "{webhook_url: 'http://hook'}", "msteamsv2": "{webhook_url: 'http://hook'}",
    "jira": "{api_url: 'http://jira', project: P, issue_type: Bug}", "rocketchat": "{token: t, token_id: i}",
    "mattermost": "{webhook_url: 'http://hook'}", "incidentio": "{url: 'http://hook', alert_source_token: t}",
}


@pytest.mark.parametrize(("kind", "send_resolved"), [
    ("webhook", True), ("email", False), ("pagerduty", True), ("slack", False), ("opsgenie", True),
    ("wechat", False), ("pushover", True), ("victorops", True), ("sns", True), ("telegram", True),
    ("discord", True), ("webex", True), ("msteams", True), ("msteamsv2", True), ("jira", True),
    ("rocketchat", False), ("mattermost", True), ("incidentio", True),
])
def test_send_resolved_defaults(kind, send_resolved):
    config = AlertmanagerConfig.from_yaml(f"route: {{receiver: r}}\nreceivers: [{{name: r, {kind}_configs: "
                                          f"[{MINIMAL[kind]}]}}]")
    (integration,) = config.receivers["r"].integrations
    assert (integration.name, integration.send_resolved) == (f"{kind}[0]", send_resolved)


def test_send_resolved_can_be_set_and_receivers_know_if_they_page():
    config = AlertmanagerConfig.from_yaml("""
global: {slack_api_url: "https://hooks.slack.com/services/x", opsgenie_api_key: k}
route: {receiver: r}
receivers:
- name: r
  slack_configs: [{send_resolved: true}, {}]
  opsgenie_configs: [{send_resolved: false}]
- name: quiet
""")
    r = config.receivers["r"]
    assert [(i.name, i.send_resolved) for i in r.integrations] == [
        ("slack[0]", True), ("slack[1]", False), ("opsgenie[0]", False)]
    assert r.pages and not config.receivers["quiet"].pages


# --- errors name the file, line and field --------------------------------------------------------

OK = "route:\n  receiver: r\nreceivers:\n- name: r\n"


@pytest.mark.parametrize(("text", "field", "line", "message"), [
    ("rout: {}\n" + OK, "rout", 1, "unknown key 'rout'"),
    ("route:\n  receiver: r\n  group_wiat: 1s\nreceivers: [{name: r}]", "route.group_wiat", 3, "unknown key"),
    (OK + "  pagerduty_configs:\n  - routing_kye: x\n", "receivers[0].pagerduty_configs[0].routing_kye", 6,
     "unknown key"),
    (OK + "  teams_configs: [{}]\n", "receivers[0].teams_configs", 5, "unknown key"),
    ("route:\n  receiver: r\n  routes:\n  - matchers: ['a=\"b']\nreceivers: [{name: r}]",
     "route.routes[0].matchers[0]", 4, "closing double quote"),
    ("route:\n  receiver: nobody\nreceivers: [{name: r}]", "route.receiver", 2, "undefined receiver 'nobody'"),
    ("route:\n  receiver: r\n  matchers: [a=b]\nreceivers: [{name: r}]", "route.matchers", 3,
     "root route must not have any matchers"),
    ("route:\n  group_by: [a]\nreceivers: [{name: r}]", "route.receiver", 2, "default receiver"),
    ("route:\n  receiver: r\n  group_by: ['...', a]\nreceivers: [{name: r}]", "route.group_by", 3, "wildcard"),
    ("route:\n  receiver: r\n  group_by: [a, a]\nreceivers: [{name: r}]", "route.group_by[1]", 3, "duplicated"),
    ("route:\n  receiver: r\n  group_by: [a-b]\nreceivers: [{name: r}]", "route.group_by[0]", 3,
     "invalid label name"),
    ("route:\n  receiver: r\n  group_interval: 0s\nreceivers: [{name: r}]", "route.group_interval", 3,
     "cannot be zero"),
    ("route:\n  receiver: r\n  repeat_interval: 5 min\nreceivers: [{name: r}]", "route.repeat_interval", 3,
     "not a duration"),
    ("route:\n  receiver: r\n  continue: maybe\nreceivers: [{name: r}]", "route.continue", 3, "true or false"),
    (OK + "- name: r\n", "receivers[1].name", 5, "not unique"),
    ("route: {receiver: r}\nreceivers:\n- name: r\n- webhook_configs: []\n", "receivers[1].name", 4,
     "missing name"),
    (OK + "  webhook_configs: [{send_resolved: yes please}]\n", "receivers[0].webhook_configs[0].send_resolved",
     5, "true or false"),
    ("route:\n  receiver: r\n  routes: [{mute_time_intervals: [never]}]\nreceivers: [{name: r}]",
     "route.routes[0].mute_time_intervals[0]", 3, "undefined time interval"),
    (OK + "time_intervals:\n- name: t\n  time_intervals: [{weekdays: [funday]}]\n",
     "time_intervals[0].time_intervals[0].weekdays[0]", 7, "not valid"),
    (OK + "time_intervals:\n- name: t\n  time_intervals: [{times: [{start_time: '10:00', end_time: '09:00'}]}]\n",
     "time_intervals[0].time_intervals[0].times[0]", 7, "before end_time"),
    (OK + "time_intervals:\n- name: t\n  time_intervals: [{location: Mars/Olympus}]\n",
     "time_intervals[0].time_intervals[0].location", 7, "unknown time zone"),
    (OK + "inhibit_rules:\n- source_matchers: [a=b]\n  target_matcher: [c=d]\n", "inhibit_rules[0].target_matcher",
     7, "unknown key"),
    (OK + "inhibit_rules:\n- source_match_re: {a: '('}\n", "inhibit_rules[0].source_match_re.a", 6,
     "invalid regular expression"),
    ("route:\n  receiver: r\n  receiver: s\nreceivers: [{name: r}]", "receiver", 3, "duplicate key"),
    ("receivers: [{name: r}]\n", "route", 1, "no routes provided"),
])
def test_errors_name_file_line_and_field(tmp_path: Path, text, field, line, message):
    path = tmp_path / "alertmanager.yml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        load_alertmanager_config(path)
    assert (err.value.file, err.value.field, err.value.line) == (str(path), field, line)
    assert str(path) in str(err.value)


def test_invalid_yaml_and_missing_files_are_config_errors(tmp_path: Path):
    path = tmp_path / "alertmanager.yml"
    path.write_text("route: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_alertmanager_config(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_alertmanager_config(tmp_path / "missing.yml")


# --- the shipped examples are real Alertmanager configurations ----------------------------------

EXAMPLES = sorted((REPO / "data" / "alertmanager").glob("*.yml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_load(path):
    config = load_alertmanager_config(path)
    assert config.route.receiver in config.receivers


@pytest.mark.alertmanager
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_pass_amtool(path):
    import subprocess

    amtool = require_binary("amtool", package="prometheus-alertmanager")
    result = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_routes_built_in_code_are_checked_too():
    from alertsim.notify import Route

    with pytest.raises(ConfigError, match="group_interval must be positive"):
        Route(receiver="r", group_interval=timedelta(0))
