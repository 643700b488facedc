"""Small builders shared by the cloud-dialect tests: a Metrics frame from minute values, and instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def at(minute: float) -> datetime:
    """``T0`` plus ``minute`` minutes."""
    return T0 + timedelta(minutes=minute)


def metrics(series: dict[tuple[str, tuple[tuple[str, str], ...]], list[float | None]], *,
            step: timedelta = timedelta(minutes=1)) -> pl.DataFrame:
    """A Metrics frame: ``{(metric, ((label, value), ...)): [v0, v1, ...]}``, one sample every ``step`` from
    ``T0``; ``None`` leaves the sample out (missing data)."""
    rows: list[dict[str, object]] = []
    names = sorted({k for _, labels in series for k, _ in labels})
    for (metric, labels), values in series.items():
        for i, value in enumerate(values):
            if value is None:
                continue
            row: dict[str, object] = {"timestamp": T0 + i * step, "metric": metric, "value": float(value)}
            row.update({n: None for n in names})
            row.update(dict(labels))
            rows.append(row)
    schema = {"timestamp": pl.Datetime("us", "UTC"), "metric": pl.String, "value": pl.Float64,
              **{n: pl.String for n in names}}
    return pl.DataFrame(rows, schema=schema)


def one(metric: str, values: list[float | None], **labels: str) -> pl.DataFrame:
    """A Metrics frame with one series."""
    return metrics({(metric, tuple(sorted(labels.items()))): values})


def spans(alerts: pl.DataFrame) -> list[tuple[float, float | None]]:
    """Alert episodes as (fired, resolved) minutes after ``T0``."""
    def minutes(value: datetime | None) -> float | None:
        return None if value is None else (value - T0).total_seconds() / 60
    return [(minutes(f), minutes(r)) for f, r in alerts.sort("fired_at").select("fired_at", "resolved_at").rows()]
