"""Platform-admin commands: /verify, /retire, /halt, /resume, /stats (the verification queue,
/pending and /deny, is in :mod:`core.commands.handlers.gateway`)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from core import formatting, ledger
from core.commands.context import Ctx
from core.commands.handlers.common import ensure_user
from core.commands.parsing import expect_args, id_arg, symbol_arg
from core.commands.registry import handles
from core.commands.types import ChatType, Command, OutboundMessage, Reply
from core.compliance import agreement, applications, organisations
from core.compliance.identity import refresh_role
from core.models.chat import ChatPreference, OutboxMessage
from core.models.compliance import Organisation, OrgStatus, User
from core.models.tokens import StrategyToken, TokenStatus
from core.models.wallets import AIWallet, Tier, WalletMode

#: New organisation wallets start manual on the Free plan (manual only, 3 tokens); /plan upgrades.
NEW_WALLET_TIER = Tier.FREE


def _tell_members(ctx: Ctx, org: Organisation, text: str) -> int:
    """Queue ``text`` to every member whose private chat we know; returns how many."""
    told = 0
    for member in org.members:
        pref = ctx.session.scalar(
            select(ChatPreference).where(
                ChatPreference.platform == member.platform.value,
                ChatPreference.platform_user_id == member.platform_user_id,
            )
        )
        if pref is not None:
            ctx.outbox.append(OutboundMessage(pref.platform, pref.chat_id, Reply(text), ChatType.PRIVATE))
            told += 1
    return told


@handles("verify")
def verify(ctx: Ctx, cmd: Command) -> Reply:
    """Verify a pending organisation and open its wallet (idempotent)."""
    (org_text,) = expect_args(cmd.args, 1, "/verify ORG_ID")
    admin = ensure_user(ctx)
    org, _, changed = applications.decide(ctx.session, ctx.now(), admin, id_arg(org_text, "organisation id"),
                                          True, None)
    wallet = ctx.session.scalar(select(AIWallet).where(AIWallet.organisation_id == org.id))
    if wallet is None:
        owners = [m.id for m in org.members if m.is_org_admin]
        wallet = ledger.create_wallet_in(
            ctx.session,
            ctx.now(),
            organisation_id=org.id,
            name=f"{org.name} treasury"[:200],
            mode=WalletMode.MANUAL,
            tier=NEW_WALLET_TIER,
            owner_user_ids=owners,
        )
    for member in org.members:
        refresh_role(ctx.session, member, ctx.settings)
    told = 0
    if changed:
        told = _tell_members(ctx, org, verified_notice(org.name, wallet.id))
    state = "verified" if changed else "was already verified"
    agreed = agreement.CURRENT_VERSION in agreement.accepted_versions(ctx.session, org.id)
    note = "" if agreed else f" It has not accepted the PMA agreement {agreement.CURRENT_VERSION} yet."
    return Reply(
        f"Organisation #{org.id} {org.name} {state}; wallet #{wallet.id}. "
        f"{formatting.counted(told, 'member chat')} told.{note}"
    )


def verified_notice(org_name: str, wallet_id: int) -> str:
    """What an organisation's members read when a platform admin verifies it."""
    return (
        f"Good news: {org_name} is verified and can trade. Your wallet #{wallet_id} is open, in "
        "manual mode on the Free plan (up to 3 tokens). Next: an organisation admin adds paper cash "
        "with /deposit AMOUNT; then /tokens and /buy SYMBOL AMOUNT. For the AI modes (hybrid: the AI "
        "proposes, you approve) choose a plan with /plan."
    )


@handles("retire")
def retire(ctx: Ctx, cmd: Command) -> Reply:
    """Retire a token and wind it down (token lifecycle service)."""
    (symbol_text,) = expect_args(cmd.args, 1, "/retire SYMBOL")
    symbol = symbol_arg(symbol_text)
    from core.commands.handlers import platform_services

    return Reply(platform_services.retire_token(ctx, symbol))


@handles("halt")
def halt(ctx: Ctx, cmd: Command) -> Reply:
    """Halt trading and rebalancing platform-wide (circuit breaker)."""
    from core.commands.handlers import platform_services

    return Reply(platform_services.halt_trading(ctx, " ".join(cmd.args) or "manual halt"))


@handles("resume")
def resume(ctx: Ctx, cmd: Command) -> Reply:
    """Resume trading after a halt."""
    from core.commands.handlers import platform_services

    return Reply(platform_services.resume_trading(ctx))


@handles("stats")
def stats(ctx: Ctx, cmd: Command) -> Reply:
    """Platform counts and totals."""
    s = ctx.session

    def count(model: type, *where: object) -> int:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]

    live = StrategyToken.status != TokenStatus.RETIRED
    aum = sum(s.scalars(select(StrategyToken.aum).where(live)), start=Decimal(0))
    lines = [
        f"Users: {count(User)}",
        f"Organisations: {count(Organisation, Organisation.status == OrgStatus.VERIFIED)} verified, "
        f"{organisations.pending_count(s)} pending",
        f"Wallets: {count(AIWallet, AIWallet.is_house.is_(False))}",
        f"Tokens: {count(StrategyToken, StrategyToken.status == TokenStatus.ACTIVE)} active, "
        f"{count(StrategyToken, StrategyToken.status == TokenStatus.PROVING)} proving",
        f"Token AUM: {formatting.cash(aum)}",
        f"Outbound queue: {count(OutboxMessage, OutboxMessage.status == 'pending')} pending",
    ]
    return Reply("\n".join(lines))
