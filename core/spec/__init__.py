"""StrategySpec and its rule-expression language: the contract between parser and backtest.

Public API (stable; the parser and backtest import only these names):

* :class:`StrategySpec` and its parts (:class:`Universe`, :class:`Sizing`, :class:`Risk`,
  :class:`MomentumSettings`, :class:`PairSettings`, :class:`YieldRotationSettings`,
  :class:`IndexSettings`) and enums (:class:`Family`, :class:`UnsupportedFeature`, ...).
* :func:`load_spec` / :func:`load_spec_file`: untrusted input -> spec, or :class:`SpecError`
  (a :class:`core.errors.ValidationError`) whose ``field`` names the offending field.
* :func:`spec_hash`, :func:`canonical_json`, :func:`dump_spec`.
* :func:`parse_rule` -> :class:`Rule` (canonical text + validated tree); :class:`RuleError`.
* :func:`spec_json_schema` (also written to ``prompts/strategy_spec.schema.json``).

This package imports nothing from backtest/, parser/, bot/ or any chat/LLM library.
"""

from core.spec.errors import SpecError
from core.spec.io import (
    canonical_json,
    dump_spec,
    load_spec,
    load_spec_file,
    spec_hash,
    spec_json_schema,
)
from core.spec.model import (
    BACKTESTABLE_FAMILIES,
    RULE_FAMILIES,
    SPEC_VERSION,
    TBILL_MARKET,
    VOL_TARGET_FAMILIES,
    Family,
    IndexSettings,
    LendingProtocol,
    MomentumSettings,
    PairMode,
    PairSettings,
    QuoteCurrency,
    Rebalance,
    ReentryRule,
    Risk,
    Sizing,
    SizingMethod,
    StrategySpec,
    Timeframe,
    Universe,
    UnsupportedFeature,
    YieldRotationSettings,
)
from core.spec.risk import DEFAULT_MAX_EXPOSURE, DEFAULT_VOL_LOOKBACK, DrawdownReentry
from core.spec.rules import FUNCTIONS, MAX_WINDOW, Rule, RuleError, parse_rule

__all__ = [
    "BACKTESTABLE_FAMILIES",
    "DEFAULT_MAX_EXPOSURE",
    "DEFAULT_VOL_LOOKBACK",
    "FUNCTIONS",
    "MAX_WINDOW",
    "RULE_FAMILIES",
    "SPEC_VERSION",
    "TBILL_MARKET",
    "VOL_TARGET_FAMILIES",
    "DrawdownReentry",
    "Family",
    "IndexSettings",
    "LendingProtocol",
    "MomentumSettings",
    "PairMode",
    "PairSettings",
    "QuoteCurrency",
    "Rebalance",
    "ReentryRule",
    "Risk",
    "Rule",
    "RuleError",
    "Sizing",
    "SizingMethod",
    "SpecError",
    "StrategySpec",
    "Timeframe",
    "Universe",
    "UnsupportedFeature",
    "YieldRotationSettings",
    "canonical_json",
    "dump_spec",
    "load_spec",
    "load_spec_file",
    "parse_rule",
    "spec_hash",
    "spec_json_schema",
]
