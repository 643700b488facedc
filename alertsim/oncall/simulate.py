"""Monte Carlo simulation of an on-call design over a page stream: draw first, then simulate.

:func:`draw` pre-draws every random quantity from per-replicate ``numpy`` Generators spawned from one
seed: a uniform per notification slot for the ack latency and one for a miss (layout in
:class:`~alertsim.oncall._plan.Layout`), and one per page for the work time. The engine is then
deterministic and vectorised across replicates (and across pages, unless a busy effect couples them);
:mod:`alertsim.oncall.reference` is a plain SimPy model of the same semantics that, fed the same draws,
gives identical outcomes.

Semantics (see also :mod:`alertsim.oncall.escalation`):

- each notification of person *x* at *t* acknowledges at ``t + latency`` unless missed; latency is
  ``x``'s ack distribution × their hour-of-week factor at *t* (their zone) × the busy factor when *x* is
  handling an earlier page (from its ack until it is resolved) and the busy effect is configured;
- the page's first acknowledgement ``acked_at`` is the earliest among everyone notified (non-cancelling)
  or among the latest responders (``reassign``); a notification happens only if the page is not
  acknowledged by then (an ack at exactly *t* wins);
- ``resolved_at = acked_at + work`` with the acknowledger's work time for the page's urgency/service;
  unacknowledged pages have no ``resolved_at`` (null);
- with an ack timeout, an unresolved page re-triggers ``ack_timeout`` after its latest ack; re-trigger
  notifications and acks count only before ``resolved_at``.

Outcomes per page and replicate follow :data:`PAGE_OUTCOMES`; summaries give each metric's mean over
replicates with a 95% interval over replicates (2.5th–97.5th percentile).

>>> import datetime as dt, polars as pl
>>> from alertsim.oncall.design import parse_design
>>> design = parse_design({"name": "solo", "escalation": {"levels": [{"targets": ["user:ana"]}]},
...                        "responders": {"default": {"ack": {"dist": "constant", "mean": "3m"}}}})
>>> pages = pl.DataFrame({"page_id": ["p1"], "urgency": ["high"],
...                       "paged_at": [dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)]})
>>> result = simulate(pages, design, replicates=2, seed=1)
>>> result.summary["mtta_mean_min"][0]
3.0
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from alertsim.budget import check_size
from alertsim.cluster import dask_client
from alertsim.errors import ConfigError
from alertsim.frames import INSTANT, Schema
from alertsim.oncall._plan import Layout, PageArrays, Plan
from alertsim.oncall._time import NEVER, WEEK_BUCKETS
from alertsim.oncall.design import Design, check_pages, load_design, read_pages
from alertsim.oncall.responders import quantile_seconds, to_us
from alertsim.quality.fairness import equity, gini, max_mean_ratio, pairwise_balance

log = logging.getLogger(__name__)

PAGE_OUTCOMES = Schema(
    name="PageOutcomes",
    required={"replicate": pl.Int32(), "page_id": pl.String(), "paged_at": INSTANT,
              "urgency": pl.String(), "notified_at": INSTANT, "acked_at": INSTANT,
              "acked_by": pl.String(), "escalations": pl.Int32(), "retriggers": pl.Int32(),
              "notifications": pl.Int32(), "resolved_at": INSTANT, "status": pl.String()},
    nullable=frozenset({"notified_at", "acked_at", "acked_by", "resolved_at"}),
)
"""Per page and replicate: first notification, first ack (and by whom), escalations (steps beyond the
first notified one, summed over re-triggers), re-triggers, notifications sent, resolution, and
``status`` ∈ {``acked``, ``missed`` (never acknowledged), ``unrouted`` (nobody on call anywhere)}."""

BURDEN = Schema(
    name="Burden",
    required={"replicate": pl.Int32(), "responder": pl.String(), "pages": pl.Int64(),
              "interruptions": pl.Int64(), "sleep_interruptions": pl.Int64(),
              "off_hours_interruptions": pl.Int64(), "business_hours_interruptions": pl.Int64(),
              "acks": pl.Int64()},
)
"""Per replicate and person: pages they were notified on, notifications (interruptions) by the bucket
of their local time (sleep 22–08, business Mon–Fri 08–18, off hours the rest), first acks."""

STATUS = ("acked", "missed", "unrouted")
METRICS = ("mtta_mean_min", "mtta_median_min", "mtta_p90_min", "escalation_rate", "missed_rate",
           "unrouted_rate", "retrigger_rate", "mttr_mean_min", "interruptions_per_person",
           "sleep_interruptions_per_person", "sleep_interruptions_max", "pages_gini", "sleep_gini",
           "pages_equity", "sleep_equity", "pages_pairwise_balance", "pages_max_mean_ratio")
"""Per-replicate metrics. Rates are over all pages; MTTA over acknowledged pages (PagerDuty), MTTR
(paged → resolved) over resolved pages; per-person and fairness metrics over the rotation's people
(members of the targeted schedules)."""


@dataclass(frozen=True)
class Draws:
    """Pre-drawn uniforms for replicates ``replicates``: ``ack``/``miss`` ``(R, slots, pages)`` and
    ``work`` ``(R, pages)``."""

    replicates: np.ndarray
    ack: np.ndarray
    miss: np.ndarray
    work: np.ndarray
    layout: Layout


def _entropy(seed: int | np.random.Generator) -> int:
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer or a numpy Generator, got {seed!r}",
                          field="seed")
    return int(seed)


def _draw(pages: int, layout: Layout, replicates: range, entropy: int) -> Draws:
    count, slots = len(replicates), layout.slots
    uniforms = np.empty((count, slots, 2, pages))
    work = np.empty((count, pages))
    for i, replicate in enumerate(replicates):
        # One stream per replicate: work times first, then slot by slot its (ack, miss) pair, so a
        # slot's uniforms sit at the same stream position whatever the number of slots.
        stream = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=(replicate,))))
        work[i] = stream.random(pages)
        uniforms[i] = stream.random((slots, 2, pages))
    return Draws(replicates=np.arange(replicates.start, replicates.stop, dtype=np.int64),
                 ack=uniforms[:, :, 0, :], miss=uniforms[:, :, 1, :], work=work, layout=layout)


def draw(pages: pl.DataFrame, design: Design, *, replicates: int = 1000,
         seed: int | np.random.Generator = 7, first: int = 0) -> Draws:
    """Pre-draw every random quantity for replicates ``first .. first + replicates - 1``.

    Replicate *r*'s uniforms come from one stream, ``SeedSequence(seed, spawn_key=(r,))``, whatever the
    chunking, so a replicate is reproducible on its own: first a work-time uniform per page, then for
    each slot an ack and a miss uniform per page.

    >>> import datetime as dt
    >>> from alertsim.oncall.design import parse_design
    >>> design = parse_design({"name": "d", "escalation": {"levels": [{"targets": ["user:a"]}]},
    ...     "responders": {"default": {"ack": {"dist": "exponential", "mean": "4m"}}}})
    >>> pages = pl.DataFrame({"page_id": ["p"], "urgency": ["high"],
    ...                       "paged_at": [dt.datetime(2026, 1, 5, tzinfo=dt.UTC)]})
    >>> draw(pages, design, replicates=3).ack.shape
    (3, 2, 1)
    """
    _check_count(replicates)
    return _draw(pages.height, Layout.of(design.escalation), range(first, first + replicates),
                 _entropy(seed))


def _check_count(replicates: int) -> None:
    if isinstance(replicates, bool) or not isinstance(replicates, int | np.integer) or replicates < 1:
        raise ConfigError(f"replicates must be a positive integer, got {replicates!r}", field="replicates")
    if replicates > MAX_REPLICATES:
        raise ConfigError(f"replicates {replicates:,} is more than {MAX_REPLICATES:,}; confidence intervals stop "
                          "narrowing long before that: use at most 100,000", field="replicates")


#: Bytes of one row of the per-page outcomes frame (ids, instants, responder, counts).
OUTCOME_BYTES = 96
#: More replicates than this only cost time: a 95 % interval of a rate is already ±0.3 % of it at 100,000.
MAX_REPLICATES = 1_000_000


# ------------------------------------------------------------------------------------------ engine


class _Engine:
    """Runs one chunk of replicates over every page (see module docstring for the semantics)."""

    def __init__(self, plan: Plan, pages: PageArrays, draws: Draws):
        self.plan, self.pages, self.draws = plan, pages, draws
        r, p = draws.work.shape
        self.R, self.P, self.M = r, p, len(plan.people)
        self.notified_at = np.full((r, p), NEVER, dtype=np.int64)
        self.acked_at = np.full((r, p), NEVER, dtype=np.int64)
        self.acked_by = np.full((r, p), -1, dtype=np.int64)
        self.resolved_at = np.full((r, p), NEVER, dtype=np.int64)
        self.escalations = np.zeros((r, p), dtype=np.int32)
        self.retriggers = np.zeros((r, p), dtype=np.int32)
        self.notifications = np.zeros((r, p), dtype=np.int32)
        self.counts = np.zeros((r, self.M, 3), dtype=np.int64)
        self.pages_hit = np.zeros((r, self.M), dtype=np.int64)
        self.live: list[int] = []

    def run(self) -> _Engine:
        if self.P == 0:
            return self
        if self.plan.busy:  # pages interact through busy responders: one page at a time, in order
            for p in range(self.P):
                self._block(np.array([p]))
                self._update_live(p)
        else:
            self._block(np.arange(self.P))
        return self

    def _update_live(self, p: int) -> None:
        """Keep the earlier pages someone may still be handling when the next page arrives."""
        if (self.acked_by[:, p] >= 0).any():
            self.live.append(p)
        if p + 1 < self.P and self.live:
            upcoming = self.pages.paged_us[p + 1]
            cols = np.array(self.live)
            handling = (self.acked_by[:, cols] >= 0) & (self.resolved_at[:, cols] > upcoming)
            self.live = cols[handling.any(axis=0)].tolist()

    def _busy(self, rows: np.ndarray, person: np.ndarray, when: np.ndarray) -> np.ndarray:
        if not self.live:
            return np.zeros(rows.size, dtype=bool)
        cols = np.array(self.live)
        by = self.acked_by[rows[:, None], cols[None, :]]
        at = self.acked_at[rows[:, None], cols[None, :]]
        until = self.resolved_at[rows[:, None], cols[None, :]]
        return ((by == person[:, None]) & (at <= when[:, None]) & (when[:, None] < until)).any(axis=1)

    def _block(self, cols: np.ndarray) -> None:
        plan, layout = self.plan, self.plan.layout
        policy = plan.policy
        shape = (self.R, cols.size)
        # Cycle 0's notification times depend only on the page (delays, coverage gaps): shape (1, B).
        paged = self.pages.paged_us[cols][None, :]
        low = self.pages.low[cols][None, :]
        span = int(plan.delays_us.sum()) * (policy.loops + 1)
        bound = np.full(shape, NEVER, dtype=np.int64)
        notified_at = np.full(shape, NEVER, dtype=np.int64)
        escalations = np.zeros(shape, dtype=np.int32)
        retriggers = np.zeros(shape, dtype=np.int32)
        self._count = np.zeros(shape, dtype=np.int32)
        self._seen = np.zeros(((self.M + 63) // 64, self.R * cols.size), dtype=np.uint64)
        prev_ack = prev_by = ack0 = by0 = np.full(shape, NEVER, dtype=np.int64)
        for cycle in range(layout.cycles):
            if cycle == 0:
                active = np.ones((1, cols.size), dtype=bool)
                start = paged
            else:
                active, start = self._retrigger(prev_ack, bound)
                if not active.any():
                    break
                retriggers += active
            finite = start[start < NEVER]
            if finite.size:
                plan.ensure(int(finite.max()) + span)
            state = self._fresh_state(shape)
            first = np.zeros(shape, dtype=bool)
            t = start
            if cycle > 0:
                self._notify(cols, prev_by, active & (prev_by >= 0), start,
                             layout.acker_slot(cycle), state, bound, cancel=None)
            for step in range(layout.steps):
                resps = self._targets(policy.level(step), t, prev_by if cycle > 0 else None, start)
                nonempty = resps[0] >= 0
                for who in resps[1:]:
                    nonempty = nonempty | (who >= 0)
                reach = active & nonempty & (state["best"] > t) & ~(low & first)
                if cycle > 0:
                    reach &= t < bound
                cancel = reach & (state["pend_t"] < t) if policy.reassign else None
                for q, who in enumerate(resps):
                    self._notify(cols, who, reach & (who >= 0), t, layout.slot(cycle, step, q), state,
                                 bound, cancel=cancel)
                    cancel = None
                escalations += reach & first
                first |= reach
                if cycle == 0:
                    notified_at = np.where(reach & (notified_at == NEVER), t, notified_at)
                delay = plan.delays_us[step % len(policy.levels)]
                t = np.where(nonempty & (t < NEVER), t + delay, t)
            final, final_by = state["best"], state["best_by"]
            if cycle == 0:
                ack0, by0 = final, final_by
                bound = self._resolve(cols, final, final_by)
            prev_ack, prev_by = final, final_by
        self._store(cols, notified_at=notified_at, acked_at=ack0, acked_by=by0, resolved_at=bound,
                    escalations=escalations, retriggers=retriggers)

    def _fresh_state(self, shape: tuple[int, int]) -> dict[str, np.ndarray]:
        """A cycle's state: the earliest acknowledgement so far and by whom (and, when a policy reassigns,
        when a pending notification was sent)."""
        state = {"best": np.full(shape, NEVER, dtype=np.int64), "best_by": np.full(shape, -1, dtype=np.int64)}
        if self.plan.policy.reassign:
            state["pend_t"] = np.full(shape, NEVER, dtype=np.int64)
        return state

    def _retrigger(self, prev_ack: np.ndarray, bound: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which pages re-notify after an acknowledgement timed out (acknowledged, not yet resolved, and the
        timeout ends before the resolution), and when."""
        again = np.where(prev_ack < NEVER, prev_ack + (self.plan.ack_timeout_us or 0), NEVER)
        active = (prev_ack < NEVER) & (bound < NEVER) & (again < bound)
        return active, np.where(active, again, NEVER)

    def _targets(self, level: Any, t: np.ndarray, prev_by: np.ndarray | None, start: np.ndarray
                 ) -> list[np.ndarray]:
        """Who each target of ``level`` is at ``t`` (-1: nobody): someone an earlier target of the level
        already reaches counts once, and a re-notification skips whoever acknowledged at its start."""
        resps: list[np.ndarray] = []
        for target in level.targets:
            who = self.plan.who(target, t)
            for earlier in resps:
                who = np.where(who == earlier, -1, who)
            if prev_by is not None:
                who = np.where((who == prev_by) & (t == start), -1, who)
            resps.append(who)
        return resps

    def _store(self, cols: np.ndarray, **outcomes: np.ndarray) -> None:
        """Write a block's outcomes (and its notification counts) into the per-page arrays."""
        for name, values in outcomes.items():
            getattr(self, name)[:, cols] = values
        self.notifications[:, cols] = self._count

    def _resolve(self, cols: np.ndarray, ack: np.ndarray, by: np.ndarray) -> np.ndarray:
        plan = self.plan
        has = ack < NEVER
        key = self.pages.work_key[cols]
        if plan.work_shared:  # everyone has the same work model: parameters depend on the page only
            code, a, b = (x[0, key][None, :] for x in (plan.work_code, plan.work_a, plan.work_b))
        else:
            person = np.where(has, by, 0)
            key = np.broadcast_to(key, ack.shape)
            code, a, b = (x[person, key] for x in (plan.work_code, plan.work_a, plan.work_b))
        seconds = quantile_seconds(code, a, b, self.draws.work[:, cols])
        return np.where(has & (code >= 0), ack + to_us(seconds), NEVER)

    def _notify(self, cols: np.ndarray, who: np.ndarray, mask: np.ndarray, t: np.ndarray, slot: int,
                state: dict[str, np.ndarray], bound: np.ndarray, cancel: np.ndarray | None) -> None:
        """Notify ``who`` where ``mask``; fold their would-be acks into ``state``; count burden.

        In reassign mode the page's current ack candidate is replaced by the candidates of the
        responders notified at the latest instant (``cancel`` marks pages escalating at this step)."""
        plan, width = self.plan, cols.size
        best, best_by = state["best"].reshape(-1), state["best_by"].reshape(-1)
        if cancel is not None:
            dropped = np.flatnonzero(cancel)
            best[dropped] = NEVER
            best_by[dropped] = -1
        if who.shape[0] == 1 and t.shape[0] == 1 and not plan.busy and self.M <= 64 and \
                np.count_nonzero(mask) > 0.3 * mask.size:
            self._notify_dense(cols, who[0], mask, t[0], slot, state)
            return
        flat = np.flatnonzero(mask)
        if flat.size == 0:
            return
        rows, inner = np.divmod(flat, width)
        page = cols[inner]
        person = who[0, inner] if who.shape[0] == 1 else who.reshape(-1)[flat]
        when = t[0, inner] if t.shape[0] == 1 else t.reshape(-1)[flat]
        how = plan.hour_of_week(person, when)
        seconds = quantile_seconds(plan.ack_code[person], plan.ack_a[person], plan.ack_b[person],
                                   self.draws.ack[rows, slot, page])
        if plan.has_hour_factors:
            seconds = seconds * plan.hour_factors[person, how]
        chance = plan.miss[person]
        if plan.busy:
            busy = self._busy(rows, person, when)
            seconds = seconds * np.where(busy, plan.busy_factor[person], 1.0)
            chance = np.where(busy, plan.busy_miss[person], chance)
        cand = np.where(self.draws.miss[rows, slot, page] >= chance, when + to_us(seconds), NEVER)
        cand = np.where(cand < bound.reshape(-1)[flat], cand, NEVER)
        current = best[flat]
        better = cand < current
        best[flat] = np.where(better, cand, current)
        best_by[flat] = np.where(better, person, best_by[flat])
        if plan.policy.reassign:
            state["pend_t"].reshape(-1)[flat] = when
        # Burden: every notification by the bucket of the person's local time; distinct pages.
        bucket = WEEK_BUCKETS[how].astype(np.int64)
        if flat.size < 4096:
            np.add.at(self.counts, (rows, person, bucket), 1)
        else:
            self.counts += np.bincount((rows * self.M + person) * 3 + bucket,
                                       minlength=self.R * self.M * 3).reshape(self.R, self.M, 3)
        word, bit = np.divmod(person, 64)
        bits = np.left_shift(np.uint64(1), bit.astype(np.uint64))
        seen = self._seen[word, flat]
        new = (seen & bits) == 0
        self._seen[word, flat] = seen | bits
        if new.any():
            if new.sum() < 4096:
                np.add.at(self.pages_hit, (rows[new], person[new]), 1)
            else:
                self.pages_hit += np.bincount(rows[new] * self.M + person[new],
                                              minlength=self.R * self.M).reshape(self.R, self.M)
        self._count.reshape(-1)[flat] += 1

    def _notify_dense(self, cols: np.ndarray, who: np.ndarray, mask: np.ndarray, when: np.ndarray,
                      slot: int, state: dict[str, np.ndarray]) -> None:
        """:meth:`_notify` when who is notified, and when, depends only on the page (cycle 0, no busy
        effect) and most pages are notified: per-page parameters broadcast over replicates."""
        plan = self.plan
        person = np.where(who >= 0, who, 0)
        how = plan.hour_of_week(person, when)
        full = cols.size == self.P and cols[0] == 0
        u = self.draws.ack[:, slot, :] if full else self.draws.ack[:, slot, cols]
        v = self.draws.miss[:, slot, :] if full else self.draws.miss[:, slot, cols]
        seconds = quantile_seconds(plan.ack_code[person][None, :], plan.ack_a[person][None, :],
                                   plan.ack_b[person][None, :], u)
        if plan.has_hour_factors:
            seconds = seconds * plan.hour_factors[person, how][None, :]
        cand = np.where(mask & (v >= plan.miss[person][None, :]), when[None, :] + to_us(seconds), NEVER)
        best, best_by = state["best"], state["best_by"]
        better = cand < best
        np.copyto(best, cand, where=better)
        np.copyto(best_by, np.broadcast_to(person[None, :], best_by.shape), where=better)
        if plan.policy.reassign:
            np.copyto(state["pend_t"], np.broadcast_to(when[None, :], mask.shape), where=mask)
        # Burden: one-hot (page → person, bucket) summed over pages for every replicate at once.
        key = person * 3 + WEEK_BUCKETS[how].astype(np.int64)
        weights = mask.astype(np.float64)
        onehot = np.zeros((cols.size, self.M * 3))
        onehot[np.arange(cols.size), key] = 1.0
        self.counts += np.rint(weights @ onehot).astype(np.int64).reshape(self.R, self.M, 3)
        bits = np.left_shift(np.uint64(1), person.astype(np.uint64))[None, :]
        seen = self._seen[0].reshape(self.R, cols.size)
        new = mask & ((seen & bits) == 0)
        np.bitwise_or(seen, bits, out=seen, where=mask)
        hits = np.zeros((cols.size, self.M))
        hits[np.arange(cols.size), person] = 1.0
        self.pages_hit += np.rint(new.astype(np.float64) @ hits).astype(np.int64)
        self._count += mask


