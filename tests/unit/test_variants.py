"""Implement: a parsed text becomes a bounded family of variants (trials)."""

from __future__ import annotations

from typing import Any

import pytest

from core.spec import load_spec, parse_rule
from core.spec.rule_nodes import Indicator, walk
from parser.recognise import principal_assets
from parser.variants import GRIDS, build_variants, stated_in


def spec(**kw: Any) -> Any:
    base: dict[str, Any] = {"name": "t", "family": "ma_crossover", "universe": {"assets": ["BTC"]},
                            "entry_rule": "sma(close, 50) > sma(close, 200)"}  # fmt: skip
    base.update(kw)
    return load_spec(base)


def windows(rule: str) -> list[int]:
    return [int(n.params[0]) for n in walk(parse_rule(rule).tree) if isinstance(n, Indicator)]


@pytest.mark.parametrize(
    ("text", "value", "kind", "expected"),
    [
        ("a 20-day breakout", 20, "window", True),
        ("uses the MA(50) and the 200 days average", 200, "window", True),
        ("variance of 30% - 50% in the results", 30, "window", False),
        ("buy when RSI is below 30", 30, "level", True),
        ("a stop loss of 1.5 % on every trade", 0.015, "fraction", True),
        ("hold the top 2 assets", 2, "count", True),
        ("the 2 founders", 2, "count", False),
    ],
)
def test_stated_parameters_are_recognised_only_in_context(
    text: str, value: float, kind: str, expected: bool
) -> None:
    assert stated_in(text, value, kind) is expected


def test_unstated_windows_take_the_default_grid_and_keep_the_fast_average_faster() -> None:
    family = build_variants(spec(), "Hold bitcoin in an uptrend.", {"BTC"})
    pairs = [windows(v.spec.entry_rule or "") for v in family.variants]
    grid = GRIDS["ma"]
    assert pairs == [[f, s] for f in grid for s in grid if f < s]  # 10 of the 25 combinations
    assert family.combinations == 25 and not family.capped
    assert family.defaulted == ["ma:50", "ma:200"] and family.stated == []
    assert len({v.label for v in family.variants}) == len(family.variants)


def test_stated_windows_are_kept_and_the_asset_varies_over_what_the_text_trades() -> None:
    text = "Trade BTC or ETH (and SOL) on a 50-day / 200-day moving average crossover."
    family = build_variants(spec(), text, {"BTC", "ETH"})
    assert family.stated == ["ma:50=50", "ma:200=200"] and family.defaulted == []
    assert family.assets == ["BTC", "ETH"] and family.missing_assets == ["SOL"]
    assert [v.spec.universe.assets for v in family.variants] == [["BTC"], ["ETH"]]
    assert {v.spec.entry_rule for v in family.variants} == {"sma(close, 50) > sma(close, 200)"}


def test_rules_that_name_assets_keep_the_traded_asset() -> None:
    pinned = spec(universe={"assets": ["ETH"], "signal_assets": ["BTC"]},
                  entry_rule='close > sma(close, 100) and close("BTC") > sma(close("BTC"), 60)')  # fmt: skip
    family = build_variants(
        pinned, "ETH long when BTC trends up: 100-day and 60-day averages.", {"BTC", "ETH"}
    )
    assert family.assets == [] and all(v.spec.universe.assets == ["ETH"] for v in family.variants)


def test_the_cap_takes_evenly_spaced_combinations() -> None:
    family = build_variants(spec(), "Hold bitcoin in an uptrend.", {"BTC"}, limit=4)
    assert family.capped and family.combinations == 25 and 1 <= len(family.variants) <= 4


def test_rsi_thresholds_and_bollinger_widths_vary_when_unstated() -> None:
    reversion = spec(
        family="mean_reversion", entry_rule="rsi(close, 14) < 30", exit_rule="rsi(close, 14) > 70"
    )
    family = build_variants(reversion, "Buy the dip on bitcoin.", {"BTC"})
    assert set(family.defaulted) == {"rsi:14", "rsi_low:30", "rsi_high:70"}
    assert len(family.variants) == 3 * 3 * 3
    entry, exit_ = family.variants[0].spec.entry_rule, family.variants[0].spec.exit_rule
    assert entry == "rsi(close, 7) < 25" and exit_ == "rsi(close, 7) > 65"  # one RSI window for both rules


def test_momentum_rotation_and_index_grids() -> None:
    momentum = spec(family="momentum", universe={"assets": ["BTC", "ETH", "SOL"]}, entry_rule=None,
                    momentum={"lookback_days": 30, "top_k": 1})  # fmt: skip
    assert (
        len(build_variants(momentum, "Rotate into the strongest coin.", {"BTC", "ETH", "SOL"}).variants)
        == 5 * 3
    )
    markets = ["aave_v2:USDC", "compound:USDC"]
    rotation = load_spec({"name": "y", "family": "yield_rotation", "universe": {"lending_markets": markets},
                          "yield_rotation": {"markets": markets}})  # fmt: skip
    assert len(build_variants(rotation, "Supply where the rate is best.", set()).variants) == 9
    index = load_spec({"name": "i", "family": "index", "universe": {"assets": ["BTC", "ETH"]},
                       "index": {"weights": {"BTC": 0.5, "ETH": 0.5}}})  # fmt: skip
    cadences = {v.spec.rebalance.value for v in build_variants(index, "Hold both.", {"BTC", "ETH"}).variants}
    assert cadences == {"weekly", "monthly", "quarterly"}


def test_infrastructure_mentions_are_not_traded_assets() -> None:
    governance = "MIP 12: the treasury will use Chainlink oracles and Chainlink price feeds to value its DAI."
    assert "LINK" not in principal_assets(governance)
    assert "LINK" in principal_assets("Buy LINK when it breaks out above its 20-day high.")
