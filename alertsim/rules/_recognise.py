"""Whether a rule file's document is in a vendor's format: the checks :mod:`alertsim.rules.formats` runs
on every file, kept apart from the formats' readers so that telling a file's format imports none of them.

>>> cloudwatch_alarms({"MetricAlarms": []}), gcp_policies({"displayName": "x", "conditions": []})
(True, True)
>>> datadog_monitors({"version": 2, "definition": {"query": "avg(last_5m):avg:cpu{*} > 80", "type": "metric alert"}})
True
>>> datadog_monitors({"groups": []}), gcp_policies([])
(False, False)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def cloudwatch_alarms(document: Any) -> bool:
    """True for the output of ``aws cloudwatch describe-alarms``."""
    return isinstance(document, Mapping) and ("MetricAlarms" in document or "CompositeAlarms" in document)


def gcp_policies(document: Any) -> bool:
    """True for an AlertPolicy, an ``alertPolicies.list`` response or a list of policies."""
    if isinstance(document, Mapping):
        if "alertPolicies" in document or "alert_policies" in document:
            return True
        return "conditions" in document and any(k in document for k in ("displayName", "display_name",
                                                                       "combiner"))
    return (isinstance(document, list) and bool(document)
            and all(isinstance(d, Mapping) and "conditions" in d for d in document))


def unwrap_monitor(document: Any) -> Any:
    """A Datadog monitor template's ``definition``; any other document as it is."""
    if isinstance(document, Mapping) and isinstance(document.get("definition"), Mapping) and "query" not in document:
        return document["definition"]
    return document


def datadog_monitors(document: Any) -> bool:
    """True for a Datadog monitor object, a monitor template (``{"version", "definition": {...}}``) or
    a list of them."""
    def is_monitor(d: Any) -> bool:
        d = unwrap_monitor(d)
        return isinstance(d, Mapping) and "query" in d and "type" in d
    if isinstance(document, list):
        return bool(document) and all(is_monitor(d) for d in document)
    return is_monitor(document)