# ------------------------------------------------------------------------------------- summaries


@dataclass(frozen=True, kw_only=True)
class Simulation:
    """The result of :func:`simulate` for one design.

    ``outcomes`` (:data:`PAGE_OUTCOMES`, empty when not kept), ``burden`` (:data:`BURDEN`),
    ``metrics`` (one row per replicate, columns :data:`METRICS`), ``summary`` (one row: each metric's
    mean and ``_lo``/``_hi`` 95% interval over replicates) and ``people`` (per person: means and
    intervals of pages and interruptions).
    """

    design: str
    replicates: int
    seed: int | None
    outcomes: pl.DataFrame
    burden: pl.DataFrame
    metrics: pl.DataFrame
    summary: pl.DataFrame
    people: pl.DataFrame


def _outcome_frame(engine: _Engine, replicates: np.ndarray) -> pl.DataFrame:
    plan, pages = engine.plan, engine.pages
    r, p = engine.R, engine.P
    rows = pl.Series(np.repeat(np.arange(r), p))
    page_idx = pl.Series(np.tile(np.arange(p), r))

    def instant(values: np.ndarray) -> pl.Series:
        flat = values.reshape(-1)
        missing = flat == NEVER
        array = pa.array(flat, type=pa.int64(), mask=missing if missing.any() else None)
        return pl.Series(pl.from_arrow(array)).cast(INSTANT)

    names = pl.Series([*plan.people, None], dtype=pl.String)
    by = engine.acked_by.reshape(-1)
    status = np.where(engine.notified_at == NEVER, 2, np.where(engine.acked_at == NEVER, 1, 0))
    return pl.DataFrame({
        "replicate": pl.Series(replicates, dtype=pl.Int32).gather(rows),
        "page_id": pages.frame["page_id"].gather(page_idx),
        "paged_at": pages.frame["paged_at"].gather(page_idx),
        "urgency": pages.frame["urgency"].gather(page_idx),
        "notified_at": instant(engine.notified_at),
        "acked_at": instant(engine.acked_at),
        "acked_by": names.gather(pl.Series(np.where(by >= 0, by, len(plan.people)))),
        "escalations": pl.Series(engine.escalations.reshape(-1), dtype=pl.Int32),
        "retriggers": pl.Series(engine.retriggers.reshape(-1), dtype=pl.Int32),
        "notifications": pl.Series(engine.notifications.reshape(-1), dtype=pl.Int32),
        "resolved_at": instant(engine.resolved_at),
        "status": pl.Series(list(STATUS), dtype=pl.String).gather(pl.Series(status.reshape(-1))),
    }, schema=dict(PAGE_OUTCOMES.required))


