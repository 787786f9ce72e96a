"""The one place where chat commands reach other teams' services (wallets, tokens, risk).

Each function takes the command context and returns reply text; the services do the work and the
checks (ownership, tiers, halts, expiry, idempotency). Messages services want to push to other
chats are collected in ``ctx.outbox`` and queued by the dispatcher after the command commits.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import exchange, formatting, risk, tokens, wallets
from core.commands.context import Ctx
from core.commands.types import OutboundMessage, Reply
from core.errors import ArenaError, PermissionDenied
from core.ledger.idempotency import run_idempotent
from core.models.wallets import AIWallet, AllocationSnapshot, WalletMode
from core.models.wallets_ext import RebalanceProposal
from core.optimizer import Tier as OptTier
from core.wallets.proposal_text import suggestion_text, trade_lines
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
        f"{wind.symbol} retired: {formatting.counted(wind.holders_redeemed, 'holder')} redeemed at NAV "
        f"for {formatting.cash(wind.cash_returned)} in total; "
        f"{formatting.counted(wind.notified, 'owner message')} queued."
    )


def halt_trading(ctx: Ctx, reason: str) -> str:
    """Trip the circuit breaker by hand."""
    if not risk.halt_trading(ctx.session, ctx.now(), admin=f"user:{_user_id(ctx)}", reason=reason):
        return f"Trading is already halted: {risk.risk_state(ctx.session).halt_reason}."
    # Open exchange orders are cancelled and their reservations released (owners told).
    swept = exchange.sweep_in(ctx.session, ctx.now(), notifier=_OutboxNotifier(ctx.outbox))
    orders = (f" {formatting.counted(swept.cancelled, 'open exchange order')} cancelled."
              if swept.cancelled else "")
    return f"Trading and rebalancing are halted until /resume.{orders}"


def resume_trading(ctx: Ctx) -> str:
    resumed = risk.resume_trading(ctx.session, ctx.now(), admin=f"user:{_user_id(ctx)}")
    return "Trading resumed." if resumed else "Trading was not halted."


def set_mode(ctx: Ctx, wallet: AIWallet, mode: str, key: str) -> str:
    result = wallets.set_mode(ctx.db.uow(), wallet.id, mode, user_id=_user_id(ctx), idempotency_key=key)
    return str(result.get("message", f"Mode is now {mode}."))


def suggest(ctx: Ctx, wallet: AIWallet, *, trigger: str = "suggest") -> Reply:
    """Hybrid wallets get a proposal (card with buttons, pushed to the other owners too); the
    others a suggestion that is never executed."""
    user_id = _user_id(ctx)
    if wallet.mode is WalletMode.HYBRID:
        return wallets.propose_now(ctx.db.uow(), wallet.id, user_id=user_id, trigger=trigger,
                                   notifier=_OutboxNotifier(ctx.outbox))
    s = wallets.suggest_for_wallet(ctx.db.uow(), wallet.id, user_id=user_id)
    with ctx.db.uow(read_only=True) as uow:
        snapshot = uow.session.get(AllocationSnapshot, s.snapshot_id)
        assert snapshot is not None
        return Reply(suggestion_text(wallet.name, wallet.mode.value, snapshot, s.trades))


def rebalance_in(ctx: Ctx, session: Session, wallet_id: int) -> str:
    """Rebalance one wallet to a fresh decision now, in the caller's transaction; says what ran."""
    user_id = _user_id(ctx)
    config = wallets.DEFAULT_WALLET_CONFIG
    now = ctx.now()
    # Not locked here: execute_in takes the tokens and then the wallet, in the one lock order.
    wallet = session.get(AIWallet, wallet_id)
    assert wallet is not None
    wallets.proposals.require_owner(session, wallet.id, user_id)
    decision = wallets.DecisionCache(config.optimizer).decision(
        session, now, OptTier(wallet.tier.value), profile_of(wallet.risk_profile)
    )
    snapshot = wallets.store_snapshot(session, now, wallet, decision, trigger="manual", drift_before=None)
    execution = wallets.execute_in(session, now, wallet.id, snapshot, config=config, trigger="manual")
    wallet.last_rebalanced_at = now
    return rebalanced_text(list(execution.trades), execution.trading_costs)


def rebalanced_text(trades: list[dict[str, Any]], costs: Decimal) -> str:
    done = [t for t in trades if "side" in t]
    if not done:
        return "\n".join(["Rebalanced: no trade was needed; the wallet is already close enough to "
                          "its target.", *trade_lines(trades)])
    lines = [f"Rebalanced: {formatting.counted(len(done), 'trade')} executed."]
    for trade in done:
        verb = "redeemed" if trade["side"] == "redeem" else "bought"
        units = formatting.quantity(Decimal(str(trade["quantity"])))
        lines.append(f"- {verb} {units} {trade['symbol']} for {formatting.cash(Decimal(str(trade['cash'])))}")
    lines += [f"- note: {t['note']}" for t in trades if "note" in t]
    lines.append(f"Trading costs: {formatting.cash(costs)}. See /wallet.")
    return "\n".join(lines)


def rebalance_now(ctx: Ctx, wallet: AIWallet, key: str) -> str:
    """Full-AI wallets rebalance at once (once per request key)."""

    def effect(session: Session) -> dict[str, Any]:
        return {"text": rebalance_in(ctx, session, wallet.id)}

    result = run_idempotent(ctx.db.uow(), key, "chat.rebalance", {"wallet": wallet.id}, effect, dict)
    return str(result["text"])


def decide_proposal(ctx: Ctx, proposal_id: int, approve: bool, key: str) -> str:
    """Approve or reject; keyed by the press, so a redelivered press has one effect and a later
    press of a decided proposal says it was already done."""
    user_id = _user_id_or_missing(ctx, proposal_id)
    decide = wallets.approve_proposal if approve else wallets.reject_proposal
    return decide(ctx.db.uow(), proposal_id, user_id=user_id, idempotency_key=key).message


def _user_id_or_missing(ctx: Ctx, proposal_id: int) -> int:
    if ctx.user is None:
        raise wallets.proposals.not_found(proposal_id)
    return ctx.user.id


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
        f"Proposal #{p.id}, expires {formatting.datetime_text(p.expires_at)}: /proposals shows it "
        "with its buttons"
        for p in rows
    ]
