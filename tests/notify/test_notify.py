"""The Alertmanager model, case by case.

Every expected notification below was worked out by hand from Alertmanager's rules (group_wait, then a
flush every group_interval; notify on new firing alerts, on resolved alerts with send_resolved, when
everything resolved, and on the first flush at least repeat_interval after the last notification).
The first table is the timeline observed with Alertmanager 0.25.0 in
shared/reference/prometheus-alertmanager-slo.md §4.3, with the same short timers. Times are seconds
after T0.
"""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import alertsim
from alertsim.errors import ConfigError, InputError
from alertsim.notify import (
    AlertmanagerConfig,
    Silence,
    load_alertmanager_config,
    notify,
)
from tests.notify.helpers import alerts_frame, at, timeline

HOOK = """
receivers:
- name: hook
  webhook_configs: [{url: "http://127.0.0.1:9/", send_resolved: %s}]
"""


def config(route: str, *, extra: str = "", send_resolved: bool = True) -> AlertmanagerConfig:
    """A config with one webhook receiver ``hook`` and the given route block."""
    text = f"route:\n{route}\n" + HOOK % ("true" if send_resolved else "false") + extra
    return AlertmanagerConfig.from_yaml(text)


SHORT = """  receiver: hook
  group_by: [alertname]
  group_wait: 3s
  group_interval: 10s
  repeat_interval: 25s"""

# --- §4.3: the timeline verified against Alertmanager 0.25.0 ---------------------------------------

REFERENCE = config(SHORT, extra="""
inhibit_rules:
- source_matchers: [severity="critical"]
  target_matchers: [severity="warning"]
  equal: [instance]
""")
# X/a is posted at 0.0 and Src/c at 23.4 so that the groups' flushes fall where the reference saw them.
REFERENCE_ALERTS = alerts_frame([
    (1, {"alertname": "X", "instance": "a"}, 0.0, 50.7),
    (2, {"alertname": "X", "instance": "b"}, 5.2, 55.8),
    (3, {"alertname": "Y", "instance": "a"}, 20.3, 21.4),
    (4, {"alertname": "Src", "instance": "c", "severity": "critical"}, 23.4, None),
    (5, {"alertname": "W", "instance": "c", "severity": "warning"}, 23.4, None),
])


@pytest.fixture(scope="module")
def reference_run() -> list[tuple[float, str, str, list[int], list[int]]]:
    return timeline(notify(REFERENCE_ALERTS, REFERENCE, end=at(65)).notifications)


@pytest.mark.parametrize(("observed", "expected"), [
    ("t=3.0 notify X: [a firing] <- group_wait", (3.0, "hook", "firing", [1], [])),
    ("t=13.0 notify X: [a firing, b firing] <- next group_interval tick", (13.0, "hook", "firing", [1, 2], [])),
    ("t=26.4 notify Src: [c firing] (W/c inhibited)", (26.4, "hook", "firing", [4], [])),
    ("t=43.0 notify X: [a, b] <- repeat 25s rounded up to 30s", (43.0, "hook", "repeat", [1, 2], [])),
    ("t=53.0 notify X: [a resolved, b firing] <- send_resolved", (53.0, "hook", "firing", [1, 2], [1])),
    ("t=56.4 notify Src repeat (26.4→56.4)", (56.4, "hook", "repeat", [4], [])),
    ("t=63.0 notify X resolved: [b resolved] (a already dropped)", (63.0, "hook", "resolved", [2], [2])),
])
def test_reference_timeline(reference_run, observed, expected):
    assert expected in reference_run, observed


def test_reference_timeline_has_nothing_else(reference_run):
    """Y resolved before its group_wait and W/c was inhibited: neither was ever notified."""
    assert [n[0] for n in reference_run] == [3.0, 13.0, 26.4, 43.0, 53.0, 56.4, 63.0]
    assert all(3 not in n[3] and 5 not in n[3] for n in reference_run)


def test_reference_silence_run():
    """§4.3 second run: a 12 s silence created with the alert; first notification at the 13.0 s flush."""
    silence = Silence(matchers='alertname="S"', starts_at=at(0), ends_at=at(12))
    out = notify(alerts_frame([(1, {"alertname": "S"}, 0.0, None)]), config(SHORT), silences=[silence],
                 end=at(20))
    assert timeline(out.notifications) == [(13.0, "hook", "firing", [1], [])]


# --- grouping and timers ---------------------------------------------------------------------------

def run(route: str, rows, *, end: float, extra: str = "", send_resolved: bool = True, **kwargs):
    out = notify(alerts_frame(rows), config(route, extra=extra, send_resolved=send_resolved), end=at(end),
                 **kwargs)
    return timeline(out.notifications)


