"""Invariants of distributions, run by ``arena ledger check`` (:func:`core.ledger.check_invariants`):
each distribution's payments add up to its amount, its ledger transaction takes exactly that amount
from the token's pool and gives each wallet exactly its payment, and the dust is never negative."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import AccountKind, LedgerAccount, Posting
from core.models.money import Distribution, DistributionPayment

ZERO = Decimal(0)


def distribution_violations(session: Session) -> list[str]:
    out: list[str] = []
    paid: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for p in session.scalars(select(DistributionPayment)):
        paid[p.distribution_id][p.wallet_id] = p.amount
    for d in session.scalars(select(Distribution).order_by(Distribution.id)):
        payments = paid.get(d.id, {})
        if sum(payments.values(), ZERO) != d.amount:
            out.append(f"distribution {d.id}: payments {sum(payments.values(), ZERO)} != amount {d.amount}")
        if d.dust < 0:
            out.append(f"distribution {d.id}: paid more than per unit x circulating (dust {d.dust})")
        if d.transaction_id is None:
            if d.amount != 0:
                out.append(f"distribution {d.id}: amount {d.amount} without a ledger transaction")
            continue
        legs = session.execute(
            select(LedgerAccount.kind, LedgerAccount.wallet_id, Posting.amount)
            .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
            .where(Posting.transaction_id == d.transaction_id)
        ).all()
        pool = sum((a for k, _, a in legs if AccountKind(k) is AccountKind.TOKEN_POOL), ZERO)
        wallets = {w: a for k, w, a in legs if AccountKind(k) is AccountKind.WALLET_CASH}
        if pool != -d.amount:
            out.append(f"distribution {d.id}: pool paid {-pool}, recorded {d.amount}")
        if wallets != payments:
            out.append(f"distribution {d.id}: wallet legs {wallets} != payments {payments}")
    return out
