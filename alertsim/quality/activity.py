"""What each rule did over a replay, with no incidents needed: how often it fired and paged, how long
it stayed firing and how often it flapped — the first look at a rule file replayed over history.

>>> import polars as pl, datetime as dt
>>> at = lambda h: dt.datetime(2026, 1, 1, h, tzinfo=dt.UTC)
>>> alerts = pl.DataFrame({"alert_id": [1, 2, 3], "rule": ["Cpu", "Cpu", "Disk"], "series": ["a", "a", "b"],
...     "fired_at": [at(0), at(2), at(5)], "resolved_at": [at(1), at(4), None]})
>>> table = rule_activity(alerts, period=(at(0), at(7)))
>>> table.select("rule", "alerts", "firing_hours", "flapping").rows()
[('Cpu', 2, 3.0, 1), ('Disk', 1, 2.0, 0)]
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from alertsim.durations import Duration
from alertsim.errors import ConfigError
from alertsim.quality.detection import flapping_alerts

WEEK_S = 7 * 86_400

#: The columns of :func:`rule_activity`'s table.
ACTIVITY = {"rule": pl.String, "alerts": pl.Int64, "alerts_per_week": pl.Float64, "pages": pl.Int64,
            "pages_per_week": pl.Float64, "firing_hours": pl.Float64, "episode_median": pl.Duration("us"),
            "still_firing": pl.Int64, "flapping": pl.Int64}


def rule_activity(alerts: pl.DataFrame, pages: pl.DataFrame | None = None, *,
                  period: tuple[datetime, datetime], flap_window: Duration = "1h") -> pl.DataFrame:
    """Per rule, loudest first (pages, then alerts): ``alerts`` and ``alerts_per_week``; ``pages`` and
    ``pages_per_week`` (pages naming the rule; null without ``pages``); ``firing_hours`` (episodes
    clipped to ``period``; one still firing at the end counts up to the end); ``episode_median`` (the
    median length of the episodes that resolved); ``still_firing`` at the end; ``flapping`` (alerts
    that re-fired within ``flap_window`` of the same series' previous episode resolving)."""
    start, end = period
    if not end > start:
        raise ConfigError(f"the period must end after it starts ({start} → {end})", field="period")
    weeks = (end - start).total_seconds() / WEEK_S
    fired, resolved = pl.col("fired_at"), pl.col("resolved_at")
    clipped = (pl.min_horizontal(resolved.fill_null(pl.lit(end)), pl.lit(end))
               - pl.max_horizontal(fired, pl.lit(start))).dt.total_microseconds().clip(lower_bound=0)
    flapping = flapping_alerts(alerts, window=flap_window).group_by("rule").agg(flapping=pl.len())
    table = (alerts.group_by("rule")
             .agg(alerts=pl.len(), firing_hours=clipped.sum() / 3.6e9,
                  episode_median=(resolved - fired).median(), still_firing=resolved.is_null().sum())
             .join(flapping, on="rule", how="left")
             .with_columns(pl.col("flapping").fill_null(0), alerts_per_week=pl.col("alerts") / weeks))
    if pages is not None and "rule" in pages.columns:
        per_rule = pages.filter(pl.col("rule").is_not_null()).group_by("rule").agg(pages=pl.len())
        table = (table.join(per_rule, on="rule", how="left")
                 .with_columns(pl.col("pages").fill_null(0), pages_per_week=pl.col("pages").fill_null(0) / weeks))
    else:
        table = table.with_columns(pages=pl.lit(None, pl.Int64), pages_per_week=pl.lit(None, pl.Float64))
    return (table.select(list(ACTIVITY)).cast(ACTIVITY)  # type: ignore[arg-type]
            .sort("pages", "alerts", "rule", descending=[True, True, False], nulls_last=True))
