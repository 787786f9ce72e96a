"""Backtest benchmarks (figures recorded in benchmarks/README.md, "Backtest" section).

(a) vs (b): the same SMA(50/200) crossover on the same 4 years of daily BTC, through a hand-written
plain Backtrader strategy and through this engine from a spec (codegen + restricted load + runtime
+ metrics). Goal: overhead ratio b/a <= 1.25.

(c): 200 spec x asset backtests of 4 years each through ``run_many`` with 2 process workers.

(d) Vector engine vs Backtrader agent on the same spec and data, in one run: the engine core alone
(the day loop on prepared inputs: ``run_agent`` vs ``vector.simulate``) and end to end
(``run_backtest`` with each engine: data preparation, metrics, gate report). Goal: >= 100x faster
per backtest. Both results are checked equal before timing.

(e) Screening 10,000 variants x 4 years of daily data on 2 cores (``screen_many`` over a 2-process
pool, fresh processes, so numba's cached machine code is loaded in the measured time). Goal:
<= 60 s. The variants: SMA fast 5..100 x slow 110..300 x stop-loss {none, 5, 10, 20, 30 %}
x {BTC, ETH, LINK, SOL, UNI}.

Run: ``python benchmarks/backtest.py [--data ../shared/data] [--repeat 5] [--n 200] [--workers 2]
[--variants 10000] [--only d,e]``. Each figure is printed with ``os.getloadavg()`` beside it.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

# This script is named like the package it measures: drop its own folder from the import path so
# ``import backtest`` finds the package, and put the repository root first.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import backtrader as bt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

# Imported by name at run time: mypy would otherwise resolve ``backtest`` to this very script.
_pkg = importlib.import_module("backtest")
load_market, run_backtest, run_many = _pkg.load_market, _pkg.run_backtest, _pkg.run_many
from backtest.codegen import code_hash, generate  # noqa: E402
from backtest.engine import COMMISSION, INITIAL_CASH, SLIPPAGE, run_agent  # noqa: E402
from backtest.inputs import prepare  # noqa: E402
from backtest.plan import warmup_bars  # noqa: E402
from backtest.runtime import FractionalCommission  # noqa: E402
from backtest.screen import screen_many  # noqa: E402
from backtest.vector import simulate  # noqa: E402
from core.spec import StrategySpec, load_spec  # noqa: E402

ASSETS = ("BTC", "ETH", "LINK", "SOL", "UNI")


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


def spec_for(asset: str, fast: int = 50, slow: int = 200, stop: float | None = None) -> StrategySpec:
    data: dict[str, object] = {
        "name": f"{asset} sma {fast}/{slow} stop {stop}", "family": "ma_crossover",
        "universe": {"assets": [asset]}, "entry_rule": f"sma(close, {fast}) > sma(close, {slow})",
    }  # fmt: skip
    if stop is not None:
        data["risk"] = {"stop_loss": stop}
    return load_spec(data)


def load() -> str:
    return f"load avg {os.getloadavg()[0]:.2f}"


def median_time(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_overhead(market: object, start: pd.Timestamp, end: pd.Timestamp, repeat: int) -> None:
    spec = spec_for("BTC")
    frame = market.ohlcv("BTC").loc[start - pd.Timedelta(days=201) : end]  # type: ignore[attr-defined]
    a = median_time(lambda: plain(frame), repeat)
    b = median_time(lambda: run_backtest(spec, market, start.date(), end.date()), repeat)
    print(f"(a) plain Backtrader  median {a * 1000:.0f} ms; {load()}")
    print(f"(b) engine from spec  median {b * 1000:.0f} ms   ratio b/a = {b / a:.2f} (goal <= 1.25); "
          f"{load()}")  # fmt: skip


def bench_pool(market: object, n: int, workers: int) -> None:
    assets = [x for x in ASSETS if x in market.prices]  # type: ignore[attr-defined]
    pairs = [(f, s) for f in (5, 10, 20, 30, 50) for s in (60, 100, 150, 200, 250, 300, 365)]
    specs = [spec_for(assets[i % len(assets)], *pairs[(i // len(assets)) % len(pairs)]) for i in range(n)]
    s_end = min(market.close(x).index[-1] for x in assets)  # type: ignore[attr-defined]
    s_start = s_end - pd.Timedelta(days=4 * 365)
    t = time.perf_counter()
    results = run_many(specs, market, start=str(s_start.date()), end=str(s_end.date()), max_workers=workers)
    wall = time.perf_counter() - t
    ok = sum(r.backtestable for r in results)
    print(f"(c) {len(specs)} spec x asset Backtrader backtests ({ok} ran) with {workers} workers: "
          f"{wall:.1f} s (goal <= 60 s); {load()}")  # fmt: skip


def bench_engines(market: object, start: pd.Timestamp, end: pd.Timestamp, repeat: int) -> None:
    spec = spec_for("BTC")
    inputs = prepare(spec, market, start, end, warmup_bars(spec))  # type: ignore[arg-type]
    code = generate(spec)
    digest = code_hash(code)
    agent, vector = run_agent(inputs, code, digest), simulate(inputs, INITIAL_CASH, COMMISSION, SLIPPAGE)
    assert np.array_equal(agent.equity, vector.equity) and agent.fills == vector.fills, "engines disagree"
    core_bt = median_time(lambda: run_agent(inputs, code, digest), repeat)
    core_vec = median_time(lambda: simulate(inputs, INITIAL_CASH, COMMISSION, SLIPPAGE), repeat * 20)
    full_bt = median_time(lambda: run_backtest(spec, market, start.date(), end.date()), repeat)
    full_vec = median_time(
        lambda: run_backtest(spec, market, start.date(), end.date(), engine="vector"), repeat * 4
    )
    print(f"(d) engine core, {len(inputs.calendar)} bars: Backtrader {core_bt * 1000:.1f} ms, vector "
          f"{core_vec * 1000:.2f} ms -> {core_bt / core_vec:.0f}x (goal >= 100x); {load()}")  # fmt: skip
    print(f"    end to end (data, metrics, gate): Backtrader {full_bt * 1000:.0f} ms, vector "
          f"{full_vec * 1000:.1f} ms -> {full_bt / full_vec:.1f}x; {load()}")  # fmt: skip


def bench_screen(market: object, count: int, workers: int) -> None:
    assets = [x for x in ASSETS if x in market.prices]  # type: ignore[attr-defined]
    stops = (None, 0.05, 0.1, 0.2, 0.3)
    grid = [(f, s, stop) for f in range(5, 105, 5) for s in range(110, 310, 10) for stop in stops]
    specs = [spec_for(a, f, s, stop) for a in assets for f, s, stop in grid][:count]
    end = min(market.close(x).index[-1] for x in assets)  # type: ignore[attr-defined]
    start = end - pd.Timedelta(days=4 * 365)
    small = market.subset(assets, [])  # type: ignore[attr-defined]
    t = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        trials = screen_many(specs, small, start.date(), end.date(), pool, chunks=workers * 4)
    wall = time.perf_counter() - t
    ran = [r for r in trials if r.ok]
    best = max(ran, key=lambda r: r.sharpe or 0.0)
    print(f"(e) screened {len(specs):,} variants x {(end - start).days + 1} days with {workers} processes: "
          f"{wall:.1f} s = {wall / len(specs) * 1000:.2f} ms per variant wall, {len(ran):,} ran "
          f"(goal <= 60 s); best excess Sharpe {best.sharpe:.2f}; {load()}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=None, help="data folder; default synthetic market")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--variants", type=int, default=10_000)
    ap.add_argument("--only", default="a,c,d,e", help="parts to run: a (a and b), c, d, e")
    args = ap.parse_args()
    parts = set(args.only.split(","))
    market = load_market(args.data)
    end = market.close("BTC").index[-1]
    start = end - pd.Timedelta(days=4 * 365)
    print(f"data {market.source}; window {start.date()}..{end.date()}; {load()}")
    if "a" in parts:
        bench_overhead(market, start, end, args.repeat)
    if "c" in parts:
        bench_pool(market, args.n, args.workers)
    if "d" in parts:
        bench_engines(market, start, end, args.repeat)
    if "e" in parts:
        bench_screen(market, args.variants, args.workers)


if __name__ == "__main__":
    main()
