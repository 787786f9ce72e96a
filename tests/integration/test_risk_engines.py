"""Issue 15's risk tools on hand-built series, in both engines: volatility targeting reacts to a
volatility jump on the first decision after it and never before; weights never exceed the cap;
the drawdown stop exits on the bar after the threshold is crossed and re-enters by its rule.

Expected values are worked out from the series (numpy's sample std, not the engines' code)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from backtest import run_backtest
from backtest.engine import BacktestResult
from tests.support.markets import frame, market

ENGINES = ("backtrader", "vector")
LOOKBACK = 10


def vol_spec(target: float, max_leverage: float = 1.0, **extra: Any) -> dict[str, Any]:
    return {
        "name": "vol target test",
        "family": "ma_crossover",
        "universe": {"assets": ["BTC"]},
        "entry_rule": "close > 0",
        "sizing": {"method": "volatility_target", "target_vol": target, "lookback_days": LOOKBACK,
                   "max_leverage": max_leverage},
        **extra,
    }  # fmt: skip


def alternating(n: int, step: float, start: float = 100.0) -> list[float]:
    out = [start]
    for k in range(n - 1):
        out.append(out[-1] * (1 + step if k % 2 == 0 else 1 - step))
    return out


def jump_series(calm: float, wild: float, calm_days: int, wild_days: int) -> tuple[list[float], int]:
    """Closes with ``calm`` alternating returns, then ``wild`` ones; and the bar of the first wild return."""
    closes = alternating(calm_days, calm)
    for k in range(wild_days):
        closes.append(closes[-1] * (1 + wild if k % 2 == 0 else 1 - wild))
    return closes, calm_days  # the return of bar calm_days is the first wild one


def implied_weights(result: BacktestResult, closes: list[float]) -> dict[int, float]:
    """Decision bar t -> the weight its order aimed at: position after the fill at t+1, valued at
    close t, over equity at t (order_target_percent sizes on the decision bar's close and value)."""
    days = [d.date().isoformat() for d in result.equity.index]
    first = len(closes) - len(days)
    position = 0.0
    by_day: dict[str, float] = {}
    for fill in result.trades:
        position += fill["size"] if fill["side"] == "buy" else -fill["size"]
        by_day[fill["date"]] = position
    out: dict[int, float] = {}
    for k in range(len(days) - 1):
        if days[k + 1] in by_day:
            t = first + k
            out[t] = by_day[days[k + 1]] * closes[t] / float(result.equity.iloc[k])
    return out


def expected_weight(closes: list[float], t: int, target: float, cap: float) -> float:
    returns = np.diff(np.asarray(closes[t - LOOKBACK : t + 1])) / np.asarray(closes[t - LOOKBACK : t])
    vol = float(np.std(returns, ddof=1)) * math.sqrt(365)
    return min(cap, target / vol)


@pytest.mark.parametrize("engine", ENGINES)
def test_position_shrinks_on_the_first_decision_after_a_volatility_jump(engine: str) -> None:
    closes, jump = jump_series(0.01, 0.04, 60, 20)
    data = market({"BTC": frame(closes)})
    result = run_backtest(vol_spec(0.10), data, engine=engine)
    weights = implied_weights(result, closes)
    calm = 0.10 / (0.01 * math.sqrt(LOOKBACK / (LOOKBACK - 1)) * math.sqrt(365))  # 5 up, 5 down
    assert calm == pytest.approx(0.4966, abs=1e-4)
    decisions = sorted(weights)
    # The first live decision buys the calm weight; no order follows until the jump's own close
    # (never before it: every calm window has the same volatility), which re-sizes at once.
    assert weights[decisions[0]] == pytest.approx(calm, rel=1e-9)
    assert decisions[0] < jump - 40 and decisions[1] == jump
    assert sells(result)[0] == day("2024-01-01", jump + 1)
    assert weights[jump] == pytest.approx(expected_weight(closes, jump, 0.10, 1.0), rel=1e-9)
    assert weights[jump] < 0.75 * calm
    for t in (jump + 1, jump + 5, jump + 8):  # until the window is all wild returns
        assert weights[t] == pytest.approx(expected_weight(closes, t, 0.10, 1.0), rel=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
def test_weights_never_exceed_the_leverage_cap(engine: str) -> None:
    closes, jump = jump_series(0.002, 0.04, 50, 20)  # calm vol ~4 %: 0.10 / 0.04 > 0.8, capped
    data = market({"BTC": frame(closes)})
    result = run_backtest(vol_spec(0.10, max_leverage=0.8), data, engine=engine)
    weights = implied_weights(result, closes)
    assert max(weights.values()) <= 0.8 * (1 + 1e-9)
    decisions = sorted(weights)
    assert weights[decisions[0]] == pytest.approx(0.8, rel=1e-9) and decisions[1] == jump
    assert weights[jump] == pytest.approx(expected_weight(closes, jump, 0.10, 0.8), rel=1e-9)
    assert weights[jump] < 0.8


def test_two_assets_share_their_slots_and_the_exposure_cap() -> None:
    """Two calm assets, each capped at a full slot (1/2): the sum 1.0 exceeds max_exposure 0.9
    and both are scaled to 0.45."""
    closes = alternating(60, 0.002)
    data = market({"BTC": frame(closes), "ETH": frame([c * 2 for c in closes])})
    spec = vol_spec(0.10, universe={"assets": ["BTC", "ETH"]})
    spec["sizing"]["max_exposure"] = 0.9
    for engine in ENGINES:
        result = run_backtest(spec, data, engine=engine)
        first = [f for f in result.trades if f["date"] == result.trades[0]["date"]]
        assert {f["asset"] for f in first} == {"BTC", "ETH"}
        decided = len(closes) - len(result.equity)  # the first live bar; equity still all cash
        prices = {"BTC": closes[decided], "ETH": 2 * closes[decided]}
        for fill in first:  # sized on the decision bar's close: size * close / equity = weight
            assert fill["size"] * prices[fill["asset"]] / 1_000_000.0 == pytest.approx(0.45, rel=1e-9)


def falling_after_peak(rise: int, falls: int, step: float) -> list[float]:
    closes = [100.0 + k for k in range(rise)]
    for _ in range(falls):
        closes.append(closes[-1] * (1 - step))
    return closes


def dd_spec(rule: dict[str, Any], entry: str = "close > 0") -> dict[str, Any]:
    return {
        "name": "drawdown stop test",
        "family": "ma_crossover",
        "universe": {"assets": ["BTC"]},
        "entry_rule": entry,
        "risk": {"max_drawdown_stop": 0.10, "reentry": rule},
    }


def sells(result: BacktestResult) -> list[str]:
    return [f["date"] for f in result.trades if f["side"] == "sell"]


def buys(result: BacktestResult) -> list[str]:
    return [f["date"] for f in result.trades if f["side"] == "buy"]


def day(closes_start: str, k: int) -> str:
    import pandas as pd

    return (pd.Timestamp(closes_start) + pd.Timedelta(days=k)).date().isoformat()


@pytest.mark.parametrize("engine", ENGINES)
def test_drawdown_stop_exits_the_bar_after_the_threshold_and_reenters_after_its_cooldown(engine: str) -> None:
    # 20 rising bars (peak at bar 19), then -5 % a day: 95 % invested loses ~4.75 %, ~9.3 %, ~13.6 %
    # -> the third falling bar (bar 22) is the first close 10 % below the peak; sell at bar 23's open.
    closes = falling_after_peak(20, 6, 0.05) + [80.0] * 20
    data = market({"BTC": frame(closes)})
    result = run_backtest(dd_spec({"rule": "cooldown", "days": 5}), data, engine=engine)
    eq = result.equity
    peak = eq.cummax()
    crossed = [k for k in range(len(eq)) if eq.iloc[k] <= 0.9 * peak.iloc[k]]
    first = len(closes) - len(eq)
    assert crossed[0] + first == 22  # hand-worked above
    assert sells(result) == [day("2024-01-01", 23)]
    # halted at bar 22; cooldown 5 -> back in at the decision of bar 27, bought at bar 28's open
    assert buys(result)[1:] == [day("2024-01-01", 28)]


@pytest.mark.parametrize("engine", ENGINES)
def test_drawdown_stop_reenters_when_the_signal_has_been_off_and_on_again(engine: str) -> None:
    # The rule (close > 60) stays on through the first fall, so rule "signal" waits: off at bar 30
    # (close 55), on again at bar 33 (close 70) -> buy at bar 34's open.
    closes = [*falling_after_peak(20, 6, 0.05), 75.0, 70.0, 65.0, 62.0, 55.0, 55.0, 58.0, 70.0, 71.0, 72.0]
    assert closes[30] == 55.0 and closes[33] == 70.0
    data = market({"BTC": frame(closes)})
    result = run_backtest(dd_spec({"rule": "signal"}, "close > 60"), data, engine=engine)
    assert sells(result) == [day("2024-01-01", 23)]
    assert buys(result)[1:] == [day("2024-01-01", 34)]


def test_without_the_stop_the_same_series_stays_invested() -> None:
    closes = falling_after_peak(20, 6, 0.05) + [80.0] * 20
    spec = dd_spec({"rule": "cooldown"})
    del spec["risk"]
    result = run_backtest(spec, market({"BTC": frame(closes)}))
    assert sells(result) == []


@pytest.mark.parametrize("engine", ENGINES)
def test_idle_cash_in_the_tbill_leg_earns_the_risk_free_rate_and_no_excess(engine: str) -> None:
    import pandas as pd

    from backtest.data.riskfree import RiskFree
    from tests.support.markets import days

    n = 40
    yields = pd.Series(0.0365, index=days(n), name="risk_free")  # 0.01 % a day
    data = market({"BTC": frame([100.0] * n)}, risk_free=RiskFree("test bill", yields))
    spec = {"name": "all cash", "family": "ma_crossover", "universe": {"assets": ["BTC"]},
            "entry_rule": "close < 0", "idle_cash_market": "tbill:USD"}  # fmt: skip
    result = run_backtest(spec, data, engine=engine)
    eq = result.equity.to_numpy()
    assert result.trades == []
    assert eq[-1] / eq[0] == pytest.approx(1.0001 ** (len(eq) - 1), rel=1e-12)
    assert result.metrics["excess_return"] == pytest.approx(0.0, abs=1e-12)
    assert not any("tbill" in note for note in result.notes)


def test_the_tbill_leg_without_a_risk_free_series_says_so() -> None:
    data = market({"BTC": frame([100.0] * 30)})
    spec = {"name": "all cash", "family": "ma_crossover", "universe": {"assets": ["BTC"]},
            "entry_rule": "close < 0", "idle_cash_market": "tbill:USD"}  # fmt: skip
    result = run_backtest(spec, data)
    assert any(note.startswith("tbill:USD: no T-bill") for note in result.notes)
    assert result.equity.iloc[-1] == result.equity.iloc[0]


def test_the_generated_agent_states_its_risk_tools_and_plain_agents_are_unchanged() -> None:
    from backtest.codegen import code_hash, generate, load_agent
    from core.spec import load_spec

    data = {**vol_spec(0.1, 0.5), **dd_spec({"rule": "cooldown", "days": 7}), "name": "audit"}
    data["sizing"]["rebalance_band"] = 0.1
    spec = load_spec(data)
    code = generate(spec)
    for line in ("vol_target = 0.1", "vol_lookback = 10", "max_leverage = 0.5", "dd_stop = 0.1",
                 'dd_reentry = "cooldown"', "dd_days = 7", "rebalance_band = 0.1"):  # fmt: skip
        assert f"    {line}" in {row.split("  #")[0] for row in code.splitlines()}
    agent = load_agent(code, code_hash(code))
    assert (agent.vol_target, agent.dd_days) == (0.1, 7)
    plain = generate(load_spec(dd_spec({"rule": "signal"}) | {"risk": {}}))
    assert "vol_target" not in plain and "dd_stop" not in plain


@pytest.mark.parametrize("engine", ENGINES)
def test_weekly_cadence_stops_mid_week_and_reenters_on_a_monday(engine: str) -> None:
    # Same series as above: the threshold is crossed on bar 22, Tuesday 2024-01-23 (not a rebalance
    # day): everything is sold at once, at Wednesday's open. Cooldown 5 days ends on Sunday (bar 27);
    # decisions are taken on Mondays, so the strategy is back on Monday bar 28, bought on bar 29.
    closes = falling_after_peak(20, 6, 0.05) + [80.0] * 20
    spec = {**dd_spec({"rule": "cooldown", "days": 5}), "rebalance": "weekly"}
    result = run_backtest(spec, market({"BTC": frame(closes)}), engine=engine)
    assert sells(result) == [day("2024-01-01", 23)]
    assert buys(result)[1:] == [day("2024-01-01", 29)]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_regime_filter_holds_only_above_the_average(engine: str) -> None:
    # close > sma(close, 5): rising closes keep it on; the first close below the 5-day average
    # (bar 15: 120 against (122 + 124 + 126 + 128 + 120) / 5 = 124) turns it off -> sold at bar 16.
    closes = [100.0 + 2 * k for k in range(15)] + [120.0, 118.0, 116.0]
    spec = {"name": "regime", "family": "ma_crossover", "universe": {"assets": ["BTC"]},
            "entry_rule": "close > sma(close, 5)", "idle_cash_market": "tbill:USD"}  # fmt: skip
    result = run_backtest(spec, market({"BTC": frame(closes)}), engine=engine)
    assert sells(result) == [day("2024-01-01", 16)] and len(buys(result)) == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_a_rebalance_band_keeps_the_weight_until_the_target_moves_enough(engine: str) -> None:
    closes, jump = jump_series(0.01, 0.04, 60, 20)
    data = market({"BTC": frame(closes)})
    calm = 0.10 / (0.01 * math.sqrt(LOOKBACK / (LOOKBACK - 1)) * math.sqrt(365))
    first = expected_weight(closes, jump, 0.10, 1.0)  # the jump's target, (calm - first) / calm ~ 0.28
    wide = vol_spec(0.10)
    wide["sizing"]["rebalance_band"] = 0.4
    kept = implied_weights(run_backtest(wide, data, engine=engine), closes)
    # targets after the jump: ~0.33 (33 % below the held 0.50: inside the band, kept), then ~0.25
    # (50 % below: outside, re-sized to it at once)
    assert abs(first - calm) < 0.4 * calm < abs(expected_weight(closes, jump + 1, 0.10, 1.0) - calm)
    held = expected_weight(closes, jump + 1, 0.10, 1.0)
    after = next(
        t
        for t in range(jump + 2, len(closes))
        if abs(expected_weight(closes, t, 0.10, 1.0) - held) > 0.4 * held
    )
    assert sorted(kept)[1:3] == [jump + 1, after] and after > jump + 2  # the band skips small moves
    assert kept[jump + 1] == pytest.approx(held, rel=1e-9)
    narrow = vol_spec(0.10)
    narrow["sizing"]["rebalance_band"] = 0.1
    resized = implied_weights(run_backtest(narrow, data, engine=engine), closes)
    assert resized[jump] == pytest.approx(first, rel=1e-9)  # 28 % > 10 %: re-sized at once