def _burden_frame(people: tuple[str, ...], replicates: np.ndarray, counts: np.ndarray,
                  pages_hit: np.ndarray, acks: np.ndarray) -> pl.DataFrame:
    r, m = pages_hit.shape
    return pl.DataFrame({
        "replicate": pl.Series(np.repeat(replicates, m), dtype=pl.Int32),
        "responder": pl.Series(list(people) * r, dtype=pl.String),
        "pages": pl.Series(pages_hit.reshape(-1), dtype=pl.Int64),
        "interruptions": pl.Series(counts.sum(axis=2).reshape(-1), dtype=pl.Int64),
        "sleep_interruptions": pl.Series(counts[:, :, 0].reshape(-1), dtype=pl.Int64),
        "off_hours_interruptions": pl.Series(counts[:, :, 1].reshape(-1), dtype=pl.Int64),
        "business_hours_interruptions": pl.Series(counts[:, :, 2].reshape(-1), dtype=pl.Int64),
        "acks": pl.Series(acks.reshape(-1), dtype=pl.Int64),
    }, schema=dict(BURDEN.required))


def _nan_stat(values: np.ndarray, how: str, q: float = 50.0) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if how == "mean":
            return np.nanmean(values, axis=1)
    return _row_percentiles(values, (q,))[0]


