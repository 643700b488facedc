"""The Alertmanager model: alerts → aggregation groups → notifications → pages.

How an alert travels (Alertmanager 0.25, ``dispatch/dispatch.go``, ``notify/notify.go``):

1. Prometheus sends it from ``fired_at`` (``StartsAt``) and marks it resolved at ``resolved_at``
   (``EndsAt``); a null ``resolved_at`` keeps it firing to the end of the simulation.
2. Each route the alert matches (``continue`` lets it match several) puts it into the aggregation group
   of that route and the values of the route's ``group_by`` labels (``...``: all labels). An alert is
   identified by its label set, so a new episode of the same labels replaces the previous one.
3. A new group flushes ``group_wait`` after its first alert arrives, then every ``group_interval``.
   A flush sends the group's alerts through inhibition, the route's active/mute time intervals and
   silences, then, per receiver integration, the notification-log check (``DedupStage.needsUpdate``):
   notify on the first firing alert, on a firing alert that was not in the last notification, when
   every alert has resolved (logged always, sent only with ``send_resolved``), on newly resolved alerts
   with ``send_resolved``, or when the last notification is at least ``repeat_interval`` old — so
   repeats land on the first flush at or after it, i.e. ``repeat_interval`` rounded up to a multiple
   of ``group_interval``. Resolved alerts leave the group after the flush that saw them, so an alert
   that fires and resolves between two flushes never appears as firing.
4. An empty group is removed by the dispatcher's garbage collection (every 30 s in 0.25, modelled on
   a grid of 30 s from the Unix epoch); an alert arriving later starts a new group and a new
   ``group_wait``. ``group_gc_interval="0s"`` removes empty groups at once, as Alertmanager ≥ 0.32 does.

Flushes where nothing can change are skipped: the loop visits only the first flush after each
arrival, resolution and muting boundary, plus repeat flushes (``tick_at_or_after``).
"""

from __future__ import annotations

import bisect
import json
import logging
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
import polars as pl
import pyarrow as pa

from alertsim.durations import Duration, instant_us, to_microseconds, to_us
from alertsim.errors import ConfigError, InputError, Problem
from alertsim.frames import ALERTS, INSTANT, NOTIFICATIONS, PAGES, validate
from alertsim.notify._config import (
    PAGING_INTEGRATIONS,
    AlertmanagerConfig,
    Receiver,
    Route,
    load_alertmanager_config,
)
from alertsim.notify._matchers import labelset_string, matches_all
from alertsim.notify._silences import Silence
from alertsim.notify.timeintervals import mask_boundaries, minute_mask

logger = logging.getLogger(__name__)

NEVER = 2**62
"""A µs instant later than any simulation end."""

URGENCY_BY_SEVERITY: dict[str, str] = {
    "page": "high", "critical": "high", "high": "high", "error": "high", "emergency": "high",
    "p1": "high", "p2": "high", "sev1": "high", "sev2": "high",
}
"""Default urgency of a page from its alerts' ``severity``; any other severity (``ticket``, ``warning``,
``info``, missing) is ``low``. A page is high-urgency when any of its firing alerts is."""

NOTIFICATION_COLUMNS: dict[str, pl.DataType] = {
    **NOTIFICATIONS.required, "integration": pl.String(), "reason": pl.String(),
    "resolved_alert_ids": pl.List(pl.Int64()),
}
PAGE_COLUMNS: dict[str, pl.DataType] = {
    "page_id": pl.String(), "paged_at": INSTANT, "urgency": pl.String(), "service": pl.String(),
    "team": pl.String(), "rule": pl.String(), "receiver": pl.String(), "group_key": pl.String(),
    "notification_id": pl.Int64(), "alert_ids": pl.List(pl.Int64()), "resolved_at": INSTANT,
}
PageOn = Literal["incident", "notification"]


