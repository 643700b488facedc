"""Alertmanager's own configuration test files (``config/testdata`` of prometheus/alertmanager): every
file Alertmanager rejects, alertsim rejects for the same reason, and every file it loads, alertsim
loads. The table gives Alertmanager's error (from its ``config_test.go``) next to alertsim's words."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from alertsim.errors import ConfigError
from alertsim.notify import AlertmanagerConfig, load_alertmanager_config

TESTDATA = Path(__file__).parents[1] / "fixtures" / "real" / "alertmanager"
KUBE_PROMETHEUS = Path(__file__).parents[1] / "fixtures" / "real" / "kube-prometheus"

ACCEPTED = [
    "conf.empty-fields.yml", "conf.good.yml", "conf.group-by-all.yml", "conf.http-config.good.yml",
    "conf.mattermost-default-webhook-url-file.yml", "conf.mattermost-default-webhook-url.yml",
    "conf.opsgenie-default-apikey-file.yml", "conf.opsgenie-default-apikey.yml",
    "conf.rocketchat-default-token-file.yml", "conf.rocketchat-default-token.yml",
    "conf.slack-default-api-url-file.yml", "conf.slack-default-app-token.yml",
    "conf.smtp-no-username-or-password.yml", "conf.smtp-password-global-and-local.yml", "conf.sns-topic-arn.yml",
    "conf.telegram-default-bot-token-file.yml", "conf.telegram-default-bot-token.yml",
    "conf.victorops-default-apikey-file.yml", "conf.victorops-default-apikey.yml",
    "conf.wechat-default-api-secret-file.yml",
]

# file: (Alertmanager's error, the field alertsim names, alertsim's reason)
REJECTED = {
    "conf.mattermost-both-webhook-url-and-file.yml": (
        "at most one of mattermost_webhook_url & mattermost_webhook_url_file must be configured",
        "global", "give at most one of mattermost_webhook_url and mattermost_webhook_url_file"),
    "conf.mattermost-no-webhook-url.yml": (
        "missing webhook_url or webhook_url_file on mattermost_config",
        "receivers[0].mattermost_configs[0]", "a Mattermost integration needs webhook_url or webhook_url_file"),
    "conf.mattermost-valid-receiver-both-webhook-url-and-file.yml": (
        "at most one of mattermost_webhook_url & mattermost_webhook_url_file must be configured",
        "global", "give at most one of mattermost_webhook_url and mattermost_webhook_url_file"),
    "conf.nil-match_re-route.yml": (
        "... invalid_label ...", "route.routes[0].match_re.invalid_label", "expected a string, got None"),
    "conf.nil-source_match_re-inhibition.yml": (
        "... invalid_source_label ...", "inhibit_rules[0].source_match_re.invalid_source_label",
        "expected a string, got None"),
    "conf.nil-target_match_re-inhibition.yml": (
        "... invalid_target_label ...", "inhibit_rules[0].target_match_re.invalid_target_label",
        "expected a string, got None"),
    "conf.opsgenie-both-file-and-apikey.yml": (
        "at most one of opsgenie_api_key & opsgenie_api_key_file must be configured",
        "global", "give at most one of opsgenie_api_key and opsgenie_api_key_file"),
    "conf.opsgenie-default-apikey-old-team.yml": (
        "line 16: field teams not found in type opsgenie.plain",
        "receivers[0].opsgenie_configs[0].teams", "unknown key 'teams'"),
    "conf.opsgenie-no-apikey.yml": (
        "no global OpsGenie API Key set either inline or in a file",
        "receivers[0].opsgenie_configs[0]", "an Opsgenie integration needs api_key or api_key_file"),
    "conf.rocketchat-both-token-and-tokenfile.yml": (
        "at most one of rocketchat_token & rocketchat_token_file must be configured",
        "global", "give at most one of rocketchat_token and rocketchat_token_file"),
    "conf.rocketchat-both-tokenid-and-tokenidfile.yml": (
        "at most one of rocketchat_token_id & rocketchat_token_id_file must be configured",
        "global", "give at most one of rocketchat_token_id and rocketchat_token_id_file"),
    "conf.rocketchat-no-token.yml": (
        "no global Rocketchat Token set either inline or in a file",
        "receivers[0].rocketchat_configs[0]", "a Rocket.Chat integration needs token or token_file"),
    "conf.slack-both-file-and-token.yml": (
        "at most one of slack_app_token & slack_app_token_file must be configured",
        "global", "give at most one of slack_app_token and slack_app_token_file"),
    "conf.slack-both-file-and-url.yml": (
        "at most one of slack_api_url & slack_api_url_file must be configured",
        "global", "give at most one of slack_api_url and slack_api_url_file"),
    "conf.slack-both-url-and-token.yml": (
        "at most one of slack_app_token/slack_app_token_file & slack_api_url/slack_api_url_file must be configured",
        "global", "give at most one of slack_app_token/slack_app_token_file and slack_api_url/slack_api_url_file"),
    "conf.slack-no-api-url-or-token.yml": (
        "no Slack API URL nor App token set either inline or in a file",
        "receivers[0].slack_configs[0]", "a Slack integration needs api_url or app_token"),
    "conf.slack-update-message-and-webhook.yml": (
        "update_message can only be used with bot tokens. api_url must be set to "
        "https://slack.com/api/chat.postMessage",
        "receivers[0].slack_configs[0]", "update_message works only with an app token"),
    "conf.smtp-both-password-and-file.yml": (
        "at most one of smtp_auth_password & smtp_auth_password_file must be configured",
        "global", "give at most one of smtp_auth_password and smtp_auth_password_file"),
    "conf.sns-invalid.yml": (
        "must provide either a Target ARN, Topic ARN, or Phone Number for SNS config",
        "receivers[0].sns_configs[0]", "an SNS integration needs exactly one of target_arn, topic_arn or "
        "phone_number"),
    "conf.telegram-both-bot-token-and-file.yml": (
        "at most one of telegram_bot_token & telegram_bot_token_file must be configured",
        "global", "give at most one of telegram_bot_token and telegram_bot_token_file"),
    "conf.telegram-no-bot-token.yml": (
        "missing bot_token or bot_token_file on telegram_config",
        "receivers[0].telegram_configs[0]", "a Telegram integration needs bot_token or bot_token_file"),
    "conf.telegram-valid-receiver-both-bot-token-and-file.yml": (
        "at most one of telegram_bot_token & telegram_bot_token_file must be configured",
        "global", "give at most one of telegram_bot_token and telegram_bot_token_file"),
    "conf.victorops-both-file-and-apikey.yml": (
        "at most one of victorops_api_key & victorops_api_key_file must be configured",
        "global", "give at most one of victorops_api_key and victorops_api_key_file"),
    "conf.victorops-no-apikey.yml": (
        "no global VictorOps API Key set",
        "receivers[0].victorops_configs[0]", "a VictorOps integration needs api_key or api_key_file"),
    "conf.wechat-both-file-and-secret.yml": (
        "at most one of wechat_api_secret & wechat_api_secret_file must be configured",
        "global", "give at most one of wechat_api_secret and wechat_api_secret_file"),
    "conf.wechat-no-api-secret.yml": (
        "no global Wechat Api Secret set either inline or in a file",
        "receivers[0].wechat_configs[0]", "a WeChat integration needs api_secret or api_secret_file"),
}


def test_the_table_covers_every_testdata_file() -> None:
    assert sorted(p.name for p in TESTDATA.glob("*.yml")) == sorted([*ACCEPTED, *REJECTED])
    assert (len(ACCEPTED), len(REJECTED)) == (20, 26)


@pytest.mark.parametrize("name", ACCEPTED)
def test_what_alertmanager_loads_alertsim_loads(name: str) -> None:
    assert load_alertmanager_config(TESTDATA / name).route.receiver


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_what_alertmanager_rejects_alertsim_rejects_for_the_same_reason(name: str) -> None:
    _, field, reason = REJECTED[name]
    with pytest.raises(ConfigError) as caught:
        load_alertmanager_config(TESTDATA / name)
    assert caught.value.field == field and reason in str(caught.value)
    assert caught.value.line is not None


def test_a_config_inside_a_kubernetes_secret(tmp_path: Path) -> None:
    config = load_alertmanager_config(KUBE_PROMETHEUS / "alertmanager-secret.yaml")   # stringData, as shipped
    assert (config.route.receiver, len(config.inhibit_rules), sorted(config.receivers)) == (
        "Default", 3, ["Critical", "Default", "Watchdog", "null"])
    text = (TESTDATA / "conf.good.yml").read_text()
    encoded = base64.b64encode(text.encode()).decode()
    secret = tmp_path / "secret.yaml"
    secret.write_text(f"apiVersion: v1\nkind: Secret\nmetadata: {{name: am}}\ndata:\n  alertmanager.yaml: {encoded}\n")
    assert load_alertmanager_config(secret) == AlertmanagerConfig.from_yaml(text, file=f"{secret} (Secret am, key "
                                                                                     "alertmanager.yaml)")


@pytest.mark.parametrize(("secret", "message"), [
    ("data: {other.yaml: eA==}", "holds no alertmanager.yaml (the key prometheus-operator reads); its keys: "
                                 "['other.yaml']"),
    ("data: {alertmanager.yaml: '%%%'}", "not base64-encoded"),
    ("stringData: {alertmanager.yaml: 'route: {receiver: x}'}", "(Secret am, key alertmanager.yaml)"),
])
def test_a_bad_secret_says_what_is_wrong(tmp_path: Path, secret: str, message: str) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text(f"apiVersion: v1\nkind: Secret\nmetadata: {{name: am}}\n{secret}\n")
    with pytest.raises(ConfigError) as caught:
        load_alertmanager_config(path)
    assert message in str(caught.value)


@pytest.mark.parametrize(("integration", "reason"), [
    ("pagerduty_configs: [{url: 'http://pd'}]", "needs a routing_key or service_key"),
    ("pagerduty_configs: [{routing_key: k, routing_key_file: /k}]", "at most one of routing_key and routing_key_file"),
    ("webhook_configs: [{}]", "a webhook integration needs url or url_file"),
    ("webhook_configs: [{url: 'http://a', url_file: /u}]", "at most one of url and url_file"),
    ("email_configs: [{from: a@b, smarthost: 'h:25'}]", "needs a `to` address"),
    ("email_configs: [{to: a@b, from: a@b}]", "needs a smarthost"),
    ("email_configs: [{to: a@b, smarthost: 'h:25', headers: {subject: a, Subject: b}}]", "given twice"),
    ("victorops_configs: [{api_key: k}]", "needs a routing_key"),
    ("victorops_configs: [{api_key: k, routing_key: r, custom_fields: {entity_id: x}}]", "would overwrite"),
    ("telegram_configs: [{bot_token: t}]", "needs chat_id or chat_id_file"),
    ("telegram_configs: [{bot_token: t, chat_id: 1, parse_mode: rst}]", "parse_mode is Markdown"),
    ("jira_configs: [{api_url: 'http://j', issue_type: Bug}]", "needs a project"),
    ("jira_configs: [{project: P, issue_type: Bug}]", "needs api_url (or global jira_api_url)"),
    ("pushover_configs: [{user_key: u}]", "needs token or token_file"),
    ("opsgenie_configs: [{api_key: k, responders: [{type: team}]}]", "needs an id, username or name"),
    ("opsgenie_configs: [{api_key: k, responders: [{name: n, type: squad}]}]", "responders[0].type is team"),
    ("sns_configs: [{topic_arn: a, phone_number: '1'}]", "exactly one of target_arn, topic_arn or phone_number"),
    ("webex_configs: [{room_id: r}]", "needs http_config.authorization"),
    ("wechat_configs: [{api_secret: s, corp_id: c, message_type: html}]", "message_type is 'text' or 'markdown'"),
    ("discord_configs: [{}]", "a Discord integration needs webhook_url or webhook_url_file"),
    ("incidentio_configs: [{url: 'http://i'}]", "needs alert_source_token, alert_source_token_file or"),
])
def test_each_integration_needs_what_alertmanager_requires(integration: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        AlertmanagerConfig.from_yaml(f"route: {{receiver: r}}\nreceivers:\n- name: r\n  {integration}\n")
    assert reason in str(caught.value) and caught.value.field.startswith("receivers[0].")
