"""Read an ``alertmanager.yml`` as it is into frozen records: the route tree (with inherited timers
and ``group_by``), receivers and their integrations, inhibition rules and named time intervals.

Validation follows Alertmanager's own loader (strict YAML: unknown or duplicate keys are errors; the
root route needs a receiver and no matchers; every receiver and time interval a route names must
exist; ``group_by`` cannot mix ``...`` with labels; ``group_interval``/``repeat_interval`` cannot
be zero). Integration settings other than ``send_resolved`` do not affect timing; they are checked
for unknown keys and for what Alertmanager requires of them (a PagerDuty key, a Slack URL or app token,
at most one of a value and its ``_file``, ...; see ``alertsim.notify._secrets``). A Kubernetes
``Secret`` holding the configuration under ``alertmanager.yaml`` is read as that configuration.

>>> config = AlertmanagerConfig.from_yaml('''
... route:
...   receiver: default
...   routes:
...     - matchers: ['severity="page"']
...       receiver: pager
...       group_wait: 10s
... receivers:
...   - name: default
...   - name: pager
...     pagerduty_configs: [{routing_key: x}]
... ''')
>>> [r.receiver for r in config.route.match({"severity": "page"})]
['pager']
>>> config.route.routes[0].group_interval     # inherited from the root's default
datetime.timedelta(seconds=300)
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from alertsim.durations import parse_duration
from alertsim.errors import ConfigError
from alertsim.notify._matchers import (
    LABEL_NAME,
    Matcher,
    compile_regex,
    matchers_string,
    parse_matchers,
)
from alertsim.notify._secrets import problems
from alertsim.notify.timeintervals import TimeInterval, parse_time_interval

DEFAULT_GROUP_WAIT = timedelta(seconds=30)
DEFAULT_GROUP_INTERVAL = timedelta(minutes=5)
DEFAULT_REPEAT_INTERVAL = timedelta(hours=4)

PAGING_INTEGRATIONS = frozenset({"pagerduty", "opsgenie", "victorops"})
"""Integrations whose receivers page a person by default (see ``notify(paging_receivers=...)``)."""

_HTTP = "http_config"
# Per integration: send_resolved default and the keys it accepts (Alertmanager's notifier configs).
INTEGRATIONS: dict[str, tuple[bool, frozenset[str]]] = {
    "webhook": (True, frozenset({_HTTP, "url", "url_file", "max_alerts", "timeout", "payload"})),
    "email": (False, frozenset({
        "to", "from", "hello", "smarthost", "auth_username", "auth_password", "auth_password_file",
        "auth_secret", "auth_secret_file", "auth_identity", "headers", "html", "text", "require_tls",
        "tls_config", "force_implicit_tls", "threading"})),
    "pagerduty": (True, frozenset({
        _HTTP, "service_key", "service_key_file", "routing_key", "routing_key_file", "url", "client",
        "client_url", "description", "details", "images", "links", "source", "severity", "class",
        "component", "group", "timeout"})),
    "slack": (False, frozenset({
        _HTTP, "api_url", "api_url_file", "app_token", "app_token_file", "app_url", "channel", "username",
        "color", "title", "title_link", "pretext", "text", "message_text", "fields", "short_fields",
        "footer", "fallback", "callback_id", "icon_emoji", "icon_url", "image_url", "thumb_url",
        "link_names", "mrkdwn_in", "actions", "update_message", "timeout"})),
    "opsgenie": (True, frozenset({
        _HTTP, "api_key", "api_key_file", "api_url", "message", "description", "source", "details",
        "entity", "responders", "actions", "tags", "note", "priority", "update_alerts"})),
    "wechat": (False, frozenset({
        _HTTP, "api_secret", "api_secret_file", "corp_id", "message", "api_url", "to_user", "to_party",
        "to_tag", "agent_id", "message_type"})),
    "pushover": (True, frozenset({
        _HTTP, "user_key", "user_key_file", "token", "token_file", "title", "message", "url", "url_title",
        "device", "sound", "priority", "retry", "expire", "ttl", "html", "monospace"})),
    "victorops": (True, frozenset({
        _HTTP, "api_key", "api_key_file", "api_url", "routing_key", "message_type", "state_message",
        "entity_display_name", "monitoring_tool", "custom_fields"})),
    "sns": (True, frozenset({
        _HTTP, "api_url", "sigv4", "topic_arn", "phone_number", "target_arn", "subject", "message",
        "attributes", "use_aws_http_client"})),
    "telegram": (True, frozenset({
        _HTTP, "api_url", "bot_token", "bot_token_file", "chat_id", "chat_id_file", "message_thread_id",
        "message", "disable_notifications", "parse_mode"})),
    "discord": (True, frozenset({
        _HTTP, "webhook_url", "webhook_url_file", "content", "title", "message", "username", "avatar_url"})),
    "webex": (True, frozenset({_HTTP, "api_url", "message", "room_id"})),
    "msteams": (True, frozenset({_HTTP, "webhook_url", "webhook_url_file", "title", "summary", "text"})),
    "msteamsv2": (True, frozenset({_HTTP, "webhook_url", "webhook_url_file", "title", "text"})),
    "jira": (True, frozenset({
        _HTTP, "api_url", "api_type", "project", "summary", "description", "labels", "priority",
        "issue_type", "reopen_transition", "resolve_transition", "wont_fix_resolution",
        "reopen_duration", "fields"})),
    "rocketchat": (False, frozenset({
        _HTTP, "api_url", "token_id", "token_id_file", "token", "token_file", "channel", "color", "title",
        "title_link", "text", "fields", "short_fields", "emoji", "icon_url", "image_url", "thumb_url",
        "link_names", "actions"})),
    "mattermost": (True, frozenset({
        _HTTP, "webhook_url", "webhook_url_file", "channel", "username", "text", "fallback", "color",
        "pretext", "author_name", "author_link", "author_icon", "title", "title_link", "fields",
        "thumb_url", "footer", "footer_icon", "image_url", "icon_url", "icon_emoji", "attachments",
        "type", "props", "priority"})),
    "incidentio": (True, frozenset({
        _HTTP, "url", "url_file", "alert_source_token", "alert_source_token_file", "max_alerts",
        "timeout"})),
}

_GLOBAL_KEYS = frozenset({
    "resolve_timeout", "http_config", "jira_api_url", "smtp_from", "smtp_hello", "smtp_smarthost",
    "smtp_auth_username", "smtp_auth_password", "smtp_auth_password_file", "smtp_auth_secret",
    "smtp_auth_secret_file", "smtp_auth_identity", "smtp_require_tls", "smtp_tls_config",
    "smtp_force_implicit_tls", "slack_api_url", "slack_api_url_file", "slack_app_token",
    "slack_app_token_file", "slack_app_url", "pagerduty_url", "opsgenie_api_url", "opsgenie_api_key",
    "opsgenie_api_key_file", "wechat_api_url", "wechat_api_secret", "wechat_api_secret_file",
    "wechat_api_corp_id", "victorops_api_url", "victorops_api_key", "victorops_api_key_file",
    "telegram_api_url", "telegram_bot_token", "telegram_bot_token_file", "webex_api_url",
    "rocketchat_api_url", "rocketchat_token", "rocketchat_token_file", "rocketchat_token_id",
    "rocketchat_token_id_file", "mattermost_webhook_url", "mattermost_webhook_url_file"})
_TOP_KEYS = frozenset({"global", "route", "inhibit_rules", "receivers", "templates", "mute_time_intervals",
                       "time_intervals", "tracing", "event_recorder"})
_ROUTE_KEYS = frozenset({"receiver", "group_by", "match", "match_re", "matchers", "mute_time_intervals",
                         "active_time_intervals", "continue", "routes", "group_wait", "group_interval",
                         "repeat_interval", "labels"})
_INHIBIT_KEYS = frozenset({"name", "source_match", "source_match_re", "source_matchers", "target_match",
                           "target_match_re", "target_matchers", "equal"})


# --- records -------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Integration:
    """One notifier of a receiver, e.g. the first ``pagerduty_configs`` entry (``pagerduty[0]``)."""

    kind: str
    index: int
    send_resolved: bool

    @property
    def name(self) -> str:
        """Alertmanager's name for it: ``pagerduty[0]``."""
        return f"{self.kind}[{self.index}]"


