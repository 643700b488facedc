"""Alert rules: every rule kind and dialect implements one contract (:mod:`alertsim.rules.base`); the native
YAML format and grids of candidates (:mod:`alertsim.rules.config`); the rule file formats
(:mod:`alertsim.rules.formats`)."""

# Importing the package imports no rule kind or format: a replay of a Prometheus rule file loads only
# what it uses, and each name below is imported from its module on first use (PEP 562).
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alertsim.rules.anomaly import (
        AnomalyBase,
        CusumRule,
        EwmaRule,
        HoltWintersRule,
        LikelihoodRule,
        MadRule,
        RangeRule,
        Scores,
        SeasonalBandRule,
        SeasonalRule,
        ZScoreRule,
        anomaly_score,
    )
    from alertsim.rules.base import Condition, RuleBase
    from alertsim.rules.config import RULE_KINDS, Rule, parse_rules
    from alertsim.rules.formats import DIALECTS, Dialect, load_rules
    from alertsim.rules.model import OPS, Over, Selector
    from alertsim.rules.slo import WORKBOOK_WINDOWS, BurnRateRule, BurnWindow
    from alertsim.rules.threshold import ThresholdRule

_EXPORTS: dict[str, str] = {
    "AnomalyBase": "alertsim.rules.anomaly",
    "CusumRule": "alertsim.rules.anomaly",
    "EwmaRule": "alertsim.rules.anomaly",
    "HoltWintersRule": "alertsim.rules.anomaly",
    "LikelihoodRule": "alertsim.rules.anomaly",
    "MadRule": "alertsim.rules.anomaly",
    "RangeRule": "alertsim.rules.anomaly",
    "Scores": "alertsim.rules.anomaly",
    "SeasonalBandRule": "alertsim.rules.anomaly",
    "SeasonalRule": "alertsim.rules.anomaly",
    "ZScoreRule": "alertsim.rules.anomaly",
    "anomaly_score": "alertsim.rules.anomaly",
    "Condition": "alertsim.rules.base",
    "RuleBase": "alertsim.rules.base",
    "RULE_KINDS": "alertsim.rules.config",
    "Rule": "alertsim.rules.config",
    "parse_rules": "alertsim.rules.config",
    "DIALECTS": "alertsim.rules.formats",
    "Dialect": "alertsim.rules.formats",
    "load_rules": "alertsim.rules.formats",
    "OPS": "alertsim.rules.model",
    "Over": "alertsim.rules.model",
    "Selector": "alertsim.rules.model",
    "WORKBOOK_WINDOWS": "alertsim.rules.slo",
    "BurnRateRule": "alertsim.rules.slo",
    "BurnWindow": "alertsim.rules.slo",
    "ThresholdRule": "alertsim.rules.threshold",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = [
    "DIALECTS",
    "OPS",
    "RULE_KINDS",
    "WORKBOOK_WINDOWS",
    "AnomalyBase",
    "BurnRateRule",
    "BurnWindow",
    "Condition",
    "CusumRule",
    "Dialect",
    "EwmaRule",
    "HoltWintersRule",
    "LikelihoodRule",
    "MadRule",
    "Over",
    "RangeRule",
    "Rule",
    "RuleBase",
    "Scores",
    "SeasonalBandRule",
    "SeasonalRule",
    "Selector",
    "ThresholdRule",
    "ZScoreRule",
    "anomaly_score",
    "load_rules",
    "parse_rules",
]
