"""AI-wallet commands: /mode, /suggest, /rebalance, /proposals, /approve, /reject, /digest.

Only a wallet's owners may switch its mode, ask for a decision, rebalance it or decide its proposals.
What a decision does depends on the mode: hybrid makes a proposal (one id, Approve / Reject buttons,
pushed to every owner), full AI executes, manual executes after a Confirm button. A press is keyed
by the press itself: redelivered, it has one effect; pressed again later, it answers "already done".
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import formatting, wallets
from core.billing.plans import check_ai
from core.commands.confirmations import ask_in, executes
from core.commands.context import Ctx
from core.commands.handlers import platform_services
from core.commands.handlers.common import org_wallet, owned_wallet, remember_chat
from core.commands.parsing import expect_args, hour_arg, id_arg
from core.commands.quotes import HALTED
from core.commands.registry import handles
from core.commands.types import Command, Reply
from core.digest.content import digest_for_wallet
from core.errors import TradingHalted, ValidationError
from core.models.chat import ChatPreference, PendingConfirmation
from core.models.wallets import WalletMode
from core.risk.circuit import is_halted

MODE_USAGE = "/mode full-ai|hybrid|manual"
MODE_NEXT = {
    WalletMode.HYBRID: "The wallet now proposes and an owner approves: /suggest makes a proposal "
                       "now, or wait for the weekly one.",
    WalletMode.FULL_AI: "The wallet now trades by itself at each weekly or drift rebalance; "
                        "/suggest shows what it would do.",
    WalletMode.MANUAL: "The wallet no longer trades by itself: /buy and /sell, or /rebalance after "
                       "a /suggest.",
}


@handles("mode", own_transaction=True)
def mode(ctx: Ctx, cmd: Command) -> Reply:
    """Switch the wallet between full-ai (``full_ai`` accepted too), hybrid and manual."""
    (mode_text,) = expect_args(cmd.args, 1, MODE_USAGE)
    try:  # people write full-ai (as every reply shows it); full_ai is the stored value
        wanted = WalletMode(mode_text.strip().lower().replace("-", "_"))
    except ValueError:
        raise ValidationError(f"Usage: {MODE_USAGE}") from None
    wallet = owned_wallet(ctx)
    platform_services.set_mode(ctx, wallet, wanted.value, cmd.idempotency_key)
    return Reply(f"Mode is now {formatting.mode_name(wanted)}. {MODE_NEXT[wanted]}")


@handles("suggest", own_transaction=True, slow=True)
def suggest(ctx: Ctx, cmd: Command) -> Reply:
    """Hybrid: a proposal with Approve / Reject. Otherwise the optimizer's suggestion (not traded)."""
    expect_args(cmd.args, 0, "/suggest")
    return platform_services.suggest(ctx, owned_wallet(ctx))


@handles("rebalance", own_transaction=True, slow=True)
def rebalance(ctx: Ctx, cmd: Command) -> Reply:
    """Hybrid: a proposal to approve. Full AI: rebalance now. Manual: rebalance after Confirm."""
    expect_args(cmd.args, 0, "/rebalance")
    wallet = owned_wallet(ctx)
    if is_halted(ctx.session):  # checked before any button or proposal is shown
        raise TradingHalted(HALTED)
    check_ai(wallet, "/rebalance (the optimizer trading for you)")
    if wallet.mode is WalletMode.HYBRID:
        return platform_services.suggest(ctx, wallet, trigger="rebalance")
    if wallet.mode is WalletMode.FULL_AI:
        return Reply(platform_services.rebalance_now(ctx, wallet, cmd.idempotency_key))
    with ctx.db.uow() as uow:
        reply = ask_in(uow.session, ctx, cmd, f"Rebalance {wallet.name} to the optimizer's target now? "
                                              "(/suggest shows the trades first.)")
        uow.commit()
    return reply


@executes("rebalance")
def run_rebalance(ctx: Ctx, session: Session, row: PendingConfirmation, key: str) -> str:
    """Execute a confirmed rebalance."""
    return platform_services.rebalance_in(ctx, session, owned_wallet(ctx).id)


@handles("proposals", read_only=True)
def proposals(ctx: Ctx, cmd: Command) -> Reply:
    """The wallet's proposals awaiting a decision, each with its buttons (the last one shown with
    its buttons here; the adapters render every card)."""
    expect_args(cmd.args, 0, "/proposals")
    wallet = org_wallet(ctx)
    cards = wallets.pending_cards(ctx.session, wallet.id)
    if not cards:
        hint = "/suggest makes one now." if wallet.mode is WalletMode.HYBRID else (
            f"{wallet.name} is in {formatting.mode_name(wallet.mode)} mode; proposals come in "
            "hybrid mode (/mode hybrid).")
        return Reply(f"No proposals are waiting for a decision. {hint}")
    if len(cards) == 1:
        return cards[0]
    return Reply("\n\n".join(c.text for c in cards),
                 buttons=[row for c in cards for row in c.buttons])


def _decide(ctx: Ctx, cmd: Command, approve: bool) -> Reply:
    usage = "/approve ID" if approve else "/reject ID"
    (id_text,) = expect_args(cmd.args, 1, usage)
    proposal_id = id_arg(id_text, "proposal id")
    return Reply(platform_services.decide_proposal(ctx, proposal_id, approve, cmd.idempotency_key))


@handles("approve", own_transaction=True, slow=True)
def approve(ctx: Ctx, cmd: Command) -> Reply:
    """Approve a hybrid proposal (owners only; pressing twice has one effect)."""
    return _decide(ctx, cmd, True)


@handles("reject", own_transaction=True)
def reject(ctx: Ctx, cmd: Command) -> Reply:
    """Reject a hybrid proposal (owners only; idempotent)."""
    return _decide(ctx, cmd, False)


@handles("proposal", own_transaction=True, slow=True)
def proposal(ctx: Ctx, cmd: Command) -> Reply:
    """Button target of hybrid proposal messages: ``proposal approve|reject ID``."""
    if len(cmd.args) != 2 or cmd.args[0] not in ("approve", "reject"):
        raise ValidationError("Usage: /approve ID or /reject ID")
    return _decide(
        ctx, Command(cmd.identity, cmd.args[0], cmd.args[1:], cmd.idempotency_key), cmd.args[0] == "approve"
    )


@handles("digest")
def digest(ctx: Ctx, cmd: Command) -> Reply:
    """Today's digest for the wallet, or /digest HOUR to choose when it is sent (UTC)."""
    if cmd.args:
        (hour_text,) = expect_args(cmd.args, 1, "/digest [HOUR]")
        hour = hour_arg(hour_text)
        remember_chat(ctx)
        ident = ctx.identity
        pref = ctx.session.scalar(
            select(ChatPreference).where(
                ChatPreference.platform == ident.platform, ChatPreference.platform_user_id == ident.user_id
            )
        )
        if pref is None:
            return Reply("Send /digest HOUR in a private chat with the bot to choose the hour.")
        pref.digest_hour = hour
        pref.digest_enabled = True
        return Reply(f"Your daily digest will arrive at {hour:02d}:00 UTC.")
    wallet = org_wallet(ctx)
    return digest_for_wallet(
        ctx.session, wallet, ctx.now(), pending=platform_services.pending_proposals(ctx, wallet)
    )