def _row_percentiles(values: np.ndarray, qs: tuple[float, ...]) -> list[np.ndarray]:
    """Per-row percentiles ignoring NaN (numpy's linear method), by one sort: NaN sort last."""
    if values.shape[1] == 0:
        return [np.full(values.shape[0], np.nan) for _ in qs]
    ordered = np.sort(values, axis=1)
    counts = np.count_nonzero(~np.isnan(values), axis=1)
    rows = np.arange(values.shape[0])
    out = []
    for q in qs:
        position = (counts - 1) * (q / 100.0)
        low = np.floor(position).astype(np.int64)
        high = np.minimum(low + 1, np.maximum(counts - 1, 0))
        low = np.maximum(low, 0)
        fraction = position - np.floor(position)
        a, b = ordered[rows, low], ordered[rows, high]
        result = a + (b - a) * fraction
        out.append(np.where(counts > 0, result, np.nan))
    return out


def _index(values: np.ndarray, fn: Any) -> np.ndarray:
    out = np.full(values.shape[0], np.nan)
    for i, row in enumerate(values):
        v = fn(row)
        if v is not None:
            out[i] = v
    return out


def replicate_metrics(engine_like: Any, paged_us: np.ndarray, rotation: np.ndarray) -> dict[str, np.ndarray]:
    """Per-replicate metrics (:data:`METRICS`) from outcome arrays (``(R, pages)``) and burden; NaN
    where undefined (no pages, no acks)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _replicate_metrics(engine_like, paged_us, rotation)


def _replicate_metrics(engine_like: Any, paged_us: np.ndarray, rotation: np.ndarray
                       ) -> dict[str, np.ndarray]:
    acked = engine_like.acked_at < NEVER
    with np.errstate(invalid="ignore"):
        tta = np.where(acked, (engine_like.acked_at - paged_us[None, :]) / 6e7, np.nan)
        resolved = engine_like.resolved_at < NEVER
        ttr = np.where(resolved, (engine_like.resolved_at - paged_us[None, :]) / 6e7, np.nan)
    median, p90 = _row_percentiles(tta, (50.0, 90.0))
    pages_hit = engine_like.pages_hit[:, rotation].astype(float)
    counts = engine_like.counts[:, rotation, :].astype(float)
    interruptions = counts.sum(axis=2)
    sleep = counts[:, :, 0]
    return {
        "mtta_mean_min": _nan_stat(tta, "mean"),
        "mtta_median_min": median,
        "mtta_p90_min": p90,
        "escalation_rate": (engine_like.escalations > 0).mean(axis=1),
        "missed_rate": (~acked).mean(axis=1),
        "unrouted_rate": (engine_like.notified_at == NEVER).mean(axis=1),
        "retrigger_rate": (engine_like.retriggers > 0).mean(axis=1),
        "mttr_mean_min": _nan_stat(ttr, "mean"),
        "interruptions_per_person": interruptions.mean(axis=1) if rotation.size else np.full(
            acked.shape[0], np.nan),
        "sleep_interruptions_per_person": sleep.mean(axis=1) if rotation.size else np.full(
            acked.shape[0], np.nan),
        "sleep_interruptions_max": sleep.max(axis=1) if rotation.size else np.full(acked.shape[0], np.nan),
        "pages_gini": _index(pages_hit, gini),
        "sleep_gini": _index(sleep, gini),
        "pages_equity": _index(pages_hit, equity),
        "sleep_equity": _index(sleep, equity),
        "pages_pairwise_balance": _index(pages_hit, pairwise_balance),
        "pages_max_mean_ratio": _index(pages_hit, max_mean_ratio),
    }


def _interval(values: np.ndarray) -> tuple[float | None, float | None, float | None]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None, None, None
    lo, hi = np.percentile(finite, [2.5, 97.5])
    return float(finite.mean()), float(lo), float(hi)


def summarise(name: str, metrics: pl.DataFrame, pages: int) -> pl.DataFrame:
    """One summary row: each metric's mean over replicates and its 95% interval over replicates."""
    row: dict[str, Any] = {"design": name, "pages": pages, "replicates": metrics.height}
    for metric in METRICS:
        mean, lo, hi = _interval(metrics[metric].to_numpy().astype(float))
        row[metric], row[f"{metric}_lo"], row[f"{metric}_hi"] = mean, lo, hi
    schema: dict[str, pl.DataType] = {"design": pl.String(), "pages": pl.Int64(), "replicates": pl.Int64()}
    schema.update({f"{m}{s}": pl.Float64() for m in METRICS for s in ("", "_lo", "_hi")})
    return pl.DataFrame([row], schema=schema)


