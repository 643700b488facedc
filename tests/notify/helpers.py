"""Builders shared by the notification-layer tests: alerts frames from compact rows, and a readable
view of notifications (seconds since T0, group, kind, alert names)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl

from alertsim.frames import ALERTS

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def alerts_frame(rows: list[tuple[int, dict[str, str], float, float | None]]) -> pl.DataFrame:
    """Alerts from ``(alert_id, labels, fired_s, resolved_s | None)`` rows (seconds after T0)."""
    return pl.DataFrame({
        "alert_id": [r[0] for r in rows],
        "rule": [r[1].get("alertname", "rule") for r in rows],
        "series": [json.dumps(r[1], sort_keys=True) for r in rows],
        "labels": [json.dumps(r[1], sort_keys=True) for r in rows],
        "severity": [r[1].get("severity") for r in rows],
        "active_at": [at(r[2]) for r in rows],
        "fired_at": [at(r[2]) for r in rows],
        "resolved_at": [None if r[3] is None else at(r[3]) for r in rows],
    }, schema=ALERTS.required)


def seconds(instant: datetime) -> float:
    return round((instant - T0).total_seconds(), 3)


def timeline(notifications: pl.DataFrame) -> list[tuple[float, str, str, list[int], list[int]]]:
    """``(sent_s, receiver, kind, alert_ids, resolved_alert_ids)`` in sending order."""
    return [(seconds(row["sent_at"]), row["receiver"], row["kind"], row["alert_ids"],
             row["resolved_alert_ids"]) for row in notifications.iter_rows(named=True)]
