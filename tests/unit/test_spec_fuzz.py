"""Hypothesis: whatever arrives (fuzzed JSON objects, rule strings), only SpecError escapes.

Example counts stay modest by default; ARENA_DEEP_TESTS=1 runs many more.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.spec import SpecError, StrategySpec, load_spec
from core.spec.rules import FUNCTIONS, RuleError, parse_rule

DEEP = os.environ.get("ARENA_DEEP_TESTS") == "1"
EXAMPLES = 2000 if DEEP else 150

KEYS = [
    "name",
    "family",
    "universe",
    "entry_rule",
    "exit_rule",
    "risk",
    "sizing",
    "momentum",
    "pair",
    "yield_rotation",
    "index",
    "idle_cash_market",
    "backtestable",
    "unsupported_features",
    "evidence",
    "timeframe",
    "rebalance",
    "spec_version",
    "assets",
]
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
    max_leaves=12,
)
tokens = st.sampled_from(
    [
        *FUNCTIONS,
        "(",
        ")",
        ",",
        " ",
        "<",
        ">",
        "and",
        "or",
        "not",
        "1",
        "20",
        '"ETH"',
        "-",
        "*",
        ".",
        "[",
        "]",
        "lambda",
        "__import__",
        "'",
        "=",
        "2.5",
        "1e999",
    ]
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KEYS), values, max_size=8))
def test_fuzzed_objects_raise_only_spec_error(data: dict[str, Any]) -> None:
    try:
        spec = load_spec(data)
    except SpecError:
        return
    assert isinstance(spec, StrategySpec)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(tokens, max_size=25).map("".join) | st.text(max_size=60))
def test_fuzzed_rules_raise_only_rule_error_and_round_trip(text: str) -> None:
    try:
        rule = parse_rule(text)
    except RuleError:
        return
    assert parse_rule(rule.text) == rule


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(tokens, max_size=25).map("".join))
def test_fuzzed_rules_inside_specs_raise_only_spec_error(text: str) -> None:
    try:
        load_spec({"name": "f", "family": "breakout", "universe": {"assets": ["BTC"]}, "entry_rule": text})
    except SpecError as exc:
        assert exc.field in ("entry_rule", "universe.assets")


@settings(max_examples=EXAMPLES // 3, deadline=None)
@given(st.binary(max_size=200))
def test_fuzzed_bytes_raise_only_spec_error(blob: bytes) -> None:
    with contextlib.suppress(SpecError):
        load_spec(blob)