@dataclass(frozen=True, kw_only=True)
class Receiver:
    """A named receiver and its integrations (a receiver with none sends nothing)."""

    name: str
    integrations: tuple[Integration, ...] = ()

    @property
    def pages(self) -> bool:
        """True when it has a PagerDuty, Opsgenie or VictorOps integration."""
        return any(i.kind in PAGING_INTEGRATIONS for i in self.integrations)


@dataclass(frozen=True, kw_only=True)
class Route:
    """A node of the routing tree with its options already inherited from its parents.

    ``key`` is Alertmanager's route key (the parent's key, ``/``, this node's sorted matchers), the
    first part of every group key.
    """

    receiver: str
    matchers: tuple[Matcher, ...] = ()
    group_by: tuple[str, ...] = ()
    group_by_all: bool = False
    group_wait: timedelta = DEFAULT_GROUP_WAIT
    group_interval: timedelta = DEFAULT_GROUP_INTERVAL
    repeat_interval: timedelta = DEFAULT_REPEAT_INTERVAL
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()
    continue_matching: bool = False
    routes: tuple[Route, ...] = ()
    key: str = "{}"

    def __post_init__(self) -> None:
        for name in ("group_interval", "repeat_interval"):
            if getattr(self, name) <= timedelta(0):
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}", field=name)
        if self.group_wait < timedelta(0):
            raise ConfigError(f"group_wait must not be negative, got {self.group_wait}", field="group_wait")

    def match(self, labels: Mapping[str, str]) -> list[Route]:
        """The routes an alert with ``labels`` is delivered to (Alertmanager's ``Route.Match``)."""
        if not all(m.matches(labels) for m in self.matchers):
            return []
        found: list[Route] = []
        for child in self.routes:
            hits = child.match(labels)
            found += hits
            if hits and not child.continue_matching:
                break
        return found or [self]

    def walk(self) -> list[Route]:
        """This node and all its descendants, depth first."""
        out = [self]
        for child in self.routes:
            out += child.walk()
        return out


