"""The one place where chat commands reach other teams' services (wallets, tokens, risk).

Each function takes the command context and returns reply text; the services do the work and the
checks (ownership, tiers, halts, expiry, idempotency). Messages services want to push to other
chats are collected in ``ctx.outbox`` and queued by the dispatcher after the command commits.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import exchange, risk, tokens, wallets
from core.commands.context import Ctx
from core.commands.types import OutboundMessage
from core.errors import ArenaError, PermissionDenied
from core.ledger.locks import lock_wallet
from core.models.wallets import AIWallet
from core.models.wallets_ext import RebalanceProposal
from core.optimizer import Tier as OptTier
from core.wallets.universe import profile_of


class ServiceNotAvailable(ArenaError):
    code = "not_available"


class _OutboxNotifier:
    """A Notifier that appends to the command's outbox (sent after commit)."""

    def __init__(self, outbox: list[OutboundMessage]) -> None:
        self.outbox = outbox

    def notify(self, message: OutboundMessage) -> None:
        self.outbox.append(message)


def _user_id(ctx: Ctx) -> int:
    if ctx.user is None:
        raise PermissionDenied("Only the wallet's owners can do that.")
    return ctx.user.id


def retire_token(ctx: Ctx, symbol: str) -> str:
    """Retire ``symbol`` and redeem every holder at NAV (token lifecycle)."""
    actor = f"user:{_user_id(ctx)}"
    wind = tokens.retire_in(
        ctx.session,
        ctx.now(),
        symbol,
        f"retired by a platform admin ({actor})",
        notifier=_OutboxNotifier(ctx.outbox),
        actor=actor,
    )
    return (
        f"{wind.symbol} retired: {wind.holders_redeemed} holder(s) redeemed at NAV for "
        f"${wind.cash_returned:,.2f} in total; {wind.notified} owner message(s) queued."
    )


def halt_trading(ctx: Ctx, reason: str) -> str:
    """Trip the circuit breaker by hand."""
    if not risk.halt_trading(ctx.session, ctx.now(), admin=f"user:{_user_id(ctx)}", reason=reason):
        return f"Trading is already halted: {risk.risk_state(ctx.session).halt_reason}."
    # Open exchange orders are cancelled and their reservations released (owners told).
    swept = exchange.sweep_in(ctx.session, ctx.now(), notifier=_OutboxNotifier(ctx.outbox))
    orders = f" {swept.cancelled} open exchange order(s) cancelled." if swept.cancelled else ""
    return f"Trading and rebalancing are halted until /resume.{orders}"


def resume_trading(ctx: Ctx) -> str:
    resumed = risk.resume_trading(ctx.session, ctx.now(), admin=f"user:{_user_id(ctx)}")
    return "Trading resumed." if resumed else "Trading was not halted."


def set_mode(ctx: Ctx, wallet: AIWallet, mode: str, key: str) -> str:
    result = wallets.set_mode(ctx.db.uow(), wallet.id, mode, user_id=_user_id(ctx), idempotency_key=key)
    return str(result.get("message", f"Mode is now {mode}."))


def suggest(ctx: Ctx, wallet: AIWallet) -> str:
    s = wallets.suggest_for_wallet(ctx.db.uow(), wallet.id, user_id=_user_id(ctx))
    lines = [f"Suggestion #{s.snapshot_id}: {s.summary}"]
    for trade in s.trades:
        if "note" in trade:
            lines.append(f"- {trade['note']}")
        else:
            lines.append(f"- {trade.get('side')} {trade.get('symbol')}: {trade.get('cash')} USD")
    lines.extend(f"{k}: {v}" for k, v in list(s.reasons.items())[:5])
    lines.append("Nothing was traded. /rebalance to execute, or /buy and /sell yourself.")
    return "\n".join(lines)


def rebalance_in(ctx: Ctx, session: Session, wallet_id: int) -> str:
    """Rebalance one wallet to a fresh decision now, in the caller's (confirming) transaction."""
    user_id = _user_id(ctx)
    config = wallets.DEFAULT_WALLET_CONFIG
    now = ctx.now()
    wallet = lock_wallet(session, wallet_id)
    wallets.proposals.require_owner(session, wallet.id, user_id)
    decision = wallets.DecisionCache(config.optimizer).decision(
        session, now, OptTier(wallet.tier.value), profile_of(wallet.risk_profile)
    )
    snapshot = wallets.store_snapshot(session, now, wallet, decision, trigger="manual", drift_before=None)
    execution = wallets.execute_in(session, now, wallet.id, snapshot, config=config, trigger="manual")
    wallet.last_rebalanced_at = now
    trades = [t for t in execution.trades if "side" in t]
    return f"Rebalanced: {len(trades)} trade(s). {decision.summary}"


def decide_proposal(ctx: Ctx, proposal_id: int, approve: bool, key: str) -> str:
    user_id = _user_id(ctx)
    # The decision is keyed by the proposal and the user, not the press: a second press, or the
    # same press delivered twice, returns the first outcome.
    stable_key = f"proposal:{proposal_id}:{'approve' if approve else 'reject'}:{user_id}"
    if approve:
        outcome = wallets.approve_proposal(
            ctx.db.uow(), proposal_id, user_id=user_id, idempotency_key=stable_key
        )
    else:
        outcome = wallets.reject_proposal(
            ctx.db.uow(), proposal_id, user_id=user_id, idempotency_key=stable_key
        )
    return outcome.message


def pending_proposals(ctx: Ctx, wallet: AIWallet) -> list[str]:
    """One line per proposal awaiting approval."""
    return pending_proposal_lines(ctx.session, wallet.id)


def pending_proposal_lines(session: Session, wallet_id: int) -> list[str]:
    rows = session.scalars(
        select(RebalanceProposal)
        .where(RebalanceProposal.wallet_id == wallet_id, RebalanceProposal.status == "pending")
        .order_by(RebalanceProposal.id)
    )
    return [
        f"#{p.id} ({p.trigger}), expires {p.expires_at:%Y-%m-%d %H:%M} UTC: /approve {p.id}" for p in rows
    ]
