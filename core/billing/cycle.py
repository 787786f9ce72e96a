"""The daily billing run (scheduler job ``plan_billing``): scheduled plan changes, the monthly charge
in advance, grace periods with reminders, and the move to Free when a grace period ends unpaid.

Each wallet is handled in its own unit of work (one wallet's failure is reported, not spread), and
every step is idempotent: charges are unique per wallet, month and tier; a reminder is sent once a
day (``grace_reminded_on``); scheduled changes and downgrades happen once because they change the
row they read. Conventions are those of :mod:`core.billing.charges`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.billing.charges import (
    GRACE,
    _post_charge,
    billing_row,
    cover,
    month_days,
    period_of,
    set_tier_in,
)
from core.billing.plans import plan_of, rank
from core.clock import ensure_utc
from core.db import UnitOfWork
from core.errors import InsufficientCash
from core.exchange.plan_bids import cancelled_text, lock_for_plan_change
from core.formatting import cash as fmt_cash
from core.formatting import datetime_text
from core.ledger.postings import LedgerWriter
from core.models import AIWallet, Tier
from core.models.billing import WalletBilling
from core.notify import Notifier
from core.wallets.notices import tell_owners

log = logging.getLogger(__name__)


@dataclass
class BillingReport:
    charged: dict[int, str] = field(default_factory=dict)  # wallet -> amount (decimal string)
    grace_started: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)
    downgraded: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)  # scheduled changes applied
    failed: dict[int, str] = field(default_factory=dict)


def _wallets_to_bill(session: Session) -> list[int]:
    paid = select(AIWallet.id).where(AIWallet.is_house.is_(False), AIWallet.tier != Tier.FREE)
    pending = select(WalletBilling.wallet_id).where(or_(WalletBilling.next_tier.is_not(None),
                                                        WalletBilling.grace_period.is_not(None)))
    return sorted(set(session.scalars(paid)) | set(session.scalars(pending)))


def run_billing(uow: UnitOfWork, *, notifier: Notifier | None = None) -> BillingReport:
    """Bill every wallet that is on a paid plan or has a pending change or grace period."""
    report = BillingReport()
    with uow:
        ids = _wallets_to_bill(uow.session)
    for wallet_id in ids:
        try:
            with uow:
                bill_wallet_in(uow.session, uow.clock.now(), wallet_id, notifier, report)
                uow.commit()
        except Exception as exc:  # one wallet's failure is recorded and does not stop the run
            report.failed[wallet_id] = f"{type(exc).__name__}: {exc}"
            log.exception("billing of wallet %s failed", wallet_id)
    return report


def bill_wallet_in(session: Session, now: datetime, wallet_id: int, notifier: Notifier | None,
                   report: BillingReport) -> None:
    wallet = lock_for_plan_change(session, wallet_id)  # a downgrade may cancel bids: tokens first
    # One writer for the transaction: bids a downgrade cancels and the month's charge lock their
    # ledger accounts together, in id order, at one flush.
    writer = LedgerWriter(session, now)
    _bill(session, now, wallet, notifier, report, writer)
    writer.flush()


def _bill(session: Session, now: datetime, wallet: AIWallet, notifier: Notifier | None,
          report: BillingReport, writer: LedgerWriter) -> None:
    row = billing_row(session, wallet.id, now)
    if row.next_tier and row.next_tier_on and row.next_tier_on <= now.date():
        new = Tier(row.next_tier)
        closed = set_tier_in(session, now, wallet, new, actor="system:billing", why="scheduled change",
                             writer=writer)
        report.changed.append(wallet.id)
        tell_owners(session, notifier, wallet.id, f"Your wallet is now on the {plan_of(new).name} "
                    f"plan, as you asked: {plan_of(new).limits()}. Your holdings are unchanged."
                    + cancelled_text(closed, plan_of(new)))
    if row.grace_period is not None:
        _grace_step(session, now, wallet, row, notifier, report, writer)
        return
    tier = Tier(wallet.tier)
    owed = plan_of(tier).price - plan_of(cover(session, wallet.id, period_of(now.date()))).price
    if rank(cover(session, wallet.id, period_of(now.date()))) >= rank(tier):
        return
    try:
        _post_charge(session, now, wallet, tier, "monthly", owed, month_days(now.date()),
                     month_days(now.date()), writer=writer)
        report.charged[wallet.id] = format(owed, "f")
    except InsufficientCash:
        row.grace_period, row.grace_started_at = period_of(now.date()), now
        row.grace_reminded_on, row.updated_at = now.date(), now
        report.grace_started.append(wallet.id)
        tell_owners(session, notifier, wallet.id, _grace_text(wallet, owed, now + GRACE))


def _grace_text(wallet: AIWallet, owed: Decimal, ends: datetime) -> str:
    plan = plan_of(wallet.tier)
    return (f"Your {plan.name} plan's monthly charge of {fmt_cash(owed)} could not be paid: the wallet "
            f"has too little free cash. Add cash with /deposit before {datetime_text(ends)} (we "
            "retry daily), or the wallet moves to the Free plan: AI switched off, your holdings kept, "
            "nothing sold. /plan shows the plans.")


def _grace_step(session: Session, now: datetime, wallet: AIWallet, row: WalletBilling,
                notifier: Notifier | None, report: BillingReport, writer: LedgerWriter) -> None:
    """Retry the unpaid month; after 7 days unpaid move to Free; otherwise remind once a day."""
    tier = Tier(wallet.tier)
    assert row.grace_started_at is not None
    ends = ensure_utc(row.grace_started_at) + GRACE
    period = period_of(now.date())
    row.grace_period = period  # a grace period that crosses a month end owes the new month instead
    paid = cover(session, wallet.id, period)
    owed = plan_of(tier).price - plan_of(paid).price
    if rank(paid) >= rank(tier) or wallet.cash - wallet.cash_reserved >= owed:
        if rank(paid) < rank(tier):
            _post_charge(session, now, wallet, tier, "monthly", owed, month_days(now.date()),
                         month_days(now.date()), writer=writer)
            report.charged[wallet.id] = format(owed, "f")
        _end_grace(row, now)
        tell_owners(session, notifier, wallet.id, f"Thank you: the {plan_of(tier).name} plan's charge "
                    f"of {fmt_cash(owed)} is paid. Nothing else changes.")
        return
    if now >= ends:
        _end_grace(row, now)
        closed = set_tier_in(session, now, wallet, Tier.FREE, actor="system:billing",
                             why="grace period ended unpaid", writer=writer)
        report.downgraded.append(wallet.id)
        tell_owners(session, notifier, wallet.id, "The plan charge stayed unpaid for 7 days, so the "
                    "wallet is now on the Free plan: manual mode only, up to 3 tokens. Your holdings are "
                    "kept and nothing was sold." + cancelled_text(closed, plan_of(Tier.FREE))
                    + " /plan to upgrade again.")
        return
    if row.grace_reminded_on != now.date():
        row.grace_reminded_on, row.updated_at = now.date(), now
        report.reminded.append(wallet.id)
        tell_owners(session, notifier, wallet.id, "Reminder: " + _grace_text(wallet, owed, ends))


def _end_grace(row: WalletBilling, now: datetime) -> None:
    row.grace_period = row.grace_started_at = row.grace_reminded_on = None
    row.updated_at = now