@dataclass(frozen=True, kw_only=True)
class Notified:
    """What Alertmanager would have sent.

    ``notifications``: one row per message an integration sent (``kind`` firing/repeat/resolved,
    ``reason`` first/new_alerts/new_resolved/all_resolved/repeat, ``alert_ids`` every alert in the
    message, ``resolved_alert_ids`` those of them that were resolved).

    ``pages``: one row per page to a paging receiver, with the alert that opened it (``rule``,
    ``service``, ``team`` from the earliest firing alert of the notification) and ``resolved_at`` when
    the group's alerts had all resolved (null if still open at the end).
    """

    notifications: pl.DataFrame
    pages: pl.DataFrame

    def summary(self) -> pl.DataFrame:
        """Per receiver: groups, notifications by kind, pages and high-urgency pages."""
        notes = self.notifications
        by_receiver = notes.group_by("receiver").agg(
            pl.col("group_key").n_unique().alias("groups"),
            pl.len().alias("notifications"),
            (pl.col("kind") == "firing").sum().alias("firing"),
            (pl.col("kind") == "repeat").sum().alias("repeat"),
            (pl.col("kind") == "resolved").sum().alias("resolved"),
        )
        pages = self.pages.group_by("receiver").agg(
            pl.len().alias("pages"), (pl.col("urgency") == "high").sum().alias("high_urgency"))
        table = by_receiver.join(pages, on="receiver", how="full", coalesce=True).with_columns(
            pl.col(c).fill_null(0).cast(pl.Int64) for c in
            ("groups", "notifications", "firing", "repeat", "resolved", "pages", "high_urgency"))
        return table.sort("receiver")


# --- inputs --------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class _Alerts:
    """The alerts frame as flat lists, sorted by (fired_at, alert_id)."""

    ids: list[int]
    fired: list[int]
    resolved: list[int]
    fp: list[int]
    rules: list[str | None]
    severity: list[str | None]
    fp_labels: list[dict[str, str]]


def _read_alerts(alerts: pl.DataFrame) -> _Alerts:
    validate(alerts, ALERTS, file="alerts")
    frame = alerts.select(
        pl.col("alert_id"), pl.col("labels"), pl.col("rule"), pl.col("severity"),
        pl.col("fired_at").dt.epoch("us").alias("fired"), pl.col("resolved_at").dt.epoch("us").alias("resolved"),
        pl.int_range(pl.len()).alias("row"),
    ).sort(["fired", "alert_id"])
    problems: list[Problem] = []
    fingerprints: dict[tuple[tuple[str, str], ...], int] = {}
    fp_labels: list[dict[str, str]] = []
    fps: list[int] = []
    rows = frame["row"].to_list()
    by_text: dict[str, int | str] = {}  # labels text → fingerprint, or the reason it is bad
    for row, text in zip(rows, frame["labels"].to_list(), strict=True):
        fp = by_text.get(text)
        if fp is None:
            fp = by_text[text] = _fingerprint(text, fingerprints, fp_labels)
        if isinstance(fp, str):
            problems.append(Problem(column="labels", row=row + 1, reason=fp))
            fps.append(-1)
        else:
            fps.append(fp)
    fired = frame["fired"].to_list()
    resolved = frame["resolved"].to_list()
    for row, f, r in zip(rows, fired, resolved, strict=True):
        if r is not None and r < f:
            problems.append(Problem(column="resolved_at", row=row + 1, reason="resolved_at is before fired_at"))
    if problems:
        raise InputError("alerts cannot be sent to Alertmanager", sorted(problems, key=lambda p: p.row or 0),
                         file="alerts")
    return _Alerts(ids=frame["alert_id"].to_list(), fired=fired,
                   resolved=[NEVER if r is None else r for r in resolved], fp=fps,
                   rules=frame["rule"].to_list(), severity=frame["severity"].to_list(), fp_labels=fp_labels)


def _fingerprint(text: str, fingerprints: dict[tuple[tuple[str, str], ...], int],
                 fp_labels: list[dict[str, str]]) -> int | str:
    """The fingerprint id of a labels JSON text (registering new label sets), or why it is invalid."""
    try:
        parsed = json.loads(text)
    except (TypeError, ValueError) as exc:
        return f"not a JSON object: {exc}"
    if not isinstance(parsed, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                               for k, v in parsed.items()):
        return 'expected a JSON object of string label values, e.g. {"alertname": "HighLatency"}'
    labels = {k: v for k, v in parsed.items() if v != ""}
    key = tuple(sorted(labels.items()))
    fp = fingerprints.get(key)
    if fp is None:
        fp = fingerprints[key] = len(fp_labels)
        fp_labels.append(labels)
    return fp


def _list_column(values: list[list[int]]) -> pl.Series:
    """A ``List(Int64)`` series from Python lists, built from flat values and offsets (fast)."""
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    np.cumsum([len(v) for v in values], out=offsets[1:])
    flat = pa.array([x for v in values for x in v], type=pa.int64())
    return pl.Series(pa.ListArray.from_arrays(pa.array(offsets), flat))


