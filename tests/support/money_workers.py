"""Child-process bodies for the distribution concurrency test (importable by ``spawn`` children)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from core import distributions, ledger
from core.errors import ArenaError
from tests.support.ledger_workers import _open, trade_loop


def mark_and_distribute(url: str, symbol: str, months: int) -> dict[str, Any]:
    """For each month: mark the token +1 % (a day per month, forward), then pay that month's
    distribution; report every payment."""
    db = _open(url, None)
    paid: list[dict[str, Any]] = []
    errors: list[str] = []
    try:
        for i in range(months):
            period = f"2031-{i + 1:02d}"
            try:
                ledger.mark_nav(db.uow(), symbol, date(2031, 1, 1) + timedelta(days=31 * i), "0.01")
                result = distributions.distribute(db.uow(), symbol, period)
                if result is not None:
                    paid.append(result.to_dict())
            except ArenaError as error:
                errors.append(f"{type(error).__name__}: {error}")
    finally:
        db.dispose()
    return {"paid": paid, "errors": errors}


def dispatch(kind: str, args: tuple[Any, ...]) -> dict[str, Any]:
    """One entry point for mixed workers: ``trade`` (buy/redeem loop) or ``money`` (distributions)."""
    return trade_loop(*args) if kind == "trade" else mark_and_distribute(*args)
