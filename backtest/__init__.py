"""Backtesting: StrategySpec -> auditable Backtrader agent -> metrics, quality gate, paper trading.

Stable public API (import from ``backtest``; everything else is internal):

``run_backtest(spec, market, start=None, end=None, *, n_trials=1, settings=None) -> BacktestResult``
    Backtest one spec (a ``StrategySpec``, dict or JSON text) on a :class:`MarketData`. A spec that
    cannot be simulated honestly returns ``backtestable=False`` and the reason in ``gate_reasons``.
    Raises :class:`core.spec.SpecError` for bad specs and :class:`DataError` for unusable data.

``BacktestResult``
    ``metrics`` (exactly the CLI keys: total_return cagr volatility sharpe sortino max_drawdown
    calmar n_trades exposure hodl_return psr dsr days passed_gate gate_reasons; JSON-safe),
    ``equity`` and ``daily_returns`` (float ``pd.Series`` by UTC date), ``benchmark``, ``trades``
    (fills as dicts), ``code`` + ``code_hash`` (the TreasuryAgent source and its sha256, for the
    ``treasury_agents`` table), ``spec_hash``, ``passed_gate``, ``gate_reasons``, ``turnover``.

``run_many(specs, data=None, executor=None, ...) -> list[BacktestResult]``
    Fan out over a process pool (default) or any ``concurrent.futures.Executor`` (Dask works).

``evaluate_gate(metrics, settings=None) -> GateResult``; ``PaperTrader(spec, market, backtest_end,
clock)`` with ``advance()``, ``nav_series()``, ``status()``; ``load_market(path_or_None)`` and
:class:`MarketData`; ``example_specs()``; ``generate`` / ``load_agent`` / ``code_hash``.

Floats: backtests are simulations and use floats throughout. Nothing here writes the ledger; the
wallet team turns ``daily_returns`` into ``Decimal`` NAV marks.
"""

from backtest.codegen import code_hash, generate, load_agent
from backtest.data import DataError, MarketData, load_market
from backtest.engine import CLI_KEYS, BacktestResult, run_backtest
from backtest.examples import example_specs
from backtest.gate import GateResult, evaluate_gate
from backtest.paper import PaperStatus, PaperTrader
from backtest.runner import run_many

__all__ = [
    "CLI_KEYS",
    "BacktestResult",
    "DataError",
    "GateResult",
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
