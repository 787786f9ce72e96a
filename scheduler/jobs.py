"""The scheduler's jobs: fixed ids, schedules (UTC) and idempotent bodies.

Every body receives its *slot* (the scheduled time it stands for) and is wrapped by
:func:`scheduler.runs.run_once`, so a job fired twice for one slot (a restart, a second process, a
replay) has one effect. Services that other areas own are reached through :class:`JobHooks` where
``core`` has no service yet; an unset hook runs :func:`not_wired`, which records that in the job
run's detail instead of pretending to work.

Misfire policy (seconds): daily jobs may start up to 6 h late and coalesce missed days into one run
(each body catches up by itself: NAV marks and fees are keyed by day); frequent jobs may be 5 min
late; ``max_instances=1`` everywhere so a slow run never overlaps itself.

Messages a job pushes are written into the job's own transaction (:func:`core.notify.notify_in`):
a run interrupted before it commits leaves no message behind, and its re-run sends each one once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import delete, func, select

from core import exchange, ledger, risk, tokens, wallets
from core.audit.liabilities import publish as publish_liabilities
from core.commands.handlers.platform_services import pending_proposal_lines
from core.commands.types import ChatType, OutboundMessage, Reply
from core.compliance.identity import admin_ids
from core.config import get_settings
from core.db import Database, is_transient_db_error, retry_transient
from core.digest.content import digest_for_wallet
from core.models.chat import ChatPreference, OutboxMessage
from core.models.compliance import Platform, User
from core.models.tokens import StrategyToken, TokenStatus
from core.models.wallets import AIWallet, WalletOwner
from core.notify import Notifier, notify_in
from scheduler.runs import (
    FAILED_ITEMS,
    OK_ITEMS,
    daily_slot,
    error_text,
    every_slot,
    hourly_slot,
    monthly_slot,
)

log = logging.getLogger(__name__)


@dataclass(slots=True)
class JobHooks:
    """Work owned by the pipeline/backtest areas, wired by the composition root when available."""

    #: (db, day) -> detail: mark every live token's NAV for ``day`` from its agent's daily return.
    mark_navs: Callable[[Database, date], dict[str, Any]] | None = None
    #: (db, now) -> detail: advance paper trading of proving strategies by one day.
    paper_step: Callable[[Database, datetime], dict[str, Any]] | None = None
    #: (db, now) -> detail: crawl sources, parse, backtest and record new candidates.
    import_run: Callable[[Database, datetime], dict[str, Any]] | None = None


@dataclass(slots=True)
class JobContext:
    db: Database
    notifier: Notifier
    hooks: JobHooks = field(default_factory=JobHooks)
    outbox_retention_days: int = 14
    #: who hears about failed or partial job runs; ``None``: ``ARENA_PLATFORM_ADMINS``
    admins: frozenset[tuple[str, int]] | None = None

    def alert(self, text: str) -> None:
        """Tell every platform admin (a private chat) that a job did not fully succeed."""
        admins = self.admins if self.admins is not None else admin_ids(get_settings())
        for platform, user_id in sorted(admins):
            self.notifier.notify(OutboundMessage(platform, user_id, Reply(text), ChatType.PRIVATE))


def not_wired(name: str) -> dict[str, Any]:
    """The body of a job whose service has not been wired in this deployment."""
    log.warning("scheduler job %s: no service wired in this deployment; skipped", name)
    return {"skipped": f"{name} not wired"}


# -- bodies -----------------------------------------------------------------------------------------
def nav_marks_and_fees(jc: JobContext, slot: datetime) -> dict[str, Any]:
    """Mark NAVs for the slot's day (hook), then accrue fees for every live token (keyed by day)."""
    detail: dict[str, Any] = {}
    day = slot.date()
    detail["marks"] = jc.hooks.mark_navs(jc.db, day) if jc.hooks.mark_navs else not_wired("mark_navs")
    with jc.db.uow(read_only=True) as uow:
        symbols = list(
            uow.session.scalars(
                select(StrategyToken.symbol).where(StrategyToken.status != TokenStatus.RETIRED)
            )
        )
    fees: dict[str, str] = {}
    failed: dict[str, str] = {}
    for symbol in symbols:  # one token's failure must not stop the others' fees
        key = f"fees:{symbol}:{day}"
        try:  # keyed, so a dropped connection is retried in place (bounded), then the run re-runs
            fee = retry_transient(partial(_accrue, jc.db, symbol, key), what=key)
            fees[symbol] = str(fee)
        except Exception as exc:
            if is_transient_db_error(exc):
                raise  # the database, not this token: the job run is retried by its key
            failed[f"fees:{symbol}"] = error_text(exc)
            log.exception("fee accrual for %s on %s failed", symbol, day)
    marks = detail["marks"]
    if isinstance(marks, dict) and isinstance(marks.get(FAILED_ITEMS), dict):
        failed.update({f"mark:{k}": v for k, v in marks[FAILED_ITEMS].items()})
    detail["fees"] = fees
    detail[FAILED_ITEMS] = failed
    detail[OK_ITEMS] = len(fees)
    return detail