def _merge(intervals: Iterable[tuple[int, int]]) -> list[int]:
    """Union of half-open ``[start, end)`` intervals as flat sorted boundaries."""
    flat: list[int] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if flat and start <= flat[-1]:
            flat[-1] = max(flat[-1], end)
        else:
            flat += [start, end]
    return flat


def _pairs(flat: Sequence[int]) -> list[tuple[int, int]]:
    return list(zip(flat[::2], flat[1::2], strict=True))


def _mute_bounds(table: _Alerts, config: AlertmanagerConfig, silences: Sequence[Silence],
                 end: int) -> list[list[int]]:
    """Per label set: flat boundaries of the spans in which inhibition or a silence mutes it."""
    spans: list[list[tuple[int, int]]] = [[] for _ in table.fp_labels]
    for silence in silences:
        start = to_us(silence.starts_at)
        stop = to_us(silence.ends_at) + 1
        for fp, labels in enumerate(table.fp_labels):
            if silence.matches(labels):
                spans[fp].append((start, stop))
    for rule in config.inhibit_rules:
        is_source = [matches_all(rule.source_matchers, labels) for labels in table.fp_labels]
        is_target = [matches_all(rule.target_matchers, labels) for labels in table.fp_labels]
        if not any(is_source) or not any(is_target):
            continue
        sources: dict[tuple[str, ...], list[tuple[int, int]]] = defaultdict(list)
        one_sided: dict[tuple[str, ...], list[tuple[int, int]]] = defaultdict(list)
        for fp, f, r in zip(table.fp, table.fired, table.resolved, strict=True):
            if is_source[fp] and f < end:
                key = tuple(table.fp_labels[fp].get(n, "") for n in rule.equal)
                sources[key].append((f, r))
                if not is_target[fp]:
                    one_sided[key].append((f, r))
        merged: dict[tuple[bool, tuple[str, ...]], list[tuple[int, int]]] = {}
        for fp, labels in enumerate(table.fp_labels):
            if not is_target[fp]:
                continue
            key = tuple(labels.get(n, "") for n in rule.equal)
            both = is_source[fp]
            if (both, key) not in merged:
                merged[(both, key)] = _pairs(_merge((one_sided if both else sources).get(key, ())))
            spans[fp] += merged[(both, key)]
    return [_merge(s) if s else [] for s in spans]


def _route_bounds(route: Route, config: AlertmanagerConfig, start: int, end: int) -> list[int] | None:
    """Flat boundaries of the spans in which a route is muted by its time intervals (None: never)."""
    if not route.mute_time_intervals and not route.active_time_intervals:
        return None
    first, muted = minute_mask([i for n in route.mute_time_intervals for i in config.time_intervals[n]],
                               start, end)
    if route.active_time_intervals:
        _, active = minute_mask([i for n in route.active_time_intervals for i in config.time_intervals[n]],
                                start, end)
        muted = muted | ~active
    return mask_boundaries(first, muted)


# --- the simulation ------------------------------------------------------------------------------

@dataclass
class _Out:
    notes: list[tuple[Any, ...]]
    pages: list[list[Any]]


class _Simulator:
    def __init__(self, table: _Alerts, mute: list[list[int]], end: int, gc: int):
        self.table, self.mute, self.end, self.gc = table, mute, end, gc

    def group(self, route: Route, receiver: Receiver, route_mute: list[int] | None, members: list[int],
              gkey: str, paging: int | None, page_on: PageOn, out: _Out) -> None:
        """Run one aggregation group (all its incarnations) and append its notifications and pages."""
        if receiver.integrations:
            _Group(self, route, receiver, route_mute, members, gkey, paging, page_on, out).run()


