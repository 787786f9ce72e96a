"""Subscription billing: plan changes, the monthly charge in advance, the grace period.

Conventions (all UTC; amounts USD, charged to the cent):

* A plan is paid per calendar month, **in advance**: the daily billing job charges a month's price
  on its first run in that month. What a wallet has paid for a month is its *cover*: the highest
  tier among that month's :class:`~core.models.billing.PlanCharge` rows (Free when none).
* An **upgrade** takes effect at once and charges the price difference to the month's cover,
  prorated by the days left in the month *including today*:
  ``(price(new) - price(cover)) x days_left / days_in_month``, rounded half-up to the cent.
  (Basic on 16 January: $50 x 16/31 = $25.81.) An upgrade needs that much free cash.
* A **downgrade** is scheduled for the first of the next month (the current month is paid; no
  refunds). An unpaid month (a grace period) downgrades at once.
* A charge moves cash from the wallet's cash account to ``platform:plan_revenue`` in one ledger
  transaction whose idempotency key is ``plan:<wallet>:<YYYY-MM>:<tier>``; a month is charged at
  most once per tier (a unique row), so a re-run job charges nothing twice.
* Too little free cash for the monthly charge starts a **7-day grace period**: the owners are told,
  reminded once a day, the charge is retried daily; unpaid after 7 days the wallet moves to Free —
  AI switched off (manual mode, pending proposals superseded), holdings kept, nothing sold.
* Any move to a lower token cap cancels the open exchange bids the new plan has no room for
  (:mod:`core.exchange.plan_bids`); the owners are told.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.billing.plans import PlanLimit, parse_tier, plan_of, rank
from core.billing.revenue import PLAN_REVENUE
from core.errors import InsufficientCash
from core.exchange.plan_bids import (
    bids_over_plan,
    cancel_bids_over_plan_in,
    cancelled_text,
    lock_for_plan_change,
)
from core.exchange.results import OrderClosed
from core.formatting import cash as fmt_cash
from core.formatting import counted, date_text
from core.ledger.cash import wallet_cash_account
from core.ledger.postings import LedgerWriter, Leg, system_account
from core.ledger.rows import write_wallet_cash
from core.models import AIWallet, AuditLog, Tier, WalletMode
from core.models.billing import PlanCharge, WalletBilling
from core.wallets.proposals import supersede_pending

log = logging.getLogger(__name__)

GRACE = timedelta(days=7)
CENT = Decimal("0.01")


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_days(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def prorate(amount: Decimal, days_left: int, days_in_month: int) -> Decimal:
    """``amount x days_left / days_in_month`` rounded half-up to the cent."""
    return (amount * days_left / days_in_month).quantize(CENT, rounding=ROUND_HALF_UP)


def cover(session: Session, wallet_id: int, period: str) -> Tier:
    """The highest tier paid for ``period`` (Free when nothing was charged)."""
    tiers = session.scalars(select(PlanCharge.tier).where(
        PlanCharge.wallet_id == wallet_id, PlanCharge.period == period)).all()
    return max((Tier(t) for t in tiers), key=rank, default=Tier.FREE)


def billing_row(session: Session, wallet_id: int, now: datetime) -> WalletBilling:
    row = session.get(WalletBilling, wallet_id)
    if row is None:
        row = WalletBilling(wallet_id=wallet_id, updated_at=now)
        session.add(row)
        session.flush()
    return row


@dataclass(frozen=True, slots=True)
class ChangeQuote:
    """What changing to ``tier`` would do now: ``charge`` (USD, 0 for none) and when it applies."""

    tier: Tier
    kind: str  # "upgrade" | "downgrade" | "same"
    charge: Decimal
    days_left: int
    days_in_month: int
    effective: date

    def text(self, current: Tier) -> str:
        new, old = plan_of(self.tier), plan_of(current)
        if self.kind == "same":
            return f"You are on the {old.name} plan already."
        if self.kind == "downgrade":
            return (f"Move from {old.name} to {new.name} on {date_text(self.effective)}? You keep "
                    f"{old.name} until then (this month is paid; no refund). {new.name}: {new.limits()}.")
        paid = (f"{fmt_cash(self.charge)} now for the rest of this month ({self.days_left} of "
                f"{self.days_in_month} days)" if self.charge else "nothing more this month")
        return (f"Upgrade from {old.name} to {new.label()}? It applies at once: {paid}, then "
                f"{fmt_cash(new.price)} on the 1st of each month from your wallet's cash. "
                f"{new.name}: {new.limits()}.")


def quote_change(session: Session, now: datetime, wallet: AIWallet, tier: Tier) -> ChangeQuote:
    today = now.date()
    dim = month_days(today)
    left = dim - today.day + 1
    current = Tier(wallet.tier)
    if tier is current:
        return ChangeQuote(tier, "same", Decimal(0), left, dim, today)
    if rank(tier) < rank(current):
        unpaid = rank(cover(session, wallet.id, period_of(today))) < rank(current)
        return ChangeQuote(tier, "downgrade", Decimal(0), left, dim, today if unpaid else next_month(today))
    difference = plan_of(tier).price - plan_of(cover(session, wallet.id, period_of(today))).price
    return ChangeQuote(tier, "upgrade", prorate(max(difference, Decimal(0)), left, dim), left, dim, today)


def _post_charge(session: Session, now: datetime, wallet: AIWallet, tier: Tier, kind: str,
                 amount: Decimal, days: int, dim: int, *, writer: LedgerWriter | None = None) -> PlanCharge:
    """Move ``amount`` from the (locked) wallet's free cash to plan revenue; one row per month+tier.
    A caller's ``writer`` (bids cancelled by a downgrade in the same transaction) is flushed here
    with the charge, so the accounts are locked once, in id order."""
    period = period_of(now.date())
    free = wallet.cash - wallet.cash_reserved
    if free < amount:
        short = (f"the {plan_of(tier).name} plan needs {fmt_cash(amount)} of free cash; "
                 f"the wallet has {fmt_cash(free)}")
        raise InsufficientCash(f"{short} (an admin can /deposit first)",
                               cli=f"{short} (an admin can deposit first with /deposit in chat)")
    txn_id = None
    if amount > 0:
        writer = writer or LedgerWriter(session, now)
        txn = writer.post("plan.charge", [Leg(wallet_cash_account(session, wallet, now), -amount),
                                          Leg(system_account(session, PLAN_REVENUE, now), amount)],
                          idempotency_key=f"plan:{wallet.id}:{period}:{tier.value}",
                          wallet_id=wallet.id, memo=f"{plan_of(tier).name} plan, {period} ({kind})")
        writer.flush()
        write_wallet_cash(session, wallet, wallet.cash - amount)
        txn_id = txn.id
    charge = PlanCharge(wallet_id=wallet.id, period=period, tier=tier.value, kind=kind, amount=amount,
                        days_charged=days, days_in_month=dim, transaction_id=txn_id, created_at=now)
    session.add(charge)
    session.flush()
    return charge


def set_tier_in(session: Session, now: datetime, wallet: AIWallet, tier: Tier, *, actor: str,
                why: str, writer: LedgerWriter | None = None) -> list[OrderClosed]:
    """Put the wallet (locked with its bids' tokens: :func:`lock_for_plan_change`) on ``tier``; a
    plan without AI switches the wallet to manual and supersedes its pending proposals; a lower token
    cap cancels the open bids it leaves no room for (returned; ``core.exchange.plan_bids``).
    Holdings are never touched."""
    old = Tier(wallet.tier)
    wallet.tier = tier
    cancelled: list[OrderClosed] = []
    if _cap(tier) < _cap(old):
        cancelled = cancel_bids_over_plan_in(session, now, wallet, plan_of(tier), writer=writer)
    if not plan_of(tier).ai_modes and wallet.mode is not WalletMode.MANUAL:
        if wallet.mode is WalletMode.HYBRID:
            supersede_pending(session, now, wallet.id, f"the wallet moved to the {plan_of(tier).name} plan")
        wallet.mode = WalletMode.MANUAL
    row = billing_row(session, wallet.id, now)
    row.next_tier = row.next_tier_on = None
    row.updated_at = now
    details: dict[str, object] = {"from": old.value, "to": tier.value, "why": why}
    if cancelled:
        details["cancelled_bids"] = [c.order_id for c in cancelled]
    session.add(AuditLog(at=now, actor=actor, action="plan.change", subject=f"wallet:{wallet.id}",
                         details=details))
    return cancelled


def _cap(tier: Tier) -> float:
    """The plan's token cap, unlimited as infinity (for comparing two plans)."""
    cap = plan_of(tier).max_tokens
    return float("inf") if cap is None else cap


def change_plan_in(session: Session, now: datetime, wallet_id: int, tier_text: str, *,
                   actor: str) -> str:
    """Change a wallet's plan (see the module's conventions); returns the text a person reads."""
    tier = parse_tier(tier_text)
    wallet = lock_for_plan_change(session, wallet_id)
    if wallet.is_house:
        raise PlanLimit("the platform's house wallet has no plan")
    row = billing_row(session, wallet.id, now)
    quote = quote_change(session, now, wallet, tier)
    if quote.kind == "same":
        if row.next_tier is not None:
            row.next_tier = row.next_tier_on = None
            row.updated_at = now
            return f"You stay on the {plan_of(tier).name} plan; the scheduled change was cancelled."
        return quote.text(tier)
    if quote.kind == "downgrade":
        return _downgrade(session, now, wallet, row, quote, actor)
    if row.grace_period is not None:
        unpaid = f"the {row.grace_period} charge is still unpaid"
        raise PlanLimit(f"{unpaid}; add cash with /deposit (the charge is retried daily) before upgrading",
                        cli=f"{unpaid}; add cash with /deposit in chat (the charge is retried daily, or run "
                            "`arena plan bill`) before upgrading")
    if quote.charge > 0 or rank(cover(session, wallet.id, period_of(now.date()))) < rank(tier):
        _post_charge(session, now, wallet, tier, "upgrade", quote.charge, quote.days_left,
                     quote.days_in_month)
    set_tier_in(session, now, wallet, tier, actor=actor, why="upgrade")
    paid = f" {fmt_cash(quote.charge)} was charged for the rest of this month." if quote.charge else ""
    return (f"You are now on the {plan_of(tier).label()} plan: {plan_of(tier).limits()}.{paid} "
            f"Next charge: {fmt_cash(plan_of(tier).price)} on {date_text(next_month(now.date()))}.")


def _downgrade(session: Session, now: datetime, wallet: AIWallet, row: WalletBilling,
               quote: ChangeQuote, actor: str) -> str:
    new = plan_of(quote.tier)
    if quote.effective <= now.date():
        row.grace_period = row.grace_started_at = row.grace_reminded_on = None
        closed = set_tier_in(session, now, wallet, quote.tier, actor=actor, why="downgrade (month unpaid)")
        return (f"You are now on the {new.name} plan: {new.limits()}. Your holdings are unchanged."
                + cancelled_text(closed, new))
    row.next_tier, row.next_tier_on, row.updated_at = quote.tier.value, quote.effective, now
    session.add(AuditLog(at=now, actor=actor, action="plan.schedule", subject=f"wallet:{wallet.id}",
                         details={"to": quote.tier.value, "on": quote.effective.isoformat()}))
    over = bids_over_plan(session, wallet, new)
    warning = (f" Then {counted(len(over), 'open exchange bid')} for tokens beyond its "
               f"{new.max_tokens} will be cancelled unless filled or cancelled first." if over else "")
    return (f"Your plan changes to {new.name} on {date_text(quote.effective)}; until then you keep "
            f"{plan_of(wallet.tier).name} (this month is paid).{warning} Send /plan {wallet.tier.value} "
            "to cancel the change.")


__all__ = ["GRACE", "PLAN_REVENUE", "ChangeQuote", "change_plan_in", "cover",
           "month_days", "next_month", "period_of", "prorate", "quote_change", "set_tier_in"]
