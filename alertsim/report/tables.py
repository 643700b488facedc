"""Frames as text a person reads: one display string per value, shared by the terminal, Markdown
and HTML renderings.

>>> from datetime import timedelta
>>> [display_value(v) for v in (None, True, 0.12345, 12345.6, timedelta(seconds=-90), "cpu")]
['—', 'yes', '0.123', '12,346', '-1m30s', 'cpu']
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from alertsim.durations import format_duration


def display_value(value: Any) -> str:
    """One value as a short string: ``—`` for missing, durations in Prometheus notation, 3 significant
    digits below 1,000 and thousands separators above."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:
            return "—"
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, timedelta):
        sign = "-" if value < timedelta(0) else ""
        return sign + format_duration(abs(value).__class__(seconds=round(abs(value).total_seconds())))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)
