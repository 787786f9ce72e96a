"""Issue 15's spec fields: volatility targeting, the drawdown stop, the T-bill cash leg, regime
filters in the rule language; eager validation with one line that says what to do."""

from __future__ import annotations

from typing import Any

import pytest

from core.spec import TBILL_MARKET, SizingMethod, SpecError, load_spec, parse_rule, spec_hash
from core.spec.io import canonical_json


def base(**extra: Any) -> dict[str, Any]:
    return {
        "name": "golden cross",
        "family": "ma_crossover",
        "universe": {"assets": ["BTC"]},
        "entry_rule": "sma(close, 50) > sma(close, 200)",
        **extra,
    }


def error(data: dict[str, Any]) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_spec(data)
    return info.value


def test_volatility_target_fields_load_with_their_defaults() -> None:
    spec = load_spec(base(sizing={"method": "volatility_target", "target_vol": 0.1}))
    assert spec.sizing.method is SizingMethod.VOLATILITY_TARGET
    assert (spec.sizing.target_vol, spec.sizing.lookback_days, spec.sizing.max_leverage) == (0.1, 30, 1.0)


@pytest.mark.parametrize(
    ("sizing", "field", "hint"),
    [
        ({"method": "volatility_target"}, "sizing.target_vol", "e.g. 0.10 for 10 %"),
        ({"target_vol": 0.1}, "sizing.target_vol", "set method to volatility_target"),
        ({"lookback_days": 20}, "sizing.lookback_days", "only used by method volatility_target"),
        ({"rebalance_band": 0.2}, "sizing.rebalance_band", "only used by method volatility_target"),
        (
            {"method": "volatility_target", "target_vol": 0.1, "max_leverage": 2},
            "sizing.max_leverage",
            "use at most 1 (the engine never borrows)",
        ),
        ({"method": "volatility_target", "target_vol": 0.1, "lookback_days": 2}, "sizing.lookback_days", "5"),
        ({"method": "volatility_target", "target_vol": 0}, "sizing.target_vol", "greater than 0"),
    ],
)
def test_bad_volatility_fields_are_refused_with_what_to_do(
    sizing: dict[str, Any], field: str, hint: str
) -> None:
    exc = error(base(sizing=sizing))
    assert exc.field == field and hint in str(exc) and "\n" not in str(exc)


def test_volatility_target_is_refused_for_families_without_traded_slots() -> None:
    data = {"name": "idx", "family": "index", "universe": {"assets": ["BTC"]},
            "index": {"weights": {"BTC": 1}},
            "sizing": {"method": "volatility_target", "target_vol": 0.1}}  # fmt: skip
    exc = error(data)
    assert exc.field == "sizing.method" and "use fixed_fraction" in str(exc)


def test_drawdown_stop_needs_a_reentry_rule_and_the_rule_needs_the_stop() -> None:
    exc = error(base(risk={"max_drawdown_stop": 0.1}))
    assert exc.field == "risk.reentry" and '{"rule": "cooldown", "days": 30}' in str(exc)
    exc = error(base(risk={"reentry": {"rule": "signal"}}))
    assert exc.field == "risk.reentry" and "set it (e.g. 0.10)" in str(exc)
    exc = error(base(risk={"max_drawdown_stop": 0.1, "reentry": {"rule": "signal", "days": 3}}))
    assert exc.field == "risk.reentry.days"
    exc = error(base(risk={"max_drawdown_stop": 1.0, "reentry": {"rule": "signal"}}))
    assert exc.field == "risk.max_drawdown_stop"
    spec = load_spec(base(risk={"max_drawdown_stop": 0.1, "reentry": {"rule": "cooldown"}}))
    assert spec.risk.reentry is not None and spec.risk.reentry.days == 30


def test_drawdown_stop_is_refused_where_it_cannot_work() -> None:
    lending = {"name": "l", "family": "lending", "universe": {"lending_markets": ["aave_v2:USDC"]},
               "risk": {"max_drawdown_stop": 0.1, "reentry": {"rule": "cooldown"}}}  # fmt: skip
    assert error(lending).field == "risk.max_drawdown_stop"
    index = {"name": "i", "family": "index", "universe": {"assets": ["BTC"]},
             "index": {"weights": {"BTC": 1}},
             "risk": {"max_drawdown_stop": 0.1, "reentry": {"rule": "signal"}}}  # fmt: skip
    exc = error(index)
    assert exc.field == "risk.reentry" and "never re-enter" in str(exc)


def test_the_tbill_leg_is_an_idle_cash_market_only() -> None:
    spec = load_spec(base(idle_cash_market=TBILL_MARKET))
    assert spec.idle_cash_market == "tbill:USD"
    exc = error({"name": "l", "family": "lending", "universe": {"lending_markets": [TBILL_MARKET]}})
    assert exc.field == "universe.lending_markets" and "name it in idle_cash_market" in str(exc)
    exc = error(base(idle_cash_market="tbill:EUR"))
    assert "tbill:USD" in str(exc)


def test_regime_filters_are_rules() -> None:
    rule = parse_rule("sma(close, 50) > sma(close, 200) and close > sma(close, 200)")
    assert rule.lookback >= 200
    cross_asset = parse_rule('close("BTC") > sma(close("BTC"), 200)')
    assert cross_asset.assets == {"BTC"}
    load_spec(base(entry_rule="close > sma(close, 200)"))


def test_specs_without_the_new_fields_keep_their_hash() -> None:
    """Tokens and trials refer to specs by hash: the risk fields at their defaults are not hashed."""
    plain = load_spec(base())
    assert "target_vol" not in canonical_json(plain) and "max_drawdown_stop" not in canonical_json(plain)
    targeted = load_spec(base(sizing={"method": "volatility_target", "target_vol": 0.1}))
    other = load_spec(base(sizing={"method": "volatility_target", "target_vol": 0.1, "lookback_days": 60}))
    assert len({spec_hash(plain), spec_hash(targeted), spec_hash(other)}) == 3


def test_an_example_spec_keeps_the_hash_it_had_before_the_risk_fields() -> None:
    from pathlib import Path

    from core.spec import load_spec_file

    path = Path(__file__).resolve().parents[2] / "examples" / "specs" / "btc_golden_cross.json"
    # computed with the spec model of commit fa06f9d, before issue 15's fields existed
    assert (
        spec_hash(load_spec_file(path)) == "9705938452eed8dd01ae8ac98bb86287cd55d8cff0adcdbea98ea7d59affa98d"
    )


def test_a_full_dump_of_any_spec_loads_again() -> None:
    for data in (base(), base(sizing={"method": "volatility_target", "target_vol": 0.1}),
                 base(risk={"max_drawdown_stop": 0.1, "reentry": {"rule": "signal"}})):  # fmt: skip
        spec = load_spec(data)
        assert load_spec(spec.model_dump(mode="json")) == spec
