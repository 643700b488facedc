"""Alertmanager's notification layer: routes, grouping, timers, inhibition, silences and time
intervals turn Alerts into Notifications, and notifications to paging receivers into Pages.

>>> from alertsim.notify import AlertmanagerConfig
>>> config = AlertmanagerConfig.from_yaml("route: {receiver: x, repeat_interval: 9m}\\nreceivers: [{name: x}]")
>>> config.route.repeat_interval
datetime.timedelta(seconds=540)
"""

from alertsim.notify._config import (
    PAGING_INTEGRATIONS,
    AlertmanagerConfig,
    InhibitRule,
    Integration,
    Receiver,
    Route,
    load_alertmanager_config,
)
from alertsim.notify._engine import URGENCY_BY_SEVERITY, Notified, notify
from alertsim.notify._matchers import Matcher, parse_matchers
from alertsim.notify._silences import Silence, load_silences, silences_from_api
from alertsim.notify.timeintervals import TimeInterval
from alertsim.notify.vendor import vendor_notifications

__all__ = [
    "PAGING_INTEGRATIONS",
    "URGENCY_BY_SEVERITY",
    "AlertmanagerConfig",
    "InhibitRule",
    "Integration",
    "Matcher",
    "Notified",
    "Receiver",
    "Route",
    "Silence",
    "TimeInterval",
    "load_alertmanager_config",
    "load_silences",
    "notify",
    "parse_matchers",
    "silences_from_api",
    "vendor_notifications",
]
