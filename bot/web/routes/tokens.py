"""Strategy tokens (the exchange service): browse (public), create (platform admins), buy, sell."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request, Response
from pydantic import TypeAdapter

from bot.web.auth import Caller, Gate, caller_ctx, idempotency_key
from bot.web.routes import PUBLIC, router
from bot.web.schemas import (
    SYMBOL,
    BuyBody,
    RedeemOut,
    SellBody,
    TokenCreateBody,
    TokenCreatedOut,
    TokenInfo,
    TokenSummary,
    TradeOut,
)
from core.commands import api_ops, api_views

api = router("tokens")
Symbol = Annotated[str, Path(pattern=SYMBOL, description="Token symbol, e.g. STRAT-LENDING-USDC-001")]
Key = Annotated[str, Depends(idempotency_key)]


_SUMMARIES = TypeAdapter(list[TokenSummary])


@api.get("/api/tokens/list", response_model=list[TokenSummary], **PUBLIC)
def list_tokens(request: Request, caller: Annotated[Caller, Depends(Gate("tokens", public=True))]) -> Any:
    """Active and proving tokens with NAV, AUM and supply left (public; no key needed)."""
    with caller_ctx(request, caller) as ctx:
        summaries = api_views.list_tokens(ctx.session)
    # The list is read on every call; only its validation and JSON encoding are reused, keyed by the
    # summaries themselves (strings), so a cached body is never stale.
    cached: tuple[list[dict[str, Any]], bytes] | None = getattr(request.app.state, "token_list", None)
    if cached is None or cached[0] != summaries:
        cached = summaries, _SUMMARIES.dump_json(_SUMMARIES.validate_python(summaries))
        request.app.state.token_list = cached  # one tuple assignment: safe across worker threads
    return Response(cached[1], media_type="application/json")


@api.get("/api/tokens/{symbol}/info", response_model=TokenInfo, **PUBLIC)
def token_info(
    request: Request, caller: Annotated[Caller, Depends(Gate("token", public=True))], symbol: Symbol
) -> Any:
    """One token and its performance: NAV history, 30-day change, drawdown, the strategy and its gate
    report (public)."""
    with caller_ctx(request, caller) as ctx:
        return api_views.token_info(ctx.session, symbol, ctx.now())


@api.post("/api/tokens/create", status_code=201, response_model=TokenCreatedOut)
def create_token(
    request: Request,
    caller: Annotated[Caller, Depends(Gate("token_create"))],
    body: TokenCreateBody,
    key: Key,
) -> dict[str, Any]:
    """Create a strategy token with a fixed supply, seeded at NAV 1.00 (platform admins)."""
    with caller_ctx(request, caller) as ctx:
        return api_ops.create_token(
            ctx,
            symbol=body.symbol,
            total_supply=body.total_supply,
            name=body.name,
            agent_id=body.agent_id,
            status=body.status,
            key=key,
        )


@api.post("/api/tokens/{symbol}/buy", response_model=TradeOut)
def buy(
    request: Request, caller: Annotated[Caller, Depends(Gate("buy"))], symbol: Symbol, body: BuyBody, key: Key
) -> Any:
    """Buy the token for `amount` USD from your organisation's wallet (wallet owners), at NAV after
    fees. Requires Idempotency-Key."""
    with caller_ctx(request, caller) as ctx:
        return api_ops.buy(ctx, symbol, body.amount, key)


@api.post("/api/tokens/{symbol}/sell", response_model=RedeemOut)
def sell(
    request: Request,
    caller: Annotated[Caller, Depends(Gate("sell"))],
    symbol: Symbol,
    body: SellBody,
    key: Key,
) -> Any:
    """Redeem `quantity` tokens (or `all`) at NAV; beyond the token's daily limit the rest queues
    for the next day. Requires Idempotency-Key."""
    with caller_ctx(request, caller) as ctx:
        return api_ops.sell(ctx, symbol, body.quantity, key)
