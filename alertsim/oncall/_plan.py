"""Everything deterministic about a design and a page stream, compiled to arrays once: who is on call
(rendered schedules), each person's parameters, and local hour-of-week tables. Both the draws layout and
the engines read it; nothing here is random."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import polars as pl

from alertsim.oncall._time import DAY_US, SLOT_US, LocalClock
from alertsim.oncall.design import Design
from alertsim.oncall.escalation import EscalationPolicy
from alertsim.oncall.schedule import render_us


@dataclass(frozen=True)
class Layout:
    """Where each pre-drawn uniform goes: per page, ``cycles × (steps × width + 1)`` slots.

    Slot ``(c, j, q)`` is target ``q`` of escalation step ``j`` in cycle ``c`` (cycle 0 is the page's
    first run of the policy, cycles 1.. are re-triggers); the extra slot per cycle re-notifies the
    previous acknowledger. A slot's uniforms do not depend on the number of slots, so designs compared
    with one seed share them slot by slot (common random numbers).
    """

    cycles: int
    steps: int
    width: int

    @classmethod
    def of(cls, policy: EscalationPolicy) -> Layout:
        return cls(cycles=policy.cycles, steps=policy.steps, width=policy.width)

    @property
    def per_cycle(self) -> int:
        return self.steps * self.width + 1

    @property
    def slots(self) -> int:
        return self.cycles * self.per_cycle

    def slot(self, cycle: int, step: int, target: int) -> int:
        return cycle * self.per_cycle + step * self.width + target

    def acker_slot(self, cycle: int) -> int:
        return cycle * self.per_cycle + self.steps * self.width


@dataclass
class PageArrays:
    """The page stream as arrays, sorted by (paged_at, page_id)."""

    frame: pl.DataFrame
    paged_us: np.ndarray
    low: np.ndarray
    work_key: np.ndarray
    keys: list[tuple[str, str | None]]

    @classmethod
    def of(cls, pages: pl.DataFrame) -> PageArrays:
        paged = pages["paged_at"].dt.epoch("us").to_numpy().astype(np.int64)
        urgency = pages["urgency"].to_list()
        service = pages["service"].to_list() if "service" in pages.columns else [None] * pages.height
        keys: dict[tuple[str, str | None], int] = {}
        work_key = np.array([keys.setdefault((u, s), len(keys)) for u, s in zip(urgency, service,
                                                                                strict=True)],
                            dtype=np.int64)
        return cls(frame=pages, paged_us=paged, low=np.array([u == "low" for u in urgency], dtype=bool),
                   work_key=work_key, keys=list(keys))


class Plan:
    """A design compiled against a page stream (see module docstring)."""

    def __init__(self, design: Design, pages: PageArrays):
        self.design = design
        self.policy = design.escalation
        self.layout = Layout.of(self.policy)
        self.people = design.people
        self.index = {name: i for i, name in enumerate(self.people)}
        models = [design.responders.resolve(p) for p in self.people]
        m = len(self.people)
        self.ack_code = np.array([md.ack.code for md in models], dtype=np.int64)  # type: ignore[union-attr]
        self.ack_a = np.array([md.ack.params[0] for md in models])  # type: ignore[union-attr]
        self.ack_b = np.array([md.ack.params[1] for md in models])  # type: ignore[union-attr]
        self.miss = np.array([md.miss for md in models], dtype=float)
        self.busy = design.responders.uses_busy
        self.busy_factor = np.array([md.busy.factor if md.busy else 1.0 for md in models])
        self.busy_miss = np.array([md.busy.miss if md.busy and md.busy.miss is not None else md.miss
                                   for md in models], dtype=float)
        self.hour_factors = np.array([md.hour_factors or (1.0,) * 168 for md in models]).reshape(m, 168)
        self.has_hour_factors = any(md.hour_factors for md in models)
        keys = pages.keys
        self.work_code = np.full((m, max(len(keys), 1)), -1, dtype=np.int64)
        self.work_a = np.zeros((m, max(len(keys), 1)))
        self.work_b = np.zeros((m, max(len(keys), 1)))
        for i, md in enumerate(models):
            for k, (urgency, service) in enumerate(keys):
                dist = md.work_for(urgency, service)
                if dist is not None:
                    self.work_code[i, k] = dist.code
                    self.work_a[i, k], self.work_b[i, k] = dist.params
        self.work_shared = bool((self.work_code == self.work_code[:1]).all()
                                and (self.work_a == self.work_a[:1]).all()
                                and (self.work_b == self.work_b[:1]).all())
        self.tzs = sorted({design.tz_of(p) for p in self.people})
        self.tz_index = np.array([self.tzs.index(design.tz_of(p)) for p in self.people], dtype=np.int64)
        self.delays_us = np.array([lv.delay // timedelta(microseconds=1) for lv in self.policy.levels],
                                  dtype=np.int64)
        self.ack_timeout_us = (self.policy.ack_timeout // timedelta(microseconds=1)
                               if self.policy.ack_timeout is not None else None)
        first = int(pages.paged_us.min()) if pages.paged_us.size else 0
        last = int(pages.paged_us.max()) if pages.paged_us.size else 0
        self.start_us = (first // DAY_US - 1) * DAY_US
        span = int(sum(self.delays_us)) * (self.policy.loops + 1) * self.layout.cycles
        self._render(last + span + 30 * DAY_US)

    def _render(self, end_us: int) -> None:
        self.end_us = -(-end_us // DAY_US) * DAY_US
        self.lookups = {}
        for name in self.policy.schedules:
            starts, ends, users = render_us(self.design.schedules[name], self.start_us, self.end_us)
            codes = np.array([self.index[u] for u in users], dtype=np.int64)
            self.lookups[name] = (np.asarray(starts), np.asarray(ends), codes)
        clocks = [LocalClock(tz, self.start_us, self.end_us) for tz in self.tzs]
        self.first_slot = clocks[0].first_slot
        self.how = np.stack([c.table for c in clocks]).astype(np.int64)

    def ensure(self, latest_us: int) -> None:
        """Extend the rendered horizon to cover ``latest_us`` (instants the engine looks up)."""
        if latest_us >= self.end_us:
            self._render(max(latest_us + 30 * DAY_US, self.end_us + (self.end_us - self.start_us)))

    def who(self, target: str, t: np.ndarray) -> np.ndarray:
        """Person index notified through ``target`` at instants ``t`` (-1: nobody on call)."""
        kind, _, name = target.partition(":")
        if kind == "user":
            return np.full(t.shape, self.index[name], dtype=np.int64)
        starts, ends, codes = self.lookups[name]
        if starts.size == 0:
            return np.full(t.shape, -1, dtype=np.int64)
        pos = np.searchsorted(starts, t, side="right") - 1
        safe = np.maximum(pos, 0)
        return np.where((pos >= 0) & (t < ends[safe]), codes[safe], -1)

    def hour_of_week(self, person: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Local hour of the week of instants ``t`` in each ``person``'s zone."""
        return self.how[self.tz_index[person], t // SLOT_US - self.first_slot]
