"""Run a spec through Backtrader: ``run_backtest(spec, market) -> BacktestResult``.

Conventions (a simulation, so floats; nothing here touches the ledger):

* Daily bars, UTC dates. The window ``[start, end]`` is inclusive; history before ``start`` (when the
  market has it) only warms indicators up. Without ``start``, the window begins on the first day
  every needed series has ``warmup`` bars of history.
* Starting equity ``INITIAL_CASH`` (an arbitrary unit: all results are returns/ratios).
* Costs: ``COMMISSION`` (10 bp of traded value, a typical spot taker fee) plus ``SLIPPAGE``
  (5 bp against us on every fill). Orders decided at bar t's close fill at bar t+1's open;
  cheat-on-close and cheat-on-open are off and asserted.
* ``metrics`` holds exactly :data:`backtest.metrics.METRIC_KEYS` plus ``passed_gate`` and
  ``gate_reasons`` (the CLI keys); JSON-safe (finite floats, ints, bools, strings).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from backtest.codegen import code_hash, generate, is_backtestable, load_agent
from backtest.data.market import DataError, MarketData, accrue
from backtest.gate import evaluate_gate
from backtest.metrics import METRIC_KEYS, compute_metrics
from backtest.runtime import FractionalCommission, Recorder
from core.config import Settings, get_settings
from core.spec import Family, StrategySpec, load_spec, parse_rule, spec_hash

INITIAL_CASH = 1_000_000.0
COMMISSION = 0.001
SLIPPAGE = 0.0005
CLI_KEYS = (*METRIC_KEYS, "passed_gate", "gate_reasons")


@dataclass
class BacktestResult:
    """Everything one backtest produces (see the module docstring for units)."""

    spec_name: str
    spec_hash: str
    backtestable: bool
    metrics: dict[str, Any]
    equity: pd.Series
    daily_returns: pd.Series
    benchmark: pd.Series  # buy-and-hold (or stay-in-first-market) equity, same start value
    trades: list[dict[str, Any]]
    code: str
    code_hash: str
    passed_gate: bool
    gate_reasons: list[str]
    turnover: float = 0.0
    rejected_orders: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def start(self) -> dt.date | None:
        return self.equity.index[0].date() if len(self.equity) else None

    @property
    def end(self) -> dt.date | None:
        return self.equity.index[-1].date() if len(self.equity) else None


def run_backtest(
    spec: StrategySpec | dict[str, Any] | str,
    market: MarketData,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    *,
    n_trials: int = 1,
    settings: Settings | None = None,
) -> BacktestResult:
    """Backtest ``spec`` on ``market``; specs that cannot be simulated return a result saying why."""
    spec = load_spec(spec)
    settings = settings or get_settings()
    ok, why = is_backtestable(spec)
    if not ok:
        return _not_backtestable(spec, why)
    code = generate(spec)
    digest = code_hash(code)
    agent = load_agent(code, digest)
    lo, hi = _window(spec, market, _day(start), _day(end), agent.warmup)
    feeds, _calendar, rates = _feeds(spec, market, lo - pd.Timedelta(days=agent.warmup), hi)
    recorder = Recorder()
    cerebro = bt.Cerebro(stdstats=False, cheat_on_open=False)
    cerebro.broker.set_coc(False)
    cerebro.broker.set_coo(False)
    cerebro.broker.setcash(INITIAL_CASH)
    cerebro.broker.set_slippage_perc(SLIPPAGE, slip_open=True, slip_limit=True, slip_match=True)
    cerebro.broker.set_checksubmit(False)  # sells and buys of one rebalance fill at the same open
    cerebro.broker.addcommissioninfo(FractionalCommission(commission=COMMISSION))
    for name, frame in feeds.items():
        cerebro.adddata(bt.feeds.PandasData(dataname=frame), name=name)
    cerebro.addstrategy(agent, rates=rates, trade_from=lo.date(), recorder=recorder)
    assert_no_cheating(cerebro)
    cerebro.run(runonce=False, preload=True)
    equity = pd.Series(recorder.equity, index=pd.DatetimeIndex(pd.to_datetime(recorder.days), tz="UTC"))
    equity.index.name = "date"
    if len(equity) < 2:
        raise DataError(f"{spec.name}: the window {lo.date()}..{hi.date()} has fewer than 2 days")
    invested = pd.Series(recorder.invested, index=equity.index)
    benchmark = _benchmark(spec, market, equity.index)
    m = compute_metrics(
        equity, invested=invested, fills=recorder.fills, benchmark=benchmark, n_trials=n_trials
    )
    gate = evaluate_gate(m.as_dict(), settings)
    metrics = {**m.as_dict(), "passed_gate": gate.passed, "gate_reasons": list(gate.reasons)}
    return BacktestResult(
        spec_name=spec.name,
        spec_hash=spec_hash(spec),
        backtestable=True,
        metrics=metrics,
        equity=equity,
        daily_returns=equity.pct_change().iloc[1:],
        benchmark=benchmark * (equity.iloc[0] / benchmark.iloc[0]),
        trades=recorder.fills,
        code=code,
        code_hash=digest,
        passed_gate=gate.passed,
        gate_reasons=list(gate.reasons),
        turnover=m.turnover,
        rejected_orders=recorder.rejected,
    )


def assert_no_cheating(cerebro: bt.Cerebro) -> None:
    """Fail loudly if anything turned on cheat-on-close/open (they let fills see the decision bar)."""
    broker = cerebro.broker
    if cerebro.p.cheat_on_open or broker.p.coc or broker.p.coo:
        raise AssertionError("cheat-on-close/open must be off for honest backtests")


def _not_backtestable(spec: StrategySpec, why: str) -> BacktestResult:
    empty = pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC", name="date"))
    metrics: dict[str, Any] = {k: None for k in METRIC_KEYS}
    metrics.update(passed_gate=False, gate_reasons=[why])
    return BacktestResult(
        spec.name, spec_hash(spec), False, metrics, empty, empty, empty, [], "", "", False, [why]
    )


def needed_assets(spec: StrategySpec) -> list[str]:
    """Price series a spec reads (traded and signal assets, rule references)."""
    names = set(spec.universe.assets) | set(spec.universe.signal_assets)
    if spec.index is not None and spec.family is Family.INDEX:
        names |= set(spec.index.weights)
    if spec.pair is not None and spec.family is Family.PAIR_RATIO:
        names |= {spec.pair.numerator, spec.pair.denominator}
    for rule in (spec.entry_rule, spec.exit_rule):
        if rule:
            names |= parse_rule(rule).assets
    if spec.family in (Family.LENDING, Family.YIELD_ROTATION):
        return []
    return sorted(names)


def needed_markets(spec: StrategySpec) -> list[str]:
    markets: list[str] = []
    if spec.family is Family.YIELD_ROTATION and spec.yield_rotation is not None:
        markets += spec.yield_rotation.markets
    if spec.family is Family.LENDING:
        markets.append(spec.idle_cash_market or spec.universe.lending_markets[0])
    elif spec.idle_cash_market:
        markets.append(spec.idle_cash_market)
    return list(dict.fromkeys(markets))


def _window(
    spec: StrategySpec, market: MarketData, start: pd.Timestamp | None, end: pd.Timestamp | None, warmup: int
) -> tuple[pd.Timestamp, pd.Timestamp]:
    assets = needed_assets(spec)
    # Lending families need every market; others only need rates where they exist (idle cash
    # simply earns nothing on days without a rate, which the result notes do not hide: see apr()).
    markets = needed_markets(spec) if not assets else []
    first, last = market.span(assets, markets)
    earliest = first + pd.Timedelta(days=warmup)
    lo = max(start, earliest) if start is not None else earliest
    hi = min(end, last) if end is not None else last
    if lo >= hi:
        raise DataError(
            f"{spec.name}: no days to backtest between {lo.date()} and {hi.date()} "
            f"(data {first.date()}..{last.date()}, warm-up {warmup} days)"
        )
    return lo, hi


def _feeds(
    spec: StrategySpec, market: MarketData, lo: pd.Timestamp, hi: pd.Timestamp
) -> tuple[dict[str, pd.DataFrame], pd.DatetimeIndex, dict[str, list[float]]]:
    assets = needed_assets(spec)
    markets = needed_markets(spec)
    feeds: dict[str, pd.DataFrame] = {}
    for asset in assets:
        frame = market.ohlcv(asset).loc[lo:hi]
        feeds[asset] = frame
    if not assets:  # lending families: the first market's accrued index is the clock
        first = market.rate(markets[0]).loc[lo:hi]
        index = accrue(first)
        feeds[markets[0]] = pd.DataFrame(
            {"open": index, "high": index, "low": index, "close": index, "volume": 0.0}
        )
    calendar = next(iter(feeds.values())).index
    for name, frame in feeds.items():
        if not frame.index.equals(calendar):
            raise DataError(f"{name}: dates do not line up with {next(iter(feeds))} in the window")
    naive = {n: f.set_axis(f.index.tz_convert(None)) for n, f in feeds.items()}
    rates = {m: market.rate(m).reindex(calendar).ffill().fillna(0.0).astype(float).tolist() for m in markets}
    return naive, calendar, rates


def _benchmark(spec: StrategySpec, market: MarketData, index: pd.DatetimeIndex) -> pd.Series:
    """Buy-and-hold of the traded assets (equal weight), or staying in the first lending market."""
    if spec.family in (Family.LENDING, Family.YIELD_ROTATION):
        first = needed_markets(spec)[0]
        return accrue(market.rate(first).reindex(index).ffill().fillna(0.0))
    if spec.family is Family.INDEX and spec.index is not None:
        traded = sorted(spec.index.weights)
    elif spec.family is Family.PAIR_RATIO and spec.pair is not None:
        traded = [spec.pair.numerator]
    else:
        traded = list(spec.universe.assets)
    rel = [market.close(a).reindex(index).ffill() for a in traded]
    growth = np.mean([(r / r.iloc[0]).to_numpy() for r in rel], axis=0)
    return pd.Series(growth, index=index, name="benchmark")


def _day(value: dt.date | str | None) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        return (
            pd.Timestamp(value).tz_localize("UTC") if pd.Timestamp(value).tz is None else pd.Timestamp(value)
        )
    except ValueError:
        raise DataError(f"{value!r} is not a date (use YYYY-MM-DD)") from None
