"""Helpers for wallet / risk / lifecycle tests: a small platform with NAV history."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from core import ledger
from core.clock import SimulatedClock
from core.db import Database
from tests.support.ledger_world import key, make_org, make_token, make_user, make_wallet

SYMBOLS = [f"STRAT-TEST-T{i}-001" for i in range(6)]


def mark_days(db: Database, clock: SimulatedClock, returns: dict[str, list[str]]) -> None:
    """Mark each token's NAV for consecutive days (one day per list element), advancing the clock."""
    days = max(len(r) for r in returns.values())
    for i in range(days):
        clock.advance(timedelta(days=1))
        as_of = clock.now().date()
        for symbol, series in returns.items():
            if i < len(series):
                ledger.mark_nav(db.uow(), symbol, as_of, series[i])


def random_returns(seed: int, days: int, mean: float = 0.002, vol: float = 0.02) -> list[str]:
    rng = random.Random(seed)
    return [format(round(rng.gauss(mean, vol), 6), "f") for _ in range(days)]


def platform(db: Database, clock: SimulatedClock, *, tokens: int = 6, days: int = 45,
             ) -> dict[str, object]:
    """An org with an owner and a stranger, ``tokens`` active tokens with ``days`` of NAV marks."""
    org = make_org(db)
    owner = make_user(db, 1001, org)
    stranger = make_user(db, 2002, org)
    symbols = SYMBOLS[:tokens]
    for symbol in symbols:
        make_token(db, symbol, supply="100000000")
    mark_days(db, clock, {s: random_returns(i, days, mean=0.002 + 0.0005 * i)
                          for i, s in enumerate(symbols)})
    return {"org": org, "owner": owner, "stranger": stranger, "symbols": symbols}


def ai_wallet(db: Database, org: int, owner: int, mode: str, cash: str = "100000",
              tier: str = "basic") -> int:
    return make_wallet(db, org, cash=cash, mode=mode, tier=tier, owner_user_ids=[owner],
                       name=f"{mode} wallet")


def today(clock: SimulatedClock) -> date:
    return clock.now().date()


ZERO = Decimal(0)
__all__ = ["ZERO", "ai_wallet", "key", "mark_days", "platform", "random_returns", "today"]
