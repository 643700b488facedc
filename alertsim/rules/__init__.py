"""Alert rules: every rule kind and dialect implements one contract (:mod:`alertsim.rules.base`); the native
YAML format and grids of candidates (:mod:`alertsim.rules.config`); the rule file formats
(:mod:`alertsim.rules.formats`)."""

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
