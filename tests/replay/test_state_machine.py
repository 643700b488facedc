"""The alerting state machine (``alertsim.replay.episodes``) as case tables, and a property comparing it
with a per-instant transcription of Prometheus 2.42's ``AlertingRule.Eval`` (rules/alerting.go).

Notation: a condition is a string of instants, ``#`` true and ``.`` false; an episode is
``(active, fired, resolved)`` as instant indices, ``resolved = -1`` while still firing at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertsim.replay import episodes


def cond(text: str) -> np.ndarray:
    return np.array([[c == "#" for c in text]], dtype=bool)


def as_tuples(eps) -> list[tuple[int, int, int, int]]:
    return sorted(zip(eps.row.tolist(), eps.active.tolist(), eps.fired.tolist(), eps.resolved.tolist(),
                      strict=True))


@pytest.mark.parametrize(("condition", "for_steps", "keep_steps", "expected"), [
    # for: pending at the first true instant, firing at active + for, resolved at the first false one.
    ("..#####......", 0, 0, [(2, 2, 7)]),
    ("..#####......", 3, 0, [(2, 5, 7)]),            # reference §3.1: for 3m, true 2m..6m
    ("..###........", 3, 0, []),                     # true for 3 instants is not 3 intervals
    ("..####.......", 3, 0, [(2, 5, 6)]),            # the 4th consecutive true instant fires
    ("###.######", 3, 0, [(4, 7, -1)]),              # a false instant while pending resets the timer
    ("....###", 0, 0, [(4, 4, -1)]),                 # still firing at the end: resolved is null
    ("", 0, 0, []),
    ("..........", 0, 0, []),
    ("##########", 9, 0, [(0, 9, -1)]),
    ("##########", 10, 0, []),
    # keep_firing_for: resolved keep after the first false instant; the condition coming back resets it.
    ("..#####......", 0, 2, [(2, 2, 9)]),            # reference §3.2: keep 2m, first false 7m -> 9m
    ("##..##......", 0, 2, [(0, 0, 8)]),             # back after 2 false instants: still the same alert
    ("##...##.....", 0, 2, [(0, 0, 4), (5, 5, 9)]),  # back after 3: the first resolved at 4
    ("###.#......", 2, 1, [(0, 2, 6)]),              # kept through the gap, then keep restarts at 5
    ("##..", 0, 3, [(0, 0, -1)]),                    # resolution would fall after the end
    ("#.###.......", 2, 3, [(2, 4, 8)]),             # a pending alert is never kept
    ("#..........#", 0, 3, [(0, 0, 4), (11, 11, -1)]),
    ("##.#.#.#....", 1, 1, [(0, 1, 9)]),
    ("#.#.#.#.#...", 1, 5, []),                      # never pending for long enough to fire
])
def test_for_and_keep_firing_for(condition, for_steps, keep_steps, expected):
    got = episodes(cond(condition), for_steps=for_steps, keep_steps=keep_steps)
    assert as_tuples(got) == [(0, *e) for e in expected]


@pytest.mark.parametrize(("enter", "stay", "for_steps", "keep_steps", "expected"), [
    # Once firing, the alert stays while the looser `clear` level holds.
    ("..##......", "..######..", 0, 0, [(2, 2, 8)]),
    ("..##......", "..######..", 1, 0, [(2, 3, 8)]),
    ("..##......", "..######..", 2, 0, []),          # pending needs the entry condition itself
    ("..#.......", ".########.", 0, 0, [(2, 2, 9)]),
    ("..#.......", "..#######.", 0, 0, [(2, 2, 9)]),
    ("#....#....", "####......", 0, 0, [(0, 0, 4), (5, 5, 6)]),  # after resolving, `enter` starts anew
    ("#.........", "###.#.....", 0, 1, [(0, 0, 6)]),              # kept over the gap at 3, resolves at 6
    ("#.........", "###..#....", 0, 1, [(0, 0, 4)]),              # gap of 2 > keep 1
    ("##....##..", "###...###.", 0, 0, [(0, 0, 3), (6, 6, 9)]),
])
def test_hysteresis(enter, stay, for_steps, keep_steps, expected):
    stay_arr = cond(stay) | cond(enter)
    got = episodes(cond(enter), for_steps=for_steps, keep_steps=keep_steps, stay=stay_arr)
    assert as_tuples(got) == [(0, *e) for e in expected]


def test_rows_are_independent():
    """Several series at once: runs never join across rows."""
    enter = np.vstack([cond("######....")[0], cond("#.........")[0], cond("....######")[0]])
    got = episodes(enter, for_steps=1, keep_steps=4)
    assert as_tuples(got) == [(0, 0, 1, -1), (2, 4, 5, -1)]
    got = episodes(enter, for_steps=0, keep_steps=2)
    assert as_tuples(got) == [(0, 0, 0, 8), (1, 0, 0, 3), (2, 4, 4, -1)]


# --------------------------------------------------------------------------------------------------
# Reference: a literal per-instant transcription of AlertingRule.Eval (Prometheus 2.42, one series).

INACTIVE, PENDING, FIRING = "inactive", "pending", "firing"


@dataclass
class ReferenceAlert:
    state: str
    active_at: int
    fired_at: int | None = None
    keep_firing_since: int | None = None
    resolved_at: int | None = None


def prometheus_episodes(enter: np.ndarray, stay: np.ndarray | None, *, step: int, hold: int,
                        keep_firing_for: int) -> list[tuple[int, int, int]]:
    """Evaluate one series at instants ``k·step`` as rules/alerting.go does; times in seconds.

    ``stay`` (hysteresis) is the condition used while the alert is firing — in PromQL,
    ``x > value or (x > clear and on() ALERTS{alertstate="firing"})``.
    """
    active: ReferenceAlert | None = None
    out: list[list[int]] = []
    for k in range(len(enter)):
        ts = k * step
        firing = active is not None and active.state == FIRING
        present = bool(stay[k]) if (stay is not None and firing) else bool(enter[k])
        # "Create pending alerts for any new vector elements"; existing active alerts are kept.
        if present and (active is None or active.state == INACTIVE):
            active = ReferenceAlert(state=PENDING, active_at=ts)
        if active is None:
            continue
        if not present:
            keep_firing = False
            if active.state == FIRING and keep_firing_for > 0:
                if active.keep_firing_since is None:
                    active.keep_firing_since = ts
                if ts - active.keep_firing_since < keep_firing_for:
                    keep_firing = True
            delete = active.state == PENDING
            if active.state != INACTIVE and not keep_firing:
                if active.state == FIRING:
                    out[-1][2] = k
                active.state = INACTIVE
                active.resolved_at = ts
            if delete:
                active = None
            if not keep_firing:
                continue
        else:
            active.keep_firing_since = None  # "The alert is firing, reset keepFiringSince."
        if active.state == PENDING and ts - active.active_at >= hold:
            active.state = FIRING
            active.fired_at = ts
            out.append([active.active_at // step, k, -1])
    return [(a, f, r) for a, f, r in out]


@st.composite
def conditions(draw):
    size = draw(st.integers(0, 40))
    rows = draw(st.integers(1, 3))
    flat = draw(st.lists(st.booleans(), min_size=size * rows, max_size=size * rows))
    enter = np.array(flat, dtype=bool).reshape(rows, size)
    stay = None
    if draw(st.booleans()):
        extra = draw(st.lists(st.booleans(), min_size=size * rows, max_size=size * rows))
        stay = enter | np.array(extra, dtype=bool).reshape(rows, size)
    return enter, stay


@settings(max_examples=400, deadline=None)
@given(case=conditions(), step=st.sampled_from([10, 30, 60]),
       hold=st.integers(0, 30).map(lambda n: n * 10), keep=st.integers(0, 30).map(lambda n: n * 10))
def test_episodes_match_prometheus_eval(case, step, hold, keep):
    """``episodes`` over runs == Prometheus' per-instant state machine, for every ``for`` and
    ``keep_firing_for`` in seconds (replay passes ``ceil(duration / interval)`` steps)."""
    enter, stay = case
    got = episodes(enter, for_steps=-(-hold // step), keep_steps=-(-keep // step), stay=stay)
    expected = [(row, *e) for row in range(enter.shape[0])
                for e in prometheus_episodes(enter[row], None if stay is None else stay[row],
                                             step=step, hold=hold, keep_firing_for=keep)]
    assert as_tuples(got) == sorted(expected)
