"""The REST API's operations: the chat's services, called with the same checks, returning JSON.

Each function takes a :class:`~core.commands.context.Ctx` built for the API caller (the key's user,
their effective role; the API counts as a private chat) over a *read-only* session, and opens its
own units of work for changes, like the dispatcher's ``own_transaction`` handlers. Money moves
through :func:`core.ledger.run_idempotent` with the caller's ``Idempotency-Key`` (namespaced per
user), so the same key and body return the stored response and another body is refused with
:class:`~core.errors.IdempotencyConflict`. Buys and redemptions first run the chat's quote checks
(:mod:`core.commands.quotes`) inside the trade's own transaction, so refusals read as in chat.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import ledger, risk, wallets
from core.commands.api_views import dec, proposal_view, usd
from core.commands.context import Ctx
from core.commands.handlers.admin import NEW_WALLET_TIER
from core.commands.handlers.common import org_wallet, owned_wallet
from core.commands.handlers.platform_services import _OutboxNotifier, rebalance_now
from core.commands.quotes import Quote, quote_buy, quote_redeem
from core.errors import NotFound, PermissionDenied, TradingHalted, ValidationError
from core.ledger.idempotency import run_idempotent, stored_response
from core.ledger.locks import normalise_symbol
from core.models.compliance import Organisation, OrgStatus, Role
from core.models.wallets import AIWallet, WalletMode
from core.models.wallets_ext import RebalanceProposal
from core.money import parse_cash, parse_tokens
from core.risk.circuit import is_halted


def scoped_key(ctx: Ctx, key: str) -> str:
    """The caller's Idempotency-Key in the user's own namespace (keys cannot collide or be probed
    across users)."""
    user_id = ctx.user.id if ctx.user is not None else 0
    return f"api:{user_id}:{key}"


def _in(ctx: Ctx, session: Session) -> Ctx:
    """The same caller over another session (the effect's transaction)."""
    return dataclasses.replace(ctx, session=session)


def _missing(wallet_id: int) -> NotFound:
    return NotFound(f"No wallet #{wallet_id} of yours; GET /api/wallet/{{id}}/status with your wallet's id.")


def wallet_for(ctx: Ctx, wallet_id: int, *, owner: bool = False) -> AIWallet:
    """The caller's organisation wallet if its id is ``wallet_id`` (another organisation's wallet
    reads exactly like a missing one); platform admins may read any wallet but trade none."""
    if ctx.role is Role.PLATFORM_ADMIN and not owner:
        wallet = ctx.session.get(AIWallet, wallet_id)
        if wallet is None or wallet.is_house:
            raise _missing(wallet_id)
        return wallet
    try:
        wallet = owned_wallet(ctx) if owner else org_wallet(ctx)
    except NotFound:
        raise _missing(wallet_id) from None
    if wallet.id != wallet_id:
        raise _missing(wallet_id)
    return wallet


def _quoted(ctx: Ctx, key: str, operation: str, request: dict[str, Any],
            quote: Callable[[Ctx], object]) -> dict[str, Any] | None:
    """A replay's stored response; otherwise run the chat's quote (every check the trade will face,
    fees settled and committed, as when the chat shows its Confirm button) and return None."""
    with ctx.db.uow() as uow:
        stored = stored_response(uow.session, key, operation, request)
        if stored is not None:
            return stored  # nothing written: the unit of work rolls back
        quote(_in(ctx, uow.session))
        uow.commit()
    return None


#: The USD amounts of a buy's and a sell's response (the rest: token units and NAV).
BUY_USD = ("cash", "fees_settled", "cash_balance")
SELL_USD = ("cash_now",)


def buy(ctx: Ctx, symbol: str, amount: str, key: str) -> dict[str, Any]:
    """Buy ``symbol`` for ``amount`` USD from the caller's wallet, once per key."""
    cash, clean = parse_cash(amount), normalise_symbol(symbol)
    wallet_id = owned_wallet(ctx).id
    scoped = scoped_key(ctx, key)
    request: dict[str, Any] = {"wallet": wallet_id, "symbol": clean, "cash": cash}
    stored = _quoted(ctx, scoped, "api.buy", request,
                     lambda inner: quote_buy(inner, owned_wallet(inner), clean, cash))
    if stored is not None:
        return _usd_fields(stored, BUY_USD)

    def effect(session: Session) -> dict[str, Any]:
        return ledger.buy_in(session, ctx.now(), wallet_id=wallet_id, symbol=clean, cash=cash,
                             idempotency_key=scoped).to_dict()

    return _usd_fields(run_idempotent(ctx.db.uow(), scoped, "api.buy", request, effect, dict),
                       BUY_USD)


def _usd_fields(body: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The response with its USD amounts as :func:`~core.commands.api_views.usd` text (6 decimals,
    whatever scale the stored response or the database gave them)."""
    return {k: (usd(Decimal(str(v))) if k in keys and v is not None else v) for k, v in body.items()}


def sell(ctx: Ctx, symbol: str, quantity: str, key: str) -> dict[str, Any]:
    """Redeem ``quantity`` (or ``all``: the free position, fixed at quote time) of ``symbol``; above
    the token's daily limit the rest queues."""
    clean = normalise_symbol(symbol)
    wanted: Decimal | None = None if quantity.strip().lower() == "all" else parse_tokens(quantity)
    wallet_id = owned_wallet(ctx).id
    scoped = scoped_key(ctx, key)
    request: dict[str, Any] = {"wallet": wallet_id, "symbol": clean,
                               "quantity": "all" if wanted is None else wanted}
    quotes: list[Quote] = []
    stored = _quoted(ctx, scoped, "api.sell", request,
                     lambda inner: quotes.append(quote_redeem(inner, owned_wallet(inner), clean, wanted)))
    if stored is not None:
        return _usd_fields(stored, SELL_USD)

    def effect(session: Session) -> dict[str, Any]:
        outcome = risk.redeem_or_queue_in(session, ctx.now(), wallet_id=wallet_id, symbol=clean,
                                          quantity=quotes[0].quantity, idempotency_key=scoped)
        return {"wallet_id": wallet_id, **outcome.to_dict()}

    return _usd_fields(run_idempotent(ctx.db.uow(), scoped, "api.sell", request, effect, dict), SELL_USD)


def set_mode(ctx: Ctx, wallet_id: int, mode: str, key: str) -> dict[str, Any]:
    wallet = wallet_for(ctx, wallet_id, owner=True)
    assert ctx.user is not None  # owned_wallet checked it
    return wallets.set_mode(ctx.db.uow(), wallet.id, mode, user_id=ctx.user.id,
                            idempotency_key=scoped_key(ctx, key))


def suggested(ctx: Ctx, wallet_id: int) -> dict[str, Any]:
    """The optimizer's suggestion for the wallet (stored as a snapshot, never executed)."""
    wallet = wallet_for(ctx, wallet_id, owner=True)
    assert ctx.user is not None
    s = wallets.suggest_for_wallet(ctx.db.uow(), wallet.id, user_id=ctx.user.id)
    return {"wallet_id": wallet.id, "mode": wallet.mode.value, "snapshot_id": s.snapshot_id,
            "summary": s.summary, "reasons": s.reasons, "trades": s.trades}


def rebalance(ctx: Ctx, wallet_id: int, key: str) -> dict[str, Any]:
    """Hybrid: a proposal for the owners to approve. Full AI and manual: rebalance now (the POST is
    the confirmation a manual wallet's chat asks for), once per key."""
    wallet = wallet_for(ctx, wallet_id, owner=True)
    assert ctx.user is not None
    if is_halted(ctx.session):
        raise TradingHalted("Trading is halted by the platform's circuit breaker; nothing can be "
                            "rebalanced now.")
    if wallet.mode is WalletMode.HYBRID:
        card = wallets.propose_now(ctx.db.uow(), wallet.id, user_id=ctx.user.id, trigger="api",
                                   notifier=_OutboxNotifier(ctx.outbox))
        with ctx.db.uow(read_only=True) as uow:
            latest = uow.session.scalar(select(RebalanceProposal).where(
                RebalanceProposal.wallet_id == wallet.id).order_by(RebalanceProposal.id.desc()))
            proposal = proposal_view(latest) if latest is not None else None
        return {"kind": "proposal", "message": card.text, "proposal": proposal}
    text = rebalance_now(ctx, wallet, scoped_key(ctx, key))
    return {"kind": "executed", "message": text, "proposal": None}


def decide(ctx: Ctx, proposal_id: int, approve: bool, key: str) -> dict[str, Any]:
    """Approve (execute) or reject a hybrid proposal; owners only, once per key."""
    if ctx.user is None:
        raise wallets.proposals.not_found(proposal_id)
    action = wallets.approve_proposal if approve else wallets.reject_proposal
    outcome = action(ctx.db.uow(), proposal_id, user_id=ctx.user.id, idempotency_key=scoped_key(ctx, key))
    return outcome.to_dict()


def create_wallet(ctx: Ctx, name: str | None, key: str) -> dict[str, Any]:
    """The organisation's wallet: created (owned by the caller, manual mode) when the organisation is
    verified and has none, otherwise the existing one (``created`` false)."""
    user = ctx.user
    org = ctx.session.get(Organisation, user.organisation_id) if user and user.organisation_id else None
    if user is None or org is None or org.status is not OrgStatus.VERIFIED:
        raise PermissionDenied("Your organisation must be verified before it has a wallet.")
    existing = ctx.session.scalar(select(AIWallet.id).where(AIWallet.organisation_id == org.id,
                                                            AIWallet.is_house.is_(False)))
    if existing is not None:
        return {"wallet_id": existing, "created": False}
    created = ledger.create_wallet(ctx.db.uow(), organisation_id=org.id,
                                   name=(name or f"{org.name} treasury")[:200],
                                   idempotency_key=scoped_key(ctx, key), mode=WalletMode.MANUAL.value,
                                   tier=NEW_WALLET_TIER.value, owner_user_ids=[user.id])
    return {**created.to_dict(), "created": True}


def create_token(ctx: Ctx, *, symbol: str, total_supply: str, name: str | None, agent_id: int | None,
                 status: str, key: str) -> dict[str, Any]:
    """Create a strategy token (platform admins): fixed supply, seeded at NAV 1.00 by the house."""
    if status not in ("proving", "active"):
        raise ValidationError("status must be proving or active")
    created = ledger.tokenize(ctx.db.uow(), agent_id=agent_id, symbol=symbol, total_supply=total_supply,
                              idempotency_key=scoped_key(ctx, key), name=name, status=status)
    return {k: (dec(v) if isinstance(v, Decimal) else v) for k, v in created.to_dict().items()}
