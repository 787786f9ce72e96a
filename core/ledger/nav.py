"""Daily NAV marks: apply a strategy's daily return to the token pool, then settle fees.

A mark is unique per (token, day): marking the same day again returns the stored mark and changes
nothing. Returns are decimal fractions (0.012 = +1.2 %); a return below -100 % is refused. The
market P&L is booked against ``market:strategy_pnl`` (the pool's counterparty) and rounded to the
cash quantum half-even, the only rounding that is not a user flow.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.errors import TokenNotTradable, ValidationError
from core.ledger.fees import (
    crystallise_performance_fee,
    nav_of,
    pool_account,
    refresh_nav,
    settle_management_fee,
)
from core.ledger.idempotency import run_idempotent
from core.ledger.locks import lock_token, normalise_symbol
from core.ledger.postings import LedgerWriter, Leg, system_account
from core.ledger.results import NavMarked
from core.models import NavMark, StrategyToken, TokenStatus
from core.money import CASH_QUANTUM, RATE_QUANTUM, mul, to_decimal

MAX_DAILY_MOVE = Decimal(10)  # +1000 % in a day is a data error, not a market


def _parse_return(value: object, field: str) -> Decimal:
    r = to_decimal(value, field=field)
    if r <= -1:
        raise ValidationError(f"{field} {r} is a loss of 100 % or more; a NAV cannot go below zero")
    if r > MAX_DAILY_MOVE:
        raise ValidationError(f"{field} {r} is implausibly large for one day; check the data")
    return r.quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN)


def _stored(mark: NavMark, token: StrategyToken) -> NavMarked:
    return NavMarked(
        token.symbol,
        mark.as_of.isoformat(),
        mark.daily_return,
        mark.nav_per_token,
        mark.aum_after,
        Decimal(0),
        Decimal(0),
        True,
    )


def mark_nav_in(
    session: Session,
    now: datetime,
    *,
    symbol: str,
    as_of: date,
    daily_return: Decimal,
    benchmark_return: Decimal = Decimal(0),
) -> NavMarked:
    token = lock_token(session, symbol)
    existing = session.scalars(
        select(NavMark).where(NavMark.token_id == token.id, NavMark.as_of == as_of)
    ).one_or_none()
    if existing is not None:
        return _stored(existing, token)
    if token.status is TokenStatus.RETIRED and token.circulating_supply <= 0:
        raise TokenNotTradable(f"{token.symbol} is retired and wound down; nothing to mark")
    if token.last_mark_date is not None and as_of < token.last_mark_date:
        raise ValidationError(
            f"{token.symbol} was already marked for {token.last_mark_date}; marks go forward in time"
        )
    writer = LedgerWriter(session, now)
    aum_before = token.aum
    pnl = mul(token.aum, daily_return).quantize(CASH_QUANTUM, rounding=ROUND_HALF_EVEN)
    txn = writer.post(
        "nav.mark",
        [
            Leg(pool_account(session, token, now), pnl),
            Leg(system_account(session, "market:strategy_pnl", now), -pnl),
        ],
        token_id=token.id,
        details={"as_of": as_of.isoformat(), "return": format(daily_return, "f")},
    )
    token.aum += pnl
    token.benchmark_index = mul(token.benchmark_index, 1 + benchmark_return)
    mgmt = settle_management_fee(session, writer, token, now)
    perf = crystallise_performance_fee(session, writer, token, now)
    writer.flush()
    refresh_nav(token)
    token.peak_nav = max(token.peak_nav, token.nav_per_token)
    token.last_mark_date = as_of
    mark = NavMark(
        token_id=token.id,
        as_of=as_of,
        daily_return=daily_return,
        benchmark_return=benchmark_return,
        aum_before=aum_before,
        aum_after=token.aum,
        nav_per_token=token.nav_per_token,
        circulating_supply=token.circulating_supply,
        transaction_id=txn.id if pnl != 0 else None,
        created_at=now,
    )
    session.add(mark)
    session.flush()
    return NavMarked(
        token.symbol, as_of.isoformat(), daily_return, token.nav_per_token, token.aum, mgmt, perf, False
    )


def mark_nav(
    uow: UnitOfWork,
    symbol: str,
    as_of: date,
    daily_return: object,
    *,
    benchmark_return: object = "0",
    idempotency_key: str | None = None,
) -> NavMarked:
    """Mark a token's NAV for one day from its strategy's daily return (idempotent per day)."""
    clean = normalise_symbol(symbol)
    r = _parse_return(daily_return, "daily return")
    b = _parse_return(benchmark_return, "benchmark return")
    key = idempotency_key or f"nav:{clean}:{as_of.isoformat()}"

    def effect(session: Session) -> dict[str, object]:
        return mark_nav_in(
            session, uow.clock.now(), symbol=clean, as_of=as_of, daily_return=r, benchmark_return=b
        ).to_dict()

    return run_idempotent(
        uow,
        key,
        "nav.mark",
        {"symbol": clean, "as_of": as_of.isoformat(), "r": r, "b": b},
        effect,
        NavMarked.from_dict,
    )


def accrue_fees(uow: UnitOfWork, symbol: str, *, idempotency_key: str) -> Decimal:
    """Settle the management fee up to now (the daily job); returns the fee booked."""
    clean = normalise_symbol(symbol)

    def effect(session: Session) -> dict[str, object]:
        token = lock_token(session, clean)
        now = uow.clock.now()
        writer = LedgerWriter(session, now)
        fee = settle_management_fee(session, writer, token, now)
        writer.flush()
        refresh_nav(token)
        return {"fee": format(fee, "f"), "nav": format(nav_of(token), "f")}

    result = run_idempotent(uow, idempotency_key, "fees.accrue", {"symbol": clean}, effect, dict)
    return Decimal(str(result["fee"]))
