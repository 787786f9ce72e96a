"""The offline parser reads issue 15's risk tools from prose; the guard accepts the T-bill leg only
when the text names it; descriptive drawdown figures are not a stop."""

from __future__ import annotations

import pytest

from core.spec import StrategySpec
from parser.guard import check_spec_against_text
from parser.offline import OfflineParser
from parser.risk_phrases import extract_risk


def parse(text: str) -> StrategySpec:
    result = OfflineParser().parse(text)
    assert result.spec is not None, result.rejection
    return result.spec


@pytest.mark.parametrize(
    ("phrase", "target", "stated"),
    [
        ("Target 10% volatility.", 0.10, True),
        ("We target an annualised volatility of 12 %.", 0.12, True),
        ("A 15% vol target keeps risk steady.", 0.15, True),
        ("Volatility target of 8%.", 0.08, True),
        ("Scale position by volatility.", 0.10, False),
        ("Positions are volatility-scaled.", 0.10, False),
    ],
)
def test_volatility_targeting_phrases(phrase: str, target: float, stated: bool) -> None:
    risk = extract_risk(phrase)
    assert (risk.target_vol, risk.target_stated) == (target, stated)
    spec = parse(f"Hold BTC while the 50-day moving average is above the 200-day moving average. {phrase}")
    assert spec.sizing.method.value == "volatility_target" and spec.sizing.target_vol == target


def test_a_stated_volatility_window_becomes_the_lookback() -> None:
    spec = parse(
        "Golden cross on ETH (50/200 moving averages). Target 10% volatility using 20-day volatility."
    )
    assert spec.sizing.lookback_days == 20


@pytest.mark.parametrize(
    ("text", "threshold", "reentry"),
    [
        ("Cut exposure after a 10% drawdown.", 0.10, {"rule": "cooldown", "days": 30}),
        ("Cut exposure after a 10% drawdown and re-enter after 14 days.", 0.10,
         {"rule": "cooldown", "days": 14}),
        ("Go to cash if the drawdown exceeds 15%; re-enter when the trend signal turns up.", 0.15,
         {"rule": "signal"}),
        ("A drawdown stop of 20% applies.", 0.20, {"rule": "cooldown", "days": 30}),
    ],
)  # fmt: skip
def test_drawdown_stop_phrases(text: str, threshold: float, reentry: dict[str, object]) -> None:
    spec = parse(f"Hold BTC while its 50-day moving average is above its 200-day moving average. {text}")
    assert spec.risk.max_drawdown_stop == threshold
    assert spec.risk.reentry is not None
    assert spec.risk.reentry.model_dump(mode="json", exclude_defaults=False)["rule"] == reentry["rule"]
    if "days" in reentry:
        assert spec.risk.reentry.days == reentry["days"]


def test_a_descriptive_drawdown_is_not_a_stop() -> None:
    spec = parse(
        "Hold BTC while the 50-day MA is above the 200-day MA. In 2022 it had a max drawdown of 30%."
    )
    assert spec.risk.max_drawdown_stop is None


def test_only_hold_while_above_the_200_day_average_is_a_regime_filter() -> None:
    spec = parse("Only hold ETH while price is above the 200-day average.")
    assert spec.family.value == "ma_crossover" and spec.entry_rule == "close > sma(close, 200)"
    crossover = parse(
        "Golden cross on BTC: 50-day MA above the 200-day MA. "
        "Only hold while price is above the 200-day average."
    )
    assert crossover.entry_rule == "sma(close, 50) > sma(close, 200) and close > sma(close, 200)"
    momentum = parse(
        "Momentum rotation between BTC, ETH and SOL by 30-day momentum. "
        "Only hold while price is above the 200-day average."
    )
    assert momentum.family.value == "momentum" and momentum.entry_rule == "close > sma(close, 200)"


def test_idle_cash_in_tbills_is_the_tbill_leg_and_the_guard_wants_it_named() -> None:
    spec = parse("Hold BTC while the 50-day MA is above the 200-day MA; park idle cash in T-bills.")
    assert spec.idle_cash_market == "tbill:USD"
    assert check_spec_against_text(spec, "Hold BTC while the 50-day MA is above the 200-day MA.") == [
        "the T-bill cash leg (tbill:USD) is not named in the source text"
    ]


def test_plain_texts_get_no_risk_tools() -> None:
    spec = parse(
        "Hold ETH while its 50-day moving average is above its 200-day moving average; otherwise USDC."
    )
    assert spec.sizing.method.value == "fixed_fraction" and spec.risk.max_drawdown_stop is None
    assert spec.idle_cash_market is None
