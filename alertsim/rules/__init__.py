"""Alert rules: records (frozen dataclasses), the native YAML format and grids of candidates."""

from alertsim.rules.config import load_rules, parse_rules
from alertsim.rules.model import (
    OPS,
    RULE_KINDS,
    WORKBOOK_WINDOWS,
    BurnRateRule,
    BurnWindow,
    EwmaRule,
    HoltWintersRule,
    MadRule,
    Over,
    Rule,
    SeasonalRule,
    Selector,
    ThresholdRule,
    ZScoreRule,
)

__all__ = [
    "OPS",
    "RULE_KINDS",
    "WORKBOOK_WINDOWS",
    "BurnRateRule",
    "BurnWindow",
    "EwmaRule",
    "HoltWintersRule",
    "MadRule",
    "Over",
    "Rule",
    "SeasonalRule",
    "Selector",
    "ThresholdRule",
    "ZScoreRule",
    "load_rules",
    "parse_rules",
]
