"""On-call scheduling and simulation: schedules → shifts, escalation policies, responder models, and a
Monte Carlo simulator that compares designs on MTTA, escalations, missed pages, burden and fairness.

>>> import alertsim.oncall as oc
>>> oc.parse_escalation({"levels": [{"targets": ["user:ana"], "delay": "5m"}]}).steps
1
"""

from alertsim.oncall.balance import Balance, balance
from alertsim.oncall.compare import Comparison, compare, comparison_table, differences, plot_mtta, plot_sleep
from alertsim.oncall.design import (
    Design,
    check_pages,
    design_shifts,
    load_design,
    parse_design,
    read_pages,
)
from alertsim.oncall.escalation import EscalationPolicy, Level, parse_escalation
from alertsim.oncall.reference import ReferenceResult, simulate_reference
from alertsim.oncall.responders import (
    BusyEffect,
    Distribution,
    ResponderModel,
    Responders,
    fit_responders,
    parse_responders,
)
from alertsim.oncall.schedule import (
    Entry,
    FixedLayer,
    Layer,
    Override,
    Restriction,
    Schedule,
    TimeOff,
    coverage_gaps,
    on_call,
    parse_schedule,
    read_ical,
    shifts,
    to_ical,
)
from alertsim.oncall.simulate import BURDEN, METRICS, PAGE_OUTCOMES, Draws, Simulation, draw, simulate

__all__ = [
    "BURDEN",
    "METRICS",
    "PAGE_OUTCOMES",
    "Balance",
    "BusyEffect",
    "Comparison",
    "Design",
    "Distribution",
    "Draws",
    "Entry",
    "EscalationPolicy",
    "FixedLayer",
    "Layer",
    "Level",
    "Override",
    "ReferenceResult",
    "ResponderModel",
    "Responders",
    "Restriction",
    "Schedule",
    "Simulation",
    "TimeOff",
    "balance",
    "check_pages",
    "compare",
    "comparison_table",
    "coverage_gaps",
    "design_shifts",
    "differences",
    "draw",
    "fit_responders",
    "load_design",
    "on_call",
    "parse_design",
    "parse_escalation",
    "parse_responders",
    "parse_schedule",
    "plot_mtta",
    "plot_sleep",
    "read_ical",
    "read_pages",
    "shifts",
    "simulate",
    "simulate_reference",
    "to_ical",
]
