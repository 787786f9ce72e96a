"""Everything one backtest reads, prepared once for either engine (Backtrader or the vector screen).

:func:`prepare` resolves the window, cuts the price frames to a common calendar (warm-up bars first),
and lines up per bar:

* **lending rates** (APR, decimal): the market's own value where it has one, **0 where it has
  none** (before its first or after its last observation). A rate is never carried past the end of
  its series; each day without one is listed in :attr:`BacktestInputs.notes`.
* **coin marks**: the USD price of the coin a cash market holds (``compound:USDC`` -> ``USDC``)
  where the data has it, so a depeg shows in equity and drawdown; par (1.0) where it has none, and
  the notes say from when.
* the **risk-free** series (:mod:`backtest.data.riskfree`) for excess returns.

Window rules: ``[start, end]`` inclusive; history before ``start`` only warms indicators up; without
``start`` the window begins on the first day every needed series has ``warmup`` bars of history;
it never extends past the last day of any series the spec needs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from backtest.data.market import DataError, MarketData, accrue
from backtest.data.riskfree import RiskFree
from backtest.plan import LENDING_FAMILIES, largest_target, needed_assets, needed_markets
from core.formatting import count, percent
from core.spec import TBILL_MARKET, StrategySpec


@dataclass(frozen=True)
class BacktestInputs:
    """The aligned inputs of one backtest (floats: a simulation). See the module docstring."""

    spec: StrategySpec
    lo: pd.Timestamp  # first recorded day
    hi: pd.Timestamp  # last day
    warmup: int
    calendar: pd.DatetimeIndex  # every bar fed to the engine, warm-up bars first (UTC)
    frames: dict[str, pd.DataFrame]  # feed name -> open high low close volume on the calendar
    rates: dict[str, np.ndarray]  # market -> APR per bar (0.0 where the series has no value)
    marks: dict[str, np.ndarray]  # market -> USD price of the market's coin per bar (1.0 = par)
    risk_free: RiskFree
    notes: tuple[str, ...]

    @property
    def trade_from(self) -> dt.date:
        return self.lo.date()

    @property
    def exposure_cap(self) -> float:
        return float(self.spec.sizing.max_exposure)


def prepare(
    spec: StrategySpec,
    market: MarketData,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    warmup: int,
) -> BacktestInputs:
    """Resolve the window and align every series the spec needs (see the module docstring)."""
    lo, hi = window(spec, market, start, end, warmup)
    feed_lo = lo - pd.Timedelta(days=warmup)
    frames = _frames(spec, market, feed_lo, hi)
    calendar = next(iter(frames.values())).index
    notes: list[str] = []
    rates = {m: _rate(market, m, calendar, lo, notes) for m in needed_markets(spec)}
    marks = {m: _marks(market, m, calendar, lo, notes) for m in needed_markets(spec)}
    risk_free = market.riskfree().window(None, hi)
    _exposure_note(spec, notes)
    return BacktestInputs(spec, lo, hi, warmup, calendar, frames, rates, marks, risk_free, tuple(notes))


def window(
    spec: StrategySpec, market: MarketData, start: pd.Timestamp | None, end: pd.Timestamp | None, warmup: int
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last recorded day: inside every needed series, after ``warmup`` bars of history."""
    assets = needed_assets(spec)
    # Lending families need every market; the others only need rates where they exist (idle cash
    # earns nothing on days without a rate, and the notes say so).
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


def _frames(
    spec: StrategySpec, market: MarketData, lo: pd.Timestamp, hi: pd.Timestamp
) -> dict[str, pd.DataFrame]:
    frames = {asset: market.ohlcv(asset).loc[lo:hi] for asset in needed_assets(spec)}
    if spec.family in LENDING_FAMILIES:  # the first market's accrued index is the clock
        first = needed_markets(spec)[0]
        index = accrue(market.rate(first).loc[lo:hi])
        frames[first] = pd.DataFrame(
            {"open": index, "high": index, "low": index, "close": index, "volume": 0.0}
        )
    calendar = next(iter(frames.values())).index
    for name, frame in frames.items():
        if not frame.index.equals(calendar):
            raise DataError(f"{name}: dates do not line up with {next(iter(frames))} in the window")
    return frames


def _rate(
    market: MarketData, name: str, calendar: pd.DatetimeIndex, lo: pd.Timestamp, notes: list[str]
) -> np.ndarray:
    try:
        series = market.rate(name)
    except DataError:
        what = "no T-bill (risk-free) series" if name == TBILL_MARKET else "no lending rates"
        notes.append(f"{name}: {what} in the data; cash parked there earned nothing")
        return np.zeros(len(calendar))
    values = series.reindex(calendar).to_numpy(dtype=float)
    missing = ~np.isfinite(values)
    # Interest credited on day t uses the rate of day t-1: the days that matter start the day before lo.
    used = calendar >= lo - pd.Timedelta(days=1)
    if (missing & used).any():
        first, last = series.index[0].date(), series.index[-1].date()
        if calendar[-1] > series.index[-1]:
            days = int((missing & used & (calendar > series.index[-1])).sum())
            notes.append(
                f"{name}: rates end {last}; cash there earned nothing on the {count(days)} day(s) after"
            )
        if calendar[0] < series.index[0] and (used & (calendar < series.index[0])).any():
            notes.append(f"{name}: rates start {first}; cash there earned nothing before")
    return np.where(missing, 0.0, values)


def _marks(
    market: MarketData, name: str, calendar: pd.DatetimeIndex, lo: pd.Timestamp, notes: list[str]
) -> np.ndarray:
    coin = name.partition(":")[2]
    if name == TBILL_MARKET:  # a dollar claim: the T-bill leg is at par by definition
        return np.ones(len(calendar))
    if coin not in market.prices:
        notes.append(
            f"{name}: no USD price for {coin} in the data; positions there are marked at par (1 USD)"
        )
        return np.ones(len(calendar))
    close = market.close(coin)
    values = close.reindex(calendar).to_numpy(dtype=float)
    missing = ~np.isfinite(values)
    shown = calendar >= lo
    if (missing & shown).any():
        span = f"{close.index[0].date()}..{close.index[-1].date()}"
        notes.append(
            f"{name}: {coin} has a USD price only {span}; on the other {count(int((missing & shown).sum()))} "
            "day(s) positions there are marked at par (1 USD)"
        )
    return np.where(missing, 1.0, values)


def _exposure_note(spec: StrategySpec, notes: list[str]) -> None:
    asked, cap = largest_target(spec), float(spec.sizing.max_exposure)
    if asked > cap + 1e-12:
        notes.append(
            f"the spec can ask for {percent(asked, 0)} invested; the exposure cap (sizing.max_exposure = "
            f"{percent(cap, 0)}) scales every target down so at most {percent(cap, 0)} is invested"
        )
