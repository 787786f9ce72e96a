"""The rule-expression language: what it accepts, what it refuses, canonical rendering."""

from __future__ import annotations

import pytest

from core.spec.rules import (
    BoolOp,
    Compare,
    Cross,
    Indicator,
    Num,
    Ratio,
    RuleError,
    Series,
    lookback,
    parse_rule,
    referenced_assets,
)

VALID = [
    "sma(close, 50) > sma(close, 200)",
    "rsi(close, 14) < 30",
    "rsi(close) < 30",
    "crosses_above(ema(close, 12), ema(close, 26))",
    "crosses_below(macd(close), macd_signal(close))",
    "macd_hist(close, 8, 21, 5) > 0",
    "close < bb_lower(close, 20, 2.5) and not close > bb_mid(close, 20)",
    "close > highest(high, 20) or close < lowest(low, 20)",
    "atr(14) / close < 0.05",
    'atr("ETH", 10) > 0',
    "roc(close, 30) > 0.1",
    "momentum(close, 10) > 0",
    'ratio("ETH", "BTC") > sma(ratio("ETH", "BTC"), 20)',
    'close("ETH") > sma(close("ETH"), 50) and close("BTC") > sma(close("BTC"), 50)',
    "30 < rsi(close, 14) < 70",
    "close > 1.02 * sma(close, 20) - -1",
    "volume > 2 * sma(volume, 20)",
    "(open + close) / 2 > sma(close, 5)",
]


@pytest.mark.parametrize("text", VALID)
def test_valid_rules_parse_and_render_canonically(text: str) -> None:
    rule = parse_rule(text)
    again = parse_rule(rule.text)
    assert again == rule  # canonical text is a fixed point
    assert rule.lookback >= 0


INVALID = [
    ("", "empty"),
    ("close.real > 1", "attribute"),
    ("close[0] > 1", "subscript"),
    ("(lambda: 1)() > 0", "direct calls"),
    ('__import__("os") > 0', "not allowed"),
    ("eval('1') > 0", "not allowed"),
    ("sma(close, 50)", "expected a condition"),
    ("close == 1", "comparison Eq"),
    ("close ** 2 > 1", "operator Pow"),
    ("sma(close, 0) > 1", "out of range"),
    ("sma(close, 366) > 1", "out of range"),
    ("sma(close, 2.5) > 1", "whole number"),
    ("sma(close) > 1", "needs a window"),
    ("sma(close, n=5) > 1", "keyword"),
    ("sma(*x) > 1", "not allowed"),
    ('close("eth") > 1', "ticker"),
    ('"BTC" > 1', "only allowed as an asset"),
    ("foo > 1", "unknown name"),
    ("sma > 1", "is a function"),
    ("True", "constant True/False"),
    ("1 < 2", "two constants"),
    ("close > 1e10", "finite"),
    ("close > 10**400", "operator Pow"),
    ("sma(close, 20", "not a valid expression"),
    ("x := 1", "not a valid expression"),
    ("crosses_above(close) ", "2 argument"),
    ("sma(crosses_above(close, open), 3) > 0", "is a condition"),
    ('ratio("ETH", "ETH") > 1', "two different"),
    ("macd(close, 26, 12) > 0", "fast window"),
    ("bb_upper(close, 20, 50) > close", "out of range"),
    ("close > " + "+".join(["1"] * 110), "too complex"),
    ("not " * 20 + "close > 1", "nested too deeply"),
    ("close if open else high > 1", "if-expressions"),
    ("f'{close}' > 1", "f-strings"),
    ("close > 1\x00", "not a valid expression"),
    ("close > 1 " * 60, ""),
]


@pytest.mark.parametrize(("text", "fragment"), INVALID)
def test_invalid_rules_raise_rule_error(text: str, fragment: str) -> None:
    with pytest.raises(RuleError) as info:
        parse_rule(text)
    assert fragment in str(info.value)


def test_tree_shape_and_queries() -> None:
    rule = parse_rule('crosses_above(ratio("ETH", "BTC"), sma(ratio("ETH", "BTC"), 20)) and close > 1')
    assert isinstance(rule.tree, BoolOp)
    cross = rule.tree.values[0]
    assert isinstance(cross, Cross) and cross.direction == "above"
    assert cross.left == Ratio("ETH", "BTC")
    assert cross.right == Indicator("sma", Ratio("ETH", "BTC"), (20.0,))
    assert rule.tree.values[1] == Compare(">", Series("close"), Num(1.0))
    assert referenced_assets(rule.tree) == {"ETH", "BTC"}
    assert lookback(rule.tree) == 22  # sma 20 (+1 guard) + 1 for the cross


def test_chained_comparison_becomes_and() -> None:
    rule = parse_rule("30 < rsi(close, 14) < 70")
    assert rule.text == "30 < rsi(close, 14) and rsi(close, 14) < 70"


def test_defaults_are_made_explicit() -> None:
    assert parse_rule("macd(close) > 0").text == "macd(close, 12, 26, 9) > 0"
    assert parse_rule("bb_upper(close, 20) > 0").text == "bb_upper(close, 20, 2) > 0"
    assert parse_rule("atr() > 0").text == "atr(14) > 0"


def test_error_reports_position() -> None:
    with pytest.raises(RuleError) as info:
        parse_rule("close > foo")
    assert info.value.column == 8
    assert "at character 9" in str(info.value)


def test_non_string_rule() -> None:
    with pytest.raises(RuleError):
        parse_rule(42)  # type: ignore[arg-type]