def summarise_people(burden: pl.DataFrame) -> pl.DataFrame:
    """Per person: mean and 95% interval over replicates of pages and interruptions."""
    measures = ("pages", "interruptions", "sleep_interruptions", "off_hours_interruptions",
                "business_hours_interruptions", "acks")
    exprs = []
    for m in measures:
        exprs += [pl.col(m).mean().alias(f"{m}_mean"),
                  pl.col(m).quantile(0.025, interpolation="linear").alias(f"{m}_lo"),
                  pl.col(m).quantile(0.975, interpolation="linear").alias(f"{m}_hi")]
    order = {name: i for i, name in enumerate(dict.fromkeys(burden["responder"].to_list()))}
    return (burden.group_by("responder").agg(exprs)
            .sort(pl.col("responder").replace_strict(order, return_dtype=pl.Int64)))


# ------------------------------------------------------------------------------------------- API


def _chunk_size(pages: int, slots: int, busy: bool) -> int:
    budget = 24_000_000 if not busy else 64_000_000
    return max(1, budget // max(1, pages * (2 * slots + 12)))


def _chunk_frames(plan: Plan, arrays: PageArrays, rotation: np.ndarray, chunk: Draws,
                  keep_outcomes: bool) -> tuple[pl.DataFrame | None, pl.DataFrame, pl.DataFrame]:
    """Run the engine on one chunk of replicates: (outcomes or None, burden, per-replicate metrics)."""
    engine = _Engine(plan, arrays, chunk).run()
    outcomes = _outcome_frame(engine, chunk.replicates) if keep_outcomes else None
    acks = np.zeros((engine.R, engine.M), dtype=np.int64)
    rows, cols = np.nonzero(engine.acked_by >= 0)
    np.add.at(acks, (rows, engine.acked_by[rows, cols]), 1)
    burden = _burden_frame(plan.people, chunk.replicates, engine.counts, engine.pages_hit, acks)
    values = replicate_metrics(engine, arrays.paged_us, rotation)
    metrics = pl.DataFrame({"replicate": pl.Series(chunk.replicates, dtype=pl.Int32),
                            **{k: pl.Series(v, dtype=pl.Float64) for k, v in values.items()}})
    return outcomes, burden, metrics


def _remote_chunk(frame: pl.DataFrame, design: Design, replicates: range, entropy: int,
                  keep_outcomes: bool) -> tuple[pl.DataFrame | None, pl.DataFrame, pl.DataFrame]:
    """One chunk of replicates on a Dask worker: the same draws as locally (stream r of the seed)."""
    arrays = PageArrays.of(frame)
    plan = Plan(design, arrays)
    rotation = np.array([plan.index[p] for p in design.rotation], dtype=np.int64)
    return _chunk_frames(plan, arrays, rotation, _draw(frame.height, plan.layout, replicates, entropy),
                         keep_outcomes)


def simulate(pages: pl.DataFrame | str | os.PathLike[str], design: Design | str | os.PathLike[str], *,
             replicates: int = 1000, seed: int | np.random.Generator = 7, draws: Draws | None = None,
             keep_outcomes: bool = True, engine: str = "local", scheduler: Any = None) -> Simulation:
    """Simulate ``design`` over ``pages``: outcomes per page and replicate, burden, summaries.

    Parameters
    ----------
    pages : PAGES frame (``page_id, paged_at, urgency`` + optional ``service``; urgency high/low), or
        a CSV/Parquet path or run directory.
    design : a :class:`~alertsim.oncall.design.Design` or a design YAML path.
    replicates : Monte Carlo replicates (default 1000).
    seed : integer seed or numpy Generator (default 7); replicate *r* uses stream *r* of the seed.
    draws : pre-made :func:`draw` output to use instead of drawing (``replicates``/``seed`` ignored).
    keep_outcomes : build the per-page outcomes frame (default True; False saves memory).
    engine : ``"local"`` (default) or ``"dask"``: chunks of replicates run on a Dask cluster
        (``scheduler``: an address, a ``distributed.Client``, or None for a temporary local cluster).
        Replicate *r* draws from stream *r* of the seed wherever it runs, so the result is identical.

    Returns
    -------
    Simulation

    Raises
    ------
    InputError for bad pages; ConfigError for a bad design, seed or replicate count.
    """
    if not isinstance(design, Design):
        design = load_design(design)
    frame = read_pages(pages) if not isinstance(pages, pl.DataFrame) else check_pages(pages)
    arrays = PageArrays.of(frame)
    plan = Plan(design, arrays)
    layout = plan.layout
    if draws is not None:
        if draws.work.shape[1] != frame.height or draws.layout != layout:
            raise ConfigError("draws were made for other pages or another escalation layout",
                              field="draws")
        chunks: list[Draws] = [draws]
        entropy, count = None, draws.work.shape[0]
    else:
        _check_count(replicates)
        if keep_outcomes:
            check_size(float(replicates) * frame.height * OUTCOME_BYTES, field="replicates",
                       what=f"per-page outcomes of {replicates:,} replicates × {frame.height:,} pages",
                       advice="use fewer replicates or --no-outcomes")
        entropy, count = _entropy(seed), int(replicates)
        size = _chunk_size(frame.height, layout.slots, plan.busy)
        chunks = []
    rotation = np.array([plan.index[p] for p in design.rotation], dtype=np.int64)
    parts: list[tuple[pl.DataFrame | None, pl.DataFrame, pl.DataFrame]] = []
    if engine == "dask" and draws is None:
        ranges = [range(first, min(count, first + size)) for first in range(0, count, size)]
        with dask_client(scheduler) as client:
            futures = [client.submit(_remote_chunk, frame, design, r, entropy, keep_outcomes, pure=False)
                       for r in ranges]
            parts = [future.result() for future in futures]
    elif engine not in ("local", "dask"):
        raise ConfigError(f"unknown engine {engine!r}; use 'local' or 'dask'", field="engine")
    else:
        first = 0
        while first < count:
            if draws is not None:
                chunk = chunks[0]
            else:
                chunk = _draw(frame.height, layout, range(first, min(count, first + size)), entropy)  # type: ignore[arg-type]
            parts.append(_chunk_frames(plan, arrays, rotation, chunk, keep_outcomes))
            first += chunk.replicates.size
            log.debug("design %s: %d of %d replicates", design.name, first, count)
    outcome_parts = [p[0] for p in parts if p[0] is not None]
    burden_parts = [p[1] for p in parts]
    metric_parts = [p[2] for p in parts]
    metrics = pl.concat(metric_parts)
    burden = pl.concat(burden_parts)
    outcomes = pl.concat(outcome_parts) if outcome_parts else PAGE_OUTCOMES.empty()
    return Simulation(design=design.name, replicates=count, seed=entropy, outcomes=outcomes,
                      burden=burden, metrics=metrics,
                      summary=summarise(design.name, metrics, frame.height),
                      people=summarise_people(burden))


__all__ = ["BURDEN", "METRICS", "PAGE_OUTCOMES", "Draws", "Simulation", "draw", "simulate",
           "summarise"]