A = {"alertname": "X", "instance": "a"}
B = {"alertname": "X", "instance": "b"}


@pytest.mark.parametrize(("case", "rows", "send_resolved", "expected"), [
    ("resolved before group_wait: never notified",
     [(1, A, 0.0, 2.0)], True, []),
    ("fires and resolves between two flushes of a notified group: only as resolved, with send_resolved",
     [(1, A, 0.0, None), (2, B, 4.0, 8.0)], True,
     [(3.0, "hook", "firing", [1], []), (13.0, "hook", "firing", [1, 2], [2])]),
    ("... and not at all without send_resolved (the 33 s repeat is about a alone)",
     [(1, A, 0.0, None), (2, B, 4.0, 8.0)], False,
     [(3.0, "hook", "firing", [1], []), (33.0, "hook", "repeat", [1], [])]),
    ("all resolved: a resolved notification is sent with send_resolved",
     [(1, A, 0.0, 5.0)], True,
     [(3.0, "hook", "firing", [1], []), (13.0, "hook", "resolved", [1], [1])]),
    ("all resolved without send_resolved: logged, not sent; the next alert is a first notification again",
     [(1, A, 0.0, 5.0), (2, B, 15.0, None)], False,
     [(3.0, "hook", "firing", [1], []), (23.0, "hook", "firing", [2], [])]),
    ("the same labels re-fire between flushes: nothing new, the repeat carries the new episode",
     [(1, A, 0.0, 5.0), (2, A, 8.0, None)], True,
     [(3.0, "hook", "firing", [1], []), (33.0, "hook", "repeat", [2], [])]),
])
def test_grouping_cases(case, rows, send_resolved, expected):
    assert run(SHORT, rows, end=35, send_resolved=send_resolved) == expected, case


@pytest.mark.parametrize(("repeat", "expected"), [
    ("25s", [3.0, 33.0, 63.0]),                  # rounded up to 30 s
    ("30s", [3.0, 33.0, 63.0]),                  # already a multiple: 30 s (checked against 0.25.0)
    ("31s", [3.0, 43.0]),                        # rounded up to 40 s
    ("10s", [3.0, 13.0, 23.0, 33.0, 43.0, 53.0, 63.0]),
    ("5s", [3.0, 13.0, 23.0, 33.0, 43.0, 53.0, 63.0]),   # below group_interval: every flush
])
def test_repeat_interval_rounds_up_to_group_interval(repeat, expected):
    route = SHORT.replace("repeat_interval: 25s", f"repeat_interval: {repeat}")
    assert [n[0] for n in run(route, [(1, A, 0.0, None)], end=70)] == expected


@pytest.mark.parametrize(("case", "second_at", "gc", "expected"), [
    ("an empty group lives until the next 30 s garbage collection: the new alert joins its flushes",
     21.0, "30s", [3.0, 13.0, 23.0]),
    ("after the collection the alert opens a new group and waits group_wait again",
     31.0, "30s", [3.0, 13.0, 34.0]),
    ("Alertmanager >= 0.32 drops empty groups at once", 21.0, "0s", [3.0, 13.0, 24.0]),
])
def test_empty_groups_are_garbage_collected(case, second_at, gc, expected):
    rows = [(1, A, 0.0, 5.0), (2, B, second_at, None)]
    assert [n[0] for n in run(SHORT, rows, end=36, group_gc_interval=gc)] == expected, case


@pytest.mark.parametrize(("group_by", "expected"), [
    ("[alertname]", [(3.0, [1]), (13.0, [1, 2])]),
    ("['...']", [(3.0, [1]), (8.0, [2])]),            # every label set its own group
    ("[service]", [(3.0, [1]), (13.0, [1, 2])]),      # neither has the label: one group
])
def test_group_by(group_by, expected):
    route = SHORT.replace("group_by: [alertname]", f"group_by: {group_by}")
    notes = run(route, [(1, A, 0.0, None), (2, B, 5.0, None)], end=20)
    assert [(n[0], n[3]) for n in notes] == expected


def test_group_key_is_alertmanagers():
    out = notify(alerts_frame([(1, {"alertname": "X", "service": 'we"b'}, 0.0, None)]),
                 config(SHORT.replace("[alertname]", "[alertname, service]")), end=at(5))
    assert out.notifications["group_key"].to_list() == ['{}:{alertname="X", service="we\\"b"}']


# --- routing -------------------------------------------------------------------------------------

