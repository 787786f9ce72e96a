"""Engine behaviour: look-ahead freedom, families, costs, stops, gate, not-backtestable specs."""

from __future__ import annotations

import dataclasses
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from backtest import BacktestResult, DataError, MarketData, evaluate_gate, load_market, run_backtest
from backtest.data import accrue
from backtest.engine import CLI_KEYS, assert_no_cheating
from backtest.examples import example_specs
from core.config import Settings
from core.spec import SpecError


def spec(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": "t", "family": "ma_crossover", "universe": {"assets": ["BTC"]},
                            "entry_rule": "sma(close, 10) > sma(close, 30)"}  # fmt: skip
    base.update(kw)
    return base


@pytest.fixture(scope="module")
def market() -> MarketData:
    return load_market(None)


def shocked(market: MarketData, after: pd.Timestamp) -> MarketData:
    """The same market with every price and rate after ``after`` replaced by nonsense."""
    rng = np.random.default_rng(0)
    prices = {}
    for asset, df in market.prices.items():
        df = df.copy()
        mask = df.index > after
        df.loc[mask, ["open", "high", "low", "close"]] *= rng.uniform(0.2, 5.0, (int(mask.sum()), 1))
        df.loc[mask, "high"] = df.loc[mask, ["open", "high", "low", "close"]].max(axis=1)
        df.loc[mask, "low"] = df.loc[mask, ["open", "high", "low", "close"]].min(axis=1)
        prices[asset] = df
    rates = {m: s.where(s.index <= after, 0.45) for m, s in market.rates.items()}
    return MarketData(prices, rates, "shocked", risk_free=market.risk_free)


@pytest.mark.parametrize("engine", ["backtrader", "vector"])
@pytest.mark.parametrize("example", [s.name for s in example_specs(backtestable_only=True)])
def test_no_look_ahead(market: MarketData, example: str, engine: str) -> None:
    """Changing every price/rate after day t never changes equity or fills up to day t."""
    chosen = next(s for s in example_specs() if s.name == example)
    t = pd.Timestamp("2021-06-15", tz="UTC")
    a = run_backtest(chosen, market, "2020-06-01", "2022-06-01", engine=engine)
    b = run_backtest(chosen, shocked(market, t), "2020-06-01", "2022-06-01", engine=engine)
    pd.testing.assert_series_equal(a.equity.loc[:t], b.equity.loc[:t])
    # A decision on day t fills at t+1's open: fills through day t are identical too.
    assert [f for f in a.trades if f["date"] <= "2021-06-15"] == [
        f for f in b.trades if f["date"] <= "2021-06-15"
    ]
    assert not a.equity.loc[t + pd.Timedelta(days=1) :].equals(b.equity.loc[t + pd.Timedelta(days=1) :])


def test_result_shape(market: MarketData) -> None:
    r = run_backtest(spec(), market, "2020-01-01", "2021-12-31")
    assert isinstance(r, BacktestResult)
    assert tuple(r.metrics) == CLI_KEYS
    assert r.equity.index.tz is not None and r.equity.index[0] == pd.Timestamp("2020-01-01", tz="UTC")
    assert r.end == pd.Timestamp("2021-12-31").date()
    assert len(r.daily_returns) == len(r.equity) - 1
    assert r.metrics["days"] == 731
    assert r.code_hash and r.spec_hash and r.metrics["n_trades"] == len(r.trades)
    assert r.equity.iloc[0] == pytest.approx(1_000_000)


def test_costs_reduce_returns(market: MarketData) -> None:
    r = run_backtest(spec(), market, "2020-01-01", "2021-12-31")
    commissions = sum(f["commission"] for f in r.trades)
    assert commissions == pytest.approx(0.001 * sum(f["value"] for f in r.trades), rel=1e-9)
    for fill in r.trades:  # slippage: buys above, sells below the bar's open
        bar = market.ohlcv("BTC").loc[fill["date"]]
        assert fill["price"] == pytest.approx(bar["open"] * (1.0005 if fill["side"] == "buy" else 0.9995))


def test_lending_accrues_and_is_marked_at_usdc(market: MarketData) -> None:
    r = run_backtest({"name": "l", "family": "lending", "universe": {"lending_markets": ["compound:USDC"]}},
                     market, "2020-01-01", "2020-12-31")  # fmt: skip
    # Independently: day t grows by (1 + apr[t-1] / 365) * usdc[t] / usdc[t-1].
    apr = market.rate("compound:USDC").loc["2019-12-31":"2020-12-31"]
    usdc = market.close("USDC").loc["2019-12-31":"2020-12-31"]
    growth = ((1 + apr.shift(1) / 365) * usdc / usdc.shift(1)).iloc[2:]
    expected = np.concatenate([[1.0], np.cumprod(growth.to_numpy())])
    np.testing.assert_allclose((r.equity / r.equity.iloc[0]).to_numpy(), expected, rtol=1e-9)
    assert r.metrics["total_return"] == pytest.approx(r.metrics["hodl_return"], abs=1e-9)
    plain = accrue(apr.loc["2020-01-01":])
    assert r.metrics["total_return"] != pytest.approx(plain.iloc[-1] / plain.iloc[0] - 1, abs=1e-6)


