"""The demo's shared state and its market (seeded by default, real data via ARENA_DATA_DIR)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from backtest import MarketData, load_market
from core.config import get_settings
from core.db import Database

#: Days the platform lives through after the strategies are tokenized.
SIMULATED_DAYS = 84
#: Assets whose last common day ends the simulation (the example strategies trade these).
ANCHOR_ASSETS = ("BTC", "ETH")


@dataclass
class DemoState:
    run: str
    db: Database
    market: MarketData
    org_id: int = 0
    user_id: int = 0
    admin_id: int = 0
    wallets: dict[str, int] = field(default_factory=dict)
    tokens: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    progress: bool = True  # progress bars (off when only JSON may reach stdout)

    def key(self, name: str) -> str:
        return f"demo:{self.run}:{name}"


def market_for_demo() -> MarketData:
    """The built-in seeded market, or the real data folder when ARENA_DATA_DIR is set."""
    return load_market(get_settings().data_dir)


def market_end(market: MarketData) -> dt.date:
    ends = [market.close(a).index[-1].date() for a in ANCHOR_ASSETS if a in market.prices]
    return min(ends) if ends else max(df.index[-1].date() for df in market.prices.values())


def demo_start(market: MarketData) -> dt.datetime:
    """Tokenization time: SIMULATED_DAYS before the end of the data, 09:00 UTC."""
    day = market_end(market) - dt.timedelta(days=SIMULATED_DAYS)
    return dt.datetime.combine(day, dt.time(9), dt.UTC)
