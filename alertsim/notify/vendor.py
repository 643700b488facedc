"""The notifications CloudWatch, Cloud Monitoring and Datadog send themselves, for replayed alerts of their
rules: the vendors' own notification model, next to Alertmanager's (:func:`alertsim.notify.notify`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl

from alertsim.frames import ALERTS, INSTANT, NOTIFICATIONS, validate
from alertsim.rules.base import RuleBase


def vendor_notifications(alerts: pl.DataFrame, rules: Sequence[RuleBase], *, end: datetime | None = None
                         ) -> pl.DataFrame:
    """The notifications CloudWatch, Cloud Monitoring and Datadog themselves send for replayed alerts of
    their rules (a Notifications frame), for comparing with an Alertmanager layer or counting pages.

    * CloudWatch runs actions on state changes only: one ``firing`` notification when an episode starts
      (if the alarm has ``AlarmActions``), one ``resolved`` when it ends (if it has ``OKActions``).
    * Cloud Monitoring notifies when an incident opens, every ``renotifyInterval`` while it stays open
      (``repeat``), and when it closes unless ``notificationPrompts`` leaves ``CLOSED`` out.
    * Datadog notifies on each transition to ALERT, WARN or NO DATA, re-notifies every
      ``renotify_interval`` while the status is one of ``renotify_statuses`` (default alert and no data),
      at most ``renotify_occurrences`` times, and notifies the recovery.

    Each rule says how through :meth:`~alertsim.rules.base.RuleBase.notifications`; alerts of rules without
    a notification model of their own are left out (they go through :func:`alertsim.notify`). Episodes still open
    re-notify until ``end`` (default: the latest instant in ``alerts``). ``receiver`` is the vendor
    (``cloudwatch``, ``gcp``, ``datadog``) and ``group_key`` is ``rule/series``.

    >>> import polars as pl, datetime as dt
    >>> from alertsim.rules.gcp import GcpPolicy, GcpCondition
    >>> at = lambda m: dt.datetime(2026, 1, 1, 0, m, tzinfo=dt.UTC)
    >>> policy = GcpPolicy(name="P", policy_conditions=(GcpCondition(name="c", metric="x"),),
    ...                    renotify_interval=dt.timedelta(minutes=20))
    >>> alerts = pl.DataFrame({"alert_id": [0], "rule": ["P"], "series": ["x"], "labels": ["{}"],
    ...     "severity": ["page"], "active_at": [at(0)], "fired_at": [at(0)], "resolved_at": [at(50)]})
    >>> vendor_notifications(alerts, [policy]).select("kind", "sent_at").rows()[1]
    ('repeat', datetime.datetime(2026, 1, 1, 0, 20, tzinfo=zoneinfo.ZoneInfo(key='UTC')))
    """
    by_name = {r.name: r for r in rules}
    if end is None and alerts.height:
        end = pl.concat([alerts["fired_at"], alerts["resolved_at"].drop_nulls()]).max()  # type: ignore[assignment]
    sent: list[tuple[str, str, Any, str, int]] = []
    for row in alerts.select(list(ALERTS.required)).iter_rows(named=True):
        rule = by_name.get(row["rule"])
        episode = rule.notifications(row, end) if rule is not None else None
        if rule is None or episode is None:
            continue
        key = f"{row['rule']}/{row['series']}"
        sent += [(key, rule.kind, at, kind, row["alert_id"]) for at, kind in episode]
    sent.sort(key=lambda s: (s[2], s[0], s[3]))
    frame = pl.DataFrame({
        "notification_id": pl.Series(range(len(sent)), dtype=pl.Int64),
        "group_key": pl.Series([s[0] for s in sent], dtype=pl.String),
        "receiver": pl.Series([s[1] for s in sent], dtype=pl.String),
        "sent_at": pl.Series([s[2] for s in sent], dtype=INSTANT),
        "kind": pl.Series([s[3] for s in sent], dtype=pl.String),
        "alert_ids": pl.Series([[s[4]] for s in sent], dtype=pl.List(pl.Int64)),
    })
    return validate(frame, NOTIFICATIONS)


__all__ = ["vendor_notifications"]
