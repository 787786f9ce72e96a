"""Redemption limit ("hot wallet"): a token pays out at most 10 % of its AUM per UTC day to
holders; the rest queues first-in-first-out for the next day and the holder is told so.

Units: cash in USD, quantities in token units. The day's limit is 10 % of the token's AUM at its
first redemption that day (``redemption_usage.limit_cash``). Rebalance sells and direct redeems go
through the ledger guard (which records usage and refuses over-limit direct redeems with a pointer
to :func:`redeem_or_queue`); platform (system) trades — kill-switch wind-downs and queue releases
— are exempt from the guard, and the queue release applies the limit itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import get_settings
from core.db import UnitOfWork
from core.errors import InsufficientTokens, LimitExceeded
from core.ledger.fees import nav_of
from core.ledger.guards import TradeIntent, register_check
from core.ledger.idempotency import run_idempotent
from core.ledger.issuance import get_holding, redeem_in
from core.ledger.locks import lock_in_order, lock_token, lock_wallet, normalise_symbol
from core.ledger.postings import LedgerWriter
from core.ledger.rows import read_position
from core.models import StrategyToken
from core.models.wallets_ext import RedemptionRequest, RedemptionUsage
from core.money import CASH_QUANTUM, TOKEN_QUANTUM, div, fmt_cash, mul, parse_tokens, round_down

ZERO = Decimal(0)
NOW_KEY = "arena_now"


def usage_for(session: Session, token: StrategyToken, day: date) -> RedemptionUsage:
    row = session.scalars(
        select(RedemptionUsage).where(RedemptionUsage.token_id == token.id,
                                      RedemptionUsage.day == day)
        .with_for_update(key_share=True).execution_options(populate_existing=True)
    ).one_or_none()
    if row is None:
        limit = round_down(mul(token.aum, get_settings().redemption_daily_limit), CASH_QUANTUM)
        row = RedemptionUsage(token_id=token.id, day=day, limit_cash=limit, redeemed_cash=ZERO)
        session.add(row)
        session.flush()
    return row


def remaining_capacity(session: Session, token: StrategyToken, day: date) -> Decimal:
    """Cash that may still be redeemed from ``token`` on ``day`` (locks the day's usage row: call
    it only while holding the token's lock)."""
    row = usage_for(session, token, day)
    return max(row.limit_cash - row.redeemed_cash, ZERO)


def peek_capacity(session: Session, token: StrategyToken, day: date) -> Decimal:
    """:func:`remaining_capacity` for planning: reads without locking or creating the usage row
    (the trade's own guard enforces the limit under the token's lock)."""
    row = session.scalars(
        select(RedemptionUsage).where(RedemptionUsage.token_id == token.id, RedemptionUsage.day == day)
    ).one_or_none()
    if row is None:
        return round_down(mul(token.aum, get_settings().redemption_daily_limit), CASH_QUANTUM)
    return max(row.limit_cash - row.redeemed_cash, ZERO)


def _limit_check(session: Session, intent: TradeIntent) -> None:
    if intent.side != "redeem" or intent.system or intent.wallet.is_house:
        return
    day = trade_day(session, intent)
    row = usage_for(session, intent.token, day)
    if row.redeemed_cash + intent.cash > row.limit_cash:
        left = max(row.limit_cash - row.redeemed_cash, ZERO)
        raise LimitExceeded(
            f"{intent.token.symbol} can pay out only {fmt_cash(left)} more today (10 % of its AUM "
            f"per day); redeem less, or use a queued redemption for the rest"
        )
    row.redeemed_cash += intent.cash


def trade_day(session: Session, intent: TradeIntent) -> date:
    """The UTC day of a trade (the trade's own clock time)."""
    return intent.now.date()


def install() -> None:
    register_check("risk.redemption_limit", _limit_check)


@dataclass(frozen=True)
class RedemptionOutcome:
    symbol: str
    redeemed_now: Decimal  # tokens
    cash_now: Decimal
    queued: Decimal  # tokens
    request_id: int | None
    message: str

    def to_dict(self) -> dict[str, object]:
        return {"symbol": self.symbol, "redeemed_now": format(self.redeemed_now, "f"),
                "cash_now": format(self.cash_now, "f"), "queued": format(self.queued, "f"),
                "request_id": self.request_id, "message": self.message}

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> RedemptionOutcome:
        rid = d.get("request_id")
        return cls(str(d["symbol"]), Decimal(str(d["redeemed_now"])), Decimal(str(d["cash_now"])),
                   Decimal(str(d["queued"])), rid if isinstance(rid, int) else None,
                   str(d["message"]))


def redeem_or_queue_in(session: Session, now: datetime, *, wallet_id: int, symbol: str,
                       quantity: Decimal, idempotency_key: str | None = None) -> RedemptionOutcome:
    """Redeem what fits in today's limit now; queue the rest FIFO for tomorrow."""
    session.info[NOW_KEY] = now
    token = lock_token(session, symbol)
    wallet = lock_wallet(session, wallet_id)
    holding = get_holding(session, wallet, token, now)
    queued_already = sum((r.quantity for r in session.scalars(
        select(RedemptionRequest).where(RedemptionRequest.wallet_id == wallet.id,
                                        RedemptionRequest.token_id == token.id,
                                        RedemptionRequest.status == "queued"))), ZERO)
    if holding.quantity - queued_already < quantity:
        raise InsufficientTokens(f"cannot redeem {quantity} {token.symbol}: wallet holds "
                                 f"{holding.quantity} of which {queued_already} already queued")
    nav = nav_of(token)
    capacity = remaining_capacity(session, token, now.date())
    fits = quantity if nav <= 0 else min(quantity, round_down(div(capacity, nav), TOKEN_QUANTUM))
    cash_now = ZERO
    if fits > 0:
        trade = redeem_in(session, now, wallet_id=wallet.id, symbol=token.symbol, quantity=fits,
                          idempotency_key=idempotency_key)
        cash_now = trade.cash
    rest = quantity - fits
    request_id = None
    if rest > 0:
        request = RedemptionRequest(wallet_id=wallet.id, token_id=token.id, quantity=rest,
                                    status="queued", requested_at=now,
                                    available_on=now.date() + timedelta(days=1))
        session.add(request)
        session.flush()
        request_id = request.id
        message = (f"Redeemed {fits} {token.symbol} for {fmt_cash(cash_now)} now. The remaining "
                   f"{rest} are queued (#{request.id}) for tomorrow: a token pays out at most 10 % "
                   f"of its AUM per day, first come first served.")
    else:
        message = f"Redeemed {fits} {token.symbol} for {fmt_cash(cash_now)}."
    return RedemptionOutcome(token.symbol, fits, cash_now, rest, request_id, message)


def redeem_or_queue(uow: UnitOfWork, wallet_id: int, symbol: str, quantity: object, *,
                    idempotency_key: str) -> RedemptionOutcome:
    """The user-facing redeem: immediate up to the daily limit, queued beyond it."""
    qty = parse_tokens(quantity)
    clean = normalise_symbol(symbol)

    def effect(session: Session) -> dict[str, object]:
        return redeem_or_queue_in(session, uow.clock.now(), wallet_id=wallet_id, symbol=clean,
                                  quantity=qty, idempotency_key=idempotency_key).to_dict()

    return run_idempotent(uow, idempotency_key, "token.redeem_or_queue",
                          {"wallet": wallet_id, "symbol": clean, "quantity": qty}, effect,
                          RedemptionOutcome.from_dict)


def process_queue_in(session: Session, now: datetime) -> list[RedemptionOutcome]:
    """Release queued redemptions due today, oldest first, within each token's daily limit
    (a request larger than a day's limit is paid in daily parts).

    Lock order: every token with a due request (by id), then every requesting wallet (by id), then
    the due requests are read again under those locks (a concurrent wind-down may have cancelled
    one); all payouts share one ledger writer, flushed once at the end.
    """
    session.info[NOW_KEY] = now
    first_look = session.execute(
        select(RedemptionRequest.token_id, RedemptionRequest.wallet_id).where(*_due(now))
    ).all()
    if not first_look:
        return []
    symbols = session.scalars(
        select(StrategyToken.symbol).where(StrategyToken.id.in_({t for t, _ in first_look}))
    ).all()
    locked = lock_in_order(session, tokens=symbols, wallets={w for _, w in first_look})
    tokens = {token.id: token for token in locked.tokens.values()}
    # Re-read under the locks: only requests of locked tokens and wallets are touched.
    due = [
        r for r in session.scalars(
            select(RedemptionRequest).where(*_due(now)).order_by(RedemptionRequest.id)
            .execution_options(populate_existing=True)
        ).all()
        if r.token_id in tokens and r.wallet_id in locked.wallets
    ]
    writer = LedgerWriter(session, now)
    done: list[RedemptionOutcome] = []
    blocked: set[int] = set()  # FIFO: once a token's head request waits, later ones wait too
    for request in due:
        if request.token_id in blocked:
            continue
        outcome = _release(session, now, request, tokens[request.token_id], writer, blocked)
        if outcome is not None:
            done.append(outcome)
    writer.flush()
    session.flush()
    return done


def _due(now: datetime) -> tuple[Any, ...]:
    return (RedemptionRequest.status == "queued", RedemptionRequest.available_on <= now.date())


def _release(session: Session, now: datetime, request: RedemptionRequest, token: StrategyToken,
             writer: LedgerWriter, blocked: set[int]) -> RedemptionOutcome | None:
    """Pay what today's limit allows of one queued request (its token and wallet are locked)."""
    holding = read_position(session, request.wallet_id, token.id)
    if holding.quantity < request.quantity:
        request.status = "cancelled"
        request.note = "the wallet no longer holds these tokens"
        return None
    capacity = remaining_capacity(session, token, now.date())
    nav = nav_of(token)
    fits = request.quantity if nav <= 0 else min(
        request.quantity, round_down(div(capacity, nav), TOKEN_QUANTUM))
    if fits <= 0:
        blocked.add(token.id)
        request.available_on = now.date() + timedelta(days=1)
        return None
    trade = redeem_in(session, now, wallet_id=request.wallet_id, symbol=token.symbol,
                      quantity=fits, system=True, writer=writer)
    usage_for(session, token, now.date()).redeemed_cash += trade.cash
    request.cash_out = (request.cash_out or ZERO) + trade.cash
    if fits < request.quantity:  # partly paid: the rest waits for tomorrow, still first
        request.quantity -= fits
        request.available_on = now.date() + timedelta(days=1)
        request.note = f"partly paid on {now.date()}"
        blocked.add(token.id)
        message = (f"Queued redemption #{request.id}: paid {fits} {token.symbol} for "
                   f"{fmt_cash(trade.cash)}; the remaining {request.quantity} wait for tomorrow.")
    else:
        request.status = "done"
        request.executed_at = now
        message = f"Queued redemption #{request.id} paid {fmt_cash(trade.cash)}."
    left = request.quantity if request.status == "queued" else ZERO
    return RedemptionOutcome(token.symbol, fits, trade.cash, left, request.id, message)
