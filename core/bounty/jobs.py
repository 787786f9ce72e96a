"""The bounty's scheduled work, each token / organisation in its own transaction: accruals after
the day's NAV marks, payouts on the 1st (the month before). Owners are told of a payout in chat."""

from __future__ import annotations

import logging
from typing import Any

from core.bounty.service import (
    accrue_symbol_in,
    bounty_tokens,
    organisations_owed,
    pay_org_in,
    register_states_in,
)
from core.db import Database, is_transient_db_error
from core.formatting import cash
from core.money import canonical_text
from core.notify import Notifier

log = logging.getLogger(__name__)


def accrue_all(db: Database) -> dict[str, Any]:
    """Start new bounties, then measure each bounty token's new NAV marks."""
    with db.uow() as uow:
        started = register_states_in(uow.session, uow.clock.now())
        uow.commit()
    with db.uow(read_only=True) as uow:
        symbols = bounty_tokens(uow.session)
    funded: dict[str, str] = {}
    failed: dict[str, str] = {}
    for symbol in symbols:
        try:
            with db.uow() as uow:
                funded[symbol] = canonical_text(accrue_symbol_in(uow.session, uow.clock.now(), symbol))
                uow.commit()
        except Exception as exc:
            if is_transient_db_error(exc):
                raise
            failed[f"bounty:{symbol}"] = f"{type(exc).__name__}: {exc}"[:300]
            log.exception("bounty accrual of %s failed", symbol)
    return {"started": started, "funded": funded, "failed_items": failed, "ok_items": len(funded)}


def pay_all(db: Database, period: str, notifier: Notifier | None = None) -> dict[str, Any]:
    """Pay each organisation's accrued bounty for ``period`` into its wallet (once per month)."""
    from core.wallets.notices import tell_owners

    with db.uow(read_only=True) as uow:
        orgs = organisations_owed(uow.session)
    paid: dict[str, str] = {}
    failed: dict[str, str] = {}
    for org in orgs:
        try:
            with db.uow() as uow:
                payout = pay_org_in(uow.session, uow.clock.now(), org, period)
                if payout is not None and not payout.already and payout.wallet_id is not None:
                    tell_owners(
                        uow.session,
                        notifier,
                        payout.wallet_id,
                        (
                            f"Import bounty for {period}: {cash(payout.amount)} paid into your wallet, your "
                            "share of the gains of the strategies you submitted. /bounties shows the details."
                        ),
                    )
                uow.commit()
            if payout is not None:
                paid[f"org:{org}"] = canonical_text(payout.amount)
        except Exception as exc:
            if is_transient_db_error(exc):
                raise
            failed[f"org:{org}"] = f"{type(exc).__name__}: {exc}"[:300]
            log.exception("bounty payout to organisation %s failed", org)
    return {"period": period, "paid": paid, "failed_items": failed, "ok_items": len(paid)}
