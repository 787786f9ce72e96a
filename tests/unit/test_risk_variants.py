"""Risk-managed versions in the variant generator (issue 15): which texts get them, how many, what
they contain; a text that states volatility targeting varies its target and lookback instead."""

from __future__ import annotations

from typing import Any

from core.spec import TBILL_MARKET, load_spec
from parser.risk_variants import PREFIX, TARGET_VOLS, is_risk_managed
from parser.variants import build_variants

GOLDEN = {"name": "golden cross", "family": "ma_crossover", "universe": {"assets": ["BTC"]},
          "entry_rule": "sma(close, 50) > sma(close, 200)"}  # fmt: skip
TEXT = "Hold BTC while the 50-day moving average is above the 200-day moving average."


def test_market_strategies_get_risk_managed_versions_of_every_variant() -> None:
    plain = build_variants(load_spec(GOLDEN), TEXT, {"BTC"})
    both = build_variants(load_spec(GOLDEN), TEXT, {"BTC"}, risk_managed=True)
    written = [v for v in both.variants if not is_risk_managed(v.label)]
    risky = [v for v in both.variants if is_risk_managed(v.label)]
    assert [v.label for v in written] == [v.label for v in plain.variants]
    assert len(risky) == both.risk_managed == len(written) * 3 * 2 * 2  # targets x lookbacks x stop
    assert both.summary()["risk_managed"] == len(risky)
    for v in risky:
        assert v.label.startswith(PREFIX) and v.spec.idle_cash_market == TBILL_MARKET
        assert v.spec.sizing.method.value == "volatility_target" and v.spec.sizing.target_vol in TARGET_VOLS
        assert v.spec.entry_rule in {w.spec.entry_rule for w in written}
    assert {v.spec.risk.max_drawdown_stop for v in risky} == {None, 0.10}
    assert len({v.spec.name for v in both.variants}) == len(both.variants)


def test_risk_managed_versions_are_capped_like_the_written_ones() -> None:
    family = build_variants(load_spec(GOLDEN), TEXT, {"BTC"}, limit=5, risk_managed=True)
    assert family.risk_managed == 5


def test_lending_and_index_texts_get_none() -> None:
    lending = load_spec({"name": "l", "family": "lending", "universe": {"lending_markets": ["aave_v2:USDC"]}})
    assert build_variants(lending, "Supply USDC on Aave v2.", set(), risk_managed=True).risk_managed == 0
    index = load_spec({"name": "i", "family": "index", "universe": {"assets": ["BTC", "ETH"]},
                       "index": {"weights": {"BTC": 0.5, "ETH": 0.45}}, "rebalance": "monthly"})  # fmt: skip
    assert (
        build_variants(index, "An index of BTC and ETH.", {"BTC", "ETH"}, risk_managed=True).risk_managed == 0
    )


def test_a_text_stating_volatility_targeting_varies_what_it_leaves_open() -> None:
    spec = load_spec({**GOLDEN, "sizing": {"method": "volatility_target", "target_vol": 0.1}})
    family = build_variants(spec, TEXT + " Target 10% volatility.", {"BTC"}, risk_managed=True)
    assert family.risk_managed == 0  # risk-managed as written
    assert "target_vol=0.1" in family.stated and "vol_lookback" in family.defaulted
    assert {v.spec.sizing.lookback_days for v in family.variants} == {20, 30, 60, 90}
    assert {v.spec.sizing.target_vol for v in family.variants} == {0.1}
    open_target = build_variants(spec, TEXT + " Scale position by volatility.", {"BTC"})
    assert {v.spec.sizing.target_vol for v in open_target.variants} == {0.05, 0.10, 0.15, 0.20}


def test_the_import_report_counts_passes_per_group() -> None:
    from parser.report import risk_summary

    texts: list[dict[str, Any]] = [
        {"groups": {"as_written": {"passed": False}, "risk_managed": {"passed": True}}},
        {"groups": {"as_written": {"passed": False}, "risk_managed": {"passed": False}}},
        {"groups": None},
    ]
    assert risk_summary(texts) == {"as_written": (0, 2), "risk_managed": (1, 2)}
    assert risk_summary([{"groups": None}]) is None
