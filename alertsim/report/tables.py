"""Frames as text a person reads: one display string per value, shared by the terminal, Markdown
and HTML renderings.

>>> from datetime import timedelta
>>> [display_value(v) for v in (None, True, 0.12345, 12345.6, timedelta(seconds=-90), "cpu", ["ana", "bo"])]
['—', 'yes', '0.123', '12,346', '-1m30s', 'cpu', 'ana, bo']

Fairness indices come on scales of their own (a Gini coefficient from 0 to 1, PagerDuty's equity score
from 0 to 100); a header names the scale of such a column, so a table never shows them side by side
without it:

>>> [header(c) for c in ("pages_per_week", "gini", "sleep_equity")]
['pages per week', 'gini (0–1, 0 = even)', 'sleep equity (0–100, 100 = even)']
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from alertsim.durations import format_duration

#: Column-name endings whose values are on a scale of their own, and that scale.
SCALES: tuple[tuple[str, str], ...] = (
    ("gini", "0–1, 0 = even"),
    ("equity", "0–100, 100 = even"),
    ("pairwise_balance", "0–1, 1 = even"),
    ("max_mean_ratio", "≥ 1, 1 = even"),
)


def header(name: str) -> str:
    """A column name as a table header: underscores as spaces, and the scale of a fairness index."""
    text = name.replace("_", " ")
    for ending, scale in SCALES:
        if name == ending or name.endswith(f"_{ending}"):
            return f"{text} ({scale})"
    return text


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
    if isinstance(value, list | tuple):
        return ", ".join(display_value(v) for v in value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)