ROUTING = """
route:
  receiver: default
  group_wait: 3s
  group_interval: 10s
  routes:
  - matchers: [team="a"]
    receiver: team-a
    continue: %s
  - match: {severity: page}
    receiver: pager
receivers:
- name: default
  webhook_configs: [{url: "http://127.0.0.1:9/"}]
- name: team-a
  webhook_configs: [{url: "http://127.0.0.1:9/"}]
- name: pager
  pagerduty_configs: [{routing_key: x}]
"""


@pytest.mark.parametrize(("labels", "cont", "receivers"), [
    ({"team": "a", "severity": "page"}, "true", ["pager", "team-a"]),
    ({"team": "a", "severity": "page"}, "false", ["team-a"]),
    ({"team": "b", "severity": "page"}, "false", ["pager"]),
    ({"team": "b", "severity": "ticket"}, "false", ["default"]),
])
def test_routes_and_continue(labels, cont, receivers):
    out = notify(alerts_frame([(1, {"alertname": "X", **labels}, 0.0, None)]),
                 AlertmanagerConfig.from_yaml(ROUTING % cont), end=at(5))
    assert sorted(out.notifications["receiver"].to_list()) == receivers


# --- inhibition ----------------------------------------------------------------------------------

def test_inhibition_lasts_while_the_source_fires():
    rows = [(1, {"alertname": "Src", "instance": "c", "severity": "critical"}, 0.0, 20.0),
            (2, {"alertname": "W", "instance": "c", "severity": "warning"}, 0.0, None),
            (3, {"alertname": "W", "instance": "d", "severity": "warning"}, 0.0, None)]
    notes = run(SHORT, rows, end=30, extra=REFERENCE_INHIBIT)
    assert [(n[0], n[2], n[3]) for n in notes] == [
        (3.0, "firing", [1]),        # Src
        (3.0, "firing", [3]),        # W/d: different instance, not inhibited
        (23.0, "resolved", [1]),     # Src resolved at 20 ...
        (23.0, "firing", [2, 3]),    # ... so W/c is no longer inhibited: a new alert in the W group
    ]


REFERENCE_INHIBIT = """
inhibit_rules:
- source_matchers: [severity="critical"]
  target_matchers: [severity="warning"]
  equal: [instance]
"""


@pytest.mark.parametrize(("case", "rule", "rows", "notified"), [
    ("an alert matching both sides is not inhibited by others matching both; a target-only one is",
     "source_matchers: ['alertname=~\"A|B\"']\n  target_matchers: ['alertname=~\"A|B|C\"']",
     [(1, {"alertname": "A"}, 0.0, None), (2, {"alertname": "B"}, 0.0, None), (3, {"alertname": "C"}, 0.0, None)],
     [1, 2]),
    ("a label missing on both sides counts as equal (empty)",
     "source_matchers: [alertname=S]\n  target_matchers: [alertname=T]\n  equal: [cluster]",
     [(1, {"alertname": "S"}, 0.0, None), (2, {"alertname": "T"}, 0.0, None),
      (3, {"alertname": "T", "cluster": "x"}, 0.0, None)],
     [1, 3]),
    ("deprecated source_match/target_match_re",
     "source_match: {alertname: S}\n  target_match_re: {alertname: 'T.*'}",
     [(1, {"alertname": "S"}, 0.0, None), (2, {"alertname": "T1"}, 0.0, None)],
     [1]),
])
def test_inhibition_rules(case, rule, rows, notified):
    route = SHORT.replace("[alertname]", "['...']")
    notes = run(route, rows, end=5, extra=f"inhibit_rules:\n- {rule}\n")
    assert sorted(i for n in notes for i in n[3]) == notified, case


# --- silences and time intervals -----------------------------------------------------------------

@pytest.mark.parametrize(("case", "silence", "expected"), [
    ("a silence ending between flushes: notified at the next flush", ("0", "12"), [13.0, 43.0]),
    ("a silence is still active at its end instant", ("0", "13"), [23.0]),
    ("a silence starting later mutes the repeat but not the first notification", ("10", "40"), [3.0, 43.0]),
    ("a silence for another alert changes nothing", None, [3.0, 33.0]),
])
def test_silences(case, silence, expected):
    silences = [] if silence is None else [
        Silence(matchers='alertname="X"', starts_at=at(float(silence[0])), ends_at=at(float(silence[1])))]
    silences.append(Silence(matchers='alertname="Other"', starts_at=at(0), ends_at=at(100)))
    assert [n[0] for n in run(SHORT, [(1, A, 0.0, None)], end=45, silences=silences)] == expected, case