@dataclass(frozen=True, kw_only=True)
class InhibitRule:
    """Mute alerts matching ``target_matchers`` while an alert matching ``source_matchers`` fires with
    the same values of the ``equal`` labels (a missing label equals ``""``)."""

    source_matchers: tuple[Matcher, ...] = ()
    target_matchers: tuple[Matcher, ...] = ()
    equal: tuple[str, ...] = ()
    name: str | None = None


@dataclass(frozen=True, kw_only=True)
class AlertmanagerConfig:
    """A parsed ``alertmanager.yml``: the route tree, receivers, inhibition rules and time intervals."""

    route: Route
    receivers: Mapping[str, Receiver]
    inhibit_rules: tuple[InhibitRule, ...] = ()
    time_intervals: Mapping[str, tuple[TimeInterval, ...]] = field(default_factory=dict)
    file: str | None = None

    @classmethod
    def from_yaml(cls, text: str, *, file: str = "<string>") -> AlertmanagerConfig:
        """Parse the text of an ``alertmanager.yml``, or of a Kubernetes ``Secret`` holding one under
        the key ``alertmanager.yaml`` (``stringData``, or base64 in ``data``), as prometheus-operator
        and kube-prometheus deploy it; lines are then lines of the embedded configuration.

        >>> import base64
        >>> embedded = base64.b64encode(b"route: {receiver: x}\\nreceivers: [{name: x}]\\n").decode()
        >>> secret = f"apiVersion: v1\\nkind: Secret\\ndata:\\n  alertmanager.yaml: {embedded}\\n"
        >>> AlertmanagerConfig.from_yaml(secret).route.receiver
        'x'
        """
        raw = _load_yaml(text, file)
        if isinstance(raw, dict) and raw.get("kind") == "Secret" and "apiVersion" in raw:
            text, file = _from_secret(raw, file)
            raw = _load_yaml(text, file)
        return _Parser(file).config(raw)

    def routes(self) -> list[Route]:
        """Every route of the tree, depth first from the root."""
        return self.route.walk()


