"""Backtest benchmarks (figures recorded in benchmarks/README.md, "Backtest" section).

(a) vs (b): the same SMA(50/200) crossover on the same 4 years of daily BTC, through a hand-written
plain Backtrader strategy and through this engine from a spec (codegen + restricted load + runtime
+ metrics). Goal: overhead ratio b/a <= 1.25. Both use the same broker setup (commission, slippage,
fractional sizes), so the ratio measures our layers, not different work.

(c): 200 spec x asset backtests of 4 years each with 2 process workers. Goal: <= 60 s wall time.

Run: ``python benchmarks/backtest.py [--data ../shared/data] [--repeat 5] [--n 200] [--workers 2]``
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time
from pathlib import Path

# This script is named like the package it measures: drop its own folder from the import path so
# ``import backtest`` finds the package, and put the repository root first.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import backtrader as bt  # noqa: E402
import pandas as pd  # noqa: E402

# Imported by name at run time: mypy would otherwise resolve ``backtest`` to this very script.
_pkg = importlib.import_module("backtest")
load_market, run_backtest, run_many = _pkg.load_market, _pkg.run_backtest, _pkg.run_many
from backtest.engine import COMMISSION, INITIAL_CASH, SLIPPAGE  # noqa: E402
from backtest.runtime import FractionalCommission  # noqa: E402
from core.spec import StrategySpec, load_spec  # noqa: E402


class PlainSmaCross(bt.Strategy):
    params = (("fast", 50), ("slow", 200))

    def __init__(self) -> None:
        self.fast = bt.ind.SMA(self.data.close, period=self.p.fast)
        self.slow = bt.ind.SMA(self.data.close, period=self.p.slow)
        self.values: list[float] = []

    def next(self) -> None:
        self.values.append(self.broker.getvalue())
        if self.fast[0] > self.slow[0] and not self.position:
            self.order_target_percent(target=0.95)
        elif self.fast[0] <= self.slow[0] and self.position:
            self.close()


def plain(frame: pd.DataFrame) -> float:
    t = time.perf_counter()
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.broker.setcash(INITIAL_CASH)
    cerebro.broker.set_slippage_perc(SLIPPAGE, slip_open=True)
    cerebro.broker.addcommissioninfo(FractionalCommission(commission=COMMISSION))
    cerebro.adddata(bt.feeds.PandasData(dataname=frame.set_axis(frame.index.tz_convert(None))))
    cerebro.addstrategy(PlainSmaCross)
    cerebro.run(runonce=False)
    return time.perf_counter() - t


def spec_for(asset: str, fast: int = 50, slow: int = 200) -> StrategySpec:
    return load_spec({
        "name": f"{asset} sma {fast}/{slow}", "family": "ma_crossover",
        "universe": {"assets": [asset]}, "entry_rule": f"sma(close, {fast}) > sma(close, {slow})",
    })  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=None, help="data folder; default synthetic market")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    market = load_market(args.data)
    end = market.close("BTC").index[-1]
    start = end - pd.Timedelta(days=4 * 365)
    spec = spec_for("BTC")
    warm = start - pd.Timedelta(days=201)
    frame = market.ohlcv("BTC").loc[warm:end]
    a_times, b_times = [], []
    for _ in range(args.repeat):
        a_times.append(plain(frame))
        t = time.perf_counter()
        run_backtest(spec, market, start.date(), end.date())
        b_times.append(time.perf_counter() - t)
    a, b = statistics.median(a_times), statistics.median(b_times)
    print(f"load avg {os.getloadavg()[0]:.2f}; data {market.source}; window {start.date()}..{end.date()}")
    print(f"(a) plain Backtrader  median {a * 1000:.0f} ms")
    print(f"(b) engine from spec  median {b * 1000:.0f} ms   ratio b/a = {b / a:.2f} (goal <= 1.25)")
    assets = [x for x in ("BTC", "ETH", "LINK", "SOL", "UNI") if x in market.prices]
    pairs = [(f, s) for f in (5, 10, 20, 30, 50) for s in (60, 100, 150, 200, 250, 300, 365)]
    specs = [
        spec_for(assets[i % len(assets)], *pairs[(i // len(assets)) % len(pairs)]) for i in range(args.n)
    ]
    s_end = min(market.close(x).index[-1] for x in assets)
    s_start = s_end - pd.Timedelta(days=4 * 365)
    t = time.perf_counter()
    results = run_many(
        specs, market, start=str(s_start.date()), end=str(s_end.date()), max_workers=args.workers
    )
    wall = time.perf_counter() - t
    ok = sum(r.backtestable for r in results)
    days = statistics.median(r.metrics["days"] or 0 for r in results)
    print(
        f"(c) {len(specs)} spec x asset backtests ({ok} ran, median {days:.0f} days) with "
        f"{args.workers} workers: {wall:.1f} s (goal <= 60 s); load avg {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