def test_a_silence_mutes_only_matching_alerts_of_a_group():
    silence = Silence(matchers='instance=~"db-.*"', starts_at=at(0), ends_at=at(100))
    rows = [(1, {"alertname": "X", "instance": "db-1"}, 0.0, None),
            (2, {"alertname": "X", "instance": "web-1"}, 0.0, None)]
    assert [n[3] for n in run(SHORT, rows, end=5, silences=[silence])] == [[2]]


MUTED_ROUTE = """  receiver: hook
  group_wait: 3s
  group_interval: 10s
  routes:
  - matchers: [alertname="X"]
    %s: [window]"""
T0_IS = "T0 is Monday 2026-03-02 09:00 UTC (10:00 in Berlin)"


@pytest.mark.parametrize(("case", "field", "interval", "expected"), [
    ("muted 09:00–09:01 UTC: first notification at the first flush after", "mute_time_intervals",
     "times: [{start_time: '09:00', end_time: '09:01'}]", [63.0]),
    ("active from 09:01: the same", "active_time_intervals",
     "times: [{start_time: '09:01', end_time: '24:00'}]", [63.0]),
    ("times are read in the interval's location", "mute_time_intervals",
     "times: [{start_time: '10:00', end_time: '10:01'}]\n    location: Europe/Berlin", [63.0]),
    ("a weekend mute does not touch a Monday", "mute_time_intervals",
     "weekdays: [saturday, sunday]", [3.0]),
    ("days_of_month counted from the end: March 2nd is day -30", "mute_time_intervals",
     "days_of_month: ['-30']", []),
])
def test_time_intervals(case, field, interval, expected):
    extra = f"time_intervals:\n- name: window\n  time_intervals:\n  - {interval}\n"
    notes = run(MUTED_ROUTE % field, [(1, {"alertname": "X"}, 0.0, None)], end=70, extra=extra)
    assert [n[0] for n in notes] == expected, f"{case} ({T0_IS})"


# --- pages ---------------------------------------------------------------------------------------

PAGING = """
route:
  receiver: tickets
  group_by: [alertname]
  group_wait: 3s
  group_interval: 10s
  repeat_interval: 25s
  routes:
  - matchers: [severity=~"page|ticket"]
    group_by: [service]
    receiver: pager
receivers:
- name: tickets
  webhook_configs: [{url: "http://127.0.0.1:9/"}]
- name: pager
  pagerduty_configs: [{routing_key: x}]
"""
PAGE_ROWS = [
    (1, {"alertname": "Burn", "service": "checkout", "severity": "ticket", "team": "storefront"}, 0.0, 45.0),
    (2, {"alertname": "Burn", "service": "checkout", "severity": "page", "team": "storefront"}, 5.0, 40.0),
    (3, {"alertname": "Other", "severity": "warning"}, 0.0, None),
]


@pytest.mark.parametrize(("page_on", "expected"), [
    # one page per group episode: opened at the first notification, closed when everything resolved
    ("incident", [(3.0, "low", [1], 53.0)]),
    # every notification with firing alerts: 3 s, 13 s (the page-severity alert joined), 43 s (it
    # resolved, sent with send_resolved; only the ticket-severity alert still fires)
    ("notification", [(3.0, "low", [1], 53.0), (13.0, "high", [1, 2], 53.0), (43.0, "low", [1], 53.0)]),
])
def test_pages(page_on, expected):
    out = notify(alerts_frame(PAGE_ROWS), AlertmanagerConfig.from_yaml(PAGING), end=at(60), page_on=page_on)
    pages = out.pages
    got = [(float((r["paged_at"] - at(0)).total_seconds()), r["urgency"], r["alert_ids"],
            float((r["resolved_at"] - at(0)).total_seconds())) for r in pages.iter_rows(named=True)]
    assert got == expected
    assert set(pages["receiver"]) == {"pager"} and set(pages["service"]) == {"checkout"}
    assert set(pages["team"]) == {"storefront"} and set(pages["rule"]) == {"Burn"}
    notes = out.notifications.filter(pl.col("notification_id").is_in(pages["notification_id"].to_list()))
    assert set(notes["receiver"]) == {"pager"}


def test_paging_receivers_can_be_named():
    out = notify(alerts_frame(PAGE_ROWS), AlertmanagerConfig.from_yaml(PAGING), end=at(60),
                 paging_receivers=["tickets"])
    assert out.pages["receiver"].to_list() == ["tickets"]
    assert out.pages["resolved_at"].to_list() == [None]     # still firing at the end
    assert out.pages["rule"].to_list() == ["Other"]


def test_urgency_mapping_can_be_replaced():
    out = notify(alerts_frame(PAGE_ROWS), AlertmanagerConfig.from_yaml(PAGING), end=at(60),
                 urgency={"ticket": "high"})
    assert out.pages["urgency"].to_list() == ["high"]


