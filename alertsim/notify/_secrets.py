"""The settings Alertmanager requires of receivers and its global section, checked as its loader does.

Alertmanager refuses a configuration whose integrations lack what they need to send (a PagerDuty key,
a Slack URL or app token, an Opsgenie API key, ...) or give both a value and the file it is read from.
A value may come from the integration or from ``global``; each check below follows Alertmanager's
``config.go`` and its notifier configs, in its order, with the reason in alertsim's words.

>>> problems({"receivers": [{"name": "x", "pagerduty_configs": [{"url": "https://pd"}]}]})
[('receivers[0].pagerduty_configs[0]', 'a PagerDuty integration needs a routing_key or service_key (or their _file)')]
>>> problems({"global": {"opsgenie_api_key": "k", "opsgenie_api_key_file": "/k"}})
[('global', 'give at most one of opsgenie_api_key and opsgenie_api_key_file')]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

SLACK_APP_URL = "https://slack.com/api/chat.postMessage"
_OPSGENIE_TYPES = re.compile(r"^(team|teams|user|escalation|schedule)$")
_VICTOROPS_RESERVED = ("routing_key", "message_type", "state_message", "entity_display_name", "monitoring_tool",
                       "entity_id", "entity_state")


def _set(section: Mapping[str, Any], key: str) -> bool:
    value = section.get(key)
    return value not in (None, "", 0) and value is not False


def _both(section: Mapping[str, Any], key: str, other: str | None = None) -> str | None:
    other = other or f"{key}_file"
    if _set(section, key) and _set(section, other):
        return f"give at most one of {key} and {other}"
    return None


def _one(section: Mapping[str, Any], key: str, what: str, other: str | None = None) -> str | None:
    other = other or f"{key}_file"
    if not _set(section, key) and not _set(section, other):
        return f"{what} needs {key} or {other}"
    return None


def _authorization(config: Mapping[str, Any]) -> bool:
    http = config.get("http_config")
    return isinstance(http, Mapping) and http.get("authorization") is not None


def _canonical_header(name: str) -> str:
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


Check = Callable[[Mapping[str, Any]], Iterator[str | None]]


def _webex(c: Mapping[str, Any]) -> Iterator[str | None]:
    yield None if _set(c, "room_id") else "a Webex integration needs room_id"
    yield None if _authorization(c) else "a Webex integration needs http_config.authorization (its bot token)"


def _email(c: Mapping[str, Any]) -> Iterator[str | None]:
    yield None if _set(c, "to") else "an email integration needs a `to` address"
    seen: set[str] = set()
    for name in c.get("headers") or {}:
        canonical = _canonical_header(str(name))
        yield f"header {canonical!r} is given twice (header names ignore case)" if canonical in seen else None
        seen.add(canonical)
    threading = c.get("threading") or {}
    if isinstance(threading, Mapping) and threading.get("enabled"):
        for header in ("References", "In-Reply-To"):
            yield f"threading.enabled conflicts with a custom {header} header" if header in seen else None
        by = threading.get("thread_by_date")
        yield None if by in ("none", "daily") else f"threading.thread_by_date is 'none' or 'daily', got {by!r}"


def _slack(c: Mapping[str, Any]) -> Iterator[str | None]:
    yield _both(c, "api_url")
    yield _both(c, "app_token")
    url = _set(c, "api_url") or _set(c, "api_url_file")
    token = _set(c, "app_token") or _set(c, "app_token_file")
    yield "give at most one of api_url/api_url_file and app_token/app_token_file" if url and token else None
    if c.get("update_message") and c.get("api_url") != SLACK_APP_URL:
        yield f"update_message works only with an app token: api_url must be {SLACK_APP_URL}"


def _wechat(c: Mapping[str, Any]) -> Iterator[str | None]:
    kind = c.get("message_type") or "text"
    yield None if kind in ("text", "markdown") else f"message_type is 'text' or 'markdown', got {kind!r}"
    yield _both(c, "api_secret")


def _victorops(c: Mapping[str, Any]) -> Iterator[str | None]:
    yield None if _set(c, "routing_key") else "a VictorOps integration needs a routing_key"
    yield _both(c, "api_key")
    for name in _VICTOROPS_RESERVED:
        if name in (c.get("custom_fields") or {}):
            yield f"custom_fields.{name} would overwrite a field VictorOps sets itself"


def _url_pair(key: str, what: str) -> Check:
    def check(c: Mapping[str, Any]) -> Iterator[str | None]:
        yield _one(c, key, what)
        yield _both(c, key)
    return check


def _incidentio(c: Mapping[str, Any]) -> Iterator[str | None]:
    yield _one(c, "url", "an incident.io integration")
    yield _both(c, "url")
    yield _both(c, "alert_source_token")
    token = _set(c, "alert_source_token") or _set(c, "alert_source_token_file")
    if token and _authorization(c):
        yield "give either alert_source_token(_file) or http_config.authorization, not both"
    if not token and not _authorization(c):
        yield "an incident.io integration needs alert_source_token, alert_source_token_file or " \
              "http_config.authorization"


def _jira(c: Mapping[str, Any]) -> Iterator[str | None]:
    yield None if _set(c, "project") else "a Jira integration needs a project"
    yield None if _set(c, "issue_type") else "a Jira integration needs an issue_type"
    kind = c.get("api_type", "auto")
    yield None if kind in ("auto", "cloud", "datacenter") else \
        f"api_type is 'auto', 'cloud' or 'datacenter', got {kind!r}"


def _mattermost(c: Mapping[str, Any]) -> Iterator[str | None]:
    for i, item in enumerate(c.get("fields") or []):
        if isinstance(item, Mapping):
            yield None if _set(item, "title") else f"fields[{i}] needs a title"
            yield None if _set(item, "value") else f"fields[{i}] needs a value"
    yield _both(c, "webhook_url")


def _opsgenie(c: Mapping[str, Any]) -> Iterator[str | None]:
    yield _both(c, "api_key")
    for i, responder in enumerate(c.get("responders") or []):
        if not isinstance(responder, Mapping):
            continue
        if not any(_set(responder, k) for k in ("id", "username", "name")):
            yield f"responders[{i}] needs an id, username or name"
        kind = str(responder.get("type", ""))
        if "{{" not in kind and not _OPSGENIE_TYPES.match(kind.lower()):
            yield f"responders[{i}].type is team, teams, user, escalation or schedule, got {kind!r}"


def _pagerduty(c: Mapping[str, Any]) -> Iterator[str | None]:
    if not any(_set(c, k) for k in ("routing_key", "service_key", "routing_key_file", "service_key_file")):
        yield "a PagerDuty integration needs a routing_key or service_key (or their _file)"
    yield _both(c, "routing_key")
    yield _both(c, "service_key")


def _pushover(c: Mapping[str, Any]) -> Iterator[str | None]:
    yield _one(c, "user_key", "a Pushover integration")
    yield _both(c, "user_key")
    yield _one(c, "token", "a Pushover integration")
    yield _both(c, "token")
    yield _both(c, "monospace", "html")


def _rocketchat(c: Mapping[str, Any]) -> Iterator[str | None]:
    yield _both(c, "token")
    yield _both(c, "token_id")


def _sns(c: Mapping[str, Any]) -> Iterator[str | None]:
    target, topic, phone = (not _set(c, k) for k in ("target_arn", "topic_arn", "phone_number"))
    if (target != topic) != phone:  # Alertmanager's own test, quirks included
        yield "an SNS integration needs exactly one of target_arn, topic_arn or phone_number"


def _telegram(c: Mapping[str, Any]) -> Iterator[str | None]:
    yield _both(c, "bot_token")
    yield _one(c, "chat_id", "a Telegram integration")
    yield _both(c, "chat_id")
    mode = c.get("parse_mode") or ""
    yield None if mode in ("", "Markdown", "MarkdownV2", "HTML") else \
        f"parse_mode is Markdown, MarkdownV2, HTML or empty, got {mode!r}"


#: Checks of one integration's own settings (Alertmanager's notifier ``UnmarshalYAML``).
OWN: dict[str, Check] = {
    "webex": _webex, "email": _email, "slack": _slack, "wechat": _wechat, "victorops": _victorops,
    "discord": _url_pair("webhook_url", "a Discord integration"), "incidentio": _incidentio, "jira": _jira,
    "mattermost": _mattermost, "msteams": _url_pair("webhook_url", "a Microsoft Teams integration"),
    "msteamsv2": _url_pair("webhook_url", "a Microsoft Teams integration"), "opsgenie": _opsgenie,
    "pagerduty": _pagerduty, "pushover": _pushover, "rocketchat": _rocketchat, "sns": _sns,
    "telegram": _telegram, "webhook": _url_pair("url", "a webhook integration"),
}

_GLOBAL_PAIRS = ("slack_app_token", "slack_api_url", None, "opsgenie_api_key", "victorops_api_key",
                 "telegram_bot_token", "smtp_auth_password", "rocketchat_token", "rocketchat_token_id",
                 "smtp_auth_secret", "wechat_api_secret", "mattermost_webhook_url")


def _global(g: Mapping[str, Any]) -> Iterator[str | None]:
    for key in _GLOBAL_PAIRS:
        if key is not None:
            yield _both(g, key)
            continue
        token = _set(g, "slack_app_token") or _set(g, "slack_app_token_file")
        url = _set(g, "slack_api_url") or _set(g, "slack_api_url_file")
        if token and url and g.get("slack_api_url") != g.get("slack_app_url", SLACK_APP_URL):
            yield "give at most one of slack_app_token/slack_app_token_file and slack_api_url/slack_api_url_file"


def _inherit(c: Mapping[str, Any], g: Mapping[str, Any], local: str, glob: str) -> bool:
    return any(_set(c, k) for k in (local, f"{local}_file")) or any(_set(g, k) for k in (glob, f"{glob}_file"))


def _with_global(kind: str, c: Mapping[str, Any], g: Mapping[str, Any]) -> Iterator[str | None]:
    """What an integration still lacks once ``global`` has filled in its defaults."""
    if kind == "email":
        yield None if _set(c, "smarthost") or _set(g, "smtp_smarthost") else \
            "an email integration needs a smarthost (or global smtp_smarthost)"
        yield None if _set(c, "from") or _set(g, "smtp_from") else \
            "an email integration needs a `from` address (or global smtp_from)"
    elif kind == "slack":
        url = _set(c, "api_url") or _set(c, "api_url_file")
        token = _set(c, "app_token") or _set(c, "app_token_file")
        if not token and not _authorization(c) and not url:
            token = _set(g, "slack_app_token") or _set(g, "slack_app_token_file")
        if not url:
            url = _set(g, "slack_api_url") or _set(g, "slack_api_url_file")
        if not url and not token:
            yield "a Slack integration needs api_url or app_token (here or in global, inline or as a file)"
        if token and _authorization(c):
            yield "http_config.authorization cannot be set with a Slack app token"
    elif kind == "opsgenie":
        yield None if _inherit(c, g, "api_key", "opsgenie_api_key") else \
            "an Opsgenie integration needs api_key or api_key_file (here or as global opsgenie_api_key)"
    elif kind == "wechat":
        yield None if _inherit(c, g, "api_secret", "wechat_api_secret") else \
            "a WeChat integration needs api_secret or api_secret_file (here or as global wechat_api_secret)"
        yield None if _set(c, "corp_id") or _set(g, "wechat_api_corp_id") else \
            "a WeChat integration needs corp_id (or global wechat_api_corp_id)"
    elif kind == "victorops":
        yield None if _inherit(c, g, "api_key", "victorops_api_key") else \
            "a VictorOps integration needs api_key or api_key_file (here or as global victorops_api_key)"
    elif kind == "telegram":
        yield None if _inherit(c, g, "bot_token", "telegram_bot_token") else \
            "a Telegram integration needs bot_token or bot_token_file (here or as global telegram_bot_token)"
    elif kind == "jira":
        yield None if _set(c, "api_url") or _set(g, "jira_api_url") else \
            "a Jira integration needs api_url (or global jira_api_url)"
    elif kind == "rocketchat":
        yield None if _inherit(c, g, "token_id", "rocketchat_token_id") else \
            "a Rocket.Chat integration needs token_id or token_id_file (here or as global rocketchat_token_id)"
        yield None if _inherit(c, g, "token", "rocketchat_token") else \
            "a Rocket.Chat integration needs token or token_file (here or as global rocketchat_token)"
    elif kind == "mattermost":
        yield None if _inherit(c, g, "webhook_url", "mattermost_webhook_url") else \
            "a Mattermost integration needs webhook_url or webhook_url_file (here or as global " \
            "mattermost_webhook_url)"


def problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(where, reason)`` of every missing or conflicting setting, in Alertmanager's order: each
    integration's own settings, then ``global``, then each integration with the global defaults."""
    raw = config.get("global")
    g: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    receivers = [r for r in (config.get("receivers") or []) if isinstance(r, Mapping)]
    found: list[tuple[str, str]] = []

    def integrations() -> Iterator[tuple[str, str, Mapping[str, Any]]]:
        for i, receiver in enumerate(receivers):
            for key, entries in receiver.items():
                if not str(key).endswith("_configs") or not isinstance(entries, list):
                    continue
                for j, entry in enumerate(entries):
                    yield str(key).removesuffix("_configs"), f"receivers[{i}].{key}[{j}]", entry or {}

    for kind, where, entry in integrations():
        if kind in OWN and isinstance(entry, Mapping):
            found += [(where, reason) for reason in OWN[kind](entry) if reason]
    found += [("global", reason) for reason in _global(g) if reason]
    for kind, where, entry in integrations():
        if isinstance(entry, Mapping):
            found += [(where, reason) for reason in _with_global(kind, entry, g) if reason]
    return found