def _accrue(db: Database, symbol: str, key: str) -> Any:
    return ledger.accrue_fees(db.uow(), symbol, idempotency_key=key)


def paper_trading_step(jc: JobContext, slot: datetime) -> dict[str, Any]:
    """Advance paper trading by one day (backtest area)."""
    return jc.hooks.paper_step(jc.db, slot) if jc.hooks.paper_step else not_wired("paper_step")


def daily_import(jc: JobContext, slot: datetime) -> dict[str, Any]:
    """The daily import pipeline run (parser area)."""
    return jc.hooks.import_run(jc.db, slot) if jc.hooks.import_run else not_wired("import_run")


def rebalance_and_drift(jc: JobContext, slot: datetime) -> dict[str, Any]:
    """Drift checks and the weekly rebalance: the wallet service decides which wallets are due."""
    report = wallets.run_rebalance_cycle(jc.db.uow(), notifier=jc.notifier)
    return {
        "checked": report.checked,
        "executed": report.executed,
        "proposed": report.proposed,
        "halted": report.halted,
        "failed": len(report.failed),
        FAILED_ITEMS: {f"wallet:{w}": error for w, error in report.failed.items()},
        OK_ITEMS: report.executed + report.proposed,
    }


def lifecycle_checks(jc: JobContext, slot: datetime) -> dict[str, Any]:
    """Promote proven tokens, fire the kill switch, trip the circuit breaker, work the redemption
    queue — each step in its own transaction, so one step's failure (recorded, logged) neither
    rolls back nor stops the others (a wind-down must not vanish because the queue failed)."""
    detail: dict[str, Any] = {}
    failed: dict[str, str] = {}

    def step(name: str, run: Callable[[Any, datetime], Any]) -> None:
        try:
            with jc.db.uow() as uow:
                detail[name] = run(uow.session, uow.clock.now())
                uow.commit()
        except Exception as exc:
            failed[name] = error_text(exc)
            log.exception("lifecycle step %s failed", name)

    step("promoted", tokens.promote_ready_tokens)
    step("retired", lambda s, now: [w.symbol for w in risk.check_kill_switch(s, now, notifier=jc.notifier)])
    step("halted", risk.check_circuit_breaker)
    step("queued_redemptions_done", lambda s, now: len(risk.process_queue_in(s, now)))
    detail[FAILED_ITEMS] = failed
    detail[OK_ITEMS] = 4 - len(failed)
    return detail


def plan_billing(jc: JobContext, slot: datetime) -> dict[str, Any]:
    """Plans: scheduled changes, the monthly charge in advance, grace periods (core.billing)."""
    from core.billing.cycle import run_billing

    report = run_billing(jc.db.uow(), notifier=jc.notifier)
    return {
        "charged": report.charged,
        "grace_started": report.grace_started,
        "reminded": report.reminded,
        "downgraded": report.downgraded,
        "changed": report.changed,
        FAILED_ITEMS: {f"wallet:{w}": error for w, error in report.failed.items()},
        OK_ITEMS: len(report.charged) + len(report.reminded) + len(report.downgraded) + len(report.changed),
    }