def test_yield_rotation_hysteresis_and_cost(market: MarketData) -> None:
    def run(h: float, cost: float) -> BacktestResult:
        return run_backtest({"name": "y", "family": "yield_rotation",
                             "yield_rotation": {"markets": ["aave_v2:USDC", "compound:USDC", "aave_v3:USDC"],
                                                "hysteresis_apr": h, "switching_cost": cost}},
                            market, "2020-01-01", "2021-12-31")  # fmt: skip

    eager, calm = run(0.0, 0.0), run(0.02, 0.0)
    assert eager.metrics["n_trades"] > calm.metrics["n_trades"] > 0
    costly = run(0.0, 0.01)
    assert costly.metrics["total_return"] < eager.metrics["total_return"]
    best = max(["aave_v2:USDC", "compound:USDC", "aave_v3:USDC"],
               key=lambda m: accrue(market.rate(m).loc["2020-01-01":"2021-12-31"]).iloc[-1])  # fmt: skip
    single = accrue(market.rate(best).loc["2020-01-01":"2021-12-31"]).iloc[-1] - 1
    assert eager.metrics["total_return"] > single * 0.9


def test_idle_cash_earns_interest(market: MarketData) -> None:
    plain = run_backtest(spec(), market, "2020-01-01", "2021-12-31")
    parked = run_backtest(spec(idle_cash_market="aave_v2:USDC"), market, "2020-01-01", "2021-12-31")
    assert parked.metrics["total_return"] > plain.metrics["total_return"]


def test_momentum_holds_top_k(market: MarketData) -> None:
    universe = {"assets": ["BTC", "ETH", "SOL", "LINK"]}
    momentum = {"lookback_days": 20, "top_k": 2}
    r = run_backtest({"name": "m", "family": "momentum", "universe": universe, "momentum": momentum,
                      "rebalance": "weekly"}, market, "2020-01-01", "2020-12-31")  # fmt: skip
    assert r.metrics["n_trades"] > 10
    assert 0.8 < r.metrics["exposure"] <= 0.99
    assert {f["asset"] for f in r.trades} <= {"BTC", "ETH", "SOL", "LINK"}


def test_index_rebalances_monthly(market: MarketData) -> None:
    r = run_backtest({"name": "i", "family": "index", "universe": {"assets": ["BTC", "ETH"]},
                      "index": {"weights": {"BTC": 0.5, "ETH": 0.5}}, "rebalance": "monthly"},
                     market, "2020-01-01", "2020-12-31")  # fmt: skip
    days = {f["date"][8:] for f in r.trades}
    assert days == {"02"}  # decided on the 1st, filled at the 2nd's open
    assert r.rejected_orders == 0


def test_not_backtestable_returns_reason(market: MarketData) -> None:
    folding = next(s for s in example_specs() if not s.backtestable)
    r = run_backtest(folding, market)
    assert not r.backtestable and not r.passed_gate
    assert "leverage" in r.gate_reasons[0] and r.code == ""
    assert set(r.metrics) == set(CLI_KEYS) and r.metrics["sharpe"] is None


def test_bad_inputs(market: MarketData) -> None:
    with pytest.raises(SpecError, match="entry_rule"):
        run_backtest(spec(entry_rule="close.real > 1"), market)
    with pytest.raises(DataError, match="no price data for DOGE"):
        run_backtest(spec(universe={"assets": ["DOGE"]}), market)
    with pytest.raises(DataError, match="no days"):
        run_backtest(spec(), market, "2030-01-01")
    with pytest.raises(DataError, match="not a date"):
        run_backtest(spec(), market, "yesterday-ish")


def test_gate_thresholds_come_from_settings() -> None:
    from backtest.gate import WalkForward

    walk = WalkForward(("2024-01-01", "2024-06-30"), ("2024-07-01", "2024-09-30"), 0, "v", 2.0, 0.4, 1)
    good = {"days": 200, "sharpe": 2.0, "max_drawdown": 0.1, "dsr": 0.97}
    report = evaluate_gate(good, Settings(), walk=walk)
    assert report.passed and [c.name for c in report.checks] == [
        "history", "excess_sharpe", "max_drawdown", "deflated_sharpe", "walk_forward", "overfitting"
    ]  # fmt: skip
    assert report.checks[-1].applicable is False  # one variant: PBO is not applicable
    bad = evaluate_gate({"days": 100, "sharpe": 1.5, "max_drawdown": 0.15, "dsr": 0.9}, Settings(), walk=walk)
    assert len(bad.reasons) == 4 and "180" in bad.reasons[0] and "0.900" in bad.reasons[3]
    assert not evaluate_gate(good, Settings(gate_min_sharpe=3.0), walk=walk).passed
    assert not evaluate_gate(good, Settings(gate_min_oos_sharpe=0.5), walk=walk).passed
    assert not evaluate_gate(good, Settings()).passed  # no walk-forward split: cannot pass
    missing = evaluate_gate({"days": None, "sharpe": None, "max_drawdown": None, "dsr": None}, walk=walk)
    assert all("could not be computed" in r for r in missing.reasons[:4])


def test_gate_applied_to_result(market: MarketData) -> None:
    lenient = Settings(gate_min_days=10, gate_min_sharpe=-10.0, gate_max_drawdown=1.0, gate_min_dsr=0.0,
                       gate_min_oos_sharpe=-100.0)  # fmt: skip
    r = run_backtest(spec(), market, "2020-01-01", "2020-12-31", settings=lenient)
    assert r.passed_gate and r.metrics["passed_gate"] and r.gate_reasons == []


def test_cheating_is_refused() -> None:
    cerebro = bt.Cerebro()
    assert_no_cheating(cerebro)
    cerebro.broker.set_coc(True)
    with pytest.raises(AssertionError):
        assert_no_cheating(cerebro)


def test_dsr_counts_trials(market: MarketData) -> None:
    one = run_backtest(spec(), market, "2020-01-01", "2021-12-31")
    many = run_backtest(spec(), market, "2020-01-01", "2021-12-31", n_trials=200)
    assert many.metrics["dsr"] < one.metrics["dsr"] == one.metrics["psr"]
    assert dataclasses.asdict(many)["equity"].equals(one.equity)