class _Group:
    """One aggregation group through time: its alerts in arrival order, the label sets it holds
    (``store``: fingerprint → alert), each integration's notification-log entry and the pages opened
    since everything last resolved. :meth:`run` walks its flushes: alerts arrive, the visible ones are
    flushed, resolved ones leave, and the next flush where something can change is found."""

    def __init__(self, sim: _Simulator, route: Route, receiver: Receiver, route_mute: list[int] | None,
                 members: list[int], gkey: str, paging: int | None, page_on: PageOn, out: _Out):
        self.sim, self.receiver, self.route_mute, self.members = sim, receiver, route_mute, members
        self.gkey, self.paging, self.page_on, self.out = gkey, paging, page_on, out
        self.gw = to_microseconds(route.group_wait)
        self.gi = to_microseconds(route.group_interval)
        self.rep = to_microseconds(route.repeat_interval)
        self.arrivals = [sim.table.fired[i] for i in members]
        self.entries: list[tuple[int, frozenset[int], frozenset[int], int] | None] = \
            [None] * len(receiver.integrations)
        self.store: dict[int, int] = {}
        self.episode: list[list[Any]] = []  # pages opened since the group last had everything resolved
        self.ptr = 0  # alerts arrived so far

    def run(self) -> None:
        end, gc, gi, n = self.sim.end, self.sim.gc, self.gi, len(self.members)
        base = self.arrivals[0] + self.gw
        t = base
        while t <= end:
            self._arrive(t)
            firing, gone = self._visible(t)
            if firing or gone:
                self._flush(t, firing, gone)
            resolved = self.sim.table.resolved
            for fp in [fp for fp, i in self.store.items() if resolved[i] <= t]:
                del self.store[fp]
            if self.store:
                t = max(self._next_flush(t, base), t + gi)
            elif self.ptr < n:  # empty: garbage-collected unless an alert arrives first
                arrival = self.arrivals[self.ptr]
                collected = t if gc == 0 else (t // gc + 1) * gc
                if gc and arrival < collected:
                    t = _tick_at_or_after(arrival, base, gi)
                else:
                    base = arrival + self.gw
                    t = base
            else:
                break

    def _arrive(self, t: int) -> None:
        """Add the alerts that arrived by ``t`` (a new episode of a label set replaces the previous one)."""
        fps, n = self.sim.table.fp, len(self.members)
        while self.ptr < n and self.arrivals[self.ptr] <= t:
            i = self.members[self.ptr]
            self.store[fps[i]] = i
            self.ptr += 1

    def _visible(self, t: int) -> tuple[list[int], list[int]]:
        """The firing and the resolved alerts a flush at ``t`` sees: none while the route is muted, and
        none of those inhibited or silenced."""
        firing: list[int] = []
        gone: list[int] = []
        if self.route_mute is not None and bisect.bisect_right(self.route_mute, t) & 1:
            return firing, gone
        fps, mute, resolved = self.sim.table.fp, self.sim.mute, self.sim.table.resolved
        for i in self.store.values():
            bounds = mute[fps[i]]
            if bounds and bisect.bisect_right(bounds, t) & 1:
                continue
            (gone if resolved[i] <= t else firing).append(i)
        return firing, gone

    def _flush(self, t: int, firing: list[int], gone: list[int]) -> None:
        """Each integration's notification-log check at ``t``; the notifications it sends and the pages."""
        ids, fps, out = self.sim.table.ids, self.sim.table.fp, self.out
        now_firing = frozenset(fps[i] for i in firing)
        now_resolved = frozenset(fps[i] for i in gone)
        for k, integration in enumerate(self.receiver.integrations):
            entry = self.entries[k]
            if entry is not None and entry[3] <= t:
                entry = None  # expired from the notification log (2 × repeat_interval)
            reason = _needs_update(entry, now_firing, now_resolved, integration.send_resolved, self.rep, t)
            if reason is None:
                continue
            self.entries[k] = (t, now_firing, now_resolved, t + 2 * self.rep)
            note = None
            if firing or integration.send_resolved:
                kind = "repeat" if reason == "repeat" else ("firing" if firing else "resolved")
                resolved_ids = sorted(ids[i] for i in gone) if integration.send_resolved else []
                note = (t, self.gkey, self.receiver.name, integration.name, kind, reason,
                        sorted([ids[i] for i in firing] + resolved_ids), resolved_ids)
                out.notes.append(note)
            if k == self.paging:
                self._page(t, firing, None if note is None else len(out.notes) - 1)

    def _page(self, t: int, firing: list[int], note: int | None) -> None:
        """Open a page for a firing notification (one per episode with ``page_on="incident"``), or close
        the episode's pages when nothing fires."""
        if firing and (not self.episode or self.page_on == "notification"):
            page = [t, self.receiver.name, self.gkey, note, firing, None]
            self.episode.append(page)
            self.out.pages.append(page)
        elif not firing:
            for page in self.episode:
                page[5] = t
            self.episode = []

    def _next_flush(self, t: int, base: int) -> int:
        """The first flush after ``t`` at which something can change: an arrival, a resolution, a muting
        boundary, or a repeat of what is still firing unmuted."""
        fps, mute, resolved, gi = self.sim.table.fp, self.sim.mute, self.sim.table.resolved, self.gi
        change = self.arrivals[self.ptr] if self.ptr < len(self.members) else NEVER
        unmuted: list[int] = []
        for i in self.store.values():
            if resolved[i] < change:
                change = resolved[i]
            bounds = mute[fps[i]]
            if bounds:
                j = bisect.bisect_right(bounds, t)
                if j < len(bounds) and bounds[j] < change:
                    change = bounds[j]
                if j & 1:
                    continue
            unmuted.append(i)
        route_mute = self.route_mute
        if route_mute is not None:
            j = bisect.bisect_right(route_mute, t)
            if j < len(route_mute) and route_mute[j] < change:
                change = route_mute[j]
            if j & 1:
                unmuted = []
        nxt = _tick_at_or_after(change, base, gi)
        if unmuted:
            still = frozenset(fps[i] for i in unmuted)
            for entry in self.entries:
                if entry is None or not still <= entry[1]:
                    nxt = min(nxt, t + gi)
                else:
                    nxt = min(nxt, _tick_at_or_after(entry[0] + self.rep, base, gi))
        return nxt


def _tick_at_or_after(instant: int, base: int, gi: int) -> int:
    if instant >= NEVER:
        return NEVER
    if instant <= base:
        return base
    return base + -(-(instant - base) // gi) * gi


def _needs_update(entry: tuple[int, frozenset[int], frozenset[int], int] | None, firing: frozenset[int],
                  resolved: frozenset[int], send_resolved: bool, repeat: int, now: int) -> str | None:
    """Alertmanager's ``DedupStage.needsUpdate``, returning why it notifies (or None)."""
    if entry is None:
        return "first" if firing else None
    logged_at, logged_firing, logged_resolved, _ = entry
    if not firing <= logged_firing:
        return "new_alerts" if logged_firing else "first"
    if not firing:
        return "all_resolved" if logged_firing else None
    if send_resolved and not resolved <= logged_resolved:
        return "new_resolved"
    if logged_at <= now - repeat:
        return "repeat"
    return None


# --- public entry point --------------------------------------------------------------------------

def _paging_integration(receiver: Receiver, explicit: bool) -> int | None:
    for k, integration in enumerate(receiver.integrations):
        if integration.kind in PAGING_INTEGRATIONS:
            return k
    return 0 if explicit and receiver.integrations else None


def notify(
    alerts: pl.DataFrame,
    config: AlertmanagerConfig | str | os.PathLike[str],
    *,
    silences: Iterable[Silence] = (),
    end: datetime | str | None = None,
    paging_receivers: Iterable[str] | None = None,
    page_on: PageOn = "incident",
    urgency: Mapping[str, str] | None = None,
    group_gc_interval: Duration = "30s",
) -> Notified:
    """Send ``alerts`` through an Alertmanager configuration and return its notifications and pages.

    Parameters
    ----------
    alerts : an Alerts frame (``labels`` is a JSON object of the alert's labels). The frame is not modified.
    config : an :class:`AlertmanagerConfig` or the path of an ``alertmanager.yml``.
    silences : :class:`Silence` records (default none).
    end : where the simulation stops (default: the last ``fired_at``/``resolved_at`` plus the longest
        ``group_wait + group_interval`` of the route tree, so final resolved notifications are sent).
        Alerts with a null ``resolved_at`` fire until then.
    paging_receivers : receiver names that page a person (default: receivers with a PagerDuty,
        Opsgenie or VictorOps integration). A page is counted on the receiver's first paging
        integration (its first integration when named here and it has none).
    page_on : ``"incident"`` (default) counts one page per group from its first firing notification
        until all its alerts resolve — PagerDuty, Opsgenie and VictorOps de-duplicate on the group
        key; ``"notification"`` counts every notification with firing alerts as a page.
    urgency : severity → ``"high"``/``"low"`` (default :data:`URGENCY_BY_SEVERITY`; others are low).
    group_gc_interval : how often empty aggregation groups are garbage-collected (default 30s, as in
        Alertmanager 0.25–0.31; ``"0s"`` removes them at once, as 0.32+ does).

    Returns
    -------
    Notified
        ``.notifications`` and ``.pages`` frames, sorted by time.

    Raises
    ------
    InputError
        if ``alerts`` is not a valid Alerts frame or its labels are not JSON objects of strings.
    ConfigError
        for a bad configuration, an unknown paging receiver, urgency or ``page_on``.

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> from alertsim.notify import AlertmanagerConfig
    >>> config = AlertmanagerConfig.from_yaml('''
    ... route: {receiver: pager, group_by: [alertname], group_wait: 30s, group_interval: 5m}
    ... receivers: [{name: pager, pagerduty_configs: [{routing_key: x}]}]''')
    >>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    >>> alerts = pl.DataFrame({
    ...     "alert_id": [1], "rule": ["HighLatency"], "series": ["latency"],
    ...     "labels": ['{"alertname": "HighLatency", "severity": "page"}'], "severity": ["page"],
    ...     "active_at": [t0], "fired_at": [t0], "resolved_at": [t0 + dt.timedelta(minutes=12)]})
    >>> out = notify(alerts, config)
    >>> out.notifications.select("sent_at", "kind").rows()
    [(datetime.datetime(2026, 1, 1, 0, 0, 30, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 'firing'), \
(datetime.datetime(2026, 1, 1, 0, 15, 30, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 'resolved')]
    >>> out.pages.select("urgency", "rule").rows()
    [('high', 'HighLatency')]
    """
    if not isinstance(config, AlertmanagerConfig):
        config = load_alertmanager_config(config)
    urgency_map = _check_options(page_on, urgency)
    silences = _silences(silences)
    gc = to_microseconds(group_gc_interval, field="group_gc_interval")
    explicit = paging_receivers is not None
    paging_names = _paging_names(config, paging_receivers)

    table = _read_alerts(alerts)
    routes = config.routes()
    if not table.ids:
        return Notified(notifications=pl.DataFrame(schema=NOTIFICATION_COLUMNS),
                        pages=pl.DataFrame(schema=PAGE_COLUMNS))
    end_us = _end_us(table, routes, end)
    start_us = min(table.fired)
    groups = _route_and_group(table, config, routes, end_us)
    mute = _mute_bounds(table, config, silences, end_us)
    route_mute = {k: _route_bounds(r, config, start_us, end_us) for k, r in enumerate(routes)}
    simulator = _Simulator(table, mute, end_us, gc)
    out = _Out(notes=[], pages=[])
    for (k, key), members in groups.items():
        route = routes[k]
        receiver = config.receivers[route.receiver]
        paging = (_paging_integration(receiver, explicit) if receiver.name in paging_names else None)
        gkey = f"{route.key}:{labelset_string(dict(key))}"
        simulator.group(route, receiver, route_mute[k], members, gkey, paging, page_on, out)
    logger.info("notify: %d alerts in %d groups → %d notifications, %d pages", len(table.ids), len(groups),
                len(out.notes), len(out.pages))
    return _frames(table, out, urgency_map)


def _check_options(page_on: str, urgency: Mapping[str, str] | None) -> dict[str, str]:
    """The severity → urgency map, after checking ``page_on`` and ``urgency``."""
    if page_on not in ("incident", "notification"):
        raise ConfigError(f"page_on must be 'incident' or 'notification', got {page_on!r}", field="page_on")
    urgency_map = dict(URGENCY_BY_SEVERITY if urgency is None else urgency)
    for severity, value in urgency_map.items():
        if value not in ("high", "low"):
            raise ConfigError(f"urgency of severity {severity!r} must be 'high' or 'low', got {value!r}",
                              field="urgency")
    return urgency_map


def _silences(silences: Iterable[Silence]) -> tuple[Silence, ...]:
    silences = tuple(silences)
    for silence in silences:
        if not isinstance(silence, Silence):
            raise ConfigError(f"silences must be Silence records, got {silence!r}", field="silences")
    return silences


def _paging_names(config: AlertmanagerConfig, paging_receivers: Iterable[str] | None) -> set[str]:
    """The receivers that page: those named (each must exist), else those with a paging integration."""
    if paging_receivers is None:
        return {name for name, r in config.receivers.items() if r.pages}
    paging_names = set(paging_receivers or ())
    unknown = paging_names - set(config.receivers)
    if unknown:
        raise ConfigError(f"unknown paging receiver(s) {sorted(unknown)}; the configuration defines "
                          f"{sorted(config.receivers)}", field="paging_receivers", file=config.file)
    return paging_names


def _end_us(table: _Alerts, routes: Sequence[Route], end: datetime | str | None) -> int:
    """Where the simulation stops: ``end``, or the last arrival or resolution plus the longest
    ``group_wait + group_interval`` (so final resolved notifications are sent)."""
    if end is not None:
        return instant_us(end, field="end", naive_is_utc=False)
    last = max(max(table.fired), max((r for r in table.resolved if r < NEVER), default=0))
    slack = max(to_microseconds(r.group_wait) + to_microseconds(r.group_interval) for r in routes)
    return last + slack


def _route_and_group(table: _Alerts, config: AlertmanagerConfig, routes: Sequence[Route], end_us: int
                     ) -> dict[tuple[int, tuple[tuple[str, str], ...]], list[int]]:
    """Route every label set, then gather each aggregation group's alerts (in arrival order): (route
    index, group labels) → alert rows."""
    route_index = {id(r): k for k, r in enumerate(routes)}
    matched: list[list[Route]] = [config.route.match(labels) for labels in table.fp_labels]
    groups: dict[tuple[int, tuple[tuple[str, str], ...]], list[int]] = {}
    for i, fp in enumerate(table.fp):
        if table.fired[i] > end_us:
            continue
        labels = table.fp_labels[fp]
        for route in matched[fp]:
            if route.group_by_all:
                key = tuple(sorted(labels.items()))
            else:
                key = tuple(sorted((n, labels[n]) for n in route.group_by if n in labels))
            groups.setdefault((route_index[id(route)], key), []).append(i)
    return groups


def _frames(table: _Alerts, out: _Out, urgency_map: Mapping[str, str]) -> Notified:
    order = sorted(range(len(out.notes)), key=lambda j: out.notes[j][:4])
    note_id = {j: n + 1 for n, j in enumerate(order)}
    notes = [out.notes[j] for j in order]
    notifications = pl.DataFrame({
        "notification_id": pl.Series(range(1, len(notes) + 1), dtype=pl.Int64),
        "group_key": pl.Series([x[1] for x in notes], dtype=pl.String),
        "receiver": pl.Series([x[2] for x in notes], dtype=pl.String),
        "sent_at": pl.Series([x[0] for x in notes], dtype=pl.Int64).cast(INSTANT),
        "kind": pl.Series([x[4] for x in notes], dtype=pl.String),
        "alert_ids": _list_column([x[6] for x in notes]),
        "integration": pl.Series([x[3] for x in notes], dtype=pl.String),
        "reason": pl.Series([x[5] for x in notes], dtype=pl.String),
        "resolved_alert_ids": _list_column([x[7] for x in notes]),
    }, schema=NOTIFICATION_COLUMNS)
    validate(notifications, NOTIFICATIONS, file="notifications")

    pages = sorted(out.pages, key=lambda p: (p[0], p[1], p[2]))
    rows: dict[str, list[Any]] = {name: [] for name in PAGE_COLUMNS}
    for n, (paged_at, receiver, gkey, note, firing, resolved_at) in enumerate(pages, start=1):
        first = min(firing, key=lambda i: (table.fired[i], table.ids[i]))
        labels = table.fp_labels[table.fp[first]]
        severities = {table.severity[i] or table.fp_labels[table.fp[i]].get("severity") for i in firing}
        high = any(urgency_map.get(s or "", "low") == "high" for s in severities)
        rows["page_id"].append(f"page-{n}")
        rows["paged_at"].append(paged_at)
        rows["urgency"].append("high" if high else "low")
        rows["service"].append(labels.get("service"))
        rows["team"].append(labels.get("team"))
        rows["rule"].append(table.rules[first] or labels.get("alertname"))
        rows["receiver"].append(receiver)
        rows["group_key"].append(gkey)
        rows["notification_id"].append(None if note is None else note_id[note])
        rows["alert_ids"].append(sorted(table.ids[i] for i in firing))
        rows["resolved_at"].append(resolved_at)
    frame = pl.DataFrame({
        name: (pl.Series(values, dtype=pl.Int64).cast(INSTANT) if dtype == INSTANT
               else _list_column(values) if name == "alert_ids" else pl.Series(values, dtype=dtype))
        for (name, dtype), values in zip(PAGE_COLUMNS.items(), rows.values(), strict=True)
    })
    validate(frame, PAGES, file="pages")
    return Notified(notifications=notifications, pages=frame)

