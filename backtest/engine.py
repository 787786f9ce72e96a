"""Run a spec: ``run_backtest(spec, market, start, end, engine="backtrader"|"vector") -> BacktestResult``.

Conventions (a simulation, so floats; nothing here touches the ledger):

* Daily bars, UTC dates. The window ``[start, end]`` is inclusive (see :mod:`backtest.inputs`).
* Starting equity ``INITIAL_CASH`` (an arbitrary unit: all results are returns/ratios).
* Costs: ``COMMISSION`` (10 bp of traded value, a typical spot taker fee) plus ``SLIPPAGE``
  (5 bp against us on every fill, capped at the bar's high/low). Orders decided at bar t's close
  fill at bar t+1's open; cheat-on-close and cheat-on-open are off and asserted.
* ``engine="backtrader"`` (default) runs the generated, hashed TreasuryAgent: the auditable agent.
  ``engine="vector"`` runs :mod:`backtest.vector`, the same semantics on whole arrays (parity is
  tested); it refuses what it cannot express exactly.
* ``metrics`` holds exactly :data:`backtest.metrics.METRIC_KEYS` plus ``passed_gate`` and
  ``gate_reasons`` (the CLI keys); JSON-safe. Sharpe-family metrics are of excess returns over the
  market's risk-free rate.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import backtrader as bt
import pandas as pd

from backtest.codegen import code_hash, generate, is_backtestable, load_agent
from backtest.data.market import DataError, MarketData
from backtest.inputs import BacktestInputs, prepare
from backtest.plan import needed_assets, needed_markets, warmup_bars
from backtest.result import CLI_KEYS, BacktestResult, EngineRun, finish, not_backtestable
from backtest.runtime import FractionalCommission, Recorder
from core.config import Settings, get_settings
from core.spec import StrategySpec, load_spec

INITIAL_CASH = 1_000_000.0
COMMISSION = 0.001
SLIPPAGE = 0.0005
ENGINES = ("backtrader", "vector")

__all__ = [
    "CLI_KEYS",
    "COMMISSION",
    "ENGINES",
    "INITIAL_CASH",
    "SLIPPAGE",
    "BacktestResult",
    "assert_no_cheating",
    "day",
    "needed_assets",
    "needed_markets",
    "run_backtest",
]


def run_backtest(
    spec: StrategySpec | dict[str, Any] | str,
    market: MarketData,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    *,
    n_trials: int = 1,
    sharpe_variance: float | None = None,
    settings: Settings | None = None,
    engine: str = "backtrader",
) -> BacktestResult:
    """Backtest ``spec`` on ``market``; specs that cannot be simulated return a result saying why.

    ``n_trials`` and ``sharpe_variance`` (variance of the per-day Sharpe ratios across those trials)
    feed the deflated Sharpe ratio; see :func:`backtest.metrics.deflated_sharpe`.
    """
    spec = load_spec(spec)
    settings = settings or get_settings()
    if engine not in ENGINES:
        raise DataError(f"unknown engine {engine!r}; one of {', '.join(ENGINES)}")
    ok, why = is_backtestable(spec)
    if not ok:
        return not_backtestable(spec, why)
    inputs = prepare(spec, market, day(start), day(end), warmup_bars(spec))
    code = generate(spec)
    digest = code_hash(code)
    if engine == "vector":
        from backtest.vector import simulate

        run = simulate(inputs, INITIAL_CASH, COMMISSION, SLIPPAGE)
    else:
        run = run_agent(inputs, code, digest)
    if len(run.days) < 2:
        raise DataError(
            f"{spec.name}: the window {inputs.lo.date()}..{inputs.hi.date()} has fewer than 2 days"
        )
    return finish(
        inputs,
        run,
        engine=engine,
        code=code,
        code_hash=digest,
        n_trials=n_trials,
        sharpe_variance=sharpe_variance,
        settings=settings,
    )


def run_agent(inputs: BacktestInputs, code: str, digest: str) -> EngineRun:
    """Run the generated TreasuryAgent through Backtrader on prepared inputs."""
    agent = load_agent(code, digest)
    recorder = Recorder()
    cerebro = bt.Cerebro(stdstats=False, cheat_on_open=False)
    cerebro.broker.set_coc(False)
    cerebro.broker.set_coo(False)
    cerebro.broker.setcash(INITIAL_CASH)
    cerebro.broker.set_slippage_perc(SLIPPAGE, slip_open=True, slip_limit=True, slip_match=True)
    cerebro.broker.set_checksubmit(False)  # sells and buys of one rebalance fill at the same open
    cerebro.broker.addcommissioninfo(FractionalCommission(commission=COMMISSION))
    for name, frame in inputs.frames.items():
        naive = frame.set_axis(frame.index.tz_convert(None))
        cerebro.adddata(bt.feeds.PandasData(dataname=naive), name=name)
    rates = {m: values.tolist() for m, values in inputs.rates.items()}
    marks = {m: values.tolist() for m, values in inputs.marks.items()}
    cerebro.addstrategy(agent, rates=rates, marks=marks, trade_from=inputs.trade_from, recorder=recorder)
    assert_no_cheating(cerebro)
    try:
        cerebro.run(runonce=False, preload=True)
    except ZeroDivisionError:
        raise DataError(f"{inputs.spec.name}: a rule divides by zero on this data") from None
    days = pd.DatetimeIndex(pd.to_datetime(recorder.days), tz="UTC", name="date")
    return EngineRun(
        days,
        pd.Series(recorder.equity, dtype=float).to_numpy(),
        pd.Series(recorder.invested, dtype=float).to_numpy(),
        recorder.fills,
        recorder.rejected,
    )


def assert_no_cheating(cerebro: bt.Cerebro) -> None:
    """Fail loudly if anything turned on cheat-on-close/open (they let fills see the decision bar)."""
    broker = cerebro.broker
    if cerebro.p.cheat_on_open or broker.p.coc or broker.p.coo:
        raise AssertionError("cheat-on-close/open must be off for honest backtests")


def day(value: dt.date | str | None) -> pd.Timestamp | None:
    """A window bound as a UTC midnight, or a clear error for text that is not a date."""
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except ValueError:
        raise DataError(f"{value!r} is not a date (use YYYY-MM-DD)") from None
    return stamp.tz_localize("UTC") if stamp.tz is None else stamp
