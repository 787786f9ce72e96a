"""A small platform for fault-injection runs, and a canonical view of its end state.

:func:`build_world` makes six active tokens with 45 days of NAV history, four full-AI and two
hybrid wallets owned by Telegram users whose digests are due at :data:`DIGEST_HOUR`, so one
rebalance cycle trades and proposes and one digest run pushes messages. :func:`end_state` is what
two runs must agree on: every account balance, every ledger transaction (kind, key, postings by
account code — database ids and sequence gaps excluded), holdings, token supply, job runs and the
outbox's messages, in order.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from core.clock import SimulatedClock
from core.db import Database
from core.models import LedgerAccount, LedgerTransaction, StrategyToken, TokenHolding
from core.models.chat import ChatPreference, JobRun, OutboxMessage
from tests.support.ledger_world import make_user
from tests.wallet_fixtures import ai_wallet, platform

DIGEST_HOUR = 8
OWNERS = (1001, 1002, 1003)


def build_world(db: Database, clock: SimulatedClock) -> datetime:
    """Populate ``db``; returns a business time at which the rebalance and digest slots are due."""
    world = platform(db, clock, tokens=6, days=45)
    org, owner = int(world["org"]), int(world["owner"])  # type: ignore[call-overload]
    owners = [owner] + [make_user(db, uid, org) for uid in OWNERS[1:]]
    for n in range(4):
        ai_wallet(db, org, owners[n % len(owners)], "full_ai", cash=str(50_000 + 10_000 * n))
    for n in range(2):
        ai_wallet(db, org, owners[n], "hybrid", cash=str(40_000 + 5_000 * n))
    with db.uow() as uow:
        for uid in OWNERS:
            uow.session.add(
                ChatPreference(
                    platform="telegram",
                    platform_user_id=uid,
                    chat_id=uid,
                    digest_hour=DIGEST_HOUR,
                    digest_enabled=True,
                    updated_at=uow.clock.now(),
                )
            )
        uow.commit()
    day = clock.now().date() + timedelta(days=1)
    # 08:10 UTC: the 07:45 rebalance slot (30 min grace) and the 08:00 digests are due.
    return datetime(day.year, day.month, day.day, DIGEST_HOUR, 10, tzinfo=clock.now().tzinfo)


def end_state(db: Database) -> dict[str, Any]:
    with db.uow(read_only=True) as uow:
        s = uow.session
        codes = {row[0]: row[1] for row in s.execute(select(LedgerAccount.id, LedgerAccount.code))}
        accounts = sorted((a.code, a.asset, _d(a.balance)) for a in s.scalars(select(LedgerAccount)))
        transactions = sorted(
            (
                t.kind,
                t.idempotency_key or "",
                t.created_at.isoformat(),
                tuple(sorted((codes[p.account_id], p.asset, _d(p.amount)) for p in t.postings)),
            )
            for t in s.scalars(select(LedgerTransaction))
        )
        holdings = sorted(
            (h.wallet_id, h.token_id, _d(h.quantity), _d(h.avg_cost_basis))
            for h in s.scalars(select(TokenHolding))
        )
        tokens = sorted((t.symbol, t.status.value) for t in s.scalars(select(StrategyToken)))
        runs = sorted((r.job_id, r.scheduled_for.isoformat(), r.status) for r in s.scalars(select(JobRun)))
        outbox = [
            (
                m.platform,
                m.chat_id,
                m.dedupe_key if m.dedupe_key.startswith("digest:") else "",
                m.payload["text"],
            )
            for m in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]
    return {
        "accounts": accounts,
        "transactions": transactions,
        "holdings": holdings,
        "tokens": tokens,
        "job_runs": runs,
        "outbox": outbox,
    }


def _d(value: Decimal) -> str:
    return format(value.normalize(), "f")
