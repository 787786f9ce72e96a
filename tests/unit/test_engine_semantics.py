"""Exact semantics on hand-built series, through both engines: every expected fill (day and price)
and every expected equity value below is worked out by hand from the series in the test."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest

from backtest import run_backtest
from backtest.data.riskfree import RiskFree
from tests.support.markets import days, frame, market

ENGINES = ["backtrader", "vector"]
SLIP = 0.0005


def spec(rule: str = "close > 0", exit_rule: str | None = None, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "t",
        "family": "breakout",
        "universe": {"assets": ["BTC"]},
        "entry_rule": rule,
    }
    if exit_rule:
        base["exit_rule"] = exit_rule
    base.update(kw)
    return base


def fills(result: Any) -> list[tuple[str, str, float]]:
    return [(f["date"], f["side"], round(f["price"], 9)) for f in result.trades]


def prices(closes: Sequence[float]) -> dict[str, pd.DataFrame]:
    """Opens equal the previous close (the first open equals the first close)."""
    return {"BTC": frame(closes, [closes[0], *closes[:-1]])}


def day(i: int) -> str:
    return str(days(i + 1)[-1].date())


@pytest.mark.parametrize("engine", ENGINES)
def test_stop_loss_exits_on_the_first_close_below_and_never_reenters(engine: str) -> None:
    closes = [100, 100, 100, 95, 91, 89, 88, 120, 130]
    r = run_backtest(spec(risk={"stop_loss": 0.10}), market(prices(closes)), engine=engine)
    # Decided on day 1 (first live bar), bought at day 2's open with slippage: 100.05.
    # Stop level 100.05 * 0.9 = 90.045: day 4 closes at 91 (above), day 5 at 89 (below) ->
    # sold at day 6's open (89) minus slippage. "close > 0" never turns off: no re-entry.
    assert fills(r) == [
        (day(2), "buy", round(100 * (1 + SLIP), 9)),
        (day(6), "sell", round(89 * (1 - SLIP), 9)),
    ]
    assert r.trades[0]["size"] == pytest.approx(950_000 / 100, rel=1e-12)
    assert r.trades[1]["size"] == r.trades[0]["size"]


@pytest.mark.parametrize("engine", ENGINES)
def test_trailing_stop_exits_on_the_first_close_below_the_peak_since_entry(engine: str) -> None:
    closes = [100, 100, 100, 110, 120, 115, 108, 107, 130]
    r = run_backtest(spec(risk={"trailing_stop": 0.10}), market(prices(closes)), engine=engine)
    # Peak close since the fill (day 2) is 120 on day 4; 120 * 0.9 = 108: day 5 (115) holds,
    # day 6 (108) hits -> sold at day 7's open (108) minus slippage.
    assert fills(r) == [
        (day(2), "buy", round(100 * (1 + SLIP), 9)),
        (day(7), "sell", round(108 * (1 - SLIP), 9)),
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_take_profit_exits_on_the_first_close_above_the_target(engine: str) -> None:
    closes = [100, 100, 100, 110, 119, 121, 125, 126]
    r = run_backtest(spec(risk={"take_profit": 0.20}), market(prices(closes)), engine=engine)
    # Target 100.05 * 1.2 = 120.06: day 4 (119) below, day 5 (121) above -> sold at day 6's open.
    assert fills(r) == [
        (day(2), "buy", round(100 * (1 + SLIP), 9)),
        (day(6), "sell", round(121 * (1 - SLIP), 9)),
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_crosses_fire_exactly_on_the_crossing_bar(engine: str) -> None:
    closes = [100, 100, 104, 106, 110, 100, 96, 94, 93, 100, 106, 107]
    r = run_backtest(
        spec("crosses_above(close, 105)", "crosses_below(close, 95)"), market(prices(closes)), engine=engine
    )
    # Up-cross on day 3 (104 -> 106), down-cross on day 7 (96 -> 94), up-cross on day 10 (100 -> 106):
    # each decision fills at the next day's open.
    assert [(d, s) for d, s, _ in fills(r)] == [(day(4), "buy"), (day(8), "sell"), (day(11), "buy")]
    assert fills(r)[0][2] == round(106 * (1 + SLIP), 9)


@pytest.mark.parametrize("engine", ENGINES)
def test_crosses_below_alone_never_fires_without_a_cross(engine: str) -> None:
    closes = [100, 100, 90, 80, 70, 60, 50, 40]  # always below 95 after day 1, crossing once on day 2
    r = run_backtest(spec("crosses_below(close, 95)"), market(prices(closes)), engine=engine)
    # Entry on the crossing bar (day 2) only; the exit is "entry turns false" on day 3.
    assert [(d, s) for d, s, _ in fills(r)] == [(day(3), "buy"), (day(4), "sell")]


@pytest.mark.parametrize("engine", ENGINES)
def test_exposure_cap_is_explicit_and_echoed(engine: str) -> None:
    closes = [100.0] * 6
    capped = run_backtest(spec(sizing={"fraction": 1.0}), market(prices(closes)), engine=engine)
    assert capped.exposure_cap == 0.97
    assert capped.trades[0]["size"] == pytest.approx(970_000 / 100, rel=1e-12)
    assert any("exposure cap (sizing.max_exposure = 97%)" in n for n in capped.notes)
    assert capped.to_json()["exposure_cap"] == 0.97
    # A cap of 100 %: the buy (10,000 units at 100.05 plus commission) exceeds the cash -> rejected.
    full = run_backtest(
        spec(sizing={"fraction": 1.0, "max_exposure": 1.0}), market(prices(closes)), engine=engine
    )
    assert full.trades == [] and full.rejected_orders >= 1
    assert any("rejected for lack of cash" in n for n in full.notes)


@pytest.mark.parametrize("engine", ENGINES)
def test_idle_cash_earns_nothing_after_the_rate_series_ends(engine: str) -> None:
    closes = [100.0] * 12
    rates = {"compound:USDC": [0.0365] * 6}  # days 0..5 only
    r = run_backtest(
        spec("close > 1000000", idle_cash_market="compound:USDC"),
        market(prices(closes), rates),
        engine=engine,
    )
    daily = 0.0365 / 365
    # Interest credited on bar t uses the rate of day t-1: bars 1..6 earn, bar 7 on has no rate.
    expected = [1e6 * (1 + daily) ** min(t, 6) for t in range(1, 12)]
    np.testing.assert_allclose(r.equity.to_numpy(), expected, rtol=1e-12)
    assert any("compound:USDC: rates end 2024-01-06; cash there earned nothing" in n for n in r.notes)
    assert any("no USD price for USDC" in n for n in r.notes)


@pytest.mark.parametrize("engine", ENGINES)
def test_lending_is_marked_at_the_stablecoins_price(engine: str) -> None:
    usdc = [1.0, 1.0, 1.0, 0.95, 0.95, 1.0, 1.0, 1.0]
    lending = {"name": "l", "family": "lending", "universe": {"lending_markets": ["compound:USDC"]}}
    r = run_backtest(lending, market({"USDC": frame(usdc)}, {"compound:USDC": [0.0] * 8}), engine=engine)
    # Zero APR: equity follows USDC's price exactly, so the depeg shows as a 5 % drawdown.
    np.testing.assert_allclose(r.equity.to_numpy() / 1e6, usdc[1:], rtol=1e-12)
    assert r.metrics["max_drawdown"] == pytest.approx(0.05, abs=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
def test_cash_that_earns_exactly_the_risk_free_rate_has_zero_excess_sharpe(engine: str) -> None:
    n = 200
    yields = 0.02 + 0.01 * np.sin(np.arange(n) / 9.0)  # a moving rate, so returns do vary
    rf = RiskFree("test bill", pd.Series(yields, index=days(n)), "annual yield")
    lending = {"name": "l", "family": "lending", "universe": {"lending_markets": ["compound:USDC"]}}
    same = run_backtest(lending, market({}, {"compound:USDC": list(yields)}, risk_free=rf), engine=engine)
    assert same.metrics["sharpe"] == 0.0 and same.metrics["sortino"] == 0.0
    assert abs(same.metrics["excess_return"]) < 1e-12
    plain = run_backtest(lending, market({}, {"compound:USDC": list(yields)}), engine=engine)
    assert plain.metrics["sharpe"] > 10  # against 0 % the same cash looks like a great strategy


@pytest.mark.parametrize("engine", ENGINES)
def test_rule_without_indicators_runs(engine: str) -> None:
    r = run_backtest(spec("close > 0"), market(prices([100.0] * 5)), engine=engine)
    assert r.backtestable and fills(r)[0][:2] == (day(2), "buy")


def test_the_vector_engine_refuses_what_it_cannot_express() -> None:
    from backtest.examples import example_specs
    from backtest.vector import supports

    folding = next(s for s in example_specs() if not s.backtestable)
    assert supports(folding) == (False, "the vector engine cannot express family leveraged_lending")
    assert all(supports(s)[0] for s in example_specs(backtestable_only=True))
    # A spec that cannot be simulated honestly is an answer from either engine, never an approximation.
    answer = run_backtest(folding, market({}), engine="vector")
    assert not answer.backtestable and "leverage" in answer.gate_reasons[0]