def load_alertmanager_config(path: str | os.PathLike[str]) -> AlertmanagerConfig:
    """Read an ``alertmanager.yml`` file as Alertmanager would.

    Parameters
    ----------
    path : the configuration file.

    Returns
    -------
    AlertmanagerConfig

    Raises
    ------
    ConfigError
        naming the file, line and field of anything Alertmanager would reject, and of unknown keys.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "am.yml"
    >>> _ = path.write_text("route: {receiver: x}\\nreceivers: [{name: x}]\\n")
    >>> load_alertmanager_config(path).route.receiver
    'x'
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read Alertmanager config: {exc.strerror or exc}", file=str(path)) from None
    return AlertmanagerConfig.from_yaml(text, file=str(path))


SECRET_KEY = "alertmanager.yaml"


def _from_secret(secret: Mapping[str, Any], file: str) -> tuple[str, str]:
    """The configuration text a Kubernetes Secret holds, and how to name it in messages."""
    meta = secret.get("metadata")
    name = meta.get("name") if isinstance(meta, Mapping) else None
    where = f"{file} (Secret {name or '?'}, key {SECRET_KEY})"
    for section, encoded in (("stringData", False), ("data", True)):
        values = secret.get(section)
        if not isinstance(values, Mapping) or SECRET_KEY not in values:
            continue
        value = values[SECRET_KEY]
        if not isinstance(value, str):
            raise ConfigError(f"{section}.{SECRET_KEY} must be text, got {value!r}", file=file,
                              field=f"{section}.{SECRET_KEY}")
        if not encoded:
            return value, where
        try:
            return base64.b64decode(value, validate=True).decode("utf-8"), where
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ConfigError(f"data.{SECRET_KEY} is not base64-encoded UTF-8 text: {exc}", file=file,
                              field=f"data.{SECRET_KEY}") from None
    keys = sorted({str(k) for section in ("stringData", "data")
                   if isinstance(secret.get(section), Mapping) for k in secret[section]})
    raise ConfigError(f"this Kubernetes Secret holds no {SECRET_KEY} (the key prometheus-operator reads); "
                      f"its keys: {keys or 'none'}", file=file, field="data")


# --- YAML with line numbers ----------------------------------------------------------------------

class _Map(dict[Any, Any]):
    """A mapping that remembers the line of each key (1-based)."""

    line: int = 0
    lines: dict[Any, int]


class _Seq(list[Any]):
    line: int = 0
    lines: list[int]


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    out = _Map()
    out.line = node.start_mark.line + 1
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise ConfigError(f"duplicate key {key!r}", line=key_node.start_mark.line + 1, field=str(key))
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> _Seq:
    out = _Seq(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)  # type: ignore[arg-type]
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)  # type: ignore[arg-type]


def _load_yaml(text: str, file: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except ConfigError as exc:
        raise ConfigError(_message(exc), file=file, field=exc.field, line=exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}", file=file,
                          line=mark.line + 1 if mark else None) from None


# --- parser --------------------------------------------------------------------------------------

class _Parser:
    def __init__(self, file: str):
        self.file = file

    def error(self, message: str, where: str, container: Any = None, key: Any = None) -> ConfigError:
        line = None
        if isinstance(container, _Map):
            line = container.lines.get(key, container.line) if key is not None else container.line
        elif isinstance(container, _Seq):
            line = container.lines[key] if isinstance(key, int) and key < len(container.lines) else container.line
        return ConfigError(message, file=self.file, field=where, line=line)

    @staticmethod
    def locate(top: _Map, where: str) -> tuple[Any, Any]:
        """The container and key of the node at ``where`` (``receivers[0].slack_configs[1]``)."""
        container: Any = top
        key: Any = None
        for part in where.replace("]", "").split("."):
            name, _, index = part.partition("[")
            for step in (name, int(index)) if index else (name,):
                if key is not None:
                    container = container[key] if isinstance(container, dict | list) else container
                key = step
        return container, key

    def mapping(self, value: Any, where: str, allowed: frozenset[str], parent: Any = None,
                key: Any = None) -> _Map:
        if not isinstance(value, dict):
            raise self.error(f"expected a mapping, got {value!r}", where, parent, key)
        for name in value:
            if name not in allowed:
                raise self.error(f"unknown key {name!r}; allowed: {', '.join(sorted(allowed))}",
                                 f"{where}.{name}" if where else str(name), value, name)
        return value if isinstance(value, _Map) else _Map(value)

    def sequence(self, value: Any, where: str, parent: Any, key: Any) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(f"expected a list, got {value!r}", where, parent, key)
        return value

    def string(self, value: Any, where: str, parent: Any, key: Any) -> str:
        if not isinstance(value, str):
            raise self.error(f"expected a string, got {value!r}", where, parent, key)
        return value

    def duration(self, value: Any, where: str, parent: Any, key: Any) -> timedelta:
        if value == 0 and not isinstance(value, bool):
            return timedelta(0)
        try:
            return parse_duration(value if isinstance(value, str) else repr(value), field=where)
        except ConfigError as exc:
            raise self.error(_message(exc), where, parent, key) from None

    def matcher_list(self, value: Any, where: str, parent: Any, key: Any) -> tuple[Matcher, ...]:
        found: list[Matcher] = []
        for i, item in enumerate(self.sequence(value, where, parent, key)):
            text = self.string(item, f"{where}[{i}]", value, i)
            try:
                found += parse_matchers(text)
            except ConfigError as exc:
                raise self.error(_message(exc), f"{where}[{i}]", value, i) from None
        return tuple(found)

    def equality_map(self, value: Any, where: str, parent: Any, key: Any, *, regex: bool) -> tuple[Matcher, ...]:
        if value is None:
            return ()
        if not isinstance(value, dict):
            raise self.error(f"expected a mapping of label name to value, got {value!r}", where, parent, key)
        found = []
        for name, raw in value.items():
            if not isinstance(name, str) or not LABEL_NAME.match(name):
                raise self.error(f"invalid label name {name!r}", f"{where}.{name}", value, name)
            text = self.string(raw, f"{where}.{name}", value, name) if regex else _scalar_text(raw)
            try:
                if regex:
                    compile_regex(text, field=f"{where}.{name}")
                found.append(Matcher(name=name, op="=~" if regex else "=", value=text))
            except ConfigError as exc:
                raise self.error(_message(exc), f"{where}.{name}", value, name) from None
        return tuple(found)

    # sections

    def config(self, raw: Any) -> AlertmanagerConfig:
        if raw is None:
            raise ConfigError("empty configuration; Alertmanager needs at least route and receivers",
                              file=self.file)
        top = self.mapping(raw, "", _TOP_KEYS)
        if top.get("global") is not None:
            self.mapping(top["global"], "global", _GLOBAL_KEYS, top, "global")
        templates = self.sequence(top.get("templates"), "templates", top, "templates")
        for i, item in enumerate(templates):
            self.string(item, f"templates[{i}]", templates, i)
        receivers = self.receivers(top)
        for where, reason in problems(top):
            raise self.error(reason, where, *self.locate(top, where))
        intervals = self.time_intervals(top)
        if top.get("route") is None:
            raise self.error("no routes provided; the root route is required", "route", top, None)
        route_raw = self.mapping(top["route"], "route", _ROUTE_KEYS, top, "route")
        if not route_raw.get("receiver"):
            raise self.error("root route must specify a default receiver", "route.receiver", route_raw,
                             "receiver")
        for name in ("match", "match_re", "matchers"):
            if route_raw.get(name):
                raise self.error("root route must not have any matchers", f"route.{name}", route_raw, name)
        for name in ("mute_time_intervals", "active_time_intervals"):
            if route_raw.get(name):
                raise self.error(f"root route must not have any {name.replace('_', ' ')}", f"route.{name}",
                                 route_raw, name)
        route = self.route(route_raw, "route", None, receivers, intervals)
        rules = tuple(self.inhibit_rule(item, f"inhibit_rules[{i}]", raw_list, i)
                      for raw_list in [self.sequence(top.get("inhibit_rules"), "inhibit_rules", top,
                                                     "inhibit_rules")]
                      for i, item in enumerate(raw_list))
        return AlertmanagerConfig(route=route, receivers=receivers, inhibit_rules=rules,
                                  time_intervals=intervals, file=self.file)

    def receivers(self, top: _Map) -> dict[str, Receiver]:
        out: dict[str, Receiver] = {}
        items = self.sequence(top.get("receivers"), "receivers", top, "receivers")
        allowed = frozenset({"name", "labels", *(f"{kind}_configs" for kind in INTEGRATIONS)})
        for i, item in enumerate(items):
            where = f"receivers[{i}]"
            raw = self.mapping(item, where, allowed, items, i)
            name = raw.get("name")
            if not name:
                raise self.error("missing name in receiver", f"{where}.name", raw, None)
            name = self.string(name, f"{where}.name", raw, "name")
            if name in out:
                raise self.error(f"receiver name {name!r} is not unique", f"{where}.name", raw, "name")
            integrations: list[Integration] = []
            for key, value in raw.items():
                if key in ("name", "labels"):
                    continue
                kind = key.removesuffix("_configs")
                default_resolved, keys = INTEGRATIONS[kind]
                entries = self.sequence(value, f"{where}.{key}", raw, key)
                for j, entry in enumerate(entries):
                    spot = f"{where}.{key}[{j}]"
                    entry_map = self.mapping(entry, spot, keys | {"send_resolved"}, entries, j)
                    send_resolved = entry_map.get("send_resolved", default_resolved)
                    if not isinstance(send_resolved, bool):
                        raise self.error(f"send_resolved must be true or false, got {send_resolved!r}",
                                         f"{spot}.send_resolved", entry_map, "send_resolved")
                    integrations.append(Integration(kind=kind, index=j, send_resolved=send_resolved))
            out[name] = Receiver(name=name, integrations=tuple(integrations))
        return out

    def time_intervals(self, top: _Map) -> dict[str, tuple[TimeInterval, ...]]:
        out: dict[str, tuple[TimeInterval, ...]] = {}
        for section in ("mute_time_intervals", "time_intervals"):
            items = self.sequence(top.get(section), section, top, section)
            for i, item in enumerate(items):
                where = f"{section}[{i}]"
                raw = self.mapping(item, where, frozenset({"name", "time_intervals"}), items, i)
                if not raw.get("name"):
                    raise self.error("missing name in time interval", f"{where}.name", raw, None)
                name = self.string(raw["name"], f"{where}.name", raw, "name")
                if name in out:
                    raise self.error(f"time interval {name!r} is not unique", f"{where}.name", raw, "name")
                entries = self.sequence(raw.get("time_intervals"), f"{where}.time_intervals", raw,
                                        "time_intervals")
                parsed = []
                for j, entry in enumerate(entries):
                    spot = f"{where}.time_intervals[{j}]"
                    try:
                        parsed.append(parse_time_interval(entry, field=spot))
                    except ConfigError as exc:
                        raise self.error(_message(exc), exc.field or spot, entries, j) from None
                out[name] = tuple(parsed)
        return out

    def route(self, raw: _Map, where: str, parent: Route | None, receivers: Mapping[str, Receiver],
              intervals: Mapping[str, Any]) -> Route:
        receiver = parent.receiver if parent else ""
        if raw.get("receiver") is not None:
            receiver = self.string(raw["receiver"], f"{where}.receiver", raw, "receiver")
            if receiver not in receivers:
                raise self.error(f"undefined receiver {receiver!r} used in route; defined: "
                                 f"{', '.join(receivers) or 'none'}", f"{where}.receiver", raw, "receiver")
        group_by = parent.group_by if parent else ()
        group_by_all = parent.group_by_all if parent else False
        if raw.get("group_by") is not None:
            labels = self.sequence(raw["group_by"], f"{where}.group_by", raw, "group_by")
            names: list[str] = []
            wildcard = False
            for i, label in enumerate(labels):
                label = self.string(label, f"{where}.group_by[{i}]", labels, i)
                if label == "...":
                    wildcard = True
                elif not LABEL_NAME.match(label):
                    raise self.error(f"invalid label name {label!r} in group_by", f"{where}.group_by[{i}]",
                                     labels, i)
                elif label in names:
                    raise self.error(f"duplicated label {label!r} in group_by", f"{where}.group_by[{i}]",
                                     labels, i)
                else:
                    names.append(label)
            if wildcard and names:
                raise self.error("cannot have wildcard group_by ('...') and other labels at the same time",
                                 f"{where}.group_by", raw, "group_by")
            if names:
                group_by, group_by_all = tuple(names), False
            elif wildcard:
                group_by_all = True
            # An empty list inherits, as in Alertmanager 0.25.
        timers: dict[str, timedelta] = {}
        for name, default in (("group_wait", DEFAULT_GROUP_WAIT), ("group_interval", DEFAULT_GROUP_INTERVAL),
                              ("repeat_interval", DEFAULT_REPEAT_INTERVAL)):
            value = getattr(parent, name) if parent else default
            if raw.get(name) is not None:
                value = self.duration(raw[name], f"{where}.{name}", raw, name)
                if name != "group_wait" and value == timedelta(0):
                    raise self.error(f"{name} cannot be zero", f"{where}.{name}", raw, name)
            timers[name] = value
        matchers = (self.equality_map(raw.get("match"), f"{where}.match", raw, "match", regex=False)
                    + self.equality_map(raw.get("match_re"), f"{where}.match_re", raw, "match_re", regex=True)
                    + self.matcher_list(raw.get("matchers"), f"{where}.matchers", raw, "matchers"))
        matchers = tuple(sorted(matchers, key=lambda m: m.sort_key))
        names_used: dict[str, tuple[str, ...]] = {}
        for name in ("mute_time_intervals", "active_time_intervals"):
            items = self.sequence(raw.get(name), f"{where}.{name}", raw, name)
            for i, item in enumerate(items):
                self.string(item, f"{where}.{name}[{i}]", items, i)
                if item not in intervals:
                    raise self.error(f"undefined time interval {item!r} used in route", f"{where}.{name}[{i}]",
                                     items, i)
            names_used[name] = tuple(items)
        if "labels" in raw and raw["labels"] is not None and not isinstance(raw["labels"], dict):
            raise self.error("expected a mapping of route labels", f"{where}.labels", raw, "labels")
        cont = raw.get("continue", False)
        if not isinstance(cont, bool):
            raise self.error(f"continue must be true or false, got {cont!r}", f"{where}.continue", raw, "continue")
        key = (f"{parent.key}/" if parent else "") + matchers_string(matchers)
        node = Route(receiver=receiver, matchers=matchers, group_by=group_by, group_by_all=group_by_all,
                     group_wait=timers["group_wait"], group_interval=timers["group_interval"],
                     repeat_interval=timers["repeat_interval"],
                     mute_time_intervals=names_used["mute_time_intervals"],
                     active_time_intervals=names_used["active_time_intervals"], continue_matching=cont,
                     key=key)
        children = self.sequence(raw.get("routes"), f"{where}.routes", raw, "routes")
        kids = tuple(self.route(self.mapping(child, f"{where}.routes[{i}]", _ROUTE_KEYS, children, i),
                                f"{where}.routes[{i}]", node, receivers, intervals)
                     for i, child in enumerate(children))
        return dataclasses.replace(node, routes=kids)

    def inhibit_rule(self, item: Any, where: str, parent: Any, index: int) -> InhibitRule:
        raw = self.mapping(item, where, _INHIBIT_KEYS, parent, index)
        source = (self.equality_map(raw.get("source_match"), f"{where}.source_match", raw, "source_match",
                                    regex=False)
                  + self.equality_map(raw.get("source_match_re"), f"{where}.source_match_re", raw,
                                      "source_match_re", regex=True)
                  + self.matcher_list(raw.get("source_matchers"), f"{where}.source_matchers", raw,
                                      "source_matchers"))
        target = (self.equality_map(raw.get("target_match"), f"{where}.target_match", raw, "target_match",
                                    regex=False)
                  + self.equality_map(raw.get("target_match_re"), f"{where}.target_match_re", raw,
                                      "target_match_re", regex=True)
                  + self.matcher_list(raw.get("target_matchers"), f"{where}.target_matchers", raw,
                                      "target_matchers"))
        equal = self.sequence(raw.get("equal"), f"{where}.equal", raw, "equal")
        for i, label in enumerate(equal):
            self.string(label, f"{where}.equal[{i}]", equal, i)
        name = raw.get("name")
        if name is not None:
            name = self.string(name, f"{where}.name", raw, "name")
        return InhibitRule(source_matchers=source, target_matchers=target, equal=tuple(equal), name=name)


def _message(exc: ConfigError) -> str:
    """The reason of a ConfigError without its "file, field" prefix (to re-raise it with more context)."""
    text = str(exc)
    where = []
    if exc.file:
        where.append(f"{exc.file}:{exc.line}" if exc.line else exc.file)
    if exc.rule:
        where.append(f"rule {exc.rule!r}")
    if exc.field:
        where.append(f"field {exc.field!r}")
    prefix = ", ".join(where) + ": "
    return text[len(prefix):] if where and text.startswith(prefix) else text


def _scalar_text(value: Any) -> str:
    """A YAML scalar as Alertmanager's string map would read it (``true`` → ``"true"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)
