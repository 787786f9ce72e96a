"""Fees: management (1 %/yr, pro rata by elapsed time) and performance (10 % of gains above the
benchmark, against a per-token high-water mark); 5 % of every fee goes to the insurance fund.

Fees are cash leaving the token pool, so they round *down* (ERC-4626: what leaves the pool rounds
down). A management accrual smaller than one cash quantum is not booked and its period is not
closed, so no fee time is ever lost to rounding — it just waits for the next settlement.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from core.config import Settings, get_settings
from core.ledger.postings import (
    AccountRef,
    LedgerWriter,
    Leg,
    ensure_account,
    system_account,
    token_pool_code,
)
from core.models import CASH_ASSET, AccountKind, FeeAccrual, FeeKind, StrategyToken
from core.money import CASH_QUANTUM, NAV_QUANTUM, div, mul, round_down

SECONDS_PER_YEAR = Decimal(365 * 24 * 3600)
ZERO = Decimal(0)


def pool_account(session: Session, token: StrategyToken, now: datetime) -> AccountRef:
    return ensure_account(
        session,
        token_pool_code(token.id),
        kind=AccountKind.TOKEN_POOL,
        asset=CASH_ASSET,
        token_id=token.id,
        now=now,
    )


def nav_of(token: StrategyToken) -> Decimal:
    """NAV per token at full precision; the last NAV when nothing circulates."""
    return nav_from(token.aum, token.circulating_supply, token.nav_per_token)


def nav_from(aum: Decimal, circulating_supply: Decimal, last_nav: Decimal) -> Decimal:
    """:func:`nav_of` from a token's columns (for Core reads that load no ORM object)."""
    if circulating_supply <= 0:
        return last_nav
    return div(aum, circulating_supply)


def refresh_nav(token: StrategyToken) -> None:
    token.nav_per_token = round_down(nav_of(token), NAV_QUANTUM)


def _book_fee(
    session: Session,
    writer: LedgerWriter,
    token: StrategyToken,
    kind: FeeKind,
    fee: Decimal,
    base: Decimal,
    start: datetime,
    end: datetime,
    settings: Settings,
) -> None:
    insurance = round_down(mul(fee, settings.insurance_fee_share), CASH_QUANTUM)
    txn = writer.post(
        f"fee.{kind.value}",
        [
            Leg(pool_account(session, token, writer.now), -fee),
            Leg(system_account(session, "platform:fees", writer.now), fee - insurance),
            Leg(system_account(session, "platform:insurance", writer.now), insurance),
        ],
        token_id=token.id,
        details={"base": format(base, "f")},
    )
    token.aum -= fee
    session.add(
        FeeAccrual(
            token_id=token.id,
            kind=kind,
            period_start=start,
            period_end=end,
            base_amount=base,
            fee_amount=fee,
            insurance_amount=insurance,
            transaction_id=txn.id,
            created_at=writer.now,
        )
    )


def settle_management_fee(
    session: Session,
    writer: LedgerWriter,
    token: StrategyToken,
    now: datetime,
    settings: Settings | None = None,
) -> Decimal:
    """Accrue the management fee from ``fees_accrued_until`` to ``now``; returns the fee booked."""
    settings = settings or get_settings()
    start = token.fees_accrued_until
    elapsed = Decimal(int((now - start).total_seconds()))
    if elapsed <= 0 or token.aum <= 0:
        if token.aum <= 0 and elapsed > 0:
            token.fees_accrued_until = now  # nothing to charge on an empty pool
        return ZERO
    raw = div(mul(mul(token.aum, settings.management_fee_rate), elapsed), SECONDS_PER_YEAR)
    fee = round_down(raw, CASH_QUANTUM)
    if fee <= 0:
        return ZERO
    _book_fee(session, writer, token, FeeKind.MANAGEMENT, fee, token.aum, start, now, settings)
    token.fees_accrued_until = now
    return fee


def crystallise_performance_fee(
    session: Session,
    writer: LedgerWriter,
    token: StrategyToken,
    now: datetime,
    settings: Settings | None = None,
) -> Decimal:
    """Take 10 % of the gain above max(HWM, HWM x benchmark growth); raise the mark."""
    settings = settings or get_settings()
    if token.circulating_supply <= 0:
        return ZERO
    nav = nav_of(token)
    growth = div(token.benchmark_index, token.hwm_benchmark_index)
    # Never below the high-water mark itself: beating a falling benchmark while losing money
    # (NAV under the HWM) earns no performance fee.
    hurdle = max(mul(token.high_water_mark, growth), token.high_water_mark)
    if nav <= hurdle:
        return ZERO
    # aum - hurdle x supply, not (aum / supply - hurdle) x supply: the division's rounding could
    # move an exact gain across a cent-millionth and book one quantum too much or too little.
    gain = token.aum - mul(hurdle, token.circulating_supply)
    fee = round_down(mul(gain, settings.performance_fee_rate), CASH_QUANTUM)
    if fee > 0:
        _book_fee(
            session, writer, token, FeeKind.PERFORMANCE, fee, gain, token.fees_accrued_until, now, settings
        )
    token.high_water_mark = round_down(nav_of(token), NAV_QUANTUM)
    token.hwm_benchmark_index = token.benchmark_index
    return fee
