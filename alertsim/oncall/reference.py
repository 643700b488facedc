"""A readable SimPy model of the on-call simulation: the reference the fast engine is tested against.

Every page is a SimPy process that walks the escalation policy; every notification starts a responder
process that waits its ack latency and acknowledges unless the page was acknowledged first. Random
quantities are not drawn here: the model reads the same pre-drawn uniforms (:func:`~alertsim.oncall.
simulate.draw`) as the fast engine, so both must produce identical outcomes. It is slow (a process per
page and notification per replicate) and meant for tests and for reading the semantics.

Ties: an acknowledgement at exactly the instant of an escalation wins (acks are urgent events);
acknowledgements at the same instant resolve in notification order.

>>> import datetime as dt, polars as pl
>>> from alertsim.oncall.design import parse_design
>>> from alertsim.oncall.simulate import draw
>>> design = parse_design({"name": "solo", "escalation": {"levels": [{"targets": ["user:ana"]}]},
...                        "responders": {"default": {"ack": {"dist": "constant", "mean": "3m"}}}})
>>> pages = pl.DataFrame({"page_id": ["p1"], "urgency": ["high"],
...                       "paged_at": [dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)]})
>>> result = simulate_reference(pages, design, draw(pages, design, replicates=1))
>>> result.outcomes["acked_at"][0]
datetime.datetime(2026, 1, 5, 12, 3, tzinfo=zoneinfo.ZoneInfo(key='UTC'))
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import polars as pl
import simpy
from simpy.core import URGENT
from simpy.events import Event

from alertsim.frames import INSTANT
from alertsim.oncall._plan import Layout
from alertsim.oncall._time import BUCKETS, DAY_US, WEEK_BUCKETS, hour_of_week
from alertsim.oncall.design import Design, check_pages
from alertsim.oncall.responders import ResponderModel, quantile_seconds, to_us
from alertsim.oncall.schedule import render_us
from alertsim.oncall.simulate import BURDEN, PAGE_OUTCOMES, Draws


class _AckAt(Event):
    """An urgent timeout: it fires before ordinary events (escalation timers) at the same instant."""

    def __init__(self, env: simpy.Environment, delay: int):
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, URGENT, delay)


@dataclass
class _Outcome:
    notified_at: int | None = None
    acked_at: int | None = None
    acked_by: str | None = None
    escalations: int = 0
    retriggers: int = 0
    notifications: int = 0
    resolved_at: int | None = None


@dataclass
class _Run:
    """One run of the escalation policy (the first, or a re-trigger)."""

    cycle: int
    start: int
    deadline: int | None  # the page's resolution: nothing happens from then on (re-triggers only)
    acked: Event
    responders: list[_Responder] = field(default_factory=list)
    processes: list[Event] = field(default_factory=list)


@dataclass
class _Responder:
    person: str
    notified_at: int
    cancelled: bool = False


@dataclass
class _Burden:
    pages: set[int] = field(default_factory=set)
    buckets: list[int] = field(default_factory=lambda: [0, 0, 0])
    acks: int = 0


@dataclass
class _OnCall:
    """Who is on call on one schedule: rendered shifts, re-rendered further out when needed."""

    design: Design
    name: str
    start: int
    end: int = 0
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    users: tuple[str, ...] = ()

    def at(self, t: int) -> str | None:
        if t >= self.end:
            self.end = t + 60 * DAY_US
            starts, ends, self.users = render_us(self.design.schedules[self.name], self.start, self.end)
            self.starts, self.ends = starts.tolist(), ends.tolist()
        i = bisect.bisect_right(self.starts, t) - 1
        return self.users[i] if i >= 0 and t < self.ends[i] else None


class _World:
    """One replicate: the environment, the pages, everybody's models and the records."""

    def __init__(self, design: Design, pages: pl.DataFrame, draws: Draws, replicate: int):
        self.design, self.policy, self.draws, self.i = design, design.escalation, draws, replicate
        self.layout = Layout.of(self.policy)
        self.paged = pages["paged_at"].dt.epoch("us").to_list()
        self.urgency = pages["urgency"].to_list()
        self.service = pages["service"].to_list() if "service" in pages.columns else [None] * pages.height
        self.env = simpy.Environment(initial_time=min(self.paged) if self.paged else 0)
        first_day = (min(self.paged) // DAY_US - 1) * DAY_US if self.paged else 0
        self.on_call = {name: _OnCall(design, name, first_day) for name in self.policy.schedules}
        self.models: dict[str, ResponderModel] = {p: design.responders.resolve(p) for p in design.people}
        self.outcomes = [_Outcome() for _ in self.paged]
        self.handling: list[tuple[int, str, int, int | None]] = []  # (page, person, acked, resolved)
        self.burden = {p: _Burden() for p in design.people}

    @property
    def now(self) -> int:
        """Simulation time: integer microseconds since the epoch."""
        return int(self.env.now)

    # -- who and how fast ---------------------------------------------------------------------------
    def who(self, target: str, t: int) -> str | None:
        kind, _, name = target.partition(":")
        return name if kind == "user" else self.on_call[name].at(t)

    def busy(self, person: str, t: int, page: int) -> bool:
        """Handling an earlier page: acknowledged it at or before ``t`` and it is not resolved yet."""
        return any(k < page and who == person and acked <= t and (resolved is None or t < resolved)
                   for k, who, acked, resolved in self.handling)

    def work_us(self, person: str, page: int) -> int | None:
        dist = self.models[person].work_for(self.urgency[page], self.service[page])
        if dist is None:
            return None
        u = self.draws.work[self.i, page]
        a, b = dist.params
        return int(to_us(quantile_seconds(dist.code, a, b, np.array([u])))[0])

    # -- processes ------------------------------------------------------------------------------------
    def notify(self, page: int, run: _Run, person: str, slot: int) -> None:
        now = self.now
        outcome = self.outcomes[page]
        outcome.notifications += 1
        record = self.burden[person]
        record.pages.add(page)
        hour = hour_of_week(now, self.design.tz_of(person))
        record.buckets[int(WEEK_BUCKETS[hour])] += 1
        responder = _Responder(person=person, notified_at=now)
        run.responders.append(responder)
        run.processes.append(self.env.process(self.respond(page, run, responder, slot, hour)))

    def respond(self, page: int, run: _Run, responder: _Responder, slot: int, hour: int):  # type: ignore[no-untyped-def]
        model, person = self.models[responder.person], responder.person
        effect = model.busy if model.busy is not None and self.busy(person, self.now, page) else None
        chance = effect.miss if effect is not None and effect.miss is not None else model.miss
        if self.draws.miss[self.i, slot, page] < (chance or 0.0):
            return  # this notification is never acknowledged
        assert model.ack is not None  # Responders.resolve guarantees an ack model
        a, b = model.ack.params
        seconds = quantile_seconds(model.ack.code, a, b, np.array([self.draws.ack[self.i, slot, page]]))[0]
        seconds = seconds * (model.hour_factors[hour] if model.hour_factors else 1.0)
        if effect is not None:
            seconds = seconds * effect.factor
        yield _AckAt(self.env, int(to_us(np.array([seconds]))[0]))
        if run.acked.triggered or responder.cancelled:
            return
        if run.deadline is not None and self.now >= run.deadline:
            return  # the page was resolved meanwhile
        if run.cycle == 0:
            work = self.work_us(person, page)
            resolved = None if work is None else self.now + work
            self.handling.append((page, person, self.now, resolved))
        run.acked.succeed((person, self.now))

    def escalate(self, page: int, run: _Run, acker: str | None):  # type: ignore[no-untyped-def]
        """Walk the policy from its first level; return (person, acked_at) or None."""
        env, layout, outcome = self.env, self.layout, self.outcomes[page]
        if acker is not None:
            self.notify(page, run, acker, layout.acker_slot(run.cycle))
        notified_any = False
        for step in range(layout.steps):
            level = self.policy.level(step)
            people: list[str | None] = []
            for target in level.targets:
                person = self.who(target, self.now)
                if person in people or (acker is not None and person == acker and self.now == run.start):
                    person = None
                people.append(person)
            if all(p is None for p in people):
                continue  # coverage gap: skip this level at once
            if run.acked.triggered:
                break
            if run.deadline is not None and self.now >= run.deadline:
                break
            if self.urgency[page] == "low" and notified_any:
                break  # low urgency never escalates
            if self.policy.reassign:
                for responder in run.responders:
                    if responder.notified_at < self.now:
                        responder.cancelled = True
            for q, person in enumerate(people):
                if person is not None:
                    self.notify(page, run, person, layout.slot(run.cycle, step, q))
            if notified_any:
                outcome.escalations += 1
            notified_any = True
            if run.cycle == 0 and outcome.notified_at is None:
                outcome.notified_at = self.now
            yield env.any_of([run.acked, env.timeout(level.delay // _US)])
        if not run.acked.triggered and run.processes:
            # The page stays with everyone notified: wait for an ack or for all of them to give up.
            yield env.any_of([run.acked, env.all_of(run.processes)])
        return run.acked.value if run.acked.triggered else None

    def page(self, page: int):  # type: ignore[no-untyped-def]
        env, outcome = self.env, self.outcomes[page]
        yield env.timeout(self.paged[page] - self.now)
        run = _Run(cycle=0, start=self.now, deadline=None, acked=env.event())
        result = yield from self.escalate(page, run, None)
        if result is None:
            return
        person, acked_at = result
        outcome.acked_at, outcome.acked_by = acked_at, person
        self.burden[person].acks += 1
        resolved = next(r for k, _, _, r in self.handling if k == page)
        outcome.resolved_at = resolved
        timeout = self.policy.ack_timeout
        for cycle in range(1, self.layout.cycles):
            if resolved is None or timeout is None or not acked_at + timeout // _US < resolved:
                break
            yield env.timeout(acked_at + timeout // _US - self.now)
            outcome.retriggers += 1
            run = _Run(cycle=cycle, start=self.now, deadline=resolved, acked=env.event())
            result = yield from self.escalate(page, run, person)
            if result is None:
                break
            person, acked_at = result


@dataclass(frozen=True, kw_only=True)
class ReferenceResult:
    """Outcomes (:data:`~alertsim.oncall.simulate.PAGE_OUTCOMES`) and burden
    (:data:`~alertsim.oncall.simulate.BURDEN`) of the reference model."""

    outcomes: pl.DataFrame
    burden: pl.DataFrame


def simulate_reference(pages: pl.DataFrame, design: Design, draws: Draws) -> ReferenceResult:
    """Run the SimPy model for every replicate in ``draws`` (made by :func:`~alertsim.oncall.
    simulate.draw` for these pages and this design)."""
    pages = check_pages(pages)
    outcome_rows: list[dict[str, object]] = []
    burden_rows: list[dict[str, object]] = []
    for i, replicate in enumerate(draws.replicates.tolist()):
        world = _World(design, pages, draws, i)
        for page in range(pages.height):
            world.env.process(world.page(page))
        world.env.run()
        for page, outcome in enumerate(world.outcomes):
            status = "unrouted" if outcome.notified_at is None else \
                "missed" if outcome.acked_at is None else "acked"
            outcome_rows.append({"replicate": replicate, "page_id": pages["page_id"][page],
                                 "paged_at": world.paged[page], "urgency": world.urgency[page],
                                 "notified_at": outcome.notified_at, "acked_at": outcome.acked_at,
                                 "acked_by": outcome.acked_by, "escalations": outcome.escalations,
                                 "retriggers": outcome.retriggers,
                                 "notifications": outcome.notifications,
                                 "resolved_at": outcome.resolved_at, "status": status})
        for person, record in world.burden.items():
            buckets = record.buckets
            burden_rows.append({"replicate": replicate, "responder": person,
                                "pages": len(record.pages), "interruptions": sum(buckets),
                                "sleep_interruptions": buckets[BUCKETS.index("sleep")],
                                "off_hours_interruptions": buckets[BUCKETS.index("off")],
                                "business_hours_interruptions": buckets[BUCKETS.index("business")],
                                "acks": record.acks})
    instants = ("paged_at", "notified_at", "acked_at", "resolved_at")
    schema = {k: (pl.Int64() if k in instants else v) for k, v in PAGE_OUTCOMES.required.items()}
    outcomes = pl.DataFrame(outcome_rows, schema=schema, orient="row") \
        .with_columns(pl.col(c).cast(INSTANT) for c in instants)
    burden = pl.DataFrame(burden_rows, schema=dict(BURDEN.required), orient="row")
    return ReferenceResult(outcomes=outcomes, burden=burden)


_US = timedelta(microseconds=1)

__all__ = ["ReferenceResult", "simulate_reference"]