def proposal_expiry(jc: JobContext, slot: datetime) -> dict[str, Any]:
    """Expire hybrid proposals past their deadline."""
    with jc.db.uow() as uow:
        expired = wallets.expire_proposals_in(uow.session, uow.clock.now(), jc.notifier)
        uow.commit()
    return {"expired": expired}


def exchange_sweep(jc: JobContext, slot: datetime) -> dict[str, Any]:
    """Expire exchange orders past their deadline; cancel orders of halted or retired tokens."""
    with jc.db.uow() as uow:
        report = exchange.sweep_in(uow.session, uow.clock.now(), notifier=jc.notifier)
        uow.commit()
    return {"expired": report.expired, "cancelled": report.cancelled, "tokens": report.tokens}


def proof_of_liabilities(jc: JobContext, slot: datetime) -> dict[str, Any]:
    """Publish the day's Merkle-sum root over every organisation wallet (once per day)."""
    root = publish_liabilities(jc.db, slot.date())
    return {"root": root.root, "wallets": root.wallet_count, "chain_seq": root.chain_seq}


def digests(jc: JobContext, slot: datetime) -> dict[str, Any]:
    """Send each user whose digest hour is the slot's hour their wallet's digest (once a day)."""
    sent = 0
    day = slot.date()
    with jc.db.uow() as uow:
        s = uow.session
        rows = s.execute(
            select(ChatPreference, AIWallet)
            .join(
                User,
                (User.platform == ChatPreference.platform)
                & (User.platform_user_id == ChatPreference.platform_user_id),
            )
            .join(WalletOwner, WalletOwner.user_id == User.id)
            .join(AIWallet, AIWallet.id == WalletOwner.wallet_id)
            .where(
                ChatPreference.digest_enabled.is_(True),
                ChatPreference.digest_hour == slot.hour,
                User.platform != Platform.SYSTEM,
            )
            .order_by(ChatPreference.id, AIWallet.id)
        ).all()
        failed: dict[str, str] = {}
        # A user who owns several wallets gets one digest per wallet: the day's mark is set on the
        # preference after its first wallet, so "already sent today" is read before the loop.
        sent_before = {pref.id for pref, _wallet in rows if pref.last_digest_on == day}
        for pref, wallet in rows:
            if pref.id in sent_before:
                continue
            try:  # one wallet's broken digest must not keep the others from theirs
                reply = digest_for_wallet(s, wallet, slot, pending=pending_proposal_lines(s, wallet.id))
            except Exception as exc:
                failed[f"wallet:{wallet.id}:chat:{pref.chat_id}"] = error_text(exc)
                log.exception("digest for wallet %s failed", wallet.id)
                continue
            key = f"digest:{pref.platform}:{pref.chat_id}:{wallet.id}:{day.isoformat()}"
            message = OutboundMessage(pref.platform, pref.chat_id, reply, ChatType.PRIVATE, key)
            notify_in(s, jc.notifier, message)
            pref.last_digest_on = day
            sent += 1
        uow.commit()
    return {"sent": sent, FAILED_ITEMS: failed, OK_ITEMS: sent}


def monthly_distributions(jc: JobContext, slot: datetime) -> dict[str, Any]:
    """On the 1st: each distributing token pays the month before's realised yield to its holders
    (record date = the slot), each in its own transaction, keyed by token and month."""
    from core.distributions import distribute, distributing_symbols
    from core.money import canonical_text
    from core.statements import previous_month

    period = previous_month(slot)
    with jc.db.uow(read_only=True) as uow:
        symbols = distributing_symbols(uow.session)
    paid: dict[str, str] = {}
    failed: dict[str, str] = {}
    for symbol in symbols:  # one token's failure must not stop the others' distributions
        try:
            result = distribute(jc.db.uow(), symbol, period, notifier=jc.notifier)
            paid[symbol] = "accumulates" if result is None else canonical_text(result.amount)
        except Exception as exc:
            if is_transient_db_error(exc):
                raise
            failed[f"distribution:{symbol}"] = error_text(exc)
            log.exception("distribution of %s for %s failed", symbol, period)
    return {"period": period, "paid": paid, FAILED_ITEMS: failed, OK_ITEMS: len(paid)}


