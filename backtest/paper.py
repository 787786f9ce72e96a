"""Paper trading: run an agent forward one day at a time on data after its backtest window.

The :class:`PaperTrader` is driven by an injectable :class:`core.clock.Clock`. Each
:meth:`PaperTrader.advance` call processes every UTC day up to *yesterday* (a daily bar is complete
only once its day is over) for which the market has data. To make look-ahead impossible by
construction, each day is simulated on a copy of the market cut at that day. The agent keeps its
indicator history from before the paper window (warm-up), but paper NAV starts at 1.0 on the first
paper day's open, i.e. on the last backtest close.

After ``settings.paper_days`` marks the trader reports ``passed``/``failed`` with reasons:
it passes when the paper max drawdown stays below ``settings.gate_max_drawdown`` (the same limit as
the birth gate) and no day is missing. NAV values are floats: a simulation, not a ledger amount;
the wallet team converts the returns to ``Decimal`` marks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from backtest.data.market import MarketData
from backtest.engine import run_backtest
from backtest.metrics import max_drawdown
from backtest.plan import needed_assets, needed_markets
from core.clock import Clock
from core.config import Settings, get_settings
from core.spec import StrategySpec, load_spec


@dataclass
class PaperStatus:
    state: str  # "running" | "passed" | "failed"
    days: int
    nav: float
    max_drawdown: float
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "days": self.days,
            "nav": self.nav,
            "max_drawdown": self.max_drawdown,
            "reasons": list(self.reasons),
        }


class PaperTrader:
    """Forward-test ``spec`` from the day after ``backtest_end``."""

    def __init__(
        self,
        spec: StrategySpec | dict[str, Any],
        market: MarketData,
        backtest_end: dt.date,
        clock: Clock,
        *,
        settings: Settings | None = None,
        history_days: int = 400,
    ) -> None:
        self.spec = load_spec(spec)
        self.market = market
        self.backtest_end = backtest_end
        self.clock = clock
        self.settings = settings or get_settings()
        self.history_days = history_days
        self.nav: dict[dt.date, float] = {}

    @property
    def first_day(self) -> dt.date:
        return self.backtest_end + dt.timedelta(days=1)

    def advance(self) -> list[tuple[dt.date, float]]:
        """Mark every completed day not yet marked; returns the new (day, NAV) marks."""
        today = self.clock.now().date()
        new: list[tuple[dt.date, float]] = []
        day = max(self.nav, default=self.backtest_end) + dt.timedelta(days=1)
        while day < today and len(self.nav) < self.settings.paper_days:
            nav = self._nav_on(day)
            if nav is None:
                break  # no data for that day yet: try again on the next advance
            self.nav[day] = nav
            new.append((day, nav))
            day += dt.timedelta(days=1)
        return new

    def _nav_on(self, day: dt.date) -> float | None:
        stamp = pd.Timestamp(day, tz="UTC")
        if not self._has_data(stamp):
            return None
        start = pd.Timestamp(self.backtest_end, tz="UTC")
        cut = self.market.window(start - pd.Timedelta(days=self.history_days), stamp)
        result = run_backtest(self.spec, cut, start=start.date(), end=day, settings=self.settings)
        equity = result.equity
        return float(equity.iloc[-1] / equity.iloc[0])

    def _has_data(self, stamp: pd.Timestamp) -> bool:
        last = self.last_data_day()
        return last is not None and pd.Timestamp(last, tz="UTC") >= stamp

    def last_data_day(self) -> dt.date | None:
        """The last day on which every series the spec needs has data."""
        names = needed_assets(self.spec)
        series = [self.market.ohlcv(a).index for a in names] or [
            self.market.rate(m).index for m in needed_markets(self.spec)
        ]
        if not series or not all(len(ix) for ix in series):
            return None
        return min(ix[-1] for ix in series).date()

    def nav_series(self) -> pd.Series:
        return pd.Series(self.nav, dtype=float).sort_index()

    def status(self) -> PaperStatus:
        navs = [1.0, *(self.nav[d] for d in sorted(self.nav))]
        mdd = max_drawdown(pd.Series(navs).to_numpy())
        days = len(self.nav)
        if days < self.settings.paper_days:
            return PaperStatus(
                "running", days, navs[-1], mdd, [f"{days} of {self.settings.paper_days} paper days done"]
            )
        reasons: list[str] = []
        if not mdd < self.settings.gate_max_drawdown:
            reasons.append(f"paper drawdown {mdd:.1%} is not below {self.settings.gate_max_drawdown:.1%}")
        expected = [self.first_day + dt.timedelta(days=i) for i in range(days)]
        if sorted(self.nav) != expected:
            reasons.append("paper marks are not consecutive days")
        state = "failed" if reasons else "passed"
        if not reasons:
            reasons.append(f"{days} paper days, return {navs[-1] - 1:.2%}, max drawdown {mdd:.1%}")
        return PaperStatus(state, days, navs[-1], mdd, reasons)