def test_summary_counts_per_receiver():
    summary = notify(alerts_frame(PAGE_ROWS), AlertmanagerConfig.from_yaml(PAGING), end=at(60)).summary()
    assert summary.to_dicts() == [
        {"receiver": "pager", "groups": 1, "notifications": 4, "firing": 3, "repeat": 0, "resolved": 1,
         "pages": 1, "high_urgency": 0},
        {"receiver": "tickets", "groups": 1, "notifications": 2, "firing": 1, "repeat": 1, "resolved": 0,
         "pages": 0, "high_urgency": 0},
    ]


# --- inputs --------------------------------------------------------------------------------------

def test_inputs_are_not_modified():
    frame = alerts_frame(PAGE_ROWS)
    before = frame.clone()
    notify(frame, AlertmanagerConfig.from_yaml(PAGING))
    assert frame.equals(before)


def test_empty_alerts_give_empty_frames():
    out = notify(alerts_frame([]), AlertmanagerConfig.from_yaml(PAGING))
    assert out.notifications.height == 0 and out.pages.height == 0


@pytest.mark.parametrize(("labels", "reason"), [
    ("not json", "not a JSON object"),
    ('["a"]', "JSON object of string label values"),
    ('{"alertname": 3}', "JSON object of string label values"),
])
def test_bad_labels_are_reported_with_their_row(labels, reason):
    frame = alerts_frame([(1, A, 0.0, None), (2, B, 0.0, None)]).with_columns(
        pl.when(pl.col("alert_id") == 2).then(pl.lit(labels)).otherwise(pl.col("labels")).alias("labels"))
    with pytest.raises(InputError, match=reason) as err:
        notify(frame, config(SHORT))
    assert [(p.row, p.column) for p in err.value.problems] == [(2, "labels")]


def test_resolved_before_fired_is_an_input_error():
    with pytest.raises(InputError, match="resolved_at is before fired_at"):
        notify(alerts_frame([(1, A, 5.0, 1.0)]), config(SHORT))


def test_missing_columns_are_an_input_error():
    with pytest.raises(InputError, match="labels"):
        notify(alerts_frame([(1, A, 0.0, None)]).drop("labels"), config(SHORT))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"paging_receivers": ["nobody"]}, "unknown paging receiver"),
    ({"page_on": "sometimes"}, "page_on"),
    ({"urgency": {"page": "urgent"}}, "'high' or 'low'"),
    ({"end": "yesterday"}, "ISO-8601"),
    ({"group_gc_interval": "30 s"}, "not a duration"),
])
def test_bad_arguments_are_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        notify(alerts_frame([(1, A, 0.0, None)]), config(SHORT), **kwargs)


# --- properties ----------------------------------------------------------------------------------

episodes = st.lists(st.tuples(st.integers(0, 3), st.integers(1, 40), st.one_of(st.none(), st.integers(0, 60))),
                    max_size=12)


@settings(max_examples=150, deadline=None)
@given(episodes)
def test_properties_of_any_timeline(spec):
    """For any episodes of one group: notifications fall on flushes (group_wait + k·group_interval after
    an arrival); an alert listed as firing was firing then, one listed as resolved had resolved; a
    notification is "resolved" exactly when all its alerts are."""
    rows, next_start, done = [], dict.fromkeys(range(4), 0.0), set()
    for n, (instance, gap, length) in enumerate(spec, start=1):
        if instance in done:
            continue
        start = next_start[instance] + gap
        end = None if length is None else start + length
        rows.append((n, {"alertname": "X", "instance": str(instance)}, start, end))
        if end is None:
            done.add(instance)
        else:
            next_start[instance] = end
    rows.sort(key=lambda r: r[2])
    life = {r[0]: (r[2], float("inf") if r[3] is None else r[3]) for r in rows}
    notes = timeline(notify(alerts_frame(rows), config(SHORT), end=at(400), group_gc_interval="0s").notifications)
    for sent, _, kind, ids, resolved in notes:
        assert any(sent >= s + 3 and round((sent - s - 3) % 10, 6) == 0 for s, _ in life.values())
        assert all(life[i][0] <= sent < life[i][1] for i in ids if i not in resolved)
        assert all(life[i][1] <= sent for i in resolved)
        assert (kind == "resolved") == (set(ids) == set(resolved))


def test_public_api_is_exported():
    assert alertsim.notify is notify
    assert alertsim.load_alertmanager_config is load_alertmanager_config
    assert {"notify", "load_alertmanager_config"} <= set(alertsim.__all__)