def bounty_accruals(jc: JobContext, slot: datetime) -> dict[str, Any]:
    """After the day's NAV marks: start new import bounties and measure each one's new marks."""
    from core.bounty.jobs import accrue_all

    return accrue_all(jc.db)


def bounty_payouts(jc: JobContext, slot: datetime) -> dict[str, Any]:
    """On the 1st: pay each organisation's accrued import bounty into its wallet (the month before)."""
    from core.bounty.jobs import pay_all
    from core.statements import previous_month

    return pay_all(jc.db, previous_month(slot), jc.notifier)


def outbox_retention(jc: JobContext, slot: datetime) -> dict[str, Any]:
    """Delete outbox rows sent or failed more than ``outbox_retention_days`` before the slot."""
    cutoff = slot - timedelta(days=jc.outbox_retention_days)
    finished = func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at)
    with jc.db.uow() as uow:
        result = uow.session.execute(
            delete(OutboxMessage).where(OutboxMessage.status.in_(("sent", "failed")), finished < cutoff)
        )
        uow.commit()
    return {"deleted": int(result.rowcount), "before": cutoff.isoformat()}  # type: ignore[attr-defined]


# -- schedule ---------------------------------------------------------------------------------------
HOURS = 3600


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One job: its fixed id, cron fields (UTC), slot function, body and misfire policy."""

    id: str
    cron: dict[str, Any]
    slot: Callable[[datetime], datetime]
    body: Callable[[JobContext, datetime], dict[str, Any]]
    misfire_grace_time: int
    coalesce: bool = True
    max_instances: int = 1


JOBS: tuple[JobSpec, ...] = (
    JobSpec(
        "nav_marks_and_fees",
        {"hour": 0, "minute": 5},
        lambda n: daily_slot(n, 0, 5),
        nav_marks_and_fees,
        6 * HOURS,
    ),
    JobSpec(
        "paper_trading_step",
        {"hour": 0, "minute": 15},
        lambda n: daily_slot(n, 0, 15),
        paper_trading_step,
        6 * HOURS,
    ),
    JobSpec(
        "lifecycle_checks",
        {"hour": 0, "minute": 30},
        lambda n: daily_slot(n, 0, 30),
        lifecycle_checks,
        6 * HOURS,
    ),
    JobSpec(
        "plan_billing", {"hour": 0, "minute": 20}, lambda n: daily_slot(n, 0, 20), plan_billing, 6 * HOURS
    ),
    JobSpec("daily_import", {"hour": 2, "minute": 0}, lambda n: daily_slot(n, 2, 0), daily_import, 6 * HOURS),
    JobSpec(
        "rebalance_and_drift", {"minute": 45}, lambda n: hourly_slot(n, 45), rebalance_and_drift, 30 * 60
    ),
    JobSpec("proposal_expiry", {"minute": "*/15"}, lambda n: every_slot(n, 15), proposal_expiry, 5 * 60),
    JobSpec("digests", {"minute": 0}, lambda n: hourly_slot(n, 0), digests, 30 * 60),
    JobSpec("exchange_sweep", {"minute": "*/15"}, lambda n: every_slot(n, 15), exchange_sweep, 5 * 60),
    JobSpec(
        "proof_of_liabilities",
        {"hour": 0, "minute": 50},
        lambda n: daily_slot(n, 0, 50),
        proof_of_liabilities,
        6 * HOURS,
    ),
    JobSpec(
        "monthly_distributions",
        {"day": 1, "hour": 1, "minute": 0},
        lambda n: monthly_slot(n, 1, 0),
        monthly_distributions,
        24 * HOURS,
    ),
    JobSpec(
        "bounty_accruals",
        {"hour": 0, "minute": 40},
        lambda n: daily_slot(n, 0, 40),
        bounty_accruals,
        6 * HOURS,
    ),
    JobSpec(
        "bounty_payouts",
        {"day": 1, "hour": 1, "minute": 10},
        lambda n: monthly_slot(n, 1, 10),
        bounty_payouts,
        24 * HOURS,
    ),
    JobSpec(
        "outbox_retention",
        {"hour": 3, "minute": 10},
        lambda n: daily_slot(n, 3, 10),
        outbox_retention,
        6 * HOURS,
    ),
)
JOB_IDS = tuple(job.id for job in JOBS)
