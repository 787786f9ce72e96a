"""Backtesting: StrategySpec -> auditable Backtrader agent -> metrics, quality gate, paper trading.

Stable public API (import from ``backtest``; everything else is internal):

``run_backtest(spec, market, start=None, end=None, *, n_trials=1, sharpe_variance=None,
settings=None, engine="backtrader") -> BacktestResult``
    Backtest one spec (a ``StrategySpec``, dict or JSON text) on a :class:`MarketData`, through the
    generated Backtrader agent (default) or the vector screen (``engine="vector"``, same semantics).
    A spec that cannot be simulated honestly returns ``backtestable=False`` and the reason in
    ``gate_reasons``. Raises :class:`core.spec.SpecError` for bad specs and :class:`DataError` for
    unusable data.

``BacktestResult``
    ``metrics`` (exactly the CLI keys: total_return excess_return cagr volatility sharpe sortino
    max_drawdown calmar n_trades exposure hodl_return psr dsr days passed_gate gate_reasons;
    JSON-safe; Sharpe-family metrics are of excess returns over the risk-free rate),
    ``equity``, ``daily_returns`` and ``excess_returns`` (float ``pd.Series`` by UTC date),
    ``benchmark``, ``trades`` (fills as dicts), ``code`` + ``code_hash`` (the TreasuryAgent source
    and its sha256, for the ``treasury_agents`` table), ``spec_hash``, ``gate`` (the
    :class:`GateReport` of named checks), ``passed_gate``, ``gate_reasons``, ``risk_free``,
    ``exposure_cap``, ``notes``; ``to_json()`` is the ``--json`` document.

``run_many(specs, data=None, executor=None, ...) -> list[BacktestResult]``
    Fan out over a process pool (default) or any ``concurrent.futures.Executor`` (Dask works).

``evaluate_gate(metrics, settings=None, ...) -> GateReport``; ``PaperTrader(spec, market, backtest_end,
clock)`` with ``advance()``, ``nav_series()``, ``status()``; ``load_market(path_or_None)`` and
:class:`MarketData`; ``example_specs()``; ``generate`` / ``load_agent`` / ``code_hash``.

Floats: backtests are simulations and use floats throughout. Nothing here writes the ledger; the
wallet team turns ``daily_returns`` into ``Decimal`` NAV marks.
"""

from backtest.codegen import code_hash, generate, load_agent
from backtest.data import DataError, MarketData, load_market
from backtest.engine import CLI_KEYS, BacktestResult, run_backtest
from backtest.examples import example_specs
from backtest.gate import GateCheck, GateReport, evaluate_gate
from backtest.paper import PaperStatus, PaperTrader
from backtest.runner import run_many

__all__ = [
    "CLI_KEYS",
    "BacktestResult",
    "DataError",
    "GateCheck",
    "GateReport",
    "MarketData",
    "PaperStatus",
    "PaperTrader",
    "code_hash",
    "evaluate_gate",
    "example_specs",
    "generate",
    "load_agent",
    "load_market",
    "run_backtest",
    "run_many",
]
